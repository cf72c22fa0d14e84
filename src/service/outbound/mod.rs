//! The pump's messages on their way to the hospital (issue 23): one sender thread per endpoint,
//! each with its own connection to the trial log's outbox. A sender takes the oldest message
//! the outbox owes its endpoint, delivers it ([`Deliver`]: MLLP for the interface engines, HTTP
//! for a FHIR server), and deletes it from the outbox only when the endpoint acknowledged it.
//! Anything else leaves it owed, to be sent again after a wait that doubles up to a minute.
//! Messages go one at a time, in the order the outbox numbered them, none skipped.
//!
//! The pump's control loop never waits for the network: it only ever inserts into the outbox,
//! in its own transactions; the senders run apart.

pub mod fhir;
pub mod mllp;
pub mod tls;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::store::outbox::{OutboxReader, Pending};

/// How a sender waits.
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
    /// is not); looks for new messages every second (the DEC is a minute apart). A FHIR server
    /// is given longer, for a Bundle of megabytes: at least 10 s to connect and 120 s for the
    /// exchange, more for each MiB (`fhir::CONNECT`, `fhir::exchange_limit`).
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
    #[error("TLS: {0}")]
    Tls(String),
    #[error("the connection failed: {0}")]
    Io(String),
    #[error("no answer in {0} s")]
    NoAnswer(u64),
    #[error("the answer is not an acknowledgement: {0}")]
    NotAnAck(String),
    #[error("the endpoint answered {code} for message {id}: {text}")]
    Refused {
        code: String,
        id: String,
        text: String,
    },
    #[error("the answer acknowledges message {got}, not {sent}")]
    OtherMessage { sent: u64, got: String },
}

/// What delivers one message to an endpoint and reads its acknowledgement.
pub trait Deliver: Send {
    /// Delivers `p`: Ok only when the endpoint acknowledged it.
    fn deliver(&mut self, p: &Pending) -> Result<(), SendError>;
    /// Forgets any connection kept (after a failure: the next try starts afresh).
    fn reset(&mut self) {}
}

/// One endpoint's sender: its name in the outbox, the trial log, how it delivers.
pub struct Sender {
    name: String,
    db: PathBuf,
    timing: Timing,
    deliver: Box<dyn Deliver>,
}

impl Sender {
    pub fn new(name: &str, db: PathBuf, timing: Timing, deliver: Box<dyn Deliver>) -> Sender {
        Sender {
            name: name.to_owned(),
            db,
            timing,
            deliver,
        }
    }

    /// Runs on a thread of its own until `stop` is set.
    pub fn spawn(mut self, stop: Arc<AtomicBool>) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name(format!("send-{}", self.name))
            .spawn(move || self.run(&stop))
    }

    /// Sends what the outbox owes this endpoint, in order, until `stop` is set.
    pub fn run(&mut self, stop: &AtomicBool) {
        let name = self.name.clone();
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
            match self.deliver.deliver(&pending) {
                Ok(()) => {
                    if let Err(e) = r.acknowledged(&name, pending.id) {
                        // Sent again later: the endpoint sees it twice, which HL7 and a FHIR
                        // transaction with conditional creates allow.
                        tracing::warn!(endpoint = %name, error = %e, "an acknowledgement could not be written");
                    }
                    if failing {
                        tracing::info!(endpoint = %name, id = pending.id, "the endpoint acknowledges again");
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
                    self.deliver.reset();
                    sleep(stop, wait);
                    wait = (wait * 2).min(self.timing.retry_most);
                }
            }
        }
    }
}

/// One sender thread for each interface engine (MLLP) and FHIR server the site names, until
/// `stop` is set (titra-outbound). One that cannot start (its CA unreadable) is said loudly and
/// the others run on: its messages wait in the outbox, and the pump's LOW alarm says so.
pub fn start(
    engines: &[crate::input::hardware::MllpEndpoint],
    servers: &[crate::input::hardware::FhirEndpoint],
    db: &std::path::Path,
    stop: &Arc<AtomicBool>,
    timing: Timing,
) -> Vec<std::thread::JoinHandle<()>> {
    let mut threads = Vec::new();
    let mut start = |name: &str, made: Result<Box<dyn Deliver>, String>| {
        let started = made.and_then(|deliver| {
            Sender::new(name, db.to_path_buf(), timing, deliver)
                .spawn(stop.clone())
                .map_err(|e| e.to_string())
        });
        match started {
            Ok(t) => threads.push(t),
            Err(e) => {
                tracing::error!(endpoint = %name, error = %e, "this endpoint's sender cannot start: its messages wait in the outbox")
            }
        }
    };
    for e in engines {
        tracing::info!(endpoint = %e.name, host = %e.host, port = e.port, tls = e.tls_ca.is_some(), "sending IHE PCD messages over MLLP");
        let made = mllp::Mllp::new(e.clone(), timing).map(|m| Box::new(m) as Box<dyn Deliver>);
        start(&e.name, made.map_err(|err| err.to_string()));
    }
    for e in servers {
        tracing::info!(endpoint = %e.name, url = %e.url, "posting trial summaries to a FHIR server");
        let made = fhir::Fhir::new(e, timing).map(|f| Box::new(f) as Box<dyn Deliver>);
        start(&e.name, made.map_err(|err| err.to_string()));
    }
    threads
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
