//! The worksheet: the drug's rule applied to the effective dose, the limits of the implant's
//! route, and the clinician's confirmation.

use super::*;

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

/// Applies the protocol's rule to the trial: the response and the effective dose, the drug's
/// rule (after the route conversion), then the implant route's limits. The first reason there
/// can be no proposal is kept and said.
pub fn worksheet(i: &WorksheetInput<'_>) -> Worksheet {
    let mut w = Work {
        i,
        steps: Vec::new(),
        why: None,
        conversion: None,
    };
    w.response_and_basis();
    let applied = i.protocol.rule_for(i.drug, i.kind);
    let dose = w.apply(applied.as_ref());
    let (proposed, findings) = w.within_limits(dose);
    Worksheet {
        route: i.protocol.route,
        rule: applied,
        conversion: w.conversion,
        proposed: if w.why.is_none() { proposed } else { None },
        why_none: w.why,
        steps: w.steps,
        findings,
    }
}

/// The worksheet being written: its steps in words, the first reason there can be no
/// proposal, and the conversion used.
struct Work<'a> {
    i: &'a WorksheetInput<'a>,
    steps: Vec<String>,
    why: Option<String>,
    conversion: Option<ConversionUsed>,
}

impl Work<'_> {
    fn rate(&self, r: AmountRate) -> String {
        r.per_day_in(self.i.unit).to_string()
    }

    fn no(&mut self, text: String) {
        set_why(&mut self.why, text);
    }

    /// The response, and the effective dose with its basis.
    fn response_and_basis(&mut self) {
        let i = self.i;
        match &i.response {
            Err(e) => self.no(tr!("The response could not be judged: {e}.", e)),
            Ok(false) => self.no(tr!(
                "The trial was not a response ({criterion}): no starting dose is proposed.",
                criterion = i.criterion
            )),
            Ok(true) => {}
        }
        match (&i.effective.basis, i.effective.per_day) {
            (Some(Basis::Bolus(k)), Some(d)) => {
                if let Some(e) = i.effects.get(*k) {
                    let step = tr!(
                        "Effective trial dose: the bolus of {dose} at {at} after the start, the smallest that met the response criterion; as a dose per day, {per_day}.",
                        dose = e.bolus.delivered.in_unit(i.unit),
                        at = hours_text(Duration::from_ms(e.bolus.at.ms())),
                        per_day = self.rate(d)
                    );
                    self.steps.push(step);
                }
            }
            (Some(Basis::StablePeriod(s)), Some(d)) => {
                let step = tr!(
                    "Effective trial dose: {per_day}, the dose in the last stable period ({length} at one rate to the end of the trial): a basal of {basal} plus patient boluses of {patient}.",
                    per_day = self.rate(d),
                    length = hours_text(s.length()),
                    basal = self.rate(s.rate),
                    patient = self.rate(s.patient_per_day())
                );
                self.steps.push(step);
            }
            _ => self.no(tr!(
                "There is no effective trial dose: {why}.",
                why = i
                    .effective
                    .why_none
                    .as_deref()
                    .unwrap_or(tr!("none was found"))
            )),
        }
    }

    /// The drug's rule applied to the effective dose: the dose per day it gives, if any.
    fn apply(&mut self, applied: Option<&AppliedRule>) -> Option<AmountRate> {
        let i = self.i;
        let Some(a) = applied else {
            let drug = i.drug;
            self.no(match i.kind {
                TrialKind::SingleBolus => tr!(
                    "The site protocol has no rule for {drug} after a single bolus trial: the clinician enters the starting dose.",
                    drug
                ),
                TrialKind::MultipleBolus => tr!(
                    "The site protocol has no rule for {drug} after a multiple bolus trial: the clinician enters the starting dose.",
                    drug
                ),
                TrialKind::Continuous => tr!(
                    "The site protocol has no rule for {drug} after a continuous trial: the clinician enters the starting dose.",
                    drug
                ),
            });
            return i.effective.per_day;
        };
        match a.rule {
            Rule::Clinician => {
                self.no(tr!(
                    "The protocol's rule for {drug}: the clinician enters the starting dose ({source}).",
                    drug = i.drug,
                    source = a.source
                ));
                i.effective.per_day
            }
            Rule::Fixed(d) => {
                let step = tr!(
                    "Rule: {rule} ({source}): {dose}.",
                    rule = a.rule.describe(i.unit),
                    source = a.source,
                    dose = self.rate(d)
                );
                self.steps.push(step);
                Some(d)
            }
            Rule::Percent(p) => {
                let d = self.converted()?;
                if self.why.is_some() {
                    return Some(d);
                }
                let out = u64::try_from(u128::from(d.ng_per_day()) * u128::from(p) / 100).map_or(
                    AmountRate::from_ng_per_day(u64::MAX),
                    AmountRate::from_ng_per_day,
                );
                let step = tr!(
                    "Rule: {rule} ({source}): {dose} × {p} % = {result}.",
                    rule = a.rule.describe(i.unit),
                    source = a.source,
                    dose = self.rate(d),
                    p,
                    result = self.rate(out)
                );
                self.steps.push(step);
                Some(out)
            }
            Rule::EffectDuration {
                longer_than,
                times_if_longer,
                times_otherwise,
            } => {
                let d = self.converted()?;
                if self.why.is_some() {
                    return Some(d);
                }
                self.by_effect(a, d, longer_than, (times_if_longer, times_otherwise))
            }
        }
    }

    /// The effective dose by the implant's route: converted when the trial's route differs
    /// (none, and why, when the protocol has no conversion for the drug).
    fn converted(&mut self) -> Option<AmountRate> {
        let i = self.i;
        let route = i.protocol.route;
        if i.trial_route == route {
            return i.effective.per_day;
        }
        let Some(c) = i.protocol.conversion(i.drug, i.trial_route) else {
            self.no(tr!(
                "The site protocol has no conversion of {drug} from {from} to {to}: the clinician enters the starting dose.",
                drug = i.drug,
                from = i.trial_route.words(),
                to = route.words()
            ));
            return i.effective.per_day;
        };
        self.conversion = Some(ConversionUsed {
            from: c.from,
            to: c.to,
            ratio: c.ratio,
            source: c.source.clone(),
        });
        let d = i.effective.per_day?;
        let converted = AmountRate::from_ng_per_day(d.ng_per_day() / u64::from(c.ratio));
        let step = capital(&tr!(
            "{from} to {to}: {dose} ÷ {ratio} = {converted} ({source}).",
            from = c.from.words(),
            to = c.to.words(),
            dose = self.rate(d),
            ratio = c.ratio,
            converted = self.rate(converted),
            source = c.source
        ));
        self.steps.push(step);
        Some(converted)
    }

    /// The baclofen label's rule: the screening bolus per day times one factor when its effect
    /// lasted more than the threshold, another when not; none when the scores cannot tell.
    fn by_effect(
        &mut self,
        a: &AppliedRule,
        d: AmountRate,
        longer_than: Duration,
        (times_if_longer, times_otherwise): (u32, u32),
    ) -> Option<AmountRate> {
        let i = self.i;
        let effect = match i.effective.basis {
            Some(Basis::Bolus(k)) => i.effects.get(k).map(|e| e.duration),
            _ => None,
        };
        let Some(e) = effect else {
            self.no(tr!(
                "The rule ({source}) applies to a screening bolus; this trial's effective dose is not one.",
                source = a.source
            ));
            return None;
        };
        let Some(is_longer) = longer(e, longer_than) else {
            self.no(tr!(
                "The rule ({source}) needs to know whether the effect lasted more than {longer_than}; the scores say {effect}: record scores until the effect wears off, or past {longer_than}.",
                source = a.source,
                longer_than = hours_text(longer_than),
                effect = e.describe()
            ));
            return None;
        };
        let n = if is_longer {
            times_if_longer
        } else {
            times_otherwise
        };
        let out = AmountRate::from_ng_per_day(d.ng_per_day().saturating_mul(u64::from(n)));
        let (rule, source, effect) = (a.rule.describe(i.unit), &a.source, e.describe());
        let (threshold, dose, result) = (hours_text(longer_than), self.rate(d), self.rate(out));
        let step = if is_longer {
            tr!(
                "Rule: {rule} ({source}): the effect lasted {effect}, more than {threshold}, so {dose} × {n} = {result}.",
                rule,
                source,
                effect,
                threshold,
                dose,
                n,
                result
            )
        } else {
            tr!(
                "Rule: {rule} ({source}): the effect lasted {effect}, not more than {threshold}, so {dose} × {n} = {result}.",
                rule,
                source,
                effect,
                threshold,
                dose,
                n,
                result
            )
        };
        self.steps.push(step);
        Some(out)
    }

    /// The rule's dose against the implant route's limits: a proposal with its findings, or
    /// none and why (a hard limit, or above the top of the starting range).
    fn within_limits(&mut self, dose: Option<AmountRate>) -> (Option<AmountRate>, Vec<Finding>) {
        let i = self.i;
        let Some(d) = dose.filter(|_| self.why.is_none()) else {
            return (None, Vec::new());
        };
        let entry = match &i.implant_entry {
            Err(e) => {
                self.no(tr!("The implant's limits cannot be checked: {e}.", e));
                return (None, Vec::new());
            }
            Ok(entry) => *entry,
        };
        let v = check_dose(entry, i.opioid_status, d);
        if d.is_zero() {
            self.no(tr!("The rule gives nothing (0 per day).").to_owned());
        } else if let Some(f) = v.findings.iter().find(|f| f.class == Class::Hard) {
            self.no(tr!(
                "The rule gives {dose}, which the implant's limits refuse: {why} ({source}): the clinician enters the starting dose.",
                dose = self.rate(d),
                why = f.message,
                source = f.source.as_deref().unwrap_or(tr!("drug library"))
            ));
        } else if let Some((c, what)) = ceiling(entry, i.opioid_status).filter(|(c, _)| d > *c) {
            self.no(tr!(
                "The rule gives {dose}, above the {what} of {max} ({source}): the clinician enters the starting dose.",
                dose = self.rate(d),
                what,
                max = self.rate(c),
                source = entry.source
            ));
        } else {
            return (Some(d), v.findings);
        }
        (None, Vec::new())
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
    v.push(entry.basal_per_day.check(
        "implant.dose",
        tr!("The implant's starting dose"),
        dose,
        show,
    ));
    let (range, whose) = entry.start_range(status);
    if *range != Guardrail::default() {
        let what = if whose.is_empty() {
            tr!("The implant's starting dose (against the starting range)").to_owned()
        } else {
            tr!(
                "The implant's starting dose (against the starting range {whose})",
                whose
            )
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
            .map(|m| (m, tr!("hard maximum per day").to_owned())),
        range
            .soft_max
            .map(|m| (m, with(tr!("top of the usual starting range")))),
        range
            .hard_max
            .map(|m| (m, with(tr!("hard maximum of the starting range")))),
    ]
    .into_iter()
    .flatten()
    .min_by_key(|(m, _)| *m)
}

/// Why a starting dose was not confirmed (for the clinician: in the language in use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmError {
    NotEnded,
    NoProposal(String),
    NeedsReason(String),
    Refused(Box<Finding>),
    NoLimits(String),
    ReasonTooLong { len: usize },
}

