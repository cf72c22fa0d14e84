//! The screens that change the delivery: the clinician's basal dose change, shown checked before
//! anyone confirms it.

use crate::core::finding::Class;
use crate::core::tr;
use crate::service::wire::{WireFinding, WireSettingChange};

/// What a basal change would mean: the dose now and the new one, how serious the daemon found
/// it (None: not checked), and the findings that need reading.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BasalCheck {
    pub class: Option<Class>,
    pub old: String,
    pub new: String,
    /// "! Above the usual maximum …", "✕ …"; the findings that are ok are left out.
    pub notes: Vec<String>,
}

/// The check of a basal change, from the daemon's answer (its class as written on D-Bus).
pub fn basal_check(class: &str, findings: &[WireFinding], old: &str, new: &str) -> BasalCheck {
    BasalCheck {
        class: super::class_of(class),
        old: old.to_owned(),
        new: new.to_owned(),
        notes: findings
            .iter()
            .filter(|f| super::class_of(&f.class) != Some(Class::Ok))
            .map(|f| format!("{} {}", if f.is_hard() { "✕" } else { "!" }, f.message))
            .collect(),
    }
}

/// The check of a program change: each setting old beside new (one line each), with the
/// findings as for the basal.
pub fn program_change_check(
    class: &str,
    findings: &[WireFinding],
    side: &[WireSettingChange],
) -> BasalCheck {
    let lines = |f: fn(&WireSettingChange) -> &str| {
        side.iter()
            .map(|c| format!("{}: {}", setting_name(&c.setting), f(c)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    BasalCheck {
        old: lines(|c| c.old.as_str()),
        new: lines(|c| c.new.as_str()),
        ..basal_check(class, findings, "", "")
    }
}

/// What a program change did, in words for the clinician.
pub fn changed_words(changed: &[WireSettingChange]) -> String {
    if changed.is_empty() {
        return tr!("Nothing changed.").to_owned();
    }
    let what = changed
        .iter()
        .map(|c| {
            tr!(
                "{setting} from {old} to {new}",
                setting = setting_name(&c.setting),
                old = c.old,
                new = c.new
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    tr!("Changed: {what}.", what)
}

/// A setting's name for people.
fn setting_name(setting: &str) -> &str {
    match setting {
        "titration" => tr!("Planned dose steps"),
        "basal" => tr!("Basal dose"),
        "pca" => tr!("Patient bolus"),
        "boluses" => tr!("Scheduled boluses"),
        "limit" => tr!("Dose limit"),
        "kvo" => "KVO",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(class: &str, message: &str) -> WireFinding {
        WireFinding {
            field: "basal".to_owned(),
            value: String::new(),
            limit: String::new(),
            class: class.to_owned(),
            message: message.to_owned(),
            source: String::new(),
        }
    }

    #[test]
    fn a_basal_check_lists_what_needs_reading() {
        let c = basal_check(
            "soft",
            &[
                finding("ok", "Within range."),
                finding("soft", "Above the usual maximum."),
                finding("hard", "Above the absolute maximum."),
            ],
            "0.5 mg/day",
            "16 mg/day",
        );
        assert_eq!(c.class, Some(Class::Soft));
        assert_eq!(
            c.notes,
            [
                "! Above the usual maximum.",
                "✕ Above the absolute maximum."
            ]
        );
        assert_eq!(basal_check("", &[], "", ""), BasalCheck::default());
    }

    #[test]
    fn a_program_change_is_shown_setting_by_setting_old_beside_new() {
        let side = [WireSettingChange {
            setting: "pca".to_owned(),
            old: "0.05 mg, lockout 1h, at most 1 an hour".to_owned(),
            new: "0.1 mg, lockout 30min, at most 2 an hour".to_owned(),
        }];
        let c = program_change_check("soft", &[finding("soft", "Confirm it.")], &side);
        assert_eq!(c.class, Some(Class::Soft));
        assert_eq!(
            c.old,
            "Patient bolus: 0.05 mg, lockout 1h, at most 1 an hour"
        );
        assert_eq!(
            c.new,
            "Patient bolus: 0.1 mg, lockout 30min, at most 2 an hour"
        );
        assert_eq!(c.notes, ["! Confirm it."]);
        assert_eq!(
            changed_words(&side),
            "Changed: Patient bolus from 0.05 mg, lockout 1h, at most 1 an hour to 0.1 mg, lockout 30min, at most 2 an hour."
        );
        assert_eq!(changed_words(&[]), "Nothing changed.");
    }
}
