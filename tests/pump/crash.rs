//! The simulator killed with SIGKILL at moments spread over a trial and restarted on the same
//! trial log, again and again. After every restart the log's hash chain verifies and every event
//! the simulator had reported applied is in it, once; at the end the delivered total in the log
//! is within one motor step of where the (persisted) plunger really is.
//!
//! `TITRA_CRASH_KILLS=N` runs up to N kills instead of the few CI runs, and
//! `TITRA_CRASH_HOURS=H` makes the trial H hours long so that many kills fit in it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use titra::input::scenario::{Event, Scenario};
use titra::journal::Record;
use titra::store::TrialLog;

use crate::common::TempDir;

const SCENARIO: &str = r#"
[trial]
patient = "MRN-CRASH"
route = "intrathecal"
kind = "continuous"
duration = "HOURSh"
baseline_pain = 7

[program]
drug = "morphine"
concentration = "1 mg/mL"
reservoir = "20 mL"
basal = "2 mg/day"
pca = { dose = "0.05 mg", lockout = "30min", max_per_hour = 2 }
"#;

fn scenario_text() -> String {
    let hours: u32 = std::env::var("TITRA_CRASH_HOURS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let mut text = SCENARIO.replace("HOURS", &hours.to_string());
    // Presses and scores every 14 minutes, alternating.
    for i in 0..(hours * 60 / 14).saturating_sub(1) {
        let minutes = 7 + i * 14;
        let kind = if i % 2 == 0 {
            "pca_request"
        } else {
            "pain_score"
        };
        text.push_str(&format!(
            "[[events]]\nat = \"{minutes}min\"\nkind = \"{kind}\"\n"
        ));
        if kind == "pain_score" {
            text.push_str(&format!("value = {}\n", i % 8));
        }
    }
    text
}

/// Runs the simulator until it is killed after `kill_after` (or ends by itself). Returns the
/// event indices it reported applied and whether it finished.
fn run_once(scenario: &Path, db: &Path, kill_after: Option<Duration>) -> (Vec<usize>, bool) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_titra"))
        .args([
            "simulate",
            "--acks",
            "--db",
            db.to_str().unwrap(),
            scenario.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| l.strip_prefix("applied ").and_then(|n| n.parse().ok()))
            .collect::<Vec<usize>>()
    });
    let start = Instant::now();
    let mut finished = false;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "the simulator failed: {status}");
            finished = true;
            break;
        }
        if kill_after.is_some_and(|d| start.elapsed() >= d) {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    (reader.join().unwrap(), finished)
}

#[test]
fn killed_and_restarted_the_log_loses_nothing_acknowledged() {
    let kills: usize = std::env::var("TITRA_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let dir = TempDir::new("crash");
    let scenario_path = dir.file("scenario.toml", &scenario_text());
    let scenario = Scenario::from_toml_str(&scenario_text(), "crash").unwrap();
    let db = dir.trial_log();

    // How long an uninterrupted run takes here, to spread the kills over it.
    let probe_db = dir.join("probe.db");
    let t = Instant::now();
    let (_, finished) = run_once(&scenario_path, &probe_db, None);
    assert!(finished);
    let full = t.elapsed();

    let mut acked: Vec<usize> = Vec::new();
    let mut restarts = 0;
    let mut finished = false;
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    while restarts < kills && !finished {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // Kill after a random share of a whole run's time, sized so that the kills asked for
        // spread over the trial (each restart resumes where the log ends).
        let fraction = (seed % 1000) as f64 / 1000.0;
        let kill_after = full.mul_f64((0.2 + 1.6 * fraction) * 0.9 / kills as f64);
        let (applied, done) = run_once(&scenario_path, &db, Some(kill_after));
        acked.extend(applied);
        finished = done;
        if !done {
            restarts += 1;
            check_log(&db, &scenario, &acked);
        }
    }
    if !finished {
        // The last run goes to the end.
        let (applied, done) = run_once(&scenario_path, &db, None);
        acked.extend(applied);
        assert!(done);
    }
    let records = check_log(&db, &scenario, &acked);
    let recoveries = records
        .iter()
        .filter(|r| matches!(r, Record::PowerRestored { .. }))
        .count();
    assert!(
        recoveries <= restarts,
        "{recoveries} recoveries for {restarts} restarts"
    );
    assert!(records.iter().any(|r| matches!(
        r,
        Record::StateChanged {
            to: titra::core::supervisor::State::Ended,
            ..
        }
    )));

    // The plunger (persisted by the simulator, as a real one stays put) against the log.
    let physical: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(titra::cli::simulate::sim_state_path(&db)).unwrap(),
    )
    .unwrap();
    let position = physical["position"].as_i64().unwrap();
    let mut counted: i64 = 0;
    for r in &records {
        match r {
            Record::Delivery { steps, .. } | Record::UncertainDelivery { steps, .. } => {
                counted += *steps as i64
            }
            Record::BackedOff { steps, .. } => counted -= *steps as i64,
            _ => {}
        }
    }
    assert!(
        (counted - position).abs() <= 1,
        "log counts {counted} steps, the plunger moved {position}"
    );
    eprintln!(
        "{restarts} kills, {recoveries} recoveries, {} events acknowledged, {counted} steps",
        acked.len()
    );
}

/// The log verifies, and every acknowledged event is in it exactly once.
fn check_log(db: &Path, scenario: &Scenario, acked: &[usize]) -> Vec<Record> {
    let mut log = TrialLog::open(db).unwrap();
    let v = log.verify().unwrap();
    assert!(v.is_intact(), "{:?}", v.problems);
    let stored = log.latest_trial().unwrap();
    let records = log.records(stored.id).unwrap();
    for &i in acked {
        let event = &scenario.events[i];
        let at = event.at().ms();
        let found = records
            .iter()
            .filter(|r| {
                r.at().ms() == at
                    && match event {
                        Event::PcaRequest { .. } => matches!(r, Record::PcaRequest { .. }),
                        Event::PainScore { value, .. } => {
                            matches!(r, Record::PainScore { value: v, .. } if v == value)
                        }
                        _ => true,
                    }
            })
            .count();
        assert_eq!(found, 1, "event {i} ({event:?}) found {found} times");
    }
    records
}
