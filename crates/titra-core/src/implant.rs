//! The implant's first dose: from what the trial showed to the starting dose of the implanted
//! pump, by the drug-specific rules of the site's protocol, each printed with its source.
//!
//! Three steps, each pure and each stated in words on the worksheet:
//! 1. **The response.** A score after treatment is a response when it meets the protocol's
//!    criterion (pain at least 50 % lower than the baseline; spasticity at least 1 point lower
//!    on the Modified Ashworth Scale). For each bolus of a bolus trial: onset (the first
//!    response), peak (the best score) and duration (until the score is no longer a response).
//! 2. **The effective trial dose.** Bolus trials: the smallest bolus that met the criterion
//!    (never a figure that depends on how long the patient was watched). Continuous trials: the
//!    dose per day within the last stable period (at least the protocol's hours at one basal
//!    rate, reaching the end of the trial): the basal rate plus the patient boluses per day.
//! 3. **The rule.** Per drug and trial kind: a percentage of the effective dose (after the
//!    route conversion for an epidural trial), the baclofen label's rule on the duration of
//!    effect, a fixed starting dose (ziconotide), or "the clinician enters it". The result is
//!    checked against the implant route's library limits and starting range.
//!
//! Where a step has no clear answer (no response, no stable period, an effect whose duration
//! straddles the rule's threshold, no conversion for the route, a result above a limit) the
//! worksheet proposes nothing and says why: it never guesses a dose. A clinician may then
//! enter one with a written reason, and confirms any dose only after the trial has ended.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::diary::OutcomeMeasure;
use super::finding::{Class, Finding, Verdict};
use super::library::{Guardrail, LibraryEntry, Route};
use super::program::{OpioidStatus, TrialKind};
use super::units::{Amount, AmountRate, Concentration, Duration, MassUnit, Timestamp};

/// The longest written reason for a confirmed dose.
pub const MAX_REASON: usize = 500;

/// The least and longest stable period a protocol may ask for.
pub const MIN_STABLE: Duration = Duration::from_hours(1);
pub const MAX_STABLE: Duration = Duration::from_days(7);

// ---------------------------------------------------------------------------------------------
// The protocol's rules (data)
// ---------------------------------------------------------------------------------------------

/// A fall on the Modified Ashworth Scale in tenths of a point (1+ counts as 1.5). Written in
/// files as points: `ashworth_fall = 1` or `1.5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Points(u32);

impl Points {
    pub const fn from_tenths(t: u32) -> Points {
        Points(t)
    }
    pub const fn tenths(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 % 10 == 0 {
            write!(f, "{}", self.0 / 10)
        } else {
            write!(f, "{}.{}", self.0 / 10, self.0 % 10)
        }
    }
}

impl<'de> Deserialize<'de> for Points {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        let tenths = (v * 10.0).round();
        if !v.is_finite() || !(0.0..=40.0).contains(&tenths) || (v * 10.0 - tenths).abs() > 1e-6 {
            return Err(serde::de::Error::custom(format!(
                "{v} is not a number of points from 0 to 4 in tenths"
            )));
        }
        Ok(Points(tenths as u32))
    }
}

impl Serialize for Points {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(f64::from(self.0) / 10.0)
    }
}

/// What counts as a response to the trial's drug (the protocol's `[response]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseCriterion {
    /// Pain (NRS 0–10) at least this many percent lower than the baseline, 1 to 100.
    pub pain_reduction_percent: u32,
    /// Spasticity at least this much lower than the baseline on the Modified Ashworth Scale.
    pub ashworth_fall: Points,
    /// Where the criterion comes from, printed with it.
    pub source: String,
}

impl Default for ResponseCriterion {
    /// The criterion when a protocol has none: ≥ 50 % less pain (the usual definition of a
    /// successful trial [S]) and a fall of ≥ 1 point on the Modified Ashworth Scale (the usual
    /// baclofen screening criterion [S]); both in docs/clinical-sources.md.
    fn default() -> Self {
        ResponseCriterion {
            pain_reduction_percent: 50,
            ashworth_fall: Points(10),
            source: "Titra's default (no [response] in the site protocol): at least 50 % less pain, or a fall of at least 1 point on the Modified Ashworth Scale [S]".to_owned(),
        }
    }
}

impl ResponseCriterion {
    pub fn check(&self) -> Result<(), String> {
        if !(1..=100).contains(&self.pain_reduction_percent) {
            return Err(format!(
                "response.pain_reduction_percent: {} is outside 1 to 100",
                self.pain_reduction_percent
            ));
        }
        if !(5..=40).contains(&self.ashworth_fall.0) {
            return Err(format!(
                "response.ashworth_fall: {} is outside 0.5 to 4 points",
                self.ashworth_fall
            ));
        }
        if self.source.trim().is_empty() {
            return Err("response.source: say where the criterion comes from".to_owned());
        }
        Ok(())
    }

    /// The criterion for this outcome measure, in words.
    pub fn describe(&self, measure: OutcomeMeasure) -> String {
        match measure {
            OutcomeMeasure::Pain => format!(
                "pain at least {} % lower than before the trial",
                self.pain_reduction_percent
            ),
            OutcomeMeasure::Spasticity => format!(
                "spasticity at least {} point{} lower than before the trial on the Modified Ashworth Scale (1+ counted as 1.5)",
                self.ashworth_fall,
                if self.ashworth_fall.0 == 10 { "" } else { "s" }
            ),
        }
    }
}

