//! The drug library: which drug, at which concentration, by which route, may be given within
//! which limits.
//!
//! The library is data (config/drug-library.toml), reviewed by a site's pharmacist and physician;
//! nothing clinical is a constant in code. Each entry covers one drug and route and one or more
//! concentrations, and gives [`Guardrail`]s — hard and soft, lower and upper bounds — for the
//! basal dose per day, the bolus dose, the patient-bolus lockout, patient boluses per hour,
//! cumulative dose over rolling windows, and the observation period after a screening bolus.
//! The library's `[sedation]` table sets the sedation interlock for every drug
//! ([`SedationRule`]: the POSS and respiratory rate that stop delivery).
//!
//! A library that is malformed or inconsistent is refused as a whole, with the line and the
//! reason: a pump must not run on half a library.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::diary::OutcomeMeasure;
use super::finding::{Class, Finding};
use super::observation::{CheckSchedule, SedationRule};
use super::units::{Amount, AmountRate, Concentration, Duration, MassUnit};
use crate::lang::{self, Language};
use crate::tr;

/// The library format this version reads.
pub const LIBRARY_SCHEMA: &str = "titra.drug-library/1";

/// Where the catheter delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Route {
    Intrathecal,
    Epidural,
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Route::Intrathecal => "intrathecal",
            Route::Epidural => "epidural",
        })
    }
}

impl Route {
    /// For people, in the language in use ("intrathecal"; [`Route`]'s `Display` is the word in
    /// files and on the wire).
    pub fn words(self) -> &'static str {
        match self {
            Route::Intrathecal => tr!("intrathecal"),
            Route::Epidural => tr!("epidural"),
        }
    }
}

/// Lower and upper bounds, each hard (never crossed) or soft (crossed only with confirmation).
/// A bound left out does not apply. Always `hard_min ≤ soft_min ≤ soft_max ≤ hard_max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guardrail<T> {
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    pub hard_min: Option<T>,
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    pub soft_min: Option<T>,
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    pub soft_max: Option<T>,
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    pub hard_max: Option<T>,
}

impl<T> Default for Guardrail<T> {
    fn default() -> Self {
        Guardrail {
            hard_min: None,
            soft_min: None,
            soft_max: None,
            hard_max: None,
        }
    }
}

impl<T: Copy + Ord> Guardrail<T> {
    /// Classifies `value`, returning the class and the bound that decided it (if any).
    pub fn classify(&self, value: T) -> (Class, Option<Bound<T>>) {
        if let Some(b) = self.hard_min.filter(|&b| value < b) {
            return (Class::Hard, Some(Bound::HardMin(b)));
        }
        if let Some(b) = self.hard_max.filter(|&b| value > b) {
            return (Class::Hard, Some(Bound::HardMax(b)));
        }
        if let Some(b) = self.soft_min.filter(|&b| value < b) {
            return (Class::Soft, Some(Bound::SoftMin(b)));
        }
        if let Some(b) = self.soft_max.filter(|&b| value > b) {
            return (Class::Soft, Some(Bound::SoftMax(b)));
        }
        (Class::Ok, None)
    }

    /// Checks `value` and writes the finding for the nurse. `show` writes a value of `T` with its
    /// unit; `what` names the setting ("Basal rate").
    pub fn check(&self, field: &str, what: &str, value: T, show: impl Fn(T) -> String) -> Finding {
        let (class, bound) = self.classify(value);
        let shown = show(value);
        // A hard bound makes the finding hard, a soft one soft (`classify`).
        let (limit, message) = match bound {
            None => (
                self.range_text(&show),
                tr!(
                    "{what} {shown} is within the library's usual range.",
                    what,
                    shown
                ),
            ),
            Some(bound) => {
                let message = match bound {
                    Bound::HardMin(b) => tr!(
                        "{what} {shown} is below the hard minimum of {bound}. It cannot be used.",
                        what,
                        shown,
                        bound = show(b)
                    ),
                    Bound::SoftMin(b) => tr!(
                        "{what} {shown} is below the usual minimum of {bound} (soft limit). It can be used only if you confirm it.",
                        what,
                        shown,
                        bound = show(b)
                    ),
                    Bound::SoftMax(b) => tr!(
                        "{what} {shown} is above the usual maximum of {bound} (soft limit). It can be used only if you confirm it.",
                        what,
                        shown,
                        bound = show(b)
                    ),
                    Bound::HardMax(b) => tr!(
                        "{what} {shown} is above the hard maximum of {bound}. It cannot be used.",
                        what,
                        shown,
                        bound = show(b)
                    ),
                };
                (bound.text(&show), message)
            }
        };
        Finding {
            field: field.to_owned(),
            value: shown,
            limit,
            class,
            message,
            source: None,
        }
    }

