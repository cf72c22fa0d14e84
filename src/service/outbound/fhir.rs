//! FHIR (issue 23): the trial summary's transaction Bundle POSTed to the base URL of the site's
//! FHIR server (HTTP, or HTTPS with the site's CA). It is acknowledged only by `200 OK` with a
//! `transaction-response` Bundle whose every entry succeeded (FHIR R4 §3.1.0.11.2: a
//! transaction succeeds or fails as a whole). Anything else leaves it owed (`super::Sender`
//! sends it again; its Patient is created only if none has the identifier, `ifNoneExist`).
//!
//! A Bundle is large (every delivery segment, bolus and observation of a trial, and its PDF) and
//! a ward's link can be slow, so the exchange is not held to an interface engine's 30 s: the
//! connection has [`CONNECT`], the whole exchange [`EXCHANGE`] and [`PER_MIB`] more for each
//! MiB of the Bundle ([`exchange_limit`]). What went wrong is said as what it is
//! (`failure`): no connection, no answer in time, TLS (a certificate the site's CA does not
//! vouch for), the server's HTTP status, an answer that cannot be read.

use std::sync::Arc;
use std::time::Duration;

use super::{Deliver, SendError, Timing};
use crate::input::hardware::FhirEndpoint;
use crate::store::outbox::Pending;

/// The longest answer read: a transaction-response lists one short entry per resource.
pub const MAX_ANSWER: u64 = 16 * 1024 * 1024;

/// How long the server has to take a connection: its name looked up, TCP connected, TLS's
/// handshake done (the sender's [`Timing::connect`] when that is longer). A server on the
/// hospital's network answers in well under a second; one that has not in 10 s is not there.
pub const CONNECT: Duration = Duration::from_secs(10);

/// The least time one exchange is given, from the first byte sent to the last byte of the
/// answer read (the sender's [`Timing::answer`] when that is longer): a server takes seconds to
/// store a transaction of hundreds of resources, and more when it is busy.
pub const EXCHANGE: Duration = Duration::from_secs(120);

/// The time added to [`EXCHANGE`] for each MiB of the Bundle (started MiBs count whole): the
/// time a MiB takes over a link of 64 KiB/s, a ward's Wi-Fi bridge on a bad day. A 14-day
/// trial's Bundle with its PDF is a few MiB.
pub const PER_MIB: Duration = Duration::from_secs(16);

/// The longest one exchange is ever given (a Bundle of about 50 MiB reaches it): a server that
/// has not answered in a quarter of an hour is tried again.
pub const MOST: Duration = Duration::from_secs(15 * 60);

/// How long the exchange of a Bundle of `bytes` may take: `least` (at least [`EXCHANGE`]) and
/// [`PER_MIB`] for each MiB begun, at most [`MOST`].
pub fn exchange_limit(bytes: usize, least: Duration) -> Duration {
    const MIB: usize = 1024 * 1024;
    let mibs = u32::try_from(bytes.div_ceil(MIB)).unwrap_or(u32::MAX);
    least
        .max(EXCHANGE)
        .saturating_add(PER_MIB.saturating_mul(mibs))
        .min(MOST)
}

/// Delivers Bundles to one FHIR server.
pub struct Fhir {
    url: String,
    agent: ureq::Agent,
    /// How long a connection may take ([`CONNECT`] or the sender's, the longer).
    connect: Duration,
    /// The least time an exchange is given ([`EXCHANGE`] or the sender's answer, the longer).
    least: Duration,
}

impl Fhir {
    /// The server's deliverer; its CA read now (a file that is not one is refused by name).
    pub fn new(endpoint: &FhirEndpoint, timing: Timing) -> Result<Fhir, super::tls::TlsError> {
        let connect = timing.connect.max(CONNECT);
        let least = timing.answer.max(EXCHANGE);
        // The name's lookup and the connection (TLS included) each have `connect`; the whole
        // exchange has a limit set for each Bundle by its size (deliver). A redirect is not
        // followed: it is the server's answer (a 3xx, said with its code), and a POST sent on
        // to another host could go where the firewall and the site's CA were not meant for.
        let mut config = ureq::Agent::config_builder()
            .timeout_resolve(Some(connect))
            .timeout_connect(Some(connect))
            .timeout_global(Some(least))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent("titra");
        if let Some(ca) = &endpoint.tls_ca {
            let roots = super::tls::ca_certificates(ca)?
                .iter()
                .map(|der| ureq::tls::Certificate::from_der(der.as_ref()).to_owned())
                .collect();
            config = config.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::Specific(Arc::new(roots)))
                    .unversioned_rustls_crypto_provider(super::tls::provider())
                    .build(),
            );
        }
        Ok(Fhir {
            url: endpoint.url.clone(),
            agent: config.build().into(),
            connect,
            least,
        })
    }
}

