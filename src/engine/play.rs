//! A scenario's events played on a running engine: by `titra simulate` in virtual time, and by
//! the desktop demonstration (`titra demo --scenario`) live on its screens. Events act as the
//! scenario's people would (the patient's presses, the nurse's scores and checks, the
//! clinician's changes) and switch faults on the simulated hardware.

use crate::core::units::Timestamp;
use crate::engine::{Engine, EngineError};
use crate::hw::PumpHardware;
use crate::input::scenario::{Event, Scenario};
use crate::journal::Role;

/// Who a scenario's clinician events are recorded as.
pub const SCENARIO_CLINICIAN: &str = "clinician (scenario)";

/// Who a scenario's pre-trial checklist is recorded as confirmed by.
pub const SCENARIO_NURSE: &str = "nurse (scenario)";

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

pub use crate::sim::CONTROLLER_PRESS;

/// The simulated hardware's fault a fault event switches, and whether on; None for every
/// other event.
pub fn fault_of(event: &Event) -> Option<(&'static str, bool)> {
    match *event {
        Event::Occlusion { .. } => Some(("occlusion", true)),
        Event::OcclusionCleared { .. } => Some(("occlusion", false)),
        Event::SensorFault { .. } => Some(("sensor_out_of_range", true)),
        Event::MotorStall { .. } => Some(("stall", true)),
        Event::ControllerStuck { released, .. } => Some(("controller_stuck", !released)),
        _ => None,
    }
}

/// Switches a fault event's fault on the hardware; false if the event is not a fault.
pub fn switch_fault<H: PumpHardware + ?Sized>(
    hw: &mut H,
    event: &Event,
) -> Result<bool, SimulateError> {
    let Some((fault, on)) = fault_of(event) else {
        return Ok(false);
    };
    hw.inject_fault(fault, on)
        .map_err(|e| SimulateError::Internal(format!("{fault}: {e}")))?;
    Ok(true)
}

/// Applies one event as the scenario's people and faults would; returns whether it ended the
/// trial (`stop`). A power loss is the runner's to play: here it does nothing.
pub fn apply<H: PumpHardware>(
    engine: &mut Engine<H>,
    event: &Event,
    now: Timestamp,
) -> Result<bool, SimulateError> {
    if switch_fault(engine.hardware_mut(), event)? {
        if matches!(event, Event::ControllerStuck { .. }) {
            // The button's alarm at the event's own time, not at the next pass.
            engine.poll_button(now);
        }
        return Ok(false);
    }
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
        Event::ControllerPress { .. } => {
            engine
                .hardware_mut()
                .inject_fault(CONTROLLER_PRESS, true)
                .map_err(|e| SimulateError::Internal(e.to_string()))?;
            engine.poll_button(now);
        }
        Event::PainScore { value, .. } => engine.record_pain(now, value),
        Event::RateChange { basal, .. } => note(engine.change_rate(now, basal, true)),
        Event::ProgramChange { .. } => {
            if let Some(change) = event.program_change() {
                let by = crate::engine::ChangedBy {
                    role: Role::Clinician,
                    name: SCENARIO_CLINICIAN,
                    verified_by: SCENARIO_NURSE,
                };
                note(engine.change_program(now, &change, true, by).map(|_| ()));
            }
        }
        Event::ClinicianBolus { dose, .. } => note(engine.clinician_bolus(now, dose, true)),
        Event::Pause { .. } => note(engine.pause(now)),
        Event::Resume { .. } => note(engine.resume(now)),
        Event::Stop { .. } => return Ok(true),
        Event::SideEffect {
            effect, severity, ..
        } => engine.record_side_effect(now, effect, severity),
        Event::ReservoirChange { volume, .. } => {
            let was_running = engine.state() == crate::core::supervisor::State::Running;
            if was_running {
                note(engine.pause(now));
            }
            if engine.change_reservoir(now, volume).is_ok() {
                engine.hardware_mut().reservoir_loaded(volume);
            }
            if was_running {
                note(engine.resume(now));
            }
        }
        Event::SedationScore { value, .. } => engine.record_sedation(now, value),
        Event::Vitals {
            respiratory_rate,
            heart_rate,
            spo2,
            temp_c,
            ..
        } => engine.record_vitals(now, respiratory_rate, heart_rate, spo2, temp_c),
        Event::SedationReview { note: ref text, .. } => {
            note(engine.review_sedation(now, text, SCENARIO_CLINICIAN))
        }
        Event::SiteCheck {
            temp_c,
            ref findings,
            ..
        } => engine.record_site_check(now, temp_c, findings, Role::Nurse, SCENARIO_NURSE),
        Event::Spasticity {
            value, ref muscles, ..
        } => engine.record_spasticity(now, value, muscles, Role::Nurse, SCENARIO_NURSE),
        Event::Function { answer, .. } => {
            let diary = crate::input::protocol::Protocol::built_in()
                .map_err(|err| SimulateError::Internal(err.to_string()))?
                .diary;
            let Some(text) = usize::from(answer)
                .checked_sub(1)
                .and_then(|i| diary.function_answers.get(i))
            else {
                return Err(SimulateError::Invalid(format!(
                    "function answer {answer} is outside 1 to {} (the site protocol's answers)",
                    diary.function_answers.len()
                )));
            };
            engine.record_function(now, &diary.function_question, text, answer);
        }
        Event::Pgic { value, .. } => engine.record_pgic(now, value),
        Event::SystemicOpioids { ome_per_day, .. } => engine
            .record_systemic_opioids(now, ome_per_day, Role::Nurse, SCENARIO_NURSE)
            .map_err(|e| SimulateError::Invalid(e.to_string()))?,
        // Handled by the runner (power) or as faults above.
        Event::PowerLoss { .. }
        | Event::RoutineChecks { .. }
        | Event::Occlusion { .. }
        | Event::OcclusionCleared { .. }
        | Event::SensorFault { .. }
        | Event::MotorStall { .. }
        | Event::ControllerStuck { .. } => {}
    }
    Ok(false)
}

