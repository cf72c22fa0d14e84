//! The pre-trial checklist: what must be in place before a trial's delivery starts (medical
//! clearance, psychological evaluation, bloodwork and infection screen, anticoagulants held,
//! allergies and medication reviewed, consent, insurance, a responsible adult for an outpatient
//! single shot …).
//!
//! The items are data, from the site's protocol file ([`ChecklistItem`]); which of them apply
//! depends on the trial (its kind, and whether the patient goes home the same day). A nurse
//! confirms each item; the start is refused while any is open, unless a clinician overrides the
//! open items with a written reason. [`Checklist`] is the list as it stands: pure, built from
//! what the engine recorded, so that it comes back the same after a restart.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::program::{Trial, TrialKind};
use super::units::Timestamp;
use crate::tr;

/// The longest item text and override reason (a sentence or two for the nurse to read).
pub const MAX_TEXT: usize = 500;

/// One item of the site's checklist (`[[checklist]]` in config/protocol.toml).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecklistItem {
    /// Short and stable, lower case: what the log and the D-Bus calls name it by.
    pub id: String,
    /// What the nurse confirms, in the nurse's words.
    pub text: String,
    /// The trial kinds it applies to; empty (left out) for every kind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<TrialKind>,
    /// Only when the patient goes home the same day (`outpatient = true` in the trial).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub outpatient_only: bool,
}

impl ChecklistItem {
    /// Whether the item applies to this trial.
    pub fn applies_to(&self, trial: &Trial) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&trial.kind))
            && (!self.outpatient_only || trial.outpatient)
    }

    /// Why the item cannot be used, naming the field and the value (`at` is where it is, e.g.
    /// "checklist[2]").
    pub fn check(&self, at: &str) -> Result<(), String> {
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 40
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !id_ok {
            return Err(format!(
                "{at}.id: \"{}\" must be 1 to 40 characters of a-z, 0-9 and _",
                self.id
            ));
        }
        let chars = self.text.trim().chars().count();
        if chars == 0 {
            return Err(format!(
                "{at}.text: say what the nurse confirms for \"{}\"",
                self.id
            ));
        }
        if chars > MAX_TEXT {
            return Err(format!(
                "{at}.text: {chars} characters is more than the {MAX_TEXT} allowed"
            ));
        }
        Ok(())
    }
}

/// The items that apply to `trial`, in the protocol's order.
pub fn applicable(items: &[ChecklistItem], trial: &Trial) -> Vec<ChecklistItem> {
    items
        .iter()
        .filter(|i| i.applies_to(trial))
        .cloned()
        .collect()
}

/// Who confirmed an item, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    pub at: Timestamp,
    pub name: String,
}

/// A clinician's override of the items still open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub at: Timestamp,
    pub name: String,
    pub reason: String,
    /// The item ids open when it was given.
    pub open: Vec<String>,
}

/// Why a confirmation or an override is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChecklistRefusal {
    UnknownItem { id: String, known: Vec<String> },
    NothingOpen,
}

impl fmt::Display for ChecklistRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChecklistRefusal::UnknownItem { id, known } => f.write_str(&tr!(
                "item: \"{id}\" is not on this trial's checklist ({known})",
                id,
                known = known.join(", ")
            )),
            ChecklistRefusal::NothingOpen => f.write_str(tr!(
                "every item of the checklist is confirmed: there is nothing to override"
            )),
        }
    }
}

/// The checklist of one trial as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Checklist {
    pub items: Vec<ChecklistItem>,
    /// Per item, in the order of `items`: its confirmation, if any.
    pub confirmed: Vec<Option<Confirmation>>,
    pub overridden: Option<Override>,
}

impl Checklist {
    pub fn new(items: Vec<ChecklistItem>) -> Checklist {
        let confirmed = vec![None; items.len()];
        Checklist {
            items,
            confirmed,
            overridden: None,
        }
    }

