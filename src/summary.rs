//! The trial summary, computed from the engine's journal: what the trial delivered, what the
//! patient asked for and reported, and what went wrong. Its JSON form is the contract
//! `titra.trial-summary/1` (keys listed in examples/scenarios/README.md; more may be added,
//! none renamed).

use std::fmt::Write as _;

use serde::Serialize;

use crate::core::dose::Source;
use crate::core::program::{Program, Trial};
use crate::core::supervisor::{AlarmKind, Priority};
use crate::core::units::{Amount, Duration, MassUnit, Timestamp};
use crate::engine::Record;
use crate::scenario::{Severity, SideEffect};

pub const SUMMARY_SCHEMA: &str = "titra.trial-summary/1";

/// How the effective trial dose is computed (written into every summary).
pub const EFFECTIVE_DOSE_RULE: &str = "the dose delivered over the last 24 hours of the trial (basal, patient, scheduled and clinician boluses), or over the whole trial if it was shorter";

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
    pub effective_dose_mg_per_day: f64,
    pub effective_dose_rule: &'static str,
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
    /// At least 50 % less pain than at baseline.
    pub responder: Option<bool>,
    pub scores: Vec<PainScore>,
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
}

fn hours(from: Timestamp, at: Timestamp) -> f64 {
    (at.since(from).as_hours_f64() * 1e4).round() / 1e4
}

fn mg(a: Amount) -> f64 {
    a.as_mg_f64()
}

/// Which trial day (from 0) a moment belongs to: a delivery recorded at exactly 24 h was given
/// during the first day.
fn day_of(from: Timestamp, at: Timestamp) -> usize {
    let ms = at.since(from).ms().saturating_sub(1);
    usize::try_from(ms / Duration::from_days(1).ms()).unwrap_or(usize::MAX)
}