/// How a rule turns the effective trial dose into the implant's starting dose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// `percent` of the effective trial dose per day (after the route conversion).
    Percent,
    /// The baclofen label: the effective screening bolus per day when its effect lasted more
    /// than `longer_than`, else `times_otherwise` times it (`times_if_longer` times when longer).
    EffectDuration,
    /// A starting dose that ignores the trial's dose (ziconotide).
    Fixed,
    /// No rule: the clinician enters the dose.
    Clinician,
}

/// One drug's rule for the implant's starting dose, as the protocol writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrugRule {
    pub drug: String,
    /// The trial kinds it applies to; left out, every kind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<TrialKind>,
    pub method: Method,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longer_than: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times_if_longer: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times_otherwise: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dose: Option<AmountRate>,
    /// Where the rule comes from, printed beside the number it gives.
    pub source: String,
}

/// A rule ready to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Percent(u32),
    EffectDuration {
        longer_than: Duration,
        times_if_longer: u32,
        times_otherwise: u32,
    },
    Fixed(AmountRate),
    Clinician,
}

impl Rule {
    pub fn method(self) -> Method {
        match self {
            Rule::Percent(_) => Method::Percent,
            Rule::EffectDuration { .. } => Method::EffectDuration,
            Rule::Fixed(_) => Method::Fixed,
            Rule::Clinician => Method::Clinician,
        }
    }

    /// The rule in words ("50 % of the effective trial dose").
    pub fn describe(self, unit: MassUnit) -> String {
        let times = |n: u32| match n {
            1 => "the same dose".to_owned(),
            2 => "twice the dose".to_owned(),
            n => format!("{n} times the dose"),
        };
        match self {
            Rule::Percent(p) => format!("{p} % of the effective trial dose per day"),
            Rule::EffectDuration {
                longer_than,
                times_if_longer,
                times_otherwise,
            } => format!(
                "{} of the effective screening bolus per day when its effect lasted more than {}, otherwise {}",
                times(times_if_longer),
                hours_text(longer_than),
                times(times_otherwise)
            ),
            Rule::Fixed(d) => format!(
                "a starting dose of {}, whatever the trial gave",
                d.per_day_in(unit)
            ),
            Rule::Clinician => "the clinician enters the starting dose".to_owned(),
        }
    }
}

impl DrugRule {
    /// The rule ready to apply, or what is wrong with it (the field and the value).
    pub fn rule(&self) -> Result<Rule, String> {
        let need = |what: &str| format!("method \"{}\" needs {what}", method_word(self.method));
        let unused = |set: bool, what: &str| {
            if set {
                Err(format!(
                    "{what} does not apply to method \"{}\"",
                    method_word(self.method)
                ))
            } else {
                Ok(())
            }
        };
        match self.method {
            Method::Percent => {
                let p = self.percent.ok_or_else(|| need("percent"))?;
                if !(1..=100).contains(&p) {
                    return Err(format!("percent: {p} is outside 1 to 100"));
                }
                unused(self.dose.is_some(), "dose")?;
                unused(self.longer_than.is_some(), "longer_than")?;
                Ok(Rule::Percent(p))
            }
            Method::EffectDuration => {
                let longer_than = self.longer_than.ok_or_else(|| need("longer_than"))?;
                let times_if_longer = self.times_if_longer.ok_or_else(|| need("times_if_longer"))?;
                let times_otherwise = self.times_otherwise.ok_or_else(|| need("times_otherwise"))?;
                if longer_than.is_zero() || longer_than > Duration::from_hours(48) {
                    return Err(format!("longer_than: {longer_than} is outside 1min to 48h"));
                }
                for (name, n) in [
                    ("times_if_longer", times_if_longer),
                    ("times_otherwise", times_otherwise),
                ] {
                    if !(1..=4).contains(&n) {
                        return Err(format!("{name}: {n} is outside 1 to 4"));
                    }
                }
                if self.kinds.is_empty() || self.kinds.contains(&TrialKind::Continuous) {
                    return Err(
                        "kinds: the duration of a bolus's effect exists only in bolus trials; list single_bolus and/or multiple_bolus"
                            .to_owned(),
                    );
                }
                unused(self.percent.is_some(), "percent")?;
                unused(self.dose.is_some(), "dose")?;
                Ok(Rule::EffectDuration {
                    longer_than,
                    times_if_longer,
                    times_otherwise,
                })
            }
            Method::Fixed => {
                let d = self.dose.ok_or_else(|| need("dose"))?;
                if d.is_zero() {
                    return Err("dose: a starting dose of zero gives nothing".to_owned());
                }
                unused(self.percent.is_some(), "percent")?;
                Ok(Rule::Fixed(d))
            }
            Method::Clinician => {
                unused(self.percent.is_some(), "percent")?;
                unused(self.dose.is_some(), "dose")?;
                Ok(Rule::Clinician)
            }
        }
    }

    fn applies(&self, drug: &str, kind: TrialKind) -> bool {
        self.drug.eq_ignore_ascii_case(drug) && (self.kinds.is_empty() || self.kinds.contains(&kind))
    }
}

fn method_word(m: Method) -> &'static str {
    match m {
        Method::Percent => "percent",
        Method::EffectDuration => "effect_duration",
        Method::Fixed => "fixed",
        Method::Clinician => "clinician",
    }
}

/// A drug's conversion between routes: the dose by `to` is the dose by `from` divided by
/// `ratio` (epidural to intrathecal morphine: 10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conversion {
    pub drug: String,
    pub from: Route,
    pub to: Route,
    /// Whole number, 1 to 100.
    pub ratio: u32,
    pub source: String,
}

