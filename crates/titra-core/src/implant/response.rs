//! The response, bolus by bolus: which scores meet the criterion, and each bolus's onset,
//! peak and duration of effect.

use super::*;

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
            (OutcomeMeasure::Pain, None) => {
                Some(tr!("no pain score before the trial (baseline) was recorded").to_owned())
            }
            (OutcomeMeasure::Spasticity, None) => Some(
                tr!("no Modified Ashworth score before the trial (baseline) was recorded")
                    .to_owned(),
            ),
            (OutcomeMeasure::Pain, Some(0)) => {
                Some(tr!("the pain before the trial was 0: it cannot be lower").to_owned())
            }
            (OutcomeMeasure::Spasticity, Some(b)) if b < self.criterion.ashworth_fall.0 => {
                Some(tr!(
                    "the Ashworth score before the trial was {baseline}: it cannot fall by {fall}",
                    baseline = Points(b),
                    fall = self.criterion.ashworth_fall
                ))
            }
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
                u64::from(fall) * 100
                    >= u64::from(b) * u64::from(self.criterion.pain_reduction_percent)
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
            EffectDuration::NoResponse => tr!("no response").to_owned(),
            EffectDuration::Ended {
                last_response,
                ended,
            } => tr!(
                "{ended} (a response at {last}, no longer at {ended})",
                ended = hours_text(ended),
                last = hours_text(last_response)
            ),
            EffectDuration::StillPresent { last_seen } => tr!(
                "more than {seen} (still a response at the last score)",
                seen = hours_text(last_seen)
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
pub fn bolus_effects(
    boluses: &[BolusGiven],
    scores: &[Score],
    judge: &Judge<'_>,
) -> Vec<BolusEffect> {
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
