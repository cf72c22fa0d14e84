//! The pump's hardware, as the engine sees it ([`PumpHardware`]), and the drivers that make it
//! from GPIO pins, generic over embedded-hal 1.0 traits so that the Raspberry Pi backend
//! (rppal), the simulator and the tests' scripted pins all fit.
//!
//! - [`stepper`]: STEP/DIR/EN stepper driver; EN is wired so that a dead controller leaves the
//!   motor disabled.
//! - [`hx711`]: the load cell on the plunger, through an HX711 on two lines.
//! - [`inputs`]: end-of-travel and syringe-present switches, and the inline pressure switch
//!   that can replace the load cell.
//! - [`indicator`]: the alarm LED and buzzer, with the IEC 60601-1-8 patterns.
//! - [`pulse`]: the real-time thread that gives the step pulses.
//! - [`button`]: the patient's bolus button on a cord, debounced, and its stuck-button fault.
//! - [`gpio`]: the pump assembled from those drivers on whatever pins a backend hands out.
//! - `chardev` and `rpi` (feature `rpi`): the backends, the kernel's GPIO character device
//!   (any kernel) and rppal's /dev/gpiomem (Raspberry Pi kernels); `[pins] access` chooses.
//! - [`sampler`]: the load cell read at its full rate on its own thread, a reading the mean of
//!   the conversions since the last.
//! - [`selftest`]: the power-on self-test of whatever hardware the pump has.
//! - [`calibrate`]: the bench calibration of the mechanism (steps per mL) and its trumpet curve.

pub mod button;
pub mod calibrate;
#[cfg(feature = "rpi")]
pub mod chardev;
pub mod gpio;
pub mod hx711;
pub mod indicator;
pub mod inputs;
pub mod pulse;
#[cfg(feature = "rpi")]
pub mod rpi;
pub mod sampler;
pub mod selftest;
pub mod stepper;

/// The pump's own hardware, through the backend the profile's `[pins] access` names. Never a
/// fallback to simulation: a refusal names the pin, its role and what to do.
#[cfg(feature = "rpi")]
pub fn open_pump(
    cfg: &crate::input::hardware::HardwareConfig,
) -> Result<Box<dyn PumpHardware + Send>, gpio::StartupError> {
    Ok(match cfg.pins.access {
        crate::input::hardware::GpioAccess::Chardev => Box::new(chardev::open(cfg)?),
        crate::input::hardware::GpioAccess::Gpiomem => Box::new(rpi::open(cfg)?),
    })
}

/// The alarm light and tone alone, through the backend the profile's `[pins] access` names:
/// what `titra-alarm` sounds while the pump daemon cannot run.
#[cfg(feature = "rpi")]
pub fn open_alarm_lines(
    cfg: &crate::input::hardware::HardwareConfig,
) -> Result<Box<dyn indicator::Annunciator + Send>, gpio::StartupError> {
    Ok(match cfg.pins.access {
        crate::input::hardware::GpioAccess::Chardev => Box::new(chardev::open_alarm_lines(cfg)?),
        crate::input::hardware::GpioAccess::Gpiomem => Box::new(rpi::open_alarm_lines(cfg)?),
    })
}

use crate::core::supervisor::Priority;

/// A hardware failure, as the engine sees it. Each is an alarm, never ignored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HwError {
    #[error("GPIO {what}: {detail}")]
    Gpio { what: &'static str, detail: String },
    #[error("the occlusion sensor has no reading ready")]
    SensorNotReady,
    #[error("the occlusion sensor reads {raw}, outside its range")]
    SensorOutOfRange { raw: i32 },
    #[error("the alarm light and tone driver does not answer")]
    Indicator,
    #[error("faults can only be injected into simulated hardware")]
    NotSimulated,
    #[error(
        "unknown fault \"{0}\" (occlusion, stall, sensor_stuck, sensor_out_of_range, sensor_unplugged, reservoir_removed, controller_stuck, enable_stuck, indicator_failed, sensor_noisy, end_of_travel)"
    )]
    UnknownFault(String),
}

impl HwError {
    pub fn gpio(what: &'static str, e: impl std::fmt::Debug) -> HwError {
        HwError::Gpio {
            what,
            detail: format!("{e:?}"),
        }
    }
}

/// The step-pulse thread's SCHED_FIFO priority on the pump (above the kernel's threaded
/// interrupts at 50).
pub const PULSE_PRIORITY: i32 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Pushes the plunger: delivers.
    Forward,
    /// Pulls it back: relieves pressure after an occlusion.
    Back,
}