/// The protocol's `[implant]` table: the implant's route, the site's percentage, the stable
/// period, the drug rules and the route conversions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImplantProtocol {
    /// Where the implanted pump delivers (default: intrathecal).
    #[serde(default = "intrathecal")]
    pub route: Route,
    /// The site's percentage: the rule for drugs without a rule of their own (left out: the
    /// clinician enters their dose).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u32>,
    /// Where the site's percentage comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The implant's fill concentration per drug (default: the trial's).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub concentration: BTreeMap<String, Concentration>,
    /// The least time at one basal rate, at the end of a continuous trial, that its effective
    /// dose is read from.
    #[serde(default = "default_stable")]
    pub stable_period: Duration,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<DrugRule>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conversions: Vec<Conversion>,
}

fn intrathecal() -> Route {
    Route::Intrathecal
}

/// Without a setting, a continuous trial's last 24 h must be at one rate.
fn default_stable() -> Duration {
    Duration::from_hours(24)
}

impl Default for ImplantProtocol {
    /// No rules: the clinician enters every starting dose.
    fn default() -> Self {
        ImplantProtocol {
            route: Route::Intrathecal,
            percent: None,
            source: None,
            concentration: BTreeMap::new(),
            stable_period: default_stable(),
            rules: Vec::new(),
            conversions: Vec::new(),
        }
    }
}

/// The rule that applies, with its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedRule {
    pub rule: Rule,
    pub source: String,
}

impl ImplantProtocol {
    /// Checks the table whole; the message names the field and the value.
    pub fn check(&self) -> Result<(), String> {
        if let Some(p) = self.percent {
            if !(1..=100).contains(&p) {
                return Err(format!("implant.percent: {p} is outside 1 to 100"));
            }
            if self.source.as_deref().is_none_or(|s| s.trim().is_empty()) {
                return Err(
                    "implant.source: say where the rule comes from; it is printed with it"
                        .to_owned(),
                );
            }
        }
        if self.stable_period < MIN_STABLE || self.stable_period > MAX_STABLE {
            return Err(format!(
                "implant.stable_period: {} is outside {MIN_STABLE} to {MAX_STABLE}",
                self.stable_period
            ));
        }
        for (i, r) in self.rules.iter().enumerate() {
            let at = |m: String| format!("implant.rules[{i}] ({}): {m}", r.drug);
            r.rule().map_err(at)?;
            if r.source.trim().is_empty() {
                return Err(at("source: say where the rule comes from".to_owned()));
            }
            let kinds = |r: &DrugRule| -> Vec<TrialKind> {
                if r.kinds.is_empty() {
                    vec![
                        TrialKind::SingleBolus,
                        TrialKind::MultipleBolus,
                        TrialKind::Continuous,
                    ]
                } else {
                    r.kinds.clone()
                }
            };
            for other in &self.rules[..i] {
                if other.drug.eq_ignore_ascii_case(&r.drug)
                    && let Some(k) = kinds(r).into_iter().find(|k| kinds(other).contains(k))
                {
                    return Err(at(format!(
                        "a second rule for {} after a {k} trial; one rule per drug and trial kind",
                        r.drug
                    )));
                }
            }
        }
        for (i, c) in self.conversions.iter().enumerate() {
            let at = |m: String| format!("implant.conversions[{i}] ({}): {m}", c.drug);
            if c.from == c.to {
                return Err(at(format!("from and to are both {}", c.from)));
            }
            if !(1..=100).contains(&c.ratio) {
                return Err(at(format!("ratio: {} is outside 1 to 100", c.ratio)));
            }
            if c.source.trim().is_empty() {
                return Err(at("source: say where the ratio comes from".to_owned()));
            }
            if self.conversions[..i]
                .iter()
                .any(|o| o.drug.eq_ignore_ascii_case(&c.drug) && o.from == c.from && o.to == c.to)
            {
                return Err(at(format!(
                    "a second conversion from {} to {} for {}",
                    c.from, c.to, c.drug
                )));
            }
        }
        Ok(())
    }

    /// The rule for `drug` after a trial of `kind`: its own, else the site's percentage, else
    /// None (the clinician enters the dose).
    pub fn rule_for(&self, drug: &str, kind: TrialKind) -> Option<AppliedRule> {
        if let Some(r) = self.rules.iter().find(|r| r.applies(drug, kind)) {
            return r.rule().ok().map(|rule| AppliedRule {
                rule,
                source: r.source.clone(),
            });
        }
        self.percent.map(|p| AppliedRule {
            rule: Rule::Percent(p),
            source: self.source.clone().unwrap_or_default(),
        })
    }

    /// The conversion of `drug` from `from` to the implant's route.
    pub fn conversion(&self, drug: &str, from: Route) -> Option<&Conversion> {
        self.conversions
            .iter()
            .find(|c| c.drug.eq_ignore_ascii_case(drug) && c.from == from && c.to == self.route)
    }

    /// The implant's fill concentration for `drug` (default: the trial's).
    pub fn fill(&self, drug: &str, trial: Concentration) -> Concentration {
        self.concentration
            .iter()
            .find(|(d, _)| d.eq_ignore_ascii_case(drug))
            .map_or(trial, |(_, c)| *c)
    }
}

// ---------------------------------------------------------------------------------------------
// The response, bolus by bolus
// ---------------------------------------------------------------------------------------------

