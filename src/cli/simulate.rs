//! `titra simulate`: a whole trial, from a scenario file, through the engine on simulated
//! hardware in virtual time, as fast as the machine allows.
//!
//! The scenario's program goes through the same checks as a nurse's (a hard finding stops it
//! before anything runs; soft findings count as confirmed by the scenario's nurse). The line is
//! taken as primed by hand before the start. Events are applied at their times: patient presses,
//! scores and side effects as entered at the bedside; faults switched on the simulated hardware.
//!
//! [`run_simulate`] is `titra simulate` itself.

use std::process::ExitCode;

use crate::core::library::DrugLibrary;
use crate::core::supervisor::AlarmKind;
use crate::core::units::{Duration, Timestamp, Volume};
pub use crate::engine::play::{SCENARIO_CLINICIAN, SCENARIO_NURSE, SimulateError};
use crate::engine::play::{apply, routine_checks, routine_spans, switch_fault};
use crate::engine::{Engine, EngineError};
use crate::input::check::{self, LibrarySource};
use crate::input::hardware::HardwareConfig;
use crate::input::scenario::{Event, Scenario};
use crate::journal::{Record, RecordSink, Role};
use crate::report::summary::{self, Summary};
use crate::sim::{SimPump, Truth};
use crate::store::TrialLog;

/// The built-in protocol's pre-trial checklist for the scenario's trial, done as the scenario's
/// `[checklist]` table says: the items in `confirmed` confirmed by its nurse (every item when the
/// table or the list is left out), the others overridden by its clinician with `override`'s
/// reason. Items left open without an override keep the trial from starting (exit 2).
fn apply_checklist<H: crate::hw::PumpHardware>(
    e: &mut Engine<H>,
    scenario: &Scenario,
    at: Timestamp,
) -> Result<(), SimulateError> {
    let protocol = crate::input::protocol::Protocol::built_in()
        .map_err(|err| SimulateError::Internal(err.to_string()))?;
    let items = protocol.checklist_for(&scenario.trial);
    let all: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
    e.require_checklist(at, items)
        .map_err(|err| SimulateError::Internal(err.to_string()))?;
    // Site checks are scheduled when the scenario models them (any `site_check` event): a
    // scenario without the nurse's rounds would otherwise only show that it has none.
    if scenario
        .events
        .iter()
        .any(|ev| matches!(ev, Event::SiteCheck { .. }))
    {
        e.require_site_checks(at, protocol.site_rule())
            .map_err(|err| SimulateError::Internal(err.to_string()))?;
    }
    let done = scenario.checklist.as_ref();
    let confirmed = done.and_then(|c| c.confirmed.clone()).unwrap_or(all);
    for id in &confirmed {
        e.confirm_checklist_item(at, id, Role::Nurse, SCENARIO_NURSE)
            .map_err(|err| SimulateError::Invalid(format!("checklist.confirmed: {err}")))?;
    }
    if let Some(reason) = done.and_then(|c| c.override_reason.as_deref()) {
        let reason = reason.trim();
        let chars = reason.chars().count();
        if chars == 0 || chars > crate::journal::MAX_NOTE {
            return Err(SimulateError::Invalid(format!(
                "checklist.override: {chars} characters; write the reason in 1 to {} characters",
                crate::journal::MAX_NOTE
            )));
        }
        e.override_checklist(at, reason, SCENARIO_CLINICIAN)
            .map_err(|err| SimulateError::Invalid(format!("checklist.override: {err}")))?;
    }
    Ok(())
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
    /// Whether the run resumed a trial found unfinished in the log.
    pub resumed: bool,
}

/// Where the simulated pump keeps its trial log.
#[derive(Debug, Clone, Copy)]
pub enum LogTarget<'a> {
    /// Only in memory (power cuts recover from the records in memory that had been "written").
    Memory,
    /// A SQLite file. An unfinished trial of the same patient in it is resumed after the last
    /// record it holds (events at or before that time count as done).
    File(&'a std::path::Path),
}

/// The pump and what it is doing: running, or without power until `back`.
enum Pump {
    Up(Box<Engine<SimPump>>),
    Down {
        hw: Box<SimPump>,
        records: Vec<Record>,
        back: Timestamp,
    },
}

impl Pump {
    fn hw(&mut self) -> &mut SimPump {
        match self {
            Pump::Up(e) => e.hardware_mut(),
            Pump::Down { hw, .. } => hw,
        }
    }
}

/// Where the simulated pump keeps its physical state (plunger position) beside a log file, so
/// that a killed simulation finds its syringe where it left it.
pub fn sim_state_path(log: &std::path::Path) -> std::path::PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".sim.json");
    std::path::PathBuf::from(name)
}

