//! Changing a program during the trial (titration, issue 24): the basal, the patient bolus
//! (dose, lockout, boluses per hour), the scheduled boluses still to come, the program's window
//! limit and the KVO. A change is written as the settings that change, in the program's own
//! words, e.g.
//!
//! ```toml
//! pca = { dose = "0.1 mg", lockout = "30min", max_per_hour = 2 }
//! limit = { window = "4h", max = "0.6 mg" }
//! ```
//!
//! Everything else (the drug, its concentration, the reservoir, the checks) belongs to the
//! trial as started and is refused here, naming the key. The new program is checked like a new
//! one by [`crate::program::check_change`]; what the pump has already given in each window is
//! the engine's to add.

use serde::{Deserialize, Serialize};

use crate::program::{Pca, Program, ScheduledBolus, WindowLimit};
use crate::tr;
use crate::units::{AmountRate, Duration, VolumeRate};

/// The settings a change may name.
pub const CHANGEABLE: [&str; 5] = ["basal", "pca", "boluses", "limit", "kvo"];

/// The settings that change; each left out stays as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basal: Option<AmountRate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pca: Option<Pca>,
    /// The scheduled boluses still to come (times after the start, all later than the change):
    /// they replace those not yet given; those given stay as they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boluses: Option<Vec<ScheduledBolus>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<WindowLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kvo: Option<VolumeRate>,
}

/// Why a change could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error(
        "{0}: cannot be changed during a trial (only {list} can); end the trial and start a new one to change it",
        list = CHANGEABLE.join(", ")
    )]
    NotChangeable(String),
    #[error("the change names no setting: give one or more of {}", CHANGEABLE.join(", "))]
    Empty,
    #[error("{0}")]
    Malformed(String),
}

/// One setting, before and after, in words (for the screen's old-beside-new and the log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingChange {
    pub setting: String,
    pub old: String,
    pub new: String,
}

impl ProgramChange {
    /// Reads a change from its TOML text, refusing any key that is not a changeable setting.
    pub fn from_toml_str(text: &str) -> Result<ProgramChange, ChangeError> {
        let table: toml::Table =
            toml::from_str(text).map_err(|e| ChangeError::Malformed(e.message().to_owned()))?;
        if let Some(key) = table.keys().find(|k| !CHANGEABLE.contains(&k.as_str())) {
            return Err(ChangeError::NotChangeable(key.clone()));
        }
        if table.is_empty() {
            return Err(ChangeError::Empty);
        }
        let change: ProgramChange = table
            .try_into()
            .map_err(|e: toml::de::Error| ChangeError::Malformed(e.message().to_owned()))?;
        Ok(change)
    }

    /// The program after this change, `given` of its scheduled boluses already given (or
    /// decided): those stay; the change's replace the rest. A new basal rate (one that differs
    /// from the rate in force) replaces the planned titration, as a change of the basal by hand
    /// always has; [`ProgramChange::describe`] shows the steps cancelled.
    pub fn apply(&self, program: &Program, given: usize) -> Program {
        let mut new = program.clone();
        if let Some(basal) = self.basal.filter(|&b| b != program.basal) {
            new.basal = basal;
            new.titration.clear();
        }
        if let Some(pca) = self.pca {
            new.pca = Some(pca);
        }
        if let Some(boluses) = &self.boluses {
            let mut to_come = boluses.clone();
            to_come.sort_by_key(|b| b.at);
            new.boluses.truncate(given);
            new.boluses.extend(to_come);
        }
        if let Some(limit) = self.limit {
            new.limit = Some(limit);
        }
        if let Some(kvo) = self.kvo {
            new.kvo = kvo;
        }
        new
    }

    /// What changes, old beside new, in the drug's unit, in the language in use (the setting's
    /// name stays the key); settings named with the value they already have are left out. Planned titration steps a new basal cancels show as
    /// `titration`.
    pub fn describe(
        old: &Program,
        new: &Program,
        unit: crate::units::MassUnit,
    ) -> Vec<SettingChange> {
        let mut out = Vec::new();
        let mut push = |setting: &str, a: String, b: String| {
            if a != b {
                out.push(SettingChange {
                    setting: setting.to_owned(),
                    old: a,
                    new: b,
                });
            }
        };
        let steps = |p: &Program| {
            if p.titration.is_empty() {
                tr!("none").to_owned()
            } else {
                p.titration
                    .iter()
                    .map(|s| tr!("{what} at {at}", what = s.basal.per_day_in(unit), at = s.at))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        push("titration", steps(old), steps(new));
        push(
            "basal",
            old.basal.per_day_in(unit).to_string(),
            new.basal.per_day_in(unit).to_string(),
        );
        let pca = |p: Option<Pca>| {
            p.map_or_else(
                || tr!("none").to_owned(),
                |p| {
                    tr!(
                        "{dose}, lockout {lockout}, at most {count} an hour",
                        dose = p.dose.in_unit(unit),
                        lockout = p.lockout,
                        count = p.max_per_hour
                    )
                },
            )
        };
        push("pca", pca(old.pca), pca(new.pca));
        let boluses = |b: &[ScheduledBolus]| {
            if b.is_empty() {
                tr!("none").to_owned()
            } else {
                b.iter()
                    .map(|b| tr!("{what} at {at}", what = b.dose.in_unit(unit), at = b.at))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        push("boluses", boluses(&old.boluses), boluses(&new.boluses));
        let limit = |l: Option<WindowLimit>| {
            l.map_or_else(
                || tr!("none").to_owned(),
                |l| {
                    tr!(
                        "{max} in {window}",
                        max = l.max.in_unit(unit),
                        window = l.window
                    )
                },
            )
        };
        push("limit", limit(old.limit), limit(new.limit));
        push(
            "kvo",
            old.kvo.per_hour().to_string(),
            new.kvo.per_hour().to_string(),
        );
        out
    }

    /// Whether the change raises the dose: a higher basal (KVO counted), a larger patient bolus
    /// or more of them an hour or a shorter lockout, a higher limit. Sedation and breathing
    /// checks close up again after an increase (the labels' "after each increase").
    pub fn increases(old: &Program, new: &Program) -> bool {
        let rate = |p: &Program| p.basal.ng_per_day() + p.kvo_rate().ng_per_day();
        let pca_more = match (old.pca, new.pca) {
            (None, Some(_)) => true,
            (Some(a), Some(b)) => {
                b.dose > a.dose || b.max_per_hour > a.max_per_hour || b.lockout < a.lockout
            }
            _ => false,
        };
        let limit_more = match (old.limit, new.limit) {
            (Some(a), Some(b)) => b.max > a.max || b.window < a.window,
            (None, Some(_)) | (None, None) | (Some(_), None) => false,
        };
        rate(new) > rate(old) || pca_more || limit_more
    }

    /// The scheduled boluses of this change that are not later than `since_start` (the time
    /// into the trial the change is made), with their index in the change.
    pub fn past_boluses(&self, since_start: Duration) -> Vec<(usize, ScheduledBolus)> {
        self.boluses
            .iter()
            .flatten()
            .copied()
            .enumerate()
            .filter(|(_, b)| b.at <= since_start)
            .collect()
    }
}
