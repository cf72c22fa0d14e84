//! The effective trial dose, by trial kind, with its basis, or why there is none.

use super::*;

/// What the effective trial dose is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The smallest bolus that met the criterion (an index into the bolus effects).
    Bolus(usize),
    /// The last stable period, reaching the end of the trial.
    StablePeriod(StablePeriod),
}

/// The effective trial dose per day, with its basis, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    pub basis: Option<Basis>,
    pub per_day: Option<AmountRate>,
    pub why_none: Option<String>,
}

/// A bolus trial's effective dose: the smallest bolus that met the criterion (the earliest of
/// equal ones), taken as a dose per day; none when none did or that bolus was not given whole.
pub fn effective_bolus(effects: &[BolusEffect], unit: MassUnit) -> Effective {
    let best = effects
        .iter()
        .enumerate()
        .filter(|(_, e)| e.responded)
        .min_by_key(|(_, e)| (e.bolus.delivered, e.bolus.at));
    match best {
        None => Effective {
            basis: None,
            per_day: None,
            why_none: Some(if effects.is_empty() {
                tr!("no bolus was given").to_owned()
            } else {
                tr!("no bolus met the response criterion").to_owned()
            }),
        },
        Some((i, e)) if !e.bolus.complete => Effective {
            basis: Some(Basis::Bolus(i)),
            per_day: None,
            why_none: Some(tr!(
                "the bolus that met the criterion was not given whole ({delivered} of {requested})",
                delivered = e.bolus.delivered.in_unit(unit),
                requested = e.bolus.requested.in_unit(unit)
            )),
        },
        Some((i, e)) => Effective {
            basis: Some(Basis::Bolus(i)),
            per_day: Some(AmountRate::from_ng_per_day(e.bolus.delivered.ng())),
            why_none: None,
        },
    }
}

/// A continuous trial's effective dose: what was given per day in the last stable period,
/// patient boluses included, when that period reaches the end; else none, and why.
pub fn effective_continuous(
    c: &ContinuousDose,
    stable_period: Duration,
    ended: Timestamp,
    unit: MassUnit,
) -> Effective {
    match c.stable {
        Some(s) if c.stable_to_end => Effective {
            basis: Some(Basis::StablePeriod(s)),
            per_day: Some(s.per_day()),
            why_none: None,
        },
        _ => Effective {
            basis: None,
            per_day: None,
            why_none: Some(tr!(
                "the basal rate at the end ({rate}) ran for {ran} only; the effective dose needs at least {needed} at one rate at the end of the trial",
                rate = c.in_force_at_end.per_day_in(unit),
                ran = hours_text(ended.since(c.since)),
                needed = hours_text(stable_period)
            )),
        },
    }
}
