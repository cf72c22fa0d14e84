//! The summary's dose sections: the response to the trial, the effective trial dose by trial
//! kind, systemic opioids, and the implant worksheet by the protocol's drug-specific rules
//! (`core::implant` does the arithmetic; this reads the journal for it and writes the result
//! for people and for other tools).

use serde::Serialize;

use crate::core::diary::OutcomeMeasure;
use crate::core::dose::Source;
use crate::core::finding::Finding;
use crate::core::implant::{
    self, Basis, BolusEffect, BolusGiven, ConversionUsed, EffectDuration, Effective, Judge, Method,
    Piece, RateFrom, Score, Worksheet,
};
use crate::core::library::{DrugLibrary, LibraryEntry, Route};
use crate::core::program::TrialKind;
use crate::core::tr;
use crate::core::units::{Amount, AmountRate, Concentration, Duration, MassUnit, Timestamp};
use crate::journal::Record;

use super::{Inputs, hours, round6};

/// What counts as a response, and whether the trial was one.
#[derive(Debug, Clone, Serialize)]
pub struct ResponseInfo {
    /// "pain" or "spasticity".
    pub measure: OutcomeMeasure,
    /// The criterion in words.
    pub criterion: String,
    pub pain_reduction_percent: u32,
    pub ashworth_fall: f64,
    pub source: String,
    /// Whether the trial met it; None when it could not be judged (`why_unjudged`).
    pub responder: Option<bool>,
    pub why_unjudged: Option<String>,
}

/// One bolus of a bolus trial and what it did.
#[derive(Debug, Clone, Serialize)]
pub struct BolusEntry {
    pub at_h: f64,
    /// "scheduled" or "clinician".
    pub by: &'static str,
    pub requested_mg: f64,
    pub dose_mg: f64,
    pub complete: bool,
    pub responded: bool,
    /// Hours after the bolus: the first response, the best score, and the duration of effect
    /// (until the score was no longer a response; None when it still was at the last score).
    pub onset_h: Option<f64>,
    pub peak_h: Option<f64>,
    pub peak_score: Option<f64>,
    pub duration_h: Option<f64>,
    /// The last score that was still a response, hours after the bolus.
    pub last_response_h: Option<f64>,
    /// The duration in words ("8 h (a response at 6 h, no longer at 8 h)").
    pub effect: String,
    /// The scores judged for it: (hours after the bolus, score).
    pub scores: Vec<(f64, f64)>,
}

/// The last stable period of a continuous trial.
#[derive(Debug, Clone, Serialize)]
pub struct StableInfo {
    pub from_h: f64,
    pub to_h: f64,
    pub hours: f64,
    pub basal_mg_per_day: f64,
    /// The dose per day in it: the basal plus the patient boluses per day.
    pub mg_per_day: f64,
    pub patient_bolus_mg_per_day: f64,
    /// Everything the log shows given in it, per day (interruptions lower it, clinician
    /// boluses raise it): for information.
    pub given_mg_per_day: f64,
    /// Whether it reaches the end of the trial (only then is it the basis).
    pub reaches_end: bool,
}

/// The effective trial dose and what it is read from. `mg_per_day` (mg even for mcg drugs;
/// null when there is none) is the contract other tools read.
#[derive(Debug, Clone, Serialize)]
pub struct EffectiveDose {
    pub mg_per_day: Option<f64>,
    /// The stretch the basis covers (the bolus's, the stable period's), hours from the start;
    /// without a basis, the last 24 h.
    pub from_h: f64,
    pub to_h: f64,
    /// What was delivered in that stretch (all sources).
    pub delivered_mg: f64,
    /// "bolus", "stable_period" or "none".
    pub basis: &'static str,
    /// The basis in words.
    pub basis_text: String,
    /// Why there is no effective dose.
    pub why_none: Option<String>,
    /// Bolus trials: each bolus, and which one is the basis.
    pub boluses: Vec<BolusEntry>,
    pub bolus_index: Option<usize>,
    /// Continuous trials: the basal per day in force at the end, the last stable period, and
    /// patient-bolus use per trial day.
    pub in_force_at_end_mg_per_day: Option<f64>,
    pub stable_period: Option<StableInfo>,
    pub patient_bolus_mg_per_day: Vec<f64>,
    /// The dose over the last 24 h (or the whole trial if shorter) scaled to a day: shown for
    /// information only, never a basis.
    pub last_24h_mg_per_day: f64,
    pub stable_period_required_h: f64,
}

