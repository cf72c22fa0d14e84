//! The screens that change the delivery: the clinician's basal dose change, shown checked before
//! anyone confirms it.

use crate::core::finding::Class;
use crate::service::wire::WireFinding;

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
}
