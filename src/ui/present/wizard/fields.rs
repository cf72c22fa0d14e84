//! The program step's fields for each kind of trial, with their defaults.

use crate::core::lang::{self, Language};
use crate::core::program::TrialKind;
use crate::core::tr;
use crate::core::units::MassUnit;

/// What a program field holds, which decides its unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Millilitres,
    Mass,
    MassPerDay,
    Minutes,
    Hours,
    Count,
}

/// One entry of the program step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Field {
    pub(super) key: &'static str,
    pub(super) label: &'static str,
    pub(super) kind: Kind,
    pub(super) value: String,
    /// May be left empty (no patient bolus, no program limit).
    pub(super) optional: bool,
}

impl Field {
    fn new(
        key: &'static str,
        label: &'static str,
        kind: Kind,
        value: &str,
        optional: bool,
    ) -> Field {
        Field {
            key,
            label,
            kind,
            value: value.to_owned(),
            optional,
        }
    }

    /// Its label inside a sentence ("Enter the basal dose."): in lower case in English; as it
    /// is in German, whose nouns keep their capital.
    pub(super) fn label_in_sentence(&self) -> String {
        match lang::current() {
            Language::English => self.label.to_lowercase(),
            Language::German => self.label.to_owned(),
        }
    }
}

/// The fields of a kind of trial, in the order they show.
pub(super) fn fields_for(kind: TrialKind) -> Vec<Field> {
    let reservoir = |v| {
        Field::new(
            "reservoir",
            tr!("Syringe volume"),
            Kind::Millilitres,
            v,
            false,
        )
    };
    match kind {
        TrialKind::Continuous => vec![
            reservoir("20"),
            Field::new("basal", tr!("Basal dose"), Kind::MassPerDay, "", false),
            Field::new(
                "pca_dose",
                tr!("Patient bolus (empty: none)"),
                Kind::Mass,
                "",
                true,
            ),
            Field::new("lockout", tr!("Lockout"), Kind::Minutes, "60", false),
            Field::new(
                "per_hour",
                tr!("Patient boluses per hour"),
                Kind::Count,
                "1",
                false,
            ),
            Field::new(
                "limit",
                tr!("Most in any 4 h (empty: library)"),
                Kind::Mass,
                "",
                true,
            ),
        ],
        TrialKind::SingleBolus => vec![
            reservoir("2"),
            Field::new("bolus", tr!("Screening bolus"), Kind::Mass, "", false),
            Field::new("observe", tr!("Observation"), Kind::Hours, "24", false),
        ],
        TrialKind::MultipleBolus => vec![
            reservoir("5"),
            Field::new("bolus", tr!("Each bolus"), Kind::Mass, "", false),
            Field::new("count", tr!("Number of boluses"), Kind::Count, "2", false),
            Field::new(
                "interval",
                tr!("Time between boluses"),
                Kind::Hours,
                "24",
                false,
            ),
            Field::new(
                "observe",
                tr!("Observation after each"),
                Kind::Hours,
                "24",
                false,
            ),
        ],
    }
}

impl Kind {
    /// The unit shown beside a field of this kind, the drug's doses being in `unit`.
    pub(super) fn unit(self, unit: MassUnit) -> String {
        match self {
            Kind::Millilitres => "mL".to_owned(),
            Kind::Mass => unit.to_string(),
            Kind::MassPerDay => format!("{unit}/day"),
            Kind::Minutes => "min".to_owned(),
            Kind::Hours => "h".to_owned(),
            Kind::Count => String::new(),
        }
    }
}
