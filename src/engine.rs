//! The pump engine: the dosing core driving the hardware, on an injected clock.
//!
//! The engine owns the hardware ([`PumpHardware`]: the Pi's GPIO drivers or the simulator), the
//! program, the dose ledger, the step schedulers, the occlusion detector and the alarms. It
//! reads no clock: every call carries `now`, and [`Engine::next_wake`] says when it next needs
//! to run. Everything it does or is told is appended to its journal ([`Record`]), which the
//! trial log stores and the trial summary is computed from.
//!
//! One path moves the motor forward: [`Engine::tick`], for what the schedulers say is due, in
//! a state that delivers, after the ledger authorised it. Basal is authorised a minute at a time
//! (the piece the ledger sees), boluses whole before they start.
//!
//! What the nurse records about the patient is acted on here too (`core::observation`, and
//! docs/sedation.md): sedation or slow breathing stops all delivery and patient boluses until a
//! clinician reviews; scheduled checks not recorded in time raise an alarm that escalates.

use crate::core::checklist::{Checklist, ChecklistItem};
use crate::core::diary::Ashworth;
use crate::core::dose::{Denial, DoseLedger, DoseLimits, PcaDecision, RECORD_INTERVAL, Source};
use crate::core::finding::{Class, Finding, Verdict};
use crate::core::library::{DrugLibrary, LibraryEntry};
use crate::core::observation::{BodyTemp, CheckClock, SedationRule};
use crate::core::occlusion::{OcclusionDetector, OcclusionSettings, Trip};
use crate::core::program::{self, Program, Trial};
use crate::core::scheduler::{BolusScheduler, RateScheduler, StepProfile};
use crate::core::site::{SiteClock, SiteFinding, SiteRule};
use crate::core::supervisor::{self, Alarm, AlarmKind, Priority, State, Trigger};
use crate::core::units::{Amount, AmountRate, Duration, Timestamp, Volume, VolumeRate};
use crate::hw::button::ButtonEvent;
use crate::hw::{Direction, HwError, PumpHardware};
use crate::input::hardware::HardwareConfig;
use crate::journal::{
    ImplantPlan, Outcome, Record, RecordSink, Role, Severity, SideEffect, Wish, checklist_of,
};

