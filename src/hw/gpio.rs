//! The pump assembled from GPIO pins, whatever library reaches them: the backends ([`super::chardev`],
//! the kernel's GPIO character device; [`super::rpi`], rppal's register window) only hand out
//! pins ([`PinSource`]); the drivers, the pulse thread and the checks are the same for both.
//!
//! Opening checks the whole pin map first (a pin used twice is refused before any is touched),
//! then takes each pin, naming the pin and its role in any refusal. It never falls back to
//! simulation: that is chosen only with `--sim`.

use std::time::{Duration, Instant};

use embedded_hal::delay::DelayNs;
use embedded_hal::digital::{InputPin, OutputPin};

use super::button::{ButtonEvent, ButtonMonitor, ButtonTiming};
use super::hx711::{Hx711, Hx711Error, LoadCellCalibration};
use super::indicator::Indicator;
use super::inputs::{PressureSwitch, Switch};
use super::pulse::PulseThread;
use super::sampler::Sampler;
use super::stepper::Stepper;
use super::{Direction, HwError, PULSE_PRIORITY, PumpHardware};
use crate::core::supervisor::Priority;
use crate::input::hardware::HardwareConfig;

/// Why the pump's hardware could not be opened, naming the pin and what it is for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("GPIO {pin} ({role}): {reason}")]
pub struct StartupError {
    pub pin: u8,
    pub role: &'static str,
    pub reason: String,
}

/// The pins of the profile with what each is for; refuses a pin given two roles.
pub fn pin_map(cfg: &HardwareConfig) -> Result<Vec<(u8, &'static str)>, StartupError> {
    let p = &cfg.pins;
    let mut map = vec![
        (p.step, "motor step"),
        (p.dir, "motor direction"),
        (p.enable, "motor enable"),
        (p.end_of_travel, "end-of-travel switch"),
        (p.reservoir_present, "syringe-present switch"),
        (p.buzzer, "buzzer"),
        (p.alarm_led, "alarm LED"),
    ];
    if let Some(pin) = p.patient_button {
        map.push((pin, "patient's bolus button"));
    }
    match p.pressure_switch {
        Some(pin) => map.push((pin, "pressure switch")),
        None => {
            map.push((p.hx711_dout, "load cell data (HX711 DOUT)"));
            map.push((p.hx711_sck, "load cell clock (HX711 SCK)"));
        }
    }
    for (i, (pin, role)) in map.iter().enumerate() {
        if let Some((_, other)) = map[..i].iter().find(|(q, _)| q == pin) {
            return Err(StartupError {
                pin: *pin,
                role,
                reason: format!("is also given as the {other}: each pin has one role"),
            });
        }
    }
    Ok(map)
}

/// Where the pins come from: one output or input at a time, each named by its role for the
/// error message.
pub trait PinSource {
    type Error: std::fmt::Debug;
    type Out: OutputPin<Error = Self::Error> + Send + 'static;
    type In: InputPin<Error = Self::Error> + Send + 'static;
    type Delay: DelayNs + Send + 'static;
    /// An output, driven high or low from the moment it is taken.
    fn output(
        &mut self,
        pin: u8,
        role: &'static str,
        high: bool,
    ) -> Result<Self::Out, StartupError>;
    /// An input, with the internal pull-up where asked (switches close to ground).
    fn input(
        &mut self,
        pin: u8,
        role: &'static str,
        pull_up: bool,
    ) -> Result<Self::In, StartupError>;
    fn delay(&self) -> Self::Delay;
}

/// The alarm light and tone alone, both off from the moment they are taken: what `titra-alarm`
/// drives while the pump daemon, which holds them otherwise, cannot run.
pub fn open_alarm_lines<S: PinSource>(
    cfg: &HardwareConfig,
    mut pins: S,
) -> Result<Indicator<S::Out, S::Out>, StartupError> {
    let p = &cfg.pins;
    Ok(Indicator::new(
        pins.output(p.alarm_led, "alarm LED", false)?,
        pins.output(p.buzzer, "buzzer", false)?,
    ))
}

