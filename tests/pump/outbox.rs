//! The outbox of the trial log (issue 23): a record's messages are queued in the record's own
//! transaction, owed to each endpoint until it acknowledges them, numbered without reuse; and
//! the MLLP sender, which sends them in order until each is acknowledged `AA`, against an
//! in-process listener that answers as it is told (the real listener, hl7apy's checks, is
//! tests/pump/mllp.rs's).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use titra::core::units::Timestamp;
use titra::journal::{Record, RecordSink};
use titra::store::TrialLog;
use titra::store::outbox::{Channel, Compose, Endpoint, Message, Outbox, OutboxReader};

use crate::common::{TempDir, morphine};

/// Makes one message per record, its body the count of records seen so far (so that a
/// composer that counted a record twice shows).
#[derive(Clone, Default)]
struct Counting {
    seen: u64,
}

impl Compose for Counting {
    fn compose(&mut self, records: &[Record], next_id: u64) -> Vec<Message> {
        records
            .iter()
            .zip(next_id..)
            .map(|(r, id)| {
                self.seen += 1;
                Message {
                    id,
                    channel: Channel::Hl7,
                    kind: "test",
                    at: r.at(),
                    body: format!("record {}", self.seen),
                }
            })
            .collect()
    }

    fn tick(&mut self, now: Timestamp, next_id: u64) -> Vec<Message> {
        vec![Message {
            id: next_id,
            channel: Channel::Hl7,
            kind: "tick",
            at: now,
            body: format!("tick at {}", now.ms()),
        }]
    }

    fn boxed_clone(&self) -> Box<dyn Compose> {
        Box::new(self.clone())
    }
}

fn endpoints() -> Vec<Endpoint> {
    ["engine-a", "engine-b"]
        .map(|name| Endpoint {
            name: name.to_owned(),
            channel: Channel::Hl7,
        })
        .to_vec()
}

fn pain(at_min: u64) -> Record {
    Record::PainScore {
        at: Timestamp::from_ms(at_min * 60_000),
        value: 4,
    }
}

fn trial_log(dir: &TempDir) -> TrialLog {
    let mut log = TrialLog::open(&dir.trial_log()).unwrap();
    let scenario = crate::common::example("continuous-morphine-pca.toml");
    log.begin_trial(&scenario.trial, &morphine(), 0, "abc", true, None)
        .unwrap();
    log.set_outbox(Outbox::new(Box::new(Counting::default()), endpoints()));
    log
}

/// Every message owed to `endpoint`, oldest first, by taking and acknowledging each.
fn drain(reader: &mut OutboxReader, endpoint: &str) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    while let Some(p) = reader.oldest(endpoint).unwrap() {
        out.push((p.id, p.body));
        reader.acknowledged(endpoint, p.id).unwrap();
    }
    out
}

#[test]
fn a_records_messages_are_owed_to_each_endpoint_until_it_acknowledges_them() {
    let dir = TempDir::new("outbox-owed");
    let mut log = trial_log(&dir);
    log.append(&[pain(1), pain(2), pain(3)]).unwrap();
    log.outbox_tick(Timestamp::from_ms(240_000)).unwrap();
    let mut reader = OutboxReader::open(&dir.trial_log()).unwrap();
    assert_eq!(reader.backlog("engine-a").unwrap().messages, 4);
    assert_eq!(
        reader.backlog("engine-a").unwrap().oldest,
        Some(Timestamp::from_ms(60_000))
    );
    // engine-a takes the first; engine-b still owes it.
    let first = reader.oldest("engine-a").unwrap().unwrap();
    assert_eq!((first.id, first.body.as_str()), (1, "record 1"));
    reader.failed("engine-a", 1, "no answer in 30 s").unwrap();
    assert_eq!(reader.oldest("engine-a").unwrap().unwrap().attempts, 1);
    reader.acknowledged("engine-a", 1).unwrap();
    assert_eq!(reader.oldest("engine-a").unwrap().unwrap().id, 2);
    assert_eq!(reader.oldest("engine-b").unwrap().unwrap().id, 1);
    assert_eq!(
        drain(&mut reader, "engine-a"),
        [
            (2, "record 2".to_owned()),
            (3, "record 3".to_owned()),
            (4, "tick at 240000".to_owned())
        ]
    );
    // A message is deleted only when no endpoint still owes it.
    let conn = rusqlite::Connection::open(dir.trial_log()).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT COUNT(*) FROM outbox_message"), 4);
    assert_eq!(drain(&mut reader, "engine-b").len(), 4);
    assert_eq!(count("SELECT COUNT(*) FROM outbox_message"), 0);
    assert_eq!(reader.backlog("engine-b").unwrap().messages, 0);
    // The records themselves are untouched and the chain intact.
    assert_eq!(log.records(1).unwrap().len(), 3);
    assert!(log.verify().unwrap().is_intact());
}

