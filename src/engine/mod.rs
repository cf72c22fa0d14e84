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
//!
//! The engine is one type, [`Engine`], whose methods are kept by job:
//!
//! - this file: the engine's state, building it, its trial log, reading it, starting and ending
//!   delivery;
//! - `delivery`: the motor's work — the tick, the basal in minute pieces, boluses (scheduled,
//!   the patient's, the clinician's), rate changes, pause and resume, the reservoir, and the
//!   accounting in steps;
//! - `alarms`: the sensors, raising and clearing alarms, what stops the motor, and the nurse's
//!   acknowledgement and silencing;
//! - `clinical`: what is recorded about the patient and acted on — the pre-trial checklist, the
//!   diary and scores, sedation and vitals with their checks, catheter site checks, the decision
//!   and the plans after the trial;
//! - `recovery`: a power cut and the engine rebuilt from the log;
//! - [`play`]: a scenario's events played on a running engine (`titra simulate`, and the
//!   desktop demonstration's `--scenario`).

mod alarms;
mod clinical;
mod delivery;
/// What a refusal says next when a failed start-up check holds the trial.
pub(crate) fn held_for_good() -> &'static str {
    tr!(
        "This trial never delivers again: a clinician ends it with a written reason, then exports it."
    )
}

pub mod play;
mod recovery;
mod titrate;
pub use recovery::carried_over;
pub use titrate::ChangedBy;

use crate::core::dose::{DoseLedger, DoseLimits, Source};
use crate::core::finding::{Class, Finding, Verdict};
use crate::core::library::{DrugLibrary, LibraryEntry};
use crate::core::observation::{CheckClock, SedationRule};
use crate::core::occlusion::{OcclusionDetector, OcclusionSettings};
use crate::core::program::{self, Program, Trial};
use crate::core::scheduler::{RateScheduler, StepProfile};
use crate::core::site::{SiteClock, SiteRule};
use crate::core::supervisor::{self, Alarm, AlarmKind, Priority, State, Trigger};
use crate::core::tr;
use crate::core::units::{Amount, AmountRate, Duration, Timestamp, Volume};
use crate::hw::{Direction, HwError, PumpHardware};
use crate::input::hardware::HardwareConfig;
use crate::journal::{Record, RecordSink, Role};
use delivery::{ActiveBolus, StepCounts};

/// Runs `f` in English: what the trial log and tracing's log are given stays English, whatever
/// the screens' language (`core::lang`).
pub(crate) fn in_english<R>(f: impl FnOnce() -> R) -> R {
    crate::core::lang::with(crate::core::lang::Language::English, f)
}

/// A text for people in two copies: the trial log's, in English, and the one shown, in the
/// language in use.
#[derive(Debug, Clone)]
pub(crate) struct Said {
    pub(crate) log: String,
    pub(crate) shown: String,
}

impl Said {
    /// What `say` says in English (for the log) and in the language in use (shown).
    pub(crate) fn new<S: Into<String>>(say: impl Fn() -> S) -> Said {
        let log: String = in_english(|| say().into());
        // Said once when the language in use is English.
        let shown = if crate::core::lang::current() == crate::core::lang::Language::English {
            log.clone()
        } else {
            say().into()
        };
        Said { log, shown }
    }