    fn range_text(&self, show: &impl Fn(T) -> String) -> String {
        let low = self.soft_min.or(self.hard_min);
        let high = self.soft_max.or(self.hard_max);
        match (low, high) {
            (Some(l), Some(h)) => tr!("usual range {low} to {high}", low = show(l), high = show(h)),
            (Some(l), None) => tr!("usual minimum {low}", low = show(l)),
            (None, Some(h)) => tr!("usual maximum {high}", high = show(h)),
            (None, None) => String::new(),
        }
    }

    /// The order of the bounds, or the first pair that is out of order.
    fn consistency(&self, show: impl Fn(T) -> String) -> Result<(), String> {
        let named = [
            ("hard_min", self.hard_min),
            ("soft_min", self.soft_min),
            ("soft_max", self.soft_max),
            ("hard_max", self.hard_max),
        ];
        let present: Vec<(&str, T)> = named
            .iter()
            .filter_map(|(n, v)| v.map(|v| (*n, v)))
            .collect();
        for pair in present.windows(2) {
            let ((a_name, a), (b_name, b)) = (pair[0], pair[1]);
            if a > b {
                return Err(format!(
                    "{a_name} {} is above {b_name} {}",
                    show(a),
                    show(b)
                ));
            }
        }
        Ok(())
    }
}

/// The bound a value crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound<T> {
    HardMin(T),
    SoftMin(T),
    SoftMax(T),
    HardMax(T),
}

impl<T: Copy> Bound<T> {
    fn text(&self, show: &impl Fn(T) -> String) -> String {
        match *self {
            Bound::HardMin(v) => tr!("hard minimum of {bound}", bound = show(v)),
            Bound::SoftMin(v) => tr!("usual minimum of {bound} (soft limit)", bound = show(v)),
            Bound::SoftMax(v) => tr!("usual maximum of {bound} (soft limit)", bound = show(v)),
            Bound::HardMax(v) => tr!("hard maximum of {bound}", bound = show(v)),
        }
    }
}

/// The largest step up of the basal rate and the least time after the last change before one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TitrationRule {
    pub max_step: AmountRate,
    pub min_interval: Duration,
}

/// A limit on the dose given over a rolling window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowGuard {
    pub window: Duration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_max: Option<Amount>,
    pub hard_max: Amount,
}

/// One drug by one route at one concentration, with its limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LibraryEntry {
    pub drug: String,
    pub route: Route,
    pub concentration: Concentration,
    /// The unit doses of this drug are written in.
    pub unit: MassUnit,
    pub basal_per_day: Guardrail<AmountRate>,
    pub bolus: Guardrail<Amount>,
    pub lockout: Guardrail<Duration>,
    pub boluses_per_hour: Guardrail<u32>,
    /// Cumulative limits, counting everything delivered (basal, boluses of every kind, KVO).
    /// Their hard maxima are enforced while the pump runs, whatever the program says.
    pub cumulative: Vec<WindowGuard>,
    pub observation: Guardrail<Duration>,
    /// The default schedule of sedation and breathing checks for this drug by this route (the
    /// neuraxial opioids): used when a program sets none; a program may tighten it, and only a
    /// clinician with a reason may loosen it.
    pub checks: Option<CheckSchedule>,
    /// How the basal may be stepped up, where the drug needs it (ziconotide).
    pub titration: Option<TitrationRule>,
    /// What a trial of this drug is judged on: pain, or spasticity (baclofen).
    pub outcome: OutcomeMeasure,
    /// The first basal rate of a trial, and an implant's starting dose: for every patient, or
    /// for opioid-naive patients (and those whose status is not recorded) where
    /// `start_per_day_tolerant` gives the range for opioid-tolerant ones.
    pub start_per_day: Guardrail<AmountRate>,
    pub start_per_day_tolerant: Option<Guardrail<AmountRate>>,
    /// Screening boluses: the least time between two, and how many a trial may give.
    pub screening: Option<ScreeningRule>,
    /// Where the entry's numbers come from (labels, guidelines, the site's review), printed
    /// with every limit it sets.
    pub source: String,
    /// The line of the library file the entry came from.
    pub line: usize,
}