/// A write the card refuses queues no message, and the composer is as it was: the retry makes
/// the same messages, numbered from where the outbox is, not twice counted.
#[test]
fn a_failed_write_queues_nothing_and_the_retry_makes_the_same_messages() {
    let dir = TempDir::new("outbox-failed");
    let mut log = trial_log(&dir);
    log.append(&[pain(1)]).unwrap();
    assert!(log.inject_fault("log_write_error", true));
    assert!(log.append(&[pain(2), pain(3)]).is_err());
    assert!(log.inject_fault("log_write_error", false));
    log.append(&[pain(2), pain(3)]).unwrap();
    let mut reader = OutboxReader::open(&dir.trial_log()).unwrap();
    assert_eq!(
        drain(&mut reader, "engine-a"),
        [
            (1, "record 1".to_owned()),
            (2, "record 2".to_owned()),
            (3, "record 3".to_owned())
        ]
    );
}

/// Message numbers (HL7's control ids) are never given twice, even once every message was
/// acknowledged and deleted and the log reopened.
#[test]
fn message_numbers_are_never_reused() {
    let dir = TempDir::new("outbox-numbers");
    let mut log = trial_log(&dir);
    log.append(&[pain(1), pain(2)]).unwrap();
    let mut reader = OutboxReader::open(&dir.trial_log()).unwrap();
    drain(&mut reader, "engine-a");
    drain(&mut reader, "engine-b");
    drop(log);
    let log = TrialLog::open(&dir.trial_log()).unwrap();
    assert_eq!(log.outbox_next_id().unwrap(), 3);
}

/// An endpoint that answers as it is told: one frame in, its answer out.
fn engine(answers: Vec<&'static str>) -> (u16, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut answers = answers.into_iter().peekable();
        'conns: for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            loop {
                let mut frame = Vec::new();
                let mut byte = [0u8; 1];
                // Until the end block and its carriage return.
                while !frame.ends_with(&[0x1c, 0x0d]) {
                    if stream.read(&mut byte).unwrap_or(0) == 0 {
                        continue 'conns;
                    }
                    frame.push(byte[0]);
                }
                let text = String::from_utf8_lossy(&frame[1..frame.len() - 2]).into_owned();
                let id = text.strip_prefix("MSH|").map_or(String::new(), |_| {
                    text.split('|').nth(9).unwrap_or_default().to_owned()
                });
                got.push(text);
                let Some(answer) = answers.next() else {
                    return got;
                };
                match answer {
                    // Closes the connection without answering.
                    "close" => continue 'conns,
                    code => {
                        let reply = format!("\x0bMSH|^~\\&|ENGINE\rMSA|{code}|{id}\r\x1c\r");
                        stream.write_all(reply.as_bytes()).unwrap();
                    }
                }
                if answers.peek().is_none() {
                    return got;
                }
            }
        }
        got
    });
    (port, handle)
}

