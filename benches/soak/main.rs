//! `cargo bench --bench soak`: the hostile-client soak (see `harness.rs`) at full size, and the
//! figures for the README. Without `--bench` (as `cargo test --benches` runs it) a quick run
//! that checks the same things.

mod harness;

use harness::{Soak, run};
use titra::core::units::Duration;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let soak = if full {
        Soak {
            connections: 4,
            calls: 2_500,
            trial: Duration::from_days(14),
            // 14 days in about 30 s: the clients' calls spread over the whole trial.
            pace: std::time::Duration::from_millis(1),
            seed: 19,
        }
    } else {
        Soak {
            connections: 3,
            calls: 150,
            trial: Duration::from_days(1),
            pace: std::time::Duration::ZERO,
            seed: 19,
        }
    };
    let f = run(soak);
    println!(
        "hostile-client soak: {} connections, {} calls, a {} trial in virtual time",
        soak.connections, f.calls, soak.trial
    );
    println!("| measurement | figure |");
    println!("|---|---|");
    println!(
        "| calls answered per second | {:.0} |",
        f.calls_per_second()
    );
    println!("| calls refused | {} of {} |", f.refused, f.calls);
    println!(
        "| call latency p50 / p99 / max | {:.2} ms / {:.2} ms / {:.1} ms |",
        ms(f.percentile(0.5)),
        ms(f.percentile(0.99)),
        ms(f.percentile(1.0))
    );
    println!(
        "| longest gap between two passes of the pump's loop (watchdog 5 s) | {:.1} ms |",
        ms(f.longest_pass_gap)
    );
    println!(
        "| acknowledged and on disk once: pain scores, side effects, boluses granted | {}, {}, {} |",
        f.pains_acknowledged, f.side_effects_acknowledged, f.boluses_granted
    );
    println!(
        "| trial log rows, size | {} rows, {:.1} MB |",
        f.log_rows,
        f.log_bytes as f64 / 1e6
    );
    println!(
        "| the log's growth against the budget its trial's start computed | {:.1} MB of {:.1} MB |",
        f.log_growth as f64 / 1e6,
        f.budget_bytes as f64 / 1e6
    );
    println!(
        "| resident memory of the soak's process (pump, bus clients and tallies) | {:.1} MB |",
        f.rss_kb as f64 / 1024.0
    );
    if !full {
        println!("(quick run to check the soak works; run `cargo bench --bench soak` for figures)");
    }
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
