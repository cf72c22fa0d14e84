//! Simulated pump hardware: the same [`PumpHardware`] the engine drives on the Raspberry Pi,
//! backed by a physical model under virtual time. Deterministic under its seed.
//!
//! The model: a syringe of known volume pushed by a plunger of `steps_per_ml`; the syringe and
//! line hold pressure through their compliance `C` (volume stored per mmHg); an open catheter
//! drains it through its resistance `R`, so that after a push the pressure decays with time
//! constant `R·C` and the flow reaching the patient is what drained. A blocked line drains
//! nothing: every push raises the pressure by `V / C`. Each step pushes its nominal volume
//! give or take a periodic lead-screw error over one turn. The sensor reads the pressure plus
//! Gaussian noise. Faults are switched on and off by the caller (the scenario runner). What a
//! real line adds — load-cell drift, stiction, a partial occlusion, kinks, spikes — is in
//! [`physics`], each set in the profile's `[simulation]` table.

use std::path::PathBuf;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::core::supervisor::Priority;
use crate::core::units::{Duration, Timestamp, Volume};
use crate::hw::{Direction, HwError, PumpHardware};
use crate::input::hardware::{HardwareConfig, Mechanism, SimulationConfig};

pub mod physics;
use physics::Disturbances;

/// The simulated hardware's "fault" that is a press of the button on the cord (the patient
/// controller): each switch on is one press.
pub const CONTROLLER_PRESS: &str = "controller_press";

/// Faults the simulator can inject.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// The line downstream is blocked.
    pub occluded: bool,
    /// The motor turns no more: steps are commanded, the plunger stays.
    pub stalled: bool,
    /// The sensor repeats its last reading for ever.
    pub sensor_stuck: bool,
    /// The sensor reads out of range.
    pub sensor_out_of_range: bool,
    /// The load cell's cable is out: the HX711 never has a reading ready (DOUT stays high).
    pub sensor_unplugged: bool,
    /// The syringe has been taken out.
    pub reservoir_removed: bool,
    /// The patient's button is held down (a cord caught under the patient).
    pub button_stuck: bool,
    /// The motor driver's enable line stays on whatever it is told (a welded driver).
    pub enable_stuck: bool,
    /// The alarm light and tone driver does not answer.
    pub indicator_failed: bool,
    /// The pressure sensor's noise is ten times its usual (a loose connector, interference).
    pub sensor_noisy: bool,
    /// The end-of-travel switch reads closed: the plunger at the end of the syringe.
    pub end_of_travel: bool,
}

/// What the model knows that the pump does not: for tests and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// Volume that reached the patient, µL.
    pub delivered_ul: f64,
    /// Volume pushed out of the syringe (net of back-off), µL.
    pub pushed_ul: f64,
    pub pressure_mmhg: f64,
    /// Delivered to the patient since the occlusion last cleared, µL.
    pub released_since_clear_ul: f64,
}

/// The physical state that outlives the process (a real syringe stays where it is).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Physical {
    position: i64,
    loaded_ul: f64,
    truth: Truth,
    /// A blocked line, a syringe out, a stuck button stay so when the daemon restarts.
    #[serde(default)]
    faults: Faults,
}

#[derive(Clone)]
pub struct SimPump {
    steps_per_ml: f64,
    compliance: f64,
    /// R·C in seconds.
    tau_s: f64,
    noise: f64,
    /// The load cell's conversions a second; when the last reading was taken.
    samples_per_s: f64,
    last_read_at: Option<Timestamp>,
    /// Lead-screw error amplitude (fraction) and period (steps).
    screw_error: f64,
    steps_per_turn: f64,
    rng: StdRng,
    now: Timestamp,
    motor_enabled: bool,
    /// Plunger position in steps from loading (forward positive).
    position: i64,
    /// Volume loaded in the syringe, µL.
    loaded_ul: f64,
    capacity_ul: f64,
    faults: Faults,
    truth: Truth,
    last_reading: f64,
    /// The highest priority the pump was annunciating, for tests.
    pub annunciated: Option<Priority>,
    state_file: Option<PathBuf>,
    /// What a real line adds (each off unless set), and the seed its events are drawn from.
    dist: Disturbances,
    seed: u64,
    /// The plunger sticks at start-up: what the motor has wound up behind it, µL, until it
    /// breaks free.
    sticking: bool,
    stuck_ul: f64,
    /// What the patient's button did, not yet read. The simulated button is modelled at the
    /// level of its events (a press, stuck, released); the debouncing that turns a real
    /// switch's levels into them is `hw::button`, tested on its own.
    button: Vec<crate::hw::button::ButtonEvent>,
}

