//! `cargo bench --bench export`: exporting a simulated 14-day trial (a press every 3 hours, a
//! basal change, pain twice a day) in all three formats, from the trial log file: reading the
//! log, the summary, the PDF, the JSON, the CSV and the manifest, written to disk. Target: under
//! 1 s. Without `--bench` (as `cargo test --benches` runs it) a 2-day trial, once.

use std::time::Instant;

use titra::input::check;
use titra::input::hardware::HardwareConfig;
use titra::input::protocol::Protocol;
use titra::input::scenario::Scenario;
use titra::report::export::{Format, LogExport, Paper, export_from_log};

fn scenario(days: u32) -> Scenario {
    let mut text = format!(
        r#"
[trial]
patient = "BENCH-EXPORT"
route = "intrathecal"
kind = "continuous"
duration = "{days}d"
baseline_pain = 8
[program]
drug = "morphine"
concentration = "1 mg/mL"
reservoir = "20 mL"
basal = "0.5 mg/day"
pca = {{ dose = "0.05 mg", lockout = "1h", max_per_hour = 1 }}
[[events]]
at = "2d"
kind = "rate_change"
basal = "1 mg/day"
"#
    );
    for hour in (1..days * 24).step_by(3) {
        text.push_str(&format!(
            "[[events]]\nat = \"{hour}h\"\nkind = \"pca_request\"\n"
        ));
    }
    for half_day in 0..days * 2 {
        text.push_str(&format!(
            "[[events]]\nat = \"{}h\"\nkind = \"pain_score\"\nvalue = {}\n",
            half_day * 12 + 5,
            8 - (half_day * 5 / (days * 2)).min(5)
        ));
    }
    Scenario::from_toml_str(&text, "bench").expect("scenario")
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let days = if full { 14 } else { 2 };
    let dir = std::env::temp_dir().join(format!("titra-export-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let db = dir.join("trial.db");
    let (library, source) = check::load_library(None).expect("library");
    let hw = HardwareConfig::built_in().expect("hardware");
    titra::cli::simulate::run_with_log(
        &scenario(days),
        &library,
        source,
        &hw,
        titra::cli::simulate::LogTarget::File(&db),
        &mut |_| {},
    )
    .expect("runs");
    let protocol = Protocol::built_in().expect("protocol");
    let formats = Format::parse_list("pdf,json,csv").expect("formats");
    let runs = if full { 5 } else { 1 };
    let mut times = Vec::new();
    let mut sizes = Vec::new();
    for i in 0..runs {
        let out = dir.join(format!("out-{i}"));
        let start = Instant::now();
        let written = export_from_log(&LogExport {
            db: &db,
            trial: None,
            out: &out,
            formats: &formats,
            paper: Paper::A4,
            protocol: &protocol,
            library: &library,
            hardware: &hw,
            draft: true,
            by: "bench",
            now_ms: 1_796_481_000_000,
        })
        .expect("export");
        times.push(start.elapsed().as_secs_f64());
        sizes = written
            .iter()
            .map(|p| {
                (
                    p.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
                )
            })
            .collect();
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "| export of a simulated {days}-day trial, all formats, from the log file | median of {runs} | max | target |"
    );
    println!("|---|---|---|---|");
    println!(
        "| read log, summary, PDF + JSON + CSV + manifest, written and synced | {:.0} ms | {:.0} ms | < 1000 ms |",
        median * 1e3,
        times.last().copied().unwrap_or(0.0) * 1e3
    );
    println!();
    println!("| file | size |");
    println!("|---|---|");
    for (name, size) in sizes {
        println!("| {name} | {:.1} kB |", size as f64 / 1e3);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
