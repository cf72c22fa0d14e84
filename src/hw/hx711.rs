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
pub(crate) const SATURATED_LOW: i32 = -0x80_0000;

/// The time between two conversions at the HX711's slowest output rate, 10 samples/s (RATE
/// pin low; the datasheet's 10 or 80 SPS): a reading is ready at most this long after the last.
pub const SAMPLE_PERIOD_US: u32 = 100_000;
/// How often DOUT is looked at while waiting for a reading.
const POLL_US: u32 = 1_000;

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

    /// One conversion if one is ready now: 24 bits, two's complement, channel A gain 128
    /// selected for the next.
    pub fn read(&mut self) -> Result<i32, Hx711Error<E>> {
        if self.dout.is_high().map_err(Hx711Error::Pin)? {
            return Err(Hx711Error::NotReady);
        }
        self.shift_in()
    }

    /// One conversion, waiting for it up to one sample period at the chip's slowest rate: a
    /// read that falls between two conversions is not a fault; a chip with nothing ready for a
    /// whole period (unplugged, unpowered) is `NotReady`.
    pub fn read_waiting(&mut self) -> Result<i32, Hx711Error<E>> {
        let mut waited_us = 0;
        while self.dout.is_high().map_err(Hx711Error::Pin)? {
            if waited_us >= SAMPLE_PERIOD_US {
                return Err(Hx711Error::NotReady);
            }
            self.delay.delay_us(POLL_US);
            waited_us += POLL_US;
        }
        self.shift_in()
    }

    /// Clocks out a conversion that is ready.
    fn shift_in(&mut self) -> Result<i32, Hx711Error<E>> {
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

/// Pascals per mmHg.
const PA_PER_MMHG: f64 = 133.322;
/// Standard gravity, m/s².
const G: f64 = 9.806_65;

impl LoadCellCalibration {
    /// The pressure of a mean of conversions (a fraction of a count).
    pub fn pressure_mmhg_of_mean(&self, counts: f64) -> f64 {
        (counts - f64::from(self.zero)) / self.counts_per_mmhg
    }

    pub fn pressure_mmhg(&self, counts: i32) -> f64 {
        f64::from(counts - self.zero) / self.counts_per_mmhg
    }

    /// The bench calibration: `zero` read with an empty, open syringe, `loaded` with `grams`
    /// standing on the plunger, whose area turns the weight into the pressure it stands for
    /// (p = m·g / A). Refuses a span too small to trust (under 100 counts: no weight, a loose
    /// wire, or the cell not under the plunger).
    pub fn from_span(
        zero: i32,
        loaded: i32,
        grams: f64,
        plunger_area_mm2: f64,
    ) -> Result<LoadCellCalibration, String> {
        if !(grams.is_finite() && grams > 0.0) {
            return Err(format!(
                "weight: {grams} g must be a positive number of grams"
            ));
        }
        if !(plunger_area_mm2.is_finite() && plunger_area_mm2 > 0.0) {
            return Err(format!(
                "plunger area: {plunger_area_mm2} mm² must be positive (the profile's [mechanism])"
            ));
        }
        let span = i64::from(loaded) - i64::from(zero);
        if span.abs() < 100 {
            return Err(format!(
                "the load cell moved {span} counts under {grams} g (at least 100 are needed): is the weight on the plunger and the cell wired?"
            ));
        }
        let pascals = grams / 1000.0 * G / (plunger_area_mm2 * 1e-6);
        Ok(LoadCellCalibration {
            zero,
            counts_per_mmhg: span as f64 / (pascals / PA_PER_MMHG),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_calibration_turns_a_weight_into_the_pressure_it_stands_for() {
        // 500 g on a 283 mm² plunger: 4.903 N / 283e-6 m² = 17 326 Pa = 129.96 mmHg.
        let cal = LoadCellCalibration::from_span(1_000, 130_960, 500.0, 283.0).unwrap();
        assert_eq!(cal.zero, 1_000);
        assert!((cal.counts_per_mmhg - 1000.0).abs() < 1.0, "{cal:?}");
        // Read back: the loaded reading is the weight's pressure, the zero reads 0.
        assert!((cal.pressure_mmhg(130_960) - 129.96).abs() < 0.05);
        assert_eq!(cal.pressure_mmhg(1_000), 0.0);
        // A cell mounted the other way round gives a negative span, which still reads right.
        let flipped = LoadCellCalibration::from_span(0, -129_960, 500.0, 283.0).unwrap();
        assert!((flipped.pressure_mmhg(-129_960) - 129.96).abs() < 0.05);
    }

    #[test]
    fn a_span_too_small_or_a_weight_that_is_not_one_is_refused() {
        let e = LoadCellCalibration::from_span(1_000, 1_050, 500.0, 283.0).unwrap_err();
        assert!(e.contains("moved 50 counts under 500 g"), "{e}");
        for grams in [0.0, -5.0, f64::NAN] {
            let e = LoadCellCalibration::from_span(0, 100_000, grams, 283.0).unwrap_err();
            assert!(e.starts_with("weight: "), "{e}");
        }
        assert!(LoadCellCalibration::from_span(0, 100_000, 500.0, 0.0).is_err());
    }
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
    fn a_reading_not_ready_yet_is_waited_for_within_one_sample_period() {
        // DOUT high three times (between two conversions), then the conversion.
        let (s, d) = traffic(0x00_0042);
        let mut dout_traffic = vec![T::get(State::High); 3];
        dout_traffic.extend(d);
        let mut sck = Mock::new(&s);
        let mut dout = Mock::new(&dout_traffic);
        let mut hx = Hx711::new(sck.clone(), dout.clone(), NoopDelay::new()).unwrap();
        assert_eq!(hx.read_waiting(), Ok(0x42));
        sck.done();
        dout.done();
    }

    #[test]
    fn nothing_ready_for_a_whole_sample_period_is_not_ready() {
        // Looked at every POLL_US, the last look at the end of the period.
        let looks = (SAMPLE_PERIOD_US / POLL_US + 1) as usize;
        let mut sck = Mock::new(&[T::set(State::Low)]);
        let mut dout = Mock::new(&vec![T::get(State::High); looks]);
        let mut hx = Hx711::new(sck.clone(), dout.clone(), NoopDelay::new()).unwrap();
        assert_eq!(hx.read_waiting(), Err(Hx711Error::NotReady));
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
