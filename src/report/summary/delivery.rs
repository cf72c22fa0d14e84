//! What the trial delivered, by source and by day, what the patient asked for, the program as
//! it was started and the basal changes after, and the reservoir.

use super::*;

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
pub struct Reservoir {
    pub loaded_ml: f64,
    pub remaining_ml: f64,
}

/// The delivery sections, and what the effective dose reads from them.
pub(super) struct DeliverySection {
    pub delivered: Delivered,
    pub pca: PcaCounts,
    pub days: Vec<DayEntry>,
    pub titration: Vec<RateChangeEntry>,
    pub program: ProgramInfo,
    pub reservoir: Reservoir,
    /// The last 24 h (or the whole trial if shorter): where it starts and what it gave.
    pub last_day_start: Timestamp,
    pub last_day: Amount,
    /// Patient boluses per trial day, mg.
    pub patient_per_day: Vec<f64>,
}

/// What left the syringe as dose (uncertain deliveries after a crash counted as given, as the
/// pump counts them), by source and by day; the patient's requests; the day table with its
/// pain scores and side effects; the basal changes after the start.
pub(super) fn delivery(i: &Inputs<'_>, span: &Span) -> DeliverySection {
    let days = span.days;
    // Per day and source (Source::index order), and the trial's totals.
    let mut per_day_source = vec![[Amount::ZERO; 5]; days];
    let mut by_source = [Amount::ZERO; 5];
    let mut steps = 0u64;
    let mut granted_per_day = vec![0u32; days];
    let mut denied_per_day = vec![0u32; days];
    let mut denied_by_reason: BTreeMap<String, u32> = BTreeMap::new();
    let mut pain_per_day: Vec<Vec<u8>> = vec![Vec::new(); days];
    let mut severity_per_day = vec![[0u32; 3]; days];
    let mut titration = Vec::new();
    let last_day_start = i
        .ended
        .saturating_back(Duration::from_days(1))
        .max(i.started);
    let mut last_day = Amount::ZERO;
    for r in i.journal {
        match r {
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
                per_day_source[span.day(*at)][idx] += *amount;
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
                presses,
                since,
                ..
            } => {
                // Presses counted together share a trial day: that of the first.
                let day = span.day(since.unwrap_or(*at));
                if *granted {
                    granted_per_day[day] += presses;
                } else {
                    denied_per_day[day] += presses;
                    let reason = denial.as_ref().map_or_else(String::new, denial_name);
                    *denied_by_reason.entry(reason).or_default() += presses;
                }
            }
            Record::PainScore { at, value } if *at >= i.started => {
                pain_per_day[span.day(*at)].push(*value);
            }
            Record::SideEffect { at, severity, .. } => {
                let k = match severity {
                    Severity::Mild => 0,
                    Severity::Moderate => 1,
                    Severity::Severe => 2,
                };
                severity_per_day[span.day(*at)][k] += 1;
            }
            Record::RateChanged { at, old, new, by } if *at > i.started => {
                titration.push(RateChangeEntry {
                    at_h: span.h(*at),
                    from_mg_per_day: mg(old.per_day()),
                    to_mg_per_day: mg(new.per_day()),
                    by: serde_json::to_value(by)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                });
            }
            _ => {}
        }
    }
    let total: Amount = by_source.iter().copied().sum();
    let at = |s: Source| by_source[s.index()];
    let day_entries = day_table(
        &per_day_source,
        &granted_per_day,
        &denied_per_day,
        &pain_per_day,
        &severity_per_day,
    );
    let p = &program_at_start(i);
    DeliverySection {
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
        days: day_entries,
        titration,
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
        reservoir: Reservoir {
            loaded_ml: i.loaded_ml,
            remaining_ml: round6(i.remaining_ml),
        },
        last_day_start,
        last_day,
        patient_per_day: per_day_source
            .iter()
            .map(|src| mg(src[Source::PatientBolus.index()]))
            .collect(),
    }
}

/// The day table: per trial day, the dose by source, the patient's requests, the pain scores
/// (count, mean to one decimal, lowest) and the side effects by severity.
fn day_table(
    per_day_source: &[[Amount; 5]],
    granted_per_day: &[u32],
    denied_per_day: &[u32],
    pain_per_day: &[Vec<u8>],
    severity_per_day: &[[u32; 3]],
) -> Vec<DayEntry> {
    (0..per_day_source.len())
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
        .collect()
}

/// The program as it was started: the engine holds the one in force now. Before the first
/// program change it was that change's old program; its basal was the first rate change's old
/// rate (every basal change, by hand, by the planned titration or with a program change, is a
/// rate change).
fn program_at_start(i: &Inputs<'_>) -> Program {
    let mut start = i
        .journal
        .iter()
        .find_map(|r| match r {
            Record::ProgramChanged { old_program, .. } => Some((**old_program).clone()),
            _ => None,
        })
        .unwrap_or_else(|| i.program.clone());
    if let Some(old) = i.journal.iter().find_map(|r| match r {
        Record::RateChanged { old, .. } => Some(*old),
        _ => None,
    }) {
        start.basal = old;
    }
    start
}
