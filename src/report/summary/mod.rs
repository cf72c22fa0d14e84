//! The trial summary, computed from the engine's journal: what the trial delivered, what the
//! patient asked for and reported, and what went wrong. Its JSON form is the contract
//! `titra.trial-summary/1` (keys listed in examples/scenarios/README.md; more may be added,
//! none renamed).

mod effective;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::core::diary::{Ashworth, OutcomeMeasure};
use crate::core::dose::{Denial, Source};
use crate::core::program::{Program, Trial};
use crate::core::supervisor::State;
use crate::core::supervisor::{AlarmKind, Priority};
use crate::core::units::{Amount, Duration, MassUnit, Timestamp};
use crate::journal::Record;
use crate::journal::{Severity, SideEffect};
use crate::time::{parse_rfc3339, rfc3339, virtual_time};

pub use effective::{
    BolusEntry, ConversionInfo, EffectiveDose, ImplantWorksheet, OpioidEntry, Opioids,
    ResponseInfo, StableInfo, implant_entry, unit_of,
};

pub const SUMMARY_SCHEMA: &str = "titra.trial-summary/1";

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub schema: &'static str,
    /// True when the trial ran on simulated hardware (in virtual time).
    pub simulated: bool,
    pub trial: TrialInfo,
    pub delivered: Delivered,
    pub pca: PcaCounts,
    pub alarms: Vec<AlarmEntry>,
    pub pain: Pain,
    pub side_effects: Vec<SideEffectEntry>,
    pub reservoir: Reservoir,
    /// The effective trial dose per day (mg even for mcg drugs); null when there is none.
    pub effective_dose_mg_per_day: Option<f64>,
    /// What it was read from, in words.
    pub effective_dose_rule: String,
    /// What counts as a response, and whether the trial was one.
    pub response_criterion: ResponseInfo,
    /// Opioid status, and systemic opioids before and during the trial.
    pub opioids: Opioids,
    /// "wall" when the dates are the pump's wall clock, "virtual" when the trial ran on the
    /// simulator's clock (which starts at 2000-01-01T00:00:00Z).
    pub clock: &'static str,
    /// The program as it was started.
    pub program: ProgramInfo,
    /// The data the effective dose came from.
    pub effective_dose: EffectiveDose,
    /// Basal changes after the start (the program's own titration steps and clinicians').
    pub titration: Vec<RateChangeEntry>,
    /// One entry per trial day (24 h from the start; the last one may be partial).
    pub days: Vec<DayEntry>,
    /// Times delivery was stopped: paused by a nurse, stopped by an alarm, or without power.
    pub interruptions: Vec<Interruption>,
    /// The clinician's assessment and decision: outcome and reasons, the patient's wish to
    /// proceed and the implant planned.
    pub assessment: Option<AssessmentEntry>,
    pub implant: ImplantWorksheet,
    /// The pre-trial checklist: each item, who confirmed it and when, and a clinician's
    /// override of the open ones; None when the trial had none.
    pub checklist: Option<ChecklistSummary>,
    /// When the trial's catheter was taken out and by whom; None until recorded.
    pub catheter_removal: Option<CatheterRemoval>,
    /// Earlier exports of this summary.
    pub exports: Vec<ExportEntry>,
    /// Sedation and breathing: what was recorded, checks missed, and each time the sedation
    /// interlock stopped delivery with the clinician's review.
    pub observations: Observations,
    /// The catheter and its site: type, placement, and every site check.
    pub catheter: CatheterInfo,
    /// What the trial is judged on: "pain" (the `pain` section) or "spasticity" (the
    /// `spasticity` section, for baclofen).
    pub outcome_measure: OutcomeMeasure,
    pub spasticity: Spasticity,
    /// The patient's diary besides pain: the function question's answers and the global
    /// impression of change at the end.
    pub diary: Diary,
}

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
pub struct ProgramInfo {
    pub reservoir_ml: f64,
    pub basal_mg_per_day: f64,
    pub pca: Option<PcaInfo>,
    pub scheduled_boluses: Vec<ScheduledInfo>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PcaInfo {
    pub dose_mg: f64,
    pub lockout_min: f64,
    pub max_per_hour: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScheduledInfo {
    pub at_h: f64,
    pub dose_mg: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RateChangeEntry {
    pub at_h: f64,
    pub from_mg_per_day: f64,
    pub to_mg_per_day: f64,
    /// "program" (a planned titration step), "clinician" or "nurse".
    pub by: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DayEntry {
    /// From 1.
    pub day: u32,
    pub total_mg: f64,
    pub basal_mg: f64,
    pub pca_mg: f64,
    pub scheduled_bolus_mg: f64,
    pub clinician_bolus_mg: f64,
    pub pca_granted: u32,
    pub pca_denied: u32,
    /// Pain scores that day: how many, their mean (one decimal) and the lowest.
    pub pain_scores: u32,
    pub pain_mean: Option<f64>,
    pub pain_lowest: Option<u8>,
    /// Side effects reported that day, by severity.
    pub side_effects_mild: u32,
    pub side_effects_moderate: u32,
    pub side_effects_severe: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Interruption {
    pub from_h: f64,
    /// None while still stopped when the summary was made.
    pub to_h: Option<f64>,
    /// "paused", "alarm" or "power".
    pub reason: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct AssessmentEntry {
    pub outcome: crate::journal::Outcome,
    /// The reasons for the outcome, as the clinician wrote them.
    pub note: String,
    pub by: String,
    pub at_h: f64,
    /// Whether the patient wishes to go on to an implant; None when not recorded.
    pub patient_wish: Option<crate::journal::Wish>,
    /// The implant planned (pump model, device), as the clinician wrote it; None for none.
    pub planned_implant: Option<String>,
    /// The planned implant's starting dose: the one confirmed on the worksheet (`implant`);
    /// None without a planned implant or before the dose is confirmed.
    pub planned_starting_dose_mg_per_day: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChecklistSummary {
    pub items: Vec<ChecklistEntry>,
    /// Every item confirmed.
    pub complete: bool,
    /// The clinician's override of the items that were open; None when none was needed.
    #[serde(rename = "override")]
    pub overridden: Option<ChecklistOverride>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChecklistEntry {
    pub id: String,
    pub text: String,
    pub confirmed: bool,
    pub confirmed_by: Option<String>,
    /// RFC 3339, on the summary's clock (before the start: the checklist is done before it).
    pub confirmed_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChecklistOverride {
    pub by: String,
    pub at: String,
    pub reason: String,
    /// The ids open when it was given.
    pub open: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CatheterRemoval {
    /// RFC 3339, and hours from the start.
    pub at: String,
    pub at_h: f64,
    pub by: String,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportEntry {
    pub at_h: f64,
    pub destination: String,
    pub by: String,
    pub files: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrialInfo {
    pub patient: String,
    pub route: String,
    pub kind: String,
    pub drug: String,
    pub concentration_mg_per_ml: f64,
    pub catheter_tip: Option<String>,
    /// RFC 3339. A simulated trial runs on a virtual clock starting 2000-01-01T00:00:00Z.
    pub started_at: String,
    pub ended_at: String,
    pub duration_h: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Delivered {
    pub total_mg: f64,
    pub total_ml: f64,
    pub basal_mg: f64,
    pub pca_mg: f64,
    pub clinician_bolus_mg: f64,
    pub scheduled_bolus_mg: f64,
    /// One entry per trial day (24 h from the start, the last one partial).
    pub per_day_mg: Vec<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PcaCounts {
    pub requested: u32,
    pub granted: u32,
    pub denied: u32,
    pub granted_per_day: Vec<u32>,
    pub denied_per_day: Vec<u32>,
    /// Denied requests by reason (`lockout`, `hourly_count`, `cap`, `not_delivering`,
    /// `sedation_hold`, `observation_overdue`, …).
    pub denied_by_reason: BTreeMap<String, u32>,
}

/// A denial's reason as the log and the summary name it ("sedation_hold").
pub fn denial_name(d: &Denial) -> String {
    serde_json::to_value(d)
        .ok()
        .and_then(|v| v.get("reason").and_then(|r| r.as_str().map(str::to_owned)))
        .unwrap_or_default()
}

#[derive(Debug, Clone, Serialize)]
pub struct AlarmEntry {
    pub kind: AlarmKind,
    pub priority: Priority,
    pub at_h: f64,
    pub cleared_at_h: Option<f64>,
    pub pressure_mmhg: Option<f64>,
    pub time_to_alarm_min: Option<f64>,
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
fn judged_when(continuous: bool) -> &'static str {
    if continuous {
        "at the last score of the trial"
    } else {
        "at any score after a bolus and before the next (its peak effect)"
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

#[derive(Debug, Clone, Serialize)]
pub struct Reservoir {
    pub loaded_ml: f64,
    pub remaining_ml: f64,
}

/// What the summary is computed from.
pub struct Inputs<'a> {
    pub trial: &'a Trial,
    pub program: &'a Program,
    pub journal: &'a [Record],
    pub started: Timestamp,
    pub ended: Timestamp,
    pub steps_per_ml: u64,
    pub loaded_ml: f64,
    pub remaining_ml: f64,
    pub simulated: bool,
    /// When the trial started by the wall clock (RFC 3339); None on the virtual clock.
    pub started_wall: Option<&'a str>,
    /// The site's protocol: the response criterion and the implant rules.
    pub protocol: &'a crate::input::protocol::Protocol,
    /// The drug library: the implant route's limits and starting ranges.
    pub library: &'a crate::core::library::DrugLibrary,
    /// The unit the drug's doses are written in.
    pub unit: MassUnit,
    /// What the trial is judged on (the drug library's `outcome` for the drug).
    pub outcome: OutcomeMeasure,
}

fn hours(from: Timestamp, at: Timestamp) -> f64 {
    (at.since(from).as_hours_f64() * 1e4).round() / 1e4
}

fn mg(a: Amount) -> f64 {
    a.as_mg_f64()
}

/// Which trial day (from 0) a moment belongs to: a delivery recorded at exactly 24 h was given
/// during the first day.
pub(crate) fn day_of(from: Timestamp, at: Timestamp) -> usize {
    let ms = at.since(from).ms().saturating_sub(1);
    usize::try_from(ms / Duration::from_days(1).ms()).unwrap_or(usize::MAX)
}

pub(crate) fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// Computes the summary from the journal.
pub fn summarise(i: &Inputs<'_>) -> Summary {
    let days = usize::try_from(
        i.ended
            .since(i.started)
            .ms()
            .div_ceil(Duration::from_days(1).ms())
            .max(1),
    )
    .unwrap_or(1);
    // Per day and source (Source::index order), and the trial's totals.
    let mut per_day_source = vec![[Amount::ZERO; 5]; days];
    let mut by_source = [Amount::ZERO; 5];
    let mut steps = 0u64;
    let mut granted_per_day = vec![0u32; days];
    let mut denied_per_day = vec![0u32; days];
    let mut pain_per_day: Vec<Vec<u8>> = vec![Vec::new(); days];
    let mut severity_per_day = vec![[0u32; 3]; days];
    let mut alarms: Vec<AlarmEntry> = Vec::new();
    let mut scores = Vec::new();
    let mut side_effects = Vec::new();
    let mut titration = Vec::new();
    let mut interruptions: Vec<Interruption> = Vec::new();
    let mut assessment = None;
    let mut exports = Vec::new();
    let mut denied_by_reason: BTreeMap<String, u32> = BTreeMap::new();
    let mut sedation = Vec::new();
    let mut vitals = Vec::new();
    let mut holds: Vec<SedationHold> = Vec::new();
    let (mut missed_checks, mut escalated_checks) = (0u32, 0u32);
    let mut site_checks = Vec::new();
    let mut ashworth: Vec<(Timestamp, SpasticityScore)> = Vec::new();
    let mut function = Vec::new();
    let mut pgic = None;
    let mut site_rule = None;
    let (mut missed_site_checks, mut infection_alarms) = (0u32, 0u32);
    // The last sedation score or respiratory rate recorded: what a sedation alarm was raised for.
    let mut last_observed = String::new();
    let last_day_start = i
        .ended
        .saturating_back(Duration::from_days(1))
        .max(i.started);
    let mut last_day = Amount::ZERO;
    // The newest moment seen, and the newest before it: a power cut began after the last record
    // written before the restart (the restart's own records carry its time).
    let (mut latest, mut before_latest) = (i.started, i.started);
    let day = |at: Timestamp| day_of(i.started, at).min(days - 1);
    let h = |at: Timestamp| hours(i.started, at);
    for r in i.journal {
        match r {
            // What a crash left uncertain is counted as given, as the pump counts it.
            Record::Delivery {
                at,
                source,
                steps: s,
                amount,
                ..
            }
            | Record::UncertainDelivery {
                at,
                source,
                steps: s,
                amount,
                ..
            } => {
                let idx = source.index();
                per_day_source[day(*at)][idx] += *amount;
                by_source[idx] += *amount;
                steps += s;
                if *at > last_day_start {
                    last_day += *amount;
                }
            }
            Record::PcaRequest {
                at,
                granted,
                denial,
                ..
            } => {
                if *granted {
                    granted_per_day[day(*at)] += 1;
                } else {
                    denied_per_day[day(*at)] += 1;
                    let reason = denial.as_ref().map_or_else(String::new, denial_name);
                    *denied_by_reason.entry(reason).or_default() += 1;
                    if *denial == Some(Denial::SedationHold)
                        && let Some(hold) = holds.last_mut()
                    {
                        hold.patient_requests_denied += 1;
                    }
                }
            }
            Record::Sedation { at, poss } => {
                last_observed = format!("POSS {poss}");
                sedation.push(SedationEntry {
                    at_h: h(*at),
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
                    last_observed = format!("respiratory rate {r}/min");
                }
                vitals.push(VitalsEntry {
                    at_h: h(*at),
                    resp_rate: *respiratory_rate,
                    heart_rate: *heart_rate,
                    spo2: *spo2,
                    temp_c: temperature.map(|t| t.as_celsius_f64()),
                });
            }
            Record::SiteChecksRequired { rule, .. } => site_rule = Some(*rule),
            Record::Spasticity {
                at,
                score,
                muscles,
                name,
                ..
            } => ashworth.push((
                *at,
                SpasticityScore {
                    at_h: h(*at),
                    score: *score,
                    muscles: muscles.clone(),
                    by: name.clone(),
                },
            )),
            Record::FunctionAnswer {
                at,
                question,
                answer,
                level,
            } => function.push(FunctionEntry {
                at_h: h(*at),
                question: question.clone(),
                answer: answer.clone(),
                level: *level,
            }),
            Record::Pgic { value, .. } => pgic = Some(*value),
            Record::SiteCheck {
                at,
                temperature,
                findings,
                name,
                ..
            } => site_checks.push(SiteCheckEntry {
                at_h: h(*at),
                temp_c: temperature.as_celsius_f64(),
                findings: findings.clone(),
                by: name.clone(),
            }),
            Record::SedationReviewed { at, note, name } => {
                if let Some(hold) = holds.last_mut().filter(|x| x.reviewed_at_h.is_none()) {
                    hold.reviewed_at_h = Some(h(*at));
                    hold.reviewed_by = Some(name.clone());
                    hold.note = Some(note.clone());
                }
            }
            Record::AlarmEscalated { kind, priority, .. } => {
                if *kind == AlarmKind::ObservationMissed {
                    escalated_checks += 1;
                }
                // An alarm is listed with the highest priority it reached.
                for a in alarms
                    .iter_mut()
                    .filter(|a| a.kind == *kind && a.cleared_at_h.is_none())
                {
                    a.priority = a.priority.max(*priority);
                }
            }
            Record::AlarmRaised {
                at,
                kind,
                priority,
                pressure_mmhg,
                time_to_alarm,
            } if *priority != Priority::Info => {
                match kind {
                    AlarmKind::Sedation => holds.push(SedationHold {
                        at_h: h(*at),
                        reason: last_observed.clone(),
                        patient_requests_denied: 0,
                        reviewed_at_h: None,
                        reviewed_by: None,
                        note: None,
                    }),
                    AlarmKind::ObservationMissed => missed_checks += 1,
                    AlarmKind::SiteCheckMissed => missed_site_checks += 1,
                    AlarmKind::PossibleInfection => infection_alarms += 1,
                    _ => {}
                }
                alarms.push(AlarmEntry {
                    kind: *kind,
                    priority: *priority,
                    at_h: h(*at),
                    cleared_at_h: None,
                    pressure_mmhg: pressure_mmhg.map(|p| (p * 10.0).round() / 10.0),
                    time_to_alarm_min: time_to_alarm
                        .map(|d| (d.ms() as f64 / 6_000.0).round() / 10.0),
                });
            }
            Record::AlarmCleared { at, kind } => {
                for a in alarms
                    .iter_mut()
                    .filter(|a| a.kind == *kind && a.cleared_at_h.is_none())
                {
                    a.cleared_at_h = Some(h(*at));
                }
            }
            Record::PainScore { at, value } => {
                if *at >= i.started {
                    pain_per_day[day(*at)].push(*value);
                }
                scores.push(PainScore {
                    at_h: h(*at),
                    value: *value,
                });
            }
            Record::SideEffect {
                at,
                effect,
                severity,
            } => {
                let k = match severity {
                    Severity::Mild => 0,
                    Severity::Moderate => 1,
                    Severity::Severe => 2,
                };
                severity_per_day[day(*at)][k] += 1;
                side_effects.push(SideEffectEntry {
                    effect: *effect,
                    severity: *severity,
                    at_h: h(*at),
                });
            }
            Record::RateChanged { at, old, new, by } if *at > i.started => {
                titration.push(RateChangeEntry {
                    at_h: h(*at),
                    from_mg_per_day: mg(old.per_day()),
                    to_mg_per_day: mg(new.per_day()),
                    by: serde_json::to_value(by)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                });
            }
            Record::StateChanged { at, from, to } if *at >= i.started => {
                let reason = match to {
                    State::Paused => Some("paused"),
                    State::Alarm => Some("alarm"),
                    _ => None,
                };
                let open = interruptions.last().is_some_and(|x| x.to_h.is_none());
                if *from == State::Running {
                    if let Some(reason) = reason {
                        interruptions.push(Interruption {
                            from_h: h(*at),
                            to_h: None,
                            reason,
                        });
                    }
                } else if (*to == State::Running || *to == State::Ended) && open {
                    if let Some(x) = interruptions.last_mut() {
                        x.to_h = Some(h(*at));
                    }
                }
            }
            Record::PowerRestored { at } => {
                // The pump was off from its last record until now; it comes back stopped.
                let off = if latest >= *at { before_latest } else { latest };
                if let Some(x) = interruptions.last_mut().filter(|x| x.to_h.is_none()) {
                    x.to_h = Some(h(off));
                }
                interruptions.push(Interruption {
                    from_h: h(off),
                    to_h: Some(h(*at)),
                    reason: "power",
                });
            }
            Record::Assessment {
                at,
                outcome,
                note,
                name,
                wish,
                implant,
            } => {
                assessment = Some(AssessmentEntry {
                    outcome: *outcome,
                    note: note.clone(),
                    by: name.clone(),
                    at_h: h(*at),
                    patient_wish: *wish,
                    planned_implant: implant.clone(),
                    planned_starting_dose_mg_per_day: None,
                });
            }
            Record::Exported {
                at,
                destination,
                files,
                name,
            } => exports.push(ExportEntry {
                at_h: h(*at),
                destination: destination.clone(),
                by: name.clone(),
                files: files.iter().map(|(f, _)| f.clone()).collect(),
            }),
            _ => {}
        }
        if r.at() > latest {
            before_latest = latest;
            latest = r.at();
        }
    }
    let total: Amount = by_source.iter().copied().sum();
    let baseline = i.trial.baseline_pain;
    let last = scores.last().map(|s| s.value);
    let reduction = |to: Option<u8>| match (baseline, to) {
        (Some(b), Some(f)) if b > 0 => {
            Some(((f64::from(b) - f64::from(f)) / f64::from(b) * 1000.0).round() / 10.0)
        }
        _ => None,
    };
    let reduction_pct = reduction(last);
    let lowest = scores.iter().map(|s| s.value).min();
    let reduction_lowest_pct = reduction(lowest);
    let continuous = i.trial.kind == crate::core::program::TrialKind::Continuous;
    let spasticity = spasticity_of(&ashworth, i.started, continuous);
    // The response is judged against a score from before the start only.
    let ashworth_before = ashworth
        .iter()
        .rev()
        .find(|(at, _)| *at <= i.started)
        .map(|(_, s)| s.score);
    let patient_per_day: Vec<f64> = per_day_source
        .iter()
        .map(|src| mg(src[Source::PatientBolus.index()]))
        .collect();
    let dose = effective::dose_sections(
        i,
        last_day_start,
        last_day,
        patient_per_day,
        days,
        ashworth_before,
    );
    let judged = format!("{}, {}", dose.response.criterion, judged_when(continuous));
    // A trial is judged on its outcome measure alone; the other's scores are still shown.
    let responder = dose
        .response
        .responder
        .filter(|_| i.outcome == OutcomeMeasure::Pain);
    let spasticity = Spasticity {
        responder: dose
            .response
            .responder
            .filter(|_| i.outcome == OutcomeMeasure::Spasticity),
        responder_rule: judged.clone(),
        ..spasticity
    };
    let at = |s: Source| by_source[s.index()];
    let base = i.started_wall.and_then(parse_rfc3339);
    let when = |t: Timestamp| match base {
        Some(b) => rfc3339(b + t.since(i.started).ms()),
        None => virtual_time(t),
    };
    let p = i.program;
    let implant = dose.implant;
    if let Some(a) = assessment.as_mut()
        && a.planned_implant.is_some()
        && implant.confirmed
    {
        a.planned_starting_dose_mg_per_day = implant.mg_per_day;
    }
    // Times before the start (the checklist is done before it) are dated back from it.
    let when_any = |t: Timestamp| {
        if t >= i.started {
            when(t)
        } else {
            let back = i.started.since(t).ms();
            match base {
                Some(b) => rfc3339(b.saturating_sub(back)),
                None => virtual_time(t),
            }
        }
    };
    let checklist = checklist_summary(i.journal, &when_any);
    let catheter_removal = i.journal.iter().find_map(|r| match r {
        Record::CatheterRemoved { at, name, note, .. } => Some(CatheterRemoval {
            at: when_any(*at),
            at_h: hours(i.started, *at),
            by: name.clone(),
            note: note.clone(),
        }),
        _ => None,
    });
    let day_entries = (0..days)
        .map(|d| {
            let src = per_day_source[d];
            let scores = &pain_per_day[d];
            DayEntry {
                day: u32::try_from(d + 1).unwrap_or(u32::MAX),
                total_mg: mg(src.iter().copied().sum()),
                basal_mg: mg(src[Source::Basal.index()] + src[Source::Kvo.index()]),
                pca_mg: mg(src[Source::PatientBolus.index()]),
                scheduled_bolus_mg: mg(src[Source::ScheduledBolus.index()]),
                clinician_bolus_mg: mg(src[Source::ClinicianBolus.index()]),
                pca_granted: granted_per_day[d],
                pca_denied: denied_per_day[d],
                pain_scores: u32::try_from(scores.len()).unwrap_or(u32::MAX),
                pain_mean: (!scores.is_empty()).then(|| {
                    let sum: u32 = scores.iter().map(|v| u32::from(*v)).sum();
                    (f64::from(sum) / scores.len() as f64 * 10.0).round() / 10.0
                }),
                pain_lowest: scores.iter().min().copied(),
                side_effects_mild: severity_per_day[d][0],
                side_effects_moderate: severity_per_day[d][1],
                side_effects_severe: severity_per_day[d][2],
            }
        })
        .collect();
    Summary {
        schema: SUMMARY_SCHEMA,
        simulated: i.simulated,
        trial: TrialInfo {
            patient: i.trial.patient.clone(),
            route: i.trial.route.to_string(),
            kind: i.trial.kind.to_string(),
            drug: p.drug.clone(),
            concentration_mg_per_ml: p.concentration.as_mg_per_ml_f64(),
            catheter_tip: i.trial.catheter_tip.clone(),
            started_at: when(i.started),
            ended_at: when(i.ended),
            duration_h: hours(i.started, i.ended),
        },
        delivered: Delivered {
            total_mg: mg(total),
            total_ml: round6(steps as f64 / i.steps_per_ml as f64),
            basal_mg: mg(at(Source::Basal) + at(Source::Kvo)),
            pca_mg: mg(at(Source::PatientBolus)),
            clinician_bolus_mg: mg(at(Source::ClinicianBolus)),
            scheduled_bolus_mg: mg(at(Source::ScheduledBolus)),
            per_day_mg: per_day_source
                .iter()
                .map(|src| mg(src.iter().copied().sum()))
                .collect(),
        },
        pca: PcaCounts {
            requested: granted_per_day.iter().sum::<u32>() + denied_per_day.iter().sum::<u32>(),
            granted: granted_per_day.iter().sum(),
            denied: denied_per_day.iter().sum(),
            granted_per_day,
            denied_per_day,
            denied_by_reason,
        },
        alarms,
        pain: Pain {
            baseline,
            last,
            reduction_pct,
            lowest,
            reduction_lowest_pct,
            responder,
            responder_rule: judged,
            scores,
        },
        side_effects,
        reservoir: Reservoir {
            loaded_ml: i.loaded_ml,
            remaining_ml: round6(i.remaining_ml),
        },
        effective_dose_mg_per_day: dose.effective.mg_per_day,
        effective_dose_rule: dose.rule_text,
        response_criterion: dose.response,
        opioids: dose.opioids,
        clock: if base.is_some() { "wall" } else { "virtual" },
        program: ProgramInfo {
            reservoir_ml: p.reservoir.as_ml_f64(),
            basal_mg_per_day: mg(p.basal.per_day()),
            pca: p.pca.map(|pca| PcaInfo {
                dose_mg: mg(pca.dose),
                lockout_min: pca.lockout.ms() as f64 / 60_000.0,
                max_per_hour: pca.max_per_hour,
            }),
            scheduled_boluses: p
                .boluses
                .iter()
                .map(|b| ScheduledInfo {
                    at_h: (b.at.as_hours_f64() * 1e4).round() / 1e4,
                    dose_mg: mg(b.dose),
                })
                .collect(),
        },
        effective_dose: dose.effective,
        titration,
        days: day_entries,
        interruptions,
        assessment,
        implant,
        checklist,
        catheter_removal,
        exports,
        observations: Observations {
            schedule: p.observations.map(|o| o.to_string()),
            sedation,
            vitals,
            missed_checks,
            escalated_checks,
            holds,
        },
        catheter: CatheterInfo {
            kind: i.trial.catheter.clone(),
            tip: i.trial.catheter_tip.clone(),
            placed_h_before_start: i
                .trial
                .catheter_placed_before
                .map(|d| (d.as_hours_f64() * 1e4).round() / 1e4),
            site_check_every_h: site_rule.map(|r| r.every.as_hours_f64()),
            fever_c: site_rule.unwrap_or_default().fever.as_celsius_f64(),
            site_checks,
            missed_site_checks,
            possible_infection_alarms: infection_alarms,
        },
        outcome_measure: i.outcome,
        spasticity,
        diary: Diary {
            function,
            pgic,
            pgic_label: pgic.and_then(crate::core::diary::pgic_label),
        },
    }
}

/// Spasticity from its scores: the baseline is the last score before delivery started (else
/// the first), the result the last (continuous) or lowest after the start (bolus).
fn spasticity_of(
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

/// The pre-trial checklist as the journal records it; None when the trial had none.
fn checklist_summary(
    journal: &[Record],
    when: &dyn Fn(Timestamp) -> String,
) -> Option<ChecklistSummary> {
    let list = crate::journal::checklist_of(journal)?;
    Some(ChecklistSummary {
        complete: list.open().is_empty(),
        items: list
            .items
            .iter()
            .zip(&list.confirmed)
            .map(|(item, c)| ChecklistEntry {
                id: item.id.clone(),
                text: item.text.clone(),
                confirmed: c.is_some(),
                confirmed_by: c.as_ref().map(|c| c.name.clone()),
                confirmed_at: c.as_ref().map(|c| when(c.at)),
            })
            .collect(),
        overridden: list.overridden.map(|o| ChecklistOverride {
            by: o.name,
            at: when(o.at),
            reason: o.reason,
            open: o.open,
        }),
    })
}

/// When delivery started (the first entry to running; the first record if it never ran) and
/// when the trial ended (the entry to ended; the last record if it has not).
pub fn span_of(journal: &[Record]) -> (Timestamp, Timestamp) {
    let first = journal.first().map_or(Timestamp::ORIGIN, Record::at);
    let last = journal.iter().map(Record::at).max().unwrap_or(first);
    let started = journal
        .iter()
        .find_map(|r| match r {
            Record::StateChanged {
                at,
                to: State::Running,
                ..
            } => Some(*at),
            _ => None,
        })
        .unwrap_or(first);
    let ended = ended_at(journal).unwrap_or(last);
    (started, ended.max(started))
}

/// When the trial ended (its entry to the ended state), if it has.
pub fn ended_at(journal: &[Record]) -> Option<Timestamp> {
    journal.iter().find_map(|r| match r {
        Record::StateChanged {
            at,
            to: State::Ended,
            ..
        } => Some(*at),
        _ => None,
    })
}

/// What is left in the syringe by the log: the volume loaded (or changed to), less what the
/// deliveries, the uncertain deliveries and priming took from it.
pub fn reservoir_left(program: &Program, journal: &[Record], steps_per_ml: u64) -> f64 {
    let per_step_nl = |steps: u64| {
        u64::try_from(u128::from(steps) * 1_000_000 / u128::from(steps_per_ml.max(1)))
            .unwrap_or(u64::MAX)
    };
    let mut nl = program.reservoir.nl();
    for r in journal {
        match r {
            Record::ReservoirChanged { volume, .. } => nl = volume.nl(),
            Record::Delivery { volume, .. } => nl = nl.saturating_sub(volume.nl()),
            Record::UncertainDelivery { steps, .. } | Record::Primed { steps, .. } => {
                nl = nl.saturating_sub(per_step_nl(*steps));
            }
            _ => {}
        }
    }
    nl as f64 / 1e6
}

/// The summary as a clinician reads it in a terminal.
pub fn render(s: &Summary, unit: MassUnit) -> String {
    let amount = |mg_value: f64| {
        Amount::from_ng((mg_value * 1e6).round() as u64)
            .in_unit(unit)
            .to_string()
    };
    let mut out = String::new();
    let t = &s.trial;
    if s.simulated {
        let _ = writeln!(out, "SIMULATED TRIAL (simulated hardware, virtual time)");
    }
    let _ = writeln!(
        out,
        "Trial summary: patient {}, {} {} {} mg/mL, {} trial, {} h ({} to {})",
        t.patient,
        t.route,
        t.drug,
        t.concentration_mg_per_ml,
        t.kind.replace('_', " "),
        t.duration_h,
        t.started_at,
        t.ended_at
    );
    let d = &s.delivered;
    let _ = writeln!(
        out,
        "\nDelivered {} ({} mL): basal {}, patient boluses {}, scheduled boluses {}, clinician boluses {}",
        amount(d.total_mg),
        d.total_ml,
        amount(d.basal_mg),
        amount(d.pca_mg),
        amount(d.scheduled_bolus_mg),
        amount(d.clinician_bolus_mg)
    );
    for (day, v) in d.per_day_mg.iter().enumerate() {
        let _ = writeln!(
            out,
            "  day {}: {}   patient boluses granted {}, denied {}",
            day + 1,
            amount(*v),
            s.pca.granted_per_day.get(day).unwrap_or(&0),
            s.pca.denied_per_day.get(day).unwrap_or(&0)
        );
    }
    let _ = writeln!(
        out,
        "Patient bolus requests: {} ({} granted, {} denied)",
        s.pca.requested, s.pca.granted, s.pca.denied
    );
    if !s.pca.denied_by_reason.is_empty() {
        let reasons: Vec<String> = s
            .pca
            .denied_by_reason
            .iter()
            .map(|(reason, n)| format!("{} {n}", reason.replace('_', " ")))
            .collect();
        let _ = writeln!(out, "  denied: {}", reasons.join(", "));
    }
    let _ = writeln!(
        out,
        "\nAlarms:{}",
        if s.alarms.is_empty() { " none" } else { "" }
    );
    for a in &s.alarms {
        let _ = write!(
            out,
            "  {} {} at {} h",
            a.priority.to_string().to_uppercase(),
            kind_name(a.kind),
            a.at_h
        );
        if let Some(c) = a.cleared_at_h {
            let _ = write!(out, ", cleared at {c} h");
        }
        if let Some(p) = a.pressure_mmhg {
            let _ = write!(out, ", {p} mmHg");
        }
        let _ = writeln!(out, ": {}", a.kind.message());
    }
    let o = &s.observations;
    if o.schedule.is_some() || !o.sedation.is_empty() || !o.vitals.is_empty() {
        let _ = writeln!(
            out,
            "\nSedation and breathing: {} sedation scores (highest POSS {}), {} sets of vital signs (lowest respiratory rate {})",
            o.sedation.len(),
            o.sedation
                .iter()
                .map(|x| x.poss)
                .max()
                .map_or("-".to_owned(), |v| v.to_string()),
            o.vitals.len(),
            o.vitals
                .iter()
                .filter_map(|x| x.resp_rate)
                .min()
                .map_or("-".to_owned(), |v| format!("{v}/min"))
        );
        if let Some(schedule) = &o.schedule {
            let _ = writeln!(
                out,
                "  checks: {schedule}; {} missed, {} escalated",
                o.missed_checks, o.escalated_checks
            );
        }
        for hold in &o.holds {
            let _ = write!(
                out,
                "  delivery stopped at {} h for {}; {} patient requests refused; ",
                hold.at_h, hold.reason, hold.patient_requests_denied
            );
            let _ = match (&hold.reviewed_at_h, &hold.reviewed_by, &hold.note) {
                (Some(at), Some(by), Some(note)) => {
                    writeln!(out, "reviewed by {by} at {at} h: {note}")
                }
                _ => writeln!(out, "not reviewed by a clinician"),
            };
        }
    }
    let p = &s.pain;
    let _ = writeln!(
        out,
        "\nPain (0-10): baseline {}, final {}, reduction {}{}",
        p.baseline.map_or("-".to_owned(), |v| v.to_string()),
        p.last.map_or("-".to_owned(), |v| v.to_string()),
        p.reduction_pct.map_or("-".to_owned(), |v| format!("{v} %")),
        match p.responder {
            Some(true) => " (responder: at least 50 % less pain)",
            Some(false) => " (not a responder: less than 50 %)",
            None => "",
        }
    );
    let sp = &s.spasticity;
    if s.outcome_measure == OutcomeMeasure::Spasticity || !sp.scores.is_empty() {
        let score = |v: Option<Ashworth>| v.map_or("-".to_owned(), |v| v.to_string());
        let _ = writeln!(
            out,
            "Spasticity (Modified Ashworth){}: baseline {}, final {}, lowest {}, fall {}{}",
            if s.outcome_measure == OutcomeMeasure::Spasticity {
                ", the outcome measure"
            } else {
                ""
            },
            score(sp.baseline),
            score(sp.last),
            score(sp.lowest),
            sp.reduction.map_or("-".to_owned(), |r| format!("{r}")),
            match sp.responder {
                Some(true) => " (responder: at least 1 point)",
                Some(false) => " (not a responder: less than 1 point)",
                None => "",
            }
        );
    }
    if let (Some(v), Some(label)) = (s.diary.pgic, s.diary.pgic_label) {
        let _ = writeln!(out, "Impression of change (PGIC): {v}, {label}");
    }
    let c = &s.catheter;
    if let Some(every) = c.site_check_every_h {
        let _ = writeln!(
            out,
            "\nCatheter site: checks every {every} h, {} recorded, {} missed; possible-infection alarms: {}",
            c.site_checks.len(),
            c.missed_site_checks,
            c.possible_infection_alarms
        );
    }
    for e in &s.side_effects {
        let _ = writeln!(
            out,
            "  side effect at {} h: {:?}, {:?}",
            e.at_h, e.effect, e.severity
        );
    }
    let _ = writeln!(
        out,
        "\nReservoir: {} mL loaded, {} mL left",
        s.reservoir.loaded_ml, s.reservoir.remaining_ml
    );
    let _ = match s.effective_dose_mg_per_day {
        Some(d) => writeln!(
            out,
            "Effective trial dose: {} per day ({})",
            amount(d),
            s.effective_dose_rule
        ),
        None => writeln!(out, "Effective trial dose: {}", s.effective_dose_rule),
    };
    let _ = writeln!(
        out,
        "Response criterion: {}; {}",
        s.response_criterion.criterion,
        match (
            s.response_criterion.responder,
            &s.response_criterion.why_unjudged
        ) {
            (Some(true), _) => "met".to_owned(),
            (Some(false), _) => "not met".to_owned(),
            (None, Some(why)) => format!("not judged: {why}"),
            (None, None) => "not judged".to_owned(),
        }
    );
    let o = &s.opioids;
    let _ = writeln!(
        out,
        "Opioid status: {}; systemic opioids before the trial: {}",
        o.status_text,
        o.before_mg_per_day
            .map_or("not recorded".to_owned(), |v| format!(
                "{v} mg/day oral morphine equivalents"
            ))
    );
    let w = &s.implant;
    if let Some(c) = &w.conversion {
        let _ = writeln!(out, "Conversion: {}", c.text);
    }
    let _ = writeln!(
        out,
        "Implant ({}): {}",
        w.route,
        match (w.proposed_mg_per_day, &w.no_proposal_reason) {
            (Some(d), _) => format!(
                "proposed {} per day by {}",
                amount(d),
                w.rule.as_deref().unwrap_or("the rule")
            ),
            (None, Some(why)) => format!("no proposal: {why}"),
            (None, None) => "no proposal".to_owned(),
        }
    );
    for step in &w.steps {
        let _ = writeln!(out, "  {step}");
    }
    for f in w
        .findings
        .iter()
        .filter(|f| f.class != crate::core::finding::Class::Ok)
    {
        let _ = writeln!(
            out,
            "  Limits: {} (needs a written reason to confirm)",
            f.message
        );
    }
    if let Some(c) = &s.checklist {
        let confirmed = c.items.iter().filter(|i| i.confirmed).count();
        let _ = write!(
            out,
            "Pre-trial checklist: {confirmed} of {} items confirmed",
            c.items.len()
        );
        let _ = match &c.overridden {
            Some(o) => writeln!(
                out,
                "; {} overridden by {}: {}",
                o.open.join(", "),
                o.by,
                o.reason
            ),
            None => writeln!(out),
        };
    }
    if let Some(a) = &s.assessment {
        let _ = writeln!(
            out,
            "Decision: {} ({}) by {}; patient wishes to proceed: {}; planned implant: {}",
            a.outcome,
            a.note,
            a.by,
            a.patient_wish.map_or("-".to_owned(), |w| w.to_string()),
            a.planned_implant.as_deref().unwrap_or("none")
        );
    }
    if let Some(r) = &s.catheter_removal {
        let _ = writeln!(out, "Catheter removed at {} by {}", r.at, r.by);
    }
    out
}

/// An alarm kind as the log names it ("observation_missed"), for reading.
fn kind_name(kind: AlarmKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(|k| k.replace('_', " ")))
        .unwrap_or_default()
}

/// Dose and pain over a trial, for the clinician's chart: the dose given in each bucket from
/// the start (everything that left the syringe as dose, uncertain deliveries included), and
/// every pain score with its time from the start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, zbus::zvariant::Type)]
pub struct History {
    pub bucket_ms: u64,
    /// ng per bucket, the first starting at the trial's start.
    pub doses_ng: Vec<u64>,
    /// (ms from the start, NRS 0–10).
    pub pain: Vec<(u64, u8)>,
}

/// The history from `started` to `now` in buckets of `bucket`; at least one bucket.
pub fn history(
    journal: &[Record],
    started: Timestamp,
    now: Timestamp,
    bucket: Duration,
) -> History {
    let bucket_ms = bucket.ms().max(1);
    let span = now.since(started).ms();
    let buckets = usize::try_from(span.div_ceil(bucket_ms).max(1)).unwrap_or(1);
    let mut doses = vec![0u64; buckets];
    let mut pain = Vec::new();
    let index = |at: Timestamp| {
        // A piece recorded at `at` was given just before it: it belongs to the bucket it ends in,
        // unless it ends exactly on a boundary.
        let offset = at.since(started).ms().saturating_sub(1);
        usize::try_from(offset / bucket_ms)
            .unwrap_or(usize::MAX)
            .min(buckets - 1)
    };
    for r in journal {
        match r {
            Record::Delivery { at, amount, .. } | Record::UncertainDelivery { at, amount, .. }
                if *at > started =>
            {
                let i = index(*at);
                doses[i] = doses[i].saturating_add(amount.ng());
            }
            Record::PainScore { at, value } if *at >= started => {
                pain.push((at.since(started).ms(), *value));
            }
            _ => {}
        }
    }
    History {
        bucket_ms,
        doses_ng: doses,
        pain,
    }
}

/// What a bolus trial's scores are ([`BolusResponse::measure`]): pain, NRS 0–10.
pub const MEASURE_PAIN: u8 = 0;
/// Spasticity, Modified Ashworth 0–4 (1+ counted as 1.5).
pub const MEASURE_SPASTICITY: u8 = 1;

/// The response to each bolus of a bolus trial, for the clinician's chart (`BolusResponse` on
/// D-Bus), as the summary judges it: each bolus's scores against the hours after it, the score
/// before the trial, and the onset, peak and duration of effect. A number that may be missing
/// is negative when it is.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, zbus::zvariant::Type)]
pub struct BolusResponse {
    /// Whether the trial is a bolus trial (single_bolus, multiple_bolus); when it is not, the
    /// boluses are empty and the chart is the dose and pain of `History`.
    pub bolus_trial: bool,
    /// What the scores are: [`MEASURE_PAIN`] (0) or [`MEASURE_SPASTICITY`] (1).
    pub measure: u8,
    /// The score before the trial that the response is judged against; negative when none was
    /// recorded.
    pub baseline: f64,
    /// The top of the scale: 10 for pain, 4 for spasticity.
    pub scale_top: f64,
    pub boluses: Vec<BolusCourse>,
}

/// One bolus and the scores after it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, zbus::zvariant::Type)]
pub struct BolusCourse {
    /// Hours from the start.
    pub at_h: f64,
    /// The dose given, in words in the drug's unit ("0.2 mg", "50 mcg").
    pub dose: String,
    /// Who gave it, in words: "scheduled" or "clinician".
    pub by: String,
    /// Whether it is the effective bolus (the basis of the effective dose).
    pub effective: bool,
    /// Whether it was given whole (not stopped by an alarm, a pause or a power cut).
    pub complete: bool,
    /// Whether a score after it met the response criterion.
    pub responded: bool,
    /// Hours after the bolus: the first response, the best score, and the end of the effect
    /// (the first score no longer a response); negative when none.
    pub onset_h: f64,
    pub peak_h: f64,
    /// The best score; negative when none.
    pub peak_score: f64,
    pub duration_h: f64,
    /// The duration of effect in words ("8 h (a response at 6 h, no longer at 8 h)", "more
    /// than 6 h (still a response at the last score)", "no response").
    pub effect: String,
    /// The scores judged for it: (hours after the bolus, score).
    pub points: Vec<(f64, f64)>,
}

/// The bolus response of a summary, doses in `unit`.
pub fn bolus_response(s: &Summary, unit: MassUnit) -> BolusResponse {
    let spasticity = s.outcome_measure == OutcomeMeasure::Spasticity;
    // The baseline the response is judged against: the pain before the trial, or the last
    // Ashworth score at or before the start (none when there was none before it).
    let baseline = if spasticity {
        s.spasticity
            .scores
            .iter()
            .rev()
            .find(|x| x.at_h <= 0.0)
            .map(|x| x.score.value())
    } else {
        s.pain.baseline.map(f64::from)
    };
    let none = |v: Option<f64>| v.unwrap_or(-1.0);
    let e = &s.effective_dose;
    BolusResponse {
        bolus_trial: s.trial.kind != crate::core::program::TrialKind::Continuous.to_string(),
        measure: if spasticity {
            MEASURE_SPASTICITY
        } else {
            MEASURE_PAIN
        },
        baseline: none(baseline),
        scale_top: if spasticity { 4.0 } else { 10.0 },
        boluses: e
            .boluses
            .iter()
            .enumerate()
            .map(|(i, b)| BolusCourse {
                at_h: b.at_h,
                dose: crate::report::pdf::show_mg(b.dose_mg, unit),
                by: b.by.to_owned(),
                effective: e.bolus_index == Some(i),
                complete: b.complete,
                responded: b.responded,
                onset_h: none(b.onset_h),
                peak_h: none(b.peak_h),
                peak_score: none(b.peak_score),
                duration_h: none(b.duration_h),
                effect: b.effect.clone(),
                points: b.scores.clone(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bolus_response_has_the_signature_the_api_documents() {
        use zbus::zvariant::Type as _;
        assert_eq!(
            BolusResponse::SIGNATURE.to_string(),
            "(bydda(dssbbbddddsa(dd)))",
            "docs/dbus-api.md"
        );
    }

    #[test]
    fn a_delivery_recorded_at_the_end_of_a_day_belongs_to_it() {
        let day = Duration::from_days(1).ms();
        assert_eq!(day_of(Timestamp::ORIGIN, Timestamp::from_ms(day)), 0);
        assert_eq!(day_of(Timestamp::ORIGIN, Timestamp::from_ms(day + 1)), 1);
    }

    #[test]
    fn the_history_buckets_dose_by_the_end_of_each_piece_and_keeps_pain() {
        let t = |min: u64| Timestamp::ORIGIN + Duration::from_mins(10) + Duration::from_mins(min);
        let delivery = |min: u64, ng: u64| Record::Delivery {
            at: t(min),
            source: Source::Basal,
            steps: 1,
            amount: Amount::from_ng(ng),
            volume: crate::core::units::Volume::from_nl(1),
        };
        let journal = vec![
            Record::PainScore {
                at: Timestamp::ORIGIN + Duration::from_mins(5),
                value: 9,
            },
            delivery(60, 100),
            delivery(61, 7),
            Record::PainScore {
                at: t(90),
                value: 4,
            },
            delivery(150, 5),
        ];
        let h = history(&journal, t(0), t(150), Duration::from_hours(1));
        assert_eq!(h.bucket_ms, 3_600_000);
        assert_eq!(
            h.doses_ng,
            [100, 7, 5],
            "the piece ending at 1 h is in the first hour"
        );
        assert_eq!(
            h.pain,
            [(90 * 60_000, 4)],
            "a score before the start is not on the chart"
        );
        let empty = history(&[], t(0), t(0), Duration::from_hours(1));
        assert_eq!(empty.doses_ng, [0], "at least one bucket");
    }
}
