//! The HX711 load-cell amplifier on two GPIO lines (DOUT in, PD_SCK out), and the load cell on
//! the plunger that turns its counts into syringe pressure.
//!
//! Protocol (HX711 datasheet): DOUT goes low when a conversion is ready; 24 clock pulses shift
//! the result out MSB first (read DOUT after each rising edge); 1 more pulse selects channel A at
//! gain 128 for the next conversion. PD_SCK held high for more than 60 µs powers the chip down,
//! so each pulse is short. A written driver of ~40 lines, tested against the exact pin traffic,
//! was preferred to a crate so that the saturation codes are refused as sensor faults.

use embedded_hal::delay::DelayNs;
use embedded_hal::digital::{InputPin, OutputPin};

/// The HX711's two saturation codes: a reading at either is a fault, not a pressure.
pub const SATURATED_HIGH: i32 = 0x7F_FFFF;
pub const SATURATED_LOW: i32 = -0x80_0000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hx711Error<E> {
    Pin(E),
    NotReady,
    Saturated(i32),
}

pub struct Hx711<SCK, DOUT, D> {
    sck: SCK,
    dout: DOUT,
    delay: D,
}

impl<SCK, DOUT, D, E> Hx711<SCK, DOUT, D>
where
    SCK: OutputPin<Error = E>,
    DOUT: InputPin<Error = E>,
    D: DelayNs,
{
    pub fn new(mut sck: SCK, dout: DOUT, delay: D) -> Result<Self, Hx711Error<E>> {
        sck.set_low().map_err(Hx711Error::Pin)?;
        Ok(Hx711 { sck, dout, delay })
    }

    /// One conversion: 24 bits, two's complement, channel A gain 128 selected for the next.
    pub fn read(&mut self) -> Result<i32, Hx711Error<E>> {
        if self.dout.is_high().map_err(Hx711Error::Pin)? {
            return Err(Hx711Error::NotReady);
        }
        let mut value: u32 = 0;
        for _ in 0..24 {
            self.pulse()?;
            value <<= 1;
            if self.dout.is_high().map_err(Hx711Error::Pin)? {
                value |= 1;
            }
        }
        self.pulse()?;
        // Sign-extend 24 bits.
        let signed = ((value << 8) as i32) >> 8;
        if signed == SATURATED_HIGH || signed == SATURATED_LOW {
            return Err(Hx711Error::Saturated(signed));
        }
        Ok(signed)
    }

    fn pulse(&mut self) -> Result<(), Hx711Error<E>> {
        self.sck.set_high().map_err(Hx711Error::Pin)?;
        self.delay.delay_us(1);
        self.sck.set_low().map_err(Hx711Error::Pin)?;
        self.delay.delay_us(1);
        Ok(())
    }
}

/// Counts → pressure: `(counts − zero) / counts_per_mmhg`, from the bench calibration (tare
/// with an empty, open syringe; then a known weight on the plunger).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadCellCalibration {
    pub zero: i32,
    pub counts_per_mmhg: f64,
}

impl LoadCellCalibration {
    pub fn pressure_mmhg(&self, counts: i32) -> f64 {
        f64::from(counts - self.zero) / self.counts_per_mmhg
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_hal_mock::eh1::delay::NoopDelay;
    use embedded_hal_mock::eh1::digital::{Mock, State, Transaction as T};

    /// The exact traffic of one read of `bits` (24 values, MSB first).
    fn traffic(bits: u32) -> (Vec<T>, Vec<T>) {
        let mut sck = vec![T::set(State::Low)];
        let mut dout = vec![T::get(State::Low)];
        for i in (0..24).rev() {
            sck.push(T::set(State::High));
            sck.push(T::set(State::Low));
            let bit = if bits >> i & 1 == 1 {
                State::High
            } else {
                State::Low
            };
            dout.push(T::get(bit));
        }
        sck.push(T::set(State::High));
        sck.push(T::set(State::Low));
        (sck, dout)
    }

    fn read(bits: u32) -> Result<i32, Hx711Error<embedded_hal_mock::eh1::MockError>> {
        let (s, d) = traffic(bits);
        let mut sck = Mock::new(&s);
        let mut dout = Mock::new(&d);
        let mut hx = Hx711::new(sck.clone(), dout.clone(), NoopDelay::new()).unwrap();
        let r = hx.read();
        sck.done();
        dout.done();
        r
    }

    #[test]
    fn reads_24_bits_msb_first_and_selects_gain_128() {
        assert_eq!(read(0x00_1234), Ok(0x1234));
        assert_eq!(read(0xFF_FFFF), Ok(-1));
        assert_eq!(read(0x80_0001), Ok(-0x7F_FFFF));
    }

    #[test]
    fn saturation_is_a_fault() {
        assert_eq!(read(0x7F_FFFF), Err(Hx711Error::Saturated(SATURATED_HIGH)));
        assert_eq!(read(0x80_0000), Err(Hx711Error::Saturated(SATURATED_LOW)));
    }

    #[test]
    fn not_ready_reads_nothing() {
        let mut sck = Mock::new(&[T::set(State::Low)]);
        let mut dout = Mock::new(&[T::get(State::High)]);
        let mut hx = Hx711::new(sck.clone(), dout.clone(), NoopDelay::new()).unwrap();
        assert_eq!(hx.read(), Err(Hx711Error::NotReady));
        sck.done();
        dout.done();
    }

    #[test]
    fn calibration_turns_counts_into_pressure() {
        let c = LoadCellCalibration {
            zero: 1000,
            counts_per_mmhg: 50.0,
        };
        assert_eq!(c.pressure_mmhg(6000), 100.0);
    }
}