/// A delay for bit-banged timing (the HX711's clock, the stepper's pulse width): spins for
/// short waits, where the scheduler's sleep would overshoot by tens of microseconds (an HX711
/// clock held high for over 60 µs powers the chip down), and sleeps for long ones.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpinDelay;

impl DelayNs for SpinDelay {
    fn delay_ns(&mut self, ns: u32) {
        let wait = Duration::from_nanos(u64::from(ns));
        let until = Instant::now() + wait;
        if wait > Duration::from_millis(1) {
            std::thread::sleep(wait - Duration::from_micros(200));
        }
        while Instant::now() < until {
            std::hint::spin_loop();
        }
    }
}

enum Sensor<S: PinSource> {
    /// The load cell, read at its full rate by its own thread.
    LoadCell(Sampler, LoadCellCalibration),
    Switch(PressureSwitch<S::In>),
}

/// The pump's hardware on GPIO pins.
pub struct GpioPump<S: PinSource> {
    pulses: PulseThread,
    sensor: Sensor<S>,
    end_of_travel: Switch<S::In>,
    reservoir: Switch<S::In>,
    indicator: Indicator<S::Out, S::Out>,
    motor_allowed: bool,
    /// The patient's button, read by its own thread.
    button: Option<std::sync::mpsc::Receiver<ButtonEvent>>,
}

/// How often the button thread reads the patient's button.
const BUTTON_POLL: Duration = Duration::from_millis(5);

/// Reads the patient's button every [`BUTTON_POLL`] on its own thread (a press is far shorter
/// than the daemon's control loop), passing on what [`ButtonMonitor`] makes of it. The thread
/// ends when the pump is dropped; a pin that fails to read is reported as a chattering button.
fn spawn_button<P: InputPin + Send + 'static>(
    mut pin: P,
) -> std::io::Result<std::sync::mpsc::Receiver<ButtonEvent>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("titra-button".to_owned())
        .spawn(move || {
            let start = Instant::now();
            let mut monitor = ButtonMonitor::new(ButtonTiming::default());
            loop {
                let at = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
                let event = match pin.is_low() {
                    Ok(down) => monitor.sample(at, down),
                    Err(e) => {
                        tracing::error!(error = ?e, "the patient's button cannot be read");
                        Some(ButtonEvent::Fault(super::button::ButtonFault::Chattering))
                    }
                };
                if let Some(event) = event {
                    if tx.send(event).is_err() {
                        return;
                    }
                }
                std::thread::sleep(BUTTON_POLL);
            }
        })?;
    Ok(rx)
}