/// A score after treatment, in tenths of a point: pain NRS × 10, or the Ashworth score × 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Score {
    pub at: Timestamp,
    pub tenths: u32,
}

/// Judges scores against the baseline by the criterion.
#[derive(Debug, Clone, Copy)]
pub struct Judge<'a> {
    pub measure: OutcomeMeasure,
    /// The baseline in tenths; None when none was recorded.
    pub baseline: Option<u32>,
    pub criterion: &'a ResponseCriterion,
}

impl Judge<'_> {
    /// Why no score can be judged, if none can.
    pub fn cannot(&self) -> Option<String> {
        match (self.measure, self.baseline) {
            (OutcomeMeasure::Pain, None) => Some("no pain score before the trial (baseline) was recorded".to_owned()),
            (OutcomeMeasure::Spasticity, None) => {
                Some("no Modified Ashworth score before the trial (baseline) was recorded".to_owned())
            }
            (OutcomeMeasure::Pain, Some(0)) => {
                Some("the pain before the trial was 0: it cannot be lower".to_owned())
            }
            (OutcomeMeasure::Spasticity, Some(b)) if b < self.criterion.ashworth_fall.0 => Some(format!(
                "the Ashworth score before the trial was {}: it cannot fall by {}",
                Points(b),
                self.criterion.ashworth_fall
            )),
            _ => None,
        }
    }

    /// Whether a score meets the criterion.
    pub fn responds(&self, tenths: u32) -> bool {
        if self.cannot().is_some() {
            return false;
        }
        let Some(b) = self.baseline else { return false };
        if tenths >= b {
            return false;
        }
        let fall = b - tenths;
        match self.measure {
            OutcomeMeasure::Pain => {
                u64::from(fall) * 100 >= u64::from(b) * u64::from(self.criterion.pain_reduction_percent)
            }
            OutcomeMeasure::Spasticity => fall >= self.criterion.ashworth_fall.0,
        }
    }
}

/// A bolus as the log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BolusGiven {
    pub at: Timestamp,
    pub requested: Amount,
    pub delivered: Amount,
    /// Given whole (not stopped by an alarm, a pause or a power cut).
    pub complete: bool,
}

/// How long a bolus's effect lasted, as far as the scores tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EffectDuration {
    /// No score after the bolus met the criterion.
    NoResponse,
    /// The score was last a response `last_response` after the bolus and no longer one at
    /// `ended`: the duration, as the trial measures it, is `ended`.
    Ended {
        last_response: Duration,
        ended: Duration,
    },
    /// Still a response at the last score, `last_seen` after the bolus.
    StillPresent { last_seen: Duration },
}

impl EffectDuration {
    /// In words: "8 h (last seen 6 h after the bolus)".
    pub fn describe(self) -> String {
        match self {
            EffectDuration::NoResponse => "no response".to_owned(),
            EffectDuration::Ended {
                last_response,
                ended,
            } => format!(
                "{} (a response at {}, no longer at {})",
                hours_text(ended),
                hours_text(last_response),
                hours_text(ended)
            ),
            EffectDuration::StillPresent { last_seen } => format!(
                "more than {} (still a response at the last score)",
                hours_text(last_seen)
            ),
        }
    }
}

/// What one bolus did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BolusEffect {
    pub bolus: BolusGiven,
    /// The scores judged for it: after it and up to the next bolus.
    pub scores: Vec<Score>,
    pub responded: bool,
    /// From the bolus to the first score that was a response.
    pub onset: Option<Duration>,
    /// From the bolus to the best score (the first, if it repeats), and that score in tenths.
    pub peak: Option<(Duration, u32)>,
    pub duration: EffectDuration,
}

/// The effect of each bolus: the scores after it and up to the next one (a score at the same
/// moment as the next bolus was taken before it). Depends on the scores only, never on how long
/// the trial was observed.
pub fn bolus_effects(boluses: &[BolusGiven], scores: &[Score], judge: &Judge<'_>) -> Vec<BolusEffect> {
    let mut order: Vec<BolusGiven> = boluses.to_vec();
    order.sort_by_key(|b| b.at);
    let mut sorted: Vec<Score> = scores.to_vec();
    sorted.sort_by_key(|s| s.at);
    order
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let next = order.get(i + 1).map(|n| n.at);
            let mine: Vec<Score> = sorted
                .iter()
                .copied()
                .filter(|s| s.at > b.at && next.is_none_or(|n| s.at <= n))
                .collect();
            effect_of(*b, mine, judge)
        })
        .collect()
}

fn effect_of(bolus: BolusGiven, scores: Vec<Score>, judge: &Judge<'_>) -> BolusEffect {
    let after = |s: &Score| s.at.since(bolus.at);
    let first = scores.iter().position(|s| judge.responds(s.tenths));
    let peak = scores
        .iter()
        .min_by_key(|s| (s.tenths, s.at))
        .map(|s| (after(s), s.tenths));
    let duration = match first {
        None => EffectDuration::NoResponse,
        Some(i) => {
            let rest = &scores[i..];
            match rest.iter().position(|s| !judge.responds(s.tenths)) {
                Some(j) => EffectDuration::Ended {
                    last_response: after(&rest[j - 1]),
                    ended: after(&rest[j]),
                },
                None => EffectDuration::StillPresent {
                    last_seen: after(&rest[rest.len() - 1]),
                },
            }
        }
    };
    BolusEffect {
        bolus,
        onset: first.map(|i| after(&scores[i])),
        responded: first.is_some(),
        peak,
        duration,
        scores,
    }
}