/// Systemic opioids: before the trial and each day of it (oral morphine equivalents).
#[derive(Debug, Clone, Serialize)]
pub struct Opioids {
    /// "naive", "tolerant" or null when not recorded.
    pub status: Option<&'static str>,
    pub status_text: String,
    pub before_mg_per_day: Option<f64>,
    /// Per trial day, the last figure recorded that day (None: none recorded).
    pub per_day_mg: Vec<Option<f64>>,
    pub recorded: Vec<OpioidEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OpioidEntry {
    pub at_h: f64,
    pub mg_per_day: f64,
    pub by: String,
}

/// The conversion used, with its words.
#[derive(Debug, Clone, Serialize)]
pub struct ConversionInfo {
    #[serde(flatten)]
    pub used: ConversionUsed,
    pub text: String,
}

/// The implant's programming values: the rule and each step of it, the proposal (or why there
/// is none), and the dose a clinician confirmed after the trial ended.
#[derive(Debug, Clone, Serialize)]
pub struct ImplantWorksheet {
    /// The rule in words; None when the protocol has none for this drug and trial kind.
    pub rule: Option<String>,
    pub method: Option<Method>,
    pub rule_source: Option<String>,
    /// What the rule gives (mg per day even for mcg drugs); None when there is no proposal.
    pub proposed_mg_per_day: Option<f64>,
    /// Why there is no proposal.
    pub no_proposal_reason: Option<String>,
    /// Each step, in words, with its source.
    pub steps: Vec<String>,
    /// The proposal against the implant route's limits (soft ones need a written reason).
    pub findings: Vec<Finding>,
    /// The implant's route, the trial's, and the conversion used between them.
    pub route: Route,
    pub trial_route: Route,
    pub conversion: Option<ConversionInfo>,
    /// Whether the trial has ended (only then can the dose be confirmed).
    pub trial_ended: bool,
    pub confirmed: bool,
    pub confirmed_by: Option<String>,
    pub confirmed_at_h: Option<f64>,
    /// The clinician's written reason (a dose other than the proposal, or outside the usual
    /// range), and the findings it was confirmed over.
    pub reason: Option<String>,
    pub confirmed_findings: Vec<Finding>,
    pub drug: String,
    pub concentration_mg_per_ml: f64,
    /// The confirmed starting dose (or the proposal, unconfirmed).
    pub mg_per_day: Option<f64>,
    pub ml_per_day: Option<f64>,
    /// The worksheet in exact units, for the confirmation's checks.
    #[serde(skip)]
    pub worksheet: Worksheet,
}

/// The confirmed plan as the journal records it.
struct Plan {
    at: Timestamp,
    per_day: AmountRate,
    concentration: Concentration,
    name: String,
    reason: Option<String>,
    findings: Vec<Finding>,
}

pub(crate) struct DoseSections {
    pub response: ResponseInfo,
    pub effective: EffectiveDose,
    pub rule_text: String,
    pub opioids: Opioids,
    pub implant: ImplantWorksheet,
}

fn mg(a: Amount) -> f64 {
    a.as_mg_f64()
}

fn mg_day(r: AmountRate) -> f64 {
    r.per_day().as_mg_f64()
}

fn h_of(d: Duration) -> f64 {
    (d.as_hours_f64() * 1e4).round() / 1e4
}

/// The implant route's library entry for the drug: at the implant's fill concentration if the
/// library lists it, else the first listed (the limits are the same for every concentration of
/// one drug and route).
pub fn implant_entry<'a>(
    library: &'a DrugLibrary,
    drug: &str,
    route: Route,
    fill: Concentration,
) -> Result<&'a LibraryEntry, String> {
    library.find(drug, route, fill).or_else(|e| match e {
        crate::core::library::LookupError::UnlistedConcentration { .. } => library
            .entries
            .iter()
            .find(|x| x.drug.eq_ignore_ascii_case(drug) && x.route == route)
            .ok_or_else(|| e.to_string()),
        other => Err(other.to_string()),
    })
}

/// What the dose sections read from the journal: the screening boluses, the scores of the
/// outcome measure, the basal rates in force, every piece delivered, the confirmed plan and the
/// systemic opioids recorded.
struct Course {
    boluses: Vec<(BolusGiven, Source)>,
    scores: Vec<Score>,
    rates: Vec<RateFrom>,
    pieces: Vec<Piece>,
    plan: Option<Plan>,
    opioids: Vec<(Timestamp, AmountRate, String)>,
}

