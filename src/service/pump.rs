//! The pump as the daemon holds it: the hardware, the engine of the trial in progress (if any),
//! the trial log and the logins, behind the calls the D-Bus interface offers. Every call names
//! its time; every call that needs a role checks it first; every refusal is a typed error a
//! nurse can read.

use std::path::PathBuf;

use serde::Serialize;

use crate::core::diary::{Ashworth, OutcomeMeasure, pgic_label};
use crate::core::dose::{Denial, PcaDecision};
use crate::core::finding::{Class, Finding};
use crate::core::library::DrugLibrary;
use crate::core::observation::BodyTemp;
use crate::core::program::{self, Program};
use crate::core::site::SiteFinding;
use crate::core::supervisor::{Priority, State};
use crate::core::units::{Amount, AmountRate, Duration, Timestamp, Volume};
use crate::engine::{Engine, EngineError};
use crate::hw::PumpHardware;
use crate::input::check::{self, CheckReport, LibrarySource};
use crate::input::hardware::HardwareConfig;
use crate::input::scenario::Scenario;
use crate::journal::{Record, Role};
use crate::journal::{Severity, SideEffect};
use crate::report::summary::{self, Summary};
use crate::service::auth::{Auth, AuthError, Caller, UserRole};
use crate::store::TrialLog;
use crate::time::WallClock;

pub type Hardware = Box<dyn PumpHardware + Send>;

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
            EngineError::Lookup(m) => ServiceError::InvalidInput(m),
            EngineError::Hardware(h) => ServiceError::Internal(h.to_string()),
        }
    }
}

/// The longest note a clinician may attach to an assessment or a review.
pub const MAX_NOTE: usize = crate::journal::MAX_NOTE;

/// A finding as it crosses D-Bus: (field, value, limit, class, message).
pub type Finding5 = (String, String, String, String, String);

fn class_name(class: Class) -> String {
    serde_json::to_value(class)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A verdict's class ("ok", "soft", "hard") and its findings, as clients get them.
pub fn verdict_tuple(verdict: &crate::core::finding::Verdict) -> (String, Vec<Finding5>) {
    let findings = verdict
        .findings
        .iter()
        .map(|f| {
            (
                f.field.clone(),
                f.value.clone(),
                f.limit.clone(),
                class_name(f.class),
                f.message.clone(),
            )
        })
        .collect();
    (class_name(verdict.class()), findings)
}

/// A drug, route and concentration the library allows, and the unit its doses are written in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, zbus::zvariant::Type)]
pub struct LibraryChoice {
    pub drug: String,
    pub route: String,
    pub concentration: String,
    pub unit: String,
}

/// One active alarm, as clients show it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct AlarmStatus {
    pub kind: String,
    pub priority: String,
    pub message: String,
    pub since_ms: i64,
    /// -1 when not silenced.
    pub silenced_until_ms: i64,
}

/// Everything a screen shows, with units written out for people.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Status {
    pub state: String,
    pub simulated: bool,
    pub patient: String,
    pub drug: String,
    pub concentration: String,
    pub basal_per_day: String,
    pub basal_per_hour: String,
    pub basal_ml_per_hour: String,
    /// The unit the drug's doses are written in ("mg" or "mcg"; "" with no trial).
    #[serde(default)]
    pub dose_unit: String,
    pub patient_bolus: String,
    pub delivered_today: String,
    pub delivered_total: String,
    pub delivered_in_window: String,
    pub reservoir_remaining: String,
    pub time_to_empty: String,
    /// "now", "at T+…", or "" when patient boluses cannot be given.
    pub next_bolus: String,
    /// Seconds until the next patient bolus, -1 when none can be given.
    pub next_bolus_in_s: i64,
    pub alarms: Vec<AlarmStatus>,
    /// What the trial is judged on: "pain" or "spasticity" ("" with no trial).
    #[serde(default)]
    pub outcome_measure: String,
    /// The patient screen asks for a pain score and the function question now.
    #[serde(default)]
    pub pain_prompt: bool,
    /// The trial has ended and the patient has not yet given the impression of change.
    #[serde(default)]
    pub pgic_prompt: bool,
    /// When the next catheter site check is due: "in 3h 20min", "overdue", or "" when none.
    #[serde(default)]
    pub site_check_due: String,
    /// What the power-on self-test found wrong ("" when it passed): the pump then refuses to
    /// deliver.
    #[serde(default)]
    pub self_test_failure: String,
    pub elapsed_s: u64,
    pub remaining_s: u64,
    /// The pump's clock, ms.
    pub now_ms: u64,
}

impl Status {
    /// A status with nothing in it (before the service answered).
    pub fn empty(now: Timestamp) -> Status {
        Status {
            state: String::new(),
            simulated: false,
            patient: String::new(),
            drug: String::new(),
            concentration: String::new(),
            basal_per_day: String::new(),
            basal_per_hour: String::new(),
            basal_ml_per_hour: String::new(),
            dose_unit: String::new(),
            patient_bolus: String::new(),
            delivered_today: String::new(),
            delivered_total: String::new(),
            delivered_in_window: String::new(),
            reservoir_remaining: String::new(),
            time_to_empty: String::new(),
            next_bolus: String::new(),
            next_bolus_in_s: -1,
            alarms: Vec::new(),
            outcome_measure: String::new(),
            pain_prompt: false,
            pgic_prompt: false,
            site_check_due: String::new(),
            self_test_failure: String::new(),
            elapsed_s: 0,
            remaining_s: 0,
            now_ms: now.ms(),
        }
    }
}

/// The status as a nurse reads it in a terminal.
pub fn render_status(s: &Status) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if s.simulated {
        let _ = writeln!(out, "SIMULATED HARDWARE");
    }
    let _ = writeln!(out, "Pump: {}", s.state);
    if !s.self_test_failure.is_empty() {
        let _ = writeln!(
            out,
            "SELF-TEST FAILED: {} — the pump will not deliver",
            s.self_test_failure
        );
    }
    if s.patient.is_empty() {
        let _ = writeln!(out, "No trial programmed.");
        return out;
    }
    let _ = writeln!(out, "Patient {}: {} {}", s.patient, s.drug, s.concentration);
    let _ = writeln!(
        out,
        "Basal {} ({}, {})",
        s.basal_per_day, s.basal_per_hour, s.basal_ml_per_hour
    );
    if !s.patient_bolus.is_empty() {
        let next = if s.next_bolus.is_empty() {
            "not now".to_owned()
        } else {
            s.next_bolus.clone()
        };
        let _ = writeln!(out, "Patient bolus {} (next: {next})", s.patient_bolus);
    }
    let _ = writeln!(
        out,
        "Delivered today {}, in total {}",
        s.delivered_today, s.delivered_total
    );
    if !s.delivered_in_window.is_empty() {
        let _ = writeln!(out, "Limit: {}", s.delivered_in_window);
    }
    let _ = writeln!(
        out,
        "Reservoir {} left{}",
        s.reservoir_remaining,
        if s.time_to_empty.is_empty() {
            String::new()
        } else {
            format!(", empty in {}", s.time_to_empty)
        }
    );
    let _ = writeln!(
        out,
        "Trial: {} s elapsed, {} s remaining",
        s.elapsed_s, s.remaining_s
    );
    for a in &s.alarms {
        let _ = writeln!(out, "ALARM {}: {}", a.priority.to_uppercase(), a.message);
    }
    out
}

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
}