// ---------------------------------------------------------------------------------------------
// A continuous trial's dose
// ---------------------------------------------------------------------------------------------

/// The basal rate (KVO included) in force from `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateFrom {
    pub at: Timestamp,
    pub rate: AmountRate,
}

/// A piece of delivery recorded at `at` (given just before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub at: Timestamp,
    pub amount: Amount,
    /// A patient bolus.
    pub patient: bool,
}

/// A stretch at one basal rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StablePeriod {
    pub from: Timestamp,
    pub to: Timestamp,
    pub rate: AmountRate,
    /// Everything given in it, and the patient boluses of it.
    pub delivered: Amount,
    pub patient: Amount,
}

fn per_day(amount: Amount, span: Duration) -> AmountRate {
    if span.is_zero() {
        return AmountRate::ZERO;
    }
    let ng = u128::from(amount.ng()) * u128::from(Duration::from_days(1).ms()) / u128::from(span.ms());
    AmountRate::from_ng_per_day(u64::try_from(ng).unwrap_or(u64::MAX))
}

impl StablePeriod {
    pub fn length(&self) -> Duration {
        self.to.since(self.from)
    }
    /// The dose per day in it: the basal rate in force plus the patient boluses per day
    /// (rounded down). Interruptions (pauses, alarms, power cuts) do not lower it: they are not
    /// what the patient responded to, and the summary lists them.
    pub fn per_day(&self) -> AmountRate {
        self.rate + self.patient_per_day()
    }

    /// Everything given per day in it, by the log (interruptions lower it; clinician boluses
    /// raise it): for information.
    pub fn given_per_day(&self) -> AmountRate {
        per_day(self.delivered, self.length())
    }
    /// Patient boluses per day in it.
    pub fn patient_per_day(&self) -> AmountRate {
        per_day(self.patient, self.length())
    }
}

/// A continuous trial's dose, read from its rates and deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContinuousDose {
    /// The basal (KVO included) in force when the trial ended.
    pub in_force_at_end: AmountRate,
    /// Since when it was.
    pub since: Timestamp,
    /// The last stretch of at least the stable period at one rate, if any.
    pub stable: Option<StablePeriod>,
    /// Whether that stretch reaches the end of the trial.
    pub stable_to_end: bool,
}

/// Reads a continuous trial between `started` and `ended`: `rates` are the basal rates in
/// force from each moment (at least the one at the start; changes to the same rate are one
/// stretch), `pieces` what was delivered.
pub fn continuous_dose(
    started: Timestamp,
    ended: Timestamp,
    rates: &[RateFrom],
    pieces: &[Piece],
    stable_period: Duration,
) -> ContinuousDose {
    let mut changes: Vec<RateFrom> = rates.to_vec();
    changes.sort_by_key(|r| r.at);
    // Stretches at one rate, clipped to the trial.
    let mut stretches: Vec<(Timestamp, Timestamp, AmountRate)> = Vec::new();
    let clip = |t: Timestamp| t.max(started).min(ended);
    for (i, r) in changes.iter().enumerate() {
        let from = clip(r.at);
        let to = changes.get(i + 1).map_or(ended, |n| clip(n.at));
        if to <= from && i + 1 < changes.len() {
            // Superseded at the same moment (or before the start): the later one is in force.
            continue;
        }
        match stretches.last_mut() {
            Some(last) if last.2 == r.rate => last.1 = to,
            _ => stretches.push((from, to, r.rate)),
        }
    }
    let (since, in_force) = stretches
        .last()
        .map_or((started, AmountRate::ZERO), |s| (s.0, s.2));
    let stable = stretches
        .iter()
        .rev()
        .find(|s| s.1.since(s.0) >= stable_period)
        .map(|&(from, to, rate)| {
            let within = pieces.iter().filter(|p| p.at > from && p.at <= to);
            let (delivered, patient) = within.fold((Amount::ZERO, Amount::ZERO), |(d, p), x| {
                (d + x.amount, if x.patient { p + x.amount } else { p })
            });
            StablePeriod {
                from,
                to,
                rate,
                delivered,
                patient,
            }
        });
    ContinuousDose {
        in_force_at_end: in_force,
        since,
        stable_to_end: stable.is_some_and(|s| s.to == ended && s.from == since),
        stable,
    }
}

// ---------------------------------------------------------------------------------------------
// The effective trial dose
// ---------------------------------------------------------------------------------------------

/// What the effective trial dose is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The smallest bolus that met the criterion (an index into the bolus effects).
    Bolus(usize),
    /// The last stable period, reaching the end of the trial.
    StablePeriod(StablePeriod),
}

/// The effective trial dose per day, with its basis, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    pub basis: Option<Basis>,
    pub per_day: Option<AmountRate>,
    pub why_none: Option<String>,
}

/// A bolus trial's effective dose: the smallest bolus that met the criterion (the earliest of
/// equal ones), taken as a dose per day; none when none did or that bolus was not given whole.
pub fn effective_bolus(effects: &[BolusEffect], unit: MassUnit) -> Effective {
    let best = effects
        .iter()
        .enumerate()
        .filter(|(_, e)| e.responded)
        .min_by_key(|(_, e)| (e.bolus.delivered, e.bolus.at));
    match best {
        None => Effective {
            basis: None,
            per_day: None,
            why_none: Some(if effects.is_empty() {
                "no bolus was given".to_owned()
            } else {
                "no bolus met the response criterion".to_owned()
            }),
        },
        Some((i, e)) if !e.bolus.complete => Effective {
            basis: Some(Basis::Bolus(i)),
            per_day: None,
            why_none: Some(format!(
                "the bolus that met the criterion was not given whole ({} of {})",
                e.bolus.delivered.in_unit(unit),
                e.bolus.requested.in_unit(unit)
            )),
        },
        Some((i, e)) => Effective {
            basis: Some(Basis::Bolus(i)),
            per_day: Some(AmountRate::from_ng_per_day(e.bolus.delivered.ng())),
            why_none: None,
        },
    }
}

