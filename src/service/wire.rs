//! The typed contract between the pump daemon and its clients (the touchscreen UI, `titra
//! status`, other tools): what a screen shows ([`Status`]), a finding as it crosses D-Bus,
//! the library's choices and the checklist's lines. Enums where a client decides something
//! (the state, an alarm's kind and priority, the outcome measure, the dose unit); text only
//! where it is shown as it is.

use serde::{Deserialize, Serialize};

use crate::core::diary::OutcomeMeasure;
use crate::core::dose::Source;
use crate::core::finding::{Class, Verdict};
use crate::core::readable::{self, Round};
use crate::core::supervisor::{AlarmKind, Priority, State};
use crate::core::units::{Amount, Duration, MassUnit, Timestamp};

/// A finding as it crosses D-Bus: which field, its value, the limit it was checked against, how
/// serious (`class`: "ok", "soft", "hard"), the sentence for the nurse, and where the limit
/// comes from ("" when it is a check of consistency).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, zbus::zvariant::Type)]
pub struct WireFinding {
    pub field: String,
    pub value: String,
    pub limit: String,
    pub class: String,
    pub message: String,
    pub source: String,
}

impl WireFinding {
    /// Whether it refuses the setting.
    pub fn is_hard(&self) -> bool {
        self.class == class_name(Class::Hard)
    }
}

fn class_name(class: Class) -> String {
    serde_json::to_value(class)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// One setting of a program change, old beside new, as the clinician's screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, zbus::zvariant::Type)]
pub struct WireSettingChange {
    pub setting: String,
    pub old: String,
    pub new: String,
}

impl From<crate::core::change::SettingChange> for WireSettingChange {
    fn from(c: crate::core::change::SettingChange) -> Self {
        WireSettingChange {
            setting: c.setting,
            old: c.old,
            new: c.new,
        }
    }
}

/// A verdict's class ("ok", "soft", "hard") and its findings, as clients get them.
pub fn verdict_wire(verdict: &Verdict) -> (String, Vec<WireFinding>) {
    let findings = verdict
        .findings
        .iter()
        .map(|f| WireFinding {
            field: f.field.clone(),
            value: f.value.clone(),
            limit: f.limit.clone(),
            class: class_name(f.class),
            message: f.message.clone(),
            source: f.source.clone().unwrap_or_default(),
        })
        .collect();
    (class_name(verdict.class()), findings)
}

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
    pub kind: AlarmKind,
    pub priority: Priority,
    pub message: String,
    pub since_ms: i64,
    /// -1 when not silenced.
    pub silenced_until_ms: i64,
}

/// A bolus being given, as the screens show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct BolusUnderWay {
    /// The patient's own dose (pressed for), not the nurse's or the program's.
    pub patient: bool,
    /// Its dose and what has been given of it, for people ("0.05 mg", "20 mcg").
    pub dose: String,
    pub given: String,
    /// How far it has got, 0–100.
    pub percent: u8,
}

impl BolusUnderWay {
    /// A bolus from `source` of `dose`, `given` of it so far, for a drug dosed in `unit`.
    pub fn of(source: Source, dose: Amount, given: Amount, unit: MassUnit) -> BolusUnderWay {
        let percent = u128::from(given.ng()) * 100 / u128::from(dose.ng().max(1));
        BolusUnderWay {
            patient: source == Source::PatientBolus,
            dose: readable::amount_for(dose, unit),
            given: readable::amount_for(given, unit),
            percent: u8::try_from(percent.min(100)).unwrap_or(100),
        }
    }
}

fn real_time() -> u32 {
    1
}

/// What the simulated pump's banner says on every screen: that it is simulated, and in a
/// demonstration how much faster its time runs ("" on a real pump). In the language in use.
pub fn simulation_banner(s: &Status) -> String {
    match (s.simulated, s.time_speed) {
        (false, _) => String::new(),
        (true, 0 | 1) => crate::core::tr!("SIMULATED PUMP — NOT FOR PATIENT USE").to_owned(),
        (true, n) => crate::core::tr!("SIMULATED PUMP, TIME ×{n} — NOT FOR PATIENT USE", n),
    }
}