/// A bolus the log started: when, its source, what was asked and what pieces have given.
type OpenBolus = (Timestamp, Source, Amount, Amount);

fn closed(o: OpenBolus, complete: bool, delivered: Amount) -> (BolusGiven, Source) {
    (
        BolusGiven {
            at: o.0,
            requested: o.2,
            delivered,
            complete,
        },
        o.1,
    )
}

impl Course {
    fn read(i: &Inputs<'_>) -> Course {
        // The KVO in force at the start: the first program change's old program's, when the
        // program was changed; the basal and the KVO are followed through the changes.
        let mut kvo = i
            .journal
            .iter()
            .find_map(|r| match r {
                Record::ProgramChanged { old_program, .. } => Some(old_program.kvo_rate()),
                _ => None,
            })
            .unwrap_or_else(|| i.program.kvo_rate());
        let mut basal: Option<AmountRate> = None;
        let mut c = Course {
            boluses: Vec::new(),
            scores: Vec::new(),
            // The engine's program holds the basal in force now: the rate at the start is the
            // first change's `old` when the basal changed.
            rates: Vec::new(),
            pieces: Vec::new(),
            plan: None,
            opioids: Vec::new(),
        };
        let mut open: Option<OpenBolus> = None;
        for r in i.journal {
            match r {
                Record::BolusStarted {
                    at,
                    source,
                    requested,
                    ..
                } if matches!(source, Source::ScheduledBolus | Source::ClinicianBolus) => {
                    if let Some(o) = open.take() {
                        c.boluses.push(closed(o, false, o.3));
                    }
                    open = Some((*at, *source, *requested, Amount::ZERO));
                }
                Record::BolusEnded {
                    source,
                    delivered,
                    complete,
                    ..
                } => {
                    if let Some(o) = open.filter(|o| o.1 == *source) {
                        c.boluses.push(closed(o, *complete, *delivered));
                        open = None;
                    }
                }
                Record::Delivery {
                    at, source, amount, ..
                }
                | Record::UncertainDelivery {
                    at, source, amount, ..
                } => {
                    if let Some(o) = open.as_mut().filter(|o| o.1 == *source) {
                        o.3 += *amount;
                    }
                    c.pieces.push(Piece {
                        at: *at,
                        amount: *amount,
                        patient: *source == Source::PatientBolus,
                    });
                }
                Record::PainScore { at, value } if i.outcome == OutcomeMeasure::Pain => {
                    c.scores.push(Score {
                        at: *at,
                        tenths: u32::from(*value) * 10,
                    });
                }
                Record::Spasticity { at, score, .. } if i.outcome == OutcomeMeasure::Spasticity => {
                    c.scores.push(Score {
                        at: *at,
                        tenths: tenths(*score),
                    });
                }
                Record::RateChanged { at, old, new, .. } => {
                    if c.rates.is_empty() {
                        c.rates.push(RateFrom {
                            at: i.started,
                            rate: *old + kvo,
                        });
                    }
                    basal = Some(*new);
                    c.rates.push(RateFrom {
                        at: *at,
                        rate: *new + kvo,
                    });
                }
                Record::ProgramChanged {
                    at,
                    old_program,
                    program,
                    ..
                } if program.kvo_rate() != kvo => {
                    // A KVO changed: the dose rate changes with it (a basal changed with it is
                    // the rate change that follows).
                    let now = basal.unwrap_or(old_program.basal);
                    if c.rates.is_empty() {
                        c.rates.push(RateFrom {
                            at: i.started,
                            rate: now + kvo,
                        });
                    }
                    kvo = program.kvo_rate();
                    basal = Some(now);
                    c.rates.push(RateFrom {
                        at: *at,
                        rate: now + kvo,
                    });
                }
                Record::SystemicOpioids {
                    at,
                    ome_per_day,
                    name,
                    ..
                } => c.opioids.push((*at, *ome_per_day, name.clone())),
                Record::ImplantPlan {
                    at,
                    per_day,
                    concentration,
                    name,
                    reason,
                    findings,
                    ..
                } => {
                    c.plan = Some(Plan {
                        at: *at,
                        per_day: *per_day,
                        concentration: *concentration,
                        name: name.clone(),
                        reason: reason.clone(),
                        findings: findings.clone(),
                    });
                }
                _ => {}
            }
        }
        if let Some(o) = open.take() {
            c.boluses.push(closed(o, false, o.3));
        }
        if c.rates.is_empty() {
            c.rates.push(RateFrom {
                at: i.started,
                rate: i.program.basal + kvo,
            });
        }
        c
    }
}

