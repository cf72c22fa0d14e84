//! Rate limits on the calls that need no login (the patient's screen, the login screen, the
//! program check): a token bucket per connection and one for all connections together, on the
//! pump's clock. A call over either is refused at once, before the service lock is taken, with
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

/// Calls one connection may make in [`PERIOD`] (and at once, after a pause): 10 a second on
/// average, a burst of 50. The patient's screen sends a call per touch; the login screen one
/// per PIN entered and one to list the staff.
pub const PER_CONNECTION: u32 = 50;

/// Calls all connections together may make in [`PERIOD`]: four screens' worth. A client that
/// opens many connections is held to this; the screens on the pump then wait a few seconds
/// with it (a refused bolus press is a press not given: the safe direction).
pub const ALL_CONNECTIONS: u32 = 200;

/// The period the limits above are counted over.
pub const PERIOD: Duration = Duration::from_secs(5);

/// The most connections whose buckets are kept: a bucket that is full again is dropped first,
/// so that a client cannot grow this map without bound by opening connections.
const MAX_TRACKED: usize = 1024;

/// A token bucket: `capacity` calls at once, refilled at `capacity` per [`PERIOD`]. Tokens are
/// counted in thousandths so that the refill is exact to the millisecond.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    milli_tokens: u64,
    at: Timestamp,
}

impl Bucket {
    fn full(capacity: u32, now: Timestamp) -> Bucket {
        Bucket {
            milli_tokens: u64::from(capacity) * 1000,
            at: now,
        }
    }

    fn refill(&mut self, capacity: u32, now: Timestamp) {
        let max = u64::from(capacity) * 1000;
        // The clock never goes back; if it did, nothing is refilled.
        let elapsed = now.since(self.at).ms();
        let added = elapsed.saturating_mul(u64::from(capacity)) * 1000 / PERIOD.ms().max(1);
        self.milli_tokens = self.milli_tokens.saturating_add(added).min(max);
        self.at = self.at.max(now);
    }

    fn has_one(&self) -> bool {
        self.milli_tokens >= 1000
    }

    fn is_full(&self, capacity: u32) -> bool {
        self.milli_tokens >= u64::from(capacity) * 1000
    }
}

/// A call refused by a rate limit: the method and the limit it went over.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{method}: too many requests: at most {max} per {period} s{whose}, try again in a few seconds", period = PERIOD.ms() / 1000)]
pub struct TooManyRequests {
    pub method: &'static str,
    pub max: u32,
    /// "" for this connection's limit, " from all connections" for the overall one.
    pub whose: &'static str,
}

/// The buckets of every connection and the overall one.
#[derive(Debug)]
pub struct RateLimiter {
    per_connection: u32,
    all: u32,
    overall: Option<Bucket>,
    connections: HashMap<String, Bucket>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new(PER_CONNECTION, ALL_CONNECTIONS)
    }
}

impl RateLimiter {
    pub fn new(per_connection: u32, all: u32) -> RateLimiter {
        RateLimiter {
            per_connection,
            all,
            overall: None,
            connections: HashMap::new(),
        }
    }

    /// Takes one call of `method` from connection `peer` at `now`, or refuses it (taking
    /// nothing from either bucket).
    pub fn admit(
        &mut self,
        method: &'static str,
        peer: &str,
        now: Timestamp,
    ) -> Result<(), TooManyRequests> {
        let (per, all) = (self.per_connection, self.all);
        let overall = self.overall.get_or_insert_with(|| Bucket::full(all, now));
        overall.refill(all, now);
        if !self.connections.contains_key(peer) && self.connections.len() >= MAX_TRACKED {
            for b in self.connections.values_mut() {
                b.refill(per, now);
            }
            self.connections.retain(|_, b| !b.is_full(per));
        }
        let mine = self
            .connections
            .entry(peer.to_owned())
            .or_insert_with(|| Bucket::full(per, now));
        mine.refill(per, now);
        if !mine.has_one() {
            return Err(TooManyRequests {
                method,
                max: per,
                whose: "",
            });
        }
        if !overall.has_one() {
            return Err(TooManyRequests {
                method,
                max: all,
                whose: " from all connections",
            });
        }
        mine.milli_tokens -= 1000;
        overall.milli_tokens -= 1000;
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
        let mut r = RateLimiter::new(5, 100);
        for _ in 0..5 {
            r.admit("RecordPain", "a", at(0)).unwrap();
        }
        let e = r.admit("RecordPain", "a", at(0)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "RecordPain: too many requests: at most 5 per 5 s, try again in a few seconds"
        );
        // Another connection has its own bucket.
        r.admit("RecordPain", "b", at(0)).unwrap();
        // One call back each second (5 per 5 s).
        assert!(r.admit("RecordPain", "a", at(999)).is_err());
        r.admit("RecordPain", "a", at(1000)).unwrap();
        assert!(r.admit("RecordPain", "a", at(1000)).is_err());
    }

    #[test]
    fn all_connections_together_are_held_to_the_overall_limit() {
        let mut r = RateLimiter::new(5, 8);
        for i in 0..8 {
            r.admit("Login", &format!("c{i}"), at(0)).unwrap();
        }
        let e = r.admit("Login", "new", at(0)).unwrap_err();
        assert!(
            e.to_string()
                .contains("at most 8 per 5 s from all connections")
        );
        r.admit("Login", "new", at(5000)).unwrap();
    }

    #[test]
    fn the_connections_kept_are_bounded() {
        let mut r = RateLimiter::new(5, u32::MAX / 1000);
        for i in 0..(MAX_TRACKED * 3) {
            r.admit("ListStaff", &format!("c{i}"), at(10_000 * i as u64))
                .unwrap();
        }
        assert!(r.connections.len() <= MAX_TRACKED);
    }
}
