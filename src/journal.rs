//! What the trial log stores: the engine's records ([`Record`]), who did what ([`Role`]), the
//! words the log and the screens share (outcome, wish, side effects), the self-test's result,
//! and the [`RecordSink`] the log implements. Below the engine and the log, so that neither
//! depends on the other.

use serde::{Deserialize, Serialize};

use crate::core::checklist::{Checklist, ChecklistItem};
use crate::core::diary::Ashworth;
use crate::core::dose::{Denial, Source};
use crate::core::finding::Finding;
use crate::core::observation::BodyTemp;
use crate::core::site::{SiteFinding, SiteRule};
use crate::core::supervisor::{AlarmKind, Priority, State};
use crate::core::units::{Amount, AmountRate, Duration, Timestamp, Volume};

/// The longest note a clinician may attach to an assessment or a sedation review.
pub const MAX_NOTE: usize = 500;

/// A dose of a previous trial, carried over into a new one's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarriedDose {
    pub at: Timestamp,
    pub source: Source,
    pub amount: Amount,
}

/// Who did something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Patient,
    Nurse,
    Clinician,
    /// The program itself (titration steps, scheduled boluses) or the pump.
    Pump,
    /// Someone at the pump's screen or on D-Bus without a login: only to stop delivery, which
    /// is the safe direction.
    Anyone,
}

