//! The pump as the daemon holds it: the hardware, the engine of the trial in progress (if any),
//! the trial log and the logins, behind the calls the D-Bus interface offers. Every call names
//! its time; every call that needs a role checks it first; every refusal is a typed error a
//! nurse can read.

mod clinical;
mod demo;
mod faults;
mod integration;
mod integrity;
mod report;
mod storage;
mod trial;

pub use faults::HealthProblem;
pub use integrity::StartupCheck;
pub use trial::{CheckedProgram, ProgramCheck};

use std::path::PathBuf;

use crate::core::change::ProgramChange;
use crate::core::diary::{Ashworth, OutcomeMeasure, pgic_label};
use crate::core::dose::{Denial, PcaDecision};
use crate::core::finding::{Class, Finding};
use crate::core::library::DrugLibrary;
use crate::core::observation::BodyTemp;
use crate::core::program::{self, Program};
use crate::core::readable::{self, Round};
use crate::core::site::SiteFinding;
use crate::core::supervisor::{Priority, State};
use crate::core::tr;
use crate::core::units::{Amount, AmountRate, Duration, Timestamp, Volume};
use crate::engine::{Engine, EngineError, in_english};
use crate::hw::PumpHardware;
use crate::input::check::{self, CheckReport, LibrarySource};
use crate::input::hardware::HardwareConfig;
use crate::input::scenario::Scenario;
use crate::journal::{Record, Role};
use crate::journal::{Severity, SideEffect};
use crate::report::summary::{self, Summary};
use crate::service::auth::{Auth, AuthError, Caller, Peer, UserRole};
use crate::service::wire::{
    AlarmStatus, BolusUnderWay, ChecklistLine, ChecklistView, LibraryChoice, Status, WireFinding,
    WireSettingChange, verdict_wire,
};
use crate::store::TrialLog;
use crate::time::WallClock;

pub type Hardware = Box<dyn PumpHardware + Send>;

/// How long the daemon's engine keeps its per-minute records in memory (`Engine::bound_journal`;
/// at least the dose ledger's longest window): a day, which today's total reads back.
pub const JOURNAL_KEPT: Duration = Duration::from_days(1);

/// A refused call, typed for D-Bus clients and worded for nurses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    NotAuthorised(String),
    #[error("{message}")]
    LockoutActive {
        message: String,
        available_at_ms: i64,
    },
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    WrongState(String),
    #[error("{0}")]
    Internal(String),
}

impl From<AuthError> for ServiceError {
    fn from(e: AuthError) -> Self {
        ServiceError::NotAuthorised(e.to_string())
    }
}

fn first_hard(findings: &[Finding]) -> String {
    findings
        .iter()
        .find(|f| f.class == Class::Hard)
        .or_else(|| findings.first())
        .map(|f| format!("{}: {}", f.field, f.message))
        .unwrap_or_default()
}

impl From<EngineError> for ServiceError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Rejected(findings) => ServiceError::LimitExceeded(first_hard(&findings)),
            EngineError::Transition(t) => ServiceError::WrongState(t.to_string()),
            EngineError::Refused(m) => ServiceError::WrongState(m),
            EngineError::OverLimit(m) => ServiceError::LimitExceeded(m),
            EngineError::Lookup(m) => ServiceError::InvalidInput(m),
            EngineError::Hardware(h) => ServiceError::Internal(h.to_string()),
        }
    }
}

/// The longest note a clinician may attach to an assessment or a review.
pub const MAX_NOTE: usize = crate::journal::MAX_NOTE;

