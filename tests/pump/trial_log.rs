//! The trial log on SQLite files: durable settings, append-only rows, the hash chain against
//! tampering and truncation, files it must refuse and leave untouched, recovery after a power
//! cut through a real restart on the same file, and a log that cannot be written.

use std::path::Path;

use rusqlite::Connection;
use titra::cli::simulate::{self, LogTarget};
use titra::core::library::Route;
use titra::core::program::{Trial, TrialKind};
use titra::core::supervisor::{AlarmKind, Priority, State};
use titra::core::units::{Duration, Timestamp, Volume};
use titra::engine::Engine;
use titra::input::check;
use titra::input::hardware::HardwareConfig;
use titra::input::scenario::Scenario;
use titra::journal::{Record, RecordSink, Role};
use titra::sim::SimPump;
use titra::store::{StoreError, TrialLog};

use crate::common::{TempDir, change_concentration, example, morphine, sqlite3, titra};

fn temp_dir(name: &str) -> TempDir {
    TempDir::new(&format!("log-{name}"))
}

fn trial() -> Trial {
    Trial {
        patient: "MRN-LOG".to_owned(),
        route: Route::Intrathecal,
        kind: TrialKind::Continuous,
        duration: Duration::from_days(3),
        catheter_tip: Some("T10".to_owned()),
        catheter: Some("20 G closed-tip intrathecal".to_owned()),
        catheter_placed_before: None,
        baseline_pain: Some(7),
        outpatient: false,
        opioid_status: None,
        ome_before: None,
    }
}

fn pain(at_h: u64, value: u8) -> Record {
    Record::PainScore {
        at: Timestamp::from_ms(at_h * 3_600_000),
        value,
    }
}

fn log_with_rows(path: &Path, n: u64) -> TrialLog {
    let mut log = TrialLog::open(path).unwrap();
    log.begin_trial(&trial(), &morphine(), 0, "abc", true, None)
        .unwrap();
    let rows: Vec<Record> = (0..n).map(|i| pain(i, (i % 10) as u8)).collect();
    log.append(&rows).unwrap();
    log
}

#[test]
fn a_checkpoint_leaves_the_log_whole_in_its_database_file() {
    // A trial's growth is counted from the database file's size; pages left in the WAL would
    // count as the next trial's growth once checkpointed.
    let dir = temp_dir("checkpoint");
    let path = dir.trial_log();
    let log = log_with_rows(&path, 500);
    let wal = |p: &Path| {
        let mut name = p.as_os_str().to_owned();
        name.push("-wal");
        std::fs::metadata(std::path::PathBuf::from(name)).map_or(0, |m| m.len())
    };
    assert!(wal(&path) > 0, "500 rows are in the WAL first");
    let before = std::fs::metadata(&path).unwrap().len();
    log.checkpoint().unwrap();
    assert_eq!(wal(&path), 0);
    assert!(std::fs::metadata(&path).unwrap().len() > before);
    drop(log);
    assert_eq!(
        TrialLog::open(&path).unwrap().records(1).unwrap().len(),
        500
    );
}

#[test]
fn records_round_trip_and_the_settings_are_durable() {
    let dir = temp_dir("roundtrip");
    let path = dir.trial_log();
    let log = log_with_rows(&path, 5);
    drop(log);
    let mut log = TrialLog::open(&path).unwrap();
    let stored = log.latest_trial().unwrap();
    assert_eq!(stored.trial, trial());
    assert_eq!(stored.program, morphine());
    assert_eq!(
        log.records(stored.id).unwrap(),
        (0..5).map(|i| pain(i, i as u8)).collect::<Vec<_>>()
    );
    assert!(log.verify().unwrap().is_intact());
    let conn = Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, titra::store::SCHEMA_VERSION);
    // synchronous is per connection: the log sets FULL (2) on its own.
    let log = TrialLog::open(&path).unwrap();
    assert_eq!(log.durability().unwrap(), ("wal".to_owned(), 2, true));
}