/// One entry of the engine's journal: what the trial log keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    StateChanged {
        at: Timestamp,
        from: State,
        to: State,
    },
    /// What left the reservoir over the piece ending `at` (at most a minute), by source.
    Delivery {
        at: Timestamp,
        source: Source,
        steps: u64,
        amount: Amount,
        volume: Volume,
    },
    BolusStarted {
        at: Timestamp,
        source: Source,
        requested: Amount,
        steps: u64,
    },
    /// A scheduled bolus fell due while delivery was stopped (paused, or held by an alarm): it
    /// is held, never given late on its own; the nurse decides when delivery runs again.
    ScheduledBolusHeld {
        at: Timestamp,
        due: Timestamp,
        dose: Amount,
    },
    /// The nurse's (or clinician's) answer about a held scheduled bolus: given now, or skipped.
    HeldBolusDecided {
        at: Timestamp,
        due: Timestamp,
        dose: Amount,
        give: bool,
        by: Role,
        name: String,
    },
    BolusEnded {
        at: Timestamp,
        source: Source,
        requested: Amount,
        delivered: Amount,
        complete: bool,
    },
    PcaRequest {
        at: Timestamp,
        granted: bool,
        denial: Option<Denial>,
        available_at: Option<Timestamp>,
        /// Pressed on the button on the cord rather than the screen (absent: the screen).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        cord: bool,
        /// How many presses this record stands for (absent: one). More than one only for
        /// denied presses counted together: after a denied press is written, the presses
        /// denied for the same reason with the same time available are counted, not written
        /// one by one, and written as one record when the run ends (another answer, a new
        /// trial day, the time available passing) or with the next record written, whichever
        /// comes first; its `at` is when it was written, `since` the first press it counts.
        /// A count lost to a power failure is at most the presses since the last record
        /// written (a minute's, at most: see `engine::delivery::COALESCE_AT_MOST`).
        #[serde(default = "one_press", skip_serializing_if = "is_one_press")]
        presses: u32,
        /// The first press a record of more than one counts (absent for one press: `at`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<Timestamp>,
    },
    RateChanged {
        at: Timestamp,
        old: AmountRate,
        new: AmountRate,
        by: Role,
    },
    /// A clinician changed the program during the trial (titration): each setting old beside
    /// new, the program in force from `at`, who made it and who checked it. A new basal is
    /// also a `RateChanged` that follows; the windows and the lockout go on as they were.
    ProgramChanged {
        at: Timestamp,
        changes: Vec<crate::core::change::SettingChange>,
        /// The program in force before the change, and from `at`.
        old_program: Box<crate::core::program::Program>,
        program: Box<crate::core::program::Program>,
        /// It raises the dose: the checks close up again.
        increases: bool,
        by: Role,
        name: String,
        verified_by: String,
    },
    /// A change or bolus that was not made, with why.
    Refused {
        at: Timestamp,
        what: String,
        reason: String,
        by: Role,
    },
    /// Settings outside the usual range that someone confirmed.
    Confirmed {
        at: Timestamp,
        findings: Vec<Finding>,
        by: Role,
    },
    AlarmRaised {
        at: Timestamp,
        kind: AlarmKind,
        priority: Priority,
        pressure_mmhg: Option<f64>,
        time_to_alarm: Option<Duration>,
    },
    AlarmEscalated {
        at: Timestamp,
        kind: AlarmKind,
        priority: Priority,
    },
    AlarmCleared {
        at: Timestamp,
        kind: AlarmKind,
    },
    AlarmAcknowledged {
        at: Timestamp,
        kind: AlarmKind,
        by: Role,
    },
    /// The plunger pulled back after an occlusion to take the pressure off the line.
    BackedOff {
        at: Timestamp,
        steps: u64,
        volume: Volume,
    },
    ReservoirChanged {
        at: Timestamp,
        volume: Volume,
        by: Role,
    },
    PainScore {
        at: Timestamp,
        value: u8,
    },
    SideEffect {
        at: Timestamp,
        effect: SideEffect,
        severity: Severity,
    },
    Sedation {
        at: Timestamp,
        poss: u8,
    },
    Vitals {
        at: Timestamp,
        respiratory_rate: Option<u16>,
        heart_rate: Option<u16>,
        spo2: Option<u8>,
        /// Body temperature (absent from logs written before it was recorded).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        temperature: Option<BodyTemp>,
    },
    /// A clinician reviewed the patient after the sedation interlock stopped delivery: the hold
    /// is lifted (a nurse then resumes).
    SedationReviewed {
        at: Timestamp,
        note: String,
        name: String,
    },
    PowerRestored {
        at: Timestamp,
    },
    /// Written (and on disk) before the motor moves: the steps planned until `until`. After a
    /// crash, whatever of it no `Delivery` row accounts for is counted as given.
    Intent {
        at: Timestamp,
        until: Timestamp,
        basal_steps: u64,
        bolus_steps: u64,
        bolus_source: Option<Source>,
    },
    /// After a crash: steps that may have been given but were not recorded, counted as given
    /// (from the plunger position where it is measured, else from the last intent) until a
    /// nurse confirms.
    UncertainDelivery {
        at: Timestamp,
        source: Source,
        steps: u64,
        amount: Amount,
        measured: bool,
    },
    /// The line was primed with `steps` before delivery (not dose).
    Primed {
        at: Timestamp,
        steps: u64,
    },
    /// Alarm tones paused until `until` (the alarms stay shown).
    AlarmSilenced {
        at: Timestamp,
        until: Timestamp,
        by: Role,
    },
    /// A login or a second person's check refused for a wrong PIN, or tried while that user's
    /// login was locked (`locked`). The user is named; the PIN never is.
    LoginFailed {
        at: Timestamp,
        user: String,
        name: String,
        locked: bool,
    },
    /// Wrong PINs locked a user's login until `until`.
    LoginLocked {
        at: Timestamp,
        user: String,
        name: String,
        until: Timestamp,
    },
    /// What this trial took over from the same patient's previous trial on this pump, ended
    /// less than the longest window ago: the doses still inside a window (the same drug only),
    /// the patient boluses granted in the last hour, when the last bolus started, and a sedation
    /// hold no clinician had lifted. They count toward this trial's limits, not its totals.
    CarriedOver {
        at: Timestamp,
        /// When the previous trial ended.
        previous_ended: Timestamp,
        doses: Vec<CarriedDose>,
        pca_grants: Vec<Timestamp>,
        last_bolus_at: Option<Timestamp>,
        sedation_hold: bool,
    },
    /// A logged-in user's call (who, in which role, did what).
    UserAction {
        at: Timestamp,
        action: String,
        by: Role,
        name: String,
    },
    /// A nurse checked the patient and accepted the uncertain deliveries as given.
    UncertainConfirmed {
        at: Timestamp,
        by: Role,
    },
    /// The clinician's assessment of the trial, recorded when it ends: the outcome and its
    /// reasons (`note`), and with the decision (`RecordDecision`) the patient's wish to proceed
    /// and the implant planned (absent from assessments recorded without them).
    Assessment {
        at: Timestamp,
        outcome: Outcome,
        note: String,
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wish: Option<Wish>,
        /// The planned implant (pump model, device) as the clinician wrote it; its starting dose
        /// is the one confirmed on the worksheet (`ImplantPlan`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        implant: Option<String>,
    },
    /// The pre-trial checklist that applies to this trial (from the site's protocol), recorded
    /// when the trial is programmed: delivery starts only once every item is confirmed or a
    /// clinician overrode the open ones.
    ChecklistRequired {
        at: Timestamp,
        items: Vec<ChecklistItem>,
    },
    /// An item of the pre-trial checklist confirmed.
    ChecklistConfirmed {
        at: Timestamp,
        item: String,
        by: Role,
        name: String,
    },
    /// A clinician let delivery start with the `open` items not confirmed, for `reason`.
    ChecklistOverridden {
        at: Timestamp,
        open: Vec<String>,
        reason: String,
        name: String,
    },
    /// The site's rule for catheter site checks, in force for this trial (from the site's
    /// protocol, recorded when the trial is programmed). Without it no checks are scheduled.
    SiteChecksRequired {
        at: Timestamp,
        rule: SiteRule,
    },
    /// A nurse checked the catheter site: the temperature and what was found (empty: clean).
    SiteCheck {
        at: Timestamp,
        temperature: BodyTemp,
        findings: Vec<SiteFinding>,
        by: Role,
        name: String,
    },
    /// The patient answered the diary's function question (`level` 1 = the first, least
    /// function, of the protocol's answers).
    FunctionAnswer {
        at: Timestamp,
        question: String,
        answer: String,
        level: u8,
    },
    /// The patient left the diary's function question for now ("Not now"): a question asked
    /// and not answered is itself part of the diary.
    FunctionSkipped {
        at: Timestamp,
        question: String,
    },
    /// The patient's global impression of change, 1 (very much improved) to 7 (very much
    /// worse), asked when the trial ends.
    Pgic {
        at: Timestamp,
        value: u8,
    },
    /// Spasticity on the Modified Ashworth Scale, assessed by a nurse or clinician (the outcome
    /// measure of baclofen trials), with the muscles assessed.
    Spasticity {
        at: Timestamp,
        score: Ashworth,
        muscles: String,
        by: Role,
        name: String,
    },
    /// The power-on self-test's result and the checksums of the drug library, hardware
    /// configuration and protocol in force: written when the trial is programmed (and after a
    /// restart), so every program is logged with the library it ran with.
    SelfTest {
        at: Timestamp,
        test: SelfTest,
    },
    /// The trial log's expected growth for this trial, computed when it was programmed: the
    /// longest the trial may run, the rows expected over it and their bytes with the margin
    /// (`store::budget`). The storage alarms count the log's growth against it.
    LogBudget {
        at: Timestamp,
        duration: Duration,
        rows: u64,
        bytes: u64,
        /// The database file's size when the trial was programmed (its write-ahead log not
        /// counted): its growth is counted from here, after a restart too.
        base: u64,
    },
    /// The trial's catheter was taken out (after the trial ended).
    CatheterRemoved {
        at: Timestamp,
        by: Role,
        name: String,
        note: String,
    },
    /// The implant's starting dose, confirmed by a clinician after the trial ended (from the
    /// protocol's rule, named in `rule`, or entered by the clinician when `rule` is None), with
    /// the implant's route, the worksheet's proposal, the clinician's written reason and the
    /// findings against the implant route's limits it was confirmed over (absent from plans
    /// logged before they were recorded).
    ImplantPlan {
        at: Timestamp,
        per_day: AmountRate,
        concentration: crate::core::units::Concentration,
        rule: Option<String>,
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        route: Option<crate::core::library::Route>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        proposed: Option<AmountRate>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        findings: Vec<Finding>,
    },
    /// A nurse recorded the patient's systemic (non-trial) opioids, as oral morphine
    /// equivalents per day: before the trial, or for the day it is recorded in.
    SystemicOpioids {
        at: Timestamp,
        ome_per_day: AmountRate,
        by: Role,
        name: String,
    },
    /// At start-up the trial log or the drug library failed its check (`failures`, in words,
    /// each naming what failed): this trial never delivers again, and a clinician ends it.
    StartupCheckFailed {
        at: Timestamp,
        failures: Vec<String>,
    },
    /// A clinician ended the trial the start-up check held, for a written reason, so that it
    /// can be exported; it never delivers again.
    UnverifiedTrialEnded {
        at: Timestamp,
        reason: String,
        name: String,
    },
    /// The summary was exported: where, by whom, and each file's SHA-256.
    Exported {
        at: Timestamp,
        destination: String,
        files: Vec<(String, String)>,
        name: String,
    },
}