pub struct PumpService {
    cfg: HardwareConfig,
    library: DrugLibrary,
    source: LibrarySource,
    auth: Auth,
    log_path: Option<PathBuf>,
    hw: Option<Hardware>,
    engine: Option<Engine<Hardware>>,
    signalled: usize,
    simulated: bool,
    wall: Option<Box<dyn WallClock>>,
    /// When the trial in hand started by the wall clock (RFC 3339), if known.
    started_wall: Option<String>,
    protocol: crate::input::protocol::Protocol,
    /// On simulated hardware only: each trial's pre-trial checklist is confirmed by the demo
    /// setup as it is programmed (the desktop demo; see `confirm_checklist_as_demo`).
    demo_checklist: bool,
    /// The power-on self-test's result: a failure keeps trials from being programmed, primed,
    /// started or resumed.
    self_test: Option<crate::journal::SelfTest>,
    /// What the start-up check of the trial log and the drug library found wrong (None when it
    /// passed or there is no log): see `integrity.rs`.
    startup_check: Option<StartupCheck>,
    /// The trial log's storage: its free space and the trial's budget, checked from `tick`
    /// (None without a log).
    storage: Option<crate::store::budget::StorageWatch>,
    /// How many times faster than real time the pump's clock runs (1 but in the desktop
    /// demonstration, on simulated hardware), shown on every screen.
    time_speed: u32,
    /// The outbox's backlog check (`integration.rs`).
    outbox: integration::OutboxWatch,
}

/// Who the demo's pre-trial checklist is recorded as confirmed by (in the trial log; in the
/// language in use on the checklist's screen).
pub const DEMO_CHECKLIST_BY: &str = "demo setup (simulated hardware)";

/// The longest planned-implant text (a pump model and catheter, in a line or two).
pub const MAX_IMPLANT: usize = 200;

/// A note or reason as typed: trimmed, at most `MAX_NOTE` characters, and required when
/// `required` says what to write.
fn note_field(field: &str, text: &str, required: Option<&str>) -> Result<String, ServiceError> {
    let text = text.trim();
    if text.is_empty()
        && let Some(what) = required
    {
        return Err(ServiceError::InvalidInput(format!(
            "{}: {what}",
            field_words(field)
        )));
    }
    let chars = text.chars().count();
    if chars > MAX_NOTE {
        return Err(ServiceError::InvalidInput(too_long(field, chars, MAX_NOTE)));
    }
    Ok(text.to_owned())
}

/// A text field refused for its length, in the language in use.
fn too_long(field: &str, chars: usize, most: usize) -> String {
    tr!(
        "{field}: {chars} characters is more than the {most} allowed",
        field = field_words(field),
        chars,
        most
    )
}

/// The name of a field a nurse or clinician types in, in the language in use (in English as
/// the call names it: "reason").
fn field_words(field: &str) -> &str {
    match field {
        "reason" => tr!("reason"),
        "reasons" => tr!("reasons"),
        "note" => tr!("note"),
        "muscles" => tr!("muscles"),
        "implant" => tr!("implant"),
        other => other,
    }
}

/// The highest respiratory rate the pump accepts, breaths a minute: an input check, not a
/// clinical threshold (an adult breathes 12-20 a minute at rest; docs/clinical-sources.md,
/// "Sedation interlock").
pub const MAX_BREATHS: u16 = 80;

/// Vital signs as a nurse enters them: the respiratory rate None when not taken (Some(0) is
/// apnoea); the others 0 when not taken.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Vitals {
    pub respiratory_rate: Option<u16>,
    pub heart_rate: u16,
    /// %.
    pub spo2: u8,
    /// °C, to a tenth.
    pub temperature_c: f64,
}

/// A body temperature as entered, refused naming the field outside 25 to 45 °C.
fn body_temp(celsius: f64) -> Result<BodyTemp, ServiceError> {
    BodyTemp::from_celsius(celsius)
        .map_err(|e| ServiceError::InvalidInput(tr!("temperature_c: {why}", why = e)))
}

