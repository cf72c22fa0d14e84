//! A STEP/DIR/EN stepper driver (A4988, DRV8825, TMC2208 in standalone mode).
//!
//! EN is active low on these boards and pulled up on ours: if the controller dies, hangs with
//! its pins floating, or is reset, the driver is disabled and the motor holds no current — it
//! cannot deliver. The driver starts disabled and is enabled only around delivery.

use embedded_hal::delay::DelayNs;
use embedded_hal::digital::OutputPin;

use super::Direction;

/// A pin error, naming the pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepperError<E> {
    Step(E),
    Dir(E),
    Enable(E),
}

pub struct Stepper<STEP, DIR, EN, D> {
    step: STEP,
    dir: DIR,
    enable: EN,
    delay: D,
    enable_active_low: bool,
    /// High and low time of each STEP pulse, µs (drivers need about 1–2 µs).
    pulse_us: u32,
    enabled: bool,
}

impl<STEP, DIR, EN, D, E> Stepper<STEP, DIR, EN, D>
where
    STEP: OutputPin<Error = E>,
    DIR: OutputPin<Error = E>,
    EN: OutputPin<Error = E>,
    D: DelayNs,
{
    /// Takes the pins and disables the driver at once.
    pub fn new(
        step: STEP,
        dir: DIR,
        enable: EN,
        delay: D,
        enable_active_low: bool,
        pulse_us: u32,
    ) -> Result<Self, StepperError<E>> {
        let mut s = Stepper {
            step,
            dir,
            enable,
            delay,
            enable_active_low,
            pulse_us,
            enabled: true,
        };
        s.step.set_low().map_err(StepperError::Step)?;
        s.set_enabled(false)?;
        Ok(s)
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    pub fn set_enabled(&mut self, enabled: bool) -> Result<(), StepperError<E>> {
        let drive_low = enabled == self.enable_active_low;
        if drive_low {
            self.enable.set_low()
        } else {
            self.enable.set_high()
        }
        .map_err(StepperError::Enable)?;
        self.enabled = enabled;
        Ok(())
    }

    /// Sets the direction, then gives `steps` pulses. Refuses to pulse a disabled driver, so a
    /// caller that forgot to enable finds out rather than believing it delivered.
    pub fn step(&mut self, direction: Direction, steps: u64) -> Result<u64, StepperError<E>> {
        if !self.enabled || steps == 0 {
            return Ok(0);
        }
        match direction {
            Direction::Forward => self.dir.set_high(),
            Direction::Back => self.dir.set_low(),
        }
        .map_err(StepperError::Dir)?;
        // DIR must settle before the first STEP edge (≥ 200 ns on the A4988).
        self.delay.delay_us(self.pulse_us);
        for _ in 0..steps {
            self.step.set_high().map_err(StepperError::Step)?;
            self.delay.delay_us(self.pulse_us);
            self.step.set_low().map_err(StepperError::Step)?;
            self.delay.delay_us(self.pulse_us);
        }
        Ok(steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_hal_mock::eh1::delay::{CheckedDelay, Transaction as D};
    use embedded_hal_mock::eh1::digital::{Mock, State, Transaction as T};

    #[test]
    fn starts_disabled_with_en_high_then_pulses_exactly() {
        let mut step = Mock::new(&[
            T::set(State::Low),
            T::set(State::High),
            T::set(State::Low),
            T::set(State::High),
            T::set(State::Low),
        ]);
        let mut dir = Mock::new(&[T::set(State::High)]);
        let mut en = Mock::new(&[T::set(State::High), T::set(State::Low), T::set(State::High)]);
        let mut delay = CheckedDelay::new(&[
            D::delay_us(2),
            D::delay_us(2),
            D::delay_us(2),
            D::delay_us(2),
            D::delay_us(2),
        ]);
        let mut s = Stepper::new(
            step.clone(),
            dir.clone(),
            en.clone(),
            delay.clone(),
            true,
            2,
        )
        .unwrap();
        assert!(!s.is_enabled());
        s.set_enabled(true).unwrap();
        assert_eq!(s.step(Direction::Forward, 2).unwrap(), 2);
        s.set_enabled(false).unwrap();
        step.done();
        dir.done();
        en.done();
        delay.done();
    }

    #[test]
    fn a_disabled_driver_gives_no_pulses() {
        let mut step = Mock::new(&[T::set(State::Low)]);
        let mut dir = Mock::new(&[]);
        let mut en = Mock::new(&[T::set(State::High)]);
        let mut delay = CheckedDelay::new(&[]);
        let mut s = Stepper::new(
            step.clone(),
            dir.clone(),
            en.clone(),
            delay.clone(),
            true,
            2,
        )
        .unwrap();
        assert_eq!(s.step(Direction::Forward, 5).unwrap(), 0);
        step.done();
        dir.done();
        en.done();
        delay.done();
    }

    #[test]
    fn backing_off_sets_dir_low_and_active_high_enable_is_honoured() {
        let mut step = Mock::new(&[T::set(State::Low), T::set(State::High), T::set(State::Low)]);
        let mut dir = Mock::new(&[T::set(State::Low)]);
        // EN active high: disabled is low, enabled is high.
        let mut en = Mock::new(&[T::set(State::Low), T::set(State::High)]);
        let mut delay = CheckedDelay::new(&[D::delay_us(1), D::delay_us(1), D::delay_us(1)]);
        let mut s = Stepper::new(
            step.clone(),
            dir.clone(),
            en.clone(),
            delay.clone(),
            false,
            1,
        )
        .unwrap();
        s.set_enabled(true).unwrap();
        s.step(Direction::Back, 1).unwrap();
        step.done();
        dir.done();
        en.done();
        delay.done();
    }
}
