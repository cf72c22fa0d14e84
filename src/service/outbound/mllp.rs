//! MLLP (issue 23): HL7's minimal lower layer protocol to an interface engine. A message goes
//! framed (`0x0B`, the message, `0x1C 0x0D`); it is acknowledged only by an `ACK` whose `MSA`
//! says `AA` for that message's control id. Anything else (no connection, no answer in time,
//! `AE`/`AR`, an answer for another message, the connection closed, a certificate the site's CA
//! does not vouch for) leaves it owed (`super::Sender` sends it again).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;

use super::{Deliver, SendError, Timing};
use crate::input::hardware::MllpEndpoint;
use crate::store::outbox::Pending;

/// MLLP's frame: start block, end block, carriage return.
const START: u8 = 0x0b;
const END: [u8; 2] = [0x1c, 0x0d];

/// The longest answer read (an ACK is a few hundred bytes): more is refused as not an ACK.
pub const MAX_ANSWER: usize = 64 * 1024;

/// A connection to an interface engine: plain TCP, or TLS over it.
enum Conn {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// Delivers HL7 v2 messages to one interface engine over MLLP (with TLS when the site names a
/// CA): one message, then its answer, on a connection kept from one message to the next.
pub struct Mllp {
    endpoint: MllpEndpoint,
    timing: Timing,
    tls: Option<Arc<rustls::ClientConfig>>,
    conn: Option<Conn>,
}

impl Mllp {
    /// The engine's deliverer; its CA read now (a file that is not one is refused by name).
    pub fn new(endpoint: MllpEndpoint, timing: Timing) -> Result<Mllp, super::tls::TlsError> {
        let tls = endpoint
            .tls_ca
            .as_deref()
            .map(super::tls::client_config)
            .transpose()?;
        Ok(Mllp {
            endpoint,
            timing,
            tls,
            conn: None,
        })
    }

    fn connect(&self) -> Result<Conn, SendError> {
        let target = format!("{}:{}", self.endpoint.host, self.endpoint.port);
        let addrs = (self.endpoint.host.as_str(), self.endpoint.port)
            .to_socket_addrs()
            .map_err(|e| SendError::Connect(format!("{target} ({e})")))?;
        let mut last = String::from("no address");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.timing.connect) {
                Ok(s) => {
                    s.set_read_timeout(Some(self.timing.answer))
                        .and_then(|()| s.set_write_timeout(Some(self.timing.answer)))
                        .and_then(|()| s.set_nodelay(true))
                        .map_err(|e| SendError::Io(e.to_string()))?;
                    let Some(config) = &self.tls else {
                        return Ok(Conn::Plain(s));
                    };
                    let name = rustls::pki_types::ServerName::try_from(self.endpoint.host.clone())
                        .map_err(|e| SendError::Tls(format!("{}: {e}", self.endpoint.host)))?;
                    let client = rustls::ClientConnection::new(config.clone(), name)
                        .map_err(|e| SendError::Tls(e.to_string()))?;
                    let mut tls = rustls::StreamOwned::new(client, s);
                    // The handshake now, so that a certificate the CA does not vouch for is
                    // said as such rather than as a failed write.
                    while tls.conn.is_handshaking() {
                        tls.conn
                            .complete_io(&mut tls.sock)
                            .map_err(|e| SendError::Tls(e.to_string()))?;
                    }
                    return Ok(Conn::Tls(Box::new(tls)));
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(SendError::Connect(format!("{target} ({last})")))
    }

    fn send_on(&mut self, mut conn: Conn, p: &Pending) -> Result<(), SendError> {
        let mut frame = Vec::with_capacity(p.body.len() + 3);
        frame.push(START);
        frame.extend_from_slice(p.body.as_bytes());
        frame.extend_from_slice(&END);
        conn.write_all(&frame)
            .and_then(|()| conn.flush())
            .map_err(|e| SendError::Io(e.to_string()))?;
        let answer = read_frame(&mut conn, self.timing.answer)?;
        check_ack(&answer, p.id)?;
        // Kept for the next message only when this one went through.
        self.conn = Some(conn);
        Ok(())
    }
}

impl Deliver for Mllp {
    /// Sends one message and reads its answer, on the connection kept from the last message
    /// (tried once more on a new one if the engine closed it meanwhile) or a new one.
    fn deliver(&mut self, p: &Pending) -> Result<(), SendError> {
        if let Some(kept) = self.conn.take() {
            match self.send_on(kept, p) {
                Err(SendError::Io(_)) => {}
                done => return done,
            }
        }
        let fresh = self.connect()?;
        self.send_on(fresh, p)
    }

    fn reset(&mut self) {
        self.conn = None;
    }
}

/// Reads one MLLP frame: bytes before the start block are skipped; at most [`MAX_ANSWER`].
fn read_frame(stream: &mut impl Read, timeout: std::time::Duration) -> Result<String, SendError> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut started = false;
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) => {
                return Err(SendError::Io(
                    "the engine closed the connection before answering".to_owned(),
                ));
            }
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(SendError::NoAnswer(timeout.as_secs()));
            }
            Err(e) => return Err(SendError::Io(e.to_string())),
        };
        for &b in chunk.get(..n).unwrap_or_default() {
            if !started {
                started = b == START;
                continue;
            }
            buf.push(b);
        }
        if let Some(end) = buf.windows(2).position(|w| w == END) {
            buf.truncate(end);
            return Ok(String::from_utf8_lossy(&buf).into_owned());
        }
        if buf.len() > MAX_ANSWER {
            return Err(SendError::NotAnAck(format!(
                "more than {MAX_ANSWER} bytes without an end"
            )));
        }
    }
}

/// The answer acknowledges message `id` with `AA` (HL7 v2.6 §2.9: MSA-1 the acknowledgment
/// code, MSA-2 the control id of the message answered).
fn check_ack(answer: &str, id: u64) -> Result<(), SendError> {
    let msa = answer
        .split(['\r', '\n'])
        .find(|s| s.starts_with("MSA|"))
        .ok_or_else(|| SendError::NotAnAck(answer.chars().take(80).collect()))?;
    let fields: Vec<&str> = msa.split('|').collect();
    let code = fields.get(1).copied().unwrap_or_default();
    let got = fields.get(2).copied().unwrap_or_default();
    if code != "AA" {
        return Err(SendError::Refused {
            code: code.to_owned(),
            id: got.to_owned(),
            text: fields.get(3).copied().unwrap_or_default().to_owned(),
        });
    }
    if got != id.to_string() {
        return Err(SendError::OtherMessage {
            sent: id,
            got: got.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_aa_for_the_message_sent_acknowledges_it() {
        assert_eq!(check_ack("MSH|^~\\&|X\rMSA|AA|42\r", 42), Ok(()));
        assert_eq!(
            check_ack("MSH|^~\\&|X\rMSA|AE|42|bad OBX\r", 42),
            Err(SendError::Refused {
                code: "AE".to_owned(),
                id: "42".to_owned(),
                text: "bad OBX".to_owned()
            })
        );
        assert_eq!(
            check_ack("MSH|^~\\&|X\rMSA|AA|41\r", 42),
            Err(SendError::OtherMessage {
                sent: 42,
                got: "41".to_owned()
            })
        );
        assert!(matches!(
            check_ack("hello", 42),
            Err(SendError::NotAnAck(_))
        ));
        // An accept acknowledgment of the enhanced mode (CA) is not the application's AA.
        assert!(check_ack("MSA|CA|42\r", 42).is_err());
    }
}
