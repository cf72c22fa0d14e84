//! Time: the pump's monotonic clock (what every lockout and window is measured on), the wall
//! clock (only for the dates a trial is reported with and the diary's waking hours), and
//! RFC 3339 dates, in integers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::core::diary::TimeOfDay;
use crate::core::units::{Duration, Timestamp};

/// The pump's clock: monotonic, in ms, continuing a recovered trial's time.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;

    /// How many times faster than real time this clock runs: 1 on a pump; more in the desktop
    /// demonstration (`titra demo --speed`), which every screen then says.
    fn speed(&self) -> u32 {
        1
    }

    /// The real time to wait for `d` to pass on this clock (at least 1 ms for any wait).
    fn real_wait(&self, d: Duration) -> std::time::Duration {
        let ms = d.ms() / u64::from(self.speed().max(1));
        std::time::Duration::from_millis(if d.ms() > 0 { ms.max(1) } else { 0 })
    }
}

/// The fastest a demonstration may run: a day of a trial in 2.4 minutes. The health check
/// takes 30 s of the pump's time without a pressure reading for a fault; at 600 times that is
/// 50 ms of real time, which a slow machine's pass of the control loop keeps within.
pub const MAX_DEMO_SPEED: u32 = 600;

/// Real time: `Instant` since start, plus the time the recovered trial had reached (downtime
/// counts as none, which keeps every lockout and window at least as long as it was).
pub struct MonotonicClock {
    origin: Instant,
    offset: Timestamp,
    speed: u32,
}

impl MonotonicClock {
    pub fn starting_at(offset: Timestamp) -> MonotonicClock {
        MonotonicClock {
            origin: Instant::now(),
            offset,
            speed: 1,
        }
    }

    /// A clock that runs `speed` times faster than real time (the desktop demonstration only;
    /// at most [`MAX_DEMO_SPEED`], at least 1).
    pub fn faster(offset: Timestamp, speed: u32) -> MonotonicClock {
        MonotonicClock {
            speed: speed.clamp(1, MAX_DEMO_SPEED),
            ..MonotonicClock::starting_at(offset)
        }
    }
}

impl Clock for MonotonicClock {
    fn now(&self) -> Timestamp {
        let ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.offset + Duration::from_ms(ms.saturating_mul(u64::from(self.speed)))
    }

    fn speed(&self) -> u32 {
        self.speed
    }
}

/// Time set by hand: tests and the simulation's virtual time.
#[derive(Clone, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    pub fn set(&self, t: Timestamp) {
        self.0.store(t.ms(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_ms(self.0.load(Ordering::SeqCst))
    }
}

/// The wall clock (UTC), for the dates a trial is reported with; delivery never depends on it.
pub trait WallClock: Send + Sync {
    /// Milliseconds since 1970-01-01.
    fn unix_ms(&self) -> u64;

    /// The local time zone's offset from UTC now, seconds (for the patient diary's waking
    /// hours; UTC unless the clock knows better).
    fn utc_offset_s(&self) -> i64 {
        0
    }

    /// Milliseconds since local midnight ("today" on every screen begins there).
    fn since_local_midnight_ms(&self) -> u64 {
        let offset_ms = self.utc_offset_s().saturating_mul(1000);
        let local_ms = i64::try_from(self.unix_ms())
            .unwrap_or(i64::MAX)
            .saturating_add(offset_ms);
        u64::try_from(local_ms.rem_euclid(86_400_000)).unwrap_or(0)
    }

    /// The local time of day.
    fn time_of_day(&self) -> TimeOfDay {
        TimeOfDay::from_minutes(self.since_local_midnight_ms() / 60_000)
    }
}

/// The wall clock of a demonstration: the system's date and zone when it started, moving on
/// with the pump's (faster) clock, so that "since midnight" and the diary's waking hours pass
/// as the trial does.
pub struct DemoWallClock {
    unix_at_start: u64,
    offset_s: i64,
    start: Timestamp,
    clock: Arc<dyn Clock>,
}

impl DemoWallClock {
    /// Starts at the system's date now, with the pump's clock at its `now`.
    pub fn following(clock: Arc<dyn Clock>) -> DemoWallClock {
        DemoWallClock::starting(
            SystemWallClock.unix_ms(),
            SystemWallClock.utc_offset_s(),
            clock,
        )
    }

    /// Starts at `unix_ms` in a zone `offset_s` from UTC, with the pump's clock at its `now`.
    pub fn starting(unix_ms: u64, offset_s: i64, clock: Arc<dyn Clock>) -> DemoWallClock {
        DemoWallClock {
            unix_at_start: unix_ms,
            offset_s,
            start: clock.now(),
            clock,
        }
    }
}

impl WallClock for DemoWallClock {
    fn unix_ms(&self) -> u64 {
        self.unix_at_start
            .saturating_add(self.clock.now().since(self.start).ms())
    }

    fn utc_offset_s(&self) -> i64 {
        self.offset_s
    }
}

/// The system's wall clock.
pub struct SystemWallClock;