/// Who the demo's pre-trial checklist is recorded as confirmed by.
pub const DEMO_CHECKLIST_BY: &str = "demo setup (simulated hardware)";

/// The longest planned-implant text (a pump model and catheter, in a line or two).
pub const MAX_IMPLANT: usize = 200;

/// One item of the pre-trial checklist as clients show it: id, the nurse's text, whether it is
/// confirmed, by whom and when (the pump's clock, ms; -1 when not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, zbus::zvariant::Type)]
pub struct ChecklistLine {
    pub id: String,
    pub text: String,
    pub confirmed: bool,
    pub confirmed_by: String,
    pub confirmed_at_ms: i64,
}

/// The checklist as clients get it: the items, and the override ("" when none): who, why.
pub type ChecklistView = (Vec<ChecklistLine>, String, String);

/// A note or reason as typed: trimmed, at most `MAX_NOTE` characters, and required when
/// `required` says what to write.
fn note_field(field: &str, text: &str, required: Option<&str>) -> Result<String, ServiceError> {
    let text = text.trim();
    if text.is_empty()
        && let Some(what) = required
    {
        return Err(ServiceError::InvalidInput(format!("{field}: {what}")));
    }
    let chars = text.chars().count();
    if chars > MAX_NOTE {
        return Err(ServiceError::InvalidInput(format!(
            "{field}: {chars} characters is more than the {MAX_NOTE} allowed"
        )));
    }
    Ok(text.to_owned())
}

/// Vital signs as a nurse enters them; 0 for one not taken.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Vitals {
    pub respiratory_rate: u16,
    pub heart_rate: u16,
    /// %.
    pub spo2: u8,
    /// °C, to a tenth.
    pub temperature_c: f64,
}

/// A duration to whole minutes, for people (a countdown in seconds is noise on a status line).
fn round_to_minutes(d: Duration) -> Duration {
    Duration::from_mins(d.ms().div_ceil(60_000))
}

/// A body temperature as entered, refused naming the field outside 25 to 45 °C.
fn body_temp(celsius: f64) -> Result<BodyTemp, ServiceError> {
    BodyTemp::from_celsius(celsius)
        .map_err(|e| ServiceError::InvalidInput(format!("temperature_c: {e}")))
}