/// Runs a scenario to its end.
pub fn run(
    scenario: &Scenario,
    library: &DrugLibrary,
    source: LibrarySource,
    hw: &HardwareConfig,
) -> Result<Outcome, SimulateError> {
    run_with_log(
        scenario,
        library,
        source,
        hw,
        LogTarget::Memory,
        &mut |_| {},
    )
}

fn open_log(path: &std::path::Path) -> Result<TrialLog, SimulateError> {
    TrialLog::open(path).map_err(|e| SimulateError::Invalid(e.to_string()))
}

/// The scenario's trial, if the log holds it unfinished and delivery had started: the engine
/// recovered from the log (as after a power cut), and the moment of its last record. The
/// syringe is where it was when the power went (a real pump's stays put).
fn resume(
    scenario: &Scenario,
    library: &DrugLibrary,
    hw: &HardwareConfig,
    path: &std::path::Path,
    sim: &mut SimPump,
) -> Result<Option<(Engine<SimPump>, Timestamp)>, SimulateError> {
    use crate::core::supervisor::State;
    let mut log = open_log(path)?;
    let Ok(stored) = log.latest_trial() else {
        return Ok(None);
    };
    if stored.trial.patient != scenario.trial.patient {
        return Ok(None);
    }
    let records = log
        .records(stored.id)
        .map_err(|e| SimulateError::Internal(e.to_string()))?;
    let entered = |state: State| {
        records
            .iter()
            .any(|r| matches!(r, Record::StateChanged { to, .. } if *to == state))
    };
    // A trial cut off before it started delivering is simply started again.
    if !entered(State::Running) || entered(State::Ended) {
        return Ok(None);
    }
    let last = records
        .iter()
        .map(Record::at)
        .max()
        .unwrap_or(Timestamp::ORIGIN);
    sim.keep_state_in(sim_state_path(path), true);
    sim.advance_to(last);
    let e = Engine::recover(
        sim.clone(),
        hw,
        library,
        stored.trial,
        stored.program,
        records,
        last,
        Some(Box::new(log)),
    )
    .map_err(|e| SimulateError::Internal(e.to_string()))?;
    Ok(Some((e, last)))
}

/// A new trial: programmed by the scenario's nurse, logged when the target is a file,
/// verified, primed by hand, the pre-trial checklist done as the scenario says, and started.
fn begin(
    scenario: &Scenario,
    library: &DrugLibrary,
    hw: &HardwareConfig,
    target: LogTarget<'_>,
    sim: SimPump,
) -> Result<Engine<SimPump>, SimulateError> {
    let internal = |e: EngineError| SimulateError::Internal(e.to_string());
    let start = Timestamp::ORIGIN;
    let mut e = Engine::new(
        sim,
        hw,
        scenario.trial.clone(),
        scenario.program.clone(),
        library,
        start,
        Some(Role::Nurse),
    )
    .map_err(|e| SimulateError::Invalid(e.to_string()))?;
    if let LogTarget::File(path) = target {
        e.hardware_mut().keep_state_in(sim_state_path(path), false);
        let mut log = open_log(path)?;
        log.begin_trial(
            &scenario.trial,
            &scenario.program,
            start.ms(),
            &crate::digest::checksum(library),
            true,
            None,
        )
        .map_err(|e| SimulateError::Internal(e.to_string()))?;
        e.attach_sink(Box::new(log), start).map_err(internal)?;
    }
    e.verify(start).map_err(internal)?;
    e.prime(start, Volume::ZERO).map_err(internal)?;
    apply_checklist(&mut e, scenario, start)?;
    e.start(start).map_err(|err| match err {
        EngineError::Refused(m) => SimulateError::Invalid(format!("checklist: {m}")),
        other => internal(other),
    })?;
    Ok(e)
}

/// The ended trial's summary, by the built-in site protocol.
fn summarise(
    engine: &Engine<SimPump>,
    scenario: &Scenario,
    hw: &HardwareConfig,
    library: &DrugLibrary,
    ended: Timestamp,
) -> Result<Summary, SimulateError> {
    let protocol = crate::input::protocol::Protocol::built_in()
        .map_err(|err| SimulateError::Internal(err.to_string()))?;
    Ok(summary::summarise(&summary::Inputs {
        trial: engine.trial(),
        program: engine.program(),
        journal: engine.journal(),
        started: Timestamp::ORIGIN,
        ended,
        steps_per_ml: hw.mechanism.steps_per_ml,
        loaded_ml: scenario.program.reservoir.as_ml_f64(),
        remaining_ml: engine.reservoir_remaining().as_ml_f64(),
        simulated: engine.is_simulated(),
        started_wall: None,
        protocol: &protocol,
        library,
        unit: engine.entry().unit,
        outcome: engine.entry().outcome,
    }))
}

