//! The outbox of the trial log (issue 23): a record's messages are queued in the record's own
//! transaction, owed to each endpoint until it acknowledges them, numbered without reuse, dated
//! by the wall clock as the daemon last read it; the trial summary's FHIR Bundle queued once
//! for a clinician's confirmation, after a restart too; and the MLLP sender, which sends them
//! in order until each is acknowledged `AA`, against an in-process listener that answers as it
//! is told (the real listener, hl7apy's checks, is tests/pump/mllp.rs's).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use titra::core::supervisor::State;
use titra::core::units::{Duration, MassUnit, Timestamp};
use titra::input::hardware::{FhirEndpoint, HardwareConfig, IntegrationConfig, MllpEndpoint};
use titra::journal::{Record, RecordSink};
use titra::report::pcd::{Device, Reporter, dtm};
use titra::service::auth::Peer;
use titra::service::pump::{PumpService, ServiceError};
use titra::store::TrialLog;
use titra::store::outbox::{Channel, Compose, Endpoint, Message, Outbox, OutboxReader};

use crate::common::{CLINICIAN, NURSE, SECOND_NURSE, Staff, TempDir, morphine};

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

/// MSH-7 of an HL7 message: its time.
fn msh_7(message: &str) -> &str {
    message.split('|').nth(6).unwrap_or_default()
}

/// The trial log's own messages follow the wall clock it is told of (`RecordSink::wall_clock`,
/// as the daemon says it every minute): anchored at 1 000 000 ms at the start, told at 60 s
/// that the wall clock reads 5 000 000, the DEC at 120 s is dated 5 060 000 (1970-01-01
/// 01:24:20 UTC), not 1 120 000.
#[test]
fn the_trial_logs_messages_follow_the_wall_clock_it_is_told_of() {
    let dir = TempDir::new("outbox-wall");
    let mut log = TrialLog::open(&dir.trial_log()).unwrap();
    let scenario = crate::common::example("continuous-morphine-pca.toml");
    log.begin_trial(&scenario.trial, &morphine(), 0, "abc", true, None)
        .unwrap();
    let device = Device {
        application: "TITRA".to_owned(),
        eui64: "0012A3FFFE4B5C6D".to_owned(),
        facility: "WARD7".to_owned(),
        simulated: true,
    };
    let reporter = Reporter::new(
        device,
        "MRN-WALL",
        &morphine(),
        MassUnit::Mg,
        (Timestamp::ORIGIN, 1_000_000),
        Duration::from_mins(1),
    )
    .unwrap();
    log.set_outbox(Outbox::new(Box::new(reporter), endpoints()));
    log.append(&[Record::StateChanged {
        at: Timestamp::ORIGIN,
        from: State::Priming,
        to: State::Running,
    }])
    .unwrap();
    log.outbox_tick(Timestamp::ORIGIN).unwrap();
    RecordSink::wall_clock(&mut log, Timestamp::from_ms(60_000), 5_000_000);
    log.outbox_tick(Timestamp::from_ms(120_000)).unwrap();
    let mut reader = OutboxReader::open(&dir.trial_log()).unwrap();
    let times: Vec<String> = drain(&mut reader, "engine-a")
        .iter()
        .map(|(_, body)| msh_7(body).to_owned())
        .collect();
    // The start (IPEC) and the first DEC by the first anchor; the next DEC by the new one.
    assert_eq!(
        times,
        [
            "19700101001640+0000",
            "19700101001640+0000",
            "19700101012420+0000"
        ]
    );
}

/// A wall clock that stands where the test puts it (shared by its clones).
#[derive(Clone)]
struct Wall(Arc<AtomicU64>);

