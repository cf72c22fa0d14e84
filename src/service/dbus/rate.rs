//! Rate limits on the calls that need no login (the patient's screen, the login screen, the
//! program check): a token bucket per connection and class of call ([`Class`]) and one for all
//! connections together, on the pump's clock. A call over either is refused at once, before the service lock is taken, with
//! "too many requests" and the limit; nothing of it is logged in the trial log.
//!
//! Never limited: StopDelivery (stopping is always allowed), the calls that need a login (a
//! session is already a person at the pump) and the properties the screens read.
//!
//! The limits are far above what a person at the screen does (a patient who presses the bolus
//! button as fast as they can manages a few presses a second, and is answered each time) and
//! far below what would keep the service busy: every call that gets through takes the service
//! lock for well under a millisecond (the program check is linear, and done outside the lock).

use std::collections::HashMap;

use crate::core::units::{Duration, Timestamp};

/// What a call that needs no login is, for its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// RequestBolus: a patient who presses as fast as they can manages a few presses a
    /// second, each answered; repeated denials are counted, not written one by one.
    Bolus,
    /// RecordPain, RecordFunction, SkipFunction, RecordPgic, RecordSideEffect: each one a row in the trial
    /// log. A patient filling the diary gives a score, an answer and a few side effects in a
    /// minute; a client can then add at most one row every 5 s.
    Diary,
    /// ValidateProgram, CheckBasal, CheckProgramChange: a nurse checks a program (a clinician a
    /// change) a few times while writing it.
    Check,
    /// History, BolusResponse: each reads the whole trial log under the service lock (a 14-day
    /// trial's log is some 40 000 rows); a clinician opening the chart makes one or two.
    Read,
    /// Login, ListStaff: the login screen lists the staff and sends a PIN per attempt (wrong
    /// PINs lock the user after three, logged once per lock).
    Login,
}

impl Class {
    /// The class of a method that needs no login; None for the others (never limited).
    pub fn of(method: &str) -> Option<Class> {
        Some(match method {
            "RequestBolus" => Class::Bolus,
            "RecordPain" | "RecordFunction" | "SkipFunction" | "RecordPgic"
            | "RecordSideEffect" => Class::Diary,
            "ValidateProgram" | "CheckBasal" | "CheckProgramChange" => Class::Check,
            "Login" | "ListStaff" => Class::Login,
            "History" | "BolusResponse" => Class::Read,
            _ => return None,
        })
    }

    /// Calls one connection may make of this class: this many at once (after a pause), and
    /// this many per this period.
    pub const fn limit(self) -> (u32, Duration) {
        match self {
            Class::Bolus => (50, Duration::from_secs(5)),
            Class::Diary => (12, Duration::from_secs(60)),
            Class::Check => (20, Duration::from_secs(5)),
            Class::Login => (50, Duration::from_secs(5)),
            Class::Read => (6, Duration::from_secs(30)),
        }
    }
}

/// Calls all connections together may make, of every class, in [`ALL_PERIOD`]: a few screens'
/// worth. A client that opens many connections is held to this; the screens on the pump then
/// wait a few seconds with it (a refused bolus press is a press not given: the safe direction).
pub const ALL_CONNECTIONS: u32 = 200;

/// The period the overall limit is counted over.
pub const ALL_PERIOD: Duration = Duration::from_secs(5);

/// The most connections whose buckets are kept: a bucket that is full again is dropped first,
/// so that a client cannot grow this map without bound by opening connections.
const MAX_TRACKED: usize = 1024;

/// A token bucket: `capacity` calls at once, refilled at `capacity` per `period`. Counted
/// exactly: a call costs `period` (ms) of credit and each millisecond adds `capacity`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    credit: u128,
    at: Timestamp,
}

impl Bucket {
    fn full((capacity, period): (u32, Duration), now: Timestamp) -> Bucket {
        Bucket {
            credit: u128::from(capacity) * u128::from(period.ms()),
            at: now,
        }
    }

    fn refill(&mut self, (capacity, period): (u32, Duration), now: Timestamp) {
        let max = u128::from(capacity) * u128::from(period.ms());
        // The clock never goes back; if it did, nothing is refilled.
        let added = u128::from(now.since(self.at).ms()) * u128::from(capacity);
        self.credit = (self.credit + added).min(max);
        self.at = self.at.max(now);
    }

    fn has_one(&self, period: Duration) -> bool {
        self.credit >= u128::from(period.ms())
    }

    fn take_one(&mut self, period: Duration) {
        self.credit -= u128::from(period.ms());
    }

    fn is_full(&self, (capacity, period): (u32, Duration)) -> bool {
        self.credit >= u128::from(capacity) * u128::from(period.ms())
    }
}

/// A call refused by a rate limit: the method and the limit it went over (in words, Display,
/// in the language in use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooManyRequests {
    pub method: &'static str,
    pub max: u32,
    pub seconds: u64,
    /// The overall limit, of all connections together (else this connection's).
    pub all_connections: bool,
}

