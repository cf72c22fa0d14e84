//! The site's protocol (config/protocol.toml): the rules the trial summary applies, each printed
//! beside the number it gives. Read strictly; the whole file is refused on the first problem.

use std::path::Path;

use serde::Deserialize;

use crate::core::checklist::ChecklistItem;
use crate::core::diary::DiaryRule;
use crate::core::implant::{ImplantProtocol, ResponseCriterion};
use crate::core::program::Trial;
use crate::core::site::SiteRule;

pub(crate) const PROTOCOL_SCHEMA: &str = "titra.protocol/1";

/// The example protocol built into the binary.
pub(crate) const BUILT_IN_PROTOCOL: &str = include_str!("../../config/protocol.toml");

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protocol {
    pub schema: String,
    #[serde(default)]
    pub review: Option<String>,
    /// What counts as a response (pain, spasticity); without the table, 50 % and 1 point.
    #[serde(default)]
    pub response: ResponseCriterion,
    /// The implant's starting dose: route, drug rules, conversions. Without it, the clinician
    /// enters the implant's starting dose.
    #[serde(default)]
    pub implant: Option<ImplantProtocol>,
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
    /// Which actions need a second person beyond those that always do (docs/two-person.md).
    #[serde(default)]
    pub second_person: SecondPerson,
    /// The language of the screens, the pump's answers and the trial summary: "en" (as shipped)
    /// or "de". The trial log is written in English whatever it is.
    #[serde(default)]
    pub language: crate::core::lang::Language,
}

/// The site's two-person rules that can be set. Starting a trial and changing the basal always
/// need a second person, whatever this says.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecondPerson {
    /// Clinician boluses up to this size (per drug) need no second person; larger ones, and
    /// every clinician bolus of a drug not listed, do. Empty (as shipped): every one does.
    #[serde(default)]
    pub clinician_bolus_up_to: std::collections::BTreeMap<String, crate::core::units::Amount>,
}

