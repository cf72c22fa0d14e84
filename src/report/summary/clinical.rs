//! What was recorded about the patient: pain and the diary, spasticity, side effects,
//! sedation and breathing with the interlock's holds, and the catheter and its site.

use super::*;
use crate::core::tr;

/// Spasticity on the Modified Ashworth Scale (1+ counted as 1.5). The baseline is the first
/// score recorded before delivery started (or the first of the trial when none was).
#[derive(Debug, Clone, Serialize)]
pub struct Spasticity {
    pub baseline: Option<Ashworth>,
    #[serde(rename = "final")]
    pub last: Option<Ashworth>,
    pub lowest: Option<Ashworth>,
    /// The fall from the baseline to the final (continuous) or lowest (bolus) score.
    pub reduction: Option<f64>,
    /// The response criterion met, by `responder_rule`; None unless spasticity is the outcome
    /// measure and the response could be judged.
    pub responder: Option<bool>,
    pub responder_rule: String,
    pub scores: Vec<SpasticityScore>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SpasticityScore {
    pub at_h: f64,
    pub score: Ashworth,
    pub muscles: String,
    pub by: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Diary {
    pub function: Vec<FunctionEntry>,
    /// When the patient left the function question for now ("Not now"), hours from the start.
    pub function_skipped_h: Vec<f64>,
    /// The patient's global impression of change (1 very much improved … 7 very much worse).
    pub pgic: Option<u8>,
    pub pgic_label: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FunctionEntry {
    pub at_h: f64,
    pub question: String,
    pub answer: String,
    /// 1 = the first (least function) of the protocol's answers.
    pub level: u8,
}

#[derive(Debug, Clone, Serialize)]
pub struct CatheterInfo {
    /// The catheter's type, as the nurse entered it.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The vertebral level of its tip.
    pub tip: Option<String>,
    /// When it was placed, hours before the start of delivery.
    pub placed_h_before_start: Option<f64>,
    /// The interval of site checks in hours; None when none were scheduled.
    pub site_check_every_h: Option<f64>,
    /// The fever threshold the checks used, °C.
    pub fever_c: f64,
    pub site_checks: Vec<SiteCheckEntry>,
    /// Site checks not recorded in time (each a LOW alarm).
    pub missed_site_checks: u32,
    /// Times fever or a site finding raised "possible infection".
    pub possible_infection_alarms: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct SiteCheckEntry {
    pub at_h: f64,
    pub temp_c: f64,
    /// Empty when the site was clean.
    pub findings: Vec<crate::core::site::SiteFinding>,
    pub by: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Observations {
    /// The program's schedule of checks, in words; None when it has none.
    pub schedule: Option<String>,
    pub sedation: Vec<SedationEntry>,
    pub vitals: Vec<VitalsEntry>,
    /// Scheduled checks not recorded in time, and how many of them escalated (the next one
    /// missed too).
    pub missed_checks: u32,
    pub escalated_checks: u32,
    pub holds: Vec<SedationHold>,
}

impl Observations {
    /// The highest sedation score (POSS) recorded, and the lowest respiratory rate ("8/min"),
    /// each `none` when there is none: what the PDF and the text summary both print.
    pub fn extremes(&self, none: &str) -> (String, String) {
        let poss = self.sedation.iter().map(|x| x.poss).max();
        let rate = self.vitals.iter().filter_map(|x| x.resp_rate).min();
        (
            poss.map_or_else(|| none.to_owned(), |v| v.to_string()),
            rate.map_or_else(|| none.to_owned(), |v| format!("{v}/min")),
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SedationEntry {
    pub at_h: f64,
    /// POSS 1–4.
    pub poss: u8,
}

#[derive(Debug, Clone, Serialize)]
pub struct VitalsEntry {
    pub at_h: f64,
    pub resp_rate: Option<u16>,
    pub heart_rate: Option<u16>,
    pub spo2: Option<u8>,
    pub temp_c: Option<f64>,
}

/// A time the sedation interlock stopped delivery.
#[derive(Debug, Clone, Serialize)]
pub struct SedationHold {
    pub at_h: f64,
    /// What was recorded: "POSS 3" or "respiratory rate 9/min".
    pub reason: String,
    /// Patient requests refused because of it.
    pub patient_requests_denied: u32,
    /// The clinician's review that lifted it; None while it stands.
    pub reviewed_at_h: Option<f64>,
    pub reviewed_by: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Pain {
    pub baseline: Option<u8>,
    #[serde(rename = "final")]
    pub last: Option<u8>,
    pub reduction_pct: Option<f64>,
    /// The lowest score of the trial, and its reduction from baseline (the peak effect of a
    /// screening bolus).
    pub lowest: Option<u8>,
    pub reduction_lowest_pct: Option<f64>,
    /// The response criterion met, by [`Pain::responder_rule`]; None unless pain is the
    /// outcome measure and the response could be judged.
    pub responder: Option<bool>,
    pub responder_rule: String,
    pub scores: Vec<PainScore>,
}

/// When the criterion is judged, by trial kind.
pub(super) fn judged_when(continuous: bool) -> &'static str {
    if continuous {
        tr!("at the last score of the trial")
    } else {
        tr!("at any score after a bolus and before the next (its peak effect)")
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PainScore {
    pub at_h: f64,
    pub value: u8,
}

#[derive(Debug, Clone, Serialize)]
pub struct SideEffectEntry {
    pub effect: SideEffect,
    pub severity: Severity,
    pub at_h: f64,
}

/// Spasticity from its scores: the baseline is the last score before delivery started (else
/// the first), the result the last (continuous) or lowest after the start (bolus).
pub(super) fn spasticity_of(
    scores: &[(Timestamp, SpasticityScore)],
    started: Timestamp,
    continuous: bool,
) -> Spasticity {
    let before = scores.iter().rev().find(|(at, _)| *at <= started);
    let baseline = before.or(scores.first()).map(|(_, s)| s.score);
    let after: Vec<Ashworth> = scores
        .iter()
        .filter(|(at, _)| *at > started)
        .map(|(_, s)| s.score)
        .collect();
    let last = after.last().copied();
    let lowest = after.iter().min().copied();
    let judged = if continuous { last } else { lowest };
    let reduction = baseline
        .zip(judged)
        .map(|(b, j)| ((b.value() - j.value()) * 10.0).round() / 10.0);
    Spasticity {
        baseline,
        last,
        lowest,
        reduction,
        responder: None,
        responder_rule: String::new(),
        scores: scores.iter().map(|(_, s)| s.clone()).collect(),
    }
}

/// Pain: the baseline, the last and lowest scores with their reductions, and the response by
/// the protocol's criterion (`responder`, None unless pain is the outcome measure).
pub(super) fn pain(i: &Inputs<'_>, span: &Span, responder: Option<bool>, rule: String) -> Pain {
    let scores: Vec<PainScore> = i
        .journal
        .iter()
        .filter_map(|r| match r {
            Record::PainScore { at, value } => Some(PainScore {
                at_h: span.h(*at),
                value: *value,
            }),
            _ => None,
        })
        .collect();
    let baseline = i.trial.baseline_pain;
    let reduction = |to: Option<u8>| match (baseline, to) {
        (Some(b), Some(f)) if b > 0 => {
            Some(((f64::from(b) - f64::from(f)) / f64::from(b) * 1000.0).round() / 10.0)
        }
        _ => None,
    };
    let last = scores.last().map(|s| s.value);
    let lowest = scores.iter().map(|s| s.value).min();
    Pain {
        baseline,
        last,
        reduction_pct: reduction(last),
        lowest,
        reduction_lowest_pct: reduction(lowest),
        responder,
        responder_rule: rule,
        scores,
    }
}

/// Every side effect, as reported.
pub(super) fn side_effects(i: &Inputs<'_>, span: &Span) -> Vec<SideEffectEntry> {
    i.journal
        .iter()
        .filter_map(|r| match r {
            Record::SideEffect {
                at,
                effect,
                severity,
            } => Some(SideEffectEntry {
                effect: *effect,
                severity: *severity,
                at_h: span.h(*at),
            }),
            _ => None,
        })
        .collect()
}

/// Sedation and breathing: every score and set of vital signs, the checks missed and
/// escalated, and each hold of the sedation interlock with what raised it, the patient requests
/// it refused and the clinician's review.
pub(super) fn observations(i: &Inputs<'_>, span: &Span) -> Observations {
    let mut o = Observations {
        schedule: i
            .library
            .find(&i.program.drug, i.trial.route, i.program.concentration)
            .ok()
            .and_then(|e| i.program.checks(e))
            .map(|o| o.to_string()),
        sedation: Vec::new(),
        vitals: Vec::new(),
        missed_checks: 0,
        escalated_checks: 0,
        holds: Vec::new(),
    };
    // The last sedation score or respiratory rate recorded: what a sedation alarm was raised for.
    let mut last_observed = String::new();
    for r in i.journal {
        match r {
            Record::Sedation { at, poss } => {
                last_observed = format!("POSS {poss}");
                o.sedation.push(SedationEntry {
                    at_h: span.h(*at),
                    poss: *poss,
                });
            }
            Record::Vitals {
                at,
                respiratory_rate,
                heart_rate,
                spo2,
                temperature,
            } => {
                if let Some(r) = respiratory_rate {
                    last_observed = tr!("respiratory rate {rate}/min", rate = r);
                }
                o.vitals.push(VitalsEntry {
                    at_h: span.h(*at),
                    resp_rate: *respiratory_rate,
                    heart_rate: *heart_rate,
                    spo2: *spo2,
                    temp_c: temperature.map(|t| t.as_celsius_f64()),
                });
            }
            Record::AlarmRaised {
                at, kind, priority, ..
            } if *kind == AlarmKind::Sedation && *priority != Priority::Info => {
                o.holds.push(SedationHold {
                    at_h: span.h(*at),
                    reason: last_observed.clone(),
                    patient_requests_denied: 0,
                    reviewed_at_h: None,
                    reviewed_by: None,
                    note: None,
                });
            }
            Record::AlarmRaised { kind, priority, .. }
                if *kind == AlarmKind::ObservationMissed && *priority != Priority::Info =>
            {
                o.missed_checks += 1;
            }
            Record::AlarmEscalated { kind, .. } if *kind == AlarmKind::ObservationMissed => {
                o.escalated_checks += 1;
            }
            Record::PcaRequest {
                granted: false,
                denial: Some(Denial::SedationHold),
                presses,
                ..
            } => {
                if let Some(hold) = o.holds.last_mut() {
                    hold.patient_requests_denied += presses;
                }
            }
            Record::SedationReviewed { at, note, name } => {
                if let Some(hold) = o.holds.last_mut().filter(|x| x.reviewed_at_h.is_none()) {
                    hold.reviewed_at_h = Some(span.h(*at));
                    hold.reviewed_by = Some(name.clone());
                    hold.note = Some(note.clone());
                }
            }
            _ => {}
        }
    }
    o
}

/// The catheter and its site: type, tip and placement, the site-check rule in force, every
/// check, the checks missed and the possible-infection alarms.
pub(super) fn catheter(i: &Inputs<'_>, span: &Span) -> CatheterInfo {
    let mut site_rule = None;
    let mut site_checks = Vec::new();
    let (mut missed, mut infections) = (0u32, 0u32);
    for r in i.journal {
        match r {
            Record::SiteChecksRequired { rule, .. } => site_rule = Some(*rule),
            Record::SiteCheck {
                at,
                temperature,
                findings,
                name,
                ..
            } => site_checks.push(SiteCheckEntry {
                at_h: span.h(*at),
                temp_c: temperature.as_celsius_f64(),
                findings: findings.clone(),
                by: name.clone(),
            }),
            Record::AlarmRaised { kind, priority, .. } if *priority != Priority::Info => match kind
            {
                AlarmKind::SiteCheckMissed => missed += 1,
                AlarmKind::PossibleInfection => infections += 1,
                _ => {}
            },
            _ => {}
        }
    }
    CatheterInfo {
        kind: i.trial.catheter.clone(),
        tip: i.trial.catheter_tip.clone(),
        placed_h_before_start: i
            .trial
            .catheter_placed_before
            .map(|d| (d.as_hours_f64() * 1e4).round() / 1e4),
        site_check_every_h: site_rule.map(|r| r.every.as_hours_f64()),
        fever_c: site_rule.unwrap_or_default().fever.as_celsius_f64(),
        site_checks,
        missed_site_checks: missed,
        possible_infection_alarms: infections,
    }
}

/// Every Modified Ashworth score, with when it was taken.
pub(super) fn ashworth_scores(i: &Inputs<'_>, span: &Span) -> Vec<(Timestamp, SpasticityScore)> {
    i.journal
        .iter()
        .filter_map(|r| match r {
            Record::Spasticity {
                at,
                score,
                muscles,
                name,
                ..
            } => Some((
                *at,
                SpasticityScore {
                    at_h: span.h(*at),
                    score: *score,
                    muscles: muscles.clone(),
                    by: name.clone(),
                },
            )),
            _ => None,
        })
        .collect()
}

/// The diary besides pain: the function question's answers and the impression of change.
pub(super) fn diary(i: &Inputs<'_>, span: &Span) -> Diary {
    let mut function = Vec::new();
    let mut function_skipped_h = Vec::new();
    let mut pgic = None;
    for r in i.journal {
        match r {
            Record::FunctionAnswer {
                at,
                question,
                answer,
                level,
            } => function.push(FunctionEntry {
                at_h: span.h(*at),
                question: question.clone(),
                answer: answer.clone(),
                level: *level,
            }),
            Record::FunctionSkipped { at, .. } => function_skipped_h.push(span.h(*at)),
            Record::Pgic { value, .. } => pgic = Some(*value),
            _ => {}
        }
    }
    Diary {
        function,
        function_skipped_h,
        pgic,
        pgic_label: pgic.and_then(crate::core::diary::pgic_label),
    }
}