impl PumpService {
    /// The service at `now`. An unfinished trial in the log at `log_path` is recovered: the pump
    /// comes up stopped with a HIGH "power restored" alarm.
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
        };
        service.recover(now)?;
        service.run_self_test(now);
        Ok(service)
    }

    /// The demonstration pump: simulated hardware with a full syringe, the built-in hardware
    /// profile and example drug library, the demo users, and no trial log (the desktop demo,
    /// the screenshots and the tests; never the pump).
    pub fn simulated_demo(now: Timestamp) -> Result<PumpService, ServiceError> {
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
        let mut service = PumpService::new(cfg, library, source, auth, hw, None, now)?;
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

    /// Uses the site's protocol (the implant rule of the summary) instead of the built-in example.
    pub fn set_protocol(&mut self, protocol: crate::input::protocol::Protocol) {
        self.protocol = protocol;
    }

    /// Dates trials by this wall clock from now on (without one, by the virtual clock that starts
    /// at 2000-01-01, as in simulation).
    pub fn set_wall_clock(&mut self, wall: Box<dyn WallClock>) {
        self.wall = Some(wall);
    }

    /// The time the pump's clock must not run behind after a restart: the newest record of an
    /// unfinished trial in the log.
    pub fn resume_time(log_path: &std::path::Path) -> Option<Timestamp> {
        let mut log = TrialLog::open(log_path).ok()?;
        let stored = log.latest_trial().ok()?;
        let records = log.records(stored.id).ok()?;
        let ended = records.iter().any(|r| {
            matches!(
                r,
                Record::StateChanged {
                    to: State::Ended,
                    ..
                }
            )
        });
        (!ended)
            .then(|| records.iter().map(Record::at).max())
            .flatten()
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
        let Ok(stored) = log.latest_trial() else {
            return Ok(());
        };
        let records = log
            .records(stored.id)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
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
            return Ok(());
        }
        self.started_wall = stored.started_wall.clone();
        let hw = self
            .hw
            .take()
            .ok_or_else(|| ServiceError::Internal("no hardware".to_owned()))?;
        let signalled = records.len();
        let engine = Engine::recover(
            hw,
            &self.cfg,
            &self.library,
            stored.trial,
            stored.program,
            records,
            now,
            Some(Box::new(log)),
        )?;
        tracing::warn!(patient = %engine.trial().patient, "trial recovered from the log");
        self.signalled = signalled;
        self.engine = Some(engine);
        Ok(())
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

    fn engine_mut(&mut self) -> Result<&mut Engine<Hardware>, ServiceError> {
        self.engine
            .as_mut()
            .ok_or_else(|| ServiceError::WrongState("no trial is programmed".to_owned()))
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

    pub fn login(&mut self, pin: &str, now: Timestamp) -> Result<(String, Caller), ServiceError> {
        let r = self.auth.login(pin, now)?;
        tracing::info!(role = r.1.role.as_str(), name = %r.1.name, "login");
        Ok(r)
    }

    pub fn logout(&mut self, token: &str) {
        self.auth.logout(token);
    }

    // ---- programs --------------------------------------------------------------------------

    fn parse(&self, text: &str) -> Result<Scenario, ServiceError> {
        Scenario::from_toml_str(text, "program")
            .map_err(|e| ServiceError::InvalidInput(e.to_string()))
    }

    /// Checks a program (the `[trial]` and `[program]` tables) against the library.
    /// The mechanism's own limits (pump rate, syringe size) are checked too, so that what
    /// passes here is what `start_trial` accepts.
    pub fn validate(&self, text: &str) -> Result<CheckReport, ServiceError> {
        let scenario = self.parse(text)?;
        let mut report = check::check_scenario(&scenario, &self.library, self.source.clone());
        report.verdict.extend(crate::engine::mechanism_verdict(
            &scenario.program,
            &scenario.program.max_rate(),
            &self.cfg,
        ));
        report.class = report.verdict.class();
        Ok(report)
    }

    /// What the drug library in force offers, for the start-trial wizard: one entry per drug,
    /// route and concentration, in the library's order.
    pub fn library_choices(&self) -> Vec<LibraryChoice> {
        self.library
            .entries
            .iter()
            .map(|e| LibraryChoice {
                drug: e.drug.clone(),
                route: e.route.to_string(),
                concentration: e.concentration.in_unit(e.unit).to_string(),
                unit: e.unit.to_string(),
            })
            .collect()
    }

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
            Some(t) if !t.passed() => Err(ServiceError::WrongState(format!(
                "the pump failed its power-on self-test ({}): take it out of use and call technical support",
                t.failures()
            ))),
            _ => Ok(()),
        }
    }

    /// Programs a new trial: checked against the library and the mechanism; settings outside
    /// the usual range need `confirm_soft`; a second nurse or clinician verifies with their PIN.
    pub fn start_trial(
        &mut self,
        token: &str,
        text: &str,
        confirm_soft: bool,
        verifier_pin: &str,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        self.require_self_test()?;
        if self
            .engine
            .as_ref()
            .is_some_and(|e| e.state() != State::Ended)
        {
            return Err(ServiceError::WrongState(
                "a trial is in progress: end it before starting another".to_owned(),
            ));
        }
        let scenario = self.parse(text)?;
        let report = check::check_scenario(&scenario, &self.library, self.source.clone());
        if report.class == Class::Hard {
            return Err(ServiceError::LimitExceeded(first_hard(
                &report.verdict.findings,
            )));
        }
        if report.class == Class::Soft && !confirm_soft {
            let soft: Vec<String> = report
                .verdict
                .problems()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect();
            return Err(ServiceError::InvalidInput(format!(
                "settings outside the usual range need confirmation: {}",
                soft.join("; ")
            )));
        }
        let mechanism = crate::engine::mechanism_verdict(
            &scenario.program,
            &scenario.program.max_rate(),
            &self.cfg,
        );
        if mechanism.is_rejected() {
            return Err(ServiceError::LimitExceeded(first_hard(&mechanism.findings)));
        }
        let verifier = self.auth.verifier(verifier_pin, &caller, now)?;
        let hw = match self.engine.take() {
            Some(old) => old.into_hardware(),
            None => self
                .hw
                .take()
                .ok_or_else(|| ServiceError::Internal("no hardware".to_owned()))?,
        };
        let role = role_of(&caller);
        let mut engine = match Engine::new(
            hw,
            &self.cfg,
            scenario.trial.clone(),
            scenario.program.clone(),
            &self.library,
            now,
            Some(role),
        ) {
            Ok(e) => e,
            Err(e) => {
                // Everything Engine::new checks was checked above, so this is a hardware
                // failure; the hardware went with it, and the daemon can only be restarted.
                tracing::error!(error = %e, "programming failed");
                return Err(ServiceError::Internal(format!(
                    "the pump could not be programmed ({e}); restart it"
                )));
            }
        };
        if let Err(e) = self.begin_logging(&mut engine, &scenario, now) {
            // Keep the hardware for the next attempt; nothing was programmed.
            self.hw = Some(engine.into_hardware());
            return Err(e);
        }
        if let Err(e) = self.require_checklist(&mut engine, &scenario, now) {
            self.hw = Some(engine.into_hardware());
            return Err(e);
        }
        tracing::info!(by = %caller.name, verified_by = %verifier.name, "trial programmed and verified");
        self.signalled = 0;
        self.engine = Some(engine);
        let action = format!(
            "program the trial, verified by {} ({})",
            verifier.name,
            verifier.role.as_str()
        );
        self.audit(&caller, &action, now);
        Ok(())
    }

    /// Starts the new trial's log and verifies the program in the engine.
    fn begin_logging(
        &mut self,
        engine: &mut Engine<Hardware>,
        scenario: &Scenario,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        if let Some(mut log) = self.open_log()? {
            let sha = crate::digest::checksum(&self.library);
            self.started_wall = self
                .wall
                .as_ref()
                .map(|w| crate::time::rfc3339(w.unix_ms()));
            log.begin_trial(
                &scenario.trial,
                &scenario.program,
                now.ms(),
                &sha,
                self.simulated,
                self.started_wall.as_deref(),
            )
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
            engine.attach_sink(Box::new(log), now)?;
        }
        if let Some(test) = &self.self_test {
            engine.record_self_test(now, test.clone());
        }
        engine.verify(now)?;
        Ok(())
    }

    /// Records the site's pre-trial checklist items that apply to the trial (delivery waits for
    /// them), confirmed at once by the demo setup when that is on.
    fn require_checklist(
        &self,
        engine: &mut Engine<Hardware>,
        scenario: &Scenario,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let items = self.protocol.checklist_for(&scenario.trial);
        let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
        engine.require_checklist(now, items)?;
        engine.require_site_checks(now, self.protocol.site_rule())?;
        if self.demo_checklist {
            for id in &ids {
                engine.confirm_checklist_item(now, id, Role::Pump, DEMO_CHECKLIST_BY)?;
            }
        }
        Ok(())
    }

    // ---- the pre-trial checklist ----------------------------------------------------------

    /// The trial's pre-trial checklist: each item that applies with who confirmed it and when,
    /// and the override (who, why; "" when none). Empty when the trial has none.
    pub fn checklist(
        &mut self,
        token: &str,
        now: Timestamp,
    ) -> Result<ChecklistView, ServiceError> {
        self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        let engine = self
            .engine
            .as_ref()
            .ok_or_else(|| ServiceError::WrongState("no trial is programmed".to_owned()))?;
        let Some(list) = engine.checklist() else {
            return Ok((Vec::new(), String::new(), String::new()));
        };
        let lines = list
            .items
            .iter()
            .zip(&list.confirmed)
            .map(|(item, c)| ChecklistLine {
                id: item.id.clone(),
                text: item.text.clone(),
                confirmed: c.is_some(),
                confirmed_by: c.as_ref().map_or_else(String::new, |c| c.name.clone()),
                confirmed_at_ms: c
                    .as_ref()
                    .map_or(-1, |c| i64::try_from(c.at.ms()).unwrap_or(-1)),
            })
            .collect();
        let (by, reason) = list
            .overridden
            .map_or_else(Default::default, |o| (o.name, o.reason));
        Ok((lines, by, reason))
    }

    /// A nurse (or clinician) confirms one item of the pre-trial checklist, by its id. Returns
    /// the ids still open. Confirming an item twice changes nothing.
    pub fn confirm_checklist_item(
        &mut self,
        token: &str,
        id: &str,
        now: Timestamp,
    ) -> Result<Vec<String>, ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        let id = id.trim();
        let name = caller.name.clone();
        let engine = self.engine_mut()?;
        let new = engine.confirm_checklist_item(now, id, role_of(&caller), &name)?;
        let open = engine
            .checklist()
            .map(|l| l.open().iter().map(|i| i.id.clone()).collect())
            .unwrap_or_default();
        if new {
            self.audit(&caller, &format!("confirm checklist item {id}"), now);
        }
        Ok(open)
    }

    /// A clinician lets delivery start with the checklist items still open, for a written
    /// reason (required, at most 500 characters). Returns the ids overridden.
    pub fn override_checklist(
        &mut self,
        token: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<Vec<String>, ServiceError> {
        let caller = self.require(token, now, &[UserRole::Clinician])?;
        let reason = note_field(
            "reason",
            reason,
            Some("write why the trial may start with these items open"),
        )?;
        let name = caller.name.clone();
        let open = self.engine_mut()?.override_checklist(now, &reason, &name)?;
        self.audit(
            &caller,
            &format!("override the pre-trial checklist ({})", open.join(", ")),
            now,
        );
        Ok(open)
    }

    pub fn prime(&mut self, token: &str, now: Timestamp) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        self.require_self_test()?;
        let volume = self.cfg.mechanism.prime_volume;
        self.engine_mut()?.prime(now, volume)?;
        self.audit(&caller, "prime", now);
        Ok(())
    }

    pub fn start(&mut self, token: &str, now: Timestamp) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        self.require_self_test()?;
        self.engine_mut()?.start(now)?;
        self.audit(&caller, "start", now);
        Ok(())
    }

    pub fn pause(&mut self, token: &str, now: Timestamp) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        self.engine_mut()?.pause(now)?;
        self.audit(&caller, "pause", now);
        Ok(())
    }

    pub fn resume(&mut self, token: &str, now: Timestamp) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        self.require_self_test()?;
        self.engine_mut()?.resume(now)?;
        self.audit(&caller, "resume", now);
        Ok(())
    }

    pub fn end_trial(&mut self, token: &str, now: Timestamp) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        self.audit(&caller, "end trial", now);
        self.engine_mut()?.end(now)?;
        Ok(())
    }

    /// What changing the basal rate to `basal` would mean, before anyone confirms it: the
    /// findings (class and list, as `validate` gives them) and the old and new rate, each as
    /// "per day (per hour, mL/h)".
    pub fn check_basal(
        &self,
        basal: &str,
        now: Timestamp,
    ) -> Result<(String, Vec<Finding5>, String, String), ServiceError> {
        let (basal, engine) = self.basal_request(basal)?;
        let (class, findings) = verdict_tuple(&engine.rate_change_verdict(now, basal));
        let unit = engine.entry().unit;
        let c = engine.program().concentration;
        let words = |r: AmountRate| {
            format!(
                "{} ({}, {})",
                r.per_day_in(unit),
                r.per_hour_in(unit),
                c.volume_rate(r).per_hour()
            )
        };
        Ok((class, findings, words(engine.basal_rate()), words(basal)))
    }

    /// A new basal rate as typed, and the trial it is for.
    fn basal_request(&self, basal: &str) -> Result<(AmountRate, &Engine<Hardware>), ServiceError> {
        let basal: AmountRate = crate::core::units::parse_field("basal", basal)
            .map_err(|e| ServiceError::InvalidInput(e.to_string()))?;
        let engine = self
            .engine
            .as_ref()
            .ok_or_else(|| ServiceError::WrongState("no trial is programmed".to_owned()))?;
        Ok((basal, engine))
    }

    /// A clinician changes the basal rate; a second person verifies. Returns (old, new).
    pub fn change_basal(
        &mut self,
        token: &str,
        basal: &str,
        confirm_soft: bool,
        verifier_pin: &str,
        now: Timestamp,
    ) -> Result<(String, String), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Clinician])?;
        let (basal, engine) = self.basal_request(basal)?;
        let verdict = engine.rate_change_verdict(now, basal);
        if verdict.is_rejected() {
            return Err(ServiceError::LimitExceeded(first_hard(&verdict.findings)));
        }
        if verdict.class() == Class::Soft && !confirm_soft {
            return Err(ServiceError::InvalidInput(format!(
                "needs confirmation: {}",
                first_hard(&verdict.problems().cloned().collect::<Vec<_>>())
            )));
        }
        let verifier = self.auth.verifier(verifier_pin, &caller, now)?;
        let engine = self.engine_mut()?;
        let unit = engine.entry().unit;
        let old = engine.basal_rate();
        engine.change_rate(now, basal, confirm_soft)?;
        let (old, new) = (
            old.per_day_in(unit).to_string(),
            basal.per_day_in(unit).to_string(),
        );
        let action = format!("change basal {old} to {new}, verified by {}", verifier.name);
        self.audit(&caller, &action, now);
        Ok((old, new))
    }

    pub fn clinician_bolus(
        &mut self,
        token: &str,
        dose: &str,
        confirm_soft: bool,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        self.require(token, now, &[UserRole::Clinician])?;
        let dose: Amount = crate::core::units::parse_field("dose", dose)
            .map_err(|e| ServiceError::InvalidInput(e.to_string()))?;
        let engine = self.engine_mut()?;
        let verdict = program::check_clinician_bolus(engine.entry(), "dose", dose);
        if verdict.is_rejected() {
            return Err(ServiceError::LimitExceeded(first_hard(&verdict.findings)));
        }
        engine
            .clinician_bolus(now, dose, confirm_soft)
            .map_err(|e| match e {
                EngineError::Refused(m) if m.contains("limit") => ServiceError::LimitExceeded(m),
                other => other.into(),
            })
    }

    /// The patient presses the bolus button. A denial is an error that says why and when.
    pub fn request_bolus(&mut self, now: Timestamp) -> Result<String, ServiceError> {
        let engine = self.engine_mut()?;
        let unit = engine.entry().unit;
        match engine.request_pca(now) {
            PcaDecision::Granted { dose } => {
                Ok(format!("Bolus of {} started.", dose.in_unit(unit)))
            }
            PcaDecision::Denied {
                denial,
                available_at,
            } => {
                let when =
                    available_at.map(|t| format!(" Next dose available in {}.", t.since(now)));
                let message = format!("{}{}", denial.explain(), when.unwrap_or_default());
                let available_at_ms =
                    available_at.map_or(-1, |t| i64::try_from(t.ms()).unwrap_or(-1));
                Err(match denial {
                    Denial::Lockout { .. } | Denial::HourlyCount { .. } => {
                        ServiceError::LockoutActive {
                            message,
                            available_at_ms,
                        }
                    }
                    Denial::Cap { .. } => ServiceError::LimitExceeded(message),
                    Denial::NotPrescribed => ServiceError::NotAuthorised(message),
                    Denial::BolusInProgress
                    | Denial::NotDelivering
                    | Denial::SedationHold
                    | Denial::ObservationOverdue => ServiceError::WrongState(message),
                })
            }
        }
    }

    pub fn record_pain(&mut self, value: u8, now: Timestamp) -> Result<(), ServiceError> {
        if value > 10 {
            return Err(ServiceError::InvalidInput(format!(
                "pain: {value} is outside 0 to 10"
            )));
        }
        self.engine_mut()?.record_pain(now, value);
        Ok(())
    }

    /// The diary's function question and its answers, least function first.
    pub fn diary_question(&self) -> (String, Vec<String>) {
        let d = &self.protocol.diary;
        (d.function_question.clone(), d.function_answers.clone())
    }

    /// The patient's answer to the function question: `level` 1 is the first answer.
    pub fn record_function(&mut self, level: u8, now: Timestamp) -> Result<(), ServiceError> {
        let (question, answers) = self.diary_question();
        let answer = usize::from(level)
            .checked_sub(1)
            .and_then(|i| answers.get(i))
            .ok_or_else(|| {
                ServiceError::InvalidInput(format!(
                    "function: answer {level} is outside 1 to {}",
                    answers.len()
                ))
            })?
            .clone();
        self.engine_mut()?
            .record_function(now, &question, &answer, level);
        Ok(())
    }

    /// The patient's global impression of change, 1 (very much improved) to 7 (very much
    /// worse); asked once the trial has ended, accepted once.
    pub fn record_pgic(&mut self, value: u8, now: Timestamp) -> Result<(), ServiceError> {
        if pgic_label(value).is_none() {
            return Err(ServiceError::InvalidInput(format!(
                "pgic: {value} is outside 1 (very much improved) to 7 (very much worse)"
            )));
        }
        let engine = self.engine_mut()?;
        if engine.pgic_recorded() {
            return Err(ServiceError::WrongState(
                "the patient's impression of change is already recorded".to_owned(),
            ));
        }
        engine.record_pgic(now, value);
        Ok(())
    }

    /// A spasticity score on the Modified Ashworth Scale ("0", "1", "1+", "2", "3", "4") and
    /// the muscles assessed (at most 500 characters), by a nurse or clinician.
    pub fn record_spasticity(
        &mut self,
        token: &str,
        score: &str,
        muscles: &str,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        let score: Ashworth = score.parse().map_err(ServiceError::InvalidInput)?;
        let muscles = note_field("muscles", muscles, None)?;
        let name = caller.name.clone();
        self.engine_mut()?
            .record_spasticity(now, score, &muscles, role_of(&caller), &name);
        self.audit(&caller, "record spasticity", now);
        Ok(())
    }

    pub fn record_side_effect(
        &mut self,
        effect: &str,
        severity: &str,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let effect: SideEffect =
            serde_json::from_value(serde_json::Value::String(effect.to_owned())).map_err(|_| {
                ServiceError::InvalidInput(format!(
                    "effect: \"{effect}\" is not a known side effect"
                ))
            })?;
        let severity: Severity = serde_json::from_value(serde_json::Value::String(
            severity.to_owned(),
        ))
        .map_err(|_| {
            ServiceError::InvalidInput(format!(
                "severity: \"{severity}\" is not mild, moderate or severe"
            ))
        })?;
        self.engine_mut()?.record_side_effect(now, effect, severity);
        Ok(())
    }

    /// The clinician's assessment of the trial (success, failure, inconclusive) with a note of
    /// at most 500 characters; recorded in the log for the summary.
    pub fn record_assessment(
        &mut self,
        token: &str,
        outcome: &str,
        note: &str,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Clinician])?;
        let outcome: crate::journal::Outcome =
            outcome.parse().map_err(ServiceError::InvalidInput)?;
        let chars = note.chars().count();
        if chars > MAX_NOTE {
            return Err(ServiceError::InvalidInput(format!(
                "note: {chars} characters is more than the {MAX_NOTE} allowed"
            )));
        }
        self.engine_mut()?
            .record_assessment(now, outcome, note, &caller.name);
        self.audit(&caller, &format!("assess the trial: {outcome}"), now);
        Ok(())
    }

    /// The clinician's decision once the trial has ended: the outcome (success, failure,
    /// inconclusive) with its reasons (required), the patient's wish to proceed (yes, no,
    /// undecided) and the implant planned (pump model or device, free text; "" for none). A
    /// planned implant needs the starting dose confirmed on the worksheet first (it is the
    /// implant's starting dose), and is refused after a failed trial or when the patient does
    /// not wish to proceed. A later decision replaces an earlier one.
    pub fn record_decision(
        &mut self,
        token: &str,
        outcome: &str,
        reasons: &str,
        wish: &str,
        implant: &str,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Clinician])?;
        if self.state() != State::Ended {
            return Err(ServiceError::WrongState(
                "end the trial before recording the decision".to_owned(),
            ));
        }
        let outcome: crate::journal::Outcome =
            outcome.trim().parse().map_err(ServiceError::InvalidInput)?;
        let wish: crate::journal::Wish = wish.trim().parse().map_err(ServiceError::InvalidInput)?;
        let reasons = note_field(
            "reasons",
            reasons,
            Some("write why the trial is judged a success, a failure or inconclusive"),
        )?;
        let implant = implant.trim();
        let chars = implant.chars().count();
        if chars > MAX_IMPLANT {
            return Err(ServiceError::InvalidInput(format!(
                "implant: {chars} characters is more than the {MAX_IMPLANT} allowed"
            )));
        }
        if !implant.is_empty() {
            if outcome == crate::journal::Outcome::Failure {
                return Err(ServiceError::InvalidInput(
                    "implant: a failed trial plans no implant; leave it empty, or record the outcome as success or inconclusive"
                        .to_owned(),
                ));
            }
            if wish == crate::journal::Wish::No {
                return Err(ServiceError::InvalidInput(
                    "implant: the patient does not wish to proceed; leave it empty".to_owned(),
                ));
            }
            if !self.summary(token, now)?.implant.confirmed {
                return Err(ServiceError::WrongState(
                    "confirm the implant's starting dose on the worksheet before planning the implant"
                        .to_owned(),
                ));
            }
        }
        let name = caller.name.clone();
        self.engine_mut()?.record_decision(
            now,
            outcome,
            &reasons,
            Some(wish),
            (!implant.is_empty()).then_some(implant),
            &name,
        );
        self.audit(
            &caller,
            &format!("decide: {outcome}, patient wishes to proceed: {wish}"),
            now,
        );
        Ok(())
    }

    /// Records that the catheter was taken out, now, by the caller, with a note (optional, at
    /// most 500 characters: e.g. "tip intact, site clean"). Refused before the trial ended and
    /// a second time.
    pub fn record_catheter_removal(
        &mut self,
        token: &str,
        note: &str,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        let note = note_field("note", note, None)?;
        let name = caller.name.clone();
        self.engine_mut()?
            .record_catheter_removal(now, role_of(&caller), &name, &note)?;
        self.audit(&caller, "record the catheter's removal", now);
        Ok(())
    }

    /// Records a sedation score (POSS 1–4). At or above the drug library's hold (POSS 3 as
    /// shipped) delivery stops with a HIGH alarm and patient boluses are refused until a
    /// clinician reviews (`review_sedation`).
    pub fn record_sedation(
        &mut self,
        token: &str,
        poss: u8,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        if !(1..=4).contains(&poss) {
            return Err(ServiceError::InvalidInput(format!(
                "sedation: {poss} is outside POSS 1 to 4"
            )));
        }
        self.engine_mut()?.record_sedation(now, poss);
        self.audit(&caller, "record sedation", now);
        Ok(())
    }

    /// Records vital signs, each 0 when not taken. A respiratory rate below the library's hold
    /// stops delivery (the sedation interlock); a temperature at or above the protocol's fever
    /// threshold raises "possible infection".
    pub fn record_vitals(
        &mut self,
        token: &str,
        vitals: Vitals,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        if vitals.spo2 > 100 {
            return Err(ServiceError::InvalidInput(format!(
                "spo2: {} is above 100 %",
                vitals.spo2
            )));
        }
        let temperature = if vitals.temperature_c == 0.0 {
            None
        } else {
            Some(body_temp(vitals.temperature_c)?)
        };
        let opt = |v: u16| (v > 0).then_some(v);
        self.engine_mut()?.record_vitals(
            now,
            opt(vitals.respiratory_rate),
            opt(vitals.heart_rate),
            (vitals.spo2 > 0).then_some(vitals.spo2),
            temperature,
        );
        self.audit(&caller, "record vital signs", now);
        Ok(())
    }

    /// A nurse's check of the catheter site: the temperature and the findings (words of
    /// `SiteFinding`, none when the site is clean). Fever or a finding raises the MEDIUM alarm
    /// "possible infection"; a clean check lifts it; either way the next check is due an
    /// interval later.
    pub fn record_site_check(
        &mut self,
        token: &str,
        temperature_c: f64,
        findings: &[String],
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        let temperature = body_temp(temperature_c)?;
        let findings = findings
            .iter()
            .map(|f| f.parse::<SiteFinding>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(ServiceError::InvalidInput)?;
        let name = caller.name.clone();
        self.engine_mut()?
            .record_site_check(now, temperature, &findings, role_of(&caller), &name);
        self.audit(&caller, "record a catheter site check", now);
        Ok(())
    }

    /// A clinician reviewed the patient after sedation or slow breathing stopped delivery: the
    /// review and its note (required, at most 500 characters) go to the trial log and the hold
    /// is lifted; a nurse then resumes. Acknowledging the alarm does not do this.
    pub fn review_sedation(
        &mut self,
        token: &str,
        note: &str,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Clinician])?;
        let note = note.trim();
        if note.is_empty() {
            return Err(ServiceError::InvalidInput(
                "note: write what the review found and decided".to_owned(),
            ));
        }
        let chars = note.chars().count();
        if chars > MAX_NOTE {
            return Err(ServiceError::InvalidInput(format!(
                "note: {chars} characters is more than the {MAX_NOTE} allowed"
            )));
        }
        let name = caller.name.clone();
        self.engine_mut()?.review_sedation(now, note, &name)?;
        self.audit(&caller, "review the sedation hold", now);
        Ok(())
    }

    pub fn acknowledge(&mut self, token: &str, now: Timestamp) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        self.engine_mut()?.acknowledge(now);
        self.audit(&caller, "acknowledge alarms", now);
        Ok(())
    }

    /// Silences the alarm tones for `seconds` (0 for the default 2 minutes; at most 10).
    pub fn silence(
        &mut self,
        token: &str,
        seconds: u32,
        now: Timestamp,
    ) -> Result<u32, ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        let wanted = if seconds == 0 {
            Duration::from_mins(2)
        } else {
            Duration::from_secs(u64::from(seconds))
        };
        let done = self.engine_mut()?.silence(now, wanted, role_of(&caller));
        Ok(u32::try_from(done.ms() / 1000).unwrap_or(u32::MAX))
    }

    pub fn change_reservoir(
        &mut self,
        token: &str,
        volume: &str,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        let volume: Volume = crate::core::units::parse_field("volume", volume)
            .map_err(|e| ServiceError::InvalidInput(e.to_string()))?;
        let engine = self.engine_mut()?;
        engine.change_reservoir(now, volume)?;
        engine.hardware_mut().reservoir_loaded(volume);
        Ok(())
    }

    /// The trial summary (titra.trial-summary/1) as JSON.
    pub fn summary(&mut self, token: &str, now: Timestamp) -> Result<Summary, ServiceError> {
        self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        self.summary_at(now)
    }

    /// The response to each bolus of a bolus trial, for the clinician's chart (no login, like
    /// [`PumpService::history`]): read from the summary as it stands now.
    pub fn bolus_response(&self, now: Timestamp) -> Result<summary::BolusResponse, ServiceError> {
        let s = self.summary_at(now)?;
        let unit = self
            .engine
            .as_ref()
            .map_or(crate::core::units::MassUnit::Mg, |e| e.entry().unit);
        Ok(summary::bolus_response(&s, unit))
    }

    /// The summary as it stands at `now`, for callers that checked who asks (or need not).
    fn summary_at(&self, now: Timestamp) -> Result<Summary, ServiceError> {
        let engine = self
            .engine
            .as_ref()
            .ok_or_else(|| ServiceError::WrongState("no trial".to_owned()))?;
        let ended = summary::ended_at(engine.journal()).unwrap_or(now);
        Ok(summary::summarise(&summary::Inputs {
            trial: engine.trial(),
            program: engine.program(),
            journal: engine.journal(),
            started: engine.started_at(),
            ended,
            steps_per_ml: self.cfg.mechanism.steps_per_ml,
            loaded_ml: engine.program().reservoir.as_ml_f64(),
            remaining_ml: engine.reservoir_remaining().as_ml_f64(),
            simulated: self.simulated,
            started_wall: self.started_wall.as_deref(),
            protocol: &self.protocol,
            library: &self.library,
            unit: engine.entry().unit,
            outcome: engine.entry().outcome,
        }))
    }

    /// A clinician confirms the implant's starting dose, once the trial has ended: `dose`
    /// empty takes the worksheet's proposal (refused when there is none, saying why), otherwise
    /// the dose entered ("0.4 mg/day"). It is checked against the implant route's library
    /// limits and starting range: a hard finding is refused; a dose that is not the proposal,
    /// or a soft finding, needs a written `reason`. Returns the dose per day and the implant's
    /// mL per day, in words.
    pub fn confirm_implant(
        &mut self,
        token: &str,
        dose: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<(String, String), ServiceError> {
        use crate::core::implant::{self, ConfirmError};
        let caller = self.require(token, now, &[UserRole::Clinician])?;
        let summary = self.summary(token, now)?;
        let engine = self
            .engine
            .as_ref()
            .ok_or_else(|| ServiceError::WrongState("no trial".to_owned()))?;
        let program = engine.program().clone();
        let status = engine.trial().opioid_status;
        let unit = engine.entry().unit;
        let ended = engine.state() == State::Ended;
        let rules = self.protocol.implant_rules();
        let fill = rules.fill(&program.drug, program.concentration);
        let entry = summary::implant_entry(&self.library, &program.drug, rules.route, fill);
        let entered = if dose.trim().is_empty() {
            None
        } else {
            Some(
                crate::core::units::parse_field::<AmountRate>("dose", dose)
                    .map_err(|e| ServiceError::InvalidInput(e.to_string()))?,
            )
        };
        let ws = &summary.implant.worksheet;
        let confirmed =
            implant::confirm(ws, entry, status, ended, entered, reason).map_err(|e| match e {
                ConfirmError::NotEnded => ServiceError::WrongState(e.to_string()),
                ConfirmError::Refused(_) => ServiceError::LimitExceeded(e.to_string()),
                _ => ServiceError::InvalidInput(e.to_string()),
            })?;
        let rule_text = ws
            .rule
            .as_ref()
            .filter(|_| Some(confirmed.per_day) == confirmed.proposed)
            .map(|a| format!("{} ({})", a.rule.describe(unit), a.source));
        let words = (
            confirmed.per_day.per_day_in(unit).to_string(),
            fill.volume_rate(confirmed.per_day).to_string(),
        );
        let name = caller.name.clone();
        self.engine_mut()?.record_implant_plan(
            now,
            crate::journal::ImplantPlan {
                per_day: confirmed.per_day,
                concentration: fill,
                route: rules.route,
                rule: rule_text,
                proposed: confirmed.proposed,
                reason: confirmed.reason,
                findings: confirmed.findings,
            },
            &name,
        )?;
        self.audit(
            &caller,
            &format!("confirm the implant's starting dose {}", words.0),
            now,
        );
        Ok(words)
    }

    /// A nurse or clinician records the patient's systemic (non-trial) opioids as oral
    /// morphine equivalents per day ("60 mg/day"): before the trial starts, or for the day.
    pub fn record_systemic_opioids(
        &mut self,
        token: &str,
        ome: &str,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        let rate: AmountRate = crate::core::units::parse_field("ome_per_day", ome)
            .map_err(|e| ServiceError::InvalidInput(e.to_string()))?;
        let name = caller.name.clone();
        self.engine_mut()?
            .record_systemic_opioids(now, rate, role_of(&caller), &name)
            .map_err(|e| match e {
                EngineError::Refused(m) => ServiceError::InvalidInput(m),
                other => other.into(),
            })?;
        self.audit(
            &caller,
            &format!(
                "record systemic opioids {} oral morphine equivalents",
                rate.per_day_in(crate::core::units::MassUnit::Mg)
            ),
            now,
        );
        Ok(())
    }

    /// The export screen's worksheet lines, whether the site has a rule, and whether a clinician
    /// confirmed the starting dose.
    pub fn export_preview(
        &mut self,
        token: &str,
        now: Timestamp,
    ) -> Result<(Vec<String>, bool, bool), ServiceError> {
        self.require(token, now, &[UserRole::Clinician])?;
        let summary = self.summary(token, now)?;
        let unit = self
            .engine
            .as_ref()
            .map_or(crate::core::units::MassUnit::Mg, |e| e.entry().unit);
        Ok(crate::report::export::preview(&summary, unit))
    }

    /// The export's files, once a clinician has confirmed the implant's starting dose.
    pub fn export_files(
        &mut self,
        token: &str,
        formats: &[crate::report::export::Format],
        paper: crate::report::export::Paper,
        now: Timestamp,
    ) -> Result<Vec<crate::report::export::ExportFile>, ServiceError> {
        self.require(token, now, &[UserRole::Clinician])?;
        let summary = self.summary(token, now)?;
        if !summary.implant.confirmed {
            return Err(ServiceError::WrongState(
                "confirm the implant's starting dose before exporting".to_owned(),
            ));
        }
        let engine = self
            .engine
            .as_ref()
            .ok_or_else(|| ServiceError::WrongState("no trial".to_owned()))?;
        crate::report::export::build(
            &crate::report::export::Source {
                summary: &summary,
                journal: engine.journal(),
                started: engine.started_at(),
                started_wall: self.started_wall.as_deref(),
                unit: engine.entry().unit,
            },
            formats,
            paper,
        )
        .map_err(|e| ServiceError::Internal(e.to_string()))
    }

    /// Records that the export's files were written to `destination`.
    pub fn record_export(
        &mut self,
        token: &str,
        destination: &str,
        files: &[crate::report::export::ExportFile],
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Clinician])?;
        let list = files
            .iter()
            .map(|f| (f.name.clone(), f.sha256.clone()))
            .collect();
        self.engine_mut()?
            .record_export(now, destination, list, &caller.name);
        Ok(())
    }

    /// Dose and pain since the start, for the clinician's chart: buckets of whole hours, at most
    /// 48 of them.
    pub fn history(&self, now: Timestamp) -> Result<summary::History, ServiceError> {
        let engine = self
            .engine
            .as_ref()
            .ok_or_else(|| ServiceError::WrongState("no trial".to_owned()))?;
        let started = engine.started_at();
        let hours = now
            .since(started)
            .ms()
            .div_ceil(Duration::from_hours(48).ms())
            .max(1);
        Ok(summary::history(
            engine.journal(),
            started,
            now.max(started),
            Duration::from_hours(hours),
        ))
    }

    /// Switches a fault on the simulated hardware (refused on real hardware).
    pub fn inject_fault(&mut self, fault: &str, on: bool) -> Result<(), ServiceError> {
        if matches!(fault, "disk_full" | "log_write_error") {
            // The trial log's storage: simulated pumps only, like every injected fault.
            if !self.simulated {
                return Err(ServiceError::InvalidInput(
                    "faults can only be injected into simulated hardware".to_owned(),
                ));
            }
            let injected = self
                .engine
                .as_mut()
                .is_some_and(|e| e.inject_log_fault(fault, on));
            return match injected {
                true => Ok(()),
                false => Err(ServiceError::WrongState(format!(
                    "{fault}: there is no trial log to fail (the daemon keeps none, or no trial is programmed)"
                ))),
            };
        }
        let hw: &mut Hardware = match (&mut self.engine, &mut self.hw) {
            (Some(e), _) => e.hardware_mut(),
            (None, Some(hw)) => hw,
            (None, None) => return Err(ServiceError::Internal("no hardware".to_owned())),
        };
        hw.inject_fault(fault, on)
            .map_err(|e| ServiceError::InvalidInput(e.to_string()))
    }

    // ---- running ---------------------------------------------------------------------------

    pub fn next_wake(&self) -> Option<Timestamp> {
        self.engine.as_ref().and_then(Engine::next_wake)
    }

    pub fn tick(&mut self, now: Timestamp) -> Result<(), ServiceError> {
        if let Some(e) = self.engine.as_mut() {
            e.hardware_mut().advance_to(now);
            e.tick(now)?;
        } else if let Some(hw) = self.hw.as_mut() {
            hw.advance_to(now);
        }
        Ok(())
    }

    /// Records made since the last call (for signals).
    pub fn take_new_records(&mut self) -> Vec<Record> {
        let Some(e) = self.engine.as_ref() else {
            return Vec::new();
        };
        let journal = e.journal();
        let new = journal
            .get(self.signalled.min(journal.len())..)
            .unwrap_or_default()
            .to_vec();
        self.signalled = journal.len();
        new
    }

    /// What the screens show.
    pub fn status(&self, now: Timestamp) -> Status {
        let Some(e) = self.engine.as_ref() else {
            let mut idle = Status::empty(now);
            idle.state = State::Idle.to_string();
            idle.simulated = self.simulated;
            idle.self_test_failure = self.self_test_failure();
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
            state: e.state().to_string(),
            simulated: self.simulated,
            patient: e.trial().patient.clone(),
            drug: p.drug.clone(),
            concentration: p.concentration.in_unit(unit).to_string(),
            basal_per_day: basal.per_day_in(unit).to_string(),
            basal_per_hour: basal.per_hour_in(unit).to_string(),
            basal_ml_per_hour: p.concentration.volume_rate(basal).per_hour().to_string(),
            dose_unit: unit.to_string(),
            patient_bolus: p.pca.map_or_else(String::new, |pca| {
                format!(
                    "{} every {} at most, {} per hour at most",
                    pca.dose.in_unit(unit),
                    pca.lockout,
                    pca.max_per_hour
                )
            }),
            delivered_today: e.delivered_today(now).in_unit(unit).to_string(),
            delivered_total: e.delivered_total().in_unit(unit).to_string(),
            delivered_in_window: e
                .window_use(now)
                .map_or_else(String::new, |(w, used, max)| {
                    format!(
                        "{} of {} in the last {w}",
                        used.in_unit(unit),
                        max.in_unit(unit)
                    )
                }),
            reservoir_remaining: e.reservoir_remaining().to_string(),
            time_to_empty: e
                .time_to_empty()
                .map_or_else(String::new, |d| d.to_string()),
            next_bolus: match next {
                Some(t) if t <= now => "now".to_owned(),
                Some(t) => format!("in {}", t.since(now)),
                None => String::new(),
            },
            next_bolus_in_s: next.map_or(-1, |t| {
                i64::try_from(t.since(now).ms() / 1000).unwrap_or(-1)
            }),
            alarms: e
                .active_alarms()
                .filter(|a| a.priority != Priority::Info || a.cleared_at.is_none())
                .map(|a| AlarmStatus {
                    kind: serde_json::to_value(a.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    priority: a.priority.to_string(),
                    message: a.kind.message().to_owned(),
                    since_ms: i64::try_from(a.raised_at.ms()).unwrap_or(0),
                    silenced_until_ms: a
                        .silenced_until
                        .filter(|&s| s > now)
                        .map_or(-1, |s| i64::try_from(s.ms()).unwrap_or(-1)),
                })
                .collect(),
            outcome_measure: e.entry().outcome.to_string(),
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
            site_check_due: match e.site_check_due() {
                Some(t) if e.state() != State::Ended && e.has_started() => {
                    if t < now {
                        "overdue".to_owned()
                    } else if t == now {
                        "now".to_owned()
                    } else {
                        format!("in {}", round_to_minutes(t.since(now)))
                    }
                }
                _ => String::new(),
            },
            self_test_failure: self.self_test_failure(),
            elapsed_s: elapsed.ms() / 1000,
            remaining_s: e.trial().duration.saturating_sub(elapsed).ms() / 1000,
            now_ms: now.ms(),
        }
    }

    /// The checks the watchdog depends on: the log is writable, the sensor answers, the motor is
    /// where the count says. A failing check keeps the watchdog from being petted.
    pub fn health(&mut self) -> Result<(), String> {
        let Some(e) = self.engine.as_mut() else {
            return Ok(());
        };
        if e.active_alarms()
            .any(|a| a.kind == crate::core::supervisor::AlarmKind::LogFailure)
        {
            return Err("the trial log cannot be written".to_owned());
        }
        e.hardware_mut()
            .read_pressure_mmhg()
            .map_err(|err| format!("the pressure sensor: {err}"))?;
        Ok(())
    }
}

fn role_of(caller: &Caller) -> Role {
    match caller.role {
        UserRole::Nurse => Role::Nurse,
        UserRole::Clinician => Role::Clinician,
    }
}
