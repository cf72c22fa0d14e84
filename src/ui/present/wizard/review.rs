//! The review step: every setting in words, the dose per day first.

use crate::core::program::TrialKind;
use crate::core::units::MassUnit;
use crate::input::scenario::Scenario;

use super::Wizard;

impl Wizard {
    /// The review: every setting, the dose per day first and per hour and mL/h after it.
    pub(super) fn review_lines(&self) -> Vec<String> {
        let Ok(text) = self.program() else {
            return Vec::new();
        };
        let Ok(sc) = Scenario::from_toml_str(&text, "program") else {
            return vec!["The program cannot be read: go back and check the numbers.".to_owned()];
        };
        let unit = self.unit();
        let (t, p) = (&sc.trial, &sc.program);
        let c = p.concentration;
        let mut lines = vec![
            format!(
                "Patient {} — {} catheter, tip at {}",
                t.patient,
                t.route,
                t.catheter_tip.as_deref().unwrap_or("?")
            ),
            format!(
                "{} trial for {}; pain before the trial {}/10",
                match t.kind {
                    TrialKind::Continuous => "Continuous",
                    TrialKind::SingleBolus => "Single-bolus",
                    TrialKind::MultipleBolus => "Multiple-bolus",
                },
                t.duration,
                t.baseline_pain.map_or("?".to_owned(), |b| b.to_string())
            ),
            format!("{} {}, syringe {}", p.drug, c.in_unit(unit), p.reservoir),
        ];
        lines.insert(1, catheter_line(t));
        lines.insert(3, opioid_line(t));
        if t.kind == TrialKind::Continuous {
            lines.push(format!(
                "Basal {} ({}, {})",
                p.basal.per_day_in(unit),
                p.basal.per_hour_in(unit),
                c.volume_rate(p.basal).per_hour()
            ));
        }
        match p.pca {
            Some(pca) => lines.push(format!(
                "Patient bolus {} ({}), lockout {}, at most {} per hour",
                pca.dose.in_unit(unit),
                c.volume_for(pca.dose),
                pca.lockout,
                pca.max_per_hour
            )),
            None if t.kind == TrialKind::Continuous => lines.push("No patient bolus".to_owned()),
            None => {}
        }
        if let Some(l) = p.limit {
            lines.push(format!(
                "At most {} in any {}",
                l.max.in_unit(unit),
                l.window
            ));
        }
        if let Some(first) = p.boluses.first() {
            let when = p
                .boluses
                .iter()
                .map(|b| b.at.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            lines.push(format!(
                "Bolus {} ({}) at {when} after the start",
                first.dose.in_unit(unit),
                c.volume_for(first.dose)
            ));
        }
        if let Some(o) = p.observe {
            lines.push(format!("Observe the patient for {o} after each bolus"));
        }
        lines
    }
}

/// The review's line about the catheter: its type, when it was placed and, for a single bolus,
/// whether the patient goes home the same day.
pub(super) fn catheter_line(t: &crate::core::program::Trial) -> String {
    let kind = t
        .catheter
        .clone()
        .unwrap_or_else(|| "Catheter type not recorded".to_owned());
    let placed = match t.catheter_placed_before {
        Some(d) if d.is_zero() => "placed at the start".to_owned(),
        Some(d) => format!("placed {d} before the start"),
        None => "placement time not recorded".to_owned(),
    };
    let home = match (t.kind, t.outpatient) {
        (TrialKind::SingleBolus, true) => {
            "; goes home the same day (a responsible adult must be with them)"
        }
        (TrialKind::SingleBolus, false) => "; stays in after the bolus",
        _ => "",
    };
    format!("{kind}, {placed}{home}")
}

/// The review's line about the patient's opioids before the trial.
pub(super) fn opioid_line(t: &crate::core::program::Trial) -> String {
    use crate::core::program::OpioidStatus;
    match (t.opioid_status, t.ome_before) {
        (None, _) => {
            "Opioids before the trial not recorded (the opioid-naive starting ranges apply)"
                .to_owned()
        }
        (Some(OpioidStatus::Naive), _) => "Opioid-naive before the trial".to_owned(),
        (Some(OpioidStatus::Tolerant), Some(ome)) => format!(
            "Opioid-tolerant before the trial: {} oral morphine equivalents",
            ome.per_day_in(MassUnit::Mg)
        ),
        (Some(OpioidStatus::Tolerant), None) => {
            "Opioid-tolerant before the trial: oral morphine equivalents not entered".to_owned()
        }
    }
}
