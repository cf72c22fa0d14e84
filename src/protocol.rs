//! The site's protocol (config/protocol.toml): the rules the trial summary applies, each printed
//! beside the number it gives. Read strictly; the whole file is refused on the first problem.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::core::checklist::ChecklistItem;
use crate::core::diary::DiaryRule;
use crate::core::program::Trial;
use crate::core::site::SiteRule;
use crate::core::units::{AmountRate, Concentration};

pub const PROTOCOL_SCHEMA: &str = "titra.protocol/1";

/// The example protocol built into the binary.
pub const BUILT_IN_PROTOCOL: &str = include_str!("../config/protocol.toml");

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protocol {
    pub schema: String,
    #[serde(default)]
    pub review: Option<String>,
    /// Without it, the clinician enters the implant's starting dose.
    #[serde(default)]
    pub implant: Option<ImplantRule>,
    /// The pre-trial checklist: every item that applies to a trial must be confirmed by a nurse
    /// (or the open ones overridden by a clinician) before its delivery starts. Empty: none.
    #[serde(default)]
    pub checklist: Vec<ChecklistItem>,
    /// Catheter site checks: how often, and the fever threshold. Without the table, every 8 h
    /// and 38.0 °C.
    #[serde(default)]
    pub site_checks: Option<SiteRule>,
    /// The patient diary: how often pain is asked while awake, the waking hours, and the
    /// function question. Without the table, the defaults of `DiaryRule`.
    #[serde(default)]
    pub diary: DiaryRule,
}

/// The implant's starting dose as a percentage of the effective trial dose.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImplantRule {
    /// Whole percent, 1 to 100.
    pub percent: u32,
    /// Where the rule comes from, printed with it.
    pub source: String,
    /// The implant's fill concentration per drug (default: the trial's).
    #[serde(default)]
    pub concentration: BTreeMap<String, Concentration>,
}

impl ImplantRule {
    /// The starting dose for an effective trial dose (rounded down to whole ng per day: never
    /// more than the rule gives).
    pub fn starting_dose(&self, effective: AmountRate) -> AmountRate {
        let ng = u128::from(effective.ng_per_day()) * u128::from(self.percent) / 100;
        AmountRate::from_ng_per_day(u64::try_from(ng).unwrap_or(u64::MAX))
    }

    /// The rule in words, printed beside its number.
    pub fn describe(&self) -> String {
        format!(
            "{} % of the effective trial dose (site protocol: {})",
            self.percent, self.source
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("site protocol {source_name}: {message}")]
pub struct ProtocolError {
    pub source_name: String,
    pub message: String,
}

impl Protocol {
    pub fn built_in() -> Result<Protocol, ProtocolError> {
        Protocol::from_toml_str(BUILT_IN_PROTOCOL, "built-in")
    }

    pub fn from_file(path: &Path) -> Result<Protocol, ProtocolError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ProtocolError {
            source_name: name.clone(),
            message: format!("cannot read it: {e}"),
        })?;
        Protocol::from_toml_str(&text, &name)
    }

    pub fn from_toml_str(text: &str, name: &str) -> Result<Protocol, ProtocolError> {
        let fail = |message: String| ProtocolError {
            source_name: name.to_owned(),
            message,
        };
        let p: Protocol = crate::core::from_toml(text).map_err(fail)?;
        if p.schema != PROTOCOL_SCHEMA {
            return Err(fail(format!(
                "schema is \"{}\", this version reads \"{PROTOCOL_SCHEMA}\"",
                p.schema
            )));
        }
        if let Some(rule) = &p.implant {
            if !(1..=100).contains(&rule.percent) {
                return Err(fail(format!(
                    "implant.percent: {} is outside 1 to 100",
                    rule.percent
                )));
            }
            if rule.source.trim().is_empty() {
                return Err(fail(
                    "implant.source: say where the rule comes from; it is printed with it"
                        .to_owned(),
                ));
            }
        }
        for (i, item) in p.checklist.iter().enumerate() {
            item.check(&format!("checklist[{i}]")).map_err(fail)?;
            if p.checklist[..i].iter().any(|other| other.id == item.id) {
                return Err(fail(format!(
                    "checklist[{i}].id: \"{}\" is used twice",
                    item.id
                )));
            }
        }
        if let Some(rule) = &p.site_checks {
            rule.check().map_err(fail)?;
        }
        p.diary.check().map_err(fail)?;
        Ok(p)
    }

    /// The rule for catheter site checks: the protocol's, or every 8 h and 38.0 °C.
    pub fn site_rule(&self) -> SiteRule {
        self.site_checks.unwrap_or_default()
    }

