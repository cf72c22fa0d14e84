//! Downstream occlusion detection, fast even at intrathecal rates.
//!
//! A fixed pressure threshold alone is slow at 10–100 µL/h: with a syringe compliance of
//! 2 µL/mmHg a blocked line gains only 5–50 mmHg an hour (CLINICAL.md), so a threshold of a few
//! hundred mmHg takes hours. The detector therefore also follows the *trend*: it keeps a model
//! of the open line — each pushed volume raises the pressure by `V / C`, which then drains
//! through the catheter with time constant `R·C` — and fits a straight line to the difference
//! between the measured pressure and the model's over a sliding window. An open line leaves no
//! growing difference (steady flow, boluses and their decay are all in the model; a model that
//! is off by a constant leaves a constant difference, which is learned as the baseline); a
//! blocked line makes it grow at the pumping rate over the compliance. The alarm is raised when
//! the difference has risen above its baseline by enough to matter and its rise is significant
//! against the noise (the t-statistic of the fitted slope), or at once when the pressure crosses
//! the threshold.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::units::{Duration, Timestamp};

/// The detector's settings (config/hardware.toml `[occlusion]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OcclusionSettings {
    pub threshold_mmhg: f64,
    pub window: Duration,
    pub min_rise_mmhg: f64,
    pub min_t: f64,
    /// The model of the open line.
    pub compliance_ul_per_mmhg: f64,
    pub resistance_mmhg_per_ml_h: f64,
}

impl OcclusionSettings {
    /// The open line's time constant `R·C`, in seconds.
    pub fn time_constant_s(&self) -> f64 {
        // mmHg per (mL/h) → mmHg per (µL/s): × 3600 s/h ÷ 1000 µL/mL.
        self.resistance_mmhg_per_ml_h * 3.6 * self.compliance_ul_per_mmhg
    }
}

/// Why the alarm was raised.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Trip {
    /// The pressure crossed the threshold.
    Threshold { pressure_mmhg: f64 },
    /// The pressure rose above the open line's model by `rise_mmhg` over the window.
    Trend { pressure_mmhg: f64, rise_mmhg: f64 },
}

/// A trip with the detector's estimate of how long ago the blockage began: where the fitted
/// rise above the open line's model started from zero.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub trip: Trip,
    pub since_onset: Option<Duration>,
}

impl Trip {
    pub fn pressure_mmhg(&self) -> f64 {
        match *self {
            Trip::Threshold { pressure_mmhg } | Trip::Trend { pressure_mmhg, .. } => pressure_mmhg,
        }
    }
}

#[derive(Debug, Clone)]
pub struct OcclusionDetector {
    s: OcclusionSettings,
    /// The open-line model's pressure at `model_at`.
    model_mmhg: f64,
    model_at: Option<Timestamp>,
    /// (time in s since `origin`, measured − model) within the window.
    points: VecDeque<(f64, f64)>,
    origin: Option<Timestamp>,
    /// The usual difference between measured and model, learned while no trend shows.
    baseline: Option<f64>,
}

impl OcclusionDetector {
    pub fn new(settings: OcclusionSettings) -> OcclusionDetector {
        OcclusionDetector {
            s: settings,
            model_mmhg: 0.0,
            model_at: None,
            points: VecDeque::new(),
            origin: None,
            baseline: None,
        }
    }

    pub fn settings(&self) -> &OcclusionSettings {
        &self.s
    }

    /// The model's expected pressure now.
    pub fn model_mmhg(&self) -> f64 {
        self.model_mmhg
    }

    fn drain_to(&mut self, t: Timestamp) {
        if let Some(at) = self.model_at {
            let dt = t.since(at).ms() as f64 / 1000.0;
            self.model_mmhg *= (-dt / self.s.time_constant_s()).exp();
        }
        self.model_at = Some(t);
    }

    /// The mechanism pushed `volume_ul` (negative when it backed off) at `t`.
    pub fn pumped(&mut self, t: Timestamp, volume_ul: f64) {
        self.drain_to(t);
        self.model_mmhg = (self.model_mmhg + volume_ul / self.s.compliance_ul_per_mmhg).max(0.0);
    }

    /// Forgets the trend (after an alarm was handled, a back-off, or a pause), and restarts the
    /// model from the measured pressure.
    pub fn restart(&mut self, t: Timestamp, measured_mmhg: f64) {
        self.points.clear();
        self.origin = None;
        self.baseline = None;
        self.model_mmhg = measured_mmhg.max(0.0);
        self.model_at = Some(t);
    }

    /// A sensor reading, with the estimated onset when the alarm must be raised.
    pub fn detect(&mut self, t: Timestamp, measured_mmhg: f64) -> Option<Detection> {
        let trip = self.reading(t, measured_mmhg)?;
        let since_onset = fit(&self.points).and_then(|(slope, _)| {
            let &(x_last, _) = self.points.back()?;
            let n = self.points.len() as f64;
            let mean_x = self.points.iter().map(|p| p.0).sum::<f64>() / n;
            let mean_y = self.points.iter().map(|p| p.1).sum::<f64>() / n;
            // Where the fitted line crosses zero, if it rises.
            (slope > 0.0).then(|| {
                let x0 = mean_x - mean_y / slope;
                Duration::from_ms(((x_last - x0).max(0.0) * 1000.0) as u64)
            })
        });
        Some(Detection { trip, since_onset })
    }