/// RFC 3339 for a moment on the virtual clock (2000-01-01T00:00:00Z + t).
pub fn virtual_time(t: Timestamp) -> String {
    let secs = t.ms() / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 2000-01-01 (a Saturday; 2000 is a leap year).
    let mut year = 2000u64;
    let mut day = days;
    loop {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let len = if leap { 366 } else { 365 };
        if day < len {
            break;
        }
        day -= len;
        year += 1;
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let months = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut month = 0;
    while day >= months[month] {
        day -= months[month];
        month += 1;
    }
    format!(
        "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        month + 1,
        day + 1,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub fn summarise(i: &Inputs<'_>) -> Summary {
    let days = usize::try_from(
        i.ended
            .since(i.started)
            .ms()
            .div_ceil(Duration::from_days(1).ms())
            .max(1),
    )
    .unwrap_or(1);
    let mut per_day = vec![Amount::ZERO; days];
    let mut by_source = [Amount::ZERO; 5];
    let mut steps = 0u64;
    let mut granted_per_day = vec![0u32; days];
    let mut denied_per_day = vec![0u32; days];
    let mut alarms: Vec<AlarmEntry> = Vec::new();
    let mut scores = Vec::new();
    let mut side_effects = Vec::new();
    let last_day_start = i
        .ended
        .saturating_back(Duration::from_days(1))
        .max(i.started);
    let mut last_day = Amount::ZERO;
    for r in i.journal {
        match *r {
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
                let d = day_of(i.started, at).min(days - 1);
                per_day[d] += amount;
                let idx = source.index();
                by_source[idx] += amount;
                steps += s;
                if at > last_day_start {
                    last_day += amount;
                }
            }
            Record::PcaRequest { at, granted, .. } => {
                let d = day_of(i.started, at).min(days - 1);
                if granted {
                    granted_per_day[d] += 1;
                } else {
                    denied_per_day[d] += 1;
                }
            }
            Record::AlarmRaised {
                at,
                kind,
                priority,
                pressure_mmhg,
                time_to_alarm,
            } if priority != Priority::Info => alarms.push(AlarmEntry {
                kind,
                priority,
                at_h: hours(i.started, at),
                cleared_at_h: None,
                pressure_mmhg: pressure_mmhg.map(|p| (p * 10.0).round() / 10.0),
                time_to_alarm_min: time_to_alarm.map(|d| (d.ms() as f64 / 6_000.0).round() / 10.0),
            }),
            Record::AlarmCleared { at, kind } => {
                for a in alarms
                    .iter_mut()
                    .filter(|a| a.kind == kind && a.cleared_at_h.is_none())
                {
                    a.cleared_at_h = Some(hours(i.started, at));
                }
            }
            Record::PainScore { at, value } => scores.push(PainScore {
                at_h: hours(i.started, at),
                value,
            }),
            Record::SideEffect {
                at,
                effect,
                severity,
            } => side_effects.push(SideEffectEntry {
                effect,
                severity,
                at_h: hours(i.started, at),
            }),
            _ => {}
        }
    }
    let total: Amount = by_source.iter().copied().sum();
    let baseline = i.trial.baseline_pain;
    let last = scores.last().map(|s| s.value);
    let reduction_pct = match (baseline, last) {
        (Some(b), Some(f)) if b > 0 => {
            Some(((f64::from(b) - f64::from(f)) / f64::from(b) * 1000.0).round() / 10.0)
        }
        _ => None,
    };
    let span = i.ended.since(i.started).min(Duration::from_days(1));
    let effective = if span.is_zero() {
        0.0
    } else {
        mg(last_day) * Duration::from_days(1).ms() as f64 / span.ms() as f64
    };
    let at = |s: Source| by_source[s.index()];
    Summary {
        schema: SUMMARY_SCHEMA,
        simulated: i.simulated,
        trial: TrialInfo {
            patient: i.trial.patient.clone(),
            route: i.trial.route.to_string(),
            kind: i.trial.kind.to_string(),
            drug: i.program.drug.clone(),
            concentration_mg_per_ml: i.program.concentration.as_mg_per_ml_f64(),
            catheter_tip: i.trial.catheter_tip.clone(),
            started_at: virtual_time(i.started),
            ended_at: virtual_time(i.ended),
            duration_h: hours(i.started, i.ended),
        },
        delivered: Delivered {
            total_mg: mg(total),
            total_ml: (steps as f64 / i.steps_per_ml as f64 * 1e6).round() / 1e6,
            basal_mg: mg(at(Source::Basal) + at(Source::Kvo)),
            pca_mg: mg(at(Source::PatientBolus)),
            clinician_bolus_mg: mg(at(Source::ClinicianBolus)),
            scheduled_bolus_mg: mg(at(Source::ScheduledBolus)),
            per_day_mg: per_day.into_iter().map(mg).collect(),
        },
        pca: PcaCounts {
            requested: granted_per_day.iter().sum::<u32>() + denied_per_day.iter().sum::<u32>(),
            granted: granted_per_day.iter().sum(),
            denied: denied_per_day.iter().sum(),
            granted_per_day,
            denied_per_day,
        },
        alarms,
        pain: Pain {
            baseline,
            last,
            reduction_pct,
            responder: reduction_pct.map(|r| r >= 50.0),
            scores,
        },
        side_effects,
        reservoir: Reservoir {
            loaded_ml: i.loaded_ml,
            remaining_ml: (i.remaining_ml * 1e6).round() / 1e6,
        },
        effective_dose_mg_per_day: (effective * 1e6).round() / 1e6,
        effective_dose_rule: EFFECTIVE_DOSE_RULE,
    }
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
    let _ = writeln!(
        out,
        "\nAlarms:{}",
        if s.alarms.is_empty() { " none" } else { "" }
    );
    for a in &s.alarms {
        let _ = write!(out, "  {} {:?} at {} h", a.priority, a.kind, a.at_h);
        if let Some(c) = a.cleared_at_h {
            let _ = write!(out, ", cleared at {c} h");
        }
        if let Some(p) = a.pressure_mmhg {
            let _ = write!(out, ", {p} mmHg");
        }
        let _ = writeln!(out);
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
    let _ = writeln!(
        out,
        "Effective trial dose: {} per day ({})",
        amount(s.effective_dose_mg_per_day),
        s.effective_dose_rule
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_times_are_rfc3339() {
        assert_eq!(virtual_time(Timestamp::ORIGIN), "2000-01-01T00:00:00Z");
        assert_eq!(
            virtual_time(Timestamp::from_ms(31 * 86_400_000 + 3_723_000)),
            "2000-02-01T01:02:03Z"
        );
        assert_eq!(
            virtual_time(Timestamp::from_ms(366 * 86_400_000)),
            "2001-01-01T00:00:00Z"
        );
    }

    #[test]
    fn a_delivery_recorded_at_the_end_of_a_day_belongs_to_it() {
        let day = Duration::from_days(1).ms();
        assert_eq!(day_of(Timestamp::ORIGIN, Timestamp::from_ms(day)), 0);
        assert_eq!(day_of(Timestamp::ORIGIN, Timestamp::from_ms(day + 1)), 1);
    }
}