/// Whether the trial met the criterion: at any score after a bolus (bolus trials) or at the
/// last score (continuous); why not when it cannot be judged.
fn response(
    i: &Inputs<'_>,
    judge: &Judge<'_>,
    effects: &[BolusEffect],
    scores: &[Score],
) -> Result<bool, String> {
    if let Some(why) = judge.cannot() {
        return Err(why);
    }
    if i.trial.kind != TrialKind::Continuous {
        if effects.iter().all(|e| e.scores.is_empty()) {
            return Err(match i.outcome {
                OutcomeMeasure::Pain => tr!("no pain score was recorded after a bolus"),
                OutcomeMeasure::Spasticity => {
                    tr!("no spasticity score was recorded after a bolus")
                }
            }
            .to_owned());
        }
        return Ok(effects.iter().any(|e| e.responded));
    }
    match scores.iter().rfind(|s| s.at > i.started) {
        None => Err(match i.outcome {
            OutcomeMeasure::Pain => tr!("no pain score was recorded after the start"),
            OutcomeMeasure::Spasticity => tr!("no spasticity score was recorded after the start"),
        }
        .to_owned()),
        Some(s) => Ok(judge.responds(s.tenths)),
    }
}

/// Computes the dose sections: the response, the effective dose, systemic opioids and the
/// implant worksheet.
pub fn dose_sections(
    i: &Inputs<'_>,
    last_day_start: Timestamp,
    last_day: Amount,
    patient_per_day: Vec<f64>,
    days: usize,
    spasticity_baseline: Option<crate::core::diary::Ashworth>,
) -> DoseSections {
    let unit = i.unit;
    let p = i.program;
    let criterion = &i.protocol.response;
    let course = Course::read(i);
    let judge = Judge {
        measure: i.outcome,
        baseline: match i.outcome {
            OutcomeMeasure::Pain => i.trial.baseline_pain.map(|b| u32::from(b) * 10),
            OutcomeMeasure::Spasticity => spasticity_baseline.map(tenths),
        },
        criterion,
    };
    let criterion_text = criterion.describe(i.outcome);
    let given: Vec<BolusGiven> = course.boluses.iter().map(|b| b.0).collect();
    let effects: Vec<BolusEffect> = if i.trial.kind == TrialKind::Continuous {
        Vec::new()
    } else {
        implant::bolus_effects(&given, &course.scores, &judge)
    };
    let response = response(i, &judge, &effects, &course.scores);
    let rules = i.protocol.implant_rules();
    let continuous = (i.trial.kind == TrialKind::Continuous).then(|| {
        implant::continuous_dose(
            i.started,
            i.ended,
            &course.rates,
            &course.pieces,
            rules.stable_period,
        )
    });
    let effective: Effective = match &continuous {
        None => implant::effective_bolus(&effects, unit),
        Some(c) => implant::effective_continuous(c, rules.stable_period, i.ended, unit),
    };
    let fill = rules.fill(&p.drug, p.concentration);
    let ws: Worksheet = implant::worksheet(&implant::WorksheetInput {
        drug: &p.drug,
        unit,
        trial_route: i.trial.route,
        kind: i.trial.kind,
        opioid_status: i.trial.opioid_status,
        response: response.clone(),
        criterion: criterion_text.clone(),
        effective: &effective,
        effects: &effects,
        protocol: &rules,
        implant_entry: implant_entry(i.library, &p.drug, rules.route, fill),
    });
    let effective_dose = effective_section(&EffectiveParts {
        i,
        course: &course,
        effects: &effects,
        effective: &effective,
        continuous: continuous.as_ref(),
        criterion_text: &criterion_text,
        last_day_start,
        last_day,
        patient_per_day,
        stable_required: rules.stable_period,
    });
    DoseSections {
        response: ResponseInfo {
            measure: i.outcome,
            criterion: criterion_text,
            pain_reduction_percent: criterion.pain_reduction_percent,
            ashworth_fall: f64::from(criterion.ashworth_fall.tenths()) / 10.0,
            source: criterion.source.clone(),
            responder: response.as_ref().ok().copied(),
            why_unjudged: response.err(),
        },
        rule_text: effective_dose.basis_text.clone(),
        effective: effective_dose,
        opioids: opioids_section(i, &course, days),
        implant: implant_section(i, course.plan, ws, fill),
    }
}