impl std::fmt::Display for TooManyRequests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::core::tr;
        let TooManyRequests {
            method,
            max,
            seconds,
            all_connections,
        } = *self;
        f.write_str(&if all_connections {
            tr!(
                "{method}: too many requests: at most {max} per {seconds} s from all connections; try again in a few seconds",
                method,
                max,
                seconds
            )
        } else {
            tr!(
                "{method}: too many requests: at most {max} per {seconds} s; try again in a few seconds",
                method,
                max,
                seconds
            )
        })
    }
}

impl std::error::Error for TooManyRequests {}

/// The buckets of every connection and class, and the overall one.
#[derive(Debug)]
pub struct RateLimiter {
    /// Each class's limit scaled by this (1 in service; tests may raise it).
    scale: u32,
    all: u32,
    overall: Option<Bucket>,
    connections: HashMap<(String, Class), Bucket>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new(1, ALL_CONNECTIONS)
    }
}

impl RateLimiter {
    /// Limits of `scale` times each class's, and `all` calls per [`ALL_PERIOD`] overall.
    pub fn new(scale: u32, all: u32) -> RateLimiter {
        RateLimiter {
            scale: scale.max(1),
            all,
            overall: None,
            connections: HashMap::new(),
        }
    }

    /// Takes one call of `method` from connection `peer` at `now`, or refuses it (taking
    /// nothing from either bucket). A method of no [`Class`] is never limited.
    pub fn admit(
        &mut self,
        method: &'static str,
        peer: &str,
        now: Timestamp,
    ) -> Result<(), TooManyRequests> {
        let Some(class) = Class::of(method) else {
            return Ok(());
        };
        let (n, period) = class.limit();
        let mine_limit = (n.saturating_mul(self.scale), period);
        let all_limit = (self.all, ALL_PERIOD);
        let overall = self
            .overall
            .get_or_insert_with(|| Bucket::full(all_limit, now));
        overall.refill(all_limit, now);
        let key = (peer.to_owned(), class);
        if !self.connections.contains_key(&key) && self.connections.len() >= MAX_TRACKED {
            for (&(_, c), b) in self.connections.iter_mut() {
                let (n, period) = c.limit();
                b.refill((n.saturating_mul(self.scale), period), now);
            }
            let scale = self.scale;
            self.connections.retain(|(_, c), b| {
                let (n, period) = c.limit();
                !b.is_full((n.saturating_mul(scale), period))
            });
        }
        let mine = self
            .connections
            .entry(key)
            .or_insert_with(|| Bucket::full(mine_limit, now));
        mine.refill(mine_limit, now);
        if !mine.has_one(period) {
            return Err(TooManyRequests {
                method,
                max: mine_limit.0,
                seconds: period.ms() / 1000,
                all_connections: false,
            });
        }
        if !overall.has_one(ALL_PERIOD) {
            return Err(TooManyRequests {
                method,
                max: all_limit.0,
                seconds: ALL_PERIOD.ms() / 1000,
                all_connections: true,
            });
        }
        mine.take_one(period);
        overall.take_one(ALL_PERIOD);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Timestamp {
        Timestamp::ORIGIN + Duration::from_ms(ms)
    }

    #[test]
    fn a_connection_gets_its_burst_then_its_rate() {
        let mut r = RateLimiter::default();
        for _ in 0..12 {
            r.admit("RecordPain", "a", at(0)).unwrap();
        }
        let e = r.admit("RecordPgic", "a", at(0)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "RecordPgic: too many requests: at most 12 per 60 s; try again in a few seconds"
        );
        // Another connection has its own bucket, and another class on this one.
        r.admit("RecordPain", "b", at(0)).unwrap();
        r.admit("RequestBolus", "a", at(0)).unwrap();
        // One call back every 5 s (12 per 60 s).
        assert!(r.admit("RecordPain", "a", at(4_999)).is_err());
        r.admit("RecordPain", "a", at(5_000)).unwrap();
        assert!(r.admit("RecordPain", "a", at(5_000)).is_err());
        // Reading the whole log: six at once, then one every 5 s.
        for _ in 0..6 {
            r.admit("History", "a", at(5_000)).unwrap();
        }
        let e = r.admit("BolusResponse", "a", at(5_000)).unwrap_err();
        assert!(e.to_string().contains("at most 6 per 30 s"), "{e}");
        r.admit("BolusResponse", "a", at(10_000)).unwrap();
        // Methods of no class are never limited.
        for _ in 0..1000 {
            r.admit("StopDelivery", "a", at(5_000)).unwrap();
        }
    }

    #[test]
    fn all_connections_together_are_held_to_the_overall_limit() {
        let mut r = RateLimiter::new(1, 8);
        for i in 0..8 {
            r.admit("Login", &format!("c{i}"), at(0)).unwrap();
        }
        let e = r.admit("Login", "new", at(0)).unwrap_err();
        assert!(
            e.to_string()
                .contains("at most 8 per 5 s from all connections"),
            "{e}"
        );
        r.admit("Login", "new", at(5_000)).unwrap();
    }

    #[test]
    fn the_connections_kept_are_bounded() {
        let mut r = RateLimiter::new(1, u32::MAX / 1000);
        for i in 0..(MAX_TRACKED * 3) {
            r.admit("ListStaff", &format!("c{i}"), at(10_000 * i as u64))
                .unwrap();
        }
        assert!(r.connections.len() <= MAX_TRACKED);
    }
}