/// A continuous trial's effective dose: what was given per day in the last stable period,
/// patient boluses included, when that period reaches the end; else none, and why.
pub fn effective_continuous(
    c: &ContinuousDose,
    stable_period: Duration,
    ended: Timestamp,
    unit: MassUnit,
) -> Effective {
    match c.stable {
        Some(s) if c.stable_to_end => Effective {
            basis: Some(Basis::StablePeriod(s)),
            per_day: Some(s.per_day()),
            why_none: None,
        },
        _ => Effective {
            basis: None,
            per_day: None,
            why_none: Some(format!(
                "the basal rate at the end ({}) ran for {} only; the effective dose needs at least {} at one rate at the end of the trial",
                c.in_force_at_end.per_day_in(unit),
                hours_text(ended.since(c.since)),
                hours_text(stable_period)
            )),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// The worksheet
// ---------------------------------------------------------------------------------------------

/// Everything the worksheet is computed from.
pub struct WorksheetInput<'a> {
    pub drug: &'a str,
    pub unit: MassUnit,
    pub trial_route: Route,
    pub kind: TrialKind,
    pub opioid_status: Option<OpioidStatus>,
    /// Whether the trial was a response; Err with why when it could not be judged.
    pub response: Result<bool, String>,
    /// The criterion, in words.
    pub criterion: String,
    pub effective: &'a Effective,
    /// The bolus effects (bolus trials), which `effective.basis` indexes.
    pub effects: &'a [BolusEffect],
    pub protocol: &'a ImplantProtocol,
    /// The implant route's library entry for the drug, or why there is none.
    pub implant_entry: Result<&'a LibraryEntry, String>,
}

/// The conversion the worksheet used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConversionUsed {
    pub from: Route,
    pub to: Route,
    pub ratio: u32,
    pub source: String,
}

/// The worksheet: the rule, each step in words, the proposal or why there is none, and the
/// proposal's findings against the implant route's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worksheet {
    pub route: Route,
    pub rule: Option<AppliedRule>,
    pub conversion: Option<ConversionUsed>,
    pub proposed: Option<AmountRate>,
    pub why_none: Option<String>,
    pub steps: Vec<String>,
    pub findings: Vec<Finding>,
}