/// The scenario's `routine_checks` spans: (from, until, POSS, respiratory rate), in file
/// order, read once before the run (the loop asks at every pass).
pub type RoutineSpans = Vec<(Timestamp, Timestamp, u8, u16)>;

pub fn routine_spans(scenario: &Scenario, start: Timestamp) -> RoutineSpans {
    scenario
        .events
        .iter()
        .filter_map(|e| match *e {
            Event::RoutineChecks {
                at,
                until,
                sedation,
                resp_rate,
            } => Some((start + at, start + until, sedation, resp_rate)),
            _ => None,
        })
        .collect()
}

/// The sedation score and respiratory rate the ward's nurses record at a check falling due at
/// `t`, when a span covers it (the last one written wins).
pub fn routine_checks(spans: &RoutineSpans, t: Timestamp) -> Option<(u8, u16)> {
    spans
        .iter()
        .rev()
        .find(|(from, until, ..)| *from <= t && t <= *until)
        .map(|&(.., sedation, resp_rate)| (sedation, resp_rate))
}

/// A scenario's events played in time order from `start`, with its routine checks recorded as
/// they fall due.
pub struct Player {
    start: Timestamp,
    events: Vec<Event>,
    next: usize,
    routine: RoutineSpans,
}

/// What playing an event did, for the demonstration's log.
#[derive(Debug, Clone, PartialEq)]
pub enum Played {
    /// Applied at this moment.
    Applied(Event),
    /// Not played, and why.
    Skipped(Event, &'static str),
    /// The routine checks' sedation score and respiratory rate, recorded as a check fell due.
    RoutineCheck,
    /// The scenario's `stop`: the trial has ended.
    Ended,
}

impl Player {
    /// The scenario's events from `start` (a trial started then).
    pub fn new(scenario: &Scenario, start: Timestamp) -> Player {
        let mut events = scenario.events.clone();
        // In time order; events at the same time in the file's order.
        events.sort_by_key(Event::at);
        Player {
            start,
            events,
            next: 0,
            routine: routine_spans(scenario, start),
        }
    }

    /// When something is next to be played: the next event, or a routine check the engine
    /// has due (`check_due`) within one of the scenario's spans. None when all is played.
    pub fn next_at(&self, check_due: Option<Timestamp>) -> Option<Timestamp> {
        let event = self.events.get(self.next).map(|e| self.start + e.at());
        let check = check_due.filter(|&due| routine_checks(&self.routine, due).is_some());
        event.into_iter().chain(check).min()
    }

    /// When the scenario's trial started (its events' times count from here).
    pub fn start(&self) -> Timestamp {
        self.start
    }

    /// Whether every event has been played.
    pub fn finished(&self) -> bool {
        self.next >= self.events.len()
    }

    /// Plays what is due at `now` on the engine. Refusals are recorded by the engine, and the
    /// scenario carries on, as a trial would.
    pub fn play_due<H: PumpHardware>(
        &mut self,
        engine: &mut Engine<H>,
        now: Timestamp,
    ) -> Result<Vec<Played>, SimulateError> {
        let mut played = Vec::new();
        while let Some(event) = self
            .events
            .get(self.next)
            .filter(|e| self.start + e.at() <= now)
            .cloned()
        {
            self.next += 1;
            match event {
                Event::PowerLoss { .. } => played.push(Played::Skipped(
                    event,
                    "a power loss is not played live: the pump would have to be switched off",
                )),
                Event::RoutineChecks { .. } => {}
                _ => {
                    if apply(engine, &event, now)? {
                        engine
                            .end(now)
                            .map_err(|e| SimulateError::Internal(e.to_string()))?;
                        played.push(Played::Ended);
                        self.next = self.events.len();
                        return Ok(played);
                    }
                    played.push(Played::Applied(event));
                }
            }
        }
        if let Some((sedation, resp_rate)) = routine_checks(&self.routine, now)
            && engine.check_due().is_some_and(|due| due <= now)
        {
            engine.record_sedation(now, sedation);
            engine.record_vitals(now, Some(resp_rate), None, None, None);
            played.push(Played::RoutineCheck);
        }
        Ok(played)
    }
}