impl PumpService {
    /// The service at `now`. The log at `log_path` is verified first (its whole hash chain, and
    /// the library in force against the unfinished trial's); then an unfinished trial is
    /// recovered: the pump comes up stopped with a HIGH "power restored" alarm, and when the
    /// check failed, held for good with a HIGH alarm naming what failed.
    pub fn new(
        cfg: HardwareConfig,
        library: DrugLibrary,
        source: LibrarySource,
        auth: Auth,
        hw: Hardware,
        log_path: Option<PathBuf>,
        now: Timestamp,
    ) -> Result<PumpService, ServiceError> {
        let simulated = hw.is_simulated();
        let mut service = PumpService {
            cfg,
            library,
            source,
            auth,
            log_path,
            hw: Some(hw),
            engine: None,
            signalled: 0,
            simulated,
            wall: None,
            started_wall: None,
            protocol: crate::input::protocol::Protocol::built_in()
                .map_err(|e| ServiceError::Internal(e.to_string()))?,
            demo_checklist: false,
            self_test: None,
            startup_check: None,
            storage: None,
            time_speed: 1,
            outbox: integration::OutboxWatch::new(),
        };
        if let Some(path) = &service.log_path {
            let mut watch =
                crate::store::budget::StorageWatch::statvfs(path, service.cfg.storage.clone());
            // A reserve that cannot be laid now is laid by a later check once there is room.
            watch.lay_reserve_if_room();
            service.storage = Some(watch);
        }
        service.recover(now)?;
        service.run_self_test(now);
        Ok(service)
    }

    /// The demonstration pump: simulated hardware with a full syringe, the built-in hardware
    /// profile and example drug library, the demo users, and no trial log (the desktop demo,
    /// the screenshots and the tests; never the pump).
    pub fn simulated_demo(now: Timestamp) -> Result<PumpService, ServiceError> {
        PumpService::simulated_demo_logged(None, now)
    }

    /// The demonstration pump with its trial log at `db` (None: none): the benchmarks' and
    /// the soak's daemon.
    pub fn simulated_demo_logged(
        db: Option<std::path::PathBuf>,
        now: Timestamp,
    ) -> Result<PumpService, ServiceError> {
        let internal = |e: String| ServiceError::Internal(e);
        let cfg = HardwareConfig::built_in().map_err(|e| internal(e.to_string()))?;
        let (library, source) =
            crate::input::check::load_library(None).map_err(|e| internal(e.to_string()))?;
        let auth = Auth::demo().map_err(|e| internal(e.to_string()))?;
        let hw: Hardware = Box::new(crate::sim::SimPump::new(
            &cfg.mechanism,
            &cfg.simulation,
            cfg.mechanism.syringe,
        ));
        let mut service = PumpService::new(cfg, library, source, auth, hw, db, now)?;
        service.confirm_checklist_as_demo(true);
        Ok(service)
    }

    /// With `on`, and on simulated hardware only, each trial's pre-trial checklist is recorded
    /// as confirmed by the demo setup ([`DEMO_CHECKLIST_BY`]) as the trial is programmed, so
    /// the desktop demo starts at once. `simulated_demo` turns it on; tests of the checklist
    /// turn it off. On real hardware it does nothing.
    pub fn confirm_checklist_as_demo(&mut self, on: bool) {
        self.demo_checklist = on && self.simulated;
    }

    /// Says on every screen that the pump's clock runs `speed` times faster than real time (the
    /// desktop demonstration). Simulated hardware only: a real pump's time is never faster.
    pub fn set_time_speed(&mut self, speed: u32) {
        // As the demonstration's clock clamps it (time::MonotonicClock::faster).
        self.time_speed = if self.simulated {
            speed.clamp(1, crate::time::MAX_DEMO_SPEED)
        } else {
            1
        };
    }

    /// Uses the site's protocol (the implant rule of the summary) instead of the built-in example.
    pub fn set_protocol(&mut self, protocol: crate::input::protocol::Protocol) {
        self.protocol = protocol;
    }

    /// Dates trials by this wall clock from now on (without one, by the virtual clock that starts
    /// at 2000-01-01, as in simulation).
    pub fn set_wall_clock(&mut self, wall: Box<dyn WallClock>) {
        self.wall = Some(wall);
    }

