//! The protocol's rules for the implant's starting dose, as data: the response criterion,
//! each drug's rule and the route conversions, checked whole when the protocol is read.

use super::*;

/// A fall on the Modified Ashworth Scale in tenths of a point (1+ counts as 1.5). Written in
/// files as points: `ashworth_fall = 1` or `1.5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Points(pub(super) u32);

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
            OutcomeMeasure::Pain => tr!(
                "pain at least {percent} % lower than before the trial",
                percent = self.pain_reduction_percent
            ),
            OutcomeMeasure::Spasticity if self.ashworth_fall.0 == 10 => tr!(
                "spasticity at least {fall} point lower than before the trial on the Modified Ashworth Scale (1+ counted as 1.5)",
                fall = self.ashworth_fall
            ),
            OutcomeMeasure::Spasticity => tr!(
                "spasticity at least {fall} points lower than before the trial on the Modified Ashworth Scale (1+ counted as 1.5)",
                fall = self.ashworth_fall
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
            1 => tr!("the same dose").to_owned(),
            2 => tr!("twice the dose").to_owned(),
            n => tr!("{n} times the dose", n),
        };
        match self {
            Rule::Percent(p) => tr!("{p} % of the effective trial dose per day", p),
            Rule::EffectDuration {
                longer_than,
                times_if_longer,
                times_otherwise,
            } => tr!(
                "{times} of the effective screening bolus per day when its effect lasted more than {longer_than}, otherwise {otherwise}",
                times = times(times_if_longer),
                longer_than = hours_text(longer_than),
                otherwise = times(times_otherwise)
            ),
            Rule::Fixed(d) => tr!(
                "a starting dose of {dose}, whatever the trial gave",
                dose = d.per_day_in(unit)
            ),
            Rule::Clinician => tr!("the clinician enters the starting dose").to_owned(),
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
                let times_if_longer = self
                    .times_if_longer
                    .ok_or_else(|| need("times_if_longer"))?;
                let times_otherwise = self
                    .times_otherwise
                    .ok_or_else(|| need("times_otherwise"))?;
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
        self.drug.eq_ignore_ascii_case(drug)
            && (self.kinds.is_empty() || self.kinds.contains(&kind))
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
