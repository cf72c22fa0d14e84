//! The engine on simulated hardware for the benchmarks: built from a program, run as the daemon
//! runs it (waking when it asks to), with samples on the way.

use titra::core::library::Route;
use titra::core::program::{Program, Trial, TrialKind};
use titra::core::units::{Duration, Timestamp, Volume};
use titra::engine::Engine;
use titra::input::check;
use titra::input::hardware::HardwareConfig;
use titra::journal::Role;
use titra::sim::SimPump;

/// A continuous trial of `days` by `route`.
pub fn trial(days: u64, route: Route) -> Trial {
    Trial {
        patient: "BENCH".to_owned(),
        route,
        kind: TrialKind::Continuous,
        duration: Duration::from_days(days),
        catheter_tip: None,
        catheter: None,
        catheter_placed_before: None,
        baseline_pain: None,
        outpatient: false,
        opioid_status: None,
        ome_before: None,
    }
}

/// An engine running `program` (its `[program]` table) on `route` from the start of virtual
/// time, primed and started, on the profile `cfg`'s simulated line.
pub fn running(cfg: &HardwareConfig, program: &str, route: Route) -> Engine<SimPump> {
    let (library, _) = check::load_library(None).expect("built-in library");
    let program: Program = toml::from_str(program).expect("program");
    let sim = SimPump::new(&cfg.mechanism, &cfg.simulation, program.reservoir);
    let t0 = Timestamp::ORIGIN;
    let mut e = Engine::new(
        sim,
        cfg,
        trial(14, route),
        program,
        &library,
        t0,
        Some(Role::Nurse),
    )
    .expect("engine");
    e.verify(t0).expect("verify");
    e.prime(t0, Volume::ZERO).expect("prime");
    e.start(t0).expect("start");
    e
}

/// Runs to `until`, calling `sample` at every multiple of `every` on the way.
pub fn run_to(
    e: &mut Engine<SimPump>,
    until: Timestamp,
    every: Option<Duration>,
    sample: &mut dyn FnMut(Timestamp, &Engine<SimPump>),
) {
    let mut now = e.hardware().now();
    let mut next_sample = every.map(|d| Timestamp::from_ms((now.ms() / d.ms() + 1) * d.ms()));
    loop {
        let mut next = e.next_wake().unwrap_or(until).min(until);
        if let Some(s) = next_sample {
            next = next.min(s);
        }
        now = next.max(now);
        e.hardware_mut().advance_to(now);
        e.tick(now).expect("tick");
        if let (Some(s), Some(d)) = (next_sample, every)
            && now >= s
        {
            sample(now, e);
            next_sample = Some(s + d);
        }
        if now >= until {
            return;
        }
    }
}
