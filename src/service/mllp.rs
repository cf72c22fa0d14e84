//! The MLLP sender (issue 23): takes the oldest message the trial log's outbox owes an
//! interface engine, sends it framed as HL7's minimal lower layer protocol has it (`0x0B`,
//! the message, `0x1C 0x0D`), and deletes it from the outbox only when the engine's answer is
//! an `ACK` whose `MSA` says `AA` for that message's control id. Anything else (no connection,
//! no answer in time, `AE`/`AR`, an answer for another message, the connection closed) leaves
//! the message owed: it is sent again after a wait that doubles up to a minute. Messages go one
//! at a time, in the order the outbox numbered them, none skipped.
//!
//! A thread of its own with its own connection to the database: the pump's control loop never
//! waits for the network (it only ever inserts into the outbox, in its own transactions).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::input::hardware::MllpEndpoint;
use crate::store::outbox::{OutboxReader, Pending};

/// MLLP's frame: start block, end block, carriage return.
const START: u8 = 0x0b;
const END: [u8; 2] = [0x1c, 0x0d];

/// The longest answer read (an ACK is a few hundred bytes): more is refused as not an ACK.
pub const MAX_ANSWER: usize = 64 * 1024;

/// How the sender waits.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// For a connection to be made.
    pub connect: Duration,
    /// For the answer to a message.
    pub answer: Duration,
    /// Between tries after the first failure; doubled at each failure up to `retry_most`.
    pub retry_first: Duration,
    pub retry_most: Duration,
    /// Between looks at the outbox when nothing is owed.
    pub idle: Duration,
}

impl Default for Timing {
    /// 5 s to connect and 30 s for an answer (an interface engine answers in well under a
    /// second; a slow one is not cut off mid-message); tries again after 1 s, then 2, 4 … up
    /// to 60 s (a network that is back is found within a minute, without hammering one that
    /// is not); looks for new messages every second (the DEC is a minute apart).
    fn default() -> Self {
        Timing {
            connect: Duration::from_secs(5),
            answer: Duration::from_secs(30),
            retry_first: Duration::from_secs(1),
            retry_most: Duration::from_secs(60),
            idle: Duration::from_secs(1),
        }
    }
}

/// Why one message was not acknowledged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    #[error("cannot connect to {0}")]
    Connect(String),
    #[error("the connection failed: {0}")]
    Io(String),
    #[error("no answer in {0} s")]
    NoAnswer(u64),
    #[error("the answer is not an HL7 ACK: {0}")]
    NotAnAck(String),
    #[error("the engine answered {code} for message {id}: {text}")]
    Refused {
        code: String,
        id: String,
        text: String,
    },
    #[error("the answer acknowledges message {got}, not {sent}")]
    OtherMessage { sent: u64, got: String },
}

/// One interface engine's sender.
pub struct MllpSender {
    endpoint: MllpEndpoint,
    db: PathBuf,
    timing: Timing,
    stream: Option<TcpStream>,
}

impl MllpSender {
    pub fn new(endpoint: MllpEndpoint, db: PathBuf, timing: Timing) -> MllpSender {
        MllpSender {
            endpoint,
            db,
            timing,
            stream: None,
        }
    }

    /// Runs on a thread of its own until `stop` is set.
    pub fn spawn(mut self, stop: Arc<AtomicBool>) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name(format!("mllp-{}", self.endpoint.name))
            .spawn(move || self.run(&stop))
    }

    /// Sends what the outbox owes this engine, in order, until `stop` is set.
    pub fn run(&mut self, stop: &AtomicBool) {
        let name = self.endpoint.name.clone();
        let mut wait = self.timing.retry_first;
        let mut failing = false;
        let mut reader: Option<OutboxReader> = None;
        while !stop.load(Ordering::Acquire) {
            let r = match reader.as_mut() {
                Some(r) => r,
                None => match OutboxReader::open(&self.db) {
                    Ok(r) => reader.insert(r),
                    Err(e) => {
                        tracing::warn!(endpoint = %name, error = %e, "the outbox cannot be opened");
                        sleep(stop, self.timing.retry_most);
                        continue;
                    }
                },
            };
            let pending = match r.oldest(&name) {
                Ok(Some(p)) => p,
                Ok(None) => {
                    sleep(stop, self.timing.idle);
                    continue;
                }
                Err(e) => {
                    tracing::warn!(endpoint = %name, error = %e, "the outbox cannot be read");
                    reader = None;
                    sleep(stop, self.timing.retry_most);
                    continue;
                }
            };
            match self.send(&pending) {
                Ok(()) => {
                    if let Err(e) = r.acknowledged(&name, pending.id) {
                        // Sent again later: the engine sees it twice, which HL7 allows.
                        tracing::warn!(endpoint = %name, error = %e, "an acknowledgement could not be written");
                    }
                    if failing {
                        tracing::info!(endpoint = %name, id = pending.id, "the interface engine acknowledges again");
                        failing = false;
                    }
                    wait = self.timing.retry_first;
                }
                Err(e) => {
                    // Said once when sending starts failing, not at every try.
                    if !failing {
                        tracing::warn!(endpoint = %name, id = pending.id, kind = %pending.kind, error = %e, "a message was not acknowledged: kept and sent again");
                        failing = true;
                    }
                    if let Err(e) = r.failed(&name, pending.id, &e.to_string()) {
                        tracing::warn!(endpoint = %name, error = %e, "the outbox cannot be written");
                    }
                    self.stream = None;
                    sleep(stop, wait);
                    wait = (wait * 2).min(self.timing.retry_most);
                }
            }
        }
    }

    fn connect(&self) -> Result<TcpStream, SendError> {
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
                    return Ok(s);
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(SendError::Connect(format!("{target} ({last})")))
    }

    /// Sends one message and reads its answer, on the connection kept from the last message
    /// (tried once more on a new one if the engine closed it meanwhile) or a new one.
    pub fn send(&mut self, p: &Pending) -> Result<(), SendError> {
        if let Some(kept) = self.stream.take() {
            match self.send_on(kept, p) {
                Err(SendError::Io(_)) => {}
                done => return done,
            }
        }
        let fresh = self.connect()?;
        self.send_on(fresh, p)
    }

    fn send_on(&mut self, mut stream: TcpStream, p: &Pending) -> Result<(), SendError> {
        let mut frame = Vec::with_capacity(p.body.len() + 3);
        frame.push(START);
        frame.extend_from_slice(p.body.as_bytes());
        frame.extend_from_slice(&END);
        stream
            .write_all(&frame)
            .and_then(|()| stream.flush())
            .map_err(|e| SendError::Io(e.to_string()))?;
        let answer = read_frame(&mut stream, self.timing.answer)?;
        check_ack(&answer, p.id)?;
        // Kept for the next message only when this one went through.
        self.stream = Some(stream);
        Ok(())
    }
}

/// Sleeps `d`, a tenth of a second at a time, so that `stop` is heard.
fn sleep(stop: &AtomicBool, d: Duration) {
    let step = Duration::from_millis(100);
    let mut left = d;
    while !left.is_zero() && !stop.load(Ordering::Acquire) {
        let now = left.min(step);
        std::thread::sleep(now);
        left = left.saturating_sub(now);
    }
}

/// Reads one MLLP frame: bytes before the start block are skipped; at most [`MAX_ANSWER`].
fn read_frame(stream: &mut TcpStream, timeout: Duration) -> Result<String, SendError> {
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