/// What the effective-dose section is made from.
struct EffectiveParts<'a> {
    i: &'a Inputs<'a>,
    course: &'a Course,
    effects: &'a [BolusEffect],
    effective: &'a Effective,
    continuous: Option<&'a implant::ContinuousDose>,
    criterion_text: &'a str,
    last_day_start: Timestamp,
    last_day: Amount,
    patient_per_day: Vec<f64>,
    stable_required: Duration,
}

/// The effective dose with its basis in words, each bolus's effect, the continuous trial's
/// stable period, and the 24 h average for information.
fn effective_section(x: &EffectiveParts<'_>) -> EffectiveDose {
    let (i, unit) = (x.i, x.i.unit);
    let h = |t: Timestamp| hours(i.started, t);
    let span = i.ended.since(i.started).min(Duration::from_days(1));
    let last_24h = if span.is_zero() {
        0.0
    } else {
        mg(x.last_day) * Duration::from_days(1).ms() as f64 / span.ms() as f64
    };
    let (basis, basis_text, from_h, to_h, delivered) = match x.effective.basis {
        Some(Basis::Bolus(k)) => {
            let e = &x.effects[k];
            (
                "bolus",
                tr!(
                    "the smallest bolus that met the response criterion ({criterion}): {dose} at {at} h",
                    criterion = x.criterion_text,
                    dose = e.bolus.delivered.in_unit(unit),
                    at = h(e.bolus.at)
                ),
                h(e.bolus.at),
                h(e.bolus.at),
                mg(e.bolus.delivered),
            )
        }
        Some(Basis::StablePeriod(s)) => (
            "stable_period",
            tr!(
                "the dose per day in the last stable period ({length} at a basal of {basal}, from {from} h to {to} h): the basal plus the patient boluses per day",
                length = implant::hours_text(s.length()),
                basal = s.rate.per_day_in(unit),
                from = h(s.from),
                to = h(s.to)
            ),
            h(s.from),
            h(s.to),
            mg(s.delivered),
        ),
        None => (
            "none",
            tr!(
                "none: {why}",
                why = x.effective.why_none.as_deref().unwrap_or(tr!("not found"))
            ),
            h(x.last_day_start),
            h(i.ended),
            mg(x.course
                .pieces
                .iter()
                .filter(|p| p.at > x.last_day_start && p.at <= i.ended)
                .map(|p| p.amount)
                .sum()),
        ),
    };
    let bolus_trial = i.trial.kind != TrialKind::Continuous;
    EffectiveDose {
        mg_per_day: x.effective.per_day.map(|d| round6(mg_day(d))),
        from_h,
        to_h,
        delivered_mg: delivered,
        basis,
        basis_text,
        why_none: x.effective.why_none.clone(),
        boluses: x
            .effects
            .iter()
            .zip(&x.course.boluses)
            .map(|(e, (_, source))| bolus_entry(i.started, e, *source))
            .collect(),
        bolus_index: match x.effective.basis {
            Some(Basis::Bolus(k)) => Some(k),
            _ => None,
        },
        in_force_at_end_mg_per_day: x.continuous.map(|c| mg_day(c.in_force_at_end)),
        stable_period: x.continuous.and_then(|c| {
            c.stable.map(|s| StableInfo {
                from_h: h(s.from),
                to_h: h(s.to),
                hours: h_of(s.length()),
                basal_mg_per_day: mg_day(s.rate),
                mg_per_day: round6(mg_day(s.per_day())),
                patient_bolus_mg_per_day: round6(mg_day(s.patient_per_day())),
                given_mg_per_day: round6(mg_day(s.given_per_day())),
                reaches_end: c.stable_to_end,
            })
        }),
        patient_bolus_mg_per_day: if bolus_trial {
            Vec::new()
        } else {
            x.patient_per_day.clone()
        },
        last_24h_mg_per_day: round6(last_24h),
        stable_period_required_h: h_of(x.stable_required),
    }
}

