//! What the screens show and decide, in plain Rust: no slint type here, so that every page's
//! logic is tested without a window. One module per page (as ui/pages/ groups them); the
//! adapters (src/ui/adapters/) copy these models into the pages' globals.
//!
//! Decisions read the daemon's enums ([`crate::service::wire::Status`] carries the state, the
//! alarms' kinds and priorities, the outcome measure and the dose unit); the words the UI adds
//! (who is logged in, the staff's tasks, the patient's questions) are enums here too.

pub mod alarm;
pub mod chart;
pub mod checklist;
pub mod delivery;
pub mod export;
pub mod login;
pub mod observation;
pub mod patient;
pub mod staff;
pub mod typing;
pub mod wizard;

use crate::core::finding::Class;

/// A finding's class as the daemon writes it on D-Bus ("ok", "soft", "hard"), read once where
/// it arrives; None for anything else (an empty class: nothing checked).
pub fn class_of(word: &str) -> Option<Class> {
    serde_json::from_value(serde_json::Value::String(word.to_owned())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_findings_class_is_read_from_the_daemons_word() {
        assert_eq!(class_of("ok"), Some(Class::Ok));
        assert_eq!(class_of("soft"), Some(Class::Soft));
        assert_eq!(class_of("hard"), Some(Class::Hard));
        assert_eq!(class_of(""), None);
        assert_eq!(class_of("Hard"), None);
    }
}
