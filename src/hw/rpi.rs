//! rppal's pins (feature `rpi`, `access = "gpiomem"`): the Raspberry Pi's GPIO registers through
//! /dev/gpiomem, which only Raspberry Pi kernels provide. rppal is no longer maintained; this is
//! the only module that names it, and [`super::chardev`] does the same through the kernel's GPIO
//! character device on any kernel.

use rppal::gpio::{Gpio, InputPin, OutputPin};
use rppal::hal::Delay;

use super::gpio::{GpioPump, PinSource, StartupError};
use crate::input::hardware::HardwareConfig;

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
        E::Io(e) => format!("cannot be opened ({e}); /dev/gpiomem needs a Raspberry Pi kernel, access = \"chardev\" works on any"),
        E::ThreadPanic => "the GPIO library failed".to_owned(),
    };
    StartupError { pin, role, reason }
}

/// The pins, from rppal.
pub struct RppalPins {
    gpio: Gpio,
}

impl RppalPins {
    /// Opens the GPIO; a refusal is reported against `first`, the first pin the pump takes.
    pub fn open(first: (u8, &'static str)) -> Result<RppalPins, StartupError> {
        let gpio = Gpio::new().map_err(|e| explain(first.0, first.1, e))?;
        Ok(RppalPins { gpio })
    }
}

impl PinSource for RppalPins {
    type Error = std::convert::Infallible;
    type Out = OutputPin;
    type In = InputPin;
    type Delay = Delay;

    fn output(
        &mut self,
        pin: u8,
        role: &'static str,
        high: bool,
    ) -> Result<OutputPin, StartupError> {
        let p = self.gpio.get(pin).map_err(|e| explain(pin, role, e))?;
        Ok(if high {
            p.into_output_high()
        } else {
            p.into_output_low()
        })
    }

    fn input(
        &mut self,
        pin: u8,
        role: &'static str,
        pull_up: bool,
    ) -> Result<InputPin, StartupError> {
        let p = self.gpio.get(pin).map_err(|e| explain(pin, role, e))?;
        Ok(if pull_up {
            p.into_input_pullup()
        } else {
            p.into_input()
        })
    }

    fn delay(&self) -> Delay {
        Delay::new()
    }
}

/// The pump's hardware through rppal.
pub fn open(cfg: &HardwareConfig) -> Result<GpioPump<RppalPins>, StartupError> {
    super::gpio::pin_map(cfg)?;
    let pins = RppalPins::open((cfg.pins.enable, "motor enable"))?;
    GpioPump::open(cfg, pins)
}

/// The alarm light and tone alone, for `titra-alarm`.
pub fn open_alarm_lines(
    cfg: &HardwareConfig,
) -> Result<super::indicator::Indicator<OutputPin, OutputPin>, StartupError> {
    let pins = RppalPins::open((cfg.pins.alarm_led, "alarm LED"))?;
    super::gpio::open_alarm_lines(cfg, pins)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(not(any(target_arch = "aarch64", target_arch = "arm")))]
    fn off_a_pi_opening_says_so_and_names_the_way_to_simulate() {
        // This machine is not a Raspberry Pi: the refusal is explicit, never a silent switch
        // to simulation.
        let cfg = HardwareConfig::built_in().unwrap();
        let Err(e) = open(&cfg) else {
            panic!("opened the GPIO of a machine that is not a Raspberry Pi");
        };
        assert_eq!(
            e.to_string(),
            "GPIO 22 (motor enable): this computer is not a Raspberry Pi the GPIO library knows (to run without the pump's hardware, start with --sim)"
        );
    }
}
