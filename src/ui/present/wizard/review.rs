//! The review step: every setting in words, the dose per day first.

use crate::core::program::TrialKind;
use crate::core::tr;
use crate::core::units::MassUnit;
use crate::input::scenario::Scenario;

use super::Wizard;
use super::view::{catheter_words, route_catheter};

impl Wizard {
    /// The review: every setting, the dose per day first and per hour and mL/h after it.
    pub(super) fn review_lines(&self) -> Vec<String> {
        let Ok(text) = self.program() else {
            return Vec::new();
        };
        let Ok(sc) = Scenario::from_toml_str(&text, "program") else {
            return vec![
                tr!("The program cannot be read: go back and check the numbers.").to_owned(),
            ];
        };
        let unit = self.unit();
        let (t, p) = (&sc.trial, &sc.program);
        let c = p.concentration;
        let (duration, pain) = (
            t.duration,
            t.baseline_pain.map_or("?".to_owned(), |b| b.to_string()),
        );
        let mut lines = vec![
            tr!(
                "Patient {patient} — {catheter}, tip at {level}",
                patient = t.patient,
                catheter = route_catheter(t.route),
                level = t.catheter_tip.as_deref().unwrap_or("?")
            ),
            match t.kind {
                TrialKind::Continuous => tr!(
                    "Continuous trial for {duration}; pain before the trial {pain}/10",
                    duration,
                    pain
                ),
                TrialKind::SingleBolus => tr!(
                    "Single-bolus trial for {duration}; pain before the trial {pain}/10",
                    duration,
                    pain
                ),
                TrialKind::MultipleBolus => tr!(
                    "Multiple-bolus trial for {duration}; pain before the trial {pain}/10",
                    duration,
                    pain
                ),
            },
            tr!(
                "{drug} {concentration}, syringe {reservoir}",
                drug = p.drug,
                concentration = c.in_unit(unit),
                reservoir = p.reservoir
            ),
        ];
        lines.insert(1, catheter_line(t));
        lines.insert(3, opioid_line(t));
        if t.kind == TrialKind::Continuous {
            lines.push(tr!(
                "Basal {per_day} ({per_hour}, {ml_per_hour})",
                per_day = p.basal.per_day_in(unit),
                per_hour = p.basal.per_hour_in(unit),
                ml_per_hour = c.volume_rate(p.basal).per_hour()
            ));
        }
        match p.pca {
            Some(pca) => lines.push(tr!(
                "Patient bolus {dose} ({volume}), lockout {lockout}, at most {max} per hour",
                dose = pca.dose.in_unit(unit),
                volume = c.volume_for(pca.dose),
                lockout = pca.lockout,
                max = pca.max_per_hour
            )),
            None if t.kind == TrialKind::Continuous => {
                lines.push(tr!("No patient bolus").to_owned());
            }
            None => {}
        }
        if let Some(l) = p.limit {
            lines.push(tr!(
                "At most {max} in any {window}",
                max = l.max.in_unit(unit),
                window = l.window
            ));
        }
        if let Some(first) = p.boluses.first() {
            let when = p
                .boluses
                .iter()
                .map(|b| b.at.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            lines.push(tr!(
                "Bolus {dose} ({volume}) at {when} after the start",
                dose = first.dose.in_unit(unit),
                volume = c.volume_for(first.dose),
                when
            ));
        }
        if let Some(o) = p.observe {
            lines.push(tr!(
                "Observe the patient for {duration} after each bolus",
                duration = o
            ));
        }
        lines
    }
}

/// The review's line about the catheter: its type, when it was placed and, for a single bolus,
/// whether the patient goes home the same day.
pub(super) fn catheter_line(t: &crate::core::program::Trial) -> String {
    let kind = t.catheter.as_deref().map_or_else(
        || tr!("Catheter type not recorded").to_owned(),
        catheter_words,
    );
    let placed = match t.catheter_placed_before {
        Some(d) if d.is_zero() => tr!("placed at the start").to_owned(),
        Some(d) => tr!("placed {duration} before the start", duration = d),
        None => tr!("placement time not recorded").to_owned(),
    };
    let home = match (t.kind, t.outpatient) {
        (TrialKind::SingleBolus, true) => Some(tr!(
            "goes home the same day (a responsible adult must be with them)"
        )),
        (TrialKind::SingleBolus, false) => Some(tr!("stays in after the bolus")),
        _ => None,
    };
    match home {
        Some(home) => format!("{kind}, {placed}; {home}"),
        None => format!("{kind}, {placed}"),
    }
}

/// The review's line about the patient's opioids before the trial.
pub(super) fn opioid_line(t: &crate::core::program::Trial) -> String {
    use crate::core::program::OpioidStatus;
    match (t.opioid_status, t.ome_before) {
        (None, _) => {
            tr!("Opioids before the trial not recorded (the opioid-naive starting ranges apply)")
                .to_owned()
        }
        (Some(OpioidStatus::Naive), _) => tr!("Opioid-naive before the trial").to_owned(),
        (Some(OpioidStatus::Tolerant), Some(ome)) => tr!(
            "Opioid-tolerant before the trial: {ome} oral morphine equivalents",
            ome = ome.per_day_in(MassUnit::Mg)
        ),
        (Some(OpioidStatus::Tolerant), None) => {
            tr!("Opioid-tolerant before the trial: oral morphine equivalents not entered")
                .to_owned()
        }
    }
}