/// Everything the engine needs from the pump's hardware.
pub trait PumpHardware {
    /// Whether this is the simulator (shown prominently, never a silent fallback).
    fn is_simulated(&self) -> bool;
    fn set_motor_enabled(&mut self, enabled: bool) -> Result<(), HwError>;
    /// Moves the plunger by `steps` now.
    fn step(&mut self, direction: Direction, steps: u64) -> Result<(), HwError>;
    /// The pressure in the syringe, from the load cell on the plunger: the mean of its
    /// conversions since the last call (read at the chip's full rate by the sensor thread,
    /// `sampler`); or the pressure switch: zero when open, `f64::INFINITY` when tripped.
    fn read_pressure_mmhg(&mut self) -> Result<f64, HwError>;
    fn reservoir_present(&mut self) -> Result<bool, HwError>;
    fn end_of_travel(&mut self) -> Result<bool, HwError>;
    /// The plunger's measured position in steps from where it was loaded, where a position
    /// sensor is fitted (`None` otherwise).
    fn plunger_position(&mut self) -> Result<Option<i64>, HwError>;
    /// The load cell's raw reading, for taring and span calibration (`titra hwtest`); `None`
    /// where there is no load cell (a pressure switch, the simulator).
    fn load_cell_counts(&mut self) -> Result<Option<i32>, HwError> {
        Ok(None)
    }
    /// What the patient's bolus button on its cord did since the last call (debounced presses,
    /// a stuck or chattering button, its recovery); nothing where no button is fitted.
    fn button_events(&mut self) -> Vec<button::ButtonEvent> {
        Vec::new()
    }
    /// The motor driver's enable line as read back from an input wired to it, where one is
    /// (`None` otherwise): the power-on self-test's check that the driver switches off.
    fn motor_enabled_readback(&mut self) -> Result<Option<bool>, HwError> {
        Ok(None)
    }
    /// Shows the highest active alarm priority (LED and tone), `None` for quiet. Called
    /// regularly; `phase_ms` is the time for the flashing and burst patterns.
    fn annunciate(&mut self, priority: Option<Priority>, phase_ms: u64) -> Result<(), HwError>;
    /// Switches a simulated fault on or off (`occlusion`, `stall`, `sensor_stuck`,
    /// `sensor_out_of_range`, `reservoir_removed`). Real hardware refuses.
    fn inject_fault(&mut self, fault: &str, on: bool) -> Result<(), HwError> {
        let _ = (fault, on);
        Err(HwError::NotSimulated)
    }
    /// Lets simulated time pass (the model drains the line); nothing on real hardware.
    fn advance_to(&mut self, _t: crate::core::units::Timestamp) {}
    /// A new syringe holding `volume` was seated and recorded (the simulator moves its plunger
    /// back; on real hardware the nurse did it).
    fn reservoir_loaded(&mut self, _volume: crate::core::units::Volume) {}
}

/// Every method forwarded, the defaulted ones too: a method left out here would silently take
/// the trait's default for the daemon's boxed hardware (it did once for the patient's button).
impl PumpHardware for Box<dyn PumpHardware + Send> {
    fn is_simulated(&self) -> bool {
        (**self).is_simulated()
    }
    fn set_motor_enabled(&mut self, enabled: bool) -> Result<(), HwError> {
        (**self).set_motor_enabled(enabled)
    }
    fn step(&mut self, direction: Direction, steps: u64) -> Result<(), HwError> {
        (**self).step(direction, steps)
    }
    fn read_pressure_mmhg(&mut self) -> Result<f64, HwError> {
        (**self).read_pressure_mmhg()
    }
    fn reservoir_present(&mut self) -> Result<bool, HwError> {
        (**self).reservoir_present()
    }
    fn end_of_travel(&mut self) -> Result<bool, HwError> {
        (**self).end_of_travel()
    }
    fn plunger_position(&mut self) -> Result<Option<i64>, HwError> {
        (**self).plunger_position()
    }
    fn load_cell_counts(&mut self) -> Result<Option<i32>, HwError> {
        (**self).load_cell_counts()
    }
    fn button_events(&mut self) -> Vec<button::ButtonEvent> {
        (**self).button_events()
    }
    fn annunciate(&mut self, priority: Option<Priority>, phase_ms: u64) -> Result<(), HwError> {
        (**self).annunciate(priority, phase_ms)
    }
    fn inject_fault(&mut self, fault: &str, on: bool) -> Result<(), HwError> {
        (**self).inject_fault(fault, on)
    }
    fn motor_enabled_readback(&mut self) -> Result<Option<bool>, HwError> {
        (**self).motor_enabled_readback()
    }
    fn reservoir_loaded(&mut self, volume: crate::core::units::Volume) {
        (**self).reservoir_loaded(volume)
    }
    fn advance_to(&mut self, t: crate::core::units::Timestamp) {
        (**self).advance_to(t)
    }
}
