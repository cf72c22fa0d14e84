//! The log's and the summary's names ("single_bolus", "occlusion", "sedation_hold") in words
//! for the PDF and the text summary, in the language in use. In English each is the name as
//! the summary has always shown it (its `_` read as a space); the JSON and the CSV keep the
//! names themselves.

use crate::core::supervisor::AlarmKind;
use crate::core::tr;
use crate::journal::{Outcome, Severity, SideEffect, Wish};

/// A route ("intrathecal"), lower case.
pub(crate) fn route(route: &str) -> String {
    match route {
        "intrathecal" => tr!("intrathecal").to_owned(),
        "epidural" => tr!("epidural").to_owned(),
        other => other.to_owned(),
    }
}

/// A trial kind ("single_bolus") as the trial: "single bolus trial".
pub(crate) fn trial(kind: &str) -> String {
    match kind {
        "continuous" => tr!("continuous trial").to_owned(),
        "single_bolus" => tr!("single bolus trial").to_owned(),
        "multiple_bolus" => tr!("multiple bolus trial").to_owned(),
        other => tr!("{kind} trial", kind = other.replace('_', " ")),
    }
}

/// An alarm's name: "occlusion", "reservoir low".
pub(crate) fn alarm(kind: AlarmKind) -> &'static str {
    match kind {
        AlarmKind::Occlusion => tr!("occlusion"),
        AlarmKind::ReservoirLow => tr!("reservoir low"),
        AlarmKind::ReservoirEmpty => tr!("reservoir empty"),
        AlarmKind::ReservoirMissing => tr!("reservoir missing"),
        AlarmKind::MotorStall => tr!("motor stall"),
        AlarmKind::SensorFault => tr!("sensor fault"),
        AlarmKind::DoseLimit => tr!("dose limit"),
        AlarmKind::Observation => tr!("observation"),
        AlarmKind::PausedTooLong => tr!("paused too long"),
        AlarmKind::PowerRestored => tr!("power restored"),
        AlarmKind::LogFailure => tr!("log failure"),
        AlarmKind::Sedation => tr!("sedation"),
        AlarmKind::ObservationMissed => tr!("observation missed"),
        AlarmKind::StuckButton => tr!("stuck button"),
        AlarmKind::SiteCheckMissed => tr!("site check missed"),
        AlarmKind::PossibleInfection => tr!("possible infection"),
        AlarmKind::LoginLocked => tr!("login locked"),
        AlarmKind::LogCheckFailed => tr!("log check failed"),
        AlarmKind::LibraryChanged => tr!("library changed"),
        AlarmKind::StorageLow => tr!("storage low"),
        AlarmKind::StorageFull => tr!("storage full"),
        AlarmKind::OutboxBacklog => tr!("outbox backlog"),
    }
}

/// A side effect: "urinary retention".
pub(crate) fn side_effect(effect: SideEffect) -> &'static str {
    match effect {
        SideEffect::Nausea => tr!("nausea"),
        SideEffect::Vomiting => tr!("vomiting"),
        SideEffect::Pruritus => tr!("pruritus"),
        SideEffect::UrinaryRetention => tr!("urinary retention"),
        SideEffect::Sedation => tr!("sedation"),
        SideEffect::Headache => tr!("headache"),
        SideEffect::Numbness => tr!("numbness"),
        SideEffect::Weakness => tr!("weakness"),
        SideEffect::Other => tr!("other"),
    }
}

/// A side effect's severity: "mild".
pub(crate) fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Mild => tr!("mild"),
        Severity::Moderate => tr!("moderate"),
        Severity::Severe => tr!("severe"),
    }
}

/// The clinician's conclusion: "success".
pub(crate) fn outcome(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Success => tr!("success"),
        Outcome::Failure => tr!("failure"),
        Outcome::Inconclusive => tr!("inconclusive"),
    }
}