/// Applies the protocol's rule to the trial.
pub fn worksheet(i: &WorksheetInput<'_>) -> Worksheet {
    let unit = i.unit;
    let rate = |r: AmountRate| r.per_day_in(unit).to_string();
    let mut steps = Vec::new();
    let mut why: Option<String> = None;
    match &i.response {
        Err(e) => set_why(&mut why, format!("The response could not be judged: {e}.")),
        Ok(false) => set_why(
            &mut why,
            format!(
                "The trial was not a response ({}): no starting dose is proposed.",
                i.criterion
            ),
        ),
        Ok(true) => {}
    }
    match (&i.effective.basis, i.effective.per_day) {
        (Some(Basis::Bolus(k)), Some(d)) => {
            if let Some(e) = i.effects.get(*k) {
                steps.push(format!(
                    "Effective trial dose: the bolus of {} at {} after the start, the smallest that met the response criterion; as a dose per day, {}.",
                    e.bolus.delivered.in_unit(unit),
                    hours_text(Duration::from_ms(e.bolus.at.ms())),
                    rate(d)
                ));
            }
        }
        (Some(Basis::StablePeriod(s)), Some(d)) => steps.push(format!(
            "Effective trial dose: {} per day in the last stable period ({} at one rate to the end of the trial): a basal of {} plus patient boluses of {}.",
            rate(d),
            hours_text(s.length()),
            rate(s.rate),
            rate(s.patient_per_day())
        )),
        _ => set_why(
            &mut why,
            format!(
                "There is no effective trial dose: {}.",
                i.effective.why_none.as_deref().unwrap_or("none was found")
            ),
        ),
    }
    let applied = i.protocol.rule_for(i.drug, i.kind);
    let route = i.protocol.route;
    let mut conversion = None;
    let mut dose: Option<AmountRate> = i.effective.per_day;
    match &applied {
        None => set_why(
            &mut why,
            format!(
                "The site protocol has no rule for {} after a {} trial: the clinician enters the starting dose.",
                i.drug,
                i.kind.to_string().replace('_', " ")
            ),
        ),
        Some(a) => match a.rule {
            Rule::Clinician => set_why(
                &mut why,
                format!(
                    "The protocol's rule for {}: the clinician enters the starting dose ({}).",
                    i.drug, a.source
                ),
            ),
            Rule::Fixed(d) => {
                steps.push(format!(
                    "Rule: {} ({}): {}.",
                    a.rule.describe(unit),
                    a.source,
                    rate(d)
                ));
                dose = Some(d);
            }
            Rule::Percent(_) | Rule::EffectDuration { .. } => {
                if i.trial_route != route {
                    match i.protocol.conversion(i.drug, i.trial_route) {
                        None => set_why(
                            &mut why,
                            format!(
                                "The site protocol has no conversion of {} from {} to {}: the clinician enters the starting dose.",
                                i.drug, i.trial_route, route
                            ),
                        ),
                        Some(c) => {
                            conversion = Some(ConversionUsed {
                                from: c.from,
                                to: c.to,
                                ratio: c.ratio,
                                source: c.source.clone(),
                            });
                            if let Some(d) = dose {
                                let converted =
                                    AmountRate::from_ng_per_day(d.ng_per_day() / u64::from(c.ratio));
                                steps.push(format!(
                                    "{} to {}: {} ÷ {} = {} ({}).",
                                    capital(&c.from.to_string()),
                                    c.to,
                                    rate(d),
                                    c.ratio,
                                    rate(converted),
                                    c.source
                                ));
                                dose = Some(converted);
                            }
                        }
                    }
                }
                if why.is_none()
                    && let Some(d) = dose
                {
                    dose = match a.rule {
                        Rule::Percent(p) => {
                            let out = u64::try_from(
                                u128::from(d.ng_per_day()) * u128::from(p) / 100,
                            )
                            .map_or(AmountRate::from_ng_per_day(u64::MAX), AmountRate::from_ng_per_day);
                            steps.push(format!(
                                "Rule: {} ({}): {} × {} % = {}.",
                                a.rule.describe(unit),
                                a.source,
                                rate(d),
                                p,
                                rate(out)
                            ));
                            Some(out)
                        }
                        Rule::EffectDuration {
                            longer_than,
                            times_if_longer,
                            times_otherwise,
                        } => {
                            let effect = match i.effective.basis {
                                Some(Basis::Bolus(k)) => i.effects.get(k).map(|e| e.duration),
                                _ => None,
                            };
                            match effect.map(|e| (e, longer(e, longer_than))) {
                                Some((e, Some(is_longer))) => {
                                    let n = if is_longer { times_if_longer } else { times_otherwise };
                                    let out = AmountRate::from_ng_per_day(d.ng_per_day().saturating_mul(u64::from(n)));
                                    steps.push(format!(
                                        "Rule: {} ({}): the effect lasted {}, {} {}, so {} × {} = {}.",
                                        a.rule.describe(unit),
                                        a.source,
                                        e.describe(),
                                        if is_longer { "more than" } else { "not more than" },
                                        hours_text(longer_than),
                                        rate(d),
                                        n,
                                        rate(out)
                                    ));
                                    Some(out)
                                }
                                Some((e, None)) => {
                                    set_why(&mut why, format!(
                                        "The rule ({}) needs to know whether the effect lasted more than {}; the scores say {}: record scores until the effect wears off, or past {}.",
                                        a.source,
                                        hours_text(longer_than),
                                        e.describe(),
                                        hours_text(longer_than)
                                    ));
                                    None
                                }
                                None => {
                                    set_why(
                                        &mut why,
                                        format!(
                                            "The rule ({}) applies to a screening bolus; this trial's effective dose is not one.",
                                            a.source
                                        ),
                                    );
                                    None
                                }
                            }
                        }
                        _ => dose,
                    };
                }
            }
        },
    }
    let mut findings = Vec::new();
    let mut proposed = None;
    if why.is_none()
        && let Some(d) = dose
    {
        match &i.implant_entry {
            Err(e) => set_why(
                &mut why,
                format!("The implant's limits cannot be checked: {e}."),
            ),
            Ok(entry) => {
                let v = check_dose(entry, i.opioid_status, d);
                let over = ceiling(entry, i.opioid_status).filter(|(c, _)| d > *c);
                if d.is_zero() {
                    set_why(&mut why, "The rule gives nothing (0 per day).".to_owned());
                } else if let Some(f) = v.findings.iter().find(|f| f.class == Class::Hard) {
                    set_why(
                        &mut why,
                        format!(
                            "The rule gives {}, which the implant's limits refuse: {} ({}): the clinician enters the starting dose.",
                            rate(d),
                            f.message,
                            f.source.as_deref().unwrap_or("drug library")
                        ),
                    );
                } else if let Some((c, what)) = over {
                    set_why(
                        &mut why,
                        format!(
                            "The rule gives {}, above the {what} of {} ({}): the clinician enters the starting dose.",
                            rate(d),
                            rate(c),
                            entry.source
                        ),
                    );
                } else {
                    proposed = Some(d);
                    findings = v.findings;
                }
            }
        }
    }
    Worksheet {
        route,
        rule: applied,
        conversion,
        proposed: if why.is_none() { proposed } else { None },
        why_none: why,
        steps,
        findings,
    }
}

fn set_why(why: &mut Option<String>, text: String) {
    if why.is_none() {
        *why = Some(text);
    }
}

/// Whether an effect lasted more than `threshold`: Some(true) or Some(false) when the scores
/// tell, None when the threshold falls between the last response and the first score that was
/// not one, or after the last score.
pub fn longer(e: EffectDuration, threshold: Duration) -> Option<bool> {
    match e {
        EffectDuration::NoResponse => Some(false),
        EffectDuration::Ended {
            last_response,
            ended,
        } => {
            if last_response > threshold {
                Some(true)
            } else if ended <= threshold {
                Some(false)
            } else {
                None
            }
        }
        EffectDuration::StillPresent { last_seen } => (last_seen > threshold).then_some(true),
    }
}