    fn index(&self, id: &str) -> Result<usize, ChecklistRefusal> {
        self.items
            .iter()
            .position(|i| i.id == id)
            .ok_or_else(|| ChecklistRefusal::UnknownItem {
                id: id.to_owned(),
                known: self.items.iter().map(|i| i.id.clone()).collect(),
            })
    }

    /// Whether confirming `id` would be accepted; Ok(false) when it is confirmed already (a
    /// second press changes nothing).
    pub fn can_confirm(&self, id: &str) -> Result<bool, ChecklistRefusal> {
        let i = self.index(id)?;
        Ok(self.confirmed[i].is_none())
    }

    /// Records a nurse's (or clinician's) confirmation of `id`; the first one stands.
    pub fn confirm(
        &mut self,
        id: &str,
        at: Timestamp,
        name: &str,
    ) -> Result<bool, ChecklistRefusal> {
        let i = self.index(id)?;
        if self.confirmed[i].is_some() {
            return Ok(false);
        }
        self.confirmed[i] = Some(Confirmation {
            at,
            name: name.to_owned(),
        });
        Ok(true)
    }

    /// The items not confirmed, in order.
    pub fn open(&self) -> Vec<&ChecklistItem> {
        self.items
            .iter()
            .zip(&self.confirmed)
            .filter(|(_, c)| c.is_none())
            .map(|(i, _)| i)
            .collect()
    }

    /// Whether an override would be accepted (something is open).
    pub fn can_override(&self) -> Result<(), ChecklistRefusal> {
        if self.open().is_empty() {
            Err(ChecklistRefusal::NothingOpen)
        } else {
            Ok(())
        }
    }

    /// Records a clinician's override of the items open now.
    pub fn override_open(
        &mut self,
        at: Timestamp,
        name: &str,
        reason: &str,
    ) -> Result<(), ChecklistRefusal> {
        self.can_override()?;
        let open = self.open().iter().map(|i| i.id.clone()).collect();
        self.overridden = Some(Override {
            at,
            name: name.to_owned(),
            reason: reason.to_owned(),
            open,
        });
        Ok(())
    }

    /// Every item confirmed, or the open ones overridden.
    pub fn allows_start(&self) -> bool {
        self.overridden.is_some() || self.open().is_empty()
    }