impl SimPump {
    /// The patient presses the button on the cord (a debounced press; none while it is stuck).
    pub fn press_button(&mut self) {
        if !self.faults.button_stuck {
            self.button.push(crate::hw::button::ButtonEvent::Pressed);
        }
    }

    pub fn new(mechanism: &Mechanism, sim: &SimulationConfig, loaded: Volume) -> SimPump {
        let steps_per_ml = mechanism.steps_per_ml as f64;
        SimPump {
            steps_per_ml,
            compliance: sim.compliance_ul_per_mmhg,
            tau_s: sim.resistance_mmhg_per_ml_h * 3.6 * sim.compliance_ul_per_mmhg,
            noise: sim.noise_mmhg,
            samples_per_s: sim.samples_per_s,
            last_read_at: None,
            screw_error: sim.screw_error_pct / 100.0,
            steps_per_turn: sim.steps_per_turn as f64,
            rng: StdRng::seed_from_u64(sim.seed),
            dist: sim.disturbances,
            seed: sim.seed,
            sticking: false,
            stuck_ul: 0.0,
            now: Timestamp::ORIGIN,
            motor_enabled: false,
            position: 0,
            loaded_ul: loaded.nl() as f64 / 1000.0,
            capacity_ul: mechanism.syringe.nl() as f64 / 1000.0,
            faults: Faults::default(),
            truth: Truth::default(),
            last_reading: 0.0,
            annunciated: None,
            state_file: None,
            button: Vec::new(),
        }
    }

