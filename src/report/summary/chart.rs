//! What the clinician's chart screen draws: dose and pain over a continuous trial
//! ([`History`]), or the response to each bolus of a bolus trial ([`BolusResponse`]).

use super::*;

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
    /// When each bolus began (patient, scheduled or clinician's), ms from the start.
    #[serde(default)]
    pub boluses: Vec<u64>,
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
    let mut boluses = Vec::new();
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
            Record::BolusStarted { at, .. } if *at >= started && *at <= now => {
                boluses.push(at.since(started).ms());
            }
            _ => {}
        }
    }
    History {
        bucket_ms,
        doses_ng: doses,
        pain,
        boluses,
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
                dose: crate::report::pdf::show_given(b.dose_mg, unit),
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