    /// The time the pump's clock must not run behind after a restart: the newest record of the
    /// newest trial in the log, ended or not (a new trial for the same patient is timed against
    /// the last one's doses).
    pub fn resume_time(log_path: &std::path::Path) -> Option<Timestamp> {
        let mut log = TrialLog::open(log_path).ok()?;
        let stored = log.latest_trial().ok()?;
        let records = log.records(stored.id).ok()?;
        records.iter().map(Record::at).max()
    }

    fn open_log(&self) -> Result<Option<TrialLog>, ServiceError> {
        self.log_path
            .as_ref()
            .map(|p| TrialLog::open(p).map_err(|e| ServiceError::Internal(e.to_string())))
            .transpose()
    }

    fn recover(&mut self, now: Timestamp) -> Result<(), ServiceError> {
        let Some(mut log) = self.open_log()? else {
            return Ok(());
        };
        // Before anything is recovered: the whole chain, trial rows included.
        let mut check = StartupCheck {
            log: Self::check_log(&log),
            library: None,
            at: now,
        };
        let stored = match log.latest_trial() {
            Ok(stored) => stored,
            Err(crate::store::StoreError::NoTrial) => {
                self.note_check(check);
                return Ok(());
            }
            // A newest trial that cannot be read is a failed check, never "no trial": its
            // delivery must not be forgotten and a new trial started over it.
            Err(e) => {
                tracing::error!(error = %e, "the newest trial in the log cannot be read");
                check
                    .log
                    .push(format!("the newest trial cannot be read ({e})"));
                self.note_check(check);
                return Ok(());
            }
        };
        let records = match log.records(stored.id) {
            Ok(r) => r,
            Err(e) if !check.log.is_empty() => {
                // A log that failed its check may not even read back: nothing is recovered.
                tracing::error!(error = %e, "the trial in the log cannot be read");
                self.note_check(check);
                return Ok(());
            }
            Err(e) => return Err(ServiceError::Internal(e.to_string())),
        };
        let ended = records.iter().any(|r| {
            matches!(
                r,
                Record::StateChanged {
                    to: State::Ended,
                    ..
                }
            )
        });
        if ended || records.is_empty() {
            // An ended trial is not taken in hand (a Bundle it still owes the FHIR servers is
            // queued by the outbox's check, once the site's protocol and wall clock are set).
            self.note_check(check);
            return Ok(());
        }
        // The library the unfinished trial was programmed with, against the one in force.
        check.library = self.check_library(&stored);
        let recoverable = self
            .library
            .find(
                &stored.program.drug,
                stored.trial.route,
                stored.program.concentration,
            )
            .is_ok();
        self.note_check(check);
        if self.startup_check.is_some() && !recoverable {
            tracing::error!(
                patient = %stored.trial.patient,
                "the unfinished trial cannot be recovered with the library in force"
            );
            return Ok(());
        }
        self.started_wall = stored.started_wall.clone();
        let hw = self
            .hw
            .take()
            .ok_or_else(|| ServiceError::Internal(tr!("no hardware").to_owned()))?;
        let signalled = records.len();
        self.resume_budget(&records, stored.trial.duration);
        self.attach_outbox(
            &mut log,
            (&stored.trial, &stored.program),
            Timestamp::from_ms(stored.started_ms),
            &records,
            now,
        );
        let engine = Engine::recover(
            hw,
            &self.cfg,
            &self.library,
            stored.trial,
            stored.program,
            records,
            now,
            Some(Box::new(crate::store::budget::ReservedLog::new(
                log,
                self.storage.as_ref().map(|w| w.reserve.clone()),
            ))),
        )?;
        tracing::warn!(patient = %engine.trial().patient, "trial recovered from the log");
        let mut engine = engine;
        engine.bound_journal(JOURNAL_KEPT);
        self.signalled = signalled;
        self.engine = Some(engine);
        self.outbox.in_hand = Some(stored.id);
        self.hold_if_check_failed(now)
    }