/// How screening boluses may be given (baclofen: at least 24 h apart, at most 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreeningRule {
    /// The least time from one screening bolus to the next.
    pub min_interval: Duration,
    /// The most screening boluses one trial may give.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_boluses: Option<u32>,
}

impl LibraryEntry {
    /// The starting range for a patient of this opioid status, and whose range it is ("for
    /// opioid-tolerant patients", "for opioid-naive patients", or "" when the entry has one
    /// range for everyone). An unrecorded status takes the opioid-naive range: the lower one.
    pub fn start_range(
        &self,
        status: Option<super::program::OpioidStatus>,
    ) -> (&Guardrail<AmountRate>, &'static str) {
        match (&self.start_per_day_tolerant, status) {
            (Some(t), Some(super::program::OpioidStatus::Tolerant)) => {
                (t, tr!("for opioid-tolerant patients"))
            }
            (Some(_), Some(super::program::OpioidStatus::Naive)) => {
                (&self.start_per_day, tr!("for opioid-naive patients"))
            }
            (Some(_), None) => (
                &self.start_per_day,
                tr!("for opioid-naive patients (the opioid status is not recorded)"),
            ),
            (None, _) => (&self.start_per_day, ""),
        }
    }

    /// "intrathecal morphine 1 mg/mL", for messages.
    pub fn title(&self) -> String {
        format!(
            "{} {} {}",
            self.route,
            self.drug,
            self.concentration.in_unit(self.unit)
        )
    }
}

/// Why a library file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("drug library{}: {message}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
pub struct LibraryError {
    pub line: Option<usize>,
    pub message: String,
}

/// Why a drug, route and concentration were not found (for the nurse: in the language in use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    UnknownDrug {
        drug: String,
        known: String,
    },
    WrongRoute {
        drug: String,
        route: Route,
        /// The routes it is listed for, in words.
        routes: String,
    },
    UnlistedConcentration {
        drug: String,
        route: Route,
        concentration: String,
        listed: String,
    },
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&match self {
            LookupError::UnknownDrug { drug, known } => tr!(
                "\"{drug}\" is not in the drug library (it has: {known})",
                drug,
                known
            ),
            LookupError::WrongRoute {
                drug,
                route,
                routes,
            } => tr!(
                "{drug} is not in the drug library for {route} use (it is listed for: {routes})",
                drug,
                route = route.words(),
                routes
            ),
            LookupError::UnlistedConcentration {
                drug,
                route,
                concentration,
                listed,
            } => tr!(
                "{concentration} is not a concentration the drug library lists for {route} {drug} (it lists: {listed}); concentrations come from the library, never typed freely",
                concentration,
                route = route.words(),
                drug,
                listed
            ),
        })
    }
}

impl std::error::Error for LookupError {}

/// A drug library that was read whole and found consistent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DrugLibrary {
    pub entries: Vec<LibraryEntry>,
    /// When recorded sedation or breathing stops delivery, whatever the drug (the library's
    /// `[sedation]` table; [`SedationRule::DEFAULT`] when it has none).
    pub sedation: SedationRule,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLibrary {
    schema: String,
    #[serde(default)]
    review: Option<String>,
    #[serde(default)]
    sedation: Option<SedationRule>,
    #[serde(default)]
    drug: Vec<toml::Spanned<RawEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    name: String,
    route: Route,
    unit: MassUnit,
    concentrations: Vec<Concentration>,
    basal_per_day: Guardrail<AmountRate>,
    bolus: Guardrail<Amount>,
    lockout: Guardrail<Duration>,
    boluses_per_hour: Guardrail<u32>,
    #[serde(default)]
    cumulative: Vec<WindowGuard>,
    #[serde(default)]
    observation: Guardrail<Duration>,
    #[serde(default)]
    checks: Option<CheckSchedule>,
    #[serde(default)]
    titration: Option<TitrationRule>,
    #[serde(default)]
    outcome: OutcomeMeasure,
    #[serde(default)]
    start_per_day: Guardrail<AmountRate>,
    #[serde(default)]
    start_per_day_tolerant: Option<Guardrail<AmountRate>>,
    #[serde(default)]
    screening: Option<ScreeningRule>,
    /// Required: an entry without a source is refused.
    #[serde(default)]
    source: String,
}

