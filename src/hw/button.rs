//! The patient's bolus button on a cord: a switch read many times a second, turned into presses
//! — debounced — and into a fault when it cannot be trusted. A button held down (a cord caught
//! under the patient, a jammed switch) or chattering (a broken wire, water in the switch) must
//! never request doses: it raises a "stuck button" fault instead, and counts nothing until it
//! has been released and quiet again.
//!
//! Pure and time-injected (milliseconds from any origin): the GPIO backend feeds it from a
//! polling thread in real time, the simulator in virtual time, the tests by hand.

/// The timings (ms) and counts that decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ButtonTiming {
    /// A level must hold this long to count (a switch bounces for a few ms).
    pub debounce_ms: u64,
    /// Held down this long: stuck. Longer than any real press (a second or two).
    pub stuck_after_ms: u64,
    /// This many level changes too short to count, within `glitch_window_ms`: the switch or
    /// its wire is faulty (a human press gives none).
    pub glitch_limit: usize,
    pub glitch_window_ms: u64,
    /// After a fault, released and quiet this long before presses count again.
    pub recover_after_ms: u64,
}

impl Default for ButtonTiming {
    fn default() -> Self {
        ButtonTiming {
            debounce_ms: 30,
            stuck_after_ms: 10_000,
            glitch_limit: 20,
            glitch_window_ms: 2_000,
            recover_after_ms: 3_000,
        }
    }
}

/// Why the button is not trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonFault {
    /// Down for longer than any press.
    HeldDown,
    /// Changing level faster than a finger can.
    Chattering,
}

/// What the button did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonEvent {
    /// A press by the patient: ask for a bolus.
    Pressed,
    /// The button cannot be trusted: raise the alarm; no press counts until it recovers.
    Fault(ButtonFault),
    /// Released and quiet again after a fault: presses count again.
    Recovered,
}

/// Turns samples of the button's level into events.
#[derive(Debug, Clone)]
pub struct ButtonMonitor {
    timing: ButtonTiming,
    /// The last raw level and since when.
    raw: bool,
    raw_since: u64,
    /// The debounced level, and since when.
    stable: bool,
    stable_since: u64,
    /// When raw changes too short to count happened, within the window.
    glitches: std::collections::VecDeque<u64>,
    fault: Option<ButtonFault>,
    started: bool,
}

impl ButtonMonitor {
    pub fn new(timing: ButtonTiming) -> ButtonMonitor {
        ButtonMonitor {
            timing,
            raw: false,
            raw_since: 0,
            stable: false,
            stable_since: 0,
            glitches: std::collections::VecDeque::new(),
            fault: None,
            started: false,
        }
    }

    /// The fault the button is in, if any.
    pub fn fault(&self) -> Option<ButtonFault> {
        self.fault
    }