impl Deliver for Fhir {
    fn deliver(&mut self, p: &Pending) -> Result<(), SendError> {
        let limit = exchange_limit(p.body.len(), self.least);
        let waits = Waits {
            connect: self.connect,
            exchange: limit,
        };
        let sent = self
            .agent
            .post(&self.url)
            .config()
            .timeout_global(Some(limit))
            .build()
            .header("Content-Type", "application/fhir+json")
            .header("Accept", "application/fhir+json")
            .send(p.body.as_bytes());
        let mut answer = sent.map_err(|e| failure(e, &self.url, p.id, waits))?;
        let status = answer.status().as_u16();
        let text = answer
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_string()
            .map_err(|e| failure(e, &self.url, p.id, waits))?;
        check_response(status, &text, p.id)
    }
}

/// The limits one exchange ran under, for saying which it overran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Waits {
    connect: Duration,
    exchange: Duration,
}

/// What a failed exchange of message `id` with the server at `url` was, as the outbox and the
/// journal say it:
/// - no connection ([`SendError::Connect`], with the reason): refused, no route, the name not
///   found, the connection or the lookup not made in time;
/// - no answer in time ([`SendError::NoAnswer`], the exchange's limit in seconds);
/// - TLS ([`SendError::Tls`]): the handshake failed, the certificate is not vouched for by the
///   site's CA or does not name the host (rustls's own words: "invalid peer certificate: …");
/// - the server's HTTP status ([`SendError::Refused`] with the code; only if ureq were asked to
///   treat statuses as errors, which [`Fhir`] does not: [`check_response`] reads them);
/// - an answer that cannot be read ([`SendError::NotAnAck`]): too long, not UTF-8, not HTTP;
/// - anything else on the connection ([`SendError::Io`]), such as the server closing it.
fn failure(e: ureq::Error, url: &str, id: u64, waits: Waits) -> SendError {
    use ureq::Timeout;
    match e {
        ureq::Error::Timeout(Timeout::Resolve) => SendError::Connect(format!(
            "{url} (its host name was not found in {} s)",
            waits.connect.as_secs()
        )),
        ureq::Error::Timeout(Timeout::Connect) => SendError::Connect(format!(
            "{url} (no connection in {} s)",
            waits.connect.as_secs()
        )),
        ureq::Error::Timeout(_) => SendError::NoAnswer(waits.exchange.as_secs()),
        ureq::Error::HostNotFound => {
            SendError::Connect(format!("{url} (its host name is not known)"))
        }
        ureq::Error::ConnectionFailed => SendError::Connect(url.to_owned()),
        ureq::Error::Io(io) => io_failure(&io, url, waits),
        ureq::Error::Rustls(tls) => SendError::Tls(tls.to_string()),
        ureq::Error::Tls(why) => SendError::Tls(why.to_owned()),
        ureq::Error::Pem(pem) => SendError::Tls(format!("the CA: {pem}")),
        ureq::Error::TlsRequired => {
            SendError::Tls("the connection to an https URL is not encrypted".to_owned())
        }
        ureq::Error::StatusCode(code) => SendError::Refused {
            code: code.to_string(),
            id: id.to_string(),
            text: reason(code),
        },
        ureq::Error::BodyExceedsLimit(most) => {
            SendError::NotAnAck(format!("the answer is longer than {most} bytes"))
        }
        e @ (ureq::Error::Protocol(_)
        | ureq::Error::LargeResponseHeader(..)
        | ureq::Error::BodyStalled) => SendError::NotAnAck(format!("not HTTP ({e})")),
        e => SendError::Io(e.to_string()),
    }
}

