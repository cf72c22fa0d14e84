//! `cargo bench --bench pump`: the pump engine on simulated hardware, printed as tables.
//!
//! 1. Wall time to simulate a 14-day continuous trial with a patient press every hour.
//! 2. Occlusion: time to alarm, pressure at alarm and the bolus released when the line clears
//!    (with and without the back-off), at 0.5 mL/day, 0.1 mL/h and 1 mL/h.
//! 3. Delivery accuracy as IEC 60601-2-24's trumpet curve: the largest and smallest % error of
//!    the volume reaching the patient over sliding windows of 2, 5, 11, 19 and 31 minutes,
//!    sampled every 30 s over hours 2 to 4 of delivery (after start-up), at the same rates.
//!
//! Figures are from the model (simulated syringe compliance, catheter resistance and sensor
//! noise from config/hardware.toml), not a bench measurement of a built pump.

use std::time::Instant;

use titra::core::library::Route;
use titra::core::supervisor::AlarmKind;
use titra::core::units::{Duration, Timestamp};
use titra::engine::Engine;
use titra::input::check;
use titra::input::hardware::HardwareConfig;
use titra::input::scenario::Scenario;
use titra::sim::SimPump;

#[path = "common/line.rs"]
mod line;
use line::run_to;

fn engine(cfg: &HardwareConfig, basal: &str) -> Engine<SimPump> {
    line::running(
        cfg,
        &format!(
            "drug = \"morphine\"\nconcentration = \"0.5 mg/mL\"\nreservoir = \"20 mL\"\nbasal = \"{basal}\"\n"
        ),
        Route::Intrathecal,
    )
}

fn fourteen_days() -> (f64, u32, u32) {
    let text = r#"
[trial]
patient = "BENCH-14D"
route = "intrathecal"
kind = "continuous"
duration = "14d"
baseline_pain = 7

[program]
drug = "morphine"
concentration = "1 mg/mL"
reservoir = "20 mL"
basal = "1 mg/day"
pca = { dose = "0.05 mg", lockout = "1h", max_per_hour = 1 }
limit = { window = "4h", max = "0.4 mg" }
"#;
    let mut text = text.to_owned();
    for hour in 1..14 * 24 {
        text.push_str(&format!(
            "[[events]]\nat = \"{hour}h\"\nkind = \"pca_request\"\n"
        ));
    }
    let scenario = Scenario::from_toml_str(&text, "bench").expect("scenario");
    let (library, source) = check::load_library(None).expect("library");
    let hw = HardwareConfig::built_in().expect("hardware");
    let start = Instant::now();
    let out = titra::cli::simulate::run(&scenario, &library, source, &hw).expect("runs");
    (
        start.elapsed().as_secs_f64(),
        out.summary.pca.granted,
        out.summary.pca.denied,
    )
}

struct Occlusion {
    time_to_alarm: Duration,
    pressure: f64,
    released_ul: f64,
}

fn occlusion(basal: &str, backoff: bool) -> Occlusion {
    let mut cfg = HardwareConfig::built_in().expect("hardware");
    cfg.occlusion.backoff = backoff;
    let mut e = engine(&cfg, basal);
    let blocked = Timestamp::from_ms(Duration::from_hours(4).ms());
    run_to(&mut e, blocked, None, &mut |_, _| {});
    let mut faults = e.hardware().faults();
    faults.occluded = true;
    e.hardware_mut().set_faults(faults);
    let give_up = blocked + Duration::from_hours(12);
    let mut alarm = None;
    while alarm.is_none() && e.hardware().now() < give_up {
        let step = e.hardware().now() + Duration::from_mins(1);
        run_to(&mut e, step, None, &mut |_, _| {});
        alarm = e
            .alarms()
            .iter()
            .find(|a| a.kind == AlarmKind::Occlusion)
            .cloned();
    }
    let Some(alarm) = alarm else {
        return Occlusion {
            time_to_alarm: give_up.since(blocked),
            pressure: f64::NAN,
            released_ul: f64::NAN,
        };
    };
    faults.occluded = false;
    e.hardware_mut().set_faults(faults);
    let after = e.hardware().now() + Duration::from_hours(1);
    run_to(&mut e, after, None, &mut |_, _| {});
    Occlusion {
        time_to_alarm: alarm.raised_at.since(blocked),
        pressure: alarm.pressure_mmhg.unwrap_or(f64::NAN),
        released_ul: e.hardware().truth().released_since_clear_ul,
    }
}

/// (window minutes, max % error, min % error) over hours 2–4.
fn trumpet(basal: &str, rate_ul_per_min: f64) -> Vec<(u64, f64, f64)> {
    let cfg = HardwareConfig::built_in().expect("hardware");
    let mut e = engine(&cfg, basal);
    let mut samples: Vec<(Timestamp, f64)> = Vec::new();
    let every = Duration::from_secs(30);
    run_to(
        &mut e,
        Timestamp::from_ms(Duration::from_hours(4).ms()),
        Some(every),
        &mut |t, e| {
            if t.ms() >= Duration::from_hours(2).ms() {
                samples.push((t, e.hardware().truth().delivered_ul));
            }
        },
    );
    // The same computation as `titra calibrate`: grams of water from the µL that arrived.
    let grams: Vec<(u64, f64)> = samples
        .iter()
        .map(|(t, ul)| (t.ms(), ul / 1000.0))
        .collect();
    titra::hw::calibrate::trumpet(&grams, rate_ul_per_min * 60.0 / 1000.0, 1.0)
        .into_iter()
        .map(|p| (p.window_min, p.max_pct, p.min_pct))
        .collect()
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    if !full {
        println!(
            "(quick run to check the benchmark works; run `cargo bench --bench pump` for figures)"
        );
    }
    // (label, basal at 0.5 mg/mL, µL per minute)
    let rates = [
        ("0.5 mL/day", "0.25 mg/day", 500.0 / 1440.0),
        ("0.1 mL/h", "1.2 mg/day", 100.0 / 60.0),
        ("1 mL/h", "12 mg/day", 1000.0 / 60.0),
    ];
    let rates = if full { &rates[..] } else { &rates[2..] };

    if full {
        let (secs, granted, denied) = fourteen_days();
        println!(
            "| 14-day continuous trial, a press every hour | wall time | presses granted / denied | target |"
        );
        println!("|---|---|---|---|");
        println!(
            "| morphine 1 mg/day, 0.05 mg PCA, 1 h lockout, 0.4 mg/4 h | {secs:.2} s | {granted} / {denied} | < 10 s |"
        );
        println!();
    }

    println!(
        "| occlusion at | time to alarm | pressure at alarm | released after clearing, back-off | without back-off |"
    );
    println!("|---|---|---|---|---|");
    for (label, basal, _) in rates {
        let with = occlusion(basal, true);
        let without = occlusion(basal, false);
        println!(
            "| {label} | {} | {:.1} mmHg | {:.1} µL | {:.1} µL |",
            with.time_to_alarm, with.pressure, with.released_ul, without.released_ul
        );
    }
    println!();

    println!("| trumpet (hours 2–4) | 2 min | 5 min | 11 min | 19 min | 31 min |");
    println!("|---|---|---|---|---|---|");
    for (label, basal, per_min) in rates {
        let cells: Vec<String> = trumpet(basal, *per_min)
            .iter()
            .map(|(_, max, min)| format!("{max:+.2} / {min:+.2} %"))
            .collect();
        println!("| {label} | {} |", cells.join(" | "));
    }
}