    /// One reading: `down` is whether the switch is closed, `at_ms` when it was read (never
    /// earlier than the previous reading). At most one event per reading.
    pub fn sample(&mut self, at_ms: u64, down: bool) -> Option<ButtonEvent> {
        let at_ms = at_ms.max(self.raw_since);
        if !self.started {
            // The first reading sets the level: a button already down at start-up is not a
            // press, but it is timed for being stuck from here.
            self.started = true;
            self.raw = down;
            self.raw_since = at_ms;
            self.stable = down;
            self.stable_since = at_ms;
            return None;
        }
        if down != self.raw {
            // The level the switch leaves did not hold long enough to count: a glitch.
            if self.raw != self.stable && at_ms - self.raw_since < self.timing.debounce_ms {
                self.glitches.push_back(at_ms);
            }
            self.raw = down;
            self.raw_since = at_ms;
        }
        while self
            .glitches
            .front()
            .is_some_and(|&t| at_ms.saturating_sub(t) > self.timing.glitch_window_ms)
        {
            self.glitches.pop_front();
        }
        if self.fault.is_none() && self.glitches.len() >= self.timing.glitch_limit {
            self.fault = Some(ButtonFault::Chattering);
            return Some(ButtonEvent::Fault(ButtonFault::Chattering));
        }
        let mut event = None;
        if self.raw != self.stable && at_ms - self.raw_since >= self.timing.debounce_ms {
            self.stable = self.raw;
            self.stable_since = self.raw_since;
            if self.stable && self.fault.is_none() {
                event = Some(ButtonEvent::Pressed);
            }
        }
        if event.is_none()
            && self.fault.is_none()
            && self.stable
            && at_ms - self.stable_since >= self.timing.stuck_after_ms
        {
            self.fault = Some(ButtonFault::HeldDown);
            return Some(ButtonEvent::Fault(ButtonFault::HeldDown));
        }
        if self.fault.is_some()
            && !self.raw
            && !self.stable
            && at_ms - self.raw_since >= self.timing.recover_after_ms
            && self.glitches.is_empty()
        {
            self.fault = None;
            return Some(ButtonEvent::Recovered);
        }
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Samples every `step` ms from `from` to `to` (inclusive) at one level; the events seen.
    fn hold(
        m: &mut ButtonMonitor,
        from: u64,
        to: u64,
        step: u64,
        down: bool,
    ) -> Vec<(u64, ButtonEvent)> {
        let mut events = Vec::new();
        let mut t = from;
        while t <= to {
            if let Some(e) = m.sample(t, down) {
                events.push((t, e));
            }
            t += step;
        }
        events
    }

    fn monitor() -> ButtonMonitor {
        let mut m = ButtonMonitor::new(ButtonTiming::default());
        assert_eq!(m.sample(0, false), None);
        m
    }

    #[test]
    fn a_press_counts_once_after_the_debounce_and_its_bounces_do_not() {
        let mut m = monitor();
        // Contact bounce for 4 ms, then down for 300 ms, then up with a bounce.
        let mut events = Vec::new();
        for (t, down) in [
            (1000, true),
            (1001, false),
            (1002, true),
            (1003, false),
            (1004, true),
        ] {
            events.extend(m.sample(t, down).map(|e| (t, e)));
        }
        events.extend(hold(&mut m, 1005, 1300, 5, true));
        events.extend(m.sample(1301, false).map(|e| (1301, e)));
        events.extend(m.sample(1302, true).map(|e| (1302, e)));
        events.extend(hold(&mut m, 1303, 2000, 5, false));
        assert_eq!(events, [(1035, ButtonEvent::Pressed)]);
        assert_eq!(m.fault(), None);
    }

    #[test]
    fn quick_presses_each_count_and_a_tap_shorter_than_the_debounce_does_not() {
        let mut m = monitor();
        let mut presses = 0;
        // Five presses of 80 ms, 150 ms apart: a patient pressing repeatedly.
        for i in 0..5 {
            let t = 1000 + i * 150;
            presses += hold(&mut m, t, t + 80, 5, true).len();
            hold(&mut m, t + 81, t + 149, 5, false);
        }
        assert_eq!(presses, 5);
        // A 10 ms blip is not a press.
        let blip = hold(&mut m, 3000, 3010, 5, true);
        let after = hold(&mut m, 3011, 3500, 5, false);
        assert!(blip.is_empty() && after.is_empty(), "{blip:?} {after:?}");
        assert_eq!(m.fault(), None, "a human pressing fast is not a fault");
    }

    #[test]
    fn a_button_held_down_becomes_a_fault_and_counts_nothing_until_released_and_quiet() {
        let mut m = monitor();
        let events = hold(&mut m, 1000, 12_000, 10, true);
        // The press counts (it was one, at first), then 10 s after it went down, the fault.
        assert_eq!(
            events,
            [
                (1030, ButtonEvent::Pressed),
                (11_000, ButtonEvent::Fault(ButtonFault::HeldDown))
            ]
        );
        assert_eq!(hold(&mut m, 12_010, 20_000, 10, true), []);
        // Released: presses count again only after 3 s of quiet.
        let events = hold(&mut m, 20_010, 23_500, 10, false);
        assert_eq!(events, [(23_010, ButtonEvent::Recovered)]);
        assert_eq!(m.fault(), None);
        assert_eq!(
            hold(&mut m, 24_000, 24_100, 10, true),
            [(24_030, ButtonEvent::Pressed)]
        );
    }

    #[test]
    fn a_chattering_switch_is_a_fault_not_a_stream_of_presses() {
        let mut m = monitor();
        let mut events = Vec::new();
        // A level change every 5 ms for a second: a broken wire.
        for i in 0..200u64 {
            events.extend(
                m.sample(1000 + i * 5, i % 2 == 0)
                    .map(|e| (1000 + i * 5, e)),
            );
        }
        assert_eq!(
            events.iter().map(|(_, e)| *e).collect::<Vec<_>>(),
            [ButtonEvent::Fault(ButtonFault::Chattering)]
        );
        assert_eq!(m.fault(), Some(ButtonFault::Chattering));
        // Still chattering now and then: no recovery while glitches are fresh.
        let later = hold(&mut m, 2000, 3000, 10, false);
        assert!(later.is_empty(), "{later:?}");
        let events = hold(&mut m, 3010, 7000, 10, false);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].1, ButtonEvent::Recovered);
    }

    #[test]
    fn a_button_down_at_start_up_is_not_a_press_but_is_timed_for_being_stuck() {
        let mut m = ButtonMonitor::new(ButtonTiming::default());
        let events = hold(&mut m, 0, 11_000, 10, true);
        assert_eq!(
            events,
            [(10_000, ButtonEvent::Fault(ButtonFault::HeldDown))]
        );
    }

    #[test]
    fn a_reading_out_of_order_does_not_go_back_in_time() {
        let mut m = monitor();
        assert_eq!(m.sample(1000, true), None);
        // An earlier timestamp is taken as "now": no underflow, no press from nowhere.
        assert_eq!(m.sample(900, true), None);
        assert_eq!(m.sample(1030, true), Some(ButtonEvent::Pressed));
    }
}