impl SecondPerson {
    /// Whether a clinician bolus of `dose` of `drug` needs a second person.
    pub fn clinician_bolus_needs_check(
        &self,
        drug: &str,
        dose: crate::core::units::Amount,
    ) -> bool {
        self.clinician_bolus_up_to
            .get(drug)
            .is_none_or(|&up_to| dose > up_to)
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
        p.response.check().map_err(fail)?;
        if let Some(rules) = &p.implant {
            rules.check().map_err(fail)?;
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

    /// The implant rules: the protocol's, or none (the clinician enters every dose).
    pub fn implant_rules(&self) -> ImplantProtocol {
        self.implant.clone().unwrap_or_default()
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
    fn the_built_in_protocol_ships_the_published_rules() {
        use crate::core::implant::Rule;
        use crate::core::library::Route;
        use crate::core::program::TrialKind;
        let p = Protocol::built_in().unwrap();
        assert_eq!(p.response.pain_reduction_percent, 50);
        assert_eq!(p.response.ashworth_fall.tenths(), 10);
        let rules = p.implant.unwrap();
        assert_eq!(rules.route, Route::Intrathecal);
        assert_eq!(rules.stable_period.to_string(), "1d");
        let rule = |drug: &str, kind| rules.rule_for(drug, kind).map(|a| a.rule);
        assert_eq!(
            rule("baclofen", TrialKind::SingleBolus),
            Some(Rule::EffectDuration {
                longer_than: "8h".parse().unwrap(),
                times_if_longer: 1,
                times_otherwise: 2
            })
        );
        assert_eq!(
            rule("baclofen", TrialKind::Continuous),
            Some(Rule::Clinician)
        );
        assert_eq!(
            rule("Ziconotide", TrialKind::Continuous),
            Some(Rule::Fixed("1.2 mcg/day".parse().unwrap()))
        );
        assert_eq!(
            rule("morphine", TrialKind::SingleBolus),
            Some(Rule::Percent(50))
        );
        assert_eq!(
            rule("bupivacaine", TrialKind::Continuous),
            Some(Rule::Percent(50))
        );
        assert_eq!(
            rules
                .conversion("morphine", Route::Epidural)
                .map(|c| c.ratio),
            Some(10)
        );
        assert_eq!(
            rules
                .conversion("hydromorphone", Route::Epidural)
                .map(|c| c.ratio),
            Some(5)
        );
        assert!(rules.conversion("fentanyl", Route::Epidural).is_none());
        assert_eq!(
            rules
                .fill("morphine", "1 mg/mL".parse().unwrap())
                .to_string(),
            "10 mg/mL"
        );
        assert_eq!(
            rules
                .fill("fentanyl", "10 mcg/mL".parse().unwrap())
                .to_string(),
            "10 mcg/mL"
        );
    }

    #[test]
    fn the_site_chooses_the_language_and_an_unknown_one_is_refused() {
        use crate::core::lang::Language;
        assert_eq!(Protocol::built_in().unwrap().language, Language::English);
        let german = BUILT_IN_PROTOCOL.replace("language = \"en\"", "language = \"de\"");
        let p = Protocol::from_toml_str(&german, "p.toml").unwrap();
        assert_eq!(p.language, Language::German);
        let none = BUILT_IN_PROTOCOL.replace("language = \"en\"\n", "");
        assert_eq!(
            Protocol::from_toml_str(&none, "p.toml").unwrap().language,
            Language::English
        );
        let bad = BUILT_IN_PROTOCOL.replace("language = \"en\"", "language = \"fr\"");
        let e = Protocol::from_toml_str(&bad, "p.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("fr") && e.contains("`en`") && e.contains("`de`"),
            "{e}"
        );
        assert!(e.contains("line 75"), "{e}");
    }

    #[test]
    fn a_bad_protocol_is_refused_with_the_field_and_value() {
        let bad = BUILT_IN_PROTOCOL.replace("\npercent = 50", "\npercent = 150");
        let e = Protocol::from_toml_str(&bad, "p.toml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "site protocol p.toml: implant.percent: 150 is outside 1 to 100"
        );
        let bad = BUILT_IN_PROTOCOL.replace("morphine = \"10 mg/mL\"", "morphine = \"10 mg\"");
        let e = Protocol::from_toml_str(&bad, "p.toml").unwrap_err();
        assert!(e.to_string().contains("line"), "{e}");
        let bad = BUILT_IN_PROTOCOL.replace("times_otherwise = 2", "times_otherwise = 9");
        let e = Protocol::from_toml_str(&bad, "p.toml").unwrap_err();
        assert_eq!(
            e.message,
            "implant.rules[0] (baclofen): times_otherwise: 9 is outside 1 to 4"
        );
        let bad = BUILT_IN_PROTOCOL.replace("ratio = 10", "ratio = 0");
        let e = Protocol::from_toml_str(&bad, "p.toml").unwrap_err();
        assert_eq!(
            e.message,
            "implant.conversions[0] (morphine): ratio: 0 is outside 1 to 100"
        );
        let bad = BUILT_IN_PROTOCOL.replace(
            "kinds = [\"single_bolus\", \"multiple_bolus\"]",
            "kinds = [\"single_bolus\", \"continuous\"]",
        );
        let e = Protocol::from_toml_str(&bad, "p.toml").unwrap_err();
        assert!(
            e.message
                .starts_with("implant.rules[0] (baclofen): kinds: the duration"),
            "{e}"
        );
        let bad = BUILT_IN_PROTOCOL.replace(
            "kinds = [\"continuous\"]",
            "kinds = [\"continuous\", \"single_bolus\"]",
        );
        let e = Protocol::from_toml_str(&bad, "p.toml").unwrap_err();
        assert_eq!(
            e.message,
            "implant.rules[1] (baclofen): a second rule for baclofen after a single_bolus trial; one rule per drug and trial kind"
        );
        let bad =
            BUILT_IN_PROTOCOL.replace("pain_reduction_percent = 50", "pain_reduction_percent = 0");
        let e = Protocol::from_toml_str(&bad, "p.toml").unwrap_err();
        assert_eq!(
            e.message,
            "response.pain_reduction_percent: 0 is outside 1 to 100"
        );
        let bad = BUILT_IN_PROTOCOL.replace("ashworth_fall = 1", "ashworth_fall = 1.25");
        let e = Protocol::from_toml_str(&bad, "p.toml").unwrap_err();
        assert!(e.message.contains("in tenths"), "{e}");
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
            opioid_status: None,
            ome_before: None,
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