/// An enum written as one lower-case word in the log, on D-Bus and on screen: each variant and
/// its word given once, with FromStr refusing anything else by naming the field and the words.
macro_rules! word_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal, { $($(#[$vdoc:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($word => Ok($name::$variant),)+
                    other => Err(format!(
                        concat!($field, ": \"{}\" is not one of {}"),
                        other,
                        [$($word),+].join(", ")
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

word_enum!(
    /// What the clinician concludes from the trial.
    Outcome, "outcome", {
        /// The trial worked: an implant may follow.
        Success = "success",
        Failure = "failure",
        Inconclusive = "inconclusive",
    }
);

word_enum!(
    /// Whether the patient wishes to go on to an implant.
    Wish, "wish", {
        Yes = "yes",
        No = "no",
        Undecided = "undecided",
    }
);

fn one_press() -> u32 {
    1
}

fn is_one_press(n: &u32) -> bool {
    *n == 1
}

impl Record {
    /// When it happened, on the pump's clock.
    pub fn at(&self) -> Timestamp {
        match *self {
            Record::StateChanged { at, .. }
            | Record::Delivery { at, .. }
            | Record::BolusStarted { at, .. }
            | Record::BolusEnded { at, .. }
            | Record::ScheduledBolusHeld { at, .. }
            | Record::HeldBolusDecided { at, .. }
            | Record::PcaRequest { at, .. }
            | Record::RateChanged { at, .. }
            | Record::ProgramChanged { at, .. }
            | Record::Refused { at, .. }
            | Record::Confirmed { at, .. }
            | Record::AlarmRaised { at, .. }
            | Record::AlarmEscalated { at, .. }
            | Record::AlarmCleared { at, .. }
            | Record::AlarmAcknowledged { at, .. }
            | Record::BackedOff { at, .. }
            | Record::ReservoirChanged { at, .. }
            | Record::PainScore { at, .. }
            | Record::SideEffect { at, .. }
            | Record::Sedation { at, .. }
            | Record::Vitals { at, .. }
            | Record::SedationReviewed { at, .. }
            | Record::PowerRestored { at, .. }
            | Record::Intent { at, .. }
            | Record::UncertainDelivery { at, .. }
            | Record::Primed { at, .. }
            | Record::AlarmSilenced { at, .. }
            | Record::UserAction { at, .. }
            | Record::LoginFailed { at, .. }
            | Record::CarriedOver { at, .. }
            | Record::LoginLocked { at, .. }
            | Record::UncertainConfirmed { at, .. }
            | Record::Assessment { at, .. }
            | Record::ImplantPlan { at, .. }
            | Record::SystemicOpioids { at, .. }
            | Record::ChecklistRequired { at, .. }
            | Record::ChecklistConfirmed { at, .. }
            | Record::ChecklistOverridden { at, .. }
            | Record::SiteChecksRequired { at, .. }
            | Record::SiteCheck { at, .. }
            | Record::SelfTest { at, .. }
            | Record::LogBudget { at, .. }
            | Record::FunctionAnswer { at, .. }
            | Record::FunctionSkipped { at, .. }
            | Record::Pgic { at, .. }
            | Record::Spasticity { at, .. }
            | Record::CatheterRemoved { at, .. }
            | Record::StartupCheckFailed { at, .. }
            | Record::UnverifiedTrialEnded { at, .. }
            | Record::Exported { at, .. } => at,
        }
    }
}

/// A trial's pre-trial checklist as its records leave it (the engine, after a restart too, and
/// the summary read it this way); None when the trial has none.
pub fn checklist_of(journal: &[Record]) -> Option<Checklist> {
    let mut list: Option<Checklist> = None;
    for r in journal {
        match r {
            Record::ChecklistRequired { items, .. } => {
                list = Some(Checklist::new(items.clone()));
            }
            Record::ChecklistConfirmed { at, item, name, .. } => {
                if let Some(l) = list.as_mut() {
                    let _ = l.confirm(item, *at, name);
                }
            }
            Record::ChecklistOverridden {
                at, reason, name, ..
            } => {
                if let Some(l) = list.as_mut() {
                    let _ = l.override_open(*at, name, reason);
                }
            }
            _ => {}
        }
    }
    list
}

/// The implant's starting dose as a clinician confirmed it.
#[derive(Debug, Clone, PartialEq)]
pub struct ImplantPlan {
    pub per_day: AmountRate,
    pub concentration: crate::core::units::Concentration,
    pub route: crate::core::library::Route,
    /// The rule in words (None: entered by the clinician).
    pub rule: Option<String>,
    pub proposed: Option<AmountRate>,
    pub reason: Option<String>,
    pub findings: Vec<Finding>,
}

/// Where the engine's records go to stay (the trial log). Each call must be durable before it
/// returns: the engine moves the motor only after its intent was written.
pub trait RecordSink: Send {
    fn write(&mut self, records: &[Record]) -> Result<(), String>;

    /// Checks, when nothing has been written for a while, that a write would still reach the
    /// storage: a small write of the sink's own, synced and read back, which changes no record.
    /// A sink with nothing to check says yes.
    fn probe(&mut self) -> Result<(), String> {
        Ok(())
    }

    /// Time passed to `now`: what the sink does on its own clock (the trial log queues the
    /// periodic messages for the hospital's systems that fall due). Nothing by default.
    fn tick(&mut self, now: crate::core::units::Timestamp) -> Result<(), String> {
        let _ = now;
        Ok(())
    }

    /// The wall clock reads `wall_ms` (ms since 1970, UTC) at `now` on the pump's clock: what
    /// the sink dates by the wall clock follows it from here (the trial log's messages for the
    /// hospital, which would otherwise keep the wall clock as it read when the log was opened,
    /// perhaps before the time server set it). Said every minute by the daemon. A sink that
    /// wraps another passes it on. Nothing by default.
    fn wall_clock(&mut self, now: crate::core::units::Timestamp, wall_ms: u64) {
        let _ = (now, wall_ms);
    }

    /// Makes later writes fail as a full disk (`disk_full`) or a storage error
    /// (`log_write_error`) would, or work again (`on` false): for fault injection on simulated
    /// pumps. False when this sink cannot.
    fn inject_fault(&mut self, fault: &str, on: bool) -> bool {
        let _ = (fault, on);
        false
    }
}

/// A side effect the patient or nurse records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SideEffect {
    Nausea,
    Vomiting,
    Pruritus,
    UrinaryRetention,
    Sedation,
    Headache,
    Numbness,
    Weakness,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Mild,
    Moderate,
    Severe,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    /// What was found, in words.
    pub detail: String,
}

/// The checksums of what the pump runs with (SHA-256, hex).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checksums {
    pub drug_library: String,
    pub hardware: String,
    pub protocol: String,
}

/// The self-test's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfTest {
    pub checks: Vec<Check>,
    pub checksums: Checksums,
}

impl SelfTest {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// The failures in words, for the nurse: "" when it passed.
    pub fn failures(&self) -> String {
        self.checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect::<Vec<_>>()
            .join("; ")
    }
}