/// Why the engine could not be built or a command was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    #[error("the program is rejected: {}", .0.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; "))]
    Rejected(Vec<Finding>),
    #[error("{0}")]
    Lookup(String),
    #[error(transparent)]
    Transition(#[from] supervisor::TransitionRefused),
    #[error("the hardware failed: {0}")]
    Hardware(#[from] HwError),
    #[error("{0}")]
    Refused(String),
}

#[derive(Debug, Clone)]
struct ActiveBolus {
    source: Source,
    requested: Amount,
    schedule: BolusScheduler,
}

/// The counts that make up the pump's accounting, kept exact in steps.
#[derive(Debug, Clone, Copy, Default)]
struct StepCounts {
    /// Forward steps since the reservoir was loaded, per source.
    forward: [u64; 5],
    /// Back-off steps since the reservoir was loaded.
    back: u64,
    /// Priming steps since the reservoir was loaded (they left the syringe, but are not dose).
    primed: u64,
    /// Steps and amount already recorded per source, and what the current piece holds.
    recorded_amount: [Amount; 5],
    piece_steps: [u64; 5],
    /// Forward steps before the current reservoir (per source), for totals over the trial.
    before_reservoir: [u64; 5],
}

impl StepCounts {
    /// How far the plunger has moved since the reservoir was loaded.
    fn net_forward(&self) -> u64 {
        (self.forward.iter().sum::<u64>() + self.primed).saturating_sub(self.back)
    }
}

const SOURCES: [Source; 5] = Source::ALL;

/// What the mechanism can do, whatever the library allows: the fastest rate it may run and
/// the most its syringe holds.
pub fn mechanism_verdict(program: &Program, rate: &AmountRate, cfg: &HardwareConfig) -> Verdict {
    let mut v = Verdict::default();
    let volume_rate = program.concentration.volume_rate(*rate);
    let max = cfg.mechanism.max_rate;
    if volume_rate > max {
        v.hard(
            "program.basal",
            volume_rate.per_hour(),
            format!(
                "The basal rate needs {} of solution, above the pump's maximum of {}.",
                volume_rate.per_hour(),
                max.per_hour()
            ),
        );
    }
    if program.reservoir > cfg.mechanism.syringe {
        v.hard(
            "program.reservoir",
            program.reservoir,
            format!(
                "{} is more than the pump's syringe holds ({}).",
                program.reservoir, cfg.mechanism.syringe
            ),
        );
    }
    v
}

pub struct Engine<H> {
    hw: H,
    cfg: HardwareConfig,
    profile: StepProfile,
    trial: Trial,
    program: Program,
    entry: LibraryEntry,
    state: State,
    start: Timestamp,
    ledger: DoseLedger,
    basal: RateScheduler,
    bolus: Option<ActiveBolus>,
    /// Index of the next scheduled bolus and titration step of the program.
    next_scheduled: usize,
    next_titration: usize,
    detector: OcclusionDetector,
    alarms: Vec<Alarm>,
    journal: Vec<Record>,
    steps: StepCounts,
    reservoir: Volume,
    /// The minute piece of basal authorised so far (delivery held when refused).
    piece_end: Option<Timestamp>,
    piece_started: Timestamp,
    basal_held: bool,
    next_read: Timestamp,
    last_readings: Vec<f64>,
    paused_since: Option<Timestamp>,
    observation_until: Option<Timestamp>,
    /// The last time the engine ran: wakes are always after it.
    last_tick: Option<Timestamp>,
    sink: Option<Box<dyn RecordSink>>,
    /// Records from this index on are not yet written to the sink.
    unsynced: usize,
    log_failed: bool,
    /// Deliveries after a crash are counted but not yet confirmed by a nurse.
    uncertain: bool,
    /// Whether delivery has ever run (the trial's start is then fixed).
    started: bool,
    /// When recorded sedation or breathing stops delivery (the drug library's rule).
    sedation: SedationRule,
    /// The program's schedule of sedation and breathing checks, as it runs.
    checks: CheckClock,
    /// Records from this index on have not yet been shown to `checks`.
    tracked: usize,
    /// The patient's button on its cord is stuck or chattering (its alarm's cause).
    button_fault: bool,
    /// The site's rule for catheter site checks and their schedule, once required.
    site: Option<(SiteRule, SiteClock)>,
    /// The last pain score's time (the diary's prompt counts from it; the status asks often).
    last_pain: Option<Timestamp>,
}

impl<H: PumpHardware> Engine<H> {
    /// Takes a trial and program, checks them against the library, and programs the pump
    /// (state Programmed). Hard findings refuse it; soft findings need `confirmed_by`.
    pub fn new(
        hw: H,
        cfg: &HardwareConfig,
        trial: Trial,
        program: Program,
        library: &DrugLibrary,
        now: Timestamp,
        confirmed_by: Option<Role>,
    ) -> Result<Engine<H>, EngineError> {
        let mut verdict = program::validate(&trial, &program, library);
        verdict.extend(mechanism_verdict(&program, &program.max_rate(), cfg));
        if verdict.is_rejected() {
            return Err(EngineError::Rejected(verdict.problems().cloned().collect()));
        }
        let entry = library
            .find(&program.drug, trial.route, program.concentration)
            .map_err(|e| EngineError::Lookup(e.to_string()))?
            .clone();
        let mut journal = Vec::new();
        if verdict.class() == Class::Soft {
            let Some(by) = confirmed_by else {
                return Err(EngineError::Refused(
                    "settings outside the usual range must be confirmed".to_owned(),
                ));
            };
            journal.push(Record::Confirmed {
                at: now,
                findings: verdict.problems().cloned().collect(),
                by,
            });
        }
        let mut engine = Engine::assemble(
            hw,
            cfg,
            trial,
            program,
            entry,
            library.sedation,
            now,
            journal,
        );
        engine.hw.set_motor_enabled(false)?;
        engine.transition(now, Trigger::Program)?;
        // Presses made before this trial existed (the pump idle, or the last trial ended) are
        // no requests of this one; a stuck button is still this trial's alarm.
        engine.take_button(now, false);
        Ok(engine)
    }

    /// An engine at rest (state Idle) for this trial and program.
    #[allow(clippy::too_many_arguments)]
    fn assemble(
        hw: H,
        cfg: &HardwareConfig,
        trial: Trial,
        mut program: Program,
        entry: LibraryEntry,
        sedation: SedationRule,
        now: Timestamp,
        journal: Vec<Record>,
    ) -> Engine<H> {
        let profile = StepProfile {
            steps_per_ml: cfg.mechanism.steps_per_ml,
        };
        let o = &cfg.occlusion;
        let detector = OcclusionDetector::new(OcclusionSettings {
            threshold_mmhg: o.threshold_mmhg,
            window: o.trend_window,
            min_rise_mmhg: o.trend_min_rise_mmhg,
            min_t: o.trend_min_t,
            compliance_ul_per_mmhg: o.line_compliance_ul_per_mmhg,
            resistance_mmhg_per_ml_h: o.line_resistance_mmhg_per_ml_h,
        });
        program.boluses.sort_by_key(|b| b.at);
        program.titration.sort_by_key(|s| s.at);
        let ledger = DoseLedger::new(DoseLimits::for_program(&program, &entry));
        let reservoir = program.reservoir.min(cfg.mechanism.syringe);
        let checks = CheckClock::new(program.observations);
        Engine {
            hw,
            cfg: cfg.clone(),
            profile,
            trial,
            program,
            entry,
            state: State::Idle,
            start: now,
            ledger,
            basal: RateScheduler::new(profile, now),
            bolus: None,
            next_scheduled: 0,
            next_titration: 0,
            detector,
            alarms: Vec::new(),
            journal,
            steps: StepCounts::default(),
            reservoir,
            piece_end: None,
            piece_started: now,
            basal_held: false,
            next_read: now,
            last_readings: Vec::new(),
            paused_since: None,
            observation_until: None,
            last_tick: None,
            sink: None,
            unsynced: 0,
            log_failed: false,
            uncertain: false,
            started: false,
            sedation,
            checks,
            tracked: 0,
            button_fault: false,
            site: None,
            last_pain: None,
        }
    }

    /// Sends every record from now on to `sink` (the trial log), starting with those made so
    /// far.
    pub fn attach_sink(
        &mut self,
        sink: Box<dyn RecordSink>,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        self.sink = Some(sink);
        if self.persist(now) {
            Ok(())
        } else {
            Err(EngineError::Refused(
                "the trial log cannot be written".to_owned(),
            ))
        }
    }

    /// Writes what is not yet written. A failure stops delivery with a HIGH alarm: a pump that
    /// cannot prove what it delivered must not deliver.
    fn persist(&mut self, now: Timestamp) -> bool {
        let Some(sink) = self.sink.as_mut() else {
            self.unsynced = self.journal.len();
            return true;
        };
        if self.unsynced >= self.journal.len() {
            return !self.log_failed;
        }
        match sink.write(&self.journal[self.unsynced..]) {
            Ok(()) => {
                self.unsynced = self.journal.len();
                self.log_failed = false;
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "the trial log cannot be written");
                if !self.log_failed {
                    self.log_failed = true;
                    let _ = self.raise(now, AlarmKind::LogFailure, None, None);
                }
                false
            }
        }
    }

    /// Gives the hardware back after the trial ended (for the next trial).
    pub fn into_hardware(mut self) -> H {
        let _ = self.hw.set_motor_enabled(false);
        self.hw
    }

    /// The power is cut: the engine is gone without closing anything. Returns the hardware
    /// (whose physical state stays) and the records that had reached the log.
    pub fn crash(mut self) -> (H, Vec<Record>) {
        let _ = self.hw.set_motor_enabled(false);
        self.journal.truncate(self.unsynced);
        (self.hw, self.journal)
    }

    /// Rebuilds the engine after a restart from the records that reached the log: program and
    /// its changes, totals, rolling windows, lockout, alarms and the reservoir. Steps that may
    /// have been given after the last record are counted as given (from the plunger position
    /// where it is measured, else from the last intent) and flagged uncertain. The pump comes up
    /// stopped with a HIGH "power restored" alarm; nothing missed is caught up.
    #[allow(clippy::too_many_arguments)]
    pub fn recover(
        hw: H,
        cfg: &HardwareConfig,
        library: &DrugLibrary,
        trial: Trial,
        program: Program,
        records: Vec<Record>,
        now: Timestamp,
        sink: Option<Box<dyn RecordSink>>,
    ) -> Result<Engine<H>, EngineError> {
        let entry = library
            .find(&program.drug, trial.route, program.concentration)
            .map_err(|e| EngineError::Lookup(e.to_string()))?
            .clone();
        let written = records.len();
        let mut e = Engine::assemble(
            hw,
            cfg,
            trial,
            program,
            entry,
            library.sedation,
            now,
            records,
        );
        e.unsynced = written;
        e.sink = sink;
        e.replay(now)?;
        if e.state == State::Ended {
            return Ok(e);
        }
        e.journal.push(Record::PowerRestored { at: now });
        e.raise(now, AlarmKind::PowerRestored, None, None)?;
        e.persist(now);
        Ok(e)
    }

    fn replay(&mut self, now: Timestamp) -> Result<(), EngineError> {
        let mut started = false;
        let mut open_bolus: Option<(Source, Amount, u64)> = None;
        let mut clinician_changed = false;
        let mut titration_applied = 0usize;
        // The last intent, and the steps recorded after it per part (basal, bolus).
        let mut intent: Option<(Timestamp, u64, u64, Option<Source>)> = None;
        let mut after_intent = (0u64, 0u64);
        let mut last_at = self.start;
        let records = self.journal.clone();
        for r in &records {
            last_at = last_at.max(r.at());
            match *r {
                Record::StateChanged { at, to, .. } => {
                    if to == State::Running && !started {
                        started = true;
                        self.started = true;
                        self.start = at;
                    }
                    if to == State::Paused {
                        self.paused_since = Some(at);
                    }
                    self.state = to;
                }
                Record::Delivery {
                    at,
                    source,
                    steps,
                    amount,
                    ..
                }
                | Record::UncertainDelivery {
                    at,
                    source,
                    steps,
                    amount,
                    ..
                } => {
                    if let Err(e) = self.ledger.record(at, amount, source) {
                        tracing::error!(error = %e, "replay");
                    }
                    let i = source.index();
                    self.steps.forward[i] += steps;
                    if source == Source::Basal || source == Source::Kvo {
                        after_intent.0 += steps;
                    } else {
                        after_intent.1 += steps;
                        if let Some(b) = &mut open_bolus {
                            b.2 += steps;
                        }
                    }
                    if matches!(r, Record::UncertainDelivery { .. }) {
                        self.uncertain = true;
                    }
                }
                Record::Primed { steps, .. } => self.steps.primed += steps,
                Record::BolusStarted {
                    at,
                    source,
                    requested,
                    ..
                } => {
                    self.ledger.note_bolus_start(at);
                    if source == Source::ScheduledBolus {
                        self.next_scheduled += 1;
                    }
                    open_bolus = Some((source, requested, 0));
                }
                Record::BolusEnded { at, source, .. } => {
                    open_bolus = None;
                    if source == Source::ScheduledBolus
                        && let Some(observe) = self.program.observe
                    {
                        self.observation_until = Some(at + observe).filter(|&u| u > now);
                    }
                }
                Record::PcaRequest {
                    at, granted: true, ..
                } => self.ledger.note_pca_grant(at),
                Record::RateChanged { new, by, .. } => {
                    self.program.basal = new;
                    match by {
                        Role::Clinician => clinician_changed = true,
                        _ => titration_applied += 1,
                    }
                }
                Record::Refused {
                    ref what,
                    by: Role::Pump,
                    ..
                } if what.starts_with("scheduled bolus") => {
                    self.next_scheduled += 1;
                }
                Record::AlarmRaised {
                    at,
                    kind,
                    priority,
                    pressure_mmhg,
                    time_to_alarm,
                } => {
                    let mut a = Alarm::new(kind, at);
                    a.priority = priority;
                    a.pressure_mmhg = pressure_mmhg;
                    a.time_to_alarm = time_to_alarm;
                    self.alarms.push(a);
                }
                Record::AlarmEscalated { kind, priority, .. } => {
                    for a in self
                        .alarms
                        .iter_mut()
                        .filter(|a| a.kind == kind && a.is_active())
                    {
                        a.priority = priority;
                    }
                }
                Record::AlarmCleared { at, kind } => {
                    for a in self
                        .alarms
                        .iter_mut()
                        .filter(|a| a.kind == kind && a.cleared_at.is_none())
                    {
                        a.cleared_at = Some(at);
                    }
                }
                Record::AlarmAcknowledged { at, kind, .. } => {
                    for a in self
                        .alarms
                        .iter_mut()
                        .filter(|a| a.kind == kind && a.acknowledged_at.is_none())
                    {
                        a.acknowledged_at = Some(at);
                    }
                }
                Record::BackedOff { steps, .. } => self.steps.back += steps,
                Record::ReservoirChanged { volume, .. } => {
                    for i in 0..SOURCES.len() {
                        self.steps.before_reservoir[i] += self.steps.forward[i];
                        self.steps.forward[i] = 0;
                    }
                    self.steps.back = 0;
                    self.steps.primed = 0;
                    self.reservoir = volume;
                }
                Record::Intent {
                    until,
                    basal_steps,
                    bolus_steps,
                    bolus_source,
                    ..
                } => {
                    intent = Some((until, basal_steps, bolus_steps, bolus_source));
                    after_intent = (0, 0);
                }
                Record::UncertainConfirmed { .. } => self.uncertain = false,
                _ => {}
            }
        }
        self.next_titration = if clinician_changed {
            // As `change_rate` does: the clinician's rate replaced the planned steps.
            self.program.titration.clear();
            0
        } else {
            titration_applied
        };
        for (i, &source) in SOURCES.iter().enumerate() {
            self.steps.recorded_amount[i] = self.amount_of_steps(self.total_steps(source));
        }
        // Whatever the last intent planned and no row accounts for may have been given.
        if self.state.delivers()
            && let Some((until, basal_planned, bolus_planned, bolus_source)) = intent
        {
            let at = until.min(now).max(last_at);
            let mut missing = vec![
                (Source::Basal, basal_planned.saturating_sub(after_intent.0)),
                (
                    bolus_source.unwrap_or(Source::PatientBolus),
                    bolus_planned.saturating_sub(after_intent.1),
                ),
            ];
            let measured = self.hw.plunger_position().ok().flatten();
            if let Some(position) = measured {
                // The plunger says exactly how far it went: give the difference to the bolus
                // first, then the basal, within what was planned.
                let expected = i64::try_from(self.steps.net_forward()).unwrap_or(i64::MAX);
                let mut extra = u64::try_from(position - expected).unwrap_or(0);
                for part in missing.iter_mut().rev() {
                    let take = part.1.min(extra);
                    extra -= take;
                    part.1 = take;
                }
            }
            for (source, steps) in missing {
                if steps == 0 {
                    continue;
                }
                let i = source.index();
                self.steps.forward[i] += steps;
                let cumulative = self.amount_of_steps(self.total_steps(source));
                let amount = cumulative.saturating_sub(self.steps.recorded_amount[i]);
                self.steps.recorded_amount[i] = cumulative;
                if let Err(e) = self.ledger.record(at, amount, source) {
                    tracing::error!(error = %e, "replay");
                }
                if let Some(b) = &mut open_bolus
                    && b.0 == source
                {
                    b.2 += steps;
                }
                self.uncertain = true;
                self.journal.push(Record::UncertainDelivery {
                    at,
                    source,
                    steps,
                    amount,
                    measured: measured.is_some(),
                });
            }
        }
        if let Some((source, requested, steps)) = open_bolus {
            self.ledger.release_pending();
            self.journal.push(Record::BolusEnded {
                at: now,
                source,
                requested,
                delivered: self.amount_of_steps(steps),
                complete: false,
            });
        }
        self.basal = RateScheduler::new(self.profile, now);
        self.piece_end = None;
        self.next_read = now;
        // The schedule of checks, and whether a sedation hold stands (an uncleared sedation
        // alarm), come back from the same records.
        self.track_records();
        Ok(())
    }

    // ---- reading the engine ------------------------------------------------------------

    pub fn state(&self) -> State {
        self.state
    }
    pub fn trial(&self) -> &Trial {
        &self.trial
    }
    pub fn program(&self) -> &Program {
        &self.program
    }
    pub fn entry(&self) -> &LibraryEntry {
        &self.entry
    }
    pub fn journal(&self) -> &[Record] {
        &self.journal
    }
    pub fn ledger(&self) -> &DoseLedger {
        &self.ledger
    }
    pub fn alarms(&self) -> &[Alarm] {
        &self.alarms
    }
    pub fn active_alarms(&self) -> impl Iterator<Item = &Alarm> {
        self.alarms.iter().filter(|a| a.is_active())
    }
    pub fn hardware(&self) -> &H {
        &self.hw
    }
    /// For the simulator's fault injection and the tests.
    pub fn hardware_mut(&mut self) -> &mut H {
        &mut self.hw
    }
    pub fn started_at(&self) -> Timestamp {
        self.start
    }
    pub fn is_simulated(&self) -> bool {
        self.hw.is_simulated()
    }

    /// The basal rate now, as a dose rate.
    pub fn basal_rate(&self) -> AmountRate {
        self.program.basal
    }

    /// When the patient's next press would be granted, if patient boluses can be given now.
    pub fn next_bolus_at(&self, now: Timestamp) -> Option<Timestamp> {
        if self.state != State::Running
            || self.bolus.is_some()
            || self.sedation_hold()
            || self.checks_overdue_twice(now)
        {
            return None;
        }
        self.ledger.next_pca_at(now, self.basal_upper(now))
    }

    /// What the program's rolling-window limit counts now: (window, delivered, limit).
    pub fn window_use(&self, now: Timestamp) -> Option<(Duration, Amount, Amount)> {
        let limit = self.program.limit?;
        let counted = self.ledger.in_window(
            now,
            limit.window,
            crate::core::dose::Counts::AllButClinician,
        );
        Some((limit.window, counted, limit.max))
    }

    /// Delivered in the current trial day (24 h from the start).
    pub fn delivered_today(&self, now: Timestamp) -> Amount {
        let day = Duration::from_days(1).ms();
        let day_start = self.start + Duration::from_ms(now.since(self.start).ms() / day * day);
        self.journal
            .iter()
            .rev()
            .take_while(|r| r.at() > day_start)
            .filter_map(|r| match r {
                Record::Delivery { amount, .. } | Record::UncertainDelivery { amount, .. } => {
                    Some(*amount)
                }
                _ => None,
            })
            .sum()
    }

    /// Everything delivered in this trial, every source.
    pub fn delivered_total(&self) -> Amount {
        SOURCES.iter().map(|&s| self.delivered_from(s)).sum()
    }

    /// How long the reservoir lasts at the current program (no patient boluses counted).
    pub fn time_to_empty(&self) -> Option<Duration> {
        let rate = self.volume_rate();
        if rate.is_zero() {
            return None;
        }
        let usable = self
            .reservoir_remaining()
            .saturating_sub(self.cfg.reservoir.empty_volume);
        let ms = u128::from(usable.nl()) * u128::from(Duration::from_days(1).ms())
            / u128::from(rate.nl_per_day());
        Some(Duration::from_ms(u64::try_from(ms).unwrap_or(u64::MAX)))
    }

    /// Pauses the alarm tones for `for_` (at most 10 minutes; the alarms stay shown, and a new
    /// alarm sounds at once).
    pub fn silence(&mut self, now: Timestamp, for_: Duration, by: Role) -> Duration {
        let for_ = for_.min(Duration::from_mins(10));
        let until = now + for_;
        for a in self.alarms.iter_mut().filter(|a| a.is_active()) {
            a.silenced_until = Some(until);
        }
        self.journal
            .push(Record::AlarmSilenced { at: now, until, by });
        self.persist(now);
        for_
    }

    /// Loaded in the current reservoir.
    pub fn reservoir_loaded(&self) -> Volume {
        self.reservoir
    }

    /// Left in the current reservoir, by the pump's count of steps.
    pub fn reservoir_remaining(&self) -> Volume {
        self.reservoir
            .saturating_sub(self.profile.volume_of(self.steps.net_forward()))
    }

    /// Everything that left the reservoirs, per source, as recorded (pieces in progress
    /// included).
    pub fn delivered_from(&self, source: Source) -> Amount {
        self.amount_of_steps(self.total_steps(source))
    }

    fn total_steps(&self, source: Source) -> u64 {
        let i = source.index();
        self.steps.before_reservoir[i] + self.steps.forward[i]
    }

    /// Drug in `steps`, rounded up: a count of what left is never short.
    fn amount_of_steps(&self, steps: u64) -> Amount {
        let ng = (u128::from(steps) * u128::from(self.program.concentration.ng_per_ml()))
            .div_ceil(u128::from(self.profile.steps_per_ml));
        Amount::from_ng(u64::try_from(ng).unwrap_or(u64::MAX))
    }

    /// The highest dose rate the basal can run at over the next day, with a margin of one
    /// motor step per recorded piece (steps are whole, so a piece can carry one more than its
    /// exact share).
    fn basal_upper(&self, now: Timestamp) -> AmountRate {
        let offset = now.since(self.start);
        let rate = self
            .program
            .max_rate_between(offset, offset + Duration::from_days(1));
        let step = self.amount_of_steps(1).ng() + 1;
        let pieces_per_day = Duration::from_days(1).ms() / RECORD_INTERVAL.ms();
        AmountRate::from_ng_per_day(rate.ng_per_day() + step * pieces_per_day)
    }

    // ---- starting --------------------------------------------------------------------

    /// Refuses to begin moving the motor while a HIGH alarm stands.
    fn refuse_if_alarmed(&mut self, now: Timestamp, what: &str) -> Result<(), EngineError> {
        match self.high_alarm() {
            Some(kind) => Err(self.refuse(
                now,
                what.to_owned(),
                format!("{} Clear it first.", kind.message()),
                Role::Nurse,
            )),
            None => Ok(()),
        }
    }

    /// A second person verified the program.
    pub fn verify(&mut self, now: Timestamp) -> Result<(), EngineError> {
        self.transition(now, Trigger::Verify)
    }

    /// Primes the line with `volume` (zero when it was primed by hand). Priming fills the line
    /// before it is connected: it leaves the reservoir but is not dose.
    pub fn prime(&mut self, now: Timestamp, volume: Volume) -> Result<(), EngineError> {
        self.refuse_if_alarmed(now, "prime")?;
        self.transition(now, Trigger::Prime)?;
        let steps = self.profile.steps_for(volume);
        if steps > 0 {
            self.journal.push(Record::Primed { at: now, steps });
            if !self.persist(now) {
                return Err(EngineError::Refused(
                    "the trial log cannot be written".to_owned(),
                ));
            }
            self.hw.set_motor_enabled(true)?;
            let stepped = self.hw.step(Direction::Forward, steps);
            self.hw.set_motor_enabled(false)?;
            stepped?;
            self.steps.primed += steps;
        }
        Ok(())
    }

    /// Before delivery has ever run, an open pre-trial checklist refuses whatever would start
    /// it: `Start`, and a resume after a pause or an alarm during priming.
    fn refuse_open_checklist(&mut self, now: Timestamp, what: &str) -> Result<(), EngineError> {
        if !self.started
            && let Some(why) = self.checklist().and_then(|c| c.start_refusal())
        {
            return Err(self.refuse(now, what.to_owned(), why, Role::Nurse));
        }
        Ok(())
    }

    /// Starts delivery. Refused while the trial's pre-trial checklist has open items that no
    /// clinician overrode.
    pub fn start(&mut self, now: Timestamp) -> Result<(), EngineError> {
        self.refuse_if_alarmed(now, "start")?;
        self.refuse_open_checklist(now, "start")?;
        self.transition(now, Trigger::Start)?;
        self.basal = RateScheduler::new(self.profile, now);
        self.basal.set_rate(
            now,
            self.program.concentration.volume_rate(self.program.basal) + self.program.kvo,
        );
        self.piece_started = now;
        self.piece_end = None;
        self.next_read = now;
        self.hw.set_motor_enabled(true)?;
        Ok(())
    }

    fn transition(&mut self, now: Timestamp, trigger: Trigger) -> Result<(), EngineError> {
        let to = supervisor::next(self.state, trigger)?;
        if to != self.state {
            self.journal.push(Record::StateChanged {
                at: now,
                from: self.state,
                to,
            });
            tracing::info!(from = %self.state, to = %to, "state");
        }
        let was_paused = self.state == State::Paused;
        // A change of state can make work due at once: the next wake may be now again.
        self.last_tick = None;
        if to == State::Running && !self.started {
            // The trial's clock (titration, scheduled boluses, trial days) starts the first
            // time delivery runs, however the pump got there; replay uses the same rule.
            self.started = true;
            self.start = now;
        }
        self.state = to;
        if to == State::Paused && !was_paused {
            self.paused_since = Some(now);
        }
        if to != State::Paused {
            self.paused_since = None;
        }
        Ok(())
    }

    // ---- running ---------------------------------------------------------------------

    /// When the engine next needs to run (a step falls due, the sensor is read, a minute
    /// piece ends, a scheduled event comes).
    pub fn next_wake(&self) -> Option<Timestamp> {
        if self.state == State::Ended {
            return None;
        }
        let mut wake = vec![self.next_read];
        if self.state.delivers() {
            wake.extend(self.basal.next_step_at());
            wake.extend(self.bolus.as_ref().and_then(|b| b.schedule.next_step_at()));
            wake.extend(self.piece_end);
        }
        if let Some(b) = self.program.boluses.get(self.next_scheduled) {
            wake.push(self.start + b.at);
        }
        if let Some(s) = self.program.titration.get(self.next_titration) {
            wake.push(self.start + s.at);
        }
        wake.extend(self.observation_until);
        wake.extend(self.checks.wakes());
        wake.extend(self.site.and_then(|(_, clock)| clock.wake()));
        if let Some(p) = self.paused_since {
            wake.push(p + self.cfg.alarms.paused_reminder);
            wake.push(p + self.cfg.alarms.paused_reminder * 2);
        }
        wake.into_iter()
            .filter(|&t| self.last_tick.is_none_or(|last| t > last))
            .min()
    }

    /// Does everything due by `now`.
    pub fn tick(&mut self, now: Timestamp) -> Result<(), EngineError> {
        if self.state == State::Ended {
            // The trial is over: the button's presses are nobody's requests now.
            let _ = self.hw.button_events();
            return Ok(());
        }
        self.last_tick = Some(self.last_tick.map_or(now, |last| last.max(now)));
        self.program_events(now)?;
        if self.state.delivers() && self.high_alarm().is_none() && !self.log_failed {
            self.deliver(now)?;
        }
        if now >= self.next_read {
            self.read_sensors(now)?;
            let interval = self.cfg.sensors.read_interval;
            while self.next_read <= now {
                self.next_read = self.next_read + interval;
            }
        }
        self.check_reservoir(now)?;
        self.check_pause(now);
        self.check_observation(now);
        self.watch_checks(now);
        self.watch_site(now);
        self.poll_button(now);
        self.annunciate(now)?;
        self.persist(now);
        Ok(())
    }

    /// Titration steps and scheduled boluses whose time has come.
    fn program_events(&mut self, now: Timestamp) -> Result<(), EngineError> {
        while let Some(step) = self.program.titration.get(self.next_titration).copied() {
            if self.start + step.at > now {
                break;
            }
            self.next_titration += 1;
            self.set_basal(now, step.basal, Role::Pump);
        }
        while let Some(b) = self.program.boluses.get(self.next_scheduled).copied() {
            if self.start + b.at > now {
                break;
            }
            if self.state != State::Running || self.bolus.is_some() || self.high_alarm().is_some() {
                // Wait until delivery runs (not while priming) and any bolus has ended.
                break;
            }
            self.next_scheduled += 1;
            if let Err(reason) = self.start_bolus(now, b.dose, Source::ScheduledBolus) {
                self.journal.push(Record::Refused {
                    at: now,
                    what: format!("scheduled bolus of {}", b.dose.in_unit(self.entry.unit)),
                    reason,
                    by: Role::Pump,
                });
                self.raise(now, AlarmKind::DoseLimit, None, None)?;
            }
        }
        Ok(())
    }

    fn set_basal(&mut self, now: Timestamp, basal: AmountRate, by: Role) {
        let old = self.program.basal;
        self.program.basal = basal;
        let rate = self.volume_rate();
        if self.state == State::Running {
            self.close_piece(now);
            self.basal.set_rate(now, rate);
            self.piece_end = None;
        }
        self.journal.push(Record::RateChanged {
            at: now,
            old,
            new: basal,
            by,
        });
    }

    fn volume_rate(&self) -> VolumeRate {
        self.program.concentration.volume_rate(self.program.basal) + self.program.kvo
    }

    /// Moves the motor for what is due, within what the ledger authorised.
    fn deliver(&mut self, now: Timestamp) -> Result<(), EngineError> {
        // A minute piece ends: record it, authorise the next.
        if self.piece_end.is_none_or(|end| now >= end) {
            self.close_piece(now);
            let end = now + RECORD_INTERVAL;
            let planned = self
                .basal
                .ideal_steps(end)
                .saturating_sub(self.basal.issued());
            let amount = self.amount_of_steps(planned);
            let upper = self.basal_upper(now);
            match self.ledger.authorize(now, amount, Source::Basal, upper) {
                Ok(()) => {
                    if self.basal_held {
                        self.basal_held = false;
                        self.clear(now, AlarmKind::DoseLimit);
                    }
                }
                Err(denial) => {
                    if !self.basal_held {
                        tracing::warn!(reason = %denial.explain(), "basal held");
                        self.journal.push(Record::Refused {
                            at: now,
                            what: "basal delivery".to_owned(),
                            reason: denial.explain(),
                            by: Role::Pump,
                        });
                        self.raise(now, AlarmKind::DoseLimit, None, None)?;
                    }
                    self.basal_held = true;
                }
            }
            self.piece_end = Some(end);
            // The intent goes to the log before the motor moves.
            let basal_steps = if self.basal_held { 0 } else { planned };
            let (bolus_steps, bolus_source) = self
                .bolus
                .as_ref()
                .map_or((0, None), |b| (b.schedule.due(end), Some(b.source)));
            if basal_steps + bolus_steps > 0 {
                self.journal.push(Record::Intent {
                    at: now,
                    until: end,
                    basal_steps,
                    bolus_steps,
                    bolus_source,
                });
            }
            if !self.persist(now) {
                return Ok(());
            }
        }
        if self.log_failed {
            return Ok(());
        }
        let mut forward: Vec<(Source, u64)> = Vec::with_capacity(2);
        if self.basal_held {
            self.basal.skip_to(now);
        } else {
            let due = self.basal.due(now);
            if due > 0 {
                forward.push((Source::Basal, due));
            }
        }
        if let Some(b) = &self.bolus {
            let due = b.schedule.due(now);
            if due > 0 {
                forward.push((b.source, due));
            }
        }
        let total: u64 = forward.iter().map(|f| f.1).sum();
        if total == 0 {
            return self.finish_bolus_if_done(now);
        }
        if let Err(e) = self.hw.step(Direction::Forward, total) {
            // The mechanism did not take the steps: stop, as for a stall.
            tracing::error!(error = %e, "motor");
            return self.raise(now, AlarmKind::MotorStall, None, None);
        }
        for (source, steps) in forward {
            let i = source.index();
            self.steps.forward[i] += steps;
            self.steps.piece_steps[i] += steps;
            if source == Source::Basal {
                self.basal.issue(steps);
            } else if let Some(b) = &mut self.bolus {
                b.schedule.issue(steps);
            }
        }
        let ul = self.profile.volume_of(total).nl() as f64 / 1000.0;
        self.detector.pumped(now, ul);
        self.finish_bolus_if_done(now)
    }

    /// Records the current piece (what was delivered since the last record) in the ledger
    /// and the journal, one row per source.
    fn close_piece(&mut self, now: Timestamp) {
        for (i, &source) in SOURCES.iter().enumerate() {
            let steps = self.steps.piece_steps[i];
            if steps == 0 {
                continue;
            }
            // Amounts come from the exact cumulative step count, so rounding never drifts.
            let cumulative = self.amount_of_steps(self.total_steps(source));
            let amount = cumulative.saturating_sub(self.steps.recorded_amount[i]);
            self.steps.recorded_amount[i] = cumulative;
            self.steps.piece_steps[i] = 0;
            if let Err(e) = self.ledger.record(now, amount, source) {
                tracing::error!(error = %e, "ledger refused a record");
            }
            self.journal.push(Record::Delivery {
                at: now,
                source,
                steps,
                amount,
                volume: self.profile.volume_of(steps),
            });
        }
        self.piece_started = now;
    }

    fn finish_bolus_if_done(&mut self, now: Timestamp) -> Result<(), EngineError> {
        if self.bolus.as_ref().is_some_and(|b| b.schedule.is_done()) {
            self.end_bolus(now, true);
        }
        Ok(())
    }

    fn end_bolus(&mut self, now: Timestamp, complete: bool) {
        let Some(b) = self.bolus.take() else { return };
        self.close_piece(now);
        self.ledger.release_pending();
        let delivered = self.amount_of_steps(b.schedule.issued());
        self.journal.push(Record::BolusEnded {
            at: now,
            source: b.source,
            requested: b.requested,
            delivered,
            complete,
        });
        if b.source == Source::ScheduledBolus
            && let Some(observe) = self.program.observe
        {
            self.observation_until = Some(now + observe);
            if !self
                .alarms
                .iter()
                .any(|a| a.kind == AlarmKind::Observation && a.is_active())
            {
                self.alarms.push(Alarm::new(AlarmKind::Observation, now));
                self.journal.push(Record::AlarmRaised {
                    at: now,
                    kind: AlarmKind::Observation,
                    priority: Priority::Info,
                    pressure_mmhg: None,
                    time_to_alarm: None,
                });
            }
        }
    }

    /// Starts a bolus the ledger authorises, or says why not.
    fn start_bolus(&mut self, now: Timestamp, dose: Amount, source: Source) -> Result<(), String> {
        if self.bolus.is_some() {
            return Err(Denial::BolusInProgress.explain());
        }
        self.close_piece(now);
        let upper = self.basal_upper(now);
        if source != Source::PatientBolus {
            self.ledger
                .authorize(now, dose, source, upper)
                .map_err(|d| d.explain())?;
        }
        self.begin_bolus(now, dose, source);
        Ok(())
    }

    /// Starts a bolus already authorised (and reserved) by the ledger.
    fn begin_bolus(&mut self, now: Timestamp, dose: Amount, source: Source) {
        let volume = self.program.concentration.volume_for(dose);
        let schedule =
            BolusScheduler::new(self.profile, now, volume, self.cfg.mechanism.bolus_rate);
        self.journal.push(Record::BolusStarted {
            at: now,
            source,
            requested: dose,
            steps: schedule.total,
        });
        self.bolus = Some(ActiveBolus {
            source,
            requested: dose,
            schedule,
        });
        // A new piece, so that the bolus has its own intent before its first step, at once.
        self.piece_end = None;
        self.last_tick = None;
    }

    /// The sensor's last `stuck_after` readings are all the same.
    fn sensor_stuck(&self) -> bool {
        let n = self.cfg.sensors.stuck_after;
        n > 0
            && self.last_readings.len() == n
            && self
                .last_readings
                .iter()
                .all(|&r| r == self.last_readings[0])
    }

    fn read_sensors(&mut self, now: Timestamp) -> Result<(), EngineError> {
        if !self.hw.reservoir_present().unwrap_or(false) {
            self.raise(now, AlarmKind::ReservoirMissing, None, None)?;
        }
        match self.hw.read_pressure_mmhg() {
            Err(e) => {
                tracing::warn!(error = %e, "sensor");
                self.raise(now, AlarmKind::SensorFault, None, None)?;
            }
            Ok(p) => {
                let stuck_after = self.cfg.sensors.stuck_after;
                self.last_readings.push(p);
                if self.last_readings.len() > stuck_after {
                    self.last_readings.remove(0);
                }
                let stuck = self.sensor_stuck();
                if stuck || !p.is_finite() && p != f64::INFINITY {
                    self.raise(now, AlarmKind::SensorFault, None, None)?;
                } else if self.state.delivers()
                    && let Some(d) = self.detector.detect(now, p)
                {
                    let pressure = match d.trip {
                        Trip::Threshold { pressure_mmhg } | Trip::Trend { pressure_mmhg, .. } => {
                            pressure_mmhg
                        }
                    };
                    self.raise(now, AlarmKind::Occlusion, Some(pressure), d.since_onset)?;
                    self.back_off(now, pressure)?;
                }
            }
        }
        let position = match self.hw.plunger_position() {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "plunger position");
                return self.raise(now, AlarmKind::SensorFault, None, None);
            }
        };
        if let Some(measured) = position {
            let expected = i64::try_from(self.steps.net_forward()).unwrap_or(i64::MAX);
            if expected.abs_diff(measured) > self.cfg.sensors.stall_tolerance_steps {
                self.raise(now, AlarmKind::MotorStall, None, None)?;
            }
        }
        Ok(())
    }

    /// After an occlusion: pull the plunger back by the volume the line's compliance holds at
    /// the pressure the blockage added, so that little is released when the line clears.
    fn back_off(&mut self, now: Timestamp, excess_mmhg: f64) -> Result<(), EngineError> {
        if !self.cfg.occlusion.backoff || !excess_mmhg.is_finite() {
            return Ok(());
        }
        let stored_ul = (excess_mmhg * self.cfg.occlusion.line_compliance_ul_per_mmhg).max(0.0);
        let steps = self
            .profile
            .steps_for(Volume::from_nl((stored_ul * 1000.0) as u64))
            .min(self.steps.net_forward());
        if steps == 0 {
            return Ok(());
        }
        self.hw.set_motor_enabled(true)?;
        self.hw.step(Direction::Back, steps)?;
        self.hw.set_motor_enabled(false)?;
        self.steps.back += steps;
        let volume = self.profile.volume_of(steps);
        self.detector.pumped(now, -(volume.nl() as f64) / 1000.0);
        self.journal.push(Record::BackedOff {
            at: now,
            steps,
            volume,
        });
        Ok(())
    }

    fn check_reservoir(&mut self, now: Timestamp) -> Result<(), EngineError> {
        let remaining = self.reservoir_remaining();
        let r = &self.cfg.reservoir;
        // A switch that cannot be read counts as reached: the safe side.
        if remaining <= r.empty_volume || self.hw.end_of_travel().unwrap_or(true) {
            self.raise(now, AlarmKind::ReservoirEmpty, None, None)?;
            return Ok(());
        }
        let rate = self.volume_rate();
        let low_by_time = !rate.is_zero() && rate.over(r.low_time) >= remaining;
        if remaining < r.low_volume || low_by_time {
            self.raise(now, AlarmKind::ReservoirLow, None, None)?;
        } else {
            self.clear(now, AlarmKind::ReservoirLow);
        }
        Ok(())
    }

    fn check_pause(&mut self, now: Timestamp) {
        let Some(since) = self.paused_since else {
            return;
        };
        let reminder = self.cfg.alarms.paused_reminder;
        if now >= since + reminder && !self.has_active(AlarmKind::PausedTooLong) {
            let _ = self.raise(now, AlarmKind::PausedTooLong, None, None);
        }
        if now >= since + reminder * 2
            && let Some(a) = self
                .alarms
                .iter_mut()
                .find(|a| a.kind == AlarmKind::PausedTooLong && a.is_active())
            && a.priority < Priority::Medium
        {
            a.priority = Priority::Medium;
            self.journal.push(Record::AlarmEscalated {
                at: now,
                kind: AlarmKind::PausedTooLong,
                priority: Priority::Medium,
            });
        }
    }

    fn check_observation(&mut self, now: Timestamp) {
        if self.observation_until.is_some_and(|until| now >= until) {
            self.observation_until = None;
            self.clear(now, AlarmKind::Observation);
        }
    }

    fn annunciate(&mut self, now: Timestamp) -> Result<(), EngineError> {
        let top = self
            .active_alarms()
            .filter(|a| a.silenced_until.is_none_or(|s| now >= s))
            .map(|a| a.priority)
            .max();
        // A failed tone or LED must not stop delivery; the screen still shows the alarm. (A
        // tone-failure alarm of its own comes with the power-on self-test.)
        if let Err(e) = self.hw.annunciate(top, now.ms()) {
            tracing::error!(error = %e, "alarm indicator");
        }
        Ok(())
    }

    fn has_active(&self, kind: AlarmKind) -> bool {
        self.alarms.iter().any(|a| a.kind == kind && a.is_active())
    }

    /// An alarm of `kind` whose cause has not gone away (acknowledged or not).
    fn has_uncleared(&self, kind: AlarmKind) -> bool {
        self.alarms
            .iter()
            .any(|a| a.kind == kind && a.cleared_at.is_none())
    }

    /// An active HIGH alarm whose cause is still present (or not yet acknowledged).
    fn high_alarm(&self) -> Option<AlarmKind> {
        self.alarms
            .iter()
            .find(|a| a.is_active() && a.kind.priority() == Priority::High)
            .map(|a| a.kind)
    }

    /// Raises an alarm (once while it is active); a HIGH alarm stops delivery at once.
    fn raise(
        &mut self,
        now: Timestamp,
        kind: AlarmKind,
        pressure_mmhg: Option<f64>,
        time_to_alarm: Option<Duration>,
    ) -> Result<(), EngineError> {
        // A sedation alarm cleared by a review but not yet acknowledged is still shown; a new
        // breach then needs an alarm (and a hold) of its own.
        let new_hold = kind == AlarmKind::Sedation && !self.sedation_hold();
        if !self.has_active(kind) || new_hold {
            tracing::warn!(?kind, "alarm");
            let mut alarm = Alarm::new(kind, now);
            alarm.pressure_mmhg = pressure_mmhg;
            alarm.time_to_alarm = time_to_alarm;
            self.journal.push(Record::AlarmRaised {
                at: now,
                kind,
                priority: alarm.priority,
                pressure_mmhg,
                time_to_alarm,
            });
            self.alarms.push(alarm);
        }
        // A HIGH cause stops delivery every time it is seen, even if its alarm is already
        // showing (it may have been raised before delivery started). The state changes first,
        // so that a motor that cannot be disabled is at least never stepped again.
        if kind.priority() == Priority::High && self.state != State::Ended {
            if matches!(self.state, State::Priming | State::Running | State::Paused) {
                self.transition(now, Trigger::HighAlarm)?;
            }
            if let Err(e) = self.stop_delivery(now) {
                tracing::error!(error = %e, "could not disable the motor");
            }
        }
        Ok(())
    }

    /// The cause of an alarm went away (it stays shown until acknowledged if it latches).
    fn clear(&mut self, now: Timestamp, kind: AlarmKind) {
        let mut cleared = false;
        for a in self
            .alarms
            .iter_mut()
            .filter(|a| a.kind == kind && a.cleared_at.is_none())
        {
            a.cleared_at = Some(now);
            cleared = true;
        }
        if cleared {
            self.journal.push(Record::AlarmCleared { at: now, kind });
        }
    }

    /// Stops the motor now: an interrupted bolus is recorded with what it gave, the basal stops
    /// without catching up later.
    fn stop_delivery(&mut self, now: Timestamp) -> Result<(), EngineError> {
        self.hw.set_motor_enabled(false)?;
        if self.bolus.is_some() {
            self.end_bolus(now, false);
        }
        self.close_piece(now);
        self.basal.set_rate(now, VolumeRate::ZERO);
        self.piece_end = None;
        Ok(())
    }

    // ---- commands ----------------------------------------------------------------------

    /// The patient presses the bolus button.
    pub fn request_pca(&mut self, now: Timestamp) -> PcaDecision {
        self.request_pca_from(now, false)
    }

    /// What the patient's button on its cord did (`PumpHardware::button_events`): a press asks
    /// for a bolus exactly as the screen's button does (logged as from the cord); a stuck or
    /// chattering button raises a MEDIUM alarm instead, and its presses do not count until it is
    /// released and quiet. Called every pass of the control loop, and at once by the simulator.
    pub fn poll_button(&mut self, now: Timestamp) {
        self.take_button(now, true);
    }

    /// The button's events; presses count as requests only when `presses` says so.
    fn take_button(&mut self, now: Timestamp, presses: bool) {
        for event in self.hw.button_events() {
            match event {
                ButtonEvent::Pressed if !presses => {
                    tracing::info!("bolus button on the cord pressed before the trial: ignored");
                }
                ButtonEvent::Pressed => {
                    let decision = self.request_pca_from(now, true);
                    tracing::info!(?decision, "bolus button on the cord pressed");
                }
                ButtonEvent::Fault(fault) => {
                    tracing::warn!(?fault, "bolus button on the cord stuck or faulty");
                    self.button_fault = true;
                    if let Err(e) = self.raise(now, AlarmKind::StuckButton, None, None) {
                        tracing::error!(error = %e, "stuck button");
                    }
                }
                ButtonEvent::Recovered => {
                    tracing::info!("bolus button on the cord released and quiet again");
                    self.button_fault = false;
                    self.clear(now, AlarmKind::StuckButton);
                }
            }
        }
    }

    fn request_pca_from(&mut self, now: Timestamp, cord: bool) -> PcaDecision {
        self.track_records();
        let decision = if self.sedation_hold() {
            // Before "not delivering": the patient is told why, and that the nurse must come.
            PcaDecision::Denied {
                denial: Denial::SedationHold,
                available_at: None,
            }
        } else if self.state != State::Running || self.log_failed || self.high_alarm().is_some() {
            PcaDecision::Denied {
                denial: Denial::NotDelivering,
                available_at: None,
            }
        } else if self.checks_overdue_twice(now) {
            PcaDecision::Denied {
                denial: Denial::ObservationOverdue,
                available_at: None,
            }
        } else if self.bolus.is_some() {
            PcaDecision::Denied {
                denial: Denial::BolusInProgress,
                available_at: None,
            }
        } else {
            self.close_piece(now);
            let upper = self.basal_upper(now);
            self.ledger.request_pca(now, upper)
        };
        match decision {
            PcaDecision::Granted { dose } => {
                self.journal.push(Record::PcaRequest {
                    at: now,
                    granted: true,
                    denial: None,
                    available_at: None,
                    cord,
                });
                self.begin_bolus(now, dose, Source::PatientBolus);
                if !self.persist(now) {
                    // The log failed: delivery stopped with a HIGH alarm, nothing was given.
                    return PcaDecision::Denied {
                        denial: Denial::NotDelivering,
                        available_at: None,
                    };
                }
            }
            PcaDecision::Denied {
                denial,
                available_at,
            } => self.journal.push(Record::PcaRequest {
                at: now,
                granted: false,
                denial: Some(denial),
                available_at,
                cord,
            }),
        }
        self.persist(now);
        decision
    }

    /// A clinician gives a bolus. Checked against the library (soft findings need `confirmed`)
    /// and the caps.
    pub fn clinician_bolus(
        &mut self,
        now: Timestamp,
        dose: Amount,
        confirmed: bool,
    ) -> Result<(), EngineError> {
        let what = format!("clinician bolus of {}", dose.in_unit(self.entry.unit));
        let mut verdict = program::check_clinician_bolus(&self.entry, "dose", dose);
        // In a bolus trial it is a screening bolus too: the library's screening rule applies.
        let last = self.journal.iter().rev().find_map(|r| match r {
            Record::BolusStarted {
                at,
                source: Source::ScheduledBolus | Source::ClinicianBolus,
                ..
            } => Some(*at),
            _ => None,
        });
        let given = self
            .journal
            .iter()
            .filter(|r| {
                matches!(r, Record::BolusStarted { source, .. }
                    if matches!(source, Source::ScheduledBolus | Source::ClinicianBolus))
            })
            .count();
        let planned_left = self
            .program
            .boluses
            .len()
            .saturating_sub(self.next_scheduled);
        let until_next = self
            .program
            .boluses
            .get(self.next_scheduled)
            .map(|b| (self.started_at() + b.at).since(now));
        verdict.extend(program::check_screening_bolus(
            &self.entry,
            self.trial.kind,
            "dose",
            last.map(|t| now.since(t)),
            until_next,
            given + planned_left + 1,
        ));
        let refusal = if verdict.is_rejected() {
            Some(
                verdict
                    .problems()
                    .map(|f| f.message.clone())
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        } else if verdict.class() == Class::Soft && !confirmed {
            Some("the dose is outside the usual range and was not confirmed".to_owned())
        } else if self.state != State::Running {
            Some(Denial::NotDelivering.explain())
        } else {
            None
        };
        if let Some(reason) = refusal {
            return Err(self.refuse(now, what, reason, Role::Clinician));
        }
        if verdict.class() == Class::Soft {
            self.journal.push(Record::Confirmed {
                at: now,
                findings: verdict.problems().cloned().collect(),
                by: Role::Clinician,
            });
        }
        let started = self
            .start_bolus(now, dose, Source::ClinicianBolus)
            .map_err(|reason| self.refuse(now, what, reason, Role::Clinician));
        self.persist(now);
        started
    }

    /// A clinician changes the basal rate (titration).
    pub fn change_rate(
        &mut self,
        now: Timestamp,
        basal: AmountRate,
        confirmed: bool,
    ) -> Result<(), EngineError> {
        let what = format!("basal rate {}", basal.per_day_in(self.entry.unit));
        let verdict = self.rate_change_verdict(now, basal);
        if verdict.is_rejected() || (verdict.class() == Class::Soft && !confirmed) {
            let reason = verdict
                .problems()
                .map(|f| f.message.clone())
                .collect::<Vec<_>>()
                .join(" ");
            return Err(self.refuse(now, what, reason, Role::Clinician));
        }
        if verdict.class() == Class::Soft {
            self.journal.push(Record::Confirmed {
                at: now,
                findings: verdict.problems().cloned().collect(),
                by: Role::Clinician,
            });
        }
        // A change by hand replaces the planned titration: steps still to come are cancelled,
        // and those passed are history (in the journal); the program's basal is the rate in
        // force from now on.
        self.program.titration.clear();
        self.next_titration = 0;
        self.set_basal(now, basal, Role::Clinician);
        self.persist(now);
        Ok(())
    }

    /// Everything a basal change to `basal` now is checked against: the library (KVO counted),
    /// its titration rule for the drug, and the mechanism.
    pub fn rate_change_verdict(&self, now: Timestamp, basal: AmountRate) -> Verdict {
        let mut verdict = program::check_rate_change(&self.entry, &self.program, "basal", basal);
        verdict.extend(program::check_titration_step(
            &self.entry,
            "basal",
            self.program.basal,
            basal,
            self.since_rate_change(now),
        ));
        verdict.extend(mechanism_verdict(
            &self.program,
            &(basal + self.program.kvo_rate()),
            &self.cfg,
        ));
        verdict
    }

    /// Time since the basal rate last changed (None if it never did since the start, or the
    /// trial has not started).
    pub fn since_rate_change(&self, now: Timestamp) -> Option<Duration> {
        let last = self
            .journal
            .iter()
            .rev()
            .find_map(|r| match r {
                Record::RateChanged { at, .. } => Some(*at),
                _ => None,
            })
            .or_else(|| self.started.then_some(self.start))?;
        Some(now.since(last))
    }

    fn refuse(&mut self, now: Timestamp, what: String, reason: String, by: Role) -> EngineError {
        tracing::warn!(%what, %reason, "refused");
        self.journal.push(Record::Refused {
            at: now,
            what: what.clone(),
            reason: reason.clone(),
            by,
        });
        self.persist(now);
        EngineError::Refused(format!("{what}: {reason}"))
    }

    pub fn pause(&mut self, now: Timestamp) -> Result<(), EngineError> {
        self.transition(now, Trigger::Pause)?;
        self.stop_delivery(now)?;
        self.persist(now);
        Ok(())
    }

    /// The nurse acknowledges every alarm and resumes. Refused while a cause the pump can see
    /// persists (no syringe, empty, sensor or motor fault): those need the nurse to act first.
    pub fn resume(&mut self, now: Timestamp) -> Result<(), EngineError> {
        // Check everything before touching anything: a refused resume acknowledges nothing.
        if supervisor::next(self.state, Trigger::Resume).is_err() {
            let reason = format!("the pump cannot resume while {}", self.state);
            return Err(self.refuse(now, "resume".to_owned(), reason, Role::Nurse));
        }
        let high: Vec<AlarmKind> = self
            .alarms
            .iter()
            .filter(|a| a.is_active() && a.kind.priority() == Priority::High)
            .map(|a| a.kind)
            .collect();
        for kind in high {
            if self.cause_persists(now, kind) {
                let reason = if kind == AlarmKind::Sedation {
                    "sedation or slow breathing was recorded: a clinician must review the patient before delivery resumes (acknowledging the alarm is not enough)".to_owned()
                } else {
                    format!("{} (its cause is still there)", kind.message())
                };
                return Err(self.refuse(now, "resume".to_owned(), reason, Role::Nurse));
            }
        }
        // Paused or stopped by an alarm while priming, delivery has never run: resuming starts
        // it, and the checklist applies as it does to Start.
        self.refuse_open_checklist(now, "resume")?;
        self.acknowledge(now);
        self.transition(now, Trigger::Resume)?;
        let pressure = self.hw.read_pressure_mmhg().unwrap_or(0.0);
        self.detector.restart(now, pressure);
        self.hw.set_motor_enabled(true)?;
        self.basal.set_rate(now, self.volume_rate());
        self.basal.skip_to(now);
        self.piece_end = None;
        self.clear(now, AlarmKind::PausedTooLong);
        if self.uncertain {
            // The nurse checked the patient before resuming: what a crash left uncertain is
            // taken as given.
            self.uncertain = false;
            self.journal.push(Record::UncertainConfirmed {
                at: now,
                by: Role::Nurse,
            });
        }
        self.persist(now);
        Ok(())
    }

    /// The nurse acknowledges the alarms: the ones whose cause the pump can no longer see are
    /// cleared; the rest stay until their cause goes.
    pub fn acknowledge(&mut self, now: Timestamp) {
        let kinds: Vec<AlarmKind> = self
            .alarms
            .iter()
            .filter(|a| a.is_active())
            .map(|a| a.kind)
            .collect();
        for kind in kinds {
            if !self.cause_persists(now, kind) {
                self.clear(now, kind);
            }
            self.acknowledge_kind(now, kind);
        }
        self.persist(now);
    }

    fn cause_persists(&mut self, now: Timestamp, kind: AlarmKind) -> bool {
        match kind {
            AlarmKind::LogFailure => !self.persist(now),
            AlarmKind::ReservoirMissing => !self.hw.reservoir_present().unwrap_or(false),
            AlarmKind::ReservoirEmpty => {
                self.reservoir_remaining() <= self.cfg.reservoir.empty_volume
                    || self.hw.end_of_travel().unwrap_or(true)
            }
            AlarmKind::SensorFault => match self.hw.read_pressure_mmhg() {
                Err(_) => true,
                // A sensor that was stuck and still gives the very same reading is still stuck
                // (a live load cell never repeats itself to the last count for long).
                Ok(p) if self.sensor_stuck() && p == self.last_readings[0] => true,
                Ok(p) if !p.is_finite() && p != f64::INFINITY => true,
                Ok(_) => {
                    self.last_readings.clear();
                    false
                }
            },
            AlarmKind::MotorStall => true,
            AlarmKind::ReservoirLow => self.reservoir_remaining() < self.cfg.reservoir.low_volume,
            AlarmKind::DoseLimit => self.basal_held,
            AlarmKind::Observation => self.observation_until.is_some(),
            AlarmKind::PausedTooLong => self.state == State::Paused,
            // Only a clinician's review lifts the hold (acknowledging it does not).
            AlarmKind::Sedation => self.sedation_hold(),
            AlarmKind::ObservationMissed => {
                self.track_records();
                self.checks.overdue(now).is_some()
            }
            // The nurse checked the line or the patient: that is the action the alarm asked for.
            AlarmKind::Occlusion | AlarmKind::PowerRestored => false,
            AlarmKind::StuckButton => self.button_fault,
            AlarmKind::SiteCheckMissed => {
                self.track_records();
                self.site
                    .is_some_and(|(_, clock)| clock.overdue(now).is_some())
            }
            // Only a clean site check lifts it: the clinician must hear of it, whoever
            // acknowledges the tone.
            AlarmKind::PossibleInfection => self.has_uncleared(AlarmKind::PossibleInfection),
        }
    }

    /// The nurse loads a new reservoir (delivery must be paused or stopped by an alarm).
    pub fn change_reservoir(&mut self, now: Timestamp, volume: Volume) -> Result<(), EngineError> {
        if !matches!(self.state, State::Paused | State::Alarm) {
            return Err(self.refuse(
                now,
                "reservoir change".to_owned(),
                "pause delivery first".to_owned(),
                Role::Nurse,
            ));
        }
        self.close_piece(now);
        for i in 0..SOURCES.len() {
            self.steps.before_reservoir[i] += self.steps.forward[i];
            self.steps.forward[i] = 0;
        }
        self.steps.back = 0;
        self.steps.primed = 0;
        self.reservoir = volume.min(self.cfg.mechanism.syringe);
        self.journal.push(Record::ReservoirChanged {
            at: now,
            volume: self.reservoir,
            by: Role::Nurse,
        });
        self.clear(now, AlarmKind::ReservoirEmpty);
        self.clear(now, AlarmKind::ReservoirLow);
        self.persist(now);
        Ok(())
    }

    /// Ends the trial: the motor stops for good.
    pub fn end(&mut self, now: Timestamp) -> Result<(), EngineError> {
        if self.state == State::Ended {
            return Ok(());
        }
        self.stop_delivery(now)?;
        self.transition(now, Trigger::End)?;
        self.persist(now);
        Ok(())
    }

    /// Records the clinician's assessment of the trial.
    pub fn record_assessment(&mut self, now: Timestamp, outcome: Outcome, note: &str, name: &str) {
        self.record_decision(now, outcome, note, None, None, name);
    }

    /// Records the clinician's decision at the end of the trial: the outcome and its reasons,
    /// the patient's wish to proceed and the implant planned (its starting dose is the one
    /// confirmed on the worksheet). The latest decision is the one that stands.
    pub fn record_decision(
        &mut self,
        now: Timestamp,
        outcome: Outcome,
        reasons: &str,
        wish: Option<Wish>,
        implant: Option<&str>,
        name: &str,
    ) {
        self.observe(Record::Assessment {
            at: now,
            outcome,
            note: reasons.to_owned(),
            name: name.to_owned(),
            wish,
            implant: implant.map(str::to_owned),
        });
    }

    /// Records that the catheter was taken out, by whom, with a note (e.g. "tip intact").
    /// Refused before the trial ended (delivery could still run into it) and a second time.
    pub fn record_catheter_removal(
        &mut self,
        now: Timestamp,
        by: Role,
        name: &str,
        note: &str,
    ) -> Result<(), EngineError> {
        if self.state != State::Ended {
            return Err(EngineError::Refused(
                "end the trial before recording the catheter's removal: delivery is still set up"
                    .to_owned(),
            ));
        }
        if let Some(Record::CatheterRemoved { name: who, .. }) = self
            .journal
            .iter()
            .find(|r| matches!(r, Record::CatheterRemoved { .. }))
        {
            return Err(EngineError::Refused(format!(
                "the catheter's removal is already recorded (by {who})"
            )));
        }
        self.observe(Record::CatheterRemoved {
            at: now,
            by,
            name: name.to_owned(),
            note: note.to_owned(),
        });
        tracing::info!(by = %name, "catheter removed");
        Ok(())
    }

    // ---- the pre-trial checklist -----------------------------------------------------

    /// The trial's pre-trial checklist as it stands, rebuilt from the journal (so the same after
    /// a restart); None when the trial has none.
    pub fn checklist(&self) -> Option<Checklist> {
        checklist_of(&self.journal)
    }

    /// Why the checklist cannot change now: it is missing, or delivery has started.
    fn open_checklist(&self) -> Result<Checklist, EngineError> {
        let list = self.checklist().ok_or_else(|| {
            EngineError::Refused("this trial has no pre-trial checklist".to_owned())
        })?;
        if self.started || self.state == State::Ended {
            return Err(EngineError::Refused(
                "delivery has started: the pre-trial checklist is closed".to_owned(),
            ));
        }
        Ok(list)
    }

    /// Sets the pre-trial checklist that applies to this trial (before delivery starts; once).
    /// No items: nothing is asked for.
    pub fn require_checklist(
        &mut self,
        now: Timestamp,
        items: Vec<ChecklistItem>,
    ) -> Result<(), EngineError> {
        if items.is_empty() {
            return Ok(());
        }
        if self.started || self.checklist().is_some() {
            return Err(EngineError::Refused(
                "the pre-trial checklist is set when the trial is programmed, once".to_owned(),
            ));
        }
        self.observe(Record::ChecklistRequired { at: now, items });
        Ok(())
    }

    /// A nurse (or clinician) confirms item `id`. Returns false when it was confirmed already
    /// (the first confirmation stands).
    pub fn confirm_checklist_item(
        &mut self,
        now: Timestamp,
        id: &str,
        by: Role,
        name: &str,
    ) -> Result<bool, EngineError> {
        let list = self.open_checklist()?;
        if !list
            .can_confirm(id)
            .map_err(|e| EngineError::Lookup(e.to_string()))?
        {
            return Ok(false);
        }
        self.observe(Record::ChecklistConfirmed {
            at: now,
            item: id.to_owned(),
            by,
            name: name.to_owned(),
        });
        tracing::info!(item = %id, by = %name, "checklist item confirmed");
        Ok(true)
    }

    /// A clinician lets delivery start with the items open now, for the written `reason`.
    /// Returns the ids overridden.
    pub fn override_checklist(
        &mut self,
        now: Timestamp,
        reason: &str,
        name: &str,
    ) -> Result<Vec<String>, EngineError> {
        let list = self.open_checklist()?;
        list.can_override()
            .map_err(|e| EngineError::Refused(e.to_string()))?;
        let open: Vec<String> = list.open().iter().map(|i| i.id.clone()).collect();
        tracing::warn!(by = %name, open = ?open, "pre-trial checklist overridden");
        self.observe(Record::ChecklistOverridden {
            at: now,
            open: open.clone(),
            reason: reason.to_owned(),
            name: name.to_owned(),
        });
        Ok(open)
    }

    /// Records the implant's starting dose a clinician confirmed: only once the trial has
    /// ended (the checks against the implant route's limits are made before, in
    /// `core::implant::confirm`).
    pub fn record_implant_plan(
        &mut self,
        now: Timestamp,
        plan: ImplantPlan,
        name: &str,
    ) -> Result<(), EngineError> {
        if self.state != State::Ended {
            return Err(EngineError::Refused(
                "the trial has not ended: the implant's starting dose is confirmed after the trial ends"
                    .to_owned(),
            ));
        }
        self.observe(Record::ImplantPlan {
            at: now,
            per_day: plan.per_day,
            concentration: plan.concentration,
            rule: plan.rule,
            name: name.to_owned(),
            route: Some(plan.route),
            proposed: plan.proposed,
            reason: plan.reason,
            findings: plan.findings,
        });
        Ok(())
    }

    /// Records the patient's systemic opioids (oral morphine equivalents per day), as a nurse
    /// or clinician reported them.
    pub fn record_systemic_opioids(
        &mut self,
        now: Timestamp,
        ome_per_day: AmountRate,
        by: Role,
        name: &str,
    ) -> Result<(), EngineError> {
        self.observe(Record::SystemicOpioids {
            at: now,
            ome_per_day,
            by,
            name: name.to_owned(),
        });
        Ok(())
    }

    /// Records an export of the summary.
    pub fn record_export(
        &mut self,
        now: Timestamp,
        destination: &str,
        files: Vec<(String, String)>,
        name: &str,
    ) {
        self.observe(Record::Exported {
            at: now,
            destination: destination.to_owned(),
            files,
            name: name.to_owned(),
        });
    }

    /// Records a logged-in user's call, with their role and name.
    pub fn record_action(&mut self, now: Timestamp, action: &str, by: Role, name: &str) {
        self.observe(Record::UserAction {
            at: now,
            action: action.to_owned(),
            by,
            name: name.to_owned(),
        });
    }

    /// Keeps an observation (pain, side effect, sedation, vitals): on disk before returning.
    fn observe(&mut self, record: Record) {
        let now = record.at();
        self.journal.push(record);
        self.persist(now);
    }

    pub fn record_pain(&mut self, now: Timestamp, value: u8) {
        self.observe(Record::PainScore { at: now, value });
        self.track_records();
    }

    /// Injects a storage fault into the trial log (see [`RecordSink::inject_fault`]); false
    /// when there is no log or it cannot.
    pub fn inject_log_fault(&mut self, fault: &str, on: bool) -> bool {
        self.sink
            .as_mut()
            .is_some_and(|sink| sink.inject_fault(fault, on))
    }

    /// Keeps the power-on self-test's result (and the configuration's checksums) in the log.
    pub fn record_self_test(&mut self, now: Timestamp, test: crate::journal::SelfTest) {
        self.observe(Record::SelfTest { at: now, test });
    }

    /// The patient's answer to the diary's function question.
    pub fn record_function(&mut self, now: Timestamp, question: &str, answer: &str, level: u8) {
        self.observe(Record::FunctionAnswer {
            at: now,
            question: question.to_owned(),
            answer: answer.to_owned(),
            level,
        });
    }

    /// The patient's global impression of change (1–7; the caller checks the range).
    pub fn record_pgic(&mut self, now: Timestamp, value: u8) {
        self.observe(Record::Pgic { at: now, value });
    }

    /// A spasticity score (Modified Ashworth Scale) and the muscles assessed.
    pub fn record_spasticity(
        &mut self,
        now: Timestamp,
        score: Ashworth,
        muscles: &str,
        by: Role,
        name: &str,
    ) {
        self.observe(Record::Spasticity {
            at: now,
            score,
            muscles: muscles.to_owned(),
            by,
            name: name.to_owned(),
        });
    }

    /// When the patient last recorded a pain score, if ever.
    pub fn last_pain_at(&self) -> Option<Timestamp> {
        self.last_pain
    }

    /// Whether the patient has given the global impression of change.
    pub fn pgic_recorded(&self) -> bool {
        self.journal
            .iter()
            .rev()
            .any(|r| matches!(r, Record::Pgic { .. }))
    }

    /// Whether delivery has ever run.
    pub fn has_started(&self) -> bool {
        self.started
    }

    pub fn record_side_effect(&mut self, now: Timestamp, effect: SideEffect, severity: Severity) {
        self.observe(Record::SideEffect {
            at: now,
            effect,
            severity,
        });
    }

    /// Marks every unacknowledged alarm of `kind` acknowledged by the nurse, logging it once.
    fn acknowledge_kind(&mut self, now: Timestamp, kind: AlarmKind) {
        let mut newly = false;
        for a in self
            .alarms
            .iter_mut()
            .filter(|a| a.kind == kind && a.acknowledged_at.is_none())
        {
            a.acknowledged_at = Some(now);
            newly = true;
        }
        if newly {
            self.journal.push(Record::AlarmAcknowledged {
                at: now,
                kind,
                by: Role::Nurse,
            });
        }
    }

    /// Records a sedation score (POSS 1–4). One at or above the library's hold stops delivery
    /// and patient boluses until a clinician reviews ([`Engine::review_sedation`]).
    pub fn record_sedation(&mut self, now: Timestamp, poss: u8) {
        self.journal.push(Record::Sedation { at: now, poss });
        if let Some(why) = self.sedation.breach(Some(poss), None) {
            self.hold_for_sedation(now, &why);
        }
        self.watch_checks(now);
        self.persist(now);
    }

    /// Records vital signs. A respiratory rate below the library's hold stops delivery and
    /// patient boluses until a clinician reviews ([`Engine::review_sedation`]).
    pub fn record_vitals(
        &mut self,
        now: Timestamp,
        respiratory_rate: Option<u16>,
        heart_rate: Option<u16>,
        spo2: Option<u8>,
        temperature: Option<BodyTemp>,
    ) {
        self.journal.push(Record::Vitals {
            at: now,
            respiratory_rate,
            heart_rate,
            spo2,
            temperature,
        });
        if let Some(why) = self.sedation.breach(None, respiratory_rate) {
            self.hold_for_sedation(now, &why);
        }
        if let Some(why) = self.site_rule().signs(temperature, &[]) {
            self.suspect_infection(now, &why);
        }
        self.watch_checks(now);
        self.persist(now);
    }

    /// Makes catheter site checks part of this trial (the site protocol's rule): recorded, so a
    /// restart keeps the schedule. Called once, when the trial is programmed.
    pub fn require_site_checks(
        &mut self,
        now: Timestamp,
        rule: SiteRule,
    ) -> Result<(), EngineError> {
        rule.check().map_err(EngineError::Refused)?;
        if self.site.is_some() {
            return Err(EngineError::Refused(
                "site checks are already part of this trial".to_owned(),
            ));
        }
        self.journal
            .push(Record::SiteChecksRequired { at: now, rule });
        self.track_records();
        self.persist(now);
        Ok(())
    }

    /// The rule for site checks in force: the protocol's, or the default when this trial has
    /// none (a fever is a fever whether or not checks were scheduled).
    pub fn site_rule(&self) -> SiteRule {
        self.site.map_or(SiteRule::DEFAULT, |(rule, _)| rule)
    }

    /// When the next site check is due, if checks are scheduled.
    pub fn site_check_due(&self) -> Option<Timestamp> {
        self.site.and_then(|(_, clock)| clock.next_due())
    }

    /// A nurse records a catheter site check. Fever or any finding raises the MEDIUM alarm
    /// "possible infection" (delivery goes on); a clean check lifts it. Either way the check is
    /// done: a missed-check alarm clears and the next one is due an interval later.
    pub fn record_site_check(
        &mut self,
        now: Timestamp,
        temperature: BodyTemp,
        findings: &[SiteFinding],
        by: Role,
        name: &str,
    ) {
        let mut findings = findings.to_vec();
        findings.sort();
        findings.dedup();
        self.journal.push(Record::SiteCheck {
            at: now,
            temperature,
            findings: findings.clone(),
            by,
            name: name.to_owned(),
        });
        match self.site_rule().signs(Some(temperature), &findings) {
            Some(why) => self.suspect_infection(now, &why),
            None => {
                if self.has_uncleared(AlarmKind::PossibleInfection) {
                    tracing::info!("clean site check: possible infection cleared");
                    self.clear(now, AlarmKind::PossibleInfection);
                }
            }
        }
        self.watch_site(now);
        self.persist(now);
    }

    fn suspect_infection(&mut self, now: Timestamp, why: &str) {
        if self.state == State::Ended {
            return;
        }
        tracing::warn!(%why, "possible infection: the clinician must be told");
        if let Err(e) = self.raise(now, AlarmKind::PossibleInfection, None, None) {
            tracing::error!(error = %e, "possible infection");
        }
    }

    /// A missed site check: LOW until one is recorded, which clears and acknowledges it (it was
    /// what the alarm asked for).
    fn watch_site(&mut self, now: Timestamp) {
        if self.state == State::Ended {
            return;
        }
        self.track_records();
        let kind = AlarmKind::SiteCheckMissed;
        if self
            .site
            .is_some_and(|(_, clock)| clock.overdue(now).is_some())
        {
            let _ = self.raise(now, kind, None, None);
        } else if self.has_uncleared(kind) {
            self.clear(now, kind);
            self.acknowledge_kind(now, kind);
        }
    }

    /// Whether the sedation interlock holds delivery and patient boluses: a sedation alarm that
    /// no clinician has reviewed yet (its cause stands until then, whatever the nurse
    /// acknowledges). Rebuilt from the log after a restart, as every alarm is.
    pub fn sedation_hold(&self) -> bool {
        self.alarms
            .iter()
            .any(|a| a.kind == AlarmKind::Sedation && a.cleared_at.is_none())
    }

    /// The sedation interlock: a HIGH alarm that stops all delivery — basal, KVO (it carries
    /// drug) and any bolus — whatever the drug, and holds patient boluses.
    fn hold_for_sedation(&mut self, now: Timestamp, why: &str) {
        if self.state == State::Ended {
            return;
        }
        tracing::warn!(%why, "sedation interlock: delivery stopped until a clinician reviews");
        if let Err(e) = self.raise(now, AlarmKind::Sedation, None, None) {
            tracing::error!(error = %e, "sedation interlock");
        }
    }

    /// A clinician reviewed the patient after the sedation interlock: the review and its note go
    /// to the log, the hold is lifted, and a nurse may resume. Refused when nothing is held.
    pub fn review_sedation(
        &mut self,
        now: Timestamp,
        note: &str,
        name: &str,
    ) -> Result<(), EngineError> {
        if !self.sedation_hold() {
            return Err(self.refuse(
                now,
                "sedation review".to_owned(),
                "no sedation or breathing alarm is holding delivery".to_owned(),
                Role::Clinician,
            ));
        }
        self.journal.push(Record::SedationReviewed {
            at: now,
            note: note.to_owned(),
            name: name.to_owned(),
        });
        self.clear(now, AlarmKind::Sedation);
        tracing::info!(by = %name, "sedation hold reviewed");
        self.persist(now);
        Ok(())
    }

    /// Two checks in a row missed by `now`: patient boluses wait for a check.
    fn checks_overdue_twice(&self, now: Timestamp) -> bool {
        self.checks.overdue(now).is_some_and(|o| o.escalated(now))
    }

    /// Shows the check schedule what was recorded since it last looked: the start of delivery,
    /// boluses and dose increases (checks close again), sedation scores and respiratory rates.
    /// The same path runs live and when the journal is replayed after a restart.
    fn track_records(&mut self) {
        while let Some(r) = self.journal.get(self.tracked) {
            match *r {
                Record::StateChanged {
                    at,
                    to: State::Running,
                    ..
                } => {
                    self.checks.delivery_started(at);
                    if let Some((_, clock)) = &mut self.site {
                        clock.delivery_started(at);
                    }
                }
                Record::BolusEnded {
                    at,
                    source: Source::ScheduledBolus | Source::ClinicianBolus,
                    ..
                } => self.checks.close_checks(at),
                Record::RateChanged { at, old, new, .. } if new > old => {
                    self.checks.close_checks(at);
                }
                Record::Sedation { at, .. } => self.checks.sedation(at),
                Record::SiteChecksRequired { rule, .. } => {
                    self.site = Some((rule, SiteClock::new(rule)));
                }
                Record::PainScore { at, .. } => self.last_pain = Some(at),
                Record::SiteCheck { at, .. } => {
                    if let Some((_, clock)) = &mut self.site {
                        clock.checked(at);
                    }
                }
                Record::Vitals {
                    at,
                    respiratory_rate: Some(_),
                    ..
                } => self.checks.resp_rate(at),
                _ => {}
            }
            self.tracked += 1;
        }
    }

    /// Missed checks: MEDIUM when one is missed, HIGH when the next is missed too (patient
    /// boluses then wait for a check). Recording the check clears the alarm and acknowledges it
    /// — it was what the alarm asked for.
    fn watch_checks(&mut self, now: Timestamp) {
        if self.state == State::Ended {
            return;
        }
        self.track_records();
        let kind = AlarmKind::ObservationMissed;
        match self.checks.overdue(now) {
            Some(overdue) => {
                let _ = self.raise(now, kind, None, None);
                if overdue.escalated(now)
                    && let Some(a) = self
                        .alarms
                        .iter_mut()
                        .find(|a| a.kind == kind && a.cleared_at.is_none())
                    && a.priority < Priority::High
                {
                    a.priority = Priority::High;
                    tracing::warn!(due = %overdue.due, "two checks missed: escalated");
                    self.journal.push(Record::AlarmEscalated {
                        at: now,
                        kind,
                        priority: Priority::High,
                    });
                }
            }
            None => {
                if self
                    .alarms
                    .iter()
                    .any(|a| a.kind == kind && a.cleared_at.is_none())
                {
                    self.clear(now, kind);
                    self.acknowledge_kind(now, kind);
                }
            }
        }
    }
}