    /// A sensor reading. Returns a trip when the alarm must be raised.
    pub fn reading(&mut self, t: Timestamp, measured_mmhg: f64) -> Option<Trip> {
        if measured_mmhg >= self.s.threshold_mmhg {
            return Some(Trip::Threshold {
                pressure_mmhg: measured_mmhg,
            });
        }
        self.drain_to(t);
        let origin = *self.origin.get_or_insert(t);
        let x = t.since(origin).ms() as f64 / 1000.0;
        self.points.push_back((x, measured_mmhg - self.model_mmhg));
        let window_s = self.s.window.ms() as f64 / 1000.0;
        while let Some(&(x0, _)) = self.points.front() {
            if x - x0 > window_s {
                self.points.pop_front();
            } else {
                break;
            }
        }
        let (slope, t_stat) = fit(&self.points)?;
        // Judge only a full window, so that a short burst of noise cannot look like a trend.
        let first = self.points.front()?.0;
        let span = x - first;
        if span < window_s * 0.9 {
            return None;
        }
        let mean_x = self.points.iter().map(|p| p.0).sum::<f64>() / self.points.len() as f64;
        let mean_y = self.points.iter().map(|p| p.1).sum::<f64>() / self.points.len() as f64;
        let now_fitted = mean_y + slope * (x - mean_x);
        let window_start_fitted = mean_y + slope * (first - mean_x);
        // The baseline follows the difference slowly, and only while it shows no trend, so a
        // blockage cannot teach it to ignore the blockage.
        let baseline = *self.baseline.get_or_insert(window_start_fitted);
        if t_stat < 2.0 {
            // An exponential average with a time constant of one window.
            let dt = x - self.points.iter().rev().nth(1).map_or(x, |p| p.0);
            let weight = (dt / window_s).min(1.0);
            self.baseline = Some(baseline + (now_fitted - baseline) * weight);
        }
        let rise = now_fitted - baseline;
        (rise >= self.s.min_rise_mmhg && t_stat >= self.s.min_t).then_some(Trip::Trend {
            pressure_mmhg: measured_mmhg,
            rise_mmhg: rise,
        })
    }
}

/// Least-squares slope of the points and its t-statistic (slope over its standard error).
fn fit(points: &VecDeque<(f64, f64)>) -> Option<(f64, f64)> {
    let n = points.len();
    if n < 5 {
        return None;
    }
    let nf = n as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / nf;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / nf;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = mean_y - slope * mean_x;
    let sse: f64 = points
        .iter()
        .map(|p| (p.1 - intercept - slope * p.0).powi(2))
        .sum();
    let se = (sse / (nf - 2.0) / sxx).sqrt();
    // A perfectly noiseless line has no error: treat its t as large.
    let t = if se > 0.0 {
        slope / se
    } else if slope > 0.0 {
        f64::INFINITY
    } else {
        0.0
    };
    Some((slope, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> OcclusionSettings {
        OcclusionSettings {
            threshold_mmhg: 300.0,
            window: Duration::from_mins(20),
            min_rise_mmhg: 8.0,
            min_t: 6.0,
            compliance_ul_per_mmhg: 2.0,
            resistance_mmhg_per_ml_h: 20.0,
        }
    }

    /// A deterministic noise sequence in ±amplitude.
    fn noise(i: u64, amplitude: f64) -> f64 {
        let x = (i
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407)
            >> 33) as f64
            / (1u64 << 31) as f64;
        (x - 0.5) * 2.0 * amplitude
    }

    #[test]
    fn the_threshold_trips_at_once() {
        let mut d = OcclusionDetector::new(settings());
        assert_eq!(
            d.reading(Timestamp::from_ms(1000), 310.0),
            Some(Trip::Threshold {
                pressure_mmhg: 310.0
            })
        );
    }

    #[test]
    fn a_blocked_line_at_an_intrathecal_rate_trips_on_its_trend() {
        // 0.1 mL/h into 2 µL/mmHg: +50 mmHg per hour once blocked.
        let mut d = OcclusionDetector::new(settings());
        let mut pressure = 0.0;
        let mut tripped_at = None;
        for i in 0..(6 * 360) {
            let t = Timestamp::from_ms(i * 10_000);
            // 10 s of pumping at 0.1 mL/h = 0.2778 µL.
            let v = 100.0 / 360.0;
            d.pumped(t, v);
            pressure += v / 2.0;
            if let Some(trip) = d.reading(t, pressure + noise(i, 1.5)) {
                tripped_at = Some((i * 10, trip));
                break;
            }
        }
        let (seconds, trip) = tripped_at.expect("trips");
        assert!(matches!(trip, Trip::Trend { .. }), "{trip:?}");
        // A full window must pass; then the rise of about 16 mmHg is unmistakable.
        assert!(seconds <= 25 * 60, "{seconds} s");
        assert!(trip.pressure_mmhg() < 40.0);
    }

    #[test]
    fn an_open_line_with_boluses_and_noise_never_trips() {
        let mut d = OcclusionDetector::new(settings());
        let tau = settings().time_constant_s();
        let mut pressure = 0.0;
        for i in 0..(24 * 360) {
            let t = Timestamp::from_ms(i * 10_000);
            // 1 mL/day basal, and a 50 µL bolus at the top of each hour over 3 minutes.
            let mut v = 1000.0 / 8640.0;
            if i % 360 < 18 {
                v += 50.0 / 18.0;
            }
            d.pumped(t, v);
            pressure = pressure * (-10.0 / tau).exp() + v / 2.0;
            assert_eq!(d.reading(t, pressure + noise(i, 1.5)), None, "at {i}");
        }
    }
}
