//! `cargo bench --bench dosing`: the cost of the dosing core's decisions, printed as a table.
//!
//! Targets (issue: foundation): one patient-bolus decision under 1 µs; replaying 14 days of
//! accounting (basal recorded every minute, a press every hour) under 50 ms. Timings are
//! wall-clock medians over several runs on whatever machine runs this; they are figures to
//! read, not assertions (tests never time anything).

use std::hint::black_box;
use std::time::{Duration as StdDuration, Instant};

use titra::core::dose::{
    Cap, CapOrigin, Counts, DoseLedger, DoseLimits, PcaDecision, PcaRules, RECORD_INTERVAL, Source,
};
use titra::core::units::{Amount, AmountRate, Duration, Timestamp};

fn limits() -> DoseLimits {
    DoseLimits {
        pca: Some(PcaRules {
            dose: Amount::from_mcg(50),
            lockout: Duration::from_hours(1),
            max_per_hour: 1,
        }),
        caps: vec![
            Cap {
                window: Duration::from_hours(4),
                max: Amount::from_ng(400_000),
                counts: Counts::AllButClinician,
                origin: CapOrigin::Program,
            },
            Cap {
                window: Duration::from_hours(24),
                max: Amount::from_mg(25),
                counts: Counts::All,
                origin: CapOrigin::Library,
            },
        ],
    }
}

const BASAL: AmountRate = AmountRate::from_ng_per_day(1_000_000);
const DAYS: u64 = 14;

/// What one 14-day replay measured.
struct Replay {
    grants: u32,
    denials: u32,
    granted: Vec<StdDuration>,
    denied: Vec<StdDuration>,
}

/// 14 days: basal recorded every minute, a press at the top of every hour (granted) and one
/// half an hour later (denied by the lockout). Each decision is timed on its own, on the warm
/// ledger it really meets.
fn replay() -> Replay {
    let mut ledger = DoseLedger::new(limits());
    let mut r = Replay {
        grants: 0,
        denials: 0,
        granted: Vec::new(),
        denied: Vec::new(),
    };
    let piece = BASAL.over(RECORD_INTERVAL);
    let minutes = DAYS * 24 * 60;
    for minute in 1..=minutes {
        let now = Timestamp::from_ms(minute * RECORD_INTERVAL.ms());
        if ledger.authorize(now, piece, Source::Basal, BASAL).is_ok() {
            let _ = ledger.record(now, piece, Source::Basal);
        }
        if minute % 30 == 0 {
            let start = Instant::now();
            let decision = black_box(ledger.request_pca(black_box(now), BASAL));
            let took = start.elapsed();
            match decision {
                PcaDecision::Granted { dose } => {
                    let _ = ledger.record(now, dose, Source::PatientBolus);
                    r.grants += 1;
                    r.granted.push(took);
                }
                PcaDecision::Denied { .. } => {
                    r.denials += 1;
                    r.denied.push(took);
                }
            }
        }
    }
    r
}

fn median(mut samples: Vec<StdDuration>) -> StdDuration {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

/// A program at the bolus limit (500 scheduled boluses, an hour apart, in a 21-day bolus trial)
/// and the service's check of it: parse and every check, as ValidateProgram runs it outside the
/// service lock.
fn program_at_the_limit() -> String {
    let n = titra::limits::MAX_BOLUSES;
    let boluses: Vec<String> = (0..n)
        .map(|i| format!("{{at=\"{}h\",dose=\"0.1 mg\"}}", i + 1))
        .collect();
    format!(
        "[trial]\npatient = \"MRN-BENCH\"\nroute = \"intrathecal\"\nkind = \"multiple_bolus\"\nduration = \"{}h\"\n\n[program]\ndrug = \"morphine\"\nconcentration = \"1 mg/mL\"\nreservoir = \"20 mL\"\nboluses = [{}]\n",
        n + 2,
        boluses.join(",")
    )
}

fn program_check(runs: usize) -> (StdDuration, usize) {
    let service = titra::service::pump::PumpService::simulated_demo(Timestamp::ORIGIN)
        .expect("the demo service");
    let check = service.program_check();
    let text = program_at_the_limit();
    let mut times = Vec::new();
    let mut findings = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let checked = black_box(check.check(black_box(&text)));
        times.push(start.elapsed());
        findings = checked
            .map(|c| c.report().verdict.findings.len())
            .unwrap_or(0);
    }
    (median(times), findings)
}

fn main() {
    // `cargo test --benches` runs this binary without --bench: keep that quick.
    let runs = if std::env::args().any(|a| a == "--bench") {
        9
    } else {
        1
    };
    let mut totals = Vec::new();
    let mut granted = Vec::new();
    let mut denied = Vec::new();
    let mut counts = (0, 0);
    for _ in 0..runs {
        let start = Instant::now();
        let r = replay();
        totals.push(start.elapsed());
        granted.extend(r.granted);
        denied.extend(r.denied);
        counts = (r.grants, r.denials);
    }
    println!("| measurement (median)                              | time        | target  |");
    println!("|---------------------------------------------------|-------------|---------|");
    println!(
        "| patient-bolus decision, granted                   | {:>8} ns | < 1 µs  |",
        median(granted).as_nanos()
    );
    println!(
        "| patient-bolus decision, denied (with its time)    | {:>8} ns | < 1 µs  |",
        median(denied).as_nanos()
    );
    println!(
        "| replay 14 days: 20160 basal pieces, {:>3} + {:>3} presses | {:>8.2} ms | < 50 ms |",
        counts.0,
        counts.1,
        median(totals).as_secs_f64() * 1e3
    );
    let (took, findings) = program_check(runs);
    println!(
        "| program check, 500 scheduled boluses ({findings} findings) | {:>8.2} ms | < 100 ms |",
        took.as_secs_f64() * 1e3
    );
}