/// Shortest and longest rolling window a cumulative limit may use.
pub const MIN_WINDOW: Duration = Duration::from_hours(1);
pub const MAX_WINDOW: Duration = Duration::from_hours(24);

impl DrugLibrary {
    /// Reads a library from TOML text, refusing it whole on the first problem.
    pub fn from_toml_str(text: &str) -> Result<DrugLibrary, LibraryError> {
        let raw: RawLibrary = toml::from_str(text).map_err(|e| LibraryError {
            line: e.span().map(|s| super::line_of(text, s.start)),
            message: e.message().to_owned(),
        })?;
        if raw.schema != LIBRARY_SCHEMA {
            return Err(LibraryError {
                line: None,
                message: format!(
                    "schema is \"{}\", but this version of Titra reads \"{LIBRARY_SCHEMA}\"",
                    raw.schema
                ),
            });
        }
        let _ = raw.review;
        let sedation = raw.sedation.unwrap_or_default();
        sedation.check().map_err(|message| LibraryError {
            line: text.find("[sedation]").map(|o| super::line_of(text, o)),
            message,
        })?;
        let mut entries = Vec::new();
        let mut seen = BTreeSet::new();
        for spanned in raw.drug {
            let line = super::line_of(text, spanned.span().start);
            let e = spanned.into_inner();
            let fail = |message: String| LibraryError {
                line: Some(line),
                message: format!("{} ({}): {message}", e.name, e.route),
            };
            check_entry(&e).map_err(fail)?;
            for &concentration in &e.concentrations {
                let key = (e.name.to_lowercase(), e.route, concentration);
                if !seen.insert(key) {
                    return Err(fail(format!(
                        "{} is listed twice for this drug and route",
                        concentration.in_unit(e.unit)
                    )));
                }
                entries.push(LibraryEntry {
                    drug: e.name.clone(),
                    route: e.route,
                    concentration,
                    unit: e.unit,
                    basal_per_day: e.basal_per_day,
                    bolus: e.bolus,
                    lockout: e.lockout,
                    boluses_per_hour: e.boluses_per_hour,
                    cumulative: e.cumulative.clone(),
                    observation: e.observation,
                    checks: e.checks,
                    titration: e.titration,
                    outcome: e.outcome,
                    start_per_day: e.start_per_day,
                    start_per_day_tolerant: e.start_per_day_tolerant,
                    screening: e.screening,
                    source: e.source.trim().to_owned(),
                    line,
                });
            }
        }
        if entries.is_empty() {
            return Err(LibraryError {
                line: None,
                message: "the library has no drugs".to_owned(),
            });
        }
        Ok(DrugLibrary { entries, sedation })
    }