/// The power goes: the engine dies where it stands; what survives is what reached the disk
/// (or, in memory, its journal).
fn power_cut(
    e: Engine<SimPump>,
    target: LogTarget<'_>,
    back: Timestamp,
) -> Result<Pump, SimulateError> {
    let (sim, mut records) = e.crash();
    if let LogTarget::File(path) = target {
        let mut log = open_log(path)?;
        let stored = log
            .latest_trial()
            .map_err(|e| SimulateError::Internal(e.to_string()))?;
        records = log
            .records(stored.id)
            .map_err(|e| SimulateError::Internal(e.to_string()))?;
    }
    Ok(Pump::Down {
        hw: Box::new(sim),
        records,
        back,
    })
}

/// The power comes back: the engine is rebuilt from the log.
fn power_back(
    sim: SimPump,
    records: Vec<Record>,
    scenario: &Scenario,
    library: &DrugLibrary,
    hw: &HardwareConfig,
    target: LogTarget<'_>,
    now: Timestamp,
) -> Result<Engine<SimPump>, SimulateError> {
    let sink: Option<Box<dyn RecordSink>> = match target {
        LogTarget::File(path) => {
            let mut log = open_log(path)?;
            log.latest_trial()
                .map_err(|e| SimulateError::Internal(e.to_string()))?;
            Some(Box::new(log))
        }
        LogTarget::Memory => None,
    };
    Engine::recover(
        sim,
        hw,
        library,
        scenario.trial.clone(),
        scenario.program.clone(),
        records,
        now,
        sink,
    )
    .map_err(|e| SimulateError::Internal(e.to_string()))
}