impl fmt::Display for ConfirmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&match self {
            ConfirmError::NotEnded => tr!(
                "the trial has not ended: the implant's starting dose is confirmed after the trial ends"
            )
            .to_owned(),
            ConfirmError::NoProposal(why) => tr!(
                "there is no proposal ({why}); enter a dose per day with a written reason",
                why
            ),
            ConfirmError::NeedsReason(why) => tr!("reason: {why}", why),
            ConfirmError::Refused(finding) => tr!(
                "{field}: {value} is refused: {why} (limit: {limit}; source: {source})",
                field = finding.field,
                value = finding.value,
                why = finding.message,
                limit = finding.limit,
                source = finding.source.as_deref().unwrap_or(tr!("drug library"))
            ),
            ConfirmError::NoLimits(why) => {
                tr!("the implant's limits cannot be checked: {why}", why)
            }
            ConfirmError::ReasonTooLong { len } => tr!(
                "reason: {len} characters is more than {max}",
                len,
                max = MAX_REASON
            ),
        })
    }
}

impl std::error::Error for ConfirmError {}

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
                ws.why_none
                    .clone()
                    .unwrap_or_else(|| tr!("none was made").to_owned()),
            ));
        }
    };
    let entry = entry.map_err(ConfirmError::NoLimits)?;
    let v = check_dose(entry, status, per_day);
    if let Some(f) = v.findings.iter().find(|f| f.class == Class::Hard) {
        return Err(ConfirmError::Refused(Box::new(f.clone())));
    }
    let unit = entry.unit;
    if reason.is_empty() {
        if ws.proposed != Some(per_day) {
            return Err(ConfirmError::NeedsReason(match ws.proposed {
                None => tr!(
                    "{dose} is entered without a proposal; write why",
                    dose = per_day.per_day_in(unit)
                ),
                Some(p) => tr!(
                    "{dose} is not the proposal of {proposal}; write why",
                    dose = per_day.per_day_in(unit),
                    proposal = p.per_day_in(unit)
                ),
            }));
        }
        if let Some(f) = v.findings.iter().find(|f| f.class == Class::Soft) {
            return Err(ConfirmError::NeedsReason(tr!(
                "{why} ({source}); write why it is right for this patient",
                why = f.message,
                source = f.source.as_deref().unwrap_or(tr!("drug library"))
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
