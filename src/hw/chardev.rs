//! The pins through the kernel's GPIO character device (feature `rpi`, `access = "chardev"`,
//! the default): /dev/gpiochipN, which every kernel provides (Debian's, which the pump image
//! runs, has no /dev/gpiomem). The daemon needs no root, only the gpio group that the image's
//! udev rule gives the chip. The pins are gpiocdev line requests, each held for the daemon's
//! life and released by the kernel when the process ends: the motor's EN line then floats to
//! the driver's own pull-up, which disables it.

use std::path::{Path, PathBuf};

use gpiocdev::line::{Bias, Value};
use gpiocdev_embedded_hal::{InputPin, OutputPin};

use super::gpio::{GpioPump, PinSource, SpinDelay, StartupError};
use crate::input::hardware::HardwareConfig;

/// The consumer name the kernel shows for the pump's lines (gpioinfo).
const CONSUMER: &str = "titra-pumpd";

/// The pins, from one GPIO chip.
pub struct ChardevPins {
    chip: PathBuf,
    /// The program the kernel names as the lines' holder (gpioinfo).
    consumer: &'static str,
}

impl ChardevPins {
    /// Checks that the chip is there and may be opened; a refusal is reported against
    /// `first`, the first pin the pump takes.
    pub fn open(chip: &Path, first: (u8, &'static str)) -> Result<ChardevPins, StartupError> {
        let refuse = |reason: String| StartupError {
            pin: first.0,
            role: first.1,
            reason,
        };
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(chip)
        {
            Ok(_) => Ok(ChardevPins {
                chip: chip.to_owned(),
                consumer: CONSUMER,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(refuse(format!(
                "there is no GPIO chip {}: this computer is not the pump (to run without the pump's hardware, start with --sim), or [pins] chip in the hardware profile is wrong",
                chip.display()
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(refuse(format!(
                "no permission to open {}: the pump daemon must run as a member of the gpio group (the pump's image sets this up)",
                chip.display()
            ))),
            Err(e) => Err(refuse(format!("{} cannot be opened ({e})", chip.display()))),
        }
    }

    fn explain(&self, pin: u8, role: &'static str, e: impl std::fmt::Display) -> StartupError {
        let text = e.to_string();
        let reason = if text.contains("busy") {
            "is already in use by another program (gpioinfo shows which)".to_owned()
        } else if text.contains("nvalid argument") || text.contains("out of range") {
            format!(
                "{} has no such line: check [pins] in the hardware profile",
                self.chip.display()
            )
        } else {
            format!("cannot be requested from {} ({text})", self.chip.display())
        };
        StartupError { pin, role, reason }
    }
}

impl PinSource for ChardevPins {
    type Error = gpiocdev_embedded_hal::Error;
    type Out = OutputPin;
    type In = InputPin;
    type Delay = SpinDelay;

    fn output(
        &mut self,
        pin: u8,
        role: &'static str,
        high: bool,
    ) -> Result<OutputPin, StartupError> {
        let value = if high { Value::Active } else { Value::Inactive };
        let request = gpiocdev::Request::builder()
            .on_chip(&self.chip)
            .with_consumer(self.consumer)
            .with_line(u32::from(pin))
            .as_output(value)
            .request()
            .map_err(|e| self.explain(pin, role, e))?;
        OutputPin::try_from(request).map_err(|e| self.explain(pin, role, e))
    }

    fn input(
        &mut self,
        pin: u8,
        role: &'static str,
        pull_up: bool,
    ) -> Result<InputPin, StartupError> {
        let mut builder = gpiocdev::Request::builder();
        builder
            .on_chip(&self.chip)
            .with_consumer(self.consumer)
            .with_line(u32::from(pin))
            .as_input();
        if pull_up {
            builder.with_bias(Bias::PullUp);
        }
        let request = builder.request().map_err(|e| self.explain(pin, role, e))?;
        InputPin::try_from(request).map_err(|e| self.explain(pin, role, e))
    }

    fn delay(&self) -> SpinDelay {
        SpinDelay
    }
}

/// The pump's hardware through the GPIO character device named in the profile.
pub fn open(cfg: &HardwareConfig) -> Result<GpioPump<ChardevPins>, StartupError> {
    super::gpio::pin_map(cfg)?;
    let pins = ChardevPins::open(&cfg.pins.chip, (cfg.pins.enable, "motor enable"))?;
    GpioPump::open(cfg, pins)
}

/// The alarm light and tone alone, for `titra-alarm` (gpioinfo names it as their holder).
pub fn open_alarm_lines(
    cfg: &HardwareConfig,
) -> Result<super::indicator::Indicator<OutputPin, OutputPin>, StartupError> {
    let mut pins = ChardevPins::open(&cfg.pins.chip, (cfg.pins.alarm_led, "alarm LED"))?;
    pins.consumer = "titra-alarm";
    super::gpio::open_alarm_lines(cfg, pins)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_chip_says_so_and_names_the_way_to_simulate() {
        let mut cfg = HardwareConfig::built_in().unwrap();
        cfg.pins.chip = PathBuf::from("/dev/gpiochip-titra-test-none");
        let Err(e) = open(&cfg) else {
            panic!("opened a GPIO chip that does not exist");
        };
        assert_eq!(
            e.to_string(),
            "GPIO 22 (motor enable): there is no GPIO chip /dev/gpiochip-titra-test-none: this computer is not the pump (to run without the pump's hardware, start with --sim), or [pins] chip in the hardware profile is wrong"
        );
    }

    #[test]
    fn a_chip_that_cannot_be_requested_from_is_named() {
        // /dev/null opens, but is no GPIO chip: the first line request fails, naming the pin.
        let mut cfg = HardwareConfig::built_in().unwrap();
        cfg.pins.chip = PathBuf::from("/dev/null");
        let Err(e) = open(&cfg) else {
            panic!("requested lines from /dev/null");
        };
        let text = e.to_string();
        assert!(
            text.starts_with("GPIO 22 (motor enable): ") && text.contains("/dev/null"),
            "{text}"
        );
    }
}