impl<S: PinSource> GpioPump<S> {
    /// Takes every pin of the profile from `pins`; the motor starts disabled.
    pub fn open(cfg: &HardwareConfig, mut pins: S) -> Result<GpioPump<S>, StartupError> {
        pin_map(cfg)?;
        let p = &cfg.pins;
        // EN first, and off: the driver holds no current from the first instant.
        let enable = pins.output(p.enable, "motor enable", p.enable_active_low)?;
        let step = pins.output(p.step, "motor step", false)?;
        let dir = pins.output(p.dir, "motor direction", false)?;
        let stepper = Stepper::new(step, dir, enable, pins.delay(), p.enable_active_low, 2)
            .map_err(|e| StartupError {
                pin: p.enable,
                role: "motor enable",
                reason: format!("cannot be driven ({e:?})"),
            })?;
        let sensor = match p.pressure_switch {
            Some(pin) => Sensor::Switch(PressureSwitch::new(
                pins.input(pin, "pressure switch", true)?,
                true,
            )),
            None => {
                let sck = pins.output(p.hx711_sck, "load cell clock (HX711 SCK)", false)?;
                let dout = pins.input(p.hx711_dout, "load cell data (HX711 DOUT)", false)?;
                let mut cell = Hx711::new(sck, dout, pins.delay()).map_err(|e| StartupError {
                    pin: p.hx711_sck,
                    role: "load cell clock (HX711 SCK)",
                    reason: format!("cannot be driven ({e:?})"),
                })?;
                let cell = Sampler::spawn("titra-loadcell", move || {
                    cell.read_waiting().map_err(load_cell_error)
                })
                .map_err(|e| StartupError {
                    pin: p.hx711_dout,
                    role: "load cell data (HX711 DOUT)",
                    reason: format!("its reading thread could not start ({e})"),
                })?;
                let cal = cfg.load_cell.map_or(
                    LoadCellCalibration {
                        zero: 0,
                        counts_per_mmhg: 1.0,
                    },
                    |c| LoadCellCalibration {
                        zero: c.zero,
                        counts_per_mmhg: c.counts_per_mmhg,
                    },
                );
                Sensor::LoadCell(cell, cal)
            }
        };
        let end_of_travel = Switch::new(
            pins.input(p.end_of_travel, "end-of-travel switch", true)?,
            true,
        );
        let reservoir = Switch::new(
            pins.input(p.reservoir_present, "syringe-present switch", true)?,
            true,
        );
        let indicator = Indicator::new(
            pins.output(p.alarm_led, "alarm LED", false)?,
            pins.output(p.buzzer, "buzzer", false)?,
        );
        let button = match p.patient_button {
            Some(pin) => Some(
                spawn_button(pins.input(pin, "patient's bolus button", true)?).map_err(|e| {
                    StartupError {
                        pin,
                        role: "patient's bolus button",
                        reason: format!("its reading thread could not start ({e})"),
                    }
                })?,
            ),
            None => None,
        };
        let pulses =
            PulseThread::spawn(stepper, Some(PULSE_PRIORITY)).map_err(|e| StartupError {
                pin: p.step,
                role: "motor step",
                reason: e.to_string(),
            })?;
        if let Err(why) = &pulses.realtime {
            tracing::error!(%why, "step pulses run without real-time priority");
        }
        Ok(GpioPump {
            pulses,
            sensor,
            end_of_travel,
            reservoir,
            indicator,
            motor_allowed: false,
            button,
        })
    }
}

fn load_cell_error<E: std::fmt::Debug>(e: Hx711Error<E>) -> HwError {
    match e {
        Hx711Error::NotReady => HwError::SensorNotReady,
        other => HwError::gpio("load cell", other),
    }
}

impl<S: PinSource> PumpHardware for GpioPump<S> {
    fn is_simulated(&self) -> bool {
        false
    }

    /// Allows or forbids motion; the pulse thread itself switches the driver on only for each
    /// burst.
    fn set_motor_enabled(&mut self, enabled: bool) -> Result<(), HwError> {
        self.motor_allowed = enabled;
        Ok(())
    }

    fn step(&mut self, direction: Direction, steps: u64) -> Result<(), HwError> {
        if !self.motor_allowed {
            return Err(HwError::gpio("motor", "asked to step while disabled"));
        }
        let given = self.pulses.step(direction, steps)?;
        if given != steps {
            return Err(HwError::gpio(
                "motor",
                format!("gave {given} of {steps} steps"),
            ));
        }
        Ok(())
    }

    fn read_pressure_mmhg(&mut self) -> Result<f64, HwError> {
        match &mut self.sensor {
            Sensor::LoadCell(cell, cal) => {
                // The mean of the conversions since the last reading, in counts.
                let (counts, _) = cell.mean()?;
                Ok(cal.pressure_mmhg_of_mean(counts))
            }
            Sensor::Switch(s) => s
                .pressure_mmhg()
                .map_err(|e| HwError::gpio("pressure switch", e)),
        }
    }

    fn reservoir_present(&mut self) -> Result<bool, HwError> {
        self.reservoir
            .is_active()
            .map_err(|e| HwError::gpio("syringe-present switch", e))
    }

    fn end_of_travel(&mut self) -> Result<bool, HwError> {
        self.end_of_travel
            .is_active()
            .map_err(|e| HwError::gpio("end-of-travel switch", e))
    }

    fn plunger_position(&mut self) -> Result<Option<i64>, HwError> {
        Ok(None)
    }

    fn button_events(&mut self) -> Vec<ButtonEvent> {
        self.button
            .as_ref()
            .map(|rx| rx.try_iter().collect())
            .unwrap_or_default()
    }

    fn load_cell_counts(&mut self) -> Result<Option<i32>, HwError> {
        match &mut self.sensor {
            Sensor::LoadCell(cell, _) => {
                let (counts, _) = cell.mean()?;
                Ok(Some(counts.round() as i32))
            }
            Sensor::Switch(_) => Ok(None),
        }
    }