impl WallClock for SystemWallClock {
    fn unix_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    fn utc_offset_s(&self) -> i64 {
        // The C library's view of the local zone (TZ, /etc/localtime), as `date` shows it.
        let now: libc::time_t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| libc::time_t::try_from(d.as_secs()).unwrap_or(0));
        // SAFETY: localtime_r writes only into `tm`, which lives for the call.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        let ok = unsafe { !libc::localtime_r(&now, &mut tm).is_null() };
        // c_long: as wide as i64 on the 64-bit targets, narrower on 32-bit ones.
        #[allow(clippy::useless_conversion)]
        let offset = i64::from(tm.tm_gmtoff);
        if ok { offset } else { 0 }
    }
}

/// Milliseconds from 1970-01-01 to 2000-01-01, where the virtual (simulated) clock starts.
pub(crate) const Y2000_UNIX_MS: u64 = 946_684_800_000;

/// RFC 3339 for a moment on the virtual clock (2000-01-01T00:00:00Z + t).
pub fn virtual_time(t: Timestamp) -> String {
    rfc3339(Y2000_UNIX_MS + t.ms())
}

/// Days since 1970-01-01 to a civil date (proleptic Gregorian), and back: H. Hinnant's
/// algorithms, in integers.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// RFC 3339 (UTC, whole seconds) for milliseconds since 1970-01-01.
pub fn rfc3339(unix_ms: u64) -> String {
    let secs = i64::try_from(unix_ms / 1000).unwrap_or(i64::MAX);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Milliseconds since 1970-01-01 of an RFC 3339 UTC time as [`rfc3339`] writes it.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<u32>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 || min > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(i64::from(y), m, d);
    let secs = days * 86_400 + i64::from(h * 3600 + min * 60 + sec);
    u64::try_from(secs).ok().map(|s| s * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_times_are_rfc3339() {
        assert_eq!(virtual_time(Timestamp::ORIGIN), "2000-01-01T00:00:00Z");
        assert_eq!(
            virtual_time(Timestamp::from_ms(31 * 86_400_000 + 3_723_000)),
            "2000-02-01T01:02:03Z"
        );
        assert_eq!(
            virtual_time(Timestamp::from_ms(366 * 86_400_000)),
            "2001-01-01T00:00:00Z"
        );
    }

    #[test]
    fn wall_times_round_trip_through_rfc3339() {
        for (ms, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (Y2000_UNIX_MS, "2000-01-01T00:00:00Z"),
            (1_795_391_999_000, "2026-11-22T23:59:59Z"),
            (951_782_400_000, "2000-02-29T00:00:00Z"),
        ] {
            assert_eq!(rfc3339(ms), text);
            assert_eq!(parse_rfc3339(text), Some(ms));
        }
        assert_eq!(parse_rfc3339("2026-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2026-11-23 10:00:00"), None);
    }

    /// A clock 60 times faster than real time.
    struct Sixty(ManualClock);

    impl Clock for Sixty {
        fn now(&self) -> Timestamp {
            self.0.now()
        }
        fn speed(&self) -> u32 {
            60
        }
    }

    #[test]
    fn a_faster_clock_waits_that_much_less_in_real_time() {
        let fast = Sixty(ManualClock::default());
        assert_eq!(
            fast.real_wait(Duration::from_mins(1)),
            std::time::Duration::from_secs(1)
        );
        // Never a busy loop: any wait is at least a millisecond; none is none.
        assert_eq!(
            fast.real_wait(Duration::from_ms(10)),
            std::time::Duration::from_millis(1)
        );
        assert_eq!(fast.real_wait(Duration::ZERO), std::time::Duration::ZERO);
        let pump = ManualClock::default();
        assert_eq!(
            pump.real_wait(Duration::from_secs(2)),
            std::time::Duration::from_secs(2)
        );
        assert_eq!(MonotonicClock::faster(Timestamp::ORIGIN, 0).speed(), 1);
        assert_eq!(
            MonotonicClock::faster(Timestamp::ORIGIN, 100_000).speed(),
            MAX_DEMO_SPEED
        );
    }

    #[test]
    fn the_demo_wall_clock_moves_with_the_pump_clock_through_midnight() {
        let pump = ManualClock::default();
        pump.set(Timestamp::from_ms(5_000));
        // 2026-12-05T23:30:00Z, in a zone one hour ahead: 00:30 local already.
        let start = 1_796_513_400_000;
        let wall = DemoWallClock::starting(start, 3600, Arc::new(pump.clone()));
        assert_eq!(wall.unix_ms(), start);
        assert_eq!(wall.since_local_midnight_ms(), 30 * 60_000);
        pump.set(Timestamp::from_ms(5_000 + 24 * 3_600_000));
        assert_eq!(wall.unix_ms(), start + 86_400_000);
        assert_eq!(wall.since_local_midnight_ms(), 30 * 60_000);
        pump.set(Timestamp::from_ms(5_000 + 23 * 3_600_000 + 45 * 60_000));
        assert_eq!(wall.since_local_midnight_ms(), 15 * 60_000);
    }
}
