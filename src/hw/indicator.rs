//! The alarm LED and buzzer, showing the highest active priority with the IEC 60601-1-8
//! patterns (CLINICAL.md): HIGH flashes at 2 Hz (in 1.4–2.8 Hz) with a burst of 10 pulses;
//! MEDIUM flashes at 0.5 Hz, 40 % on (in 0.4–0.8 Hz, 20–60 %) with a burst of 3; LOW is steady
//! with 1 pulse; information signals light the LED steadily and stay silent.

use embedded_hal::digital::OutputPin;

use crate::core::supervisor::Priority;

/// How long one burst cycle lasts before it repeats, ms.
const BURST_PERIOD_MS: u64 = 10_000;
/// One tone pulse and the gap after it, ms.
const PULSE_MS: u64 = 150;
const GAP_MS: u64 = 100;

/// Whether the LED and the tone are on at `phase_ms` for `priority`.
pub fn pattern(priority: Option<Priority>, phase_ms: u64) -> (bool, bool) {
    let Some(p) = priority else {
        return (false, false);
    };
    let led = match p {
        Priority::High => phase_ms % 500 < 250,
        Priority::Medium => phase_ms % 2_000 < 800,
        Priority::Low | Priority::Info => true,
    };
    let pulses = match p {
        Priority::High => 10,
        Priority::Medium => 3,
        Priority::Low => 1,
        Priority::Info => 0,
    };
    let in_burst = phase_ms % BURST_PERIOD_MS;
    let slot = in_burst / (PULSE_MS + GAP_MS);
    let tone = slot < pulses && in_burst % (PULSE_MS + GAP_MS) < PULSE_MS;
    (led, tone)
}

pub struct Indicator<LED, BUZ> {
    led: LED,
    buzzer: BUZ,
    shown: Option<(bool, bool)>,
}

impl<LED, BUZ, E> Indicator<LED, BUZ>
where
    LED: OutputPin<Error = E>,
    BUZ: OutputPin<Error = E>,
{
    pub fn new(led: LED, buzzer: BUZ) -> Self {
        Indicator {
            led,
            buzzer,
            shown: None,
        }
    }

    /// Sets the pins for `priority` at `phase_ms`, touching them only when they change.
    pub fn show(&mut self, priority: Option<Priority>, phase_ms: u64) -> Result<(), E> {
        let want = pattern(priority, phase_ms);
        if self.shown == Some(want) {
            return Ok(());
        }
        if want.0 {
            self.led.set_high()?
        } else {
            self.led.set_low()?
        }
        if want.1 {
            self.buzzer.set_high()?
        } else {
            self.buzzer.set_low()?
        }
        self.shown = Some(want);
        Ok(())
    }
}

/// The alarm light and tone as `titra-alarm` drives them: the pump's own lines, or simulated
/// ones that say each change.
pub trait Annunciator {
    /// Shows `priority` at `phase_ms` (see [`pattern`]).
    fn show(&mut self, priority: Option<Priority>, phase_ms: u64) -> Result<(), String>;
}

impl<LED, BUZ, E> Annunciator for Indicator<LED, BUZ>
where
    LED: OutputPin<Error = E>,
    BUZ: OutputPin<Error = E>,
    E: std::fmt::Debug,
{
    fn show(&mut self, priority: Option<Priority>, phase_ms: u64) -> Result<(), String> {
        Indicator::show(self, priority, phase_ms).map_err(|e| format!("{e:?}"))
    }
}

/// Simulated alarm lines: each change of the light or the tone is written as a line, marked
/// SIMULATED ("SIMULATED alarm lines: LED on, tone off").
pub struct SimulatedLines<W> {
    out: W,
    shown: Option<(bool, bool)>,
}

impl<W: std::io::Write> SimulatedLines<W> {
    pub fn new(out: W) -> Self {
        SimulatedLines { out, shown: None }
    }
}

impl<W: std::io::Write> Annunciator for SimulatedLines<W> {
    fn show(&mut self, priority: Option<Priority>, phase_ms: u64) -> Result<(), String> {
        let want = pattern(priority, phase_ms);
        if self.shown == Some(want) {
            return Ok(());
        }
        let word = |on: bool| if on { "on" } else { "off" };
        writeln!(
            self.out,
            "SIMULATED alarm lines: LED {}, tone {}",
            word(want.0),
            word(want.1)
        )
        .and_then(|()| self.out.flush())
        .map_err(|e| e.to_string())?;
        self.shown = Some(want);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_hal_mock::eh1::digital::{Mock, State, Transaction as T};

    fn flashes_per_second(p: Priority) -> f64 {
        let mut edges = 0;
        let mut last = false;
        for ms in 0..10_000 {
            let (led, _) = pattern(Some(p), ms);
            if led && !last {
                edges += 1;
            }
            last = led;
        }
        f64::from(edges) / 10.0
    }

    fn pulses(p: Priority) -> u32 {
        let mut n = 0;
        let mut last = false;
        for ms in 0..BURST_PERIOD_MS {
            let (_, tone) = pattern(Some(p), ms);
            if tone && !last {
                n += 1;
            }
            last = tone;
        }
        n
    }

    #[test]
    fn flash_rates_and_bursts_follow_iec_60601_1_8() {
        let high = flashes_per_second(Priority::High);
        assert!((1.4..=2.8).contains(&high), "{high}");
        let medium = flashes_per_second(Priority::Medium);
        assert!((0.4..=0.8).contains(&medium), "{medium}");
        let duty = (0..2_000)
            .filter(|&ms| pattern(Some(Priority::Medium), ms).0)
            .count() as f64
            / 2_000.0;
        assert!((0.2..=0.6).contains(&duty), "{duty}");
        assert_eq!(
            flashes_per_second(Priority::Low),
            0.1,
            "steady: one rising edge only"
        );
        assert_eq!(pulses(Priority::High), 10);
        assert_eq!(pulses(Priority::Medium), 3);
        assert_eq!(pulses(Priority::Low), 1);
        assert_eq!(pulses(Priority::Info), 0);
        assert_eq!(pattern(None, 123), (false, false));
    }

    #[test]
    fn pins_are_written_only_on_change() {
        let mut led = Mock::new(&[T::set(State::High), T::set(State::Low)]);
        let mut buz = Mock::new(&[T::set(State::High), T::set(State::Low)]);
        let mut ind = Indicator::new(led.clone(), buz.clone());
        ind.show(Some(Priority::High), 0).unwrap();
        ind.show(Some(Priority::High), 10).unwrap();
        ind.show(None, 20).unwrap();
        led.done();
        buz.done();
    }

    #[test]
    fn simulated_lines_say_each_change_once() {
        let mut out = Vec::new();
        let mut lines = SimulatedLines::new(&mut out);
        for ms in (0..1_000).step_by(25) {
            lines.show(Some(Priority::High), ms).unwrap();
        }
        lines.show(None, 1_000).unwrap();
        let text = String::from_utf8(out).unwrap();
        let said: Vec<&str> = text.lines().collect();
        // HIGH: the LED at 2 Hz, the tone in 150 ms pulses 100 ms apart; then quiet.
        assert_eq!(said[0], "SIMULATED alarm lines: LED on, tone on");
        assert_eq!(said[1], "SIMULATED alarm lines: LED on, tone off");
        assert_eq!(
            said.last(),
            Some(&"SIMULATED alarm lines: LED off, tone off")
        );
        let tones = said.iter().filter(|l| l.ends_with("tone on")).count();
        assert_eq!(tones, 4, "four pulses begin in the first second: {said:?}");
    }
}