impl titra::time::WallClock for Wall {
    fn unix_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// 2026-12-05 14:30:00 UTC: the wall clock at the pump's clock's origin.
const WALL_AT_ORIGIN: u64 = 1_796_481_000_000;

/// The daemon on simulated hardware (titra-pumpd's service, its log `titra.db` in `dir` as
/// `TempDir::trial_log` names it, started at `now`), whose site names the interface engine
/// "engine" and/or the FHIR server "records" as asked; neither answers (no sender runs: what is
/// queued stays queued). Its wall clock follows the pump's clock from `wall_at_origin` until
/// the test moves it.
struct Pump {
    svc: PumpService,
    now: Timestamp,
    wall: Wall,
    wall_at_origin: u64,
}

impl Pump {
    fn start(dir: &Path, mllp: bool, fhir: bool, now: Timestamp) -> Pump {
        let mut cfg = HardwareConfig::built_in().unwrap();
        cfg.integration = (mllp || fhir).then(|| IntegrationConfig {
            eui64: "0012A3FFFE4B5C6D".to_owned(),
            facility: "WARD7".to_owned(),
            mllp: if mllp {
                vec![MllpEndpoint {
                    name: "engine".to_owned(),
                    host: "127.0.0.1".to_owned(),
                    port: 2575,
                    tls_ca: None,
                }]
            } else {
                Vec::new()
            },
            fhir: if fhir {
                vec![FhirEndpoint {
                    name: "records".to_owned(),
                    url: "http://127.0.0.1:8080/".to_owned(),
                    tls_ca: None,
                }]
            } else {
                Vec::new()
            },
            backlog_alarm: 100_000,
            patient_system: Some("urn:oid:1.2.3.4.5.6".to_owned()),
        });
        let (library, _) = titra::input::check::load_library(None).unwrap();
        let mut svc = crate::common::daemon::logged_service_with_config(dir, now, library, cfg);
        svc.confirm_checklist_as_demo(true);
        // As titra-pumpd does: the wall clock is given once the service has started, then
        // what an ended trial still owes is queued.
        let wall = Wall(Arc::new(AtomicU64::new(WALL_AT_ORIGIN + now.ms())));
        svc.set_wall_clock(Box::new(wall.clone()));
        svc.queue_owed_at_start(now);
        Pump {
            svc,
            now,
            wall,
            wall_at_origin: WALL_AT_ORIGIN,
        }
    }

    /// Started again on the same log a minute after the last record.
    fn restart(dir: &Path, mllp: bool, fhir: bool) -> Pump {
        let last = PumpService::resume_time(&dir.join("titra.db")).unwrap();
        Pump::start(dir, mllp, fhir, last + Duration::from_mins(1))
    }

    fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        loop {
            let next = self
                .svc
                .next_wake()
                .unwrap_or(until)
                .min(until)
                .max(self.now);
            self.now = next;
            self.wall
                .0
                .store(self.wall_at_origin + next.ms(), Ordering::SeqCst);
            self.svc.tick(next).unwrap();
            if next >= until {
                return;
            }
        }
    }

    fn as_user(
        &mut self,
        who: Staff,
        f: impl FnOnce(&mut PumpService, &str, Timestamp) -> Result<(), ServiceError>,
    ) {
        let now = self.now;
        let token = self.svc.login(who.id, who.pin, Peer::Local, now).unwrap().0;
        f(&mut self.svc, &token, now).unwrap();
    }

    /// The example continuous morphine trial programmed, primed and started.
    fn started(&mut self) {
        self.as_user(NURSE, |s, t, now| {
            let program = crate::common::continuous_morphine("MRN-OUTBOX");
            s.start_trial(t, &program, false, (SECOND_NURSE.id, SECOND_NURSE.pin), now)
        });
        self.as_user(NURSE, |s, t, now| s.prime(t, now));
        self.run_for(Duration::from_mins(2));
        self.as_user(NURSE, |s, t, now| s.start(t, now));
    }

    /// A pump started in `dir` (the FHIR server named as `fhir` says) whose trial ran half an
    /// hour, ended, and had its implant's dose confirmed.
    fn confirmed(dir: &Path, fhir: bool) -> Pump {
        let mut p = Pump::start(dir, false, fhir, Timestamp::ORIGIN);
        p.started();
        p.run_for(Duration::from_mins(30));
        p.ended_and_confirmed();
        p
    }

    /// The trial ended and the implant's dose confirmed by the clinician (no baseline pain,
    /// so no proposal: a dose with a reason).
    fn ended_and_confirmed(&mut self) {
        self.as_user(NURSE, |s, t, now| s.end_trial(t, now));
        self.run_for(Duration::from_mins(1));
        self.as_user(CLINICIAN, |s, t, now| {
            s.confirm_implant(
                t,
                "0.5 mg/day",
                "half the trial's basal, by the clinician",
                now,
            )
            .map(|_| ())
        });
    }
}