    /// A text that is the same in every language (already English, for the log only).
    pub(crate) fn same(text: &str) -> Said {
        Said {
            log: text.to_owned(),
            shown: text.to_owned(),
        }
    }
}

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
    /// Refused by a dose limit (the message says which): a clinician's bolus.
    #[error("{0}")]
    OverLimit(String),
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
            tr!(
                "The basal rate needs {rate} of solution, above the pump's maximum of {max}.",
                rate = volume_rate.per_hour(),
                max = max.per_hour()
            ),
        );
    }
    if program.reservoir > cfg.mechanism.syringe {
        v.hard(
            "program.reservoir",
            program.reservoir,
            tr!(
                "{volume} is more than the pump's syringe holds ({syringe}).",
                volume = program.reservoir,
                syringe = cfg.mechanism.syringe
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
    /// The scheduled bolus at `next_scheduled` is held because it fell due while delivery was
    /// stopped: it waits for a nurse's answer (`decide_held_bolus`).
    held_scheduled: bool,
    next_titration: usize,
    detector: OcclusionDetector,
    /// After an occlusion's back-off, while delivery is stopped: the pressure still being taken
    /// off the blocked line.
    relief: Option<alarms::Relief>,
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
    /// When the pressure sensor last gave a reading, and when this engine began to read it (a
    /// sensor that has given nothing since then is as silent as one that stopped).
    last_sample: Option<Timestamp>,
    sampling_since: Timestamp,
    /// What the light and tone were last set to show.
    sounding: Option<Priority>,
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
    /// The last storage check found the log's storage short (MEDIUM) or full (HIGH).
    storage_low: bool,
    /// The outbox's last check found too many messages waiting (`outbox_checked`).
    outbox_behind: bool,
    storage_full: bool,
    /// With a trial log, how long the per-minute records are kept in memory (see
    /// [`Engine::bound_journal`]); None keeps every record.
    keep: Option<Duration>,
    /// Records dropped from the front part of the journal so far (they are in the log).
    dropped: usize,
    /// The journal's length at which it is next compacted.
    compact_at: usize,
    /// When the trial log was last written or probed successfully.
    log_proven: Timestamp,
    /// The run of denied patient presses being counted (see `Record::PcaRequest::presses`).
    denied: Option<delivery::DeniedRun>,
    /// Denied presses counted, not written, still to be announced.
    announce: Vec<Record>,
    /// The trial log's own work (`RecordSink::tick`) failing pass after pass, as `tick_sink`
    /// says it in the daemon's log; None while it works.
    sink_failing: Option<SinkFailing>,
}

/// A run of failed tries of the trial log's own work (`RecordSink::tick`: the periodic
/// messages for the hospital), tried again and said once every [`SINK_WARN_EVERY`], not at
/// every pass of the control loop.
#[derive(Debug, Clone, Copy)]
struct SinkFailing {
    /// The first failed try.
    since: Timestamp,
    /// The last try (which failed).
    said: Timestamp,
}

/// How long the trial log may go without a write before the engine probes it.
pub const LOG_PROBE_EVERY: Duration = Duration::from_mins(1);

/// How often the trial log's own work is tried again, and said, while it fails (`tick_sink`).
pub const SINK_WARN_EVERY: Duration = Duration::from_mins(1);

/// The fewest records a compaction waits for: a day of minute pieces and their intents.
const COMPACT_FLOOR: usize = 4 * 1440;

/// Records the engine writes many of (every minute, or at every press or call) and never reads
/// back beyond the last day: once in the log and older than the kept span they leave memory.
/// The engine reads back only `Delivery` and `UncertainDelivery` (today's total, within 24 h);
/// the rest only the summary, the export and a recovery read, from the log.
fn is_bulk(r: &Record) -> bool {
    matches!(
        r,
        Record::Delivery { .. }
            | Record::UncertainDelivery { .. }
            | Record::Intent { .. }
            | Record::PcaRequest { .. }
            | Record::UserAction { .. }
            | Record::AlarmSilenced { .. }
            | Record::LoginFailed { .. }
    )
}

impl<H: PumpHardware> Engine<H> {
    // ---- building the engine ---------------------------------------------------------------

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
        let check = || {
            let mut verdict = program::validate(&trial, &program, library);
            verdict.extend(mechanism_verdict(&program, &program.max_rate(), cfg));
            verdict
        };
        // In English: its findings go to the log when confirmed.
        let verdict = in_english(check);
        if verdict.is_rejected() {
            return Err(EngineError::Rejected(check().problems().cloned().collect()));
        }
        let entry = library
            .find(&program.drug, trial.route, program.concentration)
            .map_err(|e| EngineError::Lookup(e.to_string()))?
            .clone();
        let mut journal = Vec::new();
        if verdict.class() == Class::Soft {
            let Some(by) = confirmed_by else {
                return Err(EngineError::Refused(
                    tr!("settings outside the usual range must be confirmed").to_owned(),
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
            shortest_window: o.trend_shortest_window,
            min_rise_mmhg: o.trend_min_rise_mmhg,
            drift_mmhg_per_h: o.drift_mmhg_per_h,
            false_alarms_per_1000_days: o.false_alarms_per_1000_days,
            read_interval: cfg.sensors.read_interval,
            compliance_ul_per_mmhg: o.line_compliance_ul_per_mmhg,
            resistance_mmhg_per_ml_h: o.line_resistance_mmhg_per_ml_h,
            compliance_range: (
                o.line_compliance_range_ul_per_mmhg[0],
                o.line_compliance_range_ul_per_mmhg[1],
            ),
            resistance_range: (
                o.line_resistance_range_mmhg_per_ml_h[0],
                o.line_resistance_range_mmhg_per_ml_h[1],
            ),
        });
        program.boluses.sort_by_key(|b| b.at);
        program.titration.sort_by_key(|s| s.at);
        let ledger = DoseLedger::new(DoseLimits::for_program(&program, &entry));
        let reservoir = program.reservoir.min(cfg.mechanism.syringe);
        // The program's own checks, or the library's default for the drug and route.
        let checks = CheckClock::new(program.checks(&entry));
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
            held_scheduled: false,
            next_titration: 0,
            detector,
            relief: None,
            alarms: Vec::new(),
            journal,
            steps: StepCounts::default(),
            reservoir,
            piece_end: None,
            piece_started: now,
            basal_held: false,
            next_read: now,
            last_readings: Vec::new(),
            last_sample: None,
            sampling_since: now,
            sounding: None,
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
            storage_low: false,
            outbox_behind: false,
            storage_full: false,
            keep: None,
            dropped: 0,
            compact_at: COMPACT_FLOOR,
            log_proven: now,
            denied: None,
            announce: Vec::new(),
            sink_failing: None,
        }
    }

    // ---- the trial log ---------------------------------------------------------------------

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
                tr!("the trial log cannot be written").to_owned(),
            ))
        }
    }

    /// Writes what is not yet written. A failure stops delivery with a HIGH alarm: a pump that
    /// cannot prove what it delivered must not deliver.
    fn persist(&mut self, now: Timestamp) -> bool {
        // Denied presses counted so far go with any record written (so their count is on disk
        // as often as the log is written): last, at `now`, in time order.
        if self.unsynced < self.journal.len() {
            self.flush_denied(now);
        }
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
                self.log_proven = now;
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

    /// Lets the trial log do what falls due on its own clock: the periodic messages for the
    /// hospital's systems (`store::outbox`). A failure there is traced and delivery goes on:
    /// the next record's write says whether the log can be written (and alarms if not). After
    /// a failure it is tried again only once every [`SINK_WARN_EVERY`] (each try may wait for a
    /// lock another process holds, `store::PUMP_BUSY_TIMEOUT_MS`; the messages missed are not
    /// made up, the next one reports the pump as it is), said when it starts failing, at each
    /// try that fails again with how long it has, and once when it works again.
    pub(super) fn tick_sink(&mut self, now: Timestamp) {
        if self.log_failed {
            return;
        }
        if self
            .sink_failing
            .is_some_and(|run| now.since(run.said) < SINK_WARN_EVERY)
        {
            return;
        }
        let Some(sink) = self.sink.as_mut() else {
            return;
        };
        match (sink.tick(now), self.sink_failing.as_mut()) {
            (Ok(()), None) => {}
            (Ok(()), Some(run)) => {
                tracing::info!(
                    failed_for = %now.since(run.since),
                    "the periodic messages for the hospital are queued again"
                );
                self.sink_failing = None;
            }
            (Err(e), None) => {
                tracing::warn!(error = %e, "the periodic messages for the hospital could not be queued");
                self.sink_failing = Some(SinkFailing {
                    since: now,
                    said: now,
                });
            }
            (Err(e), Some(run)) => {
                tracing::warn!(
                    error = %e,
                    failed_for = %now.since(run.since),
                    "the periodic messages for the hospital still cannot be queued"
                );
                run.said = now;
            }
        }
    }

    /// The wall clock reads `wall_ms` (ms since 1970, UTC) at `now`: passed to the trial log
    /// ([`RecordSink::wall_clock`]), whose messages for the hospital are dated by it from here.
    /// The daemon says it every minute (`PumpService::check_outbox`).
    pub fn wall_clock(&mut self, now: Timestamp, wall_ms: u64) {
        if let Some(sink) = self.sink.as_mut() {
            sink.wall_clock(now, wall_ms);
        }
    }

    /// Probes the trial log when nothing has reached it for [`LOG_PROBE_EVERY`] (a paused
    /// pump, or one an alarm holds, writes nothing for long): a log that can no longer be
    /// written is then found within that and one pass of the loop, not at the next record, and
    /// raises the same HIGH alarm as a failed write.
    pub(super) fn probe_log(&mut self, now: Timestamp) {
        if self.log_failed
            || self.state == State::Ended
            || now.since(self.log_proven) < LOG_PROBE_EVERY
        {
            return;
        }
        let Some(sink) = self.sink.as_mut() else {
            return;
        };
        match sink.probe() {
            Ok(()) => self.log_proven = now,
            Err(e) => {
                tracing::error!(error = %e, "the trial log's probe failed: it cannot be written");
                self.log_failed = true;
                let _ = self.raise(now, AlarmKind::LogFailure, None, None);
            }
        }
    }

    /// Writes what the daemon holds and has not written, before it exits (SIGTERM, SIGINT):
    /// the denied presses counted since their last record (otherwise a stop lost up to a
    /// minute's count of them) and anything pending. Returns whether the log took it.
    pub fn before_exit(&mut self, now: Timestamp) -> bool {
        self.flush_denied(now);
        self.persist(now)
    }

    /// Whether the trial log can be written now: what is pending is written, or, with nothing
    /// pending after a failure, a probe succeeds (the alarm's cause is then gone).
    pub(super) fn log_writable(&mut self, now: Timestamp) -> bool {
        if self.unsynced < self.journal.len() || !self.log_failed {
            return self.persist(now);
        }
        let Some(sink) = self.sink.as_mut() else {
            return true;
        };
        match sink.probe() {
            Ok(()) => {
                self.log_failed = false;
                self.log_proven = now;
                true
            }
            Err(_) => false,
        }
    }

    /// Records a change refused before it reached the engine (the service's check of what the
    /// clinician was shown): the trial log holds every refusal, wherever it was decided.
    /// `what` and `reason` in English, as the log keeps them.
    pub fn record_refusal(&mut self, now: Timestamp, what: &str, reason: &str, by: Role) {
        let _ = self.refuse(now, Said::same(what), Said::same(reason), by);
    }

    /// Logs a refusal (in English) and returns it as the caller is told it (in the language
    /// in use).
    fn refuse(&mut self, now: Timestamp, what: Said, reason: Said, by: Role) -> EngineError {
        tracing::warn!(what = %what.log, reason = %reason.log, "refused");
        self.journal.push(Record::Refused {
            at: now,
            what: what.log,
            reason: reason.log,
            by,
        });
        self.persist(now);
        EngineError::Refused(format!("{}: {}", what.shown, reason.shown))
    }

    /// Injects a storage fault into the trial log (see [`RecordSink::inject_fault`]); false
    /// when there is no log or it cannot.
    pub fn inject_log_fault(&mut self, fault: &str, on: bool) -> bool {
        self.sink
            .as_mut()
            .is_some_and(|sink| sink.inject_fault(fault, on))
    }

    // ---- reading the engine ----------------------------------------------------------------

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

    /// The records in memory: every record of the trial, or with a bounded journal
    /// ([`Engine::bound_journal`]) the recent part of the bulk records and all the others.
    pub fn journal(&self) -> &[Record] {
        &self.journal
    }

    /// How many records the engine ever made in this trial (those dropped from memory
    /// included): an index for [`Engine::records_since`].
    pub fn records_made(&self) -> usize {
        self.dropped + self.journal.len()
    }

    /// The records made since the engine had made `made` ([`Engine::records_made`]); dropped
    /// ones are not returned (they are in the log).
    pub fn records_since(&self, made: usize) -> &[Record] {
        let from = made.saturating_sub(self.dropped).min(self.journal.len());
        &self.journal[from..]
    }

    /// Whether records were dropped from memory: the whole trial is then read from the log.
    pub fn journal_is_partial(&self) -> bool {
        self.dropped > 0
    }

    /// Bounds the journal in memory (the daemon does, with its trial log): the bulk records
    /// (delivery pieces, intents, presses, logged calls, audio pauses, refused logins) older
    /// than `keep` (at least the dose ledger's longest window, and a day) and already in the
    /// log leave memory. What stays: every bulk record of the last `keep` and of the span
    /// since the last compaction, plus every other record (a few an hour: the state, alarms,
    /// boluses, observations, the checklist). Without a trial log nothing is dropped (the
    /// journal is then the only copy: `titra simulate` without `--db`, the demo, the tests).
    pub fn bound_journal(&mut self, keep: Duration) {
        self.keep = Some(keep.max(self.ledger.horizon()).max(Duration::from_days(1)));
    }

    /// Drops what [`Engine::bound_journal`] says may go, once the journal has doubled since the
    /// last time (so that the work is spread: one pass over the journal per doubling).
    fn compact(&mut self, now: Timestamp) {
        let Some(keep) = self.keep else {
            return;
        };
        if self.sink.is_none() || self.log_failed || self.journal.len() < self.compact_at {
            return;
        }
        let Some(cutoff) = now.ms().checked_sub(keep.ms()).map(Timestamp::from_ms) else {
            return;
        };
        // Only records already written and already shown to the check clocks.
        let limit = self.unsynced.min(self.tracked);
        let mut index = 0usize;
        let before = self.journal.len();
        self.journal.retain(|r| {
            let stays = index >= limit || !is_bulk(r) || r.at() >= cutoff;
            index += 1;
            stays
        });
        let dropped = before - self.journal.len();
        self.unsynced -= dropped;
        self.tracked -= dropped;
        self.dropped += dropped;
        self.compact_at = (self.journal.len() * 2).max(COMPACT_FLOOR);
        if dropped > 0 {
            tracing::debug!(dropped, kept = self.journal.len(), "journal compacted");
        }
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

    /// Whether delivery has ever run.
    pub fn has_started(&self) -> bool {
        self.started
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

    /// Delivered since `since`, every source: the records after it (the journal keeps at least
    /// the last day of them) and what was given since the last record (a bolus under way, the
    /// basal's current minute), which the total counts too, so that a day that holds the whole
    /// trial says what the total says.
    pub fn delivered_since(&self, since: Timestamp) -> Amount {
        // Newest first, as far as `since`: the status asks on every pass of the control loop.
        let recorded: Amount = self
            .journal
            .iter()
            .rev()
            .take_while(|r| r.at() > since)
            .filter_map(|r| match r {
                Record::Delivery { amount, .. } | Record::UncertainDelivery { amount, .. } => {
                    Some(*amount)
                }
                _ => None,
            })
            .sum();
        let unrecorded: Amount = SOURCES
            .iter()
            .zip(self.steps.recorded_amount)
            .map(|(&source, written)| self.delivered_from(source).saturating_sub(written))
            .sum();
        recorded + unrecorded
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

    // ---- starting --------------------------------------------------------------------------

    /// Refuses to begin moving the motor while a HIGH alarm stands (`what`: the command, in
    /// words).
    fn refuse_if_alarmed(
        &mut self,
        now: Timestamp,
        what: fn() -> &'static str,
    ) -> Result<(), EngineError> {
        match self.high_alarm() {
            Some(kind) => {
                let reason = Said::new(|| {
                    let then = if kind.holds_for_good() {
                        held_for_good()
                    } else {
                        tr!("Clear it first.")
                    };
                    format!("{} {then}", kind.message())
                });
                Err(self.refuse(now, Said::new(what), reason, Role::Nurse))
            }
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
        self.refuse_if_alarmed(now, || tr!("prime"))?;
        self.transition(now, Trigger::Prime)?;
        let steps = self.profile.steps_for(volume);
        if steps > 0 {
            self.journal.push(Record::Primed { at: now, steps });
            if !self.persist(now) {
                return Err(EngineError::Refused(
                    tr!("the trial log cannot be written").to_owned(),
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
    fn refuse_open_checklist(
        &mut self,
        now: Timestamp,
        what: fn() -> &'static str,
    ) -> Result<(), EngineError> {
        if !self.started
            && let Some(list) = self.checklist()
            && list.start_refusal().is_some()
        {
            let why = Said::new(|| list.start_refusal().unwrap_or_default());
            return Err(self.refuse(now, Said::new(what), why, Role::Nurse));
        }
        Ok(())
    }

    /// Starts delivery. Refused while the trial's pre-trial checklist has open items that no
    /// clinician overrode.
    pub fn start(&mut self, now: Timestamp) -> Result<(), EngineError> {
        self.refuse_if_alarmed(now, || tr!("start"))?;
        self.refuse_open_checklist(now, || tr!("start"))?;
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

    // ---- ending ----------------------------------------------------------------------------

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

    /// Gives the hardware back after the trial ended (for the next trial).
    pub fn into_hardware(mut self) -> H {
        let _ = self.hw.set_motor_enabled(false);
        self.hw
    }
}

/// What the parts' unit tests share: an engine on the simulated pump, built from a scenario's
/// TOML with the built-in drug library and hardware profile, and a way to run it as the daemon
/// would.
#[cfg(test)]
pub(crate) mod testing {
    use super::Engine;
    use crate::core::library::DrugLibrary;
    use crate::core::units::{Duration, Timestamp, Volume};
    use crate::input::check::load_library;
    use crate::input::hardware::HardwareConfig;
    use crate::input::scenario::Scenario;
    use crate::journal::{Record, Role};
    use crate::sim::SimPump;

    /// Intrathecal morphine at 1 mg/day from 20 mL of 1 mg/mL, with patient boluses of
    /// 0.05 mg, a 1 h lockout and one an hour.
    pub(crate) const MORPHINE: &str = r#"
[trial]
patient = "MRN-UNIT"
route = "intrathecal"
kind = "continuous"
duration = "14d"

[program]
drug = "morphine"
concentration = "1 mg/mL"
reservoir = "20 mL"
basal = "1 mg/day"
pca = { dose = "0.05 mg", lockout = "1h", max_per_hour = 1 }
"#;

    pub(crate) fn config() -> HardwareConfig {
        HardwareConfig::built_in().unwrap()
    }

    pub(crate) fn library() -> DrugLibrary {
        load_library(None).unwrap().0
    }

    pub(crate) fn scenario(text: &str) -> Scenario {
        Scenario::from_toml_str(text, "unit test").unwrap()
    }

    /// The time `after` the origin (the trial starts there): `at("1h 10min")`.
    pub(crate) fn at(after: &str) -> Timestamp {
        Timestamp::ORIGIN + after.parse::<Duration>().unwrap()
    }

    /// The scenario's trial programmed at the origin (state Programmed), confirmed by a nurse
    /// where the library asks for it.
    pub(crate) fn programmed(text: &str) -> Engine<SimPump> {
        let s = scenario(text);
        let cfg = config();
        let sim = SimPump::new(&cfg.mechanism, &cfg.simulation, s.program.reservoir);
        Engine::new(
            sim,
            &cfg,
            s.trial,
            s.program,
            &library(),
            Timestamp::ORIGIN,
            Some(Role::Nurse),
        )
        .unwrap()
    }

    /// The scenario's trial verified, primed by hand and delivering from the origin.
    pub(crate) fn running(text: &str) -> Engine<SimPump> {
        let mut e = programmed(text);
        let t0 = Timestamp::ORIGIN;
        e.verify(t0).unwrap();
        e.prime(t0, Volume::ZERO).unwrap();
        e.start(t0).unwrap();
        e
    }

    /// Runs the engine as the daemon does, waking when it asks to, up to `until`.
    pub(crate) fn run_to(e: &mut Engine<SimPump>, until: Timestamp) {
        let mut now = e.hardware().now();
        loop {
            now = e.next_wake().unwrap_or(until).min(until).max(now);
            e.hardware_mut().advance_to(now);
            e.tick(now).unwrap();
            if now >= until {
                return;
            }
        }
    }

    /// How many records of the journal `matches` says yes to.
    pub(crate) fn count(e: &Engine<SimPump>, matches: impl Fn(&Record) -> bool) -> usize {
        e.journal().iter().filter(|r| matches(r)).count()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{MORPHINE, at, config, count, programmed, run_to, running, scenario};
    use super::*;

    fn motor_enabled(e: &mut Engine<crate::sim::SimPump>) -> Option<bool> {
        e.hardware_mut().motor_enabled_readback().unwrap()
    }

    #[test]
    fn the_mechanism_refuses_a_rate_above_its_maximum_and_a_reservoir_above_its_syringe() {
        let cfg = config();
        let mut p = scenario(MORPHINE).program;
        assert_eq!(mechanism_verdict(&p, &p.basal, &cfg).class(), Class::Ok);
        let fields = |v: Verdict| v.problems().map(|f| f.field.clone()).collect::<Vec<_>>();
        // One mL a day above the fastest the motor may run.
        let too_fast = p.concentration.amount_rate(cfg.mechanism.max_rate)
            + AmountRate::from_ng_per_day(p.concentration.ng_per_ml());
        let v = mechanism_verdict(&p, &too_fast, &cfg);
        assert!(v.is_rejected());
        assert_eq!(fields(v), ["program.basal"]);
        p.reservoir = Volume::from_nl(cfg.mechanism.syringe.nl() + 1);
        assert_eq!(
            fields(mechanism_verdict(&p, &p.basal, &cfg)),
            ["program.reservoir"]
        );
    }

    #[test]
    fn a_high_alarm_refuses_the_start_and_the_refusal_is_logged() {
        let t0 = Timestamp::ORIGIN;
        let mut e = programmed(MORPHINE);
        e.verify(t0).unwrap();
        e.prime(t0, Volume::ZERO).unwrap();
        e.raise(t0, AlarmKind::ReservoirMissing, None, None)
            .unwrap();
        assert_eq!(e.state(), State::Alarm);
        let err = e.start(t0).unwrap_err();
        assert!(
            matches!(&err, EngineError::Refused(m) if m.contains("Clear it first")),
            "{err}"
        );
        assert_eq!(
            count(
                &e,
                |r| matches!(r, Record::Refused { what, by: Role::Nurse, .. } if what == "start")
            ),
            1
        );
        assert!(!e.has_started());
    }

    #[test]
    fn the_trials_clock_starts_when_delivery_first_runs() {
        let t0 = Timestamp::ORIGIN;
        let mut e = programmed(MORPHINE);
        assert_eq!(e.state(), State::Programmed);
        // Starting before the second person's check is no transition the pump knows.
        assert!(matches!(e.start(t0), Err(EngineError::Transition(_))));
        e.verify(t0).unwrap();
        e.prime(t0, Volume::ZERO).unwrap();
        assert!(!e.has_started());
        e.start(at("2h")).unwrap();
        assert_eq!(e.state(), State::Running);
        assert!(e.has_started());
        assert_eq!(e.started_at(), at("2h"));
        assert_eq!(motor_enabled(&mut e), Some(true));
        assert_eq!(
            count(&e, |r| matches!(
                r,
                Record::StateChanged { at: t, to: State::Running, .. } if *t == at("2h")
            )),
            1
        );
    }

    #[test]
    fn priming_moves_the_plunger_and_uses_the_reservoir_but_is_no_dose() {
        let t0 = Timestamp::ORIGIN;
        let mut e = programmed(MORPHINE);
        e.verify(t0).unwrap();
        let volume = Volume::from_ul(500);
        e.prime(t0, volume).unwrap();
        let steps = e.profile.steps_for(volume);
        assert!(steps > 0);
        assert_eq!(
            count(
                &e,
                |r| matches!(r, Record::Primed { steps: s, .. } if *s == steps)
            ),
            1
        );
        assert_eq!(
            e.hardware_mut().plunger_position().unwrap(),
            Some(i64::try_from(steps).unwrap())
        );
        // The motor is off again once the line is full.
        assert_eq!(motor_enabled(&mut e), Some(false));
        assert_eq!(e.delivered_total(), Amount::ZERO);
        let left = e.reservoir_remaining().nl();
        let want = Volume::from_ul(19_500).nl();
        assert!(
            left.abs_diff(want) <= e.profile.volume_of(1).nl(),
            "{left} nL"
        );
    }

    #[test]
    fn ending_stops_the_motor_for_good() {
        let mut e = running(MORPHINE);
        run_to(&mut e, at("1h"));
        e.end(at("1h")).unwrap();
        assert_eq!(e.state(), State::Ended);
        assert_eq!(motor_enabled(&mut e), Some(false));
        assert_eq!(e.next_wake(), None);
        let position = e.hardware_mut().plunger_position().unwrap();
        e.hardware_mut().advance_to(at("2h"));
        e.tick(at("2h")).unwrap();
        assert_eq!(e.hardware_mut().plunger_position().unwrap(), position);
        // Ending again changes nothing; nothing brings delivery back.
        e.end(at("2h")).unwrap();
        let ended = |r: &Record| {
            matches!(
                r,
                Record::StateChanged {
                    to: State::Ended,
                    ..
                }
            )
        };
        assert_eq!(count(&e, ended), 1);
        assert!(e.resume(at("2h")).is_err());
        assert_eq!(e.state(), State::Ended);
    }
}
