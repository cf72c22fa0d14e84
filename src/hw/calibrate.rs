//! `titra calibrate`: the gravimetric procedure of CLINICAL.md. The pump runs at a set rate into
//! a container on a balance; what it delivered, weighed (water: 1 g/mL), gives the mechanism's
//! steps per mL, and the weight logged over the run gives the trumpet curve (IEC 60601-2-24: the
//! largest and smallest % error of the volume over sliding windows).
//!
//! The computations are plain functions; the run itself takes any [`PumpHardware`] and a
//! balance. On the simulator both are the model (the balance reads what truly left the syringe),
//! in virtual time; on the pump the technician weighs by hand.

use crate::core::units::{Duration, Timestamp, VolumeRate};
use crate::hw::{Direction, HwError, PumpHardware};

/// Water at room temperature, g/mL (the standard's test liquid).
pub const WATER_G_PER_ML: f64 = 1.0;

/// The sliding windows of the trumpet curve, minutes.
pub(crate) const TRUMPET_WINDOWS: [u64; 5] = [2, 5, 11, 19, 31];

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrationError {
    #[error("weight: {grams} g is not a weight the run could have delivered (it must be above 0)")]
    NoWeight { grams: f64 },
    #[error(
        "the run gives {measured} steps per mL, {percent:.0} % away from the profile's {current}: more than {limit} % — check the syringe, the balance and the line for leaks before trusting it"
    )]
    TooFar {
        measured: u64,
        current: u64,
        percent: f64,
        limit: u64,
    },
    #[error("the hardware profile has no single \"steps_per_ml = …\" line to update")]
    NoLine,
    #[error(transparent)]
    Hardware(#[from] HwError),
}

/// How far a calibration may move steps per mL from the profile before it is refused as a
/// setup error rather than a calibration.
pub(crate) const MAX_CHANGE_PCT: u64 = 20;

/// Steps per mL from `steps` that delivered `grams` of a liquid of `density`, checked against
/// the profile's `current` value.
pub fn steps_per_ml(
    steps: u64,
    grams: f64,
    density: f64,
    current: u64,
) -> Result<u64, CalibrationError> {
    if grams.is_nan() || grams <= 0.0 || !grams.is_finite() {
        return Err(CalibrationError::NoWeight { grams });
    }
    let measured = (steps as f64 * density / grams).round() as u64;
    let percent = (measured as f64 / current as f64 - 1.0) * 100.0;
    if percent.abs() > MAX_CHANGE_PCT as f64 {
        return Err(CalibrationError::TooFar {
            measured,
            current,
            percent,
            limit: MAX_CHANGE_PCT,
        });
    }
    Ok(measured)
}

/// One point of the trumpet curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrumpetPoint {
    pub window_min: u64,
    pub max_pct: f64,
    pub min_pct: f64,
}

/// The trumpet curve of evenly spaced balance readings `(ms from the start, grams)` against
/// the nominal rate.
pub fn trumpet(samples: &[(u64, f64)], nominal_ml_per_h: f64, density: f64) -> Vec<TrumpetPoint> {
    let Some(step_ms) = samples.get(1).map(|s| s.0.saturating_sub(samples[0].0)) else {
        return Vec::new();
    };
    if step_ms == 0 {
        return Vec::new();
    }
    TRUMPET_WINDOWS
        .iter()
        .filter_map(|&minutes| {
            let span = usize::try_from(minutes * 60_000 / step_ms).ok()?;
            if span == 0 || samples.len() <= span {
                return None;
            }
            let expected_ml = nominal_ml_per_h * minutes as f64 / 60.0;
            let errors: Vec<f64> = samples
                .windows(span + 1)
                .map(|w| ((w[span].1 - w[0].1) / density / expected_ml - 1.0) * 100.0)
                .collect();
            Some(TrumpetPoint {
                window_min: minutes,
                max_pct: errors.iter().copied().fold(f64::MIN, f64::max),
                min_pct: errors.iter().copied().fold(f64::MAX, f64::min),
            })
        })
        .collect()
}

/// A gravimetric run: the steps given, the balance's readings `(ms, grams)` and the steps given
/// by each reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub steps: u64,
    pub samples: Vec<(u64, f64)>,
    pub steps_at: Vec<u64>,
}

impl Run {
    /// Steps per mL measured after `settle` (the line fills and its pressure builds first, as
    /// the standard's stabilisation period allows): the steps given from then to the end over
    /// the weight gained.
    pub fn steps_per_ml(
        &self,
        settle: Duration,
        density: f64,
        current: u64,
    ) -> Result<u64, CalibrationError> {
        let from = self
            .samples
            .iter()
            .position(|s| s.0 >= settle.ms())
            .unwrap_or(0);
        let (Some(first), Some(last)) = (self.samples.get(from), self.samples.last()) else {
            return Err(CalibrationError::NoWeight { grams: 0.0 });
        };
        let steps = self.steps.saturating_sub(self.steps_at[from]);
        steps_per_ml(steps, last.1 - first.1, density, current)
    }
}

