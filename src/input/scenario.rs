//! Scenario files: a whole trial written down — the trial, the program a nurse would enter, and
//! what happens during the trial. The format is part of the product's contract (see
//! `examples/scenarios/README.md`, a copy of the design notes'; the events for watching the
//! patient — `sedation_score`, `vitals`, `sedation_review` — and the program's `observations` are
//! in `docs/sedation.md`); a program file for `titra check` is a scenario without events.
//!
//! Reading is strict: an unknown key or event kind, a malformed quantity, an event after the
//! trial's end or a score outside its scale is an error that names the field, the value and
//! the limit, before anything runs.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::core::diary::Ashworth;
use crate::core::library::Route;
use crate::core::observation::BodyTemp;
use crate::core::program::{Pca, Program, ScheduledBolus, Trial, TrialKind, WindowLimit};
use crate::core::site::SiteFinding;
use crate::core::units::{Amount, AmountRate, Duration, Volume, VolumeRate};
use crate::journal::{Severity, SideEffect};

/// A scenario (or program) file that was read and is well-formed. Whether its program is
/// acceptable is a separate question, answered by [`crate::core::program::validate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scenario {
    pub trial: Trial,
    pub program: Program,
    /// In time order (events at the same time keep their order in the file).
    pub events: Vec<Event>,
    /// The pre-trial checklist as done before the start; None (no `[checklist]` table): every
    /// item that applies counts as confirmed by the scenario's nurse.
    pub checklist: Option<ScenarioChecklist>,
}

/// The `[checklist]` table of a scenario: which items of the site's pre-trial checklist the nurse
/// confirmed before the start, and a clinician's override of the others.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioChecklist {
    /// The ids confirmed; left out, every item that applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed: Option<Vec<String>>,
    /// The clinician's written reason for starting with the other items open.
    #[serde(default, rename = "override", skip_serializing_if = "Option::is_none")]
    pub override_reason: Option<String>,
}