    /// The entry for this drug, route and concentration, or why there is none.
    pub fn find(
        &self,
        drug: &str,
        route: Route,
        concentration: Concentration,
    ) -> Result<&LibraryEntry, LookupError> {
        let same_drug: Vec<&LibraryEntry> = self
            .entries
            .iter()
            .filter(|e| e.drug.eq_ignore_ascii_case(drug))
            .collect();
        if same_drug.is_empty() {
            return Err(LookupError::UnknownDrug {
                drug: drug.to_owned(),
                known: self.drug_names().join(", "),
            });
        }
        let same_route: Vec<&LibraryEntry> = same_drug
            .iter()
            .copied()
            .filter(|e| e.route == route)
            .collect();
        if same_route.is_empty() {
            let routes: BTreeSet<&str> = same_drug.iter().map(|e| e.route.words()).collect();
            return Err(LookupError::WrongRoute {
                drug: same_drug[0].drug.clone(),
                route,
                routes: routes.into_iter().collect::<Vec<_>>().join(", "),
            });
        }
        same_route
            .iter()
            .copied()
            .find(|e| e.concentration == concentration)
            .ok_or_else(|| LookupError::UnlistedConcentration {
                drug: same_route[0].drug.clone(),
                route,
                concentration: concentration.in_unit(same_route[0].unit).to_string(),
                listed: same_route
                    .iter()
                    .map(|e| e.concentration.in_unit(e.unit).to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The drugs in the library, each once, in the order first listed.
    pub fn drug_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for e in &self.entries {
            if !names.iter().any(|n| n.eq_ignore_ascii_case(&e.drug)) {
                names.push(e.drug.clone());
            }
        }
        names
    }
}

fn check_entry(e: &RawEntry) -> Result<(), String> {
    let unit = e.unit;
    if e.name.trim().is_empty() {
        return Err("the drug has no name".to_owned());
    }
    if e.concentrations.is_empty() {
        return Err("concentrations is empty: list at least one".to_owned());
    }
    if e.source.trim().is_empty() {
        return Err(
            "source is missing: say where this entry's numbers come from (label, guideline, the site's review); it is printed with every limit"
                .to_owned(),
        );
    }
    let named = |field: &str, r: Result<(), String>| r.map_err(|m| format!("{field}: {m}"));
    named(
        "basal_per_day",
        e.basal_per_day
            .consistency(|v| v.per_day_in(unit).to_string()),
    )?;
    named(
        "bolus",
        e.bolus.consistency(|v| v.in_unit(unit).to_string()),
    )?;
    named("lockout", e.lockout.consistency(|v| v.to_string()))?;
    named(
        "boluses_per_hour",
        e.boluses_per_hour.consistency(|v| v.to_string()),
    )?;
    named("observation", e.observation.consistency(|v| v.to_string()))?;
    if let Some(c) = e.checks {
        // The library's file is the engineer's: its refusals stay in English.
        named("checks", lang::with(Language::English, || c.followable()))?;
    }
    named(
        "start_per_day",
        e.start_per_day
            .consistency(|v| v.per_day_in(unit).to_string()),
    )?;
    if let Some(t) = &e.start_per_day_tolerant {
        named(
            "start_per_day_tolerant",
            t.consistency(|v| v.per_day_in(unit).to_string()),
        )?;
    }
    if let Some(s) = e.screening {
        if s.min_interval.is_zero() {
            return Err(
                "screening.min_interval is zero: give the least time between screening boluses"
                    .to_owned(),
            );
        }
        if s.max_boluses == Some(0) {
            return Err(
                "screening.max_boluses is 0: it would refuse every screening bolus".to_owned(),
            );
        }
    }
    if e.basal_per_day.hard_max.is_none() {
        return Err("basal_per_day needs a hard_max".to_owned());
    }
    if e.bolus.hard_max.is_none() {
        return Err("bolus needs a hard_max".to_owned());
    }
    // A screening bolus is always watched: without a hard minimum a program could set none.
    if e.observation.hard_min.is_none_or(|d| d.is_zero()) {
        return Err("observation needs a hard_min above zero".to_owned());
    }
    if e.boluses_per_hour.hard_max.is_none() {
        return Err("boluses_per_hour needs a hard_max".to_owned());
    }
    match e.lockout.hard_min {
        Some(m) if !m.is_zero() => {}
        _ => {
            return Err(
                "lockout needs a hard_min above zero: without one a patient could press again and again"
                    .to_owned(),
            );
        }
    }
    let mut windows = BTreeSet::new();
    for (i, w) in e.cumulative.iter().enumerate() {
        if w.window < MIN_WINDOW || w.window > MAX_WINDOW {
            return Err(format!(
                "cumulative[{i}].window {} is outside {MIN_WINDOW}..{MAX_WINDOW}",
                w.window
            ));
        }
        if !windows.insert(w.window) {
            return Err(format!(
                "cumulative[{i}].window {} is listed twice",
                w.window
            ));
        }
        if w.hard_max.is_zero() {
            return Err(format!("cumulative[{i}].hard_max is zero"));
        }
        if let Some(s) = w.soft_max.filter(|&s| s > w.hard_max) {
            return Err(format!(
                "cumulative[{i}]: soft_max {} is above hard_max {}",
                s.in_unit(unit),
                w.hard_max.in_unit(unit)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_on_a_bound_is_within_it() {
        let g = Guardrail {
            hard_min: Some(10u32),
            soft_min: Some(12),
            soft_max: Some(18),
            hard_max: Some(20),
        };
        assert_eq!(g.classify(10), (Class::Soft, Some(Bound::SoftMin(12))));
        assert_eq!(g.classify(9), (Class::Hard, Some(Bound::HardMin(10))));
        assert_eq!(g.classify(20), (Class::Soft, Some(Bound::SoftMax(18))));
        assert_eq!(g.classify(21), (Class::Hard, Some(Bound::HardMax(20))));
        assert_eq!(g.classify(12), (Class::Ok, None));
        assert_eq!(g.classify(18), (Class::Ok, None));
    }

    const MINIMAL: &str = r#"
schema = "titra.drug-library/1"

[[drug]]
name = "morphine"
route = "intrathecal"
unit = "mg"
concentrations = ["1 mg/mL", "2 mg/mL"]
basal_per_day = { soft_min = "0.1 mg/day", soft_max = "10 mg/day", hard_max = "20 mg/day" }
bolus = { soft_max = "0.3 mg", hard_max = "1 mg" }
lockout = { hard_min = "10min", soft_min = "30min" }
boluses_per_hour = { hard_min = 1, soft_max = 2, hard_max = 6 }
cumulative = [ { window = "24h", soft_max = "10 mg", hard_max = "20 mg" } ]
observation = { hard_min = "6h", soft_min = "24h" }
source = "test values"
"#;

    fn lib(text: &str) -> Result<DrugLibrary, LibraryError> {
        DrugLibrary::from_toml_str(text)
    }

    #[test]
    fn a_lockout_of_zero_is_refused_and_a_soft_cap_may_equal_the_hard_one() {
        let e = lib(&MINIMAL.replace("hard_min = \"10min\"", "hard_min = \"0min\"")).unwrap_err();
        assert!(
            e.message.contains("lockout needs a hard_min above zero"),
            "{e}"
        );
        let l = lib(&MINIMAL.replace(
            "{ window = \"24h\", soft_max = \"10 mg\", hard_max = \"20 mg\" }",
            "{ window = \"24h\", soft_max = \"20 mg\", hard_max = \"20 mg\" }",
        ));
        assert!(l.is_ok(), "{l:?}");
        let e = lib(&MINIMAL.replace(
            "{ window = \"24h\", soft_max = \"10 mg\", hard_max = \"20 mg\" }",
            "{ window = \"24h\", soft_max = \"21 mg\", hard_max = \"20 mg\" }",
        ))
        .unwrap_err();
        assert!(
            e.message.contains("soft_max 21 mg is above hard_max 20 mg"),
            "{e}"
        );
    }

    #[test]
    fn an_entry_without_a_least_observation_is_refused() {
        let e = lib(&MINIMAL.replace(
            "observation = { hard_min = \"6h\", soft_min = \"24h\" }",
            "observation = { soft_min = \"24h\" }",
        ))
        .unwrap_err();
        assert!(e.message.contains("observation needs a hard_min"), "{e}");
    }

    #[test]
    fn the_sedation_interlock_is_the_librarys_or_the_default() {
        assert_eq!(lib(MINIMAL).unwrap().sedation, SedationRule::DEFAULT);
        let text = MINIMAL.replace(
            "\n[[drug]]",
            "\n[sedation]\nhold_poss = 4\nmin_resp_rate = 8\n\n[[drug]]",
        );
        let l = lib(&text).unwrap();
        assert_eq!(
            l.sedation,
            SedationRule {
                hold_poss: 4,
                min_resp_rate: 8
            }
        );
        let e = lib(&text.replace("hold_poss = 4", "hold_poss = 1")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "drug library, line 4: sedation.hold_poss: 1 is outside POSS 2 to 4"
        );
        let shipped = lib(include_str!("../../../config/drug-library.toml")).unwrap();
        assert_eq!(shipped.sedation, SedationRule::DEFAULT);
    }

    #[test]
    fn an_entry_names_its_source_or_is_refused() {
        let e = lib(&MINIMAL.replace("source = \"test values\"\n", "")).unwrap_err();
        assert!(
            e.message
                .starts_with("morphine (intrathecal): source is missing"),
            "{e}"
        );
        let e = lib(&MINIMAL.replace("source = \"test values\"", "source = \"  \"")).unwrap_err();
        assert!(e.message.contains("source is missing"), "{e}");
        assert_eq!(lib(MINIMAL).unwrap().entries[0].source, "test values");
        // The built-in library names a source for every entry.
        let shipped = lib(include_str!("../../../config/drug-library.toml")).unwrap();
        assert!(shipped.entries.iter().all(|e| e.source.len() > 20));
    }

    #[test]
    fn starting_ranges_follow_the_opioid_status_and_are_checked() {
        use crate::program::OpioidStatus;
        let text = MINIMAL.replace(
            "source =",
            "start_per_day = { soft_min = \"0.2 mg/day\", soft_max = \"1 mg/day\" }\nstart_per_day_tolerant = { soft_min = \"1 mg/day\", soft_max = \"10 mg/day\" }\nscreening = { min_interval = \"24h\", max_boluses = 3 }\nsource =",
        );
        let l = lib(&text).unwrap();
        let e = &l.entries[0];
        let r = |s: &str| s.parse::<AmountRate>().unwrap();
        assert_eq!(e.start_range(None).0.soft_max, Some(r("1 mg/day")));
        assert!(e.start_range(None).1.contains("not recorded"));
        assert_eq!(
            e.start_range(Some(OpioidStatus::Naive)),
            (&e.start_per_day, "for opioid-naive patients")
        );
        assert_eq!(
            e.start_range(Some(OpioidStatus::Tolerant)).0.soft_max,
            Some(r("10 mg/day"))
        );
        assert_eq!(
            e.screening,
            Some(ScreeningRule {
                min_interval: Duration::from_hours(24),
                max_boluses: Some(3)
            })
        );
        // Without a tolerant range, one range for everyone.
        let one = lib(&MINIMAL.replace(
            "source =",
            "start_per_day = { hard_max = \"2.4 mg/day\" }\nsource =",
        ))
        .unwrap();
        assert_eq!(
            one.entries[0].start_range(Some(OpioidStatus::Tolerant)).1,
            ""
        );
        let e = lib(&text.replace("soft_max = \"10 mg/day\" }", "soft_max = \"0.5 mg/day\" }"))
            .unwrap_err();
        assert_eq!(
            e.message,
            "morphine (intrathecal): start_per_day_tolerant: soft_min 1 mg/day is above soft_max 0.5 mg/day"
        );
        let e = lib(&text.replace("max_boluses = 3", "max_boluses = 0")).unwrap_err();
        assert!(e.message.contains("screening.max_boluses is 0"), "{e}");
        let e = lib(&text.replace("min_interval = \"24h\"", "min_interval = \"0h\"")).unwrap_err();
        assert!(e.message.contains("screening.min_interval is zero"), "{e}");
    }

    #[test]
    fn one_entry_per_concentration() {
        let l = lib(MINIMAL).unwrap();
        assert_eq!(l.entries.len(), 2);
        assert_eq!(l.entries[1].concentration.to_string(), "2 mg/mL");
        assert_eq!(l.entries[0].line, 4);
        assert_eq!(l.entries[0].title(), "intrathecal morphine 1 mg/mL");
    }

    #[test]
    fn guardrails_classify_with_the_deciding_bound() {
        let l = lib(MINIMAL).unwrap();
        let g = l.entries[0].basal_per_day;
        let r = |s: &str| s.parse::<AmountRate>().unwrap();
        assert_eq!(g.classify(r("0.5 mg/day")), (Class::Ok, None));
        assert_eq!(g.classify(r("10 mg/day")), (Class::Ok, None));
        assert_eq!(g.classify(r("12 mg/day")).0, Class::Soft);
        assert_eq!(g.classify(r("0.05 mg/day")).0, Class::Soft);
        assert_eq!(
            g.classify(r("50 mg/day")),
            (Class::Hard, Some(Bound::HardMax(r("20 mg/day"))))
        );
        let f = g.check("program.basal", "Basal rate", r("50 mg/day"), |v| {
            v.per_day_in(MassUnit::Mg).to_string()
        });
        assert_eq!(f.class, Class::Hard);
        assert_eq!(f.value, "50 mg/day");
        assert_eq!(f.limit, "hard maximum of 20 mg/day");
        assert_eq!(
            f.message,
            "Basal rate 50 mg/day is above the hard maximum of 20 mg/day. It cannot be used."
        );
        let f = g.check("program.basal", "Basal rate", r("12 mg/day"), |v| {
            v.per_day_in(MassUnit::Mg).to_string()
        });
        assert_eq!(
            f.message,
            "Basal rate 12 mg/day is above the usual maximum of 10 mg/day (soft limit). It can be used only if you confirm it."
        );
    }

    #[test]
    fn lookups_explain_what_is_missing() {
        let l = lib(MINIMAL).unwrap();
        let c = |s: &str| s.parse::<Concentration>().unwrap();
        assert!(l.find("Morphine", Route::Intrathecal, c("1 mg/mL")).is_ok());
        assert_eq!(
            l.find("heroin", Route::Intrathecal, c("1 mg/mL"))
                .unwrap_err()
                .to_string(),
            "\"heroin\" is not in the drug library (it has: morphine)"
        );
        assert_eq!(
            l.find("morphine", Route::Epidural, c("1 mg/mL"))
                .unwrap_err()
                .to_string(),
            "morphine is not in the drug library for epidural use (it is listed for: intrathecal)"
        );
        assert_eq!(
            l.find("morphine", Route::Intrathecal, c("3 mg/mL"))
                .unwrap_err()
                .to_string(),
            "3 mg/mL is not a concentration the drug library lists for intrathecal morphine (it lists: 1 mg/mL, 2 mg/mL); concentrations come from the library, never typed freely"
        );
    }

    #[test]
    fn soft_outside_hard_is_refused_with_its_line() {
        let bad = MINIMAL.replace("soft_max = \"0.3 mg\"", "soft_max = \"3 mg\"");
        assert_eq!(
            lib(&bad).unwrap_err().to_string(),
            "drug library, line 4: morphine (intrathecal): bolus: soft_max 3 mg is above hard_max 1 mg"
        );
        let bad = MINIMAL.replace("soft_max = \"10 mg\"", "soft_max = \"30 mg\"");
        assert!(
            lib(&bad)
                .unwrap_err()
                .to_string()
                .contains("cumulative[0]: soft_max 30 mg is above hard_max 20 mg")
        );
    }

    #[test]
    fn duplicates_are_refused() {
        let bad = MINIMAL.replace("[\"1 mg/mL\", \"2 mg/mL\"]", "[\"1 mg/mL\", \"1 mg/mL\"]");
        assert_eq!(
            lib(&bad).unwrap_err().to_string(),
            "drug library, line 4: morphine (intrathecal): 1 mg/mL is listed twice for this drug and route"
        );
        let twice = format!("{MINIMAL}{}", &MINIMAL[MINIMAL.find("[[drug]]").unwrap()..]);
        let e = lib(&twice).unwrap_err();
        assert_eq!(e.line, Some(16));
    }

    #[test]
    fn unknown_units_and_keys_name_the_line() {
        let bad = MINIMAL.replace("\"20 mg/day\"", "\"20 mg/kg\"");
        let e = lib(&bad).unwrap_err();
        assert_eq!(e.line, Some(9));
        assert!(e.message.contains("unknown unit \"mg/kg\""), "{e}");
        let bad = MINIMAL.replace("observation =", "obsevation =");
        let e = lib(&bad).unwrap_err();
        assert!(e.message.contains("unknown field `obsevation`"), "{e}");
    }

    #[test]
    fn a_lockout_without_a_floor_is_refused() {
        let bad = MINIMAL.replace(
            "lockout = { hard_min = \"10min\", soft_min = \"30min\" }",
            "lockout = { soft_min = \"30min\" }",
        );
        assert!(
            lib(&bad)
                .unwrap_err()
                .message
                .contains("lockout needs a hard_min above zero")
        );
    }

    #[test]
    fn wrong_schema_and_empty_library_are_refused() {
        let bad = MINIMAL.replace("drug-library/1", "drug-library/9");
        assert!(
            lib(&bad)
                .unwrap_err()
                .message
                .contains("reads \"titra.drug-library/1\"")
        );
        assert_eq!(
            lib("schema = \"titra.drug-library/1\"")
                .unwrap_err()
                .message,
            "the library has no drugs"
        );
        let bad = MINIMAL.replace("window = \"24h\"", "window = \"48h\"");
        assert!(lib(&bad).unwrap_err().message.contains("outside 1h..1d"));
    }
}
