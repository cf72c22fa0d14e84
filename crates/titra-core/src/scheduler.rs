//! The delivery scheduler: a rate or an amount turned into motor steps, with no drift.
//!
//! The ideal step count of a rate is kept as an exact rational — whole steps plus a remainder
//! over a common denominator — and carried across rate changes and pauses, so rounding never
//! accumulates: whatever the rate (10 µL/day to 10 mL/h) and however long it runs, the steps
//! issued when each is due are the ideal rounded down, never more, never a whole step less.

use super::units::{Duration, Timestamp, Volume, VolumeRate};

/// Steps × this denominator is the unit the remainder is kept in: nL per mL (for the
/// mechanism's steps per mL) times ms per day (for rates per day).
const DENOM: u128 = 1_000_000 * 86_400_000;

/// The calibrated mechanism: how many motor steps push one millilitre.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepProfile {
    pub steps_per_ml: u64,
}

impl StepProfile {
    /// Whole steps in `v`, rounded down (a volume to push never grows).
    pub fn steps_for(self, v: Volume) -> u64 {
        let steps = u128::from(v.nl()) * u128::from(self.steps_per_ml) / 1_000_000;
        u64::try_from(steps).unwrap_or(u64::MAX)
    }

    /// The volume `steps` push, rounded up to the nL (a count of what left never shrinks).
    pub fn volume_of(self, steps: u64) -> Volume {
        let nl = (u128::from(steps) * 1_000_000).div_ceil(u128::from(self.steps_per_ml.max(1)));
        Volume::from_nl(u64::try_from(nl).unwrap_or(u64::MAX))
    }
}

/// Steps for a continuous rate, changed at any moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateScheduler {
    profile: StepProfile,
    rate: VolumeRate,
    /// Since `since`, the ideal grows at `rate`; before it, it had reached
    /// `whole + remainder / DENOM` steps.
    since: Timestamp,
    whole: u64,
    remainder: u128,
    issued: u64,
}

impl RateScheduler {
    pub fn new(profile: StepProfile, start: Timestamp) -> RateScheduler {
        RateScheduler {
            profile,
            rate: VolumeRate::ZERO,
            since: start,
            whole: 0,
            remainder: 0,
            issued: 0,
        }
    }

    pub fn rate(&self) -> VolumeRate {
        self.rate
    }

    /// Steps issued so far.
    pub fn issued(&self) -> u64 {
        self.issued
    }

    /// The ideal step count at `t` as whole steps and remainder (× DENOM).
    fn ideal(&self, t: Timestamp) -> (u64, u128) {
        let grown = u128::from(self.rate.nl_per_day())
            * u128::from(t.since(self.since).ms())
            * u128::from(self.profile.steps_per_ml);
        let total = self.remainder + grown;
        let whole = self.whole + u64::try_from(total / DENOM).unwrap_or(u64::MAX);
        (whole, total % DENOM)
    }

    /// The ideal number of whole steps by `t`.
    pub fn ideal_steps(&self, t: Timestamp) -> u64 {
        self.ideal(t).0
    }

    /// Changes the rate from `t` on (zero pauses it); what was due before `t` stays due.
    pub fn set_rate(&mut self, t: Timestamp, rate: VolumeRate) {
        let (whole, remainder) = self.ideal(t.max(self.since));
        self.whole = whole;
        self.remainder = remainder;
        self.since = t.max(self.since);
        self.rate = rate;
    }

    /// Steps due by `t` and not yet issued. The caller issues them (or fewer, if it must stop)
    /// and reports with [`RateScheduler::issue`].
    pub fn due(&self, t: Timestamp) -> u64 {
        self.ideal_steps(t).saturating_sub(self.issued)
    }

    pub fn issue(&mut self, steps: u64) {
        self.issued += steps;
    }