/// Something that happens during a trial, `at` a time after its start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// The patient presses the bolus button.
    PcaRequest { at: Duration },
    /// The patient records pain, NRS 0–10.
    PainScore { at: Duration, value: u8 },
    /// The clinician changes the basal rate.
    RateChange { at: Duration, basal: AmountRate },
    /// The clinician gives a bolus.
    ClinicianBolus { at: Duration, dose: Amount },
    /// Fault: the line is blocked from now ...
    Occlusion { at: Duration },
    /// ... until now.
    OcclusionCleared { at: Duration },
    /// The nurse pauses delivery.
    Pause { at: Duration },
    /// The nurse acknowledges any alarm and resumes delivery.
    Resume { at: Duration },
    /// The nurse stops the trial.
    Stop { at: Duration },
    /// A side effect is recorded.
    SideEffect {
        at: Duration,
        effect: SideEffect,
        severity: Severity,
    },
    /// The daemon dies and comes back `restore_after` later.
    PowerLoss {
        at: Duration,
        restore_after: Duration,
    },
    /// The nurse changes the reservoir, loading `volume`.
    ReservoirChange { at: Duration, volume: Volume },
    /// Fault: the occlusion sensor stops reporting sensible values.
    SensorFault { at: Duration },
    /// Fault: the motor stalls.
    MotorStall { at: Duration },
    /// The nurse records sedation (POSS 1–4). At or above the library's hold (3) delivery stops
    /// until a clinician reviews.
    SedationScore { at: Duration, value: u8 },
    /// The nurse records vital signs: `resp_rate` (per minute; `respiratory_rate` is read too),
    /// `heart_rate`, `spo2` (%), `temp_c` (°C), each optional. A respiratory rate below the
    /// library's hold (10/min) stops delivery until a clinician reviews.
    Vitals {
        at: Duration,
        #[serde(default, alias = "resp_rate")]
        respiratory_rate: Option<u16>,
        #[serde(default)]
        heart_rate: Option<u16>,
        #[serde(default)]
        spo2: Option<u8>,
        #[serde(default)]
        temp_c: Option<BodyTemp>,
    },
    /// A clinician reviews the patient after sedation or slow breathing stopped delivery, with a
    /// note; the hold is lifted and a nurse may resume.
    SedationReview { at: Duration, note: String },
    /// The patient presses the bolus button on the cord (the physical patient controller).
    ControllerPress { at: Duration },
    /// The button on the cord gets stuck down (a cord caught under the patient): a stuck-button
    /// alarm, and its presses stop counting; `released = true` frees it again.
    ControllerStuck {
        at: Duration,
        #[serde(default)]
        released: bool,
    },
    /// The nurse checks the catheter site: `temp_c` (°C) and `findings` (redness, swelling,
    /// drainage, leak, headache_upright; empty when clean). Fever (38 °C) or a finding raises
    /// "possible infection". A scenario with any site check has checks scheduled (every 8 h).
    SiteCheck {
        at: Duration,
        temp_c: BodyTemp,
        #[serde(default)]
        findings: Vec<SiteFinding>,
    },
    /// A nurse or clinician scores spasticity on the Modified Ashworth Scale (`value` "0", "1",
    /// "1+", "2", "3" or "4"), with the `muscles` assessed (optional). Baclofen trials are judged
    /// on it.
    Spasticity {
        at: Duration,
        value: Ashworth,
        #[serde(default)]
        muscles: String,
    },
    /// The patient answers the diary's function question: `answer` 1 is the first (least
    /// function) of the site protocol's answers.
    Function { at: Duration, answer: u8 },
    /// The patient's global impression of change, `value` 1 (very much improved) to 7 (very
    /// much worse), usually at the end.
    Pgic { at: Duration, value: u8 },
    /// A nurse records the patient's systemic (non-trial) opioids for the day, as oral
    /// morphine equivalents per day (`ome_per_day = "40 mg/day"`).
    SystemicOpioids {
        at: Duration,
        ome_per_day: AmountRate,
    },
    /// A clinician changes the program during the trial (titration), checked by a second
    /// person: any of `basal`, `pca`, `boluses` (those still to come), `limit` and `kvo`,
    /// written as in `[program]`. Checked like a new program and against the doses already
    /// given in each window; soft findings count as confirmed (as for `rate_change`).
    ProgramChange {
        at: Duration,
        #[serde(default)]
        basal: Option<AmountRate>,
        #[serde(default)]
        pca: Option<Pca>,
        #[serde(default)]
        boluses: Option<Vec<ScheduledBolus>>,
        #[serde(default)]
        limit: Option<WindowLimit>,
        #[serde(default)]
        kvo: Option<VolumeRate>,
    },
    /// The ward's nurses record a sedation and breathing check each time one falls due, from
    /// `at` until `until`, with POSS `sedation` (default 1) and `resp_rate` per minute (default
    /// 16): a scenario about something else need not write out every check of the schedule
    /// the pump runs (the library's default after neuraxial opioids: hourly for 24 h after the
    /// start, each bolus and each increase). Each check is recorded like a `sedation_score`
    /// and a `vitals` event at the moment it falls due; checks outside the span are not.
    RoutineChecks {
        at: Duration,
        until: Duration,
        #[serde(default = "routine_sedation")]
        sedation: u8,
        #[serde(default = "routine_resp_rate", alias = "respiratory_rate")]
        resp_rate: u16,
    },
}

fn routine_sedation() -> u8 {
    1
}

fn routine_resp_rate() -> u16 {
    16
}

impl Event {
    /// The change a `program_change` event makes; None for every other event.
    pub fn program_change(&self) -> Option<crate::core::change::ProgramChange> {
        match self {
            Event::ProgramChange {
                basal,
                pca,
                boluses,
                limit,
                kvo,
                ..
            } => Some(crate::core::change::ProgramChange {
                basal: *basal,
                pca: *pca,
                boluses: boluses.clone(),
                limit: *limit,
                kvo: *kvo,
            }),
            _ => None,
        }
    }