/// A dose per day for the implant against the implant route's library limits: the basal
/// range, and the starting range for the patient's opioid status. Each finding names its
/// source (the entry's).
pub fn check_dose(entry: &LibraryEntry, status: Option<OpioidStatus>, dose: AmountRate) -> Verdict {
    let unit = entry.unit;
    let show = |r: AmountRate| r.per_day_in(unit).to_string();
    let mut v = Verdict::default();
    v.push(
        entry
            .basal_per_day
            .check("implant.dose", "The implant's starting dose", dose, show),
    );
    let (range, whose) = entry.start_range(status);
    if *range != Guardrail::default() {
        let what = if whose.is_empty() {
            "The implant's starting dose (against the starting range)".to_owned()
        } else {
            format!("The implant's starting dose (against the starting range {whose})")
        };
        v.push(range.check("implant.dose", &what, dose, show));
    }
    v.cite_from(0, &entry.source);
    v
}

/// The most a proposal may be: the lowest of the basal's hard maximum and the starting range's
/// soft and hard maxima, with what it is.
pub fn ceiling(entry: &LibraryEntry, status: Option<OpioidStatus>) -> Option<(AmountRate, String)> {
    let (range, whose) = entry.start_range(status);
    let with = |w: &str| {
        if whose.is_empty() {
            w.to_owned()
        } else {
            format!("{w} {whose}")
        }
    };
    [
        entry
            .basal_per_day
            .hard_max
            .map(|m| (m, "hard maximum per day".to_owned())),
        range.soft_max.map(|m| (m, with("top of the usual starting range"))),
        range.hard_max.map(|m| (m, with("hard maximum of the starting range"))),
    ]
    .into_iter()
    .flatten()
    .min_by_key(|(m, _)| *m)
}

/// Why a starting dose was not confirmed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfirmError {
    #[error("the trial has not ended: the implant's starting dose is confirmed after the trial ends")]
    NotEnded,
    #[error("there is no proposal ({0}); enter a dose per day with a written reason")]
    NoProposal(String),
    #[error("reason: {0}")]
    NeedsReason(String),
    #[error(
        "{}: {} is refused: {} (limit: {}; source: {})",
        .0.field,
        .0.value,
        .0.message,
        .0.limit,
        .0.source.as_deref().unwrap_or("drug library")
    )]
    Refused(Finding),
    #[error("the implant's limits cannot be checked: {0}")]
    NoLimits(String),
    #[error("reason: {len} characters is more than {MAX_REASON}")]
    ReasonTooLong { len: usize },
}

/// A starting dose that may be recorded, with the findings it was confirmed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmed {
    pub per_day: AmountRate,
    /// The worksheet's proposal (None: the clinician entered the dose without one).
    pub proposed: Option<AmountRate>,
    pub findings: Vec<Finding>,
    pub reason: Option<String>,
}

/// Checks a clinician's confirmation: only after the trial ended; `dose` None takes the
/// proposal; a dose that is not the proposal, or any finding outside the usual range, needs a
/// written reason; a hard finding is refused.
pub fn confirm(
    ws: &Worksheet,
    entry: Result<&LibraryEntry, String>,
    status: Option<OpioidStatus>,
    ended: bool,
    dose: Option<AmountRate>,
    reason: &str,
) -> Result<Confirmed, ConfirmError> {
    if !ended {
        return Err(ConfirmError::NotEnded);
    }
    let reason = reason.trim();
    if reason.chars().count() > MAX_REASON {
        return Err(ConfirmError::ReasonTooLong {
            len: reason.chars().count(),
        });
    }
    let per_day = match (dose, ws.proposed) {
        (Some(d), _) => d,
        (None, Some(p)) => p,
        (None, None) => {
            return Err(ConfirmError::NoProposal(
                ws.why_none.clone().unwrap_or_else(|| "none was made".to_owned()),
            ));
        }
    };
    let entry = entry.map_err(ConfirmError::NoLimits)?;
    let v = check_dose(entry, status, per_day);
    if let Some(f) = v.findings.iter().find(|f| f.class == Class::Hard) {
        return Err(ConfirmError::Refused(f.clone()));
    }
    let unit = entry.unit;
    if reason.is_empty() {
        if ws.proposed != Some(per_day) {
            return Err(ConfirmError::NeedsReason(match ws.proposed {
                None => format!(
                    "{} is entered without a proposal; write why",
                    per_day.per_day_in(unit)
                ),
                Some(p) => format!(
                    "{} is not the proposal of {}; write why",
                    per_day.per_day_in(unit),
                    p.per_day_in(unit)
                ),
            }));
        }
        if let Some(f) = v.findings.iter().find(|f| f.class == Class::Soft) {
            return Err(ConfirmError::NeedsReason(format!(
                "{} ({}); write why it is right for this patient",
                f.message,
                f.source.as_deref().unwrap_or("drug library")
            )));
        }
    }
    Ok(Confirmed {
        per_day,
        proposed: ws.proposed,
        findings: v.findings,
        reason: (!reason.is_empty()).then(|| reason.to_owned()),
    })
}

/// Hours for people: "8 h", "6.5 h", "25 min".
pub fn hours_text(d: Duration) -> String {
    let ms = d.ms();
    if ms < Duration::from_hours(1).ms() {
        let min = ms.div_ceil(60_000);
        return format!("{min} min");
    }
    let hundredths = (ms * 100 + 1_800_000) / 3_600_000;
    let (whole, frac) = (hundredths / 100, hundredths % 100);
    match frac {
        0 => format!("{whole} h"),
        f if f % 10 == 0 => format!("{whole}.{} h", f / 10),
        f => format!("{whole}.{f:02} h"),
    }
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
