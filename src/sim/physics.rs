//! What a real line does that the basic model does not (issue 20, part 2): load-cell drift,
//! plunger stiction at start-up, a partial occlusion building over hours, intermittent kinks, and
//! pressure spikes from movement and coughing. Each is a key of the hardware profile's
//! `[simulation]` table, off (0) unless set, and deterministic under its `seed`: every random
//! event is drawn from its own time slot's generator, so the same profile gives the same line
//! whatever the pump reads or when.

use std::f64::consts::TAU;

use crate::core::units::Timestamp;
pub use crate::input::hardware::Disturbances;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const MIN_MS: u64 = 60_000;
const HOUR_MS: f64 = 3_600_000.0;
const DAY_MS: f64 = 24.0 * HOUR_MS;

impl Disturbances {
    /// The load cell's offset at `t`: what it reads above the line's true pressure.
    pub fn drift_mmhg(&self, t: Timestamp) -> f64 {
        let ms = t.ms() as f64;
        self.drift_mmhg_per_h * ms / HOUR_MS + self.drift_daily_mmhg * (TAU * ms / DAY_MS).sin()
    }

    /// The catheter's resistance at `t`, as a multiple of its nominal value.
    pub fn resistance_factor(&self, t: Timestamp) -> f64 {
        match self.partial_occlusion_from_h {
            Some(from) => {
                let after_h = (t.ms() as f64 / HOUR_MS - from).max(0.0);
                1.0 + self.partial_occlusion_per_h * after_h
            }
            None => 1.0,
        }
    }

    /// The kink of the slot holding `t`, as (start, end) in ms: one kink a slot of
    /// `kink_every_h`, starting at a random moment of it that leaves room for the kink.
    fn kink_of_slot(&self, slot: u64, seed: u64) -> (u64, u64) {
        let every = (self.kink_every_h * HOUR_MS) as u64;
        let length = (self.kink_min * MIN_MS as f64) as u64;
        let room = every.saturating_sub(length).max(1);
        let offset = slot_rng(seed, KINK, slot).random_range(0..room);
        let start = slot * every + offset;
        (start, start + length)
    }

    /// Whether the line is kinked at `t`.
    pub fn kinked(&self, t: Timestamp, seed: u64) -> bool {
        if self.kink_every_h <= 0.0 || self.kink_min <= 0.0 {
            return false;
        }
        let every = (self.kink_every_h * HOUR_MS) as u64;
        let (start, end) = self.kink_of_slot(t.ms() / every.max(1), seed);
        (start..end).contains(&t.ms())
    }

    /// The next moment after `t` (and no later than `until`) at which a kink starts or ends:
    /// the line's drainage is worked out piece by piece between them.
    pub fn next_kink_edge(&self, t: Timestamp, until: Timestamp, seed: u64) -> Timestamp {
        if self.kink_every_h <= 0.0 || self.kink_min <= 0.0 {
            return until;
        }
        let every = ((self.kink_every_h * HOUR_MS) as u64).max(1);
        let slot = t.ms() / every;
        for s in [slot, slot + 1] {
            let (start, end) = self.kink_of_slot(s, seed);
            for edge in [start, end] {
                if edge > t.ms() {
                    return Timestamp::from_ms(edge.min(until.ms()));
                }
            }
        }
        until
    }

    /// The spikes' part of a reading at `t`: each spike of the last few time constants, decayed.
    pub fn spike_mmhg(&self, t: Timestamp, seed: u64) -> f64 {
        if self.spikes_per_h <= 0.0 || self.spike_mmhg <= 0.0 || self.spike_s <= 0.0 {
            return 0.0;
        }
        let chance = self.spikes_per_h / 60.0;
        let tau_ms = self.spike_s * 1000.0;
        let look_back = ((5.0 * tau_ms) as u64 / MIN_MS) + 1;
        let now = t.ms() / MIN_MS;
        let mut total = 0.0;
        for minute in now.saturating_sub(look_back)..=now {
            let mut rng = slot_rng(seed, SPIKE, minute);
            if rng.random::<f64>() >= chance {
                continue;
            }
            let at = minute * MIN_MS + rng.random_range(0..MIN_MS);
            if at <= t.ms() {
                total += self.spike_mmhg * (-((t.ms() - at) as f64) / tau_ms).exp();
            }
        }
        total
    }

    /// How many spikes start in `[from, to)`: for tests and the benchmark's account.
    pub fn spikes_between(&self, from: Timestamp, to: Timestamp, seed: u64) -> u64 {
        if self.spikes_per_h <= 0.0 {
            return 0;
        }
        let chance = self.spikes_per_h / 60.0;
        (from.ms() / MIN_MS..to.ms().div_ceil(MIN_MS))
            .filter(|&minute| {
                let mut rng = slot_rng(seed, SPIKE, minute);
                if rng.random::<f64>() >= chance {
                    return false;
                }
                let at = minute * MIN_MS + rng.random_range(0..MIN_MS);
                (from.ms()..to.ms()).contains(&at)
            })
            .count() as u64
    }
}

/// Which disturbance a slot's generator serves (so that kinks and spikes never share draws).
const KINK: u64 = 0x6b69_6e6b;
const SPIKE: u64 = 0x7370_696b;

