//! `titra simulate`: a whole trial, from a scenario file, through the engine on simulated
//! hardware in virtual time, as fast as the machine allows.
//!
//! The scenario's program goes through the same checks as a nurse's (a hard finding stops it
//! before anything runs; soft findings count as confirmed by the scenario's nurse). The line is
//! taken as primed by hand before the start. Events are applied at their times: patient presses,
//! scores and side effects as entered at the bedside; faults switched on the simulated hardware.

use crate::check::{self, LibrarySource};
use crate::config::HardwareConfig;
use crate::core::library::DrugLibrary;
use crate::core::supervisor::AlarmKind;
use crate::core::units::{Duration, Timestamp, Volume};
use crate::engine::{Engine, EngineError, Record, Role};
use crate::scenario::{Event, Scenario};
use crate::sim::{Faults, SimPump, Truth};
use crate::summary::{self, Summary};

/// Why a simulation did not run to its end.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// The scenario is invalid or its program is rejected (exit 2).
    #[error("{0}")]
    Invalid(String),
    /// Something inside failed (exit 1).
    #[error("internal error: {0}")]
    Internal(String),
}

/// An occlusion as the simulator saw it (it knows when the line really blocked).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OcclusionFigure {
    pub blocked_at: Timestamp,
    /// When the pump raised the alarm, if it did while the line was blocked.
    pub alarm_at: Option<Timestamp>,
    pub pressure_at_alarm_mmhg: Option<f64>,
    /// Volume released to the patient in the hour after the line cleared, µL.
    pub released_after_clear_ul: Option<f64>,
    cleared_at: Option<Timestamp>,
}

impl OcclusionFigure {
    pub fn time_to_alarm(&self) -> Option<Duration> {
        self.alarm_at.map(|a| a.since(self.blocked_at))
    }
}

pub struct Outcome {
    pub summary: Summary,
    pub journal: Vec<Record>,
    pub truth: Truth,
    pub occlusions: Vec<OcclusionFigure>,
    pub library: LibrarySource,
}