    pub fn is_simulated(&self) -> bool {
        self.simulated
    }

    /// The pump's state, without computing the whole status.
    pub fn state(&self) -> State {
        self.engine.as_ref().map_or(State::Idle, Engine::state)
    }

    pub fn engine(&self) -> Option<&Engine<Hardware>> {
        self.engine.as_ref()
    }

    /// Every record of the trial in hand: from memory while the engine has kept them all, else
    /// from the trial log (the engine's journal is bounded; the log holds the whole trial).
    pub(super) fn trial_records(&self) -> Result<std::borrow::Cow<'_, [Record]>, ServiceError> {
        let engine = self
            .engine
            .as_ref()
            .ok_or_else(|| ServiceError::WrongState(tr!("no trial").to_owned()))?;
        if !engine.journal_is_partial() {
            return Ok(std::borrow::Cow::Borrowed(engine.journal()));
        }
        let internal = |e: crate::store::StoreError| ServiceError::Internal(e.to_string());
        let Some(mut log) = self.open_log()? else {
            return Ok(std::borrow::Cow::Borrowed(engine.journal()));
        };
        let stored = log.latest_trial().map_err(internal)?;
        let mut records = log.records(stored.id).map_err(internal)?;
        // Records the log could not take yet (a failing card) are still in memory.
        let made = engine.records_made();
        if records.len() < made {
            let missing = made - records.len();
            let tail = engine.journal();
            records.extend_from_slice(&tail[tail.len().saturating_sub(missing)..]);
        }
        Ok(std::borrow::Cow::Owned(records))
    }

    fn engine_mut(&mut self) -> Result<&mut Engine<Hardware>, ServiceError> {
        self.engine
            .as_mut()
            .ok_or_else(|| ServiceError::WrongState(tr!("no trial is programmed").to_owned()))
    }

    fn require(
        &mut self,
        token: &str,
        now: Timestamp,
        roles: &[UserRole],
    ) -> Result<Caller, ServiceError> {
        Ok(self.auth.require(token, now, roles)?)
    }

    /// Records in the trial log that `caller` did `action` (every logged-in call is logged).
    fn audit(&mut self, caller: &Caller, action: &str, now: Timestamp) {
        if let Some(e) = self.engine.as_mut() {
            e.record_action(now, action, role_of(caller), &caller.name);
        }
    }

    // ---- logins ----------------------------------------------------------------------------

    /// Logs user `user` in with their PIN, from `peer`. A refusal is written to the trial log
    /// (user and time, never the PIN) and to the system journal; a lockout raises a LOW alarm.
    pub fn login(
        &mut self,
        user: &str,
        pin: &str,
        peer: Peer,
        now: Timestamp,
    ) -> Result<(String, Caller), ServiceError> {
        let from = peer.to_string();
        match self.auth.login(user, pin, peer, now) {
            Ok((token, caller)) => {
                tracing::info!(role = caller.role.as_str(), name = %caller.name, from = %from, "login");
                self.audit(&caller, &format!("log in ({from})"), now);
                Ok((token, caller))
            }
            Err(e) => {
                self.record_refusal(user, &e, now);
                Err(e.into())
            }
        }
    }

    /// A second person's check of `caller`'s change: user `id` with their PIN, refusals logged
    /// as for a login.
    fn verify(
        &mut self,
        id: &str,
        pin: &str,
        caller: &Caller,
        now: Timestamp,
    ) -> Result<Caller, ServiceError> {
        self.auth.verifier(id, pin, caller, now).map_err(|e| {
            self.record_refusal(id, &e, now);
            e.into()
        })
    }

    /// Writes a refused login or check to the trial log in hand (with no trial in hand, to the
    /// system journal only) and raises the lockout's alarm.
    fn record_refusal(&mut self, user: &str, e: &AuthError, now: Timestamp) {
        let user = user
            .chars()
            .take(crate::service::auth::MAX_ID)
            .collect::<String>();
        let records = match e {
            AuthError::WrongPin { user: name, .. } => vec![Record::LoginFailed {
                at: now,
                user: user.clone(),
                name: name.clone(),
                locked: false,
            }],
            // Further tries in the same lock: refused, not logged again (a bounded log).
            AuthError::Locked {
                new: false,
                first_refusal: false,
                ..
            } => Vec::new(),
            AuthError::Locked {
                user: name,
                until,
                new,
                ..
            } => {
                let failed = Record::LoginFailed {
                    at: now,
                    user: user.clone(),
                    name: name.clone(),
                    locked: !new,
                };
                if *new {
                    vec![
                        failed,
                        Record::LoginLocked {
                            at: now,
                            user: user.clone(),
                            name: name.clone(),
                            until: *until,
                        },
                    ]
                } else {
                    vec![failed]
                }
            }
            _ => Vec::new(),
        };
        let why = in_english(|| e.to_string());
        tracing::warn!(user = %user, "login refused: {why}");
        if let Some(engine) = self.engine.as_mut() {
            for r in records {
                engine.record_login_refused(r);
            }
        }
    }

    /// Ends the session of `token`, logged.
    pub fn logout(&mut self, token: &str, now: Timestamp) {
        if let Some(caller) = self.auth.logout(token) {
            self.audit(&caller, "log out", now);
        }
    }

    /// Ends every session opened from `peer`, whose connection went away.
    pub fn end_sessions_of(&mut self, peer: &Peer, now: Timestamp) {
        for caller in self.auth.end_sessions_of(peer) {
            self.audit(&caller, "session ended: its connection went away", now);
        }
    }

    /// Refuses `token` from any connection but the one that logged in.
    pub fn check_peer(&self, token: &str, peer: &Peer) -> Result<(), ServiceError> {
        Ok(self.auth.check_peer(token, peer)?)
    }

    /// The staff the login screen lists.
    pub fn staff(&self) -> Vec<crate::service::auth::Staff> {
        self.auth.staff()
    }

    /// Keeps the wrong-PIN counts in `path` across restarts.
    pub fn keep_login_attempts_in(
        &mut self,
        path: PathBuf,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        self.auth
            .keep_attempts_in(path, now)
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }

    // ---- programs --------------------------------------------------------------------------

    /// Runs the power-on self-test on the pump's hardware (done by `new`; again on demand): the
    /// result is kept, logged, and written into the trial in hand's log.
    pub fn run_self_test(&mut self, now: Timestamp) -> &crate::journal::SelfTest {
        let checksums = crate::journal::Checksums {
            drug_library: crate::digest::checksum(&self.library),
            // The configuration and protocol have no serialised form of their own: their
            // parsed content, as Rust prints it, stands for them.
            hardware: crate::digest::sha256_hex(format!("{:?}", self.cfg).as_bytes()),
            protocol: crate::digest::sha256_hex(format!("{:?}", self.protocol).as_bytes()),
        };
        let hw: Option<&mut Hardware> = match (&mut self.engine, &mut self.hw) {
            (Some(e), _) => Some(e.hardware_mut()),
            (None, Some(hw)) => Some(hw),
            (None, None) => None,
        };
        let test = match hw {
            Some(hw) => crate::hw::selftest::run(hw.as_mut(), checksums),
            None => crate::journal::SelfTest {
                checks: vec![crate::journal::Check {
                    name: "hardware".to_owned(),
                    passed: false,
                    detail: "the pump's hardware was lost; restart the pump".to_owned(),
                }],
                checksums,
            },
        };
        if let Some(e) = self.engine.as_mut() {
            e.record_self_test(now, test.clone());
        }
        self.self_test.insert(test)
    }

    /// The self-test's result, if it ran.
    pub fn self_test(&self) -> Option<&crate::journal::SelfTest> {
        self.self_test.as_ref()
    }

    fn self_test_failure(&self) -> String {
        self.self_test
            .as_ref()
            .map_or_else(String::new, crate::journal::SelfTest::failures)
    }

    /// Refuses delivery after a failed self-test, naming what failed.
    fn require_self_test(&self) -> Result<(), ServiceError> {
        match &self.self_test {
            Some(t) if !t.passed() => Err(ServiceError::WrongState(tr!(
                "the pump failed its power-on self-test ({failures}): take it out of use and call technical support",
                failures = t.failures()
            ))),
            _ => Ok(()),
        }
    }

    /// The last local midnight in the pump's time: "today" on every screen begins there. With no
    /// wall clock (simulation), the simulated clock's own midnight: it runs from 2000-01-01
    /// 00:00 UTC (`time::virtual_time`).
    fn midnight(&self, now: Timestamp) -> Timestamp {
        const DAY_MS: u64 = 86_400_000;
        let into_day = self
            .wall
            .as_ref()
            .map_or(now.ms() % DAY_MS, |w| w.since_local_midnight_ms());
        Timestamp::from_ms(now.ms().saturating_sub(into_day))
    }

    /// What the screens show.
    pub fn status(&self, now: Timestamp) -> Status {
        let Some(e) = self.engine.as_ref() else {
            let mut idle = Status::empty(now);
            idle.simulated = self.simulated;
            idle.time_speed = self.time_speed;
            idle.language = Some(crate::core::lang::current());
            idle.self_test_failure = self.self_test_failure();
            idle.startup_check_failure = self.startup_check_failure();
            idle.alarms = self.startup_check_alarms();
            // With no trial in hand there is no alarm to latch: a running lock is shown while
            // it lasts (the trial log's own alarm takes over once a trial is programmed).
            if let Some(since) = self.auth.newest_lock(now) {
                idle.alarms.push(AlarmStatus {
                    kind: crate::core::supervisor::AlarmKind::LoginLocked,
                    priority: Priority::Low,
                    message: crate::core::supervisor::AlarmKind::LoginLocked
                        .message()
                        .to_owned(),
                    since_ms: i64::try_from(since.ms()).unwrap_or(0),
                    silenced_until_ms: -1,
                });
            }
            return idle;
        };
        let unit = e.entry().unit;
        let p: &Program = e.program();
        let basal = e.basal_rate();
        let started = matches!(
            e.state(),
            State::Running | State::Paused | State::Alarm | State::Ended
        );
        let elapsed = if started {
            now.since(e.started_at())
        } else {
            Duration::ZERO
        };
        let next = e.next_bolus_at(now);
        Status {
            state: e.state(),
            simulated: self.simulated,
            time_speed: self.time_speed,
            language: Some(crate::core::lang::current()),
            patient: e.trial().patient.clone(),
            drug: p.drug.clone(),
            concentration: p.concentration.in_unit(unit).to_string(),
            basal_per_day: basal.per_day_in(unit).to_string(),
            basal_per_hour: basal.per_hour_in(unit).to_string(),
            basal_ml_per_hour: p.concentration.volume_rate(basal).per_hour().to_string(),
            dose_unit: Some(unit),
            patient_bolus: p.pca.map_or_else(String::new, |pca| {
                tr!(
                    "{dose} every {lockout} at most, {count} per hour at most",
                    dose = readable::as_prescribed(pca.dose, unit),
                    lockout = readable::duration(pca.lockout, Round::Nearest),
                    count = pca.max_per_hour
                )
            }),
            delivered_today: readable::amount_for(e.delivered_since(self.midnight(now)), unit),
            delivered_total: readable::amount_for(e.delivered_total(), unit),
            delivered_in_window: e
                .window_use(now)
                .map_or_else(String::new, |(w, used, max)| {
                    tr!(
                        "{used} of {max} in the last {window}",
                        used = readable::amount_for(used, unit),
                        max = readable::amount_for(max, unit),
                        window = readable::duration(w, Round::Nearest)
                    )
                }),
            reservoir_remaining: readable::volume(e.reservoir_remaining()),
            // Rounded down: never later than it will be.
            time_to_empty: e
                .time_to_empty()
                .map_or_else(String::new, |d| readable::duration(d, Round::Down)),
            next_bolus: next.map_or_else(String::new, |t| due_words(t.max(now), now)),
            next_bolus_in_s: next.map_or(-1, |t| {
                i64::try_from(t.since(now).ms() / 1000).unwrap_or(-1)
            }),
            alarms: e
                .active_alarms()
                .filter(|a| a.priority != Priority::Info || a.cleared_at.is_none())
                .map(|a| AlarmStatus {
                    kind: a.kind,
                    priority: a.priority,
                    message: a.kind.message().to_owned(),
                    since_ms: i64::try_from(a.raised_at.ms()).unwrap_or(0),
                    silenced_until_ms: a
                        .silenced_until
                        .filter(|&s| s > now)
                        .map_or(-1, |s| i64::try_from(s.ms()).unwrap_or(-1)),
                })
                .collect(),
            outcome_measure: Some(e.entry().outcome),
            pain_prompt: e.entry().outcome == OutcomeMeasure::Pain
                && e.has_started()
                && e.state() != State::Ended
                && self.protocol.diary.pain_due(
                    e.last_pain_at()
                        .map_or(e.started_at(), |t| t.max(e.started_at())),
                    now,
                    self.wall.as_ref().map(|w| w.time_of_day()),
                ),
            pgic_prompt: e.state() == State::Ended && !e.pgic_recorded(),
            catheter_removed: e.catheter_removed(),
            bolus_under_way: e
                .bolus_under_way()
                .map(|(source, dose, given)| BolusUnderWay::of(source, dose, given, unit)),
            held_bolus: e.held_bolus().map_or_else(String::new, |(dose, due)| {
                tr!(
                    "{dose}, due {time} after the start",
                    dose = readable::as_prescribed(dose, unit),
                    time = readable::duration(due.since(e.started_at()), Round::Up)
                )
            }),
            site_check_due: e
                .site_check_due()
                .filter(|_| e.state() != State::Ended && e.has_started())
                .map_or_else(String::new, |t| due_words(t, now)),
            site_check_due_in_s: e
                .site_check_due()
                .filter(|_| e.state() != State::Ended && e.has_started())
                .map(|t| {
                    if t < now {
                        -i64::try_from(now.since(t).ms() / 1000).unwrap_or(i64::MAX)
                    } else {
                        i64::try_from(t.since(now).ms() / 1000).unwrap_or(i64::MAX)
                    }
                }),
            self_test_failure: self.self_test_failure(),
            startup_check_failure: self.startup_check_failure(),
            health_failure: self
                .health(now)
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            sounding: e.sounding(),
            log_budget: self.log_budget_text(),
            elapsed_s: elapsed.ms() / 1000,
            remaining_s: e.trial().duration.saturating_sub(elapsed).ms() / 1000,
            now_ms: now.ms(),
        }
    }
}

/// When `t` comes, seen from `now`, in words in the language in use: "now", "in 3 h 20 min"
/// (rounded up: never sooner than it will be), or "overdue" once it has passed.
fn due_words(t: Timestamp, now: Timestamp) -> String {
    if t < now {
        tr!("overdue").to_owned()
    } else if t == now {
        tr!("now").to_owned()
    } else {
        tr!(
            "in {time}",
            time = readable::duration(t.since(now), Round::Up)
        )
    }
}

fn role_of(caller: &Caller) -> Role {
    match caller.role {
        UserRole::Nurse => Role::Nurse,
        UserRole::Clinician => Role::Clinician,
    }
}