/// Runs the mechanism at `rate` for `length`, stepping on time, reading `balance` every
/// `every`. `advance` lets the hardware's time pass (virtual on the simulator).
pub fn run<H: PumpHardware>(
    hw: &mut H,
    steps_per_ml: u64,
    rate: VolumeRate,
    length: Duration,
    every: Duration,
    balance: &mut dyn FnMut(&H) -> f64,
) -> Result<Run, HwError> {
    // Nanolitres per day × steps per mL / 1e6 = steps per day.
    let steps_per_day = u128::from(rate.nl_per_day()) * u128::from(steps_per_ml) / 1_000_000;
    let total =
        u64::try_from(steps_per_day * u128::from(length.ms()) / 86_400_000).unwrap_or(u64::MAX);
    let mut samples = vec![(0, balance(hw))];
    let mut steps_at = vec![0];
    let mut given = 0u64;
    let mut next_sample = every.ms();
    hw.set_motor_enabled(true)?;
    for i in 1..=total {
        // Step i is due when i steps' worth of time has passed.
        let due =
            u64::try_from(u128::from(i) * 86_400_000 / steps_per_day.max(1)).unwrap_or(u64::MAX);
        while next_sample <= due && next_sample <= length.ms() {
            hw.advance_to(Timestamp::from_ms(next_sample));
            samples.push((next_sample, balance(hw)));
            steps_at.push(given);
            next_sample += every.ms();
        }
        hw.advance_to(Timestamp::from_ms(due));
        hw.step(Direction::Forward, 1)?;
        given += 1;
    }
    while next_sample <= length.ms() {
        hw.advance_to(Timestamp::from_ms(next_sample));
        samples.push((next_sample, balance(hw)));
        steps_at.push(given);
        next_sample += every.ms();
    }
    hw.set_motor_enabled(false)?;
    Ok(Run {
        steps: given,
        samples,
        steps_at,
    })
}

/// The hardware profile's text with `steps_per_ml` replaced, its comments kept.
pub fn write_steps_per_ml(profile: &str, value: u64) -> Result<String, CalibrationError> {
    let mut found = 0;
    let lines: Vec<String> = profile
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("steps_per_ml") && l.contains('=') {
                found += 1;
                format!("steps_per_ml = {value}")
            } else {
                l.to_owned()
            }
        })
        .collect();
    if found != 1 {
        return Err(CalibrationError::NoLine);
    }
    let mut out = lines.join("\n");
    if profile.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_per_ml_from_a_weighing_and_its_sanity_check() {
        // 14 400 steps delivered 0.98 g of water: 14 694 steps per mL.
        assert_eq!(steps_per_ml(14_400, 0.98, 1.0, 14_400).unwrap(), 14_694);
        assert!(matches!(
            steps_per_ml(14_400, 0.0, 1.0, 14_400),
            Err(CalibrationError::NoWeight { .. })
        ));
        assert!(matches!(
            steps_per_ml(14_400, f64::NAN, 1.0, 14_400),
            Err(CalibrationError::NoWeight { .. })
        ));
        let far = steps_per_ml(14_400, 0.5, 1.0, 14_400).unwrap_err();
        assert!(far.to_string().contains("100 % away"), "{far}");
    }

    #[test]
    fn a_perfect_pump_has_a_flat_trumpet() {
        // 1 mL/h exactly, a reading every 30 s for an hour.
        let samples: Vec<(u64, f64)> = (0..=120)
            .map(|i| (i * 30_000, i as f64 * 30.0 / 3600.0))
            .collect();
        let t = trumpet(&samples, 1.0, 1.0);
        assert_eq!(t.len(), 5);
        for p in t {
            assert!(p.max_pct.abs() < 1e-9 && p.min_pct.abs() < 1e-9, "{p:?}");
        }
        // 2 % fast throughout: every window reads +2 %.
        let fast: Vec<(u64, f64)> = samples.iter().map(|&(t, g)| (t, g * 1.02)).collect();
        assert!(
            trumpet(&fast, 1.0, 1.0)
                .iter()
                .all(|p| (p.max_pct - 2.0).abs() < 1e-9)
        );
    }

    #[test]
    fn the_profile_keeps_its_comments_when_calibrated() {
        let text =
            "[mechanism]\n# Calibrate on the bench.\nsteps_per_ml = 14400\nsyringe = \"20 mL\"\n";
        let out = write_steps_per_ml(text, 14694).unwrap();
        assert_eq!(
            out,
            "[mechanism]\n# Calibrate on the bench.\nsteps_per_ml = 14694\nsyringe = \"20 mL\"\n"
        );
        assert!(matches!(
            write_steps_per_ml("x = 1\n", 1),
            Err(CalibrationError::NoLine)
        ));
    }
}