    /// Forgets steps that were due but not given (while delivery was held): the rate goes on
    /// from `t` without catching up, which would be a bolus.
    pub fn skip_to(&mut self, t: Timestamp) {
        self.set_rate(t, self.rate);
        self.issued = self.issued.max(self.whole);
    }

    /// When the next step falls due (`None` at zero rate).
    pub fn next_step_at(&self) -> Option<Timestamp> {
        if self.rate.is_zero() {
            return None;
        }
        let next = self.issued + 1;
        if next <= self.whole {
            return Some(self.since);
        }
        let target = u128::from(next - self.whole) * DENOM;
        let needed = target.saturating_sub(self.remainder);
        let per_ms = u128::from(self.rate.nl_per_day()) * u128::from(self.profile.steps_per_ml);
        let ms = needed.div_ceil(per_ms);
        Some(self.since + Duration::from_ms(u64::try_from(ms).unwrap_or(u64::MAX)))
    }
}

/// Steps for one bolus of a known number of steps, given at the bolus rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BolusScheduler {
    pub total: u64,
    inner: RateScheduler,
}

impl BolusScheduler {
    pub fn new(profile: StepProfile, start: Timestamp, volume: Volume, rate: VolumeRate) -> Self {
        let mut inner = RateScheduler::new(profile, start);
        inner.set_rate(start, rate);
        BolusScheduler {
            total: profile.steps_for(volume),
            inner,
        }
    }

    /// Steps due by `t`, never past the bolus's total.
    pub fn due(&self, t: Timestamp) -> u64 {
        self.inner
            .ideal_steps(t)
            .min(self.total)
            .saturating_sub(self.inner.issued())
    }

    pub fn issue(&mut self, steps: u64) {
        self.inner.issue(steps);
    }

    pub fn issued(&self) -> u64 {
        self.inner.issued()
    }

    pub fn is_done(&self) -> bool {
        self.inner.issued() >= self.total
    }