    /// Keeps the physical state (plunger position, syringe, truth) in `path` after every move,
    /// so a simulation killed and restarted finds the syringe where it was; with `load`, takes
    /// the state found there first.
    pub fn keep_state_in(&mut self, path: PathBuf, load: bool) {
        if load
            && let Some(p) = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| serde_json::from_str::<Physical>(&t).ok())
        {
            self.position = p.position;
            self.loaded_ul = p.loaded_ul;
            self.truth = p.truth;
            self.faults = p.faults;
        }
        self.state_file = Some(path);
        self.save();
    }

    fn save(&self) {
        let Some(path) = &self.state_file else { return };
        let state = Physical {
            position: self.position,
            loaded_ul: self.loaded_ul,
            truth: self.truth,
            faults: self.faults,
        };
        let Ok(text) = serde_json::to_string(&state) else {
            return;
        };
        // Write then rename, so a kill mid-write leaves the old state, not half a file.
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        if std::fs::write(&tmp, text).is_ok() {
            let _ = std::fs::rename(&tmp, path);
        }
    }

    pub fn now(&self) -> Timestamp {
        self.now
    }

    pub fn faults(&self) -> Faults {
        self.faults
    }

    pub fn truth(&self) -> Truth {
        self.truth
    }

    /// Changes the faults from now on.
    pub fn set_faults(&mut self, faults: Faults) {
        if self.faults.occluded && !faults.occluded {
            self.truth.released_since_clear_ul = 0.0;
        }
        if self.faults.button_stuck != faults.button_stuck {
            use crate::hw::button::{ButtonEvent, ButtonFault};
            self.button.push(if faults.button_stuck {
                ButtonEvent::Fault(ButtonFault::HeldDown)
            } else {
                ButtonEvent::Recovered
            });
        }
        self.faults = faults;
        self.save();
    }

    /// A new syringe holding `volume`, plunger at its start.
    pub fn load_reservoir(&mut self, volume: Volume) {
        self.loaded_ul = (volume.nl() as f64 / 1000.0).min(self.capacity_ul);
        self.position = 0;
        self.truth.pressure_mmhg = 0.0;
        self.save();
    }

    /// Volume left in the syringe, µL.
    pub fn remaining_ul(&self) -> f64 {
        self.loaded_ul - self.position as f64 * 1000.0 / self.steps_per_ml
    }

    /// Lets time pass to `t`: the line drains (unless blocked, or kinked), through the
    /// catheter's resistance as it is then (a partial occlusion raises it), piece by piece
    /// between a kink's edges and at most a minute at a time while the resistance changes.
    pub fn advance_to(&mut self, t: Timestamp) {
        while self.now < t {
            let mut end = self.dist.next_kink_edge(self.now, t, self.seed);
            if self.dist.partial_occlusion_from_h.is_some() {
                end = end.min(self.now + Duration::from_mins(1));
            }
            let mid = Timestamp::from_ms((self.now.ms() + end.ms()) / 2);
            let dt = end.since(self.now).ms() as f64 / 1000.0;
            self.now = end;
            if self.faults.occluded || self.dist.kinked(mid, self.seed) {
                continue;
            }
            let tau = self.tau_s * self.dist.resistance_factor(mid);
            let p0 = self.truth.pressure_mmhg;
            let p1 = p0 * (-dt / tau).exp();
            let drained = (p0 - p1) * self.compliance;
            self.truth.pressure_mmhg = p1;
            self.truth.delivered_ul += drained;
            self.truth.released_since_clear_ul += drained;
        }
    }

    /// Whether the line is kinked now (the disturbance, not the occlusion fault).
    pub fn kinked(&self) -> bool {
        self.dist.kinked(self.now, self.seed)
    }

    fn gaussian(&mut self) -> f64 {
        // Box–Muller.
        let u1: f64 = self.rng.random::<f64>().max(f64::MIN_POSITIVE);
        let u2: f64 = self.rng.random::<f64>();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

impl PumpHardware for SimPump {
    fn is_simulated(&self) -> bool {
        true
    }

    fn set_motor_enabled(&mut self, enabled: bool) -> Result<(), HwError> {
        if enabled && !self.motor_enabled && self.dist.stiction_ul > 0.0 {
            // Start-up: the plunger's seal holds until enough is wound up behind it.
            self.sticking = true;
        }
        self.motor_enabled = enabled;
        Ok(())
    }

    fn step(&mut self, direction: Direction, steps: u64) -> Result<(), HwError> {
        if !self.motor_enabled || self.faults.stalled || steps == 0 {
            return Ok(());
        }
        let steps = i64::try_from(steps).unwrap_or(i64::MAX);
        let (signed, allowed) = match direction {
            Direction::Forward => {
                // The plunger stops at the end of the syringe.
                let room = (self.remaining_ul() * self.steps_per_ml / 1000.0)
                    .floor()
                    .max(0.0) as i64;
                (steps.min(room), steps.min(room))
            }
            Direction::Back => (-steps.min(self.position), steps.min(self.position)),
        };
        if allowed == 0 {
            return Ok(());
        }
        let from = self.position as f64;
        self.position += signed;
        let to = self.position as f64;
        // ∫ (1 + e·sin(2πx/N)) dx over the steps moved, in steps.
        let n = self.steps_per_turn;
        let k = std::f64::consts::TAU / n;
        let effective = (to - from) + self.screw_error / k * ((k * from).cos() - (k * to).cos());
        let mut volume = effective * 1000.0 / self.steps_per_ml;
        if self.sticking {
            // Stuck: the turns wind up behind the plunger (or unwind), nothing moves in the
            // syringe; at the breakaway all of it goes into the line at once.
            self.stuck_ul = (self.stuck_ul + volume).max(0.0);
            if self.stuck_ul < self.dist.stiction_ul {
                self.save();
                return Ok(());
            }
            volume = std::mem::take(&mut self.stuck_ul);
            self.sticking = false;
        }
        self.truth.pushed_ul += volume;
        // Pushing raises the pressure; backing off lowers it, below zero if it pulls back more
        // than was stored (a vacuum that draws fluid back when the line opens). Volume is
        // conserved: pushed = delivered + stored.
        self.truth.pressure_mmhg += volume / self.compliance;
        self.save();
        Ok(())
    }

    fn read_pressure_mmhg(&mut self) -> Result<f64, HwError> {
        if self.faults.sensor_unplugged {
            return Err(HwError::SensorNotReady);
        }
        if self.faults.sensor_out_of_range {
            return Err(HwError::SensorOutOfRange {
                raw: crate::hw::hx711::SATURATED_HIGH,
            });
        }
        if self.faults.sensor_stuck {
            return Ok(self.last_reading);
        }
        let noise = if self.faults.sensor_noisy {
            10.0 * self.noise
        } else {
            self.noise
        };
        // The mean of the samples since the last reading (the sensor thread's average): the
        // noise over √n, the spikes averaged over the interval (at up to ten instants), the
        // line's pressure and the drift as they are now (they move little in a read interval).
        let since = self.last_read_at.replace(self.now);
        let span_ms = since.map_or(0, |s| self.now.since(s).ms());
        let n = (span_ms as f64 / 1000.0 * self.samples_per_s)
            .floor()
            .max(1.0);
        let instants = (n as u64).min(10);
        let spikes = (1..=instants)
            .map(|i| {
                let at = self.now.ms() - span_ms + span_ms * i / instants;
                self.dist.spike_mmhg(Timestamp::from_ms(at), self.seed)
            })
            .sum::<f64>()
            / instants as f64;
        let reading = self.truth.pressure_mmhg
            + noise / n.sqrt() * self.gaussian()
            + self.dist.drift_mmhg(self.now)
            + spikes;
        self.last_reading = reading;
        Ok(reading)
    }

    fn reservoir_present(&mut self) -> Result<bool, HwError> {
        Ok(!self.faults.reservoir_removed)
    }

    fn end_of_travel(&mut self) -> Result<bool, HwError> {
        Ok(self.faults.end_of_travel || self.remaining_ul() * self.steps_per_ml / 1000.0 < 1.0)
    }

    fn plunger_position(&mut self) -> Result<Option<i64>, HwError> {
        Ok(Some(self.position))
    }

    fn annunciate(&mut self, priority: Option<Priority>, _phase_ms: u64) -> Result<(), HwError> {
        if self.faults.indicator_failed {
            return Err(HwError::Indicator);
        }
        self.annunciated = priority;
        Ok(())
    }

    fn reservoir_loaded(&mut self, volume: Volume) {
        let mut f = self.faults;
        f.reservoir_removed = false;
        self.set_faults(f);
        self.load_reservoir(volume);
    }

    fn motor_enabled_readback(&mut self) -> Result<Option<bool>, HwError> {
        Ok(Some(self.motor_enabled || self.faults.enable_stuck))
    }

    fn inject_fault(&mut self, fault: &str, on: bool) -> Result<(), HwError> {
        let mut f = self.faults;
        match fault {
            "occlusion" => f.occluded = on,
            "stall" => f.stalled = on,
            "sensor_stuck" => f.sensor_stuck = on,
            "sensor_out_of_range" => f.sensor_out_of_range = on,
            "sensor_unplugged" => f.sensor_unplugged = on,
            "reservoir_removed" => f.reservoir_removed = on,
            "controller_stuck" => f.button_stuck = on,
            "enable_stuck" => f.enable_stuck = on,
            "indicator_failed" => f.indicator_failed = on,
            "sensor_noisy" => f.sensor_noisy = on,
            "end_of_travel" => f.end_of_travel = on,
            // Not a fault: a press of the button on the cord, each time it is switched on.
            CONTROLLER_PRESS => {
                if on {
                    self.press_button();
                }
                return Ok(());
            }
            other => return Err(HwError::UnknownFault(other.to_owned())),
        }
        self.set_faults(f);
        Ok(())
    }

    fn advance_to(&mut self, t: Timestamp) {
        SimPump::advance_to(self, t);
    }

    fn button_events(&mut self) -> Vec<crate::hw::button::ButtonEvent> {
        std::mem::take(&mut self.button)
    }
}

/// The bench calibration's gravimetric run (`hw::calibrate::run`) on the simulator: its
/// balance reads what truly reached the container.
pub fn gravimetric_run(
    cfg: &HardwareConfig,
    rate: crate::core::units::VolumeRate,
    length: Duration,
) -> Result<crate::hw::calibrate::Run, HwError> {
    use crate::hw::calibrate::{WATER_G_PER_ML, run};
    let mut sim = SimPump::new(&cfg.mechanism, &cfg.simulation, cfg.mechanism.syringe);
    run(
        &mut sim,
        cfg.mechanism.steps_per_ml,
        rate,
        length,
        Duration::from_secs(30),
        &mut |s: &SimPump| s.truth().delivered_ul / 1000.0 * WATER_G_PER_ML,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_simulated_run_finds_the_profiles_steps_per_ml_within_the_screw_error() {
        use crate::hw::calibrate::{WATER_G_PER_ML, trumpet};
        let cfg = HardwareConfig::built_in().unwrap();
        let run =
            gravimetric_run(&cfg, "1 mL/h".parse().unwrap(), Duration::from_hours(2)).unwrap();
        assert_eq!(
            run.steps,
            2 * cfg.mechanism.steps_per_ml,
            "2 mL's worth of steps"
        );
        assert_eq!(run.samples.len(), 241, "every 30 s, both ends");
        let measured = run
            .steps_per_ml(
                Duration::from_hours(1),
                WATER_G_PER_ML,
                cfg.mechanism.steps_per_ml,
            )
            .unwrap();
        let off = (measured as f64 / cfg.mechanism.steps_per_ml as f64 - 1.0).abs() * 100.0;
        // Once the line has filled, the model's lead screw is off by at most its configured
        // error.
        assert!(
            off <= cfg.simulation.screw_error_pct,
            "{measured} ({off:.2} %)"
        );
        let t = trumpet(&run.samples[20..], 1.0, WATER_G_PER_ML);
        assert_eq!(t.first().map(|p| p.window_min), Some(2));
    }

    use super::*;
    use crate::input::hardware::HardwareConfig;

    #[test]
    fn the_simulated_button_presses_sticks_and_recovers() {
        use crate::hw::button::{ButtonEvent, ButtonFault};
        let mut p = pump();
        assert_eq!(p.button_events(), []);
        p.press_button();
        assert_eq!(p.button_events(), [ButtonEvent::Pressed]);
        assert_eq!(p.button_events(), [], "read once");
        p.inject_fault("controller_stuck", true).unwrap();
        p.press_button();
        assert_eq!(
            p.button_events(),
            [ButtonEvent::Fault(ButtonFault::HeldDown)],
            "no press while stuck"
        );
        p.inject_fault("controller_stuck", true).unwrap();
        assert_eq!(p.button_events(), [], "stuck once");
        p.inject_fault("controller_stuck", false).unwrap();
        p.press_button();
        assert_eq!(
            p.button_events(),
            [ButtonEvent::Recovered, ButtonEvent::Pressed]
        );
        // Through the box the daemon holds its hardware in, too.
        let mut boxed: Box<dyn PumpHardware + Send> = Box::new(pump());
        boxed.inject_fault("controller_stuck", true).unwrap();
        assert_eq!(
            boxed.button_events(),
            [ButtonEvent::Fault(ButtonFault::HeldDown)]
        );
    }

    fn pump() -> SimPump {
        let c = HardwareConfig::built_in().unwrap();
        let mut sim = c.simulation.clone();
        sim.noise_mmhg = 0.0;
        sim.screw_error_pct = 0.0;
        let mut p = SimPump::new(&c.mechanism, &sim, Volume::from_ml(2));
        p.set_motor_enabled(true).unwrap();
        p
    }

    /// The test pump with `set` applied to its disturbances (noise and screw error off).
    fn disturbed(set: impl FnOnce(&mut Disturbances)) -> SimPump {
        let c = HardwareConfig::built_in().unwrap();
        let mut sim = c.simulation.clone();
        sim.noise_mmhg = 0.0;
        sim.screw_error_pct = 0.0;
        set(&mut sim.disturbances);
        let mut p = SimPump::new(&c.mechanism, &sim, Volume::from_ml(20));
        p.set_motor_enabled(true).unwrap();
        p
    }

    /// Pushes 1 µL a minute (60 µL/h, 14.4 steps a minute at 14 400 steps/mL: 72 steps every
    /// 5 min) from the pump's time to `until`.
    fn push_steadily(p: &mut SimPump, until: Timestamp) {
        while p.now() < until {
            let next = p.now() + Duration::from_mins(5);
            p.advance_to(next);
            p.step(Direction::Forward, 72).unwrap();
        }
    }

    #[test]
    fn the_stuck_plunger_holds_the_first_push_then_breaks_free() {
        // 10 µL of stiction: 143 steps (9.93 µL) move nothing, the 144th lets all 10 µL go:
        // 10 µL into 2 µL/mmHg is 5 mmHg at once.
        let mut p = disturbed(|d| d.stiction_ul = 10.0);
        p.step(Direction::Forward, 143).unwrap();
        assert_eq!(p.truth().pressure_mmhg, 0.0);
        assert_eq!(p.truth().pushed_ul, 0.0);
        p.step(Direction::Forward, 1).unwrap();
        assert!(
            (p.truth().pressure_mmhg - 5.0).abs() < 1e-9,
            "{:?}",
            p.truth()
        );
        // Running, it pushes as usual; after a stop and a new start it sticks again.
        p.step(Direction::Forward, 144).unwrap();
        assert!((p.truth().pressure_mmhg - 10.0).abs() < 1e-9);
        p.set_motor_enabled(false).unwrap();
        p.set_motor_enabled(true).unwrap();
        p.step(Direction::Forward, 72).unwrap();
        assert!((p.truth().pressure_mmhg - 10.0).abs() < 1e-9, "stuck again");
    }

    #[test]
    fn a_kink_holds_the_flow_and_lets_it_go_when_it_opens() {
        let mut p = disturbed(|d| {
            d.kink_every_h = 2.0;
            d.kink_min = 20.0;
        });
        push_steadily(&mut p, Timestamp::from_ms(6 * 3_600_000));
        // Over 6 h three kinks: while one lasts nothing reaches the patient and the pressure
        // climbs; after it, the line delivers what was held.
        let mut was_kinked = false;
        let mut first = (0.0, 0.0);
        let mut last = (0.0, 0.0);
        let mut kinks = 0;
        for minute in 0..(4 * 60) {
            let t = Timestamp::from_ms(6 * 3_600_000 + minute * 60_000);
            push_steadily(&mut p, t);
            let now = (p.truth().delivered_ul, p.truth().pressure_mmhg);
            if p.kinked() {
                if !was_kinked {
                    first = now;
                }
                last = now;
            } else if was_kinked {
                // From the first minute kinked to the last, nothing reached the patient and
                // the pushes piled up as pressure.
                kinks += 1;
                assert!((last.0 - first.0).abs() < 1e-6, "{first:?} {last:?}");
                assert!(last.1 > first.1 + 5.0, "{first:?} {last:?}");
            }
            was_kinked = p.kinked();
        }
        assert!(kinks >= 1, "a kink in four hours of 2-hour slots");
        // Pushed and delivered agree once the line is open long enough.
        let open_until = (1..)
            .map(|m| Timestamp::from_ms(10 * 3_600_000 + m * 60_000))
            .find(|&t| {
                !p.dist.kinked(t, p.seed) && !p.dist.kinked(t + Duration::from_hours(1), p.seed)
            })
            .unwrap();
        p.advance_to(open_until + Duration::from_hours(1));
        let t = p.truth();
        assert!((t.pushed_ul - t.delivered_ul).abs() < 0.01, "{t:?}");
    }

    #[test]
    fn a_partial_occlusion_raises_the_pressure_the_line_needs_over_hours() {
        // The resistance growing by half of itself an hour from 1 h is ×5 at 9 h.
        let mut p = disturbed(|d| {
            d.partial_occlusion_from_h = Some(1.0);
            d.partial_occlusion_per_h = 0.5;
        });
        // Read just before a push: 5 µL every 5 min is 2.5 mmHg a push into 2 µL/mmHg, and
        // what is left of it when the next comes is r = (r + 2.5)·e^(−300 s/τ): with τ = R·C =
        // 144 s, r = 0.36 mmHg; at 9 h τ = 720 s, r = 4.8 mmHg.
        let before_push = |p: &mut SimPump, at: u64| {
            push_steadily(p, Timestamp::from_ms(at * 3_600_000));
            p.advance_to(Timestamp::from_ms(at * 3_600_000 + 300_000));
            p.truth().pressure_mmhg
        };
        let before = before_push(&mut p, 1);
        let after = before_push(&mut p, 9);
        assert!((0.3..0.45).contains(&before), "{before}");
        assert!((4.3..5.3).contains(&after), "{after}");
    }

    #[test]
    fn drift_and_spikes_are_in_the_readings_not_in_the_line() {
        let mut p = disturbed(|d| {
            d.drift_mmhg_per_h = 1.0;
            d.spikes_per_h = 6.0;
            d.spike_mmhg = 30.0;
            d.spike_s = 3.0;
        });
        p.advance_to(Timestamp::from_ms(10 * 3_600_000));
        assert_eq!(p.truth().pressure_mmhg, 0.0);
        // Read once a second for an hour: the readings sit 10 mmHg up (the drift) and jump by
        // up to 30 mmHg a few times (the spikes).
        let readings: Vec<f64> = (0..3600)
            .map(|s| {
                p.advance_to(Timestamp::from_ms(10 * 3_600_000 + s * 1000));
                p.read_pressure_mmhg().unwrap()
            })
            .collect();
        let least = readings.iter().copied().fold(f64::MAX, f64::min);
        let most = readings.iter().copied().fold(f64::MIN, f64::max);
        assert!((9.99..10.5).contains(&least), "{least}");
        assert!(most > 25.0 && most < 10.0 + 2.0 * 30.0 + 1.0, "{most}");
        assert_eq!(p.truth().pressure_mmhg, 0.0);
    }

    #[test]
    fn an_open_line_delivers_what_was_pushed() {
        let mut p = pump();
        p.step(Direction::Forward, 1440).unwrap(); // 100 µL
        let peak = p.read_pressure_mmhg().unwrap();
        assert!((peak - 50.0).abs() < 1e-9, "{peak}");
        p.advance_to(Timestamp::from_ms(3_600_000));
        let t = p.truth();
        assert!((t.delivered_ul - 100.0).abs() < 1e-3, "{t:?}");
        assert!(t.pressure_mmhg < 1e-3);
    }

    #[test]
    fn a_blocked_line_stores_pressure_and_releases_it_when_cleared() {
        let mut p = pump();
        p.set_faults(Faults {
            occluded: true,
            ..Faults::default()
        });
        p.step(Direction::Forward, 144).unwrap();
        p.advance_to(Timestamp::from_ms(3_600_000));
        assert!((p.truth().pressure_mmhg - 5.0).abs() < 1e-9);
        assert_eq!(p.truth().delivered_ul, 0.0);
        // Back off half of it, then clear: only the rest is released.
        p.step(Direction::Back, 72).unwrap();
        p.set_faults(Faults::default());
        p.advance_to(Timestamp::from_ms(7_200_000));
        assert!((p.truth().released_since_clear_ul - 5.0).abs() < 1e-3);
    }

    #[test]
    fn faults_show_in_what_the_pump_reads() {
        let mut p = pump();
        p.set_faults(Faults {
            stalled: true,
            ..Faults::default()
        });
        p.step(Direction::Forward, 100).unwrap();
        assert_eq!(p.plunger_position().unwrap(), Some(0));
        p.set_faults(Faults {
            sensor_out_of_range: true,
            ..Faults::default()
        });
        assert!(p.read_pressure_mmhg().is_err());
        p.set_faults(Faults {
            sensor_unplugged: true,
            ..Faults::default()
        });
        assert_eq!(p.read_pressure_mmhg(), Err(HwError::SensorNotReady));
        p.set_faults(Faults {
            reservoir_removed: true,
            ..Faults::default()
        });
        assert!(!p.reservoir_present().unwrap());
        // The plunger stops at the end of the syringe: 2 mL = 28800 steps.
        p.set_faults(Faults::default());
        p.step(Direction::Forward, 40_000).unwrap();
        assert_eq!(p.plunger_position().unwrap(), Some(28_800));
        assert!(p.end_of_travel().unwrap());
    }

    #[test]
    fn the_lead_screw_error_averages_out_over_whole_turns() {
        let c = HardwareConfig::built_in().unwrap();
        let mut p = SimPump::new(&c.mechanism, &c.simulation, Volume::from_ml(2));
        p.set_motor_enabled(true).unwrap();
        p.step(Direction::Forward, 800).unwrap();
        // A quarter turn at the start of the sine pushes more than nominal ...
        let nominal = 800.0 * 1000.0 / 14_400.0;
        assert!(p.truth().pushed_ul > nominal * 1.01, "{:?}", p.truth());
        // ... and a whole turn exactly nominal.
        p.step(Direction::Forward, 2400).unwrap();
        assert!((p.truth().pushed_ul - 3200.0 * 1000.0 / 14_400.0).abs() < 1e-9);
    }

    #[test]
    fn the_same_seed_gives_the_same_noise() {
        let c = HardwareConfig::built_in().unwrap();
        let mut a = SimPump::new(&c.mechanism, &c.simulation, Volume::from_ml(2));
        let mut b = SimPump::new(&c.mechanism, &c.simulation, Volume::from_ml(2));
        for _ in 0..10 {
            assert_eq!(
                a.read_pressure_mmhg().unwrap(),
                b.read_pressure_mmhg().unwrap()
            );
        }
    }
}
