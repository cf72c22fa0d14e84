//! Switch inputs: end of travel, syringe present, and the inline pressure switch.
//!
//! Switches close to ground against a pull-up (active low) unless the profile says otherwise,
//! so a broken wire reads as "open" — for the syringe switch that means "not present" and
//! stops delivery, the safe side.

use embedded_hal::digital::InputPin;

/// One switch, active low or high.
pub struct Switch<P> {
    pin: P,
    active_low: bool,
}

impl<P: InputPin> Switch<P> {
    pub fn new(pin: P, active_low: bool) -> Self {
        Switch { pin, active_low }
    }

    /// Whether the switch is closed (pressed).
    pub fn is_active(&mut self) -> Result<bool, P::Error> {
        Ok(self.pin.is_low()? == self.active_low)
    }
}

/// An inline pressure switch on one input: the alternative to the load cell. It only says
/// "above its set point" — reported as an infinite pressure, which trips the threshold at once
/// — or "below" (zero), so it cannot follow a trend; the README says so.
pub struct PressureSwitch<P> {
    switch: Switch<P>,
}

impl<P: InputPin> PressureSwitch<P> {
    pub fn new(pin: P, active_low: bool) -> Self {
        PressureSwitch {
            switch: Switch::new(pin, active_low),
        }
    }

    pub fn pressure_mmhg(&mut self) -> Result<f64, P::Error> {
        Ok(if self.switch.is_active()? {
            f64::INFINITY
        } else {
            0.0
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_hal_mock::eh1::digital::{Mock, State, Transaction as T};

    #[test]
    fn active_low_switches_read_closed_when_low() {
        let mut pin = Mock::new(&[T::get(State::Low), T::get(State::High)]);
        let mut s = Switch::new(pin.clone(), true);
        assert!(s.is_active().unwrap());
        assert!(!s.is_active().unwrap());
        pin.done();
    }

    #[test]
    fn active_high_switches_read_closed_when_high() {
        let mut pin = Mock::new(&[T::get(State::High)]);
        let mut s = Switch::new(pin.clone(), false);
        assert!(s.is_active().unwrap());
        pin.done();
    }

    #[test]
    fn a_tripped_pressure_switch_reads_as_infinite_pressure() {
        let mut pin = Mock::new(&[T::get(State::Low), T::get(State::High)]);
        let mut p = PressureSwitch::new(pin.clone(), true);
        assert_eq!(p.pressure_mmhg().unwrap(), f64::INFINITY);
        assert_eq!(p.pressure_mmhg().unwrap(), 0.0);
        pin.done();
    }
}