/// An I/O error, told by what is under it: rustls's (TLS: rustls reports a failed handshake
/// or a certificate not vouched for as `InvalidData` wrapping its error), a connection refused
/// or no route to the server, a timeout, an answer that is not text.
fn io_failure(e: &std::io::Error, url: &str, waits: Waits) -> SendError {
    use std::io::ErrorKind;
    if let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        return SendError::Tls(tls.to_string());
    }
    match e.kind() {
        ErrorKind::ConnectionRefused
        | ErrorKind::HostUnreachable
        | ErrorKind::NetworkUnreachable
        | ErrorKind::NetworkDown
        | ErrorKind::AddrNotAvailable => SendError::Connect(format!("{url} ({e})")),
        ErrorKind::TimedOut | ErrorKind::WouldBlock => {
            SendError::NoAnswer(waits.exchange.as_secs())
        }
        ErrorKind::InvalidData => SendError::NotAnAck(format!("it cannot be read ({e})")),
        _ => SendError::Io(e.to_string()),
    }
}

/// The reason phrase of HTTP status `code` ("Service Unavailable"), or "HTTP status 599"
/// for a code that has none.
fn reason(code: u16) -> String {
    ureq::http::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map_or_else(|| format!("HTTP status {code}"), str::to_owned)
}

/// `200` and a `transaction-response` whose every entry's status is 2xx.
fn check_response(status: u16, text: &str, id: u64) -> Result<(), SendError> {
    let json: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let refused = |why: String| SendError::Refused {
        code: status.to_string(),
        id: id.to_string(),
        text: why,
    };
    if status != 200 {
        // An OperationOutcome says why; without one, the status's reason phrase.
        let why = json["issue"][0]["diagnostics"]
            .as_str()
            .or_else(|| json["issue"][0]["details"]["text"].as_str())
            .map_or_else(|| reason(status), |why| why.chars().take(300).collect());
        return Err(refused(why));
    }
    if json["resourceType"] != "Bundle" || json["type"] != "transaction-response" {
        return Err(SendError::NotAnAck(text.chars().take(80).collect()));
    }
    let failed = json["entry"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter(|e| {
                    !e["response"]["status"]
                        .as_str()
                        .is_some_and(|s| s.starts_with('2'))
                })
                .count()
        })
        .unwrap_or(0);
    if failed > 0 {
        return Err(refused(format!(
            "{failed} entries of the transaction failed"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_whole_transaction_response_acknowledges() {
        let ok = r#"{"resourceType":"Bundle","type":"transaction-response","entry":[{"response":{"status":"201 Created"}},{"response":{"status":"200"}}]}"#;
        assert_eq!(check_response(200, ok, 7), Ok(()));
        let outcome = r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","diagnostics":"Unknown element"}]}"#;
        assert_eq!(
            check_response(400, outcome, 7),
            Err(SendError::Refused {
                code: "400".to_owned(),
                id: "7".to_owned(),
                text: "Unknown element".to_owned()
            })
        );
        let partly = r#"{"resourceType":"Bundle","type":"transaction-response","entry":[{"response":{"status":"201"}},{"response":{"status":"409"}}]}"#;
        assert!(check_response(200, partly, 7).is_err());
        assert!(matches!(
            check_response(200, "<html>", 7),
            Err(SendError::NotAnAck(_))
        ));
        let batch = r#"{"resourceType":"Bundle","type":"batch-response","entry":[]}"#;
        assert!(check_response(200, batch, 7).is_err());
        // No OperationOutcome (a proxy's page): the status's reason phrase.
        assert_eq!(
            check_response(503, "<html>busy</html>", 7),
            Err(SendError::Refused {
                code: "503".to_owned(),
                id: "7".to_owned(),
                text: "Service Unavailable".to_owned()
            })
        );
    }

    #[test]
    fn a_large_bundle_is_given_more_time_up_to_a_quarter_of_an_hour() {
        const MIB: usize = 1024 * 1024;
        assert_eq!(exchange_limit(0, Duration::ZERO), EXCHANGE);
        assert_eq!(exchange_limit(1, Duration::ZERO), Duration::from_secs(136));
        assert_eq!(
            exchange_limit(MIB, Duration::ZERO),
            Duration::from_secs(136)
        );
        assert_eq!(
            exchange_limit(5 * MIB, Duration::from_secs(30)),
            Duration::from_secs(200)
        );
        // The sender's own wait, when longer, is the least.
        assert_eq!(
            exchange_limit(MIB, Duration::from_secs(300)),
            Duration::from_secs(316)
        );
        assert_eq!(exchange_limit(1024 * MIB, Duration::ZERO), MOST);
        assert_eq!(exchange_limit(usize::MAX, Duration::MAX), MOST);
    }

    #[test]
    fn each_failure_is_said_as_what_it_is() {
        use std::io::{Error as IoError, ErrorKind};
        const URL: &str = "https://10.20.30.50:8443/r4";
        let waits = Waits {
            connect: CONNECT,
            exchange: Duration::from_secs(136),
        };
        let said = |e: ureq::Error| failure(e, URL, 7, waits);

        // No connection: refused, no route, no name, not in time.
        assert_eq!(
            said(ureq::Error::Io(IoError::new(
                ErrorKind::ConnectionRefused,
                "Connection refused"
            ))),
            SendError::Connect(format!("{URL} (Connection refused)"))
        );
        assert!(matches!(
            said(ureq::Error::Io(IoError::new(
                ErrorKind::HostUnreachable,
                "No route to host"
            ))),
            SendError::Connect(_)
        ));
        assert!(matches!(
            said(ureq::Error::Io(IoError::from(
                ErrorKind::NetworkUnreachable
            ))),
            SendError::Connect(_)
        ));
        assert_eq!(
            said(ureq::Error::HostNotFound),
            SendError::Connect(format!("{URL} (its host name is not known)"))
        );
        assert_eq!(
            said(ureq::Error::Timeout(ureq::Timeout::Connect)),
            SendError::Connect(format!("{URL} (no connection in 10 s)"))
        );
        assert!(matches!(
            said(ureq::Error::Timeout(ureq::Timeout::Resolve)),
            SendError::Connect(_)
        ));

        // Connected, but no (whole) answer within the exchange's limit.
        for t in [
            ureq::Timeout::Global,
            ureq::Timeout::SendBody,
            ureq::Timeout::RecvResponse,
            ureq::Timeout::RecvBody,
        ] {
            assert_eq!(said(ureq::Error::Timeout(t)), SendError::NoAnswer(136));
        }
        assert_eq!(
            said(ureq::Error::Io(IoError::from(ErrorKind::TimedOut))),
            SendError::NoAnswer(136)
        );

        // TLS: a certificate the site's CA does not vouch for (rustls's error inside the I/O
        // error of the handshake, as ureq returns it), an alert, a bad server name.
        let untrusted = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let SendError::Tls(why) = said(ureq::Error::Io(IoError::new(
            ErrorKind::InvalidData,
            untrusted.clone(),
        ))) else {
            panic!("a certificate error is TLS");
        };
        assert!(why.starts_with("invalid peer certificate"), "{why}");
        assert_eq!(
            said(ureq::Error::Rustls(untrusted.clone())),
            SendError::Tls(untrusted.to_string())
        );
        assert!(matches!(
            said(ureq::Error::Rustls(rustls::Error::AlertReceived(
                rustls::AlertDescription::HandshakeFailure
            ))),
            SendError::Tls(_)
        ));
        assert_eq!(
            said(ureq::Error::Tls("Rustls invalid dns name error")),
            SendError::Tls("Rustls invalid dns name error".to_owned())
        );

        // The HTTP status, with its code.
        assert_eq!(
            said(ureq::Error::StatusCode(503)),
            SendError::Refused {
                code: "503".to_owned(),
                id: "7".to_owned(),
                text: "Service Unavailable".to_owned()
            }
        );

        // An answer that cannot be read: too long, not UTF-8.
        assert_eq!(
            said(ureq::Error::BodyExceedsLimit(MAX_ANSWER)),
            SendError::NotAnAck("the answer is longer than 16777216 bytes".to_owned())
        );
        assert!(matches!(
            said(ureq::Error::Io(IoError::new(
                ErrorKind::InvalidData,
                "stream did not contain valid UTF-8"
            ))),
            SendError::NotAnAck(_)
        ));

        // The connection cut: I/O, as the MLLP sender says it.
        assert_eq!(
            said(ureq::Error::Io(IoError::new(
                ErrorKind::UnexpectedEof,
                "Peer disconnected"
            ))),
            SendError::Io("Peer disconnected".to_owned())
        );
    }
}