    fn annunciate(&mut self, priority: Option<Priority>, phase_ms: u64) -> Result<(), HwError> {
        self.indicator
            .show(priority, phase_ms)
            .map_err(|e| HwError::gpio("alarm LED and buzzer", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_given_two_roles_is_refused_before_any_is_opened() {
        let mut cfg = HardwareConfig::built_in().unwrap();
        assert_eq!(pin_map(&cfg).unwrap().len(), 9);
        cfg.pins.buzzer = cfg.pins.step;
        let e = pin_map(&cfg).unwrap_err();
        assert_eq!(
            e.to_string(),
            "GPIO 17 (buzzer): is also given as the motor step: each pin has one role"
        );
    }

    #[test]
    fn short_delays_are_not_overslept_and_long_ones_are_kept() {
        let mut d = SpinDelay;
        let start = Instant::now();
        d.delay_us(3);
        assert!(start.elapsed() >= Duration::from_micros(3));
        let start = Instant::now();
        d.delay_ms(2);
        assert!(start.elapsed() >= Duration::from_millis(2));
    }

    /// A pin that does nothing, for checking what is taken and in what order.
    struct NullPin;

    impl embedded_hal::digital::ErrorType for NullPin {
        type Error = std::convert::Infallible;
    }

    impl OutputPin for NullPin {
        fn set_low(&mut self) -> Result<(), Self::Error> {
            Ok(())
        }
        fn set_high(&mut self) -> Result<(), Self::Error> {
            Ok(())
        }
    }

    impl InputPin for NullPin {
        fn is_high(&mut self) -> Result<bool, Self::Error> {
            Ok(true)
        }
        fn is_low(&mut self) -> Result<bool, Self::Error> {
            Ok(false)
        }
    }

    struct Recorded {
        taken: std::rc::Rc<std::cell::RefCell<Vec<(u8, &'static str)>>>,
        refuse: u8,
    }

    impl PinSource for Recorded {
        type Error = std::convert::Infallible;
        type Out = NullPin;
        type In = NullPin;
        type Delay = SpinDelay;
        fn output(
            &mut self,
            pin: u8,
            role: &'static str,
            high: bool,
        ) -> Result<NullPin, StartupError> {
            self.take(pin, role, if high { "out high" } else { "out low" })
        }
        fn input(
            &mut self,
            pin: u8,
            role: &'static str,
            pull_up: bool,
        ) -> Result<NullPin, StartupError> {
            self.take(pin, role, if pull_up { "in pull-up" } else { "in" })
        }
        fn delay(&self) -> SpinDelay {
            SpinDelay
        }
    }

    impl Recorded {
        fn take(
            &mut self,
            pin: u8,
            role: &'static str,
            how: &'static str,
        ) -> Result<NullPin, StartupError> {
            if pin == self.refuse {
                return Err(StartupError {
                    pin,
                    role,
                    reason: "is already in use by another program".to_owned(),
                });
            }
            self.taken.borrow_mut().push((pin, how));
            Ok(NullPin)
        }
    }

    #[test]
    fn the_enable_line_is_taken_first_and_off_and_a_refused_pin_names_itself() {
        let cfg = HardwareConfig::built_in().unwrap();
        assert!(cfg.pins.enable_active_low);
        let taken = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let source = Recorded {
            taken: taken.clone(),
            refuse: cfg.pins.end_of_travel,
        };
        let Err(e) = GpioPump::open(&cfg, source) else {
            panic!("opened with the end-of-travel switch refused");
        };
        assert_eq!(
            e.to_string(),
            "GPIO 5 (end-of-travel switch): is already in use by another program"
        );
        // EN (active low) is driven high, the motor off, before STEP and DIR exist.
        let taken = taken.borrow();
        assert_eq!(
            taken[..3],
            [(22, "out high"), (17, "out low"), (27, "out low")]
        );
        // The load cell's clock is an output held low (high for 60 µs powers the HX711 down),
        // its data line a plain input.
        assert!(taken.contains(&(24, "out low")) && taken.contains(&(23, "in")));
    }
}