    pub fn next_step_at(&self) -> Option<Timestamp> {
        if self.is_done() {
            None
        } else {
            self.inner.next_step_at()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PROFILE: StepProfile = StepProfile {
        steps_per_ml: 14_400,
    };

    fn ms(t: u64) -> Timestamp {
        Timestamp::from_ms(t)
    }

    #[test]
    fn a_bolus_gives_its_steps_at_its_rate_and_then_is_done() {
        // 0.05 mL = 720 steps at 1 mL/h: one step every 250 ms, done after 3 minutes.
        let rate: VolumeRate = "1 mL/h".parse().unwrap();
        let mut b = BolusScheduler::new(PROFILE, ms(0), Volume::from_ul(50), rate);
        assert_eq!(b.total, 720);
        assert_eq!(b.issued(), 0);
        assert!(!b.is_done());
        assert_eq!(b.next_step_at(), Some(ms(250)));
        assert_eq!(b.due(ms(1_000)), 4);
        b.issue(4);
        assert_eq!(b.issued(), 4);
        assert_eq!(b.next_step_at(), Some(ms(1_250)));
        let rest = b.due(ms(3_600_000));
        assert_eq!(rest, 716, "never past the total");
        b.issue(rest);
        assert!(b.is_done());
        assert_eq!(b.next_step_at(), None);
        let mut r = RateScheduler::new(PROFILE, ms(0));
        assert_eq!(r.rate(), VolumeRate::ZERO);
        r.set_rate(ms(0), rate);
        assert_eq!(r.rate(), rate);
    }

    #[test]
    fn steps_and_volumes_round_towards_safety() {
        assert_eq!(PROFILE.steps_for(Volume::from_ml(1)), 14_400);
        assert_eq!(PROFILE.steps_for(Volume::from_nl(69)), 0);
        assert_eq!(PROFILE.volume_of(1), Volume::from_nl(70));
        assert_eq!(PROFILE.volume_of(14_400), Volume::from_ml(1));
    }

    #[test]
    fn a_day_at_1_ml_per_day_is_exactly_one_ml_of_steps() {
        let mut s = RateScheduler::new(PROFILE, ms(0));
        s.set_rate(ms(0), "1 mL/day".parse().unwrap());
        assert_eq!(s.due(ms(86_400_000)), 14_400);
        // 1 step every 6 s exactly.
        assert_eq!(s.next_step_at(), Some(ms(6_000)));
        assert_eq!(s.due(ms(5_999)), 0);
        assert_eq!(s.due(ms(6_000)), 1);
    }

    #[test]
    fn rate_changes_and_pauses_keep_the_remainder() {
        let mut s = RateScheduler::new(PROFILE, ms(0));
        s.set_rate(ms(0), "1 mL/day".parse().unwrap());
        // Half a step in, pause for an hour, resume: the half step is not lost.
        s.set_rate(ms(3_000), VolumeRate::ZERO);
        assert_eq!(s.next_step_at(), None);
        s.set_rate(ms(3_603_000), "1 mL/day".parse().unwrap());
        assert_eq!(s.next_step_at(), Some(ms(3_606_000)));
    }

    #[test]
    fn holding_skips_what_was_missed_rather_than_catching_up() {
        let mut s = RateScheduler::new(PROFILE, ms(0));
        s.set_rate(ms(0), "1 mL/day".parse().unwrap());
        assert_eq!(s.due(ms(60_000)), 10);
        s.skip_to(ms(60_000));
        assert_eq!(s.due(ms(60_000)), 0);
        assert_eq!(s.due(ms(66_000)), 1);
    }

    #[test]
    fn a_bolus_stops_at_its_total() {
        let mut b = BolusScheduler::new(
            PROFILE,
            ms(0),
            "50 uL".parse().unwrap(),
            "1 mL/h".parse().unwrap(),
        );
        assert_eq!(b.total, 720);
        // 1 mL/h = 4 steps per second.
        assert_eq!(b.due(ms(1_000)), 4);
        assert_eq!(b.due(ms(86_400_000)), 720);
        b.issue(720);
        assert!(b.is_done());
        assert_eq!(b.next_step_at(), None);
    }

    proptest! {
        /// From 10 µL/day to 10 mL/h, over up to 30 days with rate changes: issuing each step
        /// when it falls due keeps the issued count within one step of the exact ideal at every
        /// moment, and equal to its floor at each step.
        #[test]
        fn no_drift_at_any_rate(
            rates in proptest::collection::vec(10_000u64..=240_000_000, 1..4),
            span_days in 1u64..=30,
        ) {
            let mut s = RateScheduler::new(PROFILE, ms(0));
            let segment = span_days * 86_400_000 / rates.len() as u64;
            let mut exact_steps_scaled: u128 = 0; // steps × DENOM, computed independently
            let mut t = 0u64;
            for &r in &rates {
                s.set_rate(ms(t), VolumeRate::from_nl_per_day(r));
                // Jump from step to step, checking a sample of them (all would be slow at 10 mL/h).
                let end = t + segment;
                let mut probes = 0;
                while let Some(next) = s.next_step_at() {
                    if next.ms() > end || probes > 2_000 {
                        break;
                    }
                    let due = s.due(next);
                    prop_assert_eq!(due, 1, "exactly one step falls due at its time");
                    prop_assert_eq!(s.due(ms(next.ms() - 1)), 0);
                    s.issue(due);
                    probes += 1;
                    if probes % 100 == 0 {
                        // Skip far ahead: issue everything due, as a batch would.
                        let later = ms((next.ms() + segment / 7).min(end));
                        let d = s.due(later);
                        s.issue(d);
                    }
                }
                exact_steps_scaled += u128::from(r) * u128::from(segment) * u128::from(PROFILE.steps_per_ml);
                t = end;
                let d = s.due(ms(t));
                s.issue(d);
                prop_assert_eq!(u128::from(s.issued()), exact_steps_scaled / DENOM);
            }
        }
    }
}