/// The generator of one time slot of one disturbance, from the profile's seed.
fn slot_rng(seed: u64, what: u64, slot: u64) -> StdRng {
    let mixed = seed
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(what.rotate_left(32))
        ^ slot.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    StdRng::seed_from_u64(mixed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(hours: f64) -> Timestamp {
        Timestamp::from_ms((hours * HOUR_MS) as u64)
    }

    #[test]
    fn everything_is_off_unless_set() {
        let d = Disturbances::default();
        assert_eq!(d.check(), Ok(()));
        for t in [h(0.0), h(3.5), h(100.0)] {
            assert_eq!(d.drift_mmhg(t), 0.0);
            assert_eq!(d.resistance_factor(t), 1.0);
            assert!(!d.kinked(t, 1));
            assert_eq!(d.spike_mmhg(t, 1), 0.0);
        }
    }

    #[test]
    fn drift_creeps_and_swings_with_the_day() {
        let d = Disturbances {
            drift_mmhg_per_h: 0.5,
            drift_daily_mmhg: 2.0,
            ..Disturbances::default()
        };
        // 0.5 mmHg/h for 6 h, and the day's sine at its top (6 h is a quarter of 24 h).
        assert!((d.drift_mmhg(h(6.0)) - (3.0 + 2.0)).abs() < 1e-9);
        assert!((d.drift_mmhg(h(18.0)) - (9.0 - 2.0)).abs() < 1e-9);
    }

    #[test]
    fn a_partial_occlusion_raises_the_resistance_from_its_start() {
        let d = Disturbances {
            partial_occlusion_from_h: Some(2.0),
            partial_occlusion_per_h: 0.5,
            ..Disturbances::default()
        };
        assert_eq!(d.resistance_factor(h(1.0)), 1.0);
        assert!((d.resistance_factor(h(4.0)) - 2.0).abs() < 1e-9);
        assert!((d.resistance_factor(h(10.0)) - 5.0).abs() < 1e-9);
    }

    #[test]
    fn one_kink_a_slot_of_its_length_the_same_under_the_same_seed() {
        let d = Disturbances {
            kink_every_h: 2.0,
            kink_min: 10.0,
            ..Disturbances::default()
        };
        // Minute by minute over 20 h: ten kinks of ten minutes each.
        let kinked: Vec<bool> = (0..20 * 60)
            .map(|m| d.kinked(Timestamp::from_ms(m * MIN_MS + 30_000), 7))
            .collect();
        let minutes = kinked.iter().filter(|&&k| k).count();
        assert!((99..=101).contains(&minutes), "{minutes}");
        let starts = kinked.windows(2).filter(|w| !w[0] && w[1]).count() + usize::from(kinked[0]);
        assert_eq!(starts, 10);
        // The same seed, the same kinks; another seed, others.
        let again: Vec<bool> = (0..20 * 60)
            .map(|m| d.kinked(Timestamp::from_ms(m * MIN_MS + 30_000), 7))
            .collect();
        assert_eq!(kinked, again);
        let other: Vec<bool> = (0..20 * 60)
            .map(|m| d.kinked(Timestamp::from_ms(m * MIN_MS + 30_000), 8))
            .collect();
        assert_ne!(kinked, other);
        // The edges bound the kinks: between two edges the line is one way throughout.
        let mut t = h(0.0);
        while t < h(20.0) {
            let next = d.next_kink_edge(t, h(20.0), 7);
            assert!(next > t);
            let mid = Timestamp::from_ms((t.ms() + next.ms()) / 2);
            assert_eq!(d.kinked(t, 7), d.kinked(mid, 7), "{t} to {next}");
            t = next;
        }
        // A kink as long as its slot would never let the line open: refused.
        let never = Disturbances {
            kink_every_h: 1.0,
            kink_min: 60.0,
            ..Disturbances::default()
        };
        assert!(never.check().unwrap_err().contains("simulation.kink_min"));
    }

    #[test]
    fn spikes_come_at_their_rate_and_decay() {
        let d = Disturbances {
            spikes_per_h: 6.0,
            spike_mmhg: 20.0,
            spike_s: 2.0,
            ..Disturbances::default()
        };
        // 6 an hour over 100 h: about 600 (a binomial of 6 000 minutes at 1/10: σ ≈ 23).
        let n = d.spikes_between(h(0.0), h(100.0), 3);
        assert!((500..=700).contains(&n), "{n}");
        assert_eq!(n, d.spikes_between(h(0.0), h(100.0), 3), "the same seed");
        // Where one starts, the reading jumps by its height and has nearly gone 20 s later.
        let start = (0..100 * 60 * 60)
            .map(|s| Timestamp::from_ms(s * 1000))
            .find(|&t| d.spike_mmhg(t, 3) > 10.0)
            .unwrap();
        assert!(d.spike_mmhg(start, 3) <= 20.0 + 1e-9);
        assert!(d.spike_mmhg(start + crate::core::units::Duration::from_secs(20), 3) < 0.01);
        assert!(
            Disturbances {
                spikes_per_h: 61.0,
                ..d
            }
            .check()
            .is_err()
        );
    }
}