#[test]
fn rows_cannot_be_changed_or_removed() {
    let dir = temp_dir("append-only");
    let path = dir.trial_log();
    drop(log_with_rows(&path, 3));
    let conn = Connection::open(&path).unwrap();
    let e = conn
        .execute("UPDATE event SET body = '{}' WHERE seq = 2", [])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let e = conn
        .execute("DELETE FROM event WHERE seq = 3", [])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
}

#[test]
fn tampering_and_truncation_are_found() {
    let dir = temp_dir("tamper");
    let changed = dir.join("changed.db");
    drop(log_with_rows(&changed, 6));
    // Row 1 seals the trial's own row; the pain scores are rows 2 to 7.
    let conn = Connection::open(&changed).unwrap();
    conn.execute_batch(
        "DROP TRIGGER event_no_update; UPDATE event SET body = replace(body, '\"value\":3', '\"value\":0') WHERE seq = 5;",
    )
    .unwrap();
    drop(conn);
    let v = TrialLog::open(&changed).unwrap().verify().unwrap();
    assert_eq!(
        v.problems,
        vec!["row 5 (pain_score) was changed after it was written".to_owned()]
    );

    let cut = dir.join("cut.db");
    drop(log_with_rows(&cut, 6));
    let conn = Connection::open(&cut).unwrap();
    conn.execute_batch("DROP TRIGGER event_no_delete; DELETE FROM event WHERE seq > 5;")
        .unwrap();
    drop(conn);
    let v = TrialLog::open(&cut).unwrap().verify().unwrap();
    assert_eq!(v.rows, 5);
    assert!(
        v.problems[0].contains("rows were cut off the end"),
        "{:?}",
        v.problems
    );

    let hole = dir.join("hole.db");
    drop(log_with_rows(&hole, 6));
    let conn = Connection::open(&hole).unwrap();
    conn.execute_batch("DROP TRIGGER event_no_delete; DELETE FROM event WHERE seq = 2;")
        .unwrap();
    drop(conn);
    let v = TrialLog::open(&hole).unwrap().verify().unwrap();
    assert!(
        v.problems.iter().any(|p| p == "rows 2 to 2 are missing"),
        "{:?}",
        v.problems
    );

    // The command says so, and exits 2.
    let out = titra(&["verify-log", "--db", changed.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("row 5 (pain_score) was changed"));
    let intact = dir.join("intact.db");
    drop(log_with_rows(&intact, 2));
    let out = titra(&["verify-log", "--db", intact.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 rows, the hash chain is intact"));
}

#[test]
fn a_trial_row_changed_with_sqlite3_is_found_by_verify_log() {
    let dir = temp_dir("trial-row");
    let path = dir.trial_log();
    drop(log_with_rows(&path, 3));
    // The concentration changed on the card: the trigger that refuses it is dropped first (as
    // anyone with the file can), and the event rows are left alone.
    sqlite3(&path, &change_concentration("2 mg/mL"));
    let log = TrialLog::open(&path).unwrap();
    assert_eq!(log.records(1).unwrap().len(), 3, "the events are untouched");
    let v = log.verify().unwrap();
    let changed = "trial 1 (patient MRN-LOG) was changed after it was written: the program's concentration (1 mg/mL when written, 2 mg/mL now)";
    assert_eq!(v.problems, vec![changed.to_owned()]);
    let out = titra(&["verify-log", "--db", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("THE LOG WAS TAMPERED WITH OR DAMAGED"),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("  - {changed}")), "{stdout}");

    // A trial row added by hand, with no seal in the chain, shows too.
    sqlite3(
        &path,
        "INSERT INTO trial (patient, started_ms, trial_json, program_json, library_sha256, simulated) \
         SELECT 'MRN-ADDED', started_ms, trial_json, program_json, library_sha256, simulated FROM trial WHERE id = 1;",
    );
    let v = TrialLog::open(&path).unwrap().verify().unwrap();
    assert!(
        v.problems.contains(
            &"trial 2 (patient MRN-ADDED) is not in the hash chain: it was added to the log, or its seal removed".to_owned()
        ),
        "{:?}",
        v.problems
    );
}

/// The schema as versions 1 and 2 wrote it: trials outside the hash chain.
const SCHEMA_2: &str = "
CREATE TABLE trial (id INTEGER PRIMARY KEY, patient TEXT NOT NULL, started_ms INTEGER NOT NULL,
  trial_json TEXT NOT NULL, program_json TEXT NOT NULL, library_sha256 TEXT NOT NULL,
  simulated INTEGER NOT NULL, started_wall TEXT);
CREATE TABLE event (seq INTEGER PRIMARY KEY, trial_id INTEGER NOT NULL REFERENCES trial(id),
  at_ms INTEGER NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL, prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL);
CREATE INDEX event_trial_at ON event(trial_id, at_ms);
CREATE TABLE chain_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL,
  hash TEXT NOT NULL);
CREATE TRIGGER event_no_update BEFORE UPDATE ON event
BEGIN SELECT RAISE(ABORT, 'the trial log is append-only'); END;
CREATE TRIGGER event_no_delete BEFORE DELETE ON event
BEGIN SELECT RAISE(ABORT, 'the trial log is append-only'); END;
CREATE TRIGGER trial_no_delete BEFORE DELETE ON trial
BEGIN SELECT RAISE(ABORT, 'the trial log is append-only'); END;
PRAGMA application_id = 1414091858; PRAGMA user_version = 2;";

#[test]
fn a_log_of_schema_2_opens_and_its_trials_join_the_chain() {
    let dir = temp_dir("schema-2");
    let path = dir.trial_log();
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(SCHEMA_2).unwrap();
    conn.execute(
        "INSERT INTO trial (patient, started_ms, trial_json, program_json, library_sha256, simulated)
         VALUES ('MRN-LOG', 0, ?1, ?2, 'abc', 1)",
        [
            serde_json::to_string(&trial()).unwrap(),
            serde_json::to_string(&morphine()).unwrap(),
        ],
    )
    .unwrap();
    // Two pain scores, chained as version 2 chained its rows.
    let mut prev = "0".repeat(64);
    for seq in 1..=2i64 {
        let record = pain(seq as u64, 5);
        let body = serde_json::to_string(&record).unwrap();
        let at = record.at().ms().to_string();
        let hash =
            titra::digest::sha256_lines(&[&prev, &seq.to_string(), "1", &at, "pain_score", &body]);
        conn.execute(
            "INSERT INTO event VALUES (?1, 1, ?2, 'pain_score', ?3, ?4, ?5)",
            rusqlite::params![seq, at.parse::<i64>().unwrap(), body, prev, hash],
        )
        .unwrap();
        prev = hash;
    }
    conn.execute("INSERT INTO chain_head VALUES (1, 2, ?1)", [&prev])
        .unwrap();
    drop(conn);

    // Opened by this version: migrated, its trial sealed at the end of the chain, intact.
    let mut log = TrialLog::open(&path).unwrap();
    let v = log.verify().unwrap();
    assert!(v.is_intact(), "{:?}", v.problems);
    assert_eq!(v.rows, 3, "two records and the trial's seal");
    assert_eq!(v.sealed_at_upgrade, vec![1]);
    let stored = log.latest_trial().unwrap();
    assert_eq!(stored.program, morphine());
    assert_eq!(log.records(1).unwrap(), vec![pain(1, 5), pain(2, 5)]);
    drop(log);
    let out = titra(&["verify-log", "--db", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("Trial 1 joined the chain when this log was upgraded"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // From now on a change to the trial row shows.
    sqlite3(
        &path,
        "DROP TRIGGER IF EXISTS trial_no_update; UPDATE trial SET patient = 'MRN-OTHER';",
    );
    let v = TrialLog::open(&path).unwrap().verify().unwrap();
    assert_eq!(
        v.problems,
        vec![
            "trial 1 (patient MRN-LOG) was changed after it was written: the patient (MRN-LOG when written, MRN-OTHER now)"
                .to_owned()
        ]
    );
}

#[test]
fn foreign_newer_and_damaged_files_are_refused_and_left_untouched() {
    let dir = temp_dir("refuse");
    let text = dir.join("notes.db");
    std::fs::write(&text, "shopping list").unwrap();
    assert!(matches!(
        TrialLog::open(&text),
        Err(StoreError::NotATrialLog { .. })
    ));
    assert_eq!(std::fs::read_to_string(&text).unwrap(), "shopping list");

    let other = dir.join("other.db");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    let before = std::fs::read(&other).unwrap();
    let e = TrialLog::open(&other).err().unwrap();
    assert!(
        e.to_string()
            .contains("is not a Titra trial log; it was left untouched"),
        "{e}"
    );
    assert_eq!(std::fs::read(&other).unwrap(), before);

    let newer = dir.join("newer.db");
    drop(log_with_rows(&newer, 1));
    Connection::open(&newer)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99;")
        .unwrap();
    let e = TrialLog::open(&newer).err().unwrap();
    assert!(matches!(e, StoreError::Newer { found: 99, .. }), "{e}");
    assert!(e.to_string().contains("newer version of Titra"), "{e}");

    let damaged = dir.join("damaged.db");
    drop(log_with_rows(&damaged, 200));
    // Checkpoint the WAL into the file, then scribble over a page in the middle.
    Connection::open(&damaged)
        .unwrap()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    let mut bytes = std::fs::read(&damaged).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 2048] {
        *b = 0x5A;
    }
    std::fs::write(&damaged, &bytes).unwrap();
    let e = TrialLog::open(&damaged)
        .err()
        .expect("a damaged file is refused");
    assert!(
        matches!(
            e,
            StoreError::Damaged { .. } | StoreError::NotATrialLog { .. }
        ),
        "{e}"
    );
    assert_eq!(std::fs::read(&damaged).unwrap(), bytes, "left untouched");
}

fn scenario() -> Scenario {
    example("continuous-morphine-pca.toml")
}

#[test]
fn a_power_cut_recovers_from_the_file_with_nothing_lost() {
    let dir = temp_dir("power");
    let path = dir.trial_log();
    let (library, source) = check::load_library(None).unwrap();
    let hw = HardwareConfig::built_in().unwrap();
    let on_file = simulate::run_with_log(
        &scenario(),
        &library,
        source.clone(),
        &hw,
        LogTarget::File(&path),
        &mut |_| {},
    )
    .unwrap();
    let in_memory = simulate::run(&scenario(), &library, source, &hw).unwrap();
    // The same trial whether the records were kept in memory or went through the file and a
    // real restart on it.
    assert_eq!(
        serde_json::to_value(&on_file.summary).unwrap(),
        serde_json::to_value(&in_memory.summary).unwrap()
    );
    let mut log = TrialLog::open(&path).unwrap();
    assert!(log.verify().unwrap().is_intact());
    let stored = log.latest_trial().unwrap();
    let records = log.records(stored.id).unwrap();
    assert_eq!(records, on_file.journal);
    // Recovery: back at 48h10, a HIGH alarm, stopped until the nurse resumed at 49 h.
    let restored = records
        .iter()
        .position(|r| matches!(r, Record::PowerRestored { .. }))
        .expect("power restored recorded");
    assert_eq!(records[restored].at().ms(), (48 * 60 + 10) * 60_000);
    assert!(records[restored..].iter().any(|r| matches!(
        r,
        Record::AlarmRaised {
            kind: AlarmKind::PowerRestored,
            priority: Priority::High,
            ..
        }
    )));
    assert!(records[restored..].iter().any(|r| matches!(
        r,
        Record::StateChanged {
            to: State::Alarm,
            ..
        }
    )));
}

/// A sink that works for a while, then fails (a full disk).
struct FailingSink {
    left: usize,
}

impl RecordSink for FailingSink {
    fn write(&mut self, _records: &[Record]) -> Result<(), String> {
        if self.left == 0 {
            return Err("database or disk is full".to_owned());
        }
        self.left -= 1;
        Ok(())
    }
}

/// The example trial's engine on simulated hardware, writing to `sink`, verified, primed and
/// running from the origin.
fn running_with(sink: Box<dyn RecordSink>) -> Engine<SimPump> {
    let (library, _) = check::load_library(None).unwrap();
    let cfg = HardwareConfig::built_in().unwrap();
    let sim = SimPump::new(&cfg.mechanism, &cfg.simulation, Volume::from_ml(20));
    let t0 = Timestamp::ORIGIN;
    let mut e = Engine::new(
        sim,
        &cfg,
        trial(),
        morphine(),
        &library,
        t0,
        Some(Role::Nurse),
    )
    .unwrap();
    e.attach_sink(sink, t0).unwrap();
    e.verify(t0).unwrap();
    e.prime(t0, Volume::ZERO).unwrap();
    e.start(t0).unwrap();
    e
}

#[test]
fn a_log_that_cannot_be_written_stops_delivery() {
    let t0 = Timestamp::ORIGIN;
    let mut e = running_with(Box::new(FailingSink { left: 20 }));
    let mut now = t0;
    while now < Timestamp::from_ms(3_600_000) {
        now = e
            .next_wake()
            .unwrap_or(now + Duration::from_secs(10))
            .max(now);
        e.hardware_mut().advance_to(now);
        e.tick(now).unwrap();
    }
    let alarm = e
        .alarms()
        .iter()
        .find(|a| a.kind == AlarmKind::LogFailure)
        .expect("raised")
        .clone();
    assert_eq!(alarm.priority, Priority::High);
    assert_eq!(e.state(), State::Alarm);
    // Not one step after the failure: the last intent that reached the log bounds it.
    let position = titra::hw::PumpHardware::plunger_position(e.hardware_mut())
        .unwrap()
        .unwrap();
    let stopped_by = alarm.raised_at.ms() as f64 / 86_400_000.0 * 14_400.0;
    assert!(
        (position as f64) <= stopped_by + 11.0,
        "{position} steps, {stopped_by} due"
    );
    assert!(e.resume(now).is_err(), "the log still cannot be written");
}

/// A sink whose records are written but whose own periodic work (the messages for the
/// hospital) fails while `failing` holds, counting the tries.
struct TickFailingSink {
    tries: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    failing: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl RecordSink for TickFailingSink {
    fn write(&mut self, _records: &[Record]) -> Result<(), String> {
        Ok(())
    }

    fn tick(&mut self, _now: Timestamp) -> Result<(), String> {
        use std::sync::atomic::Ordering;
        self.tries.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            Err("database is locked".to_owned())
        } else {
            Ok(())
        }
    }
}

/// The trial log's periodic work failing (a lock another process holds, each try waiting for
/// it) is tried again once a minute, not at every pass of the control loop; delivery goes on,
/// and once it works it is tried at every pass again.
#[test]
fn a_failing_periodic_queueing_is_tried_again_once_a_minute_and_delivery_goes_on() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let t0 = Timestamp::ORIGIN;
    let tries = std::sync::Arc::new(AtomicUsize::new(0));
    let failing = std::sync::Arc::new(AtomicBool::new(true));
    let mut e = running_with(Box::new(TickFailingSink {
        tries: tries.clone(),
        failing: failing.clone(),
    }));
    // A pass every second for ten minutes.
    let mut passes = 0;
    let mut now = t0;
    let run =
        |e: &mut Engine<SimPump>, now: &mut Timestamp, passes: &mut usize, until: Timestamp| {
            while *now < until {
                *now = *now + Duration::from_secs(1);
                e.hardware_mut().advance_to(*now);
                e.tick(*now).unwrap();
                *passes += 1;
            }
        };
    run(&mut e, &mut now, &mut passes, t0 + Duration::from_mins(10));
    let failed_tries = tries.load(Ordering::SeqCst);
    assert!(passes >= 600, "{passes} passes");
    // The first try, then one a minute: 11 at most in ten minutes.
    assert!(
        (10..=11).contains(&failed_tries),
        "{failed_tries} tries in {passes} passes"
    );
    assert_eq!(e.state(), State::Running);
    assert!(!e.alarms().iter().any(|a| a.kind == AlarmKind::LogFailure));
    // It works again: found at the next minute's try, then tried at every pass.
    failing.store(false, Ordering::SeqCst);
    run(&mut e, &mut now, &mut passes, t0 + Duration::from_mins(12));
    let after = tries.load(Ordering::SeqCst) - failed_tries;
    assert!(
        after >= 60,
        "{after} tries in the two minutes after it works"
    );
}

#[test]
fn a_log_that_fails_while_nothing_is_written_is_found_by_its_probe() {
    // Issue 24: a paused pump writes nothing for long, so a card gone read-only was found only
    // at the next record. The engine probes the log after LOG_PROBE_EVERY without a write.
    let dir = temp_dir("probe");
    let (library, _) = check::load_library(None).unwrap();
    let cfg = HardwareConfig::built_in().unwrap();
    let sim = SimPump::new(&cfg.mechanism, &cfg.simulation, Volume::from_ml(20));
    let t0 = Timestamp::ORIGIN;
    let mut e = Engine::new(
        sim,
        &cfg,
        trial(),
        morphine(),
        &library,
        t0,
        Some(Role::Nurse),
    )
    .unwrap();
    let mut log = TrialLog::open(&dir.join("titra.db")).unwrap();
    log.begin_trial(&trial(), &morphine(), 0, "abc", true, None)
        .unwrap();
    e.attach_sink(Box::new(log), t0).unwrap();
    e.verify(t0).unwrap();
    e.prime(t0, Volume::ZERO).unwrap();
    e.start(t0).unwrap();
    let run = |e: &mut Engine<SimPump>, until: Timestamp| {
        let mut now = e.hardware().now();
        while now < until {
            now = e.next_wake().unwrap_or(until).min(until).max(now);
            e.hardware_mut().advance_to(now);
            e.tick(now).unwrap();
        }
    };
    let at = |min: u64| t0 + Duration::from_mins(min);
    run(&mut e, at(10));
    e.pause(at(10)).unwrap();
    run(&mut e, at(20));
    assert!(e.alarms().iter().all(|a| a.kind != AlarmKind::LogFailure));
    // The card goes read-only while the pump is paused and nothing is written.
    assert!(e.inject_log_fault("log_write_error", true));
    run(&mut e, at(23));
    let alarm = e
        .alarms()
        .iter()
        .find(|a| a.kind == AlarmKind::LogFailure)
        .expect("found by the probe")
        .clone();
    // Within the probe's interval and one pass of the loop (a sensor read at most 10 s on).
    let found_after = alarm.raised_at.since(at(20));
    assert!(
        found_after <= titra::engine::LOG_PROBE_EVERY + Duration::from_secs(10),
        "found {found_after} after the fault"
    );
    assert_eq!(alarm.priority, Priority::High);
    assert_eq!(e.state(), State::Alarm);
    // Acknowledged while the card is still read-only: it stays.
    e.acknowledge(at(24));
    assert!(
        e.alarms()
            .iter()
            .any(|a| a.kind == AlarmKind::LogFailure && a.is_active())
    );
    // The card writable again: acknowledged, the alarm clears, and what was held is written.
    assert!(e.inject_log_fault("log_write_error", false));
    e.acknowledge(at(25));
    assert!(
        e.alarms()
            .iter()
            .all(|a| a.kind != AlarmKind::LogFailure || !a.is_active()),
        "{:?}",
        e.alarms()
    );
    let log = TrialLog::open(&dir.join("titra.db")).unwrap();
    let records = log.records(1).unwrap();
    assert!(records.iter().any(|r| matches!(
        r,
        Record::AlarmRaised {
            kind: AlarmKind::LogFailure,
            ..
        }
    )));
    assert!(log.verify().unwrap().is_intact());
}