/// Everything a screen shows, with units written out for people.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Status {
    pub state: State,
    pub simulated: bool,
    /// How many times faster than real time the pump's clock runs: 1, but in a demonstration
    /// (`titra demo --speed`), which every screen then says.
    #[serde(default = "real_time")]
    pub time_speed: u32,
    /// The language the pump writes its texts in (the site's), which the screens follow; null
    /// when not known (before the pump answered).
    #[serde(default)]
    pub language: Option<crate::core::lang::Language>,
    pub patient: String,
    pub drug: String,
    pub concentration: String,
    pub basal_per_day: String,
    pub basal_per_hour: String,
    pub basal_ml_per_hour: String,
    /// The unit the drug's doses are written in (null with no trial).
    #[serde(default)]
    pub dose_unit: Option<MassUnit>,
    pub patient_bolus: String,
    /// Delivered since local midnight (the simulated clock's midnight in simulation), as
    /// `delivered_total` counts it.
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
    /// What the trial is judged on (null with no trial).
    #[serde(default)]
    pub outcome_measure: Option<OutcomeMeasure>,
    /// The patient screen asks for a pain score and the function question now.
    #[serde(default)]
    pub pain_prompt: bool,
    /// The trial has ended and the patient has not yet given the impression of change.
    #[serde(default)]
    pub pgic_prompt: bool,
    /// When the next catheter site check is due, in words: "in 3 h 20 min", "overdue", or ""
    /// when none.
    #[serde(default)]
    pub site_check_due: String,
    /// The same in seconds from now (0 due now, negative overdue); null when none.
    #[serde(default)]
    pub site_check_due_in_s: Option<i64>,
    /// What the power-on self-test found wrong ("" when it passed): the pump then refuses to
    /// deliver.
    #[serde(default)]
    pub self_test_failure: String,
    /// What the start-up check of the trial log and the drug library found wrong ("" when it
    /// passed): the trial it held never delivers again, and a log that failed takes no new
    /// trial.
    #[serde(default)]
    pub startup_check_failure: String,
    /// What the daemon's running health check finds wrong ("" when it passes): the log that
    /// cannot be written, the sensor that gives no reading. Each stands as a HIGH alarm.
    #[serde(default)]
    pub health_failure: String,
    /// The priority the pump's alarm light and tone show now (null: quiet, or silenced).
    #[serde(default)]
    pub sounding: Option<Priority>,
    /// The catheter's removal is recorded (once, after the end).
    #[serde(default)]
    pub catheter_removed: bool,
    /// A scheduled bolus held because it fell due while delivery was stopped, for the nurse
    /// to give or skip (`DecideHeldBolus`): "0.2 mg, due 4 h after the start"; "" when none.
    #[serde(default)]
    pub held_bolus: String,
    /// The bolus being given now (null between boluses): whose it is and how far it has got.
    #[serde(default)]
    pub bolus_under_way: Option<BolusUnderWay>,
    /// The trial log's growth this trial against the budget computed at its start, in words
    /// ("0.4 MB of 23.9 MB (1 %)"; "" without a log or a trial).
    #[serde(default)]
    pub log_budget: String,
    pub elapsed_s: u64,
    pub remaining_s: u64,
    /// The pump's clock, ms.
    pub now_ms: u64,
}

impl Status {
    /// A status with nothing in it (before the service answered).
    pub fn empty(now: Timestamp) -> Status {
        Status {
            state: State::Idle,
            simulated: false,
            time_speed: 1,
            language: None,
            patient: String::new(),
            drug: String::new(),
            concentration: String::new(),
            basal_per_day: String::new(),
            basal_per_hour: String::new(),
            basal_ml_per_hour: String::new(),
            dose_unit: None,
            patient_bolus: String::new(),
            delivered_today: String::new(),
            delivered_total: String::new(),
            delivered_in_window: String::new(),
            reservoir_remaining: String::new(),
            time_to_empty: String::new(),
            next_bolus: String::new(),
            next_bolus_in_s: -1,
            alarms: Vec::new(),
            outcome_measure: None,
            pain_prompt: false,
            pgic_prompt: false,
            site_check_due: String::new(),
            site_check_due_in_s: None,
            self_test_failure: String::new(),
            startup_check_failure: String::new(),
            health_failure: String::new(),
            sounding: None,
            catheter_removed: false,
            held_bolus: String::new(),
            bolus_under_way: None,
            log_budget: String::new(),
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
        let _ = match s.time_speed {
            0 | 1 => writeln!(out, "SIMULATED HARDWARE"),
            n => writeln!(
                out,
                "SIMULATED HARDWARE, demonstration: time runs {n} times faster than real time"
            ),
        };
    }
    let _ = writeln!(out, "Pump: {}", s.state);
    if !s.self_test_failure.is_empty() {
        let _ = writeln!(
            out,
            "SELF-TEST FAILED: {} — the pump will not deliver",
            s.self_test_failure
        );
    }
    if !s.startup_check_failure.is_empty() {
        let _ = writeln!(
            out,
            "START-UP CHECK FAILED: {} — the pump will not deliver this trial",
            s.startup_check_failure
        );
    }
    if !s.health_failure.is_empty() {
        let _ = writeln!(
            out,
            "HEALTH CHECK FAILED: {} — delivery stopped, alarm sounding",
            s.health_failure
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
        "Delivered since midnight {}, in total {}",
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
        "Trial: {} since the start, {} to go",
        readable::duration(Duration::from_secs(s.elapsed_s), Round::Down),
        readable::duration(Duration::from_secs(s.remaining_s), Round::Up)
    );
    for a in &s.alarms {
        let _ = writeln!(
            out,
            "ALARM {}: {}",
            a.priority.to_string().to_uppercase(),
            a.message
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_demonstration_says_how_much_faster_its_time_runs() {
        let mut s = Status::empty(Timestamp::ORIGIN);
        assert_eq!(simulation_banner(&s), "");
        s.simulated = true;
        assert_eq!(
            simulation_banner(&s),
            "SIMULATED PUMP — NOT FOR PATIENT USE"
        );
        assert!(render_status(&s).starts_with("SIMULATED HARDWARE\n"));
        s.time_speed = 60;
        assert_eq!(
            simulation_banner(&s),
            "SIMULATED PUMP, TIME ×60 — NOT FOR PATIENT USE"
        );
        assert!(
            render_status(&s).starts_with(
                "SIMULATED HARDWARE, demonstration: time runs 60 times faster than real time\n"
            ),
            "{}",
            render_status(&s)
        );
        // A status from a daemon before the speed was sent reads as real time.
        let mut json = serde_json::to_value(&s).unwrap();
        json.as_object_mut().unwrap().remove("time_speed");
        let old: Status = serde_json::from_value(json).unwrap();
        assert_eq!(old.time_speed, 1);
    }
}
