//! The Raspberry Pi backend (feature `rpi`): the pump's pins through rppal, assembled from the
//! same embedded-hal drivers the tests drive with scripted pins. rppal is no longer maintained;
//! this is the only module that names it, so that a gpiocdev backend could replace it.
//!
//! Opening it checks the whole pin map first (a pin used twice is refused before any is
//! touched), then takes each pin, naming the pin and its role in any refusal: no permission,
//! a pin in use, a pin the board does not have, or not a Raspberry Pi at all. It never falls back
//! to simulation: that is chosen only with `--sim`.

use rppal::gpio::{Gpio, InputPin, OutputPin};
use rppal::hal::Delay;

use super::hx711::{Hx711, LoadCellCalibration};
use super::indicator::Indicator;
use super::inputs::{PressureSwitch, Switch};
use super::pulse::PulseThread;
use super::stepper::Stepper;
use super::{Direction, HwError, PumpHardware};
use crate::config::HardwareConfig;
use crate::core::supervisor::Priority;

use super::PULSE_PRIORITY;

/// Why the pump's hardware could not be opened, naming the pin and what it is for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("GPIO {pin} ({role}): {reason}")]
pub struct StartupError {
    pub pin: u8,
    pub role: &'static str,
    pub reason: String,
}

fn explain(pin: u8, role: &'static str, e: rppal::gpio::Error) -> StartupError {
    use rppal::gpio::Error as E;
    let reason = match e {
        E::PermissionDenied(path) => format!(
            "no permission to open {path}: the pump daemon must run as a member of the gpio group (the pump's image sets this up)"
        ),
        E::PinUsed(_) => "is already in use by another program".to_owned(),
        E::PinNotAvailable(_) => {
            "this board has no such pin: check [pins] in the hardware profile".to_owned()
        }
        E::UnknownModel => "this computer is not a Raspberry Pi the GPIO library knows (to run without the pump's hardware, start with --sim)".to_owned(),
        E::Io(e) => format!("cannot be opened ({e})"),
        E::ThreadPanic => "the GPIO library failed".to_owned(),
    };
    StartupError { pin, role, reason }
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

enum Sensor {
    LoadCell(Hx711<OutputPin, InputPin, Delay>, LoadCellCalibration),
    Switch(PressureSwitch<InputPin>),
}

/// The pump's hardware on a Raspberry Pi.
pub struct RpiPump {
    pulses: PulseThread,
    sensor: Sensor,
    end_of_travel: Switch<InputPin>,
    reservoir: Switch<InputPin>,
    indicator: Indicator<OutputPin, OutputPin>,
    motor_allowed: bool,
}

impl RpiPump {
    /// Opens every pin of the profile; the motor starts disabled.
    pub fn open(cfg: &HardwareConfig) -> Result<RpiPump, StartupError> {
        pin_map(cfg)?;
        let p = &cfg.pins;
        let gpio = Gpio::new().map_err(|e| explain(p.step, "motor step", e))?;
        let get = |pin: u8, role: &'static str| gpio.get(pin).map_err(|e| explain(pin, role, e));
        // EN first, and off: the driver holds no current from the first instant.
        let enable = if p.enable_active_low {
            get(p.enable, "motor enable")?.into_output_high()
        } else {
            get(p.enable, "motor enable")?.into_output_low()
        };
        let step = get(p.step, "motor step")?.into_output_low();
        let dir = get(p.dir, "motor direction")?.into_output_low();
        let stepper = Stepper::new(step, dir, enable, Delay::new(), p.enable_active_low, 2)
            .map_err(|e| StartupError {
                pin: p.enable,
                role: "motor enable",
                reason: format!("{e:?}"),
            })?;
        let sensor = match p.pressure_switch {
            Some(pin) => Sensor::Switch(PressureSwitch::new(
                get(pin, "pressure switch")?.into_input_pullup(),
                true,
            )),
            None => {
                let sck = get(p.hx711_sck, "load cell clock (HX711 SCK)")?.into_output_low();
                let dout = get(p.hx711_dout, "load cell data (HX711 DOUT)")?.into_input();
                let cell = Hx711::new(sck, dout, Delay::new()).map_err(|e| StartupError {
                    pin: p.hx711_sck,
                    role: "load cell clock (HX711 SCK)",
                    reason: format!("{e:?}"),
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
            get(p.end_of_travel, "end-of-travel switch")?.into_input_pullup(),
            true,
        );
        let reservoir = Switch::new(
            get(p.reservoir_present, "syringe-present switch")?.into_input_pullup(),
            true,
        );
        let indicator = Indicator::new(
            get(p.alarm_led, "alarm LED")?.into_output_low(),
            get(p.buzzer, "buzzer")?.into_output_low(),
        );
        let pulses =
            PulseThread::spawn(stepper, Some(PULSE_PRIORITY)).map_err(|e| StartupError {
                pin: p.step,
                role: "motor step",
                reason: e.to_string(),
            })?;
        if let Err(why) = &pulses.realtime {
            tracing::error!(%why, "step pulses run without real-time priority");
        }
        Ok(RpiPump {
            pulses,
            sensor,
            end_of_travel,
            reservoir,
            indicator,
            motor_allowed: false,
        })
    }
}

impl PumpHardware for RpiPump {
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
                let counts = cell.read().map_err(|e| match e {
                    super::hx711::Hx711Error::NotReady => HwError::SensorNotReady,
                    other => HwError::gpio("load cell", other),
                })?;
                Ok(cal.pressure_mmhg(counts))
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
    #[cfg(not(any(target_arch = "aarch64", target_arch = "arm")))]
    fn off_a_pi_opening_says_so_and_names_the_way_to_simulate() {
        // This machine is not a Raspberry Pi: the refusal is explicit, never a silent switch
        // to simulation.
        let cfg = HardwareConfig::built_in().unwrap();
        let Err(e) = RpiPump::open(&cfg) else {
            panic!("opened the GPIO of a machine that is not a Raspberry Pi");
        };
        assert_eq!(
            e.to_string(),
            "GPIO 17 (motor step): this computer is not a Raspberry Pi the GPIO library knows (to run without the pump's hardware, start with --sim)"
        );
    }
}