/// Opioid status and systemic opioids: before the trial (the trial's figure, or one recorded
/// before the start) and the last figure recorded each trial day.
fn opioids_section(i: &Inputs<'_>, course: &Course, days: usize) -> Opioids {
    let day_of = |at: Timestamp| super::day_of(i.started, at).min(days - 1);
    let mut per_day_mg = vec![None; days];
    let mut before = i.trial.ome_before.map(mg_day);
    for (at, ome, _) in &course.opioids {
        if *at < i.started {
            before = Some(mg_day(*ome));
        } else {
            per_day_mg[day_of(*at)] = Some(mg_day(*ome));
        }
    }
    Opioids {
        status: i.trial.opioid_status.map(|s| s.as_str()),
        status_text: i.trial.opioid_status.map_or_else(
            || tr!("not recorded (the opioid-naive starting ranges apply)").to_owned(),
            |s| s.words().to_owned(),
        ),
        before_mg_per_day: before,
        per_day_mg,
        recorded: course
            .opioids
            .iter()
            .map(|(at, ome, by)| OpioidEntry {
                at_h: hours(i.started, *at),
                mg_per_day: mg_day(*ome),
                by: by.clone(),
            })
            .collect(),
    }
}

/// The worksheet for people and tools, with the clinician's confirmation if it was made after
/// the trial ended (a plan logged before the end, by a version that allowed it, is none).
fn implant_section(
    i: &Inputs<'_>,
    plan: Option<Plan>,
    ws: Worksheet,
    fill: Concentration,
) -> ImplantWorksheet {
    let unit = i.unit;
    let ended = crate::report::summary::ended_at(i.journal);
    let plan = plan.filter(|pl| ended.is_some_and(|end| pl.at >= end));
    let ml =
        |rate: AmountRate, c: Concentration| round6(c.volume_rate(rate).nl_per_day() as f64 / 1e6);
    ImplantWorksheet {
        rule: ws.rule.as_ref().map(|a| a.rule.describe(unit)),
        method: ws.rule.as_ref().map(|a| a.rule.method()),
        rule_source: ws.rule.as_ref().map(|a| a.source.clone()),
        proposed_mg_per_day: ws.proposed.map(mg_day),
        no_proposal_reason: ws.why_none.clone(),
        steps: ws.steps.clone(),
        findings: ws.findings.clone(),
        route: ws.route,
        trial_route: i.trial.route,
        conversion: ws.conversion.clone().map(|c| ConversionInfo {
            text: tr!(
                "{from} to {to}: divided by {ratio} ({source})",
                from = crate::report::words::route(&c.from.to_string()),
                to = crate::report::words::route(&c.to.to_string()),
                ratio = c.ratio,
                source = c.source
            ),
            used: c,
        }),
        trial_ended: ended.is_some(),
        confirmed: plan.is_some(),
        confirmed_by: plan.as_ref().map(|pl| pl.name.clone()),
        confirmed_at_h: plan.as_ref().map(|pl| hours(i.started, pl.at)),
        reason: plan.as_ref().and_then(|pl| pl.reason.clone()),
        confirmed_findings: plan
            .as_ref()
            .map(|pl| pl.findings.clone())
            .unwrap_or_default(),
        drug: i.program.drug.clone(),
        concentration_mg_per_ml: plan
            .as_ref()
            .map_or(fill, |pl| pl.concentration)
            .as_mg_per_ml_f64(),
        mg_per_day: plan
            .as_ref()
            .map(|pl| mg_day(pl.per_day))
            .or(ws.proposed.map(mg_day)),
        ml_per_day: match &plan {
            Some(pl) => Some(ml(pl.per_day, pl.concentration)),
            None => ws.proposed.map(|d| ml(d, fill)),
        },
        worksheet: ws,
    }
}

/// An Ashworth score in tenths of a point.
pub fn tenths(a: crate::core::diary::Ashworth) -> u32 {
    (a.value() * 10.0).round() as u32
}

fn bolus_entry(started: Timestamp, e: &BolusEffect, source: Source) -> BolusEntry {
    let after = |d: Duration| h_of(d);
    let score = |t: u32| f64::from(t) / 10.0;
    let (duration_h, last_response_h) = match e.duration {
        EffectDuration::NoResponse => (None, None),
        EffectDuration::Ended {
            last_response,
            ended,
        } => (Some(after(ended)), Some(after(last_response))),
        EffectDuration::StillPresent { last_seen } => (None, Some(after(last_seen))),
    };
    BolusEntry {
        at_h: hours(started, e.bolus.at),
        by: if source == Source::ClinicianBolus {
            "clinician"
        } else {
            "scheduled"
        },
        requested_mg: mg(e.bolus.requested),
        dose_mg: mg(e.bolus.delivered),
        complete: e.bolus.complete,
        responded: e.responded,
        onset_h: e.onset.map(after),
        peak_h: e.peak.map(|(d, _)| after(d)),
        peak_score: e.peak.map(|(_, t)| score(t)),
        duration_h,
        last_response_h,
        effect: e.duration.describe(),
        scores: e
            .scores
            .iter()
            .map(|s| (after(s.at.since(e.bolus.at)), score(s.tenths)))
            .collect(),
    }
}

