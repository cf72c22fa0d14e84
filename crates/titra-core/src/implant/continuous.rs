//! A continuous trial's dose: the basal in force at the end and the last stable period.

use super::*;

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
    let ng =
        u128::from(amount.ng()) * u128::from(Duration::from_days(1).ms()) / u128::from(span.ms());
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