    pub fn at(&self) -> Duration {
        match *self {
            Event::PcaRequest { at }
            | Event::PainScore { at, .. }
            | Event::RateChange { at, .. }
            | Event::ClinicianBolus { at, .. }
            | Event::Occlusion { at }
            | Event::OcclusionCleared { at }
            | Event::Pause { at }
            | Event::Resume { at }
            | Event::Stop { at }
            | Event::SideEffect { at, .. }
            | Event::PowerLoss { at, .. }
            | Event::ReservoirChange { at, .. }
            | Event::SensorFault { at }
            | Event::MotorStall { at }
            | Event::SedationScore { at, .. }
            | Event::Vitals { at, .. }
            | Event::SedationReview { at, .. }
            | Event::ControllerPress { at }
            | Event::ControllerStuck { at, .. }
            | Event::SiteCheck { at, .. }
            | Event::Spasticity { at, .. }
            | Event::Function { at, .. }
            | Event::Pgic { at, .. }
            | Event::SystemicOpioids { at, .. }
            | Event::RoutineChecks { at, .. }
            | Event::ProgramChange { at, .. } => at,
        }
    }
}

/// Why a scenario file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}{}: {field}: {message}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Invalid {
        path: String,
        line: Option<usize>,
        field: String,
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    trial: RawTrial,
    program: Program,
    #[serde(default)]
    events: Vec<Event>,
    #[serde(default)]
    checklist: Option<ScenarioChecklist>,
}

/// The most characters a catheter's type may have.
pub(crate) const MAX_CATHETER: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrial {
    patient: String,
    route: Route,
    kind: TrialKind,
    duration: Duration,
    #[serde(default)]
    catheter_tip: Option<String>,
    #[serde(default)]
    catheter: Option<String>,
    #[serde(default)]
    catheter_placed_before: Option<Duration>,
    #[serde(default)]
    baseline_pain: Option<u8>,
    #[serde(default)]
    outpatient: bool,
    /// "naive" or "tolerant" (then `ome_before` is needed).
    #[serde(default)]
    opioid_status: Option<crate::core::program::OpioidStatus>,
    /// Systemic opioids before the trial, oral morphine equivalents per day ("90 mg/day").
    #[serde(default)]
    ome_before: Option<AmountRate>,
}