    /// The checklist items that apply to `trial`, in the protocol's order.
    pub fn checklist_for(&self, trial: &Trial) -> Vec<ChecklistItem> {
        crate::core::checklist::applicable(&self.checklist, trial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_protocol_halves_the_trial_dose_and_says_so() {
        let p = Protocol::built_in().unwrap();
        let rule = p.implant.unwrap();
        let half = rule.starting_dose("1 mg/day".parse().unwrap());
        assert_eq!(half.to_string(), "0.5 mg/day");
        assert!(
            rule.describe()
                .starts_with("50 % of the effective trial dose")
        );
        assert_eq!(rule.concentration["morphine"].to_string(), "10 mg/mL");
        // Rounded down: never more than the rule gives.
        let third = ImplantRule {
            percent: 33,
            ..rule
        };
        assert_eq!(
            third
                .starting_dose(AmountRate::from_ng_per_day(1_000_001))
                .ng_per_day(),
            330_000
        );
    }

    #[test]
    fn a_bad_protocol_is_refused_with_the_field_and_value() {
        let bad = BUILT_IN_PROTOCOL.replace("percent = 50", "percent = 150");
        let e = Protocol::from_toml_str(&bad, "p.toml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "site protocol p.toml: implant.percent: 150 is outside 1 to 100"
        );
        let bad = BUILT_IN_PROTOCOL.replace("morphine = \"10 mg/mL\"", "morphine = \"10 mg\"");
        let e = Protocol::from_toml_str(&bad, "p.toml").unwrap_err();
        assert!(e.to_string().contains("line"), "{e}");
        let none = Protocol::from_toml_str("schema = \"titra.protocol/1\"\n", "p.toml").unwrap();
        assert!(
            none.implant.is_none(),
            "no rule: the clinician enters the dose"
        );
        assert!(
            none.checklist.is_empty(),
            "no checklist: nothing to confirm"
        );
    }

    #[test]
    fn the_built_in_checklist_names_each_item_and_asks_for_the_adult_only_when_needed() {
        use crate::core::program::TrialKind;
        let p = Protocol::built_in().unwrap();
        let ids: Vec<&str> = p.checklist.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "medical_clearance",
                "psychological_evaluation",
                "bloodwork_infection_screen",
                "anticoagulants_held",
                "allergies_medication_reviewed",
                "consent",
                "insurance_confirmed",
                "responsible_adult",
            ]
        );
        let mut trial = Trial {
            patient: "P".to_owned(),
            route: crate::core::library::Route::Intrathecal,
            kind: TrialKind::SingleBolus,
            duration: crate::core::units::Duration::from_hours(24),
            catheter_tip: None,
            catheter: None,
            catheter_placed_before: None,
            baseline_pain: None,
            outpatient: false,
        };
        assert_eq!(p.checklist_for(&trial).len(), 7);
        trial.outpatient = true;
        assert_eq!(
            p.checklist_for(&trial).last().map(|i| i.id.as_str()),
            Some("responsible_adult")
        );
        trial.kind = TrialKind::Continuous;
        assert_eq!(p.checklist_for(&trial).len(), 7);

        let twice =
            format!("{BUILT_IN_PROTOCOL}\n[[checklist]]\nid = \"consent\"\ntext = \"Again.\"\n");
        let e = Protocol::from_toml_str(&twice, "p.toml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "site protocol p.toml: checklist[8].id: \"consent\" is used twice"
        );
    }

    #[test]
    fn site_checks_and_the_diary_are_read_and_checked() {
        let p = Protocol::built_in().unwrap();
        assert_eq!(p.site_rule(), SiteRule::DEFAULT);
        assert_eq!(p.diary.function_answers.len(), 5);
        // Without the tables: every 8 h, 38 °C, the default diary.
        let bare = Protocol::from_toml_str("schema = \"titra.protocol/1\"\n", "t").unwrap();
        assert_eq!(bare.site_rule(), SiteRule::DEFAULT);
        assert_eq!(bare.diary, DiaryRule::default());
        let e = Protocol::from_toml_str(
            "schema = \"titra.protocol/1\"\n[site_checks]\nevery = \"30min\"\n",
            "t",
        )
        .unwrap_err();
        assert!(e.message.starts_with("site_checks.every: 30min"), "{e}");
        let e = Protocol::from_toml_str(
            "schema = \"titra.protocol/1\"\n[diary]\nawake_from = \"7:00\"\n",
            "t",
        )
        .unwrap_err();
        assert!(e.message.contains("HH:MM"), "{e}");
        let p = Protocol::from_toml_str(
            "schema = \"titra.protocol/1\"\n[site_checks]\nevery = \"12h\"\nfever = 38.5\n",
            "t",
        )
        .unwrap();
        assert_eq!(
            p.site_rule().every,
            crate::core::units::Duration::from_hours(12)
        );
        assert_eq!(p.site_rule().fever.deci_celsius(), 385);
    }
}
