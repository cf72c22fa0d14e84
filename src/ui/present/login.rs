//! The login screen and the second person's checks: the staff to pick from, and what Stop
//! delivery answers.

use super::staff::role_of;
use crate::core::tr;
use crate::service::auth::Staff;

/// What the login screen shows once Stop delivery has stopped the pump, in English (as
/// [`stopped`] says it in the language in use).
pub const STOPPED: &str =
    "Delivery stopped. It stays stopped until a nurse logs in and resumes it.";

/// What the login screen shows once Stop delivery has stopped the pump.
pub fn stopped() -> &'static str {
    tr!("Delivery stopped. It stays stopped until a nurse logs in and resumes it.")
}

/// The staff the PIN pads offer, as (user ID, name): in alphabetical order of name, so that a
/// long list is read like a ward's list.
pub fn staff_to_pick(staff: &[Staff]) -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = staff
        .iter()
        .map(|s| (s.id.clone(), s.name.clone()))
        .collect();
    list.sort_by_cached_key(|(id, name)| (name.to_lowercase(), id.clone()));
    list
}

/// The staff as the daemon lists them on D-Bus, (user ID, name, role). A role this screen does
/// not know is left out: such a user could not use its screens.
pub fn staff_of_wire(list: Vec<(String, String, String)>) -> Vec<Staff> {
    list.into_iter()
        .filter_map(|(id, name, word)| match role_of(&word) {
            Some(role) => Some(Staff { id, name, role }),
            None => {
                tracing::warn!(user = %id, role = %word, "a staff role the screen does not know");
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::auth::UserRole;

    #[test]
    fn stop_delivery_answers_in_the_language_in_use() {
        use crate::core::lang::{Language, with};
        assert_eq!(stopped(), STOPPED);
        assert_eq!(
            with(Language::German, stopped),
            "Abgabe gestoppt. Sie bleibt gestoppt, bis sich eine Pflegekraft anmeldet und sie \
             fortsetzt."
        );
    }

    #[test]
    fn the_staff_are_offered_by_name_and_an_unknown_role_is_left_out() {
        let staff = staff_of_wire(vec![
            ("nurse2".into(), "Demo Nurse 2".into(), "nurse".into()),
            ("nurse".into(), "Demo Nurse".into(), "nurse".into()),
            (
                "clinician".into(),
                "demo clinician".into(),
                "clinician".into(),
            ),
            ("admin".into(), "Admin".into(), "administrator".into()),
        ]);
        assert_eq!(staff.len(), 3);
        assert_eq!(staff[2].role, UserRole::Clinician);
        assert_eq!(
            staff_to_pick(&staff),
            [
                ("clinician".to_owned(), "demo clinician".to_owned()),
                ("nurse".to_owned(), "Demo Nurse".to_owned()),
                ("nurse2".to_owned(), "Demo Nurse 2".to_owned()),
            ]
        );
        assert!(staff_to_pick(&[]).is_empty());
    }
}
