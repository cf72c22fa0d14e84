//! The pre-trial checklist screen: the site protocol's items, in two columns on the landscape
//! display, and the clinician's override when there is one.

use crate::core::tr;

/// The items in two columns for the landscape display, read across: the first, third, … on the
/// left, the second, fourth, … on the right.
pub fn columns<T: Clone>(items: &[T]) -> (Vec<T>, Vec<T>) {
    let left = items.iter().step_by(2).cloned().collect();
    let right = items.iter().skip(1).step_by(2).cloned().collect();
    (left, right)
}

/// What the screen says of a clinician's override (`by` and the written `reason`; "" when
/// nobody overrode the checklist).
pub fn override_note(by: &str, reason: &str) -> String {
    if by.is_empty() {
        String::new()
    } else {
        tr!(
            "Started without every item confirmed: {by} decided \"{reason}\".",
            by,
            reason
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_items_are_read_across_two_columns() {
        assert_eq!(columns(&[1, 2, 3, 4, 5]), (vec![1, 3, 5], vec![2, 4]));
        assert_eq!(columns::<u8>(&[]), (vec![], vec![]));
    }

    #[test]
    fn an_override_names_who_decided_and_why() {
        assert_eq!(override_note("", ""), "");
        assert_eq!(
            override_note("Demo Clinician", "urgent"),
            "Started without every item confirmed: Demo Clinician decided \"urgent\"."
        );
    }
}
