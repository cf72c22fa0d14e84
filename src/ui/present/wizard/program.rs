//! The program the wizard builds: the trial and its program as TOML, as the daemon reads it.

use crate::core::library::Route;
use crate::core::program::TrialKind;
use crate::core::tr;

use super::view::capitalise;
use super::{CATHETERS, LEVELS, LIMIT_WINDOW_HOURS, OPIOIDS, PLACED, Wizard};

impl Wizard {
    /// The program as TOML (`[trial]` and `[program]`), or which entry is missing.
    pub fn program(&self) -> Result<String, String> {
        use toml::{Table, Value};
        let route = self.route.ok_or(tr!("Choose the route."))?;
        let drug = self.drug.clone().ok_or(tr!("Choose the drug."))?;
        let concentration = self
            .concentration
            .clone()
            .ok_or(tr!("Choose the concentration."))?;
        let unit = self.unit();
        for f in &self.fields {
            if f.value.is_empty() && !f.optional {
                return Err(tr!("Enter the {field}.", field = f.label_in_sentence()));
            }
        }
        let s = |v: String| Value::String(v);
        let mut trial = Table::new();
        trial.insert("patient".into(), s(self.patient.clone()));
        trial.insert("route".into(), s(route.to_string()));
        trial.insert("kind".into(), s(self.kind.to_string()));
        trial.insert("duration".into(), s(format!("{}d", self.days)));
        trial.insert("catheter_tip".into(), s(LEVELS[self.level].to_owned()));
        if let Some(c) = self.catheter_type() {
            trial.insert("catheter".into(), s(c));
        }
        if let Some(p) = PLACED
            .iter()
            .find(|p| Some(p.0) == self.placed && !p.2.is_empty())
        {
            trial.insert("catheter_placed_before".into(), s(p.2.to_owned()));
        }
        if let Some(p) = self.baseline {
            trial.insert("baseline_pain".into(), Value::Integer(i64::from(p)));
        }
        if let Some(o) = OPIOIDS
            .iter()
            .find(|o| Some(o.0) == self.opioids && !o.2.is_empty())
        {
            trial.insert("opioid_status".into(), s(o.2.to_owned()));
            if self.tolerant() && !self.ome_before.is_empty() {
                trial.insert(
                    "ome_before".into(),
                    s(format!("{} mg/day", self.ome_before)),
                );
            }
        }
        if self.kind == TrialKind::SingleBolus {
            if let Some(home) = self.outpatient {
                trial.insert("outpatient".into(), Value::Boolean(home));
            }
        }
        let mut program = Table::new();
        program.insert("drug".into(), s(drug));
        program.insert("concentration".into(), s(concentration));
        program.insert(
            "reservoir".into(),
            s(format!("{} mL", self.value("reservoir"))),
        );
        let amount = |key: &str| format!("{} {unit}", self.value(key));
        match self.kind {
            TrialKind::Continuous => {
                program.insert(
                    "basal".into(),
                    s(format!("{} {unit}/day", self.value("basal"))),
                );
                if !self.value("pca_dose").is_empty() {
                    let mut pca = Table::new();
                    pca.insert("dose".into(), s(amount("pca_dose")));
                    pca.insert("lockout".into(), s(format!("{}min", self.value("lockout"))));
                    let per_hour = self.value("per_hour").parse::<i64>().map_err(|_| {
                        tr!(
                            "Patient boluses per hour: \"{value}\" is not a whole number.",
                            value = self.value("per_hour")
                        )
                    })?;
                    pca.insert("max_per_hour".into(), Value::Integer(per_hour));
                    program.insert("pca".into(), Value::Table(pca));
                }
                if !self.value("limit").is_empty() {
                    let mut limit = Table::new();
                    limit.insert("window".into(), s(format!("{LIMIT_WINDOW_HOURS}h")));
                    limit.insert("max".into(), s(amount("limit")));
                    program.insert("limit".into(), Value::Table(limit));
                }
            }
            TrialKind::SingleBolus | TrialKind::MultipleBolus => {
                let count = if self.kind == TrialKind::SingleBolus {
                    1
                } else {
                    self.value("count").parse::<u64>().map_err(|_| {
                        tr!(
                            "Number of boluses: \"{value}\" is not a whole number.",
                            value = self.value("count")
                        )
                    })?
                };
                let interval = self.value("interval");
                let mut boluses = Vec::new();
                for i in 0..count.min(50) {
                    let mut b = Table::new();
                    let at = if i == 0 {
                        "0h".to_owned()
                    } else {
                        // Decimal hours are written as a product the parser reads exactly.
                        format!("{}h", times(interval, i))
                    };
                    b.insert("at".into(), s(at));
                    b.insert("dose".into(), s(amount("bolus")));
                    boluses.push(Value::Table(b));
                }
                program.insert("boluses".into(), Value::Array(boluses));
                program.insert("observe".into(), s(format!("{}h", self.value("observe"))));
            }
        }
        let mut doc = Table::new();
        doc.insert("trial".into(), Value::Table(trial));
        doc.insert("program".into(), Value::Table(program));
        toml::to_string(&doc).map_err(|e| e.to_string())
    }

    /// The catheter's type as the trial records it ("Intrathecal catheter, closed tip"); None
    /// when not recorded.
    fn catheter_type(&self) -> Option<String> {
        let route = self.route?;
        let (_, _, tip) = CATHETERS.iter().find(|c| Some(c.0) == self.catheter)?;
        (!tip.is_empty()).then(|| recorded_catheter(route, tip))
    }
}

/// A catheter's type as the trial records it, in English whatever the screens' language:
/// "Intrathecal catheter, closed tip".
pub(super) fn recorded_catheter(route: Route, tip: &str) -> String {
    format!("{} catheter, {tip}", capitalise(&route.to_string()))
}

/// `value` × `n` for a decimal text, exactly (no floats): "1.5" × 3 = "4.5".
pub(super) fn times(value: &str, n: u64) -> String {
    let (whole, frac) = value.split_once('.').unwrap_or((value, ""));
    let digits = format!("{whole}{frac}");
    let Ok(units) = digits.parse::<u128>() else {
        return value.to_owned();
    };
    let product = (units * u128::from(n)).to_string();
    if frac.is_empty() {
        return product;
    }
    let padded = format!("{product:0>width$}", width = frac.len() + 1);
    let (w, f) = padded.split_at(padded.len() - frac.len());
    format!("{w}.{f}")
}