/// Runs a scenario to its end.
pub fn run(
    scenario: &Scenario,
    library: &DrugLibrary,
    source: LibrarySource,
    hw: &HardwareConfig,
) -> Result<Outcome, SimulateError> {
    let report = check::check_scenario(scenario, library, source.clone());
    if report.exit_code() != 0 {
        let reasons: Vec<String> = report
            .verdict
            .problems()
            .filter(|f| f.class == crate::core::finding::Class::Hard)
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect();
        return Err(SimulateError::Invalid(format!(
            "the program is rejected before anything runs:\n  {}",
            reasons.join("\n  ")
        )));
    }
    let internal = |e: EngineError| SimulateError::Internal(e.to_string());
    let start = Timestamp::ORIGIN;
    let sim = SimPump::new(&hw.mechanism, &hw.simulation, scenario.program.reservoir);
    let mut engine = Engine::new(
        sim,
        hw,
        scenario.trial.clone(),
        scenario.program.clone(),
        library,
        start,
        Some(Role::Nurse),
    )
    .map_err(|e| SimulateError::Invalid(e.to_string()))?;
    engine.verify(start).map_err(internal)?;
    engine.prime(start, Volume::ZERO).map_err(internal)?;
    engine.start(start).map_err(internal)?;

    let end = start + scenario.trial.duration;
    let mut events = scenario.events.iter().peekable();
    let mut power_back: Option<Timestamp> = None;
    let mut occlusions: Vec<OcclusionFigure> = Vec::new();
    let mut now = start;
    let mut same_time = 0u32;
    let mut ended = None;
    loop {
        let next = [
            events.peek().map(|e| start + e.at()),
            engine.next_wake(),
            power_back,
            Some(end),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(end)
        .max(now);
        if next == now {
            same_time += 1;
            if same_time > 1_000 {
                return Err(SimulateError::Internal(format!(
                    "the engine did not move on from {now}"
                )));
            }
        } else {
            same_time = 0;
        }
        now = next;
        engine.hardware_mut().advance_to(now);
        if power_back == Some(now) {
            power_back = None;
            engine.power_restored(now).map_err(internal)?;
        }
        engine.tick(now).map_err(internal)?;
        note_occlusions(&engine, &mut occlusions);
        while events.peek().is_some_and(|e| start + e.at() <= now) {
            let Some(event) = events.next() else { break };
            if power_back.is_some() && is_bedside_input(event) {
                tracing::info!(?event, "ignored: the pump has no power");
                continue;
            }
            if apply(&mut engine, event, now, &mut power_back, &mut occlusions)? {
                ended = Some(now);
            }
        }
        engine.tick(now).map_err(internal)?;
        note_occlusions(&engine, &mut occlusions);
        if ended.is_some() || now >= end {
            break;
        }
    }
    let ended = ended.unwrap_or(end);
    engine.end(ended).map_err(internal)?;
    let truth = engine.hardware().truth();
    let summary = summary::summarise(&summary::Inputs {
        trial: engine.trial(),
        program: engine.program(),
        journal: engine.journal(),
        started: start,
        ended,
        steps_per_ml: hw.mechanism.steps_per_ml,
        loaded_ml: scenario.program.reservoir.as_ml_f64(),
        remaining_ml: engine.reservoir_remaining().as_ml_f64(),
        simulated: engine.is_simulated(),
    });
    Ok(Outcome {
        summary,
        journal: engine.journal().to_vec(),
        truth,
        occlusions,
        library: source,
    })
}

fn is_bedside_input(event: &Event) -> bool {
    !matches!(
        event,
        Event::Occlusion { .. }
            | Event::OcclusionCleared { .. }
            | Event::SensorFault { .. }
            | Event::MotorStall { .. }
    )
}

/// Fills in alarm times and released volumes of the occlusions seen so far.
fn note_occlusions(engine: &Engine<SimPump>, occlusions: &mut [OcclusionFigure]) {
    let Some(o) = occlusions.last_mut() else {
        return;
    };
    if o.alarm_at.is_none() {
        if let Some(a) = engine
            .alarms()
            .iter()
            .rev()
            .find(|a| a.kind == AlarmKind::Occlusion && a.raised_at >= o.blocked_at)
        {
            o.alarm_at = Some(a.raised_at);
            o.pressure_at_alarm_mmhg = a.pressure_mmhg;
        }
    }
    if let Some(cleared) = o.cleared_at {
        let truth = engine.hardware().truth();
        if engine.hardware().now() <= cleared + Duration::from_hours(1) {
            o.released_after_clear_ul = Some(truth.released_since_clear_ul);
        }
    }
}

/// Applies one event; returns whether it ended the trial.
fn apply(
    engine: &mut Engine<SimPump>,
    event: &Event,
    now: Timestamp,
    power_back: &mut Option<Timestamp>,
    occlusions: &mut Vec<OcclusionFigure>,
) -> Result<bool, SimulateError> {
    let set_faults = |engine: &mut Engine<SimPump>, change: &dyn Fn(&mut Faults)| {
        let mut f = engine.hardware().faults();
        change(&mut f);
        engine.hardware_mut().set_faults(f);
    };
    // Refusals are recorded in the journal by the engine; the scenario carries on, as a trial
    // would.
    let note = |r: Result<(), EngineError>| {
        if let Err(e) = r {
            tracing::info!(error = %e, "refused");
        }
    };
    match *event {
        Event::PcaRequest { .. } => {
            engine.request_pca(now);
        }
        Event::PainScore { value, .. } => engine.record_pain(now, value),
        Event::RateChange { basal, .. } => note(engine.change_rate(now, basal, true)),
        Event::ClinicianBolus { dose, .. } => note(engine.clinician_bolus(now, dose, true)),
        Event::Occlusion { .. } => {
            set_faults(engine, &|f| f.occluded = true);
            occlusions.push(OcclusionFigure {
                blocked_at: now,
                alarm_at: None,
                pressure_at_alarm_mmhg: None,
                released_after_clear_ul: None,
                cleared_at: None,
            });
        }
        Event::OcclusionCleared { .. } => {
            set_faults(engine, &|f| f.occluded = false);
            if let Some(o) = occlusions.last_mut() {
                o.cleared_at = Some(now);
                o.released_after_clear_ul = Some(0.0);
            }
        }
        Event::Pause { .. } => note(engine.pause(now)),
        Event::Resume { .. } => note(engine.resume(now)),
        Event::Stop { .. } => return Ok(true),
        Event::SideEffect {
            effect, severity, ..
        } => engine.record_side_effect(now, effect, severity),
        Event::PowerLoss { restore_after, .. } => {
            engine.power_lost(now);
            *power_back = Some(now + restore_after);
        }
        Event::ReservoirChange { volume, .. } => {
            let was_running = engine.state() == crate::core::supervisor::State::Running;
            if was_running {
                note(engine.pause(now));
            }
            if engine.change_reservoir(now, volume).is_ok() {
                engine.hardware_mut().load_reservoir(volume);
            }
            if was_running {
                note(engine.resume(now));
            }
        }
        Event::SensorFault { .. } => set_faults(engine, &|f| f.sensor_out_of_range = true),
        Event::MotorStall { .. } => set_faults(engine, &|f| f.stalled = true),
        Event::SedationScore { value, .. } => engine.record_sedation(now, value),
        Event::Vitals {
            respiratory_rate,
            heart_rate,
            spo2,
            ..
        } => engine.record_vitals(now, respiratory_rate, heart_rate, spo2),
    }
    Ok(false)
}