/// The messages of `kind` ("pcd-01") in the outbox of the log at `db`: (the moment each
/// reports on the pump's clock, ms; its text), in order.
fn queued(db: &Path, kind: &str) -> Vec<(u64, String)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.prepare("SELECT at_ms, body FROM outbox_message WHERE kind = ?1 ORDER BY id")
        .unwrap()
        .query_map([kind], |r| {
            Ok((
                u64::try_from(r.get::<_, i64>(0)?).unwrap(),
                r.get::<_, String>(1)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The trial summary's Bundles in the outbox of the log at `db`, as JSON.
fn bundles(db: &Path) -> Vec<serde_json::Value> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT body FROM outbox_message WHERE kind = 'fhir-bundle' ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|b| serde_json::from_str(&b.unwrap()).unwrap())
        .collect()
}

/// The implant's starting dose in a Bundle: its Observation's status and value.
fn implant_dose(bundle: &serde_json::Value) -> (String, f64) {
    let dose = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .find(|r| {
            r["resourceType"] == "Observation"
                && r["code"]["coding"][0]["code"] == "implant-starting-dose"
        })
        .unwrap();
    (
        dose["status"].as_str().unwrap().to_owned(),
        dose["valueQuantity"]["value"].as_f64().unwrap(),
    )
}

/// Leaves the log at `db` as a daemon stopped between the confirmation's record and its
/// Bundle would: the Bundle, its rows and its note gone.
fn forget_the_bundle(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(
        "DELETE FROM outbox; DELETE FROM outbox_message; DELETE FROM outbox_summary;",
    )
    .unwrap();
}

/// The messages waiting for each endpoint, by name.
fn owed(p: &Pump) -> Vec<(String, u64)> {
    p.svc
        .outbox_backlog()
        .into_iter()
        .map(|(name, b)| (name, b.messages))
        .collect()
}

/// The daemon dies between the clinician's confirmation of the implant's dose and the queueing
/// of the trial summary's Bundle. Started again, it queues the Bundle before it says it is
/// ready, made from the log under the site's protocol (the confirmed dose, final); started
/// once more, nothing more. A confirmation made while the site named no FHIR server is queued
/// the same way once one is named.
#[test]
fn a_bundle_lost_to_a_restart_is_queued_once_at_the_next_start() {
    for named_later in [false, true] {
        let dir = TempDir::new("outbox-lost-bundle");
        let db = dir.trial_log();
        let p = Pump::confirmed(&dir, !named_later);
        drop(p);
        if named_later {
            assert!(bundles(&db).is_empty());
        } else {
            assert_eq!(bundles(&db).len(), 1);
            forget_the_bundle(&db);
        }

        let mut p = Pump::restart(&dir, false, true);
        let queued = bundles(&db);
        assert_eq!(queued.len(), 1, "queued at the start");
        assert_eq!(queued[0]["type"], "transaction");
        assert_eq!(implant_dose(&queued[0]), ("final".to_owned(), 0.5));
        assert_eq!(owed(&p), [("records".to_owned(), 1)]);
        // Checked again every minute: once is enough.
        p.run_for(Duration::from_mins(3));
        assert_eq!(bundles(&db).len(), 1);
        drop(p);

        let mut p = Pump::restart(&dir, false, true);
        p.run_for(Duration::from_mins(2));
        assert_eq!(bundles(&db).len(), 1, "not queued again");
        drop(p);
    }
}

/// The Bundle queued with the confirmation is noted in the same transaction: a restart does not
/// queue it again.
#[test]
fn a_bundle_queued_with_its_confirmation_is_not_queued_again_at_the_next_start() {
    let dir = TempDir::new("outbox-bundle-once");
    let db = dir.trial_log();
    let mut p = Pump::confirmed(&dir, true);
    assert_eq!(bundles(&db).len(), 1);
    p.run_for(Duration::from_mins(2));
    assert_eq!(bundles(&db).len(), 1);
    drop(p);
    let mut p = Pump::restart(&dir, false, true);
    p.run_for(Duration::from_mins(2));
    assert_eq!(bundles(&db).len(), 1, "not queued again");
    drop(p);
}

/// A log that fails its start-up check (a record altered on the card) is not summarised for the
/// patient's record: the Bundle the confirmation still owes is not queued.
#[test]
fn no_bundle_is_queued_from_a_log_that_failed_its_start_up_check() {
    let dir = TempDir::new("outbox-bundle-tampered");
    let db = dir.trial_log();
    let p = Pump::confirmed(&dir, true);
    drop(p);
    forget_the_bundle(&db);
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "DROP TRIGGER event_no_update; UPDATE event SET body = body || ' ' WHERE seq = (SELECT MAX(seq) FROM event WHERE kind = 'implant_plan');",
    )
    .unwrap();
    drop(conn);
    let mut p = Pump::restart(&dir, false, true);
    let failure = p.svc.status(p.now).startup_check_failure;
    assert!(!failure.is_empty(), "the check failed");
    p.run_for(Duration::from_mins(3));
    assert!(bundles(&db).is_empty());
}

/// A restart while an alarm stands: the recovery's messages are dated by the trial's start by
/// the wall clock and the time since (the daemon has no wall clock yet when it recovers), and
/// the alarm's next report after the restart (acknowledged) carries the identity (OBR-29) its
/// start was sent with, so that the hospital's alarm manager follows it to its end.
#[test]
fn after_a_restart_the_recovery_is_dated_by_the_trial_and_a_standing_alarm_keeps_its_identity() {
    let dir = TempDir::new("outbox-restart-alarm");
    let db = dir.trial_log();
    let mut p = Pump::start(&dir, true, false, Timestamp::ORIGIN);
    p.started();
    p.run_for(Duration::from_mins(5));
    p.svc.inject_fault("reservoir_removed", true).unwrap();
    p.run_for(Duration::from_mins(1));
    drop(p);
    let mut p = Pump::restart(&dir, true, false);
    let restarted = p.now;
    p.svc.inject_fault("reservoir_removed", false).unwrap();
    p.run_for(Duration::from_mins(1));
    // A nurse acknowledges what stands: each alarm's report says so under its identity.
    p.as_user(NURSE, |s, t, now| s.acknowledge(t, now));
    p.run_for(Duration::from_mins(1));
    let acm = queued(&db, "pcd-04");
    let identity = |body: &str| {
        body.split('\r')
            .find(|s| s.starts_with("OBR|"))
            .and_then(|obr| obr.split('|').nth(29))
            .unwrap_or_default()
            .to_owned()
    };
    // The first report is the alarm raised before the restart; its report after the restart
    // carries the same identity.
    let (raised_at, raised) = &acm[0];
    assert!(*raised_at < restarted.ms(), "{acm:?}");
    let first = identity(raised);
    assert!(!first.is_empty(), "{raised}");
    assert!(
        acm.iter()
            .any(|(at, b)| *at >= restarted.ms() && identity(b) == first),
        "no report after the restart under {first}: {acm:?}"
    );
    // Every message is dated by the wall clock as the test keeps it (the pump's clock plus
    // WALL_AT_ORIGIN), the recovery's too: never the virtual clock's year 2000.
    for (at, body) in &acm {
        assert_eq!(msh_7(body), dtm(WALL_AT_ORIGIN + at), "{body}");
    }
    assert!(
        acm.iter().any(|(at, _)| *at >= restarted.ms()),
        "reported after the restart"
    );
}

/// The daemon's device messages follow the wall clock when it is set during a trial (a pump
/// with no battery-backed clock whose time server answers late): the DEC made after the next
/// check of the outbox is dated by the wall clock as set, those before by the wall clock as it
/// was.
#[test]
fn the_daemons_messages_follow_the_wall_clock_once_it_is_set() {
    let dir = TempDir::new("outbox-wall-set");
    let db = dir.trial_log();
    let mut p = Pump::start(&dir, true, false, Timestamp::ORIGIN);
    p.started();
    p.run_for(Duration::from_mins(5));
    // The time server answers: the wall clock moves an hour on.
    p.wall_at_origin += 3_600_000;
    p.run_for(Duration::from_mins(3));
    let decs = queued(&db, "pcd-01");
    assert!(decs.len() >= 7, "{} DECs", decs.len());
    let (first_at, first) = &decs[0];
    assert_eq!(msh_7(first), dtm(WALL_AT_ORIGIN + first_at));
    let (last_at, last) = decs.last().unwrap();
    assert_eq!(msh_7(last), dtm(WALL_AT_ORIGIN + 3_600_000 + last_at));
}
