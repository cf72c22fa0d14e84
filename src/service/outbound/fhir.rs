//! FHIR (issue 23): the trial summary's transaction Bundle POSTed to the base URL of the site's
//! FHIR server (HTTP, or HTTPS with the site's CA). It is acknowledged only by `200 OK` with a
//! `transaction-response` Bundle whose every entry succeeded (FHIR R4 §3.1.0.11.2: a
//! transaction succeeds or fails as a whole). Anything else leaves it owed (`super::Sender`
//! sends it again; its Patient is created only if none has the identifier, `ifNoneExist`).

use std::sync::Arc;

use super::{Deliver, SendError, Timing};
use crate::input::hardware::FhirEndpoint;
use crate::store::outbox::Pending;

/// The longest answer read: a transaction-response lists one short entry per resource.
pub const MAX_ANSWER: u64 = 16 * 1024 * 1024;

/// Delivers Bundles to one FHIR server.
pub struct Fhir {
    url: String,
    agent: ureq::Agent,
}

impl Fhir {
    /// The server's deliverer; its CA read now (a file that is not one is refused by name).
    pub fn new(endpoint: &FhirEndpoint, timing: Timing) -> Result<Fhir, super::tls::TlsError> {
        let mut config = ureq::Agent::config_builder()
            .timeout_connect(Some(timing.connect))
            .timeout_global(Some(timing.answer))
            .http_status_as_error(false)
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
        })
    }
}

impl Deliver for Fhir {
    fn deliver(&mut self, p: &Pending) -> Result<(), SendError> {
        let sent = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/fhir+json")
            .header("Accept", "application/fhir+json")
            .send(p.body.as_bytes());
        let mut answer = match sent {
            Ok(a) => a,
            Err(ureq::Error::Timeout(_)) => {
                return Err(SendError::NoAnswer(30));
            }
            Err(ureq::Error::Io(e)) => return Err(SendError::Io(e.to_string())),
            Err(ureq::Error::ConnectionFailed | ureq::Error::HostNotFound) => {
                return Err(SendError::Connect(self.url.clone()));
            }
            Err(e) => return Err(SendError::Tls(e.to_string())),
        };
        let status = answer.status().as_u16();
        let text = answer
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_string()
            .map_err(|e| SendError::Io(e.to_string()))?;
        check_response(status, &text, p.id)
    }
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
        // An OperationOutcome says why.
        let why = json["issue"][0]["diagnostics"]
            .as_str()
            .or_else(|| json["issue"][0]["details"]["text"].as_str())
            .unwrap_or("")
            .chars()
            .take(300)
            .collect();
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
    }
}