impl Scenario {
    /// Reads a scenario file.
    pub fn from_file(path: &Path) -> Result<Scenario, ScenarioError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: shown.clone(),
            source,
        })?;
        Scenario::from_toml_str(&text, &shown)
    }

    /// Reads a scenario from TOML text; `path` is only used in messages.
    pub fn from_toml_str(text: &str, path: &str) -> Result<Scenario, ScenarioError> {
        let invalid =
            |line: Option<usize>, field: String, message: String| ScenarioError::Invalid {
                path: path.to_owned(),
                line,
                field,
                message,
            };
        // Sizes first (src/limits.rs): nothing larger is parsed or checked.
        crate::limits::check("program", text, crate::limits::Kind::Program)
            .map_err(|e| invalid(None, "file".to_owned(), e.detail))?;
        let de = toml::Deserializer::parse(text).map_err(|e| {
            invalid(
                e.span().map(|s| crate::core::line_of(text, s.start)),
                "file".to_owned(),
                e.message().to_owned(),
            )
        })?;
        let raw: RawScenario = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner();
            let field = match field.as_str() {
                "." => "file".to_owned(),
                _ => event_field(text, &field, inner.message()).unwrap_or(field),
            };
            invalid(
                inner.span().map(|s| crate::core::line_of(text, s.start)),
                field,
                inner.message().to_owned(),
            )
        })?;
        use crate::limits::{MAX_BOLUSES, MAX_EVENTS, MAX_TITRATION_STEPS, count};
        [
            count(
                "program.boluses",
                raw.program.boluses.len(),
                MAX_BOLUSES,
                "scheduled boluses",
                "a program",
            ),
            count(
                "program.titration",
                raw.program.titration.len(),
                MAX_TITRATION_STEPS,
                "titration steps",
                "a program",
            ),
            count(
                "events",
                raw.events.len(),
                MAX_EVENTS,
                "events",
                "a scenario",
            ),
        ]
        .into_iter()
        .collect::<Result<(), _>>()
        .map_err(|e| invalid(None, e.field, e.detail))?;
        let t = raw.trial;
        if let Some(pain) = t.baseline_pain.filter(|&p| p > 10) {
            return Err(invalid(
                None,
                "trial.baseline_pain".to_owned(),
                format!("{pain} is outside the pain scale 0 to 10"),
            ));
        }
        if let Some(c) = &t.catheter
            && (c.trim().is_empty() || c.chars().count() > MAX_CATHETER)
        {
            return Err(invalid(
                None,
                "trial.catheter".to_owned(),
                format!(
                    "\"{c}\" must be 1 to {MAX_CATHETER} characters (the catheter's make, size and tip)"
                ),
            ));
        }
        if let Some(d) = t
            .catheter_placed_before
            .filter(|&d| d > Duration::from_days(30))
        {
            return Err(invalid(
                None,
                "trial.catheter_placed_before".to_owned(),
                format!("{d} is more than 30 days before the start"),
            ));
        }
        let trial = Trial {
            patient: t.patient,
            route: t.route,
            kind: t.kind,
            duration: t.duration,
            catheter_tip: t.catheter_tip,
            catheter: t.catheter,
            catheter_placed_before: t.catheter_placed_before,
            baseline_pain: t.baseline_pain,
            outpatient: t.outpatient,
            opioid_status: t.opioid_status,
            ome_before: t.ome_before,
        };
        for (i, event) in raw.events.iter().enumerate() {
            check_event(i, event, trial.duration)
                .map_err(|(field, message)| invalid(None, field, message))?;
        }
        let mut events = raw.events;
        events.sort_by_key(Event::at);
        Ok(Scenario {
            trial,
            program: raw.program,
            events,
            checklist: raw.checklist,
        })
    }
}

fn check_event(i: usize, event: &Event, end: Duration) -> Result<(), (String, String)> {
    let field = |name: &str| format!("events[{i}].{name}");
    if event.at() > end {
        return Err((
            field("at"),
            format!("{} is after the trial's end at {end}", event.at()),
        ));
    }
    let in_scale = |name: &str, value: u8, low: u8, high: u8, scale: &str| {
        if value < low || value > high {
            Err((
                field(name),
                format!("{value} is outside the {scale} {low} to {high}"),
            ))
        } else {
            Ok(())
        }
    };
    match *event {
        Event::PainScore { value, .. } => in_scale("value", value, 0, 10, "pain scale"),
        Event::SedationScore { value, .. } => {
            in_scale("value", value, 1, 4, "sedation scale (POSS)")
        }
        Event::Pgic { value, .. } => in_scale(
            "value",
            value,
            1,
            7,
            "impression of change (PGIC: 1 very much improved to 7 very much worse)",
        ),
        Event::Function { answer: 0, .. } => Err((
            field("answer"),
            "0: answers are numbered from 1 (the least function)".to_owned(),
        )),
        Event::Spasticity { ref muscles, .. }
            if muscles.chars().count() > crate::journal::MAX_NOTE =>
        {
            Err((
                field("muscles"),
                format!(
                    "{} characters is more than the {} allowed",
                    muscles.chars().count(),
                    crate::journal::MAX_NOTE
                ),
            ))
        }
        Event::Vitals { spo2: Some(s), .. } if s > 100 => {
            Err((field("spo2"), format!("{s} is above 100 %")))
        }
        Event::SedationReview { ref note, .. } if note.trim().is_empty() => Err((
            field("note"),
            "a review needs a note of what was found and decided".to_owned(),
        )),
        Event::SedationReview { ref note, .. }
            if note.chars().count() > crate::journal::MAX_NOTE =>
        {
            Err((
                field("note"),
                format!(
                    "{} characters is more than the {} allowed",
                    note.chars().count(),
                    crate::journal::MAX_NOTE
                ),
            ))
        }
        Event::ProgramChange {
            basal: None,
            pca: None,
            boluses: None,
            limit: None,
            kvo: None,
            ..
        } => Err((
            field("kind"),
            "a program change names no setting: give one or more of basal, pca, boluses, limit, kvo"
                .to_owned(),
        )),
        Event::RoutineChecks { sedation, .. } if !(1..=4).contains(&sedation) => {
            in_scale("sedation", sedation, 1, 4, "sedation scale (POSS)")
        }
        Event::RoutineChecks { at, until, .. } if until <= at => Err((
            field("until"),
            format!("{until} is not after the span's start at {at}"),
        )),
        Event::RoutineChecks { until, .. } if until > end => Err((
            field("until"),
            format!("{until} is after the trial's end at {end}"),
        )),
        Event::PowerLoss { restore_after, .. } if restore_after.is_zero() => Err((
            field("restore_after"),
            "a power loss must last more than zero".to_owned(),
        )),
        _ => Ok(()),
    }
}