/// The patient's wish to go on to an implant: "yes", "no", "undecided".
pub(crate) fn wish(wish: Wish) -> &'static str {
    match wish {
        Wish::Yes => tr!("yes"),
        Wish::No => tr!("no"),
        Wish::Undecided => tr!("undecided"),
    }
}

/// Who changed a rate, as the log names the role ("clinician", "pump").
pub(crate) fn role(role: &str) -> String {
    match role {
        "patient" => tr!("patient").to_owned(),
        "nurse" => tr!("nurse").to_owned(),
        "clinician" => tr!("clinician").to_owned(),
        "pump" => tr!("pump").to_owned(),
        "program" => tr!("program").to_owned(),
        "anyone" => tr!("anyone").to_owned(),
        other => other.to_owned(),
    }
}

/// Who gave a screening bolus ("scheduled", "clinician").
pub(crate) fn bolus_by(by: &str) -> String {
    match by {
        "scheduled" => tr!("scheduled").to_owned(),
        "clinician" => tr!("clinician").to_owned(),
        other => other.to_owned(),
    }
}

/// Why a patient request was denied, as the log names it ("sedation_hold"): "sedation hold".
pub(crate) fn denial(reason: &str) -> String {
    match reason {
        "not_prescribed" => tr!("not prescribed").to_owned(),
        "bolus_in_progress" => tr!("bolus in progress").to_owned(),
        "not_delivering" => tr!("not delivering").to_owned(),
        "lockout" => tr!("lockout").to_owned(),
        "hourly_count" => tr!("hourly count").to_owned(),
        "cap" => tr!("cap").to_owned(),
        "sedation_hold" => tr!("sedation hold").to_owned(),
        "observation_overdue" => tr!("observation overdue").to_owned(),
        other => other.replace('_', " "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In English every name reads as the log writes it, its `_` as a space: the summary's
    /// English is what it was before the words were translated.
    #[test]
    fn in_english_the_words_are_the_logs_names() {
        let name = |v: serde_json::Value| v.as_str().unwrap_or_default().replace('_', " ");
        for kind in AlarmKind::ALL {
            assert_eq!(alarm(kind), name(serde_json::to_value(kind).unwrap()));
        }
        for p in [
            crate::core::supervisor::Priority::Info,
            crate::core::supervisor::Priority::Low,
            crate::core::supervisor::Priority::Medium,
            crate::core::supervisor::Priority::High,
        ] {
            assert_eq!(p.words(), p.to_string());
        }
        for e in [
            SideEffect::Nausea,
            SideEffect::Vomiting,
            SideEffect::Pruritus,
            SideEffect::UrinaryRetention,
            SideEffect::Sedation,
            SideEffect::Headache,
            SideEffect::Numbness,
            SideEffect::Weakness,
            SideEffect::Other,
        ] {
            assert_eq!(side_effect(e), name(serde_json::to_value(e).unwrap()));
        }
        for s in [Severity::Mild, Severity::Moderate, Severity::Severe] {
            assert_eq!(severity(s), name(serde_json::to_value(s).unwrap()));
        }
        for o in [Outcome::Success, Outcome::Failure, Outcome::Inconclusive] {
            assert_eq!(outcome(o), o.to_string());
        }
        for w in [Wish::Yes, Wish::No, Wish::Undecided] {
            assert_eq!(wish(w), w.to_string());
        }
        assert_eq!(trial("single_bolus"), "single bolus trial");
        assert_eq!(trial("something_new"), "something new trial");
        assert_eq!(route("epidural"), "epidural");
        assert_eq!(denial("sedation_hold"), "sedation hold");
        assert_eq!(denial("something_new"), "something new");
    }

    #[test]
    fn in_german_the_words_are_german() {
        use crate::core::lang::{Language, with};
        with(Language::German, || {
            assert_eq!(alarm(AlarmKind::Occlusion), "Okklusion");
            assert_eq!(trial("continuous"), "kontinuierliche Testphase");
            assert_eq!(severity(Severity::Moderate), "mäßig");
        });
    }
}