/// The sender sends in order and deletes a message only on `AA` for it: a refusal (`AE`) and a
/// connection closed without an answer leave it owed and it is sent again; the next message
/// goes only once the one before is acknowledged.
#[test]
fn the_sender_sends_in_order_again_until_each_is_acknowledged() {
    let dir = TempDir::new("outbox-sender");
    let mut log = trial_log(&dir);
    // Messages as MSH segments, so that the engine can answer with their control ids.
    struct Hl7;
    impl Compose for Hl7 {
        fn compose(&mut self, records: &[Record], next_id: u64) -> Vec<Message> {
            records
                .iter()
                .zip(next_id..)
                .map(|(r, id)| Message {
                    id,
                    channel: Channel::Hl7,
                    kind: "test",
                    at: r.at(),
                    body: format!("MSH|^~\\&|TITRA|W|||x||ORU^R01^ORU_R01|{id}|P|2.6\r"),
                })
                .collect()
        }
        fn tick(&mut self, _: Timestamp, _: u64) -> Vec<Message> {
            Vec::new()
        }
        fn boxed_clone(&self) -> Box<dyn Compose> {
            Box::new(Hl7)
        }
    }
    log.set_outbox(Outbox::new(
        Box::new(Hl7),
        vec![Endpoint {
            name: "engine".to_owned(),
            channel: Channel::Hl7,
        }],
    ));
    log.append(&[pain(1), pain(2), pain(3)]).unwrap();
    let (port, engine) = engine(vec!["AA", "AE", "close", "AA", "AA"]);
    let timing = titra::service::outbound::Timing {
        connect: std::time::Duration::from_secs(5),
        answer: std::time::Duration::from_secs(10),
        retry_first: std::time::Duration::from_millis(10),
        retry_most: std::time::Duration::from_millis(50),
        idle: std::time::Duration::from_millis(10),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let mllp = titra::service::outbound::mllp::Mllp::new(
        titra::input::hardware::MllpEndpoint {
            name: "engine".to_owned(),
            host: "127.0.0.1".to_owned(),
            port,
            tls_ca: None,
        },
        timing,
    )
    .unwrap();
    let sender =
        titra::service::outbound::Sender::new("engine", dir.trial_log(), timing, Box::new(mllp))
            .spawn(stop.clone())
            .unwrap();
    let got = engine.join().unwrap();
    let ids: Vec<&str> = got.iter().map(|m| m.split('|').nth(9).unwrap()).collect();
    // 1 acknowledged; 2 refused, then cut off, then acknowledged; then 3.
    assert_eq!(ids, ["1", "2", "2", "2", "3"]);
    // The last AA is written before the sender looks again: wait for the outbox to empty.
    let reader = OutboxReader::open(&dir.trial_log()).unwrap();
    for _ in 0..500 {
        if reader.backlog("engine").unwrap().messages == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(reader.backlog("engine").unwrap().messages, 0);
    stop.store(true, std::sync::atomic::Ordering::Release);
    sender.join().unwrap();
}

/// The pump's writes never fail for the sender's: one thread appends records one transaction
/// at a time while another takes and acknowledges their messages as fast as it can. Every
/// append succeeds (each waits for the other's write: `busy_timeout`, and the log's
/// transactions take the write lock at their start, `BEGIN IMMEDIATE`), and every message is
/// taken once, in order.
#[test]
fn the_pumps_writes_and_the_senders_acknowledgements_do_not_collide() {
    let dir = TempDir::new("outbox-concurrent");
    let mut log = trial_log(&dir);
    let path = dir.trial_log();
    let done = Arc::new(AtomicBool::new(false));
    let taker = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut reader = OutboxReader::open(&path).unwrap();
            let mut taken = Vec::new();
            loop {
                let finished = done.load(std::sync::atomic::Ordering::Acquire);
                match reader.oldest("engine-a").unwrap() {
                    Some(p) => {
                        reader.acknowledged("engine-a", p.id).unwrap();
                        taken.push(p.id);
                    }
                    None if finished => return taken,
                    None => std::thread::yield_now(),
                }
            }
        })
    };
    for m in 0..300 {
        log.append(&[pain(m)]).unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::Release);
    let taken = taker.join().unwrap();
    assert_eq!(taken, (1..=300).collect::<Vec<u64>>());
}