/// Events are read through their `kind` tag, which hides from serde which key of the event
/// held a bad value; find it by the value the message quotes, so the nurse is told
/// `events[3].dose` rather than `events[3]`.
fn event_field(text: &str, path: &str, message: &str) -> Option<String> {
    let index: usize = path
        .strip_prefix("events[")?
        .strip_suffix(']')?
        .parse()
        .ok()?;
    let table: toml::Table = toml::from_str(text).ok()?;
    let event = table.get("events")?.as_array()?.get(index)?.as_table()?;
    event
        .iter()
        .filter(|(key, _)| key.as_str() != "kind")
        .find(|(_, value)| match value {
            toml::Value::String(s) => message.contains(&format!("\"{s}\"")),
            _ => false,
        })
        .map(|(key, _)| format!("{path}.{key}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[trial]
patient = "MRN-1"
route = "intrathecal"
kind = "continuous"
duration = "1d"

[program]
drug = "morphine"
concentration = "1 mg/mL"
reservoir = "20 mL"
basal = "0.5 mg/day"
"#;

    fn read(text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::from_toml_str(text, "s.toml")
    }

    #[test]
    fn events_are_read_and_put_in_time_order() {
        let s = read(&format!(
            "{BASE}\n[[events]]\nat = \"2h\"\nkind = \"pca_request\"\n[[events]]\nat = \"1h\"\nkind = \"pain_score\"\nvalue = 5\n"
        ))
        .unwrap();
        assert_eq!(s.events.len(), 2);
        assert_eq!(
            s.events[0],
            Event::PainScore {
                at: Duration::from_hours(1),
                value: 5
            }
        );
        assert_eq!(s.program.basal.to_string(), "0.5 mg/day");
    }

    #[test]
    fn a_bad_unit_names_the_field_and_the_line() {
        let e = read(&BASE.replace("\"0.5 mg/day\"", "\"0.5 mg/kg\"")).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with(
                "s.toml, line 12: program.basal: \"0.5 mg/kg\": unknown unit \"mg/kg\""
            ),
            "{text}"
        );
    }

    #[test]
    fn a_volume_for_an_amount_is_refused() {
        let e = read(&format!(
            "{BASE}\n[[events]]\nat = \"2h\"\nkind = \"clinician_bolus\"\ndose = \"0.1 mL\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("events[0].dose: \"0.1 mL\" is a volume, but an amount of drug is needed"),
            "{e}"
        );
    }

    #[test]
    fn unknown_event_kinds_and_keys_are_refused() {
        let e = read(&format!(
            "{BASE}\n[[events]]\nat = \"2h\"\nkind = \"teleport\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown variant `teleport`"), "{e}");
        let e = read(&BASE.replace("basal =", "basall ="))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `basall`"), "{e}");
    }

    #[test]
    fn sedation_vitals_and_reviews_are_read_with_the_issues_names() {
        let s = read(&format!(
            "{BASE}\n[[events]]\nat = \"1h\"\nkind = \"sedation_score\"\nvalue = 3\n[[events]]\nat = \"1h\"\nkind = \"vitals\"\nresp_rate = 9\ntemp_c = 37.8\nspo2 = 93\n[[events]]\nat = \"2h\"\nkind = \"sedation_review\"\nnote = \"Naloxone not needed; basal halved.\"\n"
        ))
        .unwrap();
        assert_eq!(
            s.events[1],
            Event::Vitals {
                at: Duration::from_hours(1),
                respiratory_rate: Some(9),
                heart_rate: None,
                spo2: Some(93),
                temp_c: Some(BodyTemp::from_celsius(37.8).unwrap()),
            }
        );
        assert!(
            matches!(&s.events[2], Event::SedationReview { note, .. } if note.starts_with("Naloxone"))
        );
        let e = read(&format!(
            "{BASE}\n[[events]]\nat = \"2h\"\nkind = \"sedation_review\"\nnote = \" \"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("events[0].note: a review needs a note"), "{e}");
        let e = read(&format!(
            "{BASE}\n[[events]]\nat = \"2h\"\nkind = \"vitals\"\ntemp_c = 98.6\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("98.6 °C is outside 25 to 45 °C"), "{e}");
        let e = read(&format!(
            "{BASE}\n[[events]]\nat = \"2h\"\nkind = \"sedation_score\"\nvalue = 5\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("events[0].value: 5 is outside the sedation scale (POSS) 1 to 4"),
            "{e}"
        );
    }

    #[test]
    fn events_after_the_end_and_bad_scores_are_refused() {
        let e = read(&format!(
            "{BASE}\n[[events]]\nat = \"1d 1h\"\nkind = \"pca_request\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "s.toml: events[0].at: 1d 1h is after the trial's end at 1d"
        );
        let e = read(&format!(
            "{BASE}\n[[events]]\nat = \"1h\"\nkind = \"pain_score\"\nvalue = 11\n"
        ))
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "s.toml: events[0].value: 11 is outside the pain scale 0 to 10"
        );
        let e = read(&BASE.replace("duration = \"1d\"", "duration = \"1 fortnight\""))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("trial.duration: \"1 fortnight\": unknown unit \"fortnight\""),
            "{e}"
        );
    }

    #[test]
    fn routine_checks_are_read_with_their_defaults_and_a_bad_span_is_refused() {
        let s = read(&format!(
            "{BASE}\n[[events]]\nat = \"0min\"\nkind = \"routine_checks\"\nuntil = \"12h\"\n[[events]]\nat = \"12h\"\nkind = \"routine_checks\"\nuntil = \"1d\"\nsedation = 2\nresp_rate = 12\n"
        ))
        .unwrap();
        assert_eq!(
            s.events,
            [
                Event::RoutineChecks {
                    at: Duration::ZERO,
                    until: Duration::from_hours(12),
                    sedation: 1,
                    resp_rate: 16,
                },
                Event::RoutineChecks {
                    at: Duration::from_hours(12),
                    until: Duration::from_hours(24),
                    sedation: 2,
                    resp_rate: 12,
                },
            ]
        );
        for (event, want) in [
            (
                "at = \"2h\"\nuntil = \"2h\"",
                "events[0].until: 2h is not after the span's start at 2h",
            ),
            (
                "at = \"2h\"\nuntil = \"2d\"",
                "events[0].until: 2d is after the trial's end at 1d",
            ),
            (
                "at = \"2h\"\nuntil = \"3h\"\nsedation = 0",
                "events[0].sedation: 0 is outside the sedation scale (POSS) 1 to 4",
            ),
        ] {
            let e = read(&format!(
                "{BASE}\n[[events]]\nkind = \"routine_checks\"\n{event}\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(e.contains(want), "{e}");
        }
    }

    #[test]
    fn missing_sections_are_named() {
        let e = read("[trial]\npatient = \"x\"\n").unwrap_err().to_string();
        assert!(e.contains("missing field"), "{e}");
    }
}