/// The worksheet's unit for messages.
pub fn unit_of(library: &DrugLibrary, drug: &str) -> MassUnit {
    library
        .entries
        .iter()
        .find(|e| e.drug.eq_ignore_ascii_case(drug))
        .map_or(MassUnit::Mg, |e| e.unit)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::core::dose::Source;
    use crate::core::supervisor::State;
    use crate::core::units::{Amount, Duration, MassUnit, Timestamp};
    use crate::input::scenario::Scenario;
    use crate::journal::Record;
    use crate::report::summary::{Inputs, summarise};

    const SINGLE_SHOT: &str = r#"
[trial]
patient = "P"
route = "intrathecal"
kind = "multiple_bolus"
duration = "3d"
baseline_pain = 8
[program]
drug = "morphine"
concentration = "1 mg/mL"
reservoir = "5 mL"
boluses = [ { at = "0h", dose = "0.1 mg" }, { at = "24h", dose = "0.2 mg" } ]
observe = "24h"
"#;

    fn at(mins: u64) -> Timestamp {
        Timestamp::ORIGIN + Duration::from_mins(mins)
    }

    /// The summary's effective dose, proposal and bolus effects for a journal of two boluses
    /// and `scores`, ended at `end`.
    fn figures(scores: &[(u64, u8)], end: Timestamp) -> String {
        let sc = Scenario::from_toml_str(SINGLE_SHOT, "t").unwrap();
        let (library, _) = crate::input::check::load_library(None).unwrap();
        let protocol = crate::input::protocol::Protocol::built_in().unwrap();
        let mut journal = vec![Record::StateChanged {
            at: at(0),
            from: State::Verified,
            to: State::Running,
        }];
        for (start, dose) in [(0u64, 100_000u64), (24 * 60, 200_000)] {
            let a = Amount::from_ng(dose);
            journal.push(Record::BolusStarted {
                at: at(start),
                source: Source::ScheduledBolus,
                requested: a,
                steps: 1,
            });
            journal.push(Record::BolusEnded {
                at: at(start + 10),
                source: Source::ScheduledBolus,
                requested: a,
                delivered: a,
                complete: true,
            });
        }
        journal.extend(
            scores
                .iter()
                .map(|&(m, value)| Record::PainScore { at: at(m), value }),
        );
        journal.sort_by_key(Record::at);
        journal.push(Record::StateChanged {
            at: end,
            from: State::Running,
            to: State::Ended,
        });
        let s = summarise(&Inputs {
            trial: &sc.trial,
            program: &sc.program,
            journal: &journal,
            started: at(0),
            ended: end,
            steps_per_ml: 14_400,
            loaded_ml: 5.0,
            remaining_ml: 4.7,
            simulated: true,
            started_wall: None,
            protocol: &protocol,
            library: &library,
            unit: MassUnit::Mg,
            outcome: Default::default(),
        });
        serde_json::to_string(&(
            s.effective_dose_mg_per_day,
            &s.effective_dose.boluses,
            s.effective_dose.bolus_index,
            s.implant.proposed_mg_per_day,
            &s.implant.no_proposal_reason,
            &s.implant.steps,
        ))
        .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// A bolus trial's effective dose, bolus effects and proposal do not depend on how long
        /// the patient was observed after the last score.
        #[test]
        fn a_bolus_trials_proposal_is_invariant_under_the_observation_length(
            scores in proptest::collection::vec((1u64..(48 * 60), 0u8..=10), 0..10),
            extra_a in 0u64..(48 * 60),
            extra_b in 0u64..(14 * 24 * 60),
        ) {
            let last = scores.iter().map(|s| s.0).max().unwrap_or(0).max(24 * 60 + 10);
            let a = figures(&scores, at(last + extra_a));
            let b = figures(&scores, at(last + extra_b));
            prop_assert_eq!(a, b);
        }
    }
}