/// Runs a scenario to its end, keeping its trial log in `target`.
pub fn run_with_log(
    scenario: &Scenario,
    library: &DrugLibrary,
    source: LibrarySource,
    hw: &HardwareConfig,
    target: LogTarget<'_>,
    on_applied: &mut dyn FnMut(usize),
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
    let mut sim = SimPump::new(&hw.mechanism, &hw.simulation, scenario.program.reservoir);

    // A trial left unfinished in the log is resumed: the pump comes back from a power cut.
    let resumed = match target {
        LogTarget::File(path) => resume(scenario, library, hw, path, &mut sim)?,
        LogTarget::Memory => None,
    };
    let resumed_at = resumed.as_ref().map(|(_, at)| *at);
    let mut engine = match resumed {
        Some((e, _)) => e,
        None => begin(scenario, library, hw, target, sim)?,
    };
    if let Some(at) = resumed_at {
        // Back from the cut: the nurse checks the patient and resumes at once in a simulation
        // that was killed (the scenario has no event for it).
        let _ = engine.resume(at);
    }

    let end = start + scenario.trial.duration;
    let routine = routine_spans(scenario, start);
    // (index in the scenario, event); on resuming, events up to the last record count as done.
    let mut events = scenario
        .events
        .iter()
        .enumerate()
        .filter(|(_, e)| resumed_at.is_none_or(|at| start + e.at() > at))
        .peekable();
    let mut pump = Pump::Up(Box::new(engine));
    let mut occlusions: Vec<OcclusionFigure> = Vec::new();
    let mut now = resumed_at.unwrap_or(start);
    let mut same_time = 0u32;
    let mut ended = None;
    loop {
        let wake = match &pump {
            Pump::Up(e) => e.next_wake(),
            Pump::Down { back, .. } => Some(*back),
        };
        // A routine check falls due: the ward's nurse records it at that moment.
        let check = match &pump {
            Pump::Up(e) => e
                .check_due()
                .filter(|&due| due >= now && routine_checks(&routine, due).is_some()),
            Pump::Down { .. } => None,
        };
        let next = [
            events.peek().map(|(_, e)| start + e.at()),
            wake,
            check,
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
        pump.hw().advance_to(now);
        pump = match pump {
            Pump::Down {
                hw: sim,
                records,
                back,
            } if back <= now => Pump::Up(Box::new(power_back(
                *sim, records, scenario, library, hw, target, now,
            )?)),
            other => other,
        };
        if let Pump::Up(e) = &mut pump {
            e.tick(now).map_err(internal)?;
            note_occlusions(e, &mut occlusions);
        }
        while events.peek().is_some_and(|(_, e)| start + e.at() <= now) {
            let Some((index, event)) = events.next() else {
                break;
            };
            if let Event::PowerLoss { restore_after, .. } = *event {
                pump = match pump {
                    Pump::Up(e) => power_cut(*e, target, now + restore_after)?,
                    down => down,
                };
                on_applied(index);
                continue;
            }
            // An occlusion's figures: the fault is switched whether the pump has power or not.
            note_fault(event, now, &mut occlusions);
            match &mut pump {
                Pump::Up(e) => {
                    if apply(e.as_mut(), event, now)? {
                        ended = Some(now);
                    }
                    // Applied, and (the engine writes before it returns) in the log.
                    on_applied(index);
                }
                Pump::Down { hw: sim, .. } => {
                    if switch_fault(sim.as_mut(), event)? {
                        on_applied(index);
                    } else {
                        tracing::info!(?event, "ignored: the pump has no power");
                    }
                }
            }
        }
        if let Pump::Up(e) = &mut pump
            && ended.is_none()
            && let Some((sedation, resp_rate)) = routine_checks(&routine, now)
            && e.check_due().is_some_and(|due| due <= now)
        {
            e.record_sedation(now, sedation);
            e.record_vitals(now, Some(resp_rate), None, None, None);
        }
        if let Pump::Up(e) = &mut pump {
            e.tick(now).map_err(internal)?;
            note_occlusions(e, &mut occlusions);
        }
        if ended.is_some() || now >= end {
            break;
        }
    }
    let ended = ended.unwrap_or(end);
    let Pump::Up(mut engine) = pump else {
        return Err(SimulateError::Internal(
            "the trial ended while the pump had no power".to_owned(),
        ));
    };
    engine.end(ended).map_err(internal)?;
    let summary = summarise(&engine, scenario, hw, library, ended)?;
    Ok(Outcome {
        summary,
        journal: engine.journal().to_vec(),
        truth: engine.hardware().truth(),
        occlusions,
        library: source,
        resumed: resumed_at.is_some(),
    })
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

/// Notes an occlusion's start and end as the simulator sees them (the fault itself is switched
/// by [`apply`] or [`switch_fault`]).
fn note_fault(event: &Event, now: Timestamp, occlusions: &mut Vec<OcclusionFigure>) {
    match *event {
        Event::Occlusion { .. } => occlusions.push(OcclusionFigure {
            blocked_at: now,
            alarm_at: None,
            pressure_at_alarm_mmhg: None,
            released_after_clear_ul: None,
            cleared_at: None,
        }),
        Event::OcclusionCleared { .. } => {
            if let Some(o) = occlusions.last_mut() {
                o.cleared_at = Some(now);
                o.released_after_clear_ul = Some(0.0);
            }
        }
        _ => {}
    }
}

pub(crate) fn run_simulate(
    file: &std::path::Path,
    json: bool,
    library: Option<&std::path::Path>,
    hardware: Option<&std::path::Path>,
    db: Option<&std::path::Path>,
    acks: bool,
) -> ExitCode {
    let invalid = |message: String| {
        eprintln!("Cannot simulate {}: {message}", file.display());
        ExitCode::from(2)
    };
    let scenario = match crate::input::scenario::Scenario::from_file(file) {
        Ok(s) => s,
        Err(e) => return invalid(e.to_string()),
    };
    let (library, source) = match check::load_library(library) {
        Ok(l) => l,
        Err(e) => return invalid(e.to_string()),
    };
    let hw = match crate::input::hardware::HardwareConfig::load(hardware) {
        Ok(h) => h,
        Err(e) => return invalid(e.to_string()),
    };
    let target = match db {
        Some(path) => crate::cli::simulate::LogTarget::File(path),
        None => crate::cli::simulate::LogTarget::Memory,
    };
    let mut ack = |index: usize| {
        if acks {
            use std::io::Write as _;
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "applied {index}");
            let _ = err.flush();
        }
    };
    match crate::cli::simulate::run_with_log(&scenario, &library, source, &hw, target, &mut ack) {
        Ok(outcome) => {
            if json {
                match serde_json::to_string_pretty(&outcome.summary) {
                    Ok(text) => println!("{text}"),
                    Err(e) => {
                        eprintln!("internal error: cannot write the summary as JSON: {e}");
                        return ExitCode::from(1);
                    }
                }
            } else {
                let unit = library
                    .find(
                        &scenario.program.drug,
                        scenario.trial.route,
                        scenario.program.concentration,
                    )
                    .map(|e| e.unit)
                    .unwrap_or(crate::core::units::MassUnit::Mg);
                print!("{}", crate::report::summary::render(&outcome.summary, unit));
            }
            ExitCode::SUCCESS
        }
        Err(crate::cli::simulate::SimulateError::Invalid(m)) => invalid(m),
        Err(e) => {
            eprintln!("Simulation of {} failed: {e}", file.display());
            ExitCode::from(1)
        }
    }
}
