//! `cargo bench --bench log`: the trial log on this machine's disk, with `synchronous=FULL`.
//!
//! 1. Rows per second: one row per transaction (as the engine writes an observation) and
//!    60 rows per transaction (a batch), each committed durably.
//! 2. The database size of a simulated 14-day trial with its minute rows.

use std::time::Instant;

use titra::core::library::Route;
use titra::core::program::{Program, Trial, TrialKind};
use titra::core::units::{Duration, Timestamp};
use titra::input::check;
use titra::input::hardware::HardwareConfig;
use titra::input::scenario::Scenario;
use titra::journal::Record;
use titra::store::TrialLog;

fn trial() -> Trial {
    Trial {
        patient: "BENCH".to_owned(),
        route: Route::Intrathecal,
        kind: TrialKind::Continuous,
        duration: Duration::from_days(14),
        catheter_tip: None,
        catheter: None,
        catheter_placed_before: None,
        baseline_pain: None,
        outpatient: false,
        opioid_status: None,
        ome_before: None,
    }
}

fn rows_per_second(dir: &std::path::Path, batch: usize, rows: usize) -> f64 {
    let path = dir.join(format!("rows-{batch}.db"));
    let _ = std::fs::remove_file(&path);
    let mut log = TrialLog::open(&path).expect("log");
    let program: Program = toml::from_str(
        "drug = \"morphine\"\nconcentration = \"1 mg/mL\"\nreservoir = \"20 mL\"\nbasal = \"1 mg/day\"\n",
    )
    .expect("program");
    log.begin_trial(&trial(), &program, 0, "bench", true, None)
        .expect("trial");
    let records: Vec<Record> = (0..rows)
        .map(|i| Record::PainScore {
            at: Timestamp::from_ms(i as u64 * 60_000),
            value: (i % 10) as u8,
        })
        .collect();
    let start = Instant::now();
    for chunk in records.chunks(batch) {
        log.append(chunk).expect("append");
    }
    rows as f64 / start.elapsed().as_secs_f64()
}

fn fourteen_day_size(dir: &std::path::Path) -> (f64, u64, f64) {
    let path = dir.join("14d.db");
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(titra::cli::simulate::sim_state_path(&path));
    let mut text = r#"
[trial]
patient = "BENCH-14D"
route = "intrathecal"
kind = "continuous"
duration = "14d"
[program]
drug = "morphine"
concentration = "1 mg/mL"
reservoir = "20 mL"
basal = "1 mg/day"
pca = { dose = "0.05 mg", lockout = "1h", max_per_hour = 1 }
"#
    .to_owned();
    for hour in (1..14 * 24).step_by(3) {
        text.push_str(&format!(
            "[[events]]\nat = \"{hour}h\"\nkind = \"pca_request\"\n"
        ));
    }
    let scenario = Scenario::from_toml_str(&text, "bench").expect("scenario");
    let (library, source) = check::load_library(None).expect("library");
    let hw = HardwareConfig::built_in().expect("hardware");
    let start = Instant::now();
    titra::cli::simulate::run_with_log(
        &scenario,
        &library,
        source,
        &hw,
        titra::cli::simulate::LogTarget::File(&path),
        &mut |_| {},
    )
    .expect("runs");
    let secs = start.elapsed().as_secs_f64();
    let log = TrialLog::open(&path).expect("log");
    // Fold the WAL into the file so its size is the whole log.
    drop(log);
    let conn = rusqlite::Connection::open(&path).expect("open");
    let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
    drop(conn);
    let rows = TrialLog::open(&path)
        .expect("log")
        .row_count()
        .expect("rows");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    (size, rows, secs)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let dir = std::env::temp_dir().join(format!("titra-log-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let rows = if full { 2_000 } else { 50 };
    println!("| trial log (synchronous=FULL, WAL) | rows per second |");
    println!("|---|---|");
    println!(
        "| one row per transaction | {:.0} |",
        rows_per_second(&dir, 1, rows)
    );
    println!(
        "| 60 rows per transaction | {:.0} |",
        rows_per_second(&dir, 60, rows * 10)
    );
    if full {
        let (size, rows, secs) = fourteen_day_size(&dir);
        println!();
        println!(
            "| simulated 14-day trial, minute rows, logged to disk | rows | size | wall time | target |"
        );
        println!("|---|---|---|---|---|");
        println!(
            "| morphine 1 mg/day, a press every 3 h | {rows} | {size:.1} MB | {secs:.1} s | < 50 MB |"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