    /// Why delivery may not start yet, naming the items still open; None when it may.
    pub fn start_refusal(&self) -> Option<String> {
        if self.allows_start() {
            return None;
        }
        let open: Vec<String> = self
            .open()
            .iter()
            .map(|i| format!("{} ({})", i.text.trim_end_matches('.'), i.id))
            .collect();
        Some(tr!(
            "the pre-trial checklist is not complete; still open: {open}. A nurse confirms each item, or a clinician overrides with a written reason",
            open = open.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::Route;
    use crate::units::Duration;

    fn item(id: &str, kinds: Vec<TrialKind>, outpatient_only: bool) -> ChecklistItem {
        ChecklistItem {
            id: id.to_owned(),
            text: format!("{id} done."),
            kinds,
            outpatient_only,
        }
    }

    fn trial(kind: TrialKind, outpatient: bool) -> Trial {
        Trial {
            patient: "P".to_owned(),
            route: Route::Intrathecal,
            kind,
            duration: Duration::from_hours(24),
            catheter_tip: None,
            catheter: None,
            catheter_placed_before: None,
            baseline_pain: None,
            outpatient,
            opioid_status: None,
            ome_before: None,
        }
    }

    #[test]
    fn the_responsible_adult_applies_to_an_outpatient_single_shot_only() {
        let items = vec![
            item("consent", vec![], false),
            item("responsible_adult", vec![TrialKind::SingleBolus], true),
        ];
        let ids = |t: &Trial| -> Vec<String> {
            applicable(&items, t).into_iter().map(|i| i.id).collect()
        };
        assert_eq!(
            ids(&trial(TrialKind::SingleBolus, true)),
            ["consent", "responsible_adult"]
        );
        assert_eq!(ids(&trial(TrialKind::SingleBolus, false)), ["consent"]);
        assert_eq!(ids(&trial(TrialKind::Continuous, true)), ["consent"]);
    }

    #[test]
    fn the_start_waits_for_every_item_or_an_override() {
        let t = Timestamp::ORIGIN;
        let mut c = Checklist::new(vec![
            item("consent", vec![], false),
            item("bloodwork", vec![], false),
        ]);
        let why = c.start_refusal().unwrap();
        assert!(
            why.contains("consent done (consent); bloodwork done (bloodwork)"),
            "{why}"
        );
        assert_eq!(c.confirm("consent", t, "N. Nurse"), Ok(true));
        assert_eq!(c.confirm("consent", t, "Other"), Ok(false), "first stands");
        assert_eq!(c.confirmed[0].as_ref().unwrap().name, "N. Nurse");
        let why = c.start_refusal().unwrap();
        assert!(
            !why.contains("(consent)") && why.contains("(bloodwork)"),
            "{why}"
        );
        assert_eq!(
            c.confirm("insurance", t, "N").unwrap_err().to_string(),
            "item: \"insurance\" is not on this trial's checklist (consent, bloodwork)"
        );
        c.override_open(t, "Dr C", "Results phoned through; report to follow.")
            .unwrap();
        assert!(c.allows_start());
        assert_eq!(c.overridden.as_ref().unwrap().open, ["bloodwork"]);
        let mut done = Checklist::new(vec![item("consent", vec![], false)]);
        done.confirm("consent", t, "N").unwrap();
        assert!(done.start_refusal().is_none());
        assert_eq!(
            done.override_open(t, "Dr C", "why"),
            Err(ChecklistRefusal::NothingOpen)
        );
    }

    #[test]
    fn a_bad_item_is_refused_with_the_field_and_value() {
        let mut i = item("Consent!", vec![], false);
        assert_eq!(
            i.check("checklist[0]").unwrap_err(),
            "checklist[0].id: \"Consent!\" must be 1 to 40 characters of a-z, 0-9 and _"
        );
        i.id = "consent".to_owned();
        i.text = "  ".to_owned();
        assert!(
            i.check("checklist[0]")
                .unwrap_err()
                .starts_with("checklist[0].text")
        );
    }

    #[test]
    fn an_items_id_and_text_are_checked_to_their_limits() {
        let ok = |id: &str, text: &str| {
            ChecklistItem {
                id: id.to_owned(),
                text: text.to_owned(),
                kinds: vec![],
                outpatient_only: false,
            }
            .check("checklist[1]")
        };
        assert_eq!(ok("responsible_adult_2", "Done."), Ok(()));
        assert_eq!(ok(&"a".repeat(40), "Done."), Ok(()));
        for bad in ["", "hb-a1c", "Consent", &"a".repeat(41)] {
            assert!(
                ok(bad, "Done.").unwrap_err().starts_with("checklist[1].id"),
                "{bad:?}"
            );
        }
        // Counted in characters, not bytes, and without the spaces around it.
        let most = format!(" {} ", "é".repeat(MAX_TEXT));
        assert_eq!(ok("consent", &most), Ok(()));
        assert_eq!(
            ok("consent", &"é".repeat(MAX_TEXT + 1)),
            Err("checklist[1].text: 501 characters is more than the 500 allowed".to_owned())
        );
    }

    #[test]
    fn a_confirmation_is_known_to_be_accepted_before_it_is_made() {
        let mut c = Checklist::new(vec![item("consent", vec![], false)]);
        assert_eq!(c.can_confirm("consent"), Ok(true));
        assert!(matches!(
            c.can_confirm("insurance"),
            Err(ChecklistRefusal::UnknownItem { .. })
        ));
        c.confirm("consent", Timestamp::ORIGIN, "N. Nurse").unwrap();
        assert_eq!(c.can_confirm("consent"), Ok(false), "already confirmed");
    }
}
