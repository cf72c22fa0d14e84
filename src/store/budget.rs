//! The trial log's disk budget: how large a trial's log is expected to grow, how much room its
//! filesystem has left, and the space reserved for the last records when it runs out.
//!
//! - [`LogBudget`]: computed when a trial starts, from its longest duration, the rows the engine
//!   writes per hour and a measured size per row, with a margin (below).
//! - [`FreeSpace`]: the free bytes on the log's filesystem, injected (the real one asks the
//!   kernel with `statvfs`; the tests' [`FakeFreeSpace`] is set by hand).
//! - [`Reserve`]: a file beside the log (`titra.db.reserve`) holding blocks that nothing else
//!   can take; removed when the disk is about to fill, so that the stop and its alarm are
//!   written into the room it leaves, and laid again once space is made.
//! - [`StorageWatch`]: reads both at a fixed interval (a trial's budget against the growth of
//!   the database file, [`db_bytes`]) and says what the engine should raise.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::core::units::{Duration, Timestamp};
use crate::input::hardware::StorageConfig;

/// Rows the engine writes to the log per hour of a running trial, measured: `cargo bench
/// --bench log` logs a simulated 14-day continuous trial (morphine 1 mg/day, a press every 3 h)
/// in 41 209 rows, 122.6 an hour (the basal's minute pieces and their companions, presses with
/// their bolus rows, alarms and the nurse's entries). Rounded up.
pub const ROWS_PER_HOUR: u64 = 123;

/// Bytes per row, measured by the same bench: 11.9 MB for 41 209 rows (the database after
/// its WAL is folded in, indexes and hash chain included) is 288.8 bytes a row. Rounded up.
pub const BYTES_PER_ROW: u64 = 289;

/// The margin over the measured trial: a trial whose patient presses at every lockout, with
/// alarms, observations and diary entries, writes more rows than the bench's; twice the
/// measured rate covers a press every hour (4 rows each) with room to spare.
pub const MARGIN: u64 = 2;

/// The shortest trial a budget is computed for (a screening bolus and its observation still
/// write their rows for hours).
pub const MIN_BUDGET_TRIAL: Duration = Duration::from_ms(24 * 3_600_000);

/// The log's expected growth for one trial, computed when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogBudget {
    /// The longest the trial may run (its programmed duration; at least a day).
    pub duration: Duration,
    /// Rows expected over that duration.
    pub rows: u64,
    /// Bytes expected, margin included.
    pub bytes: u64,
}

impl LogBudget {
    /// The budget of a trial that may run `duration`: `hours × ROWS_PER_HOUR × BYTES_PER_ROW ×
    /// MARGIN`, in whole hours rounded up. 14 days: 336 h, 41 328 rows, 23.9 MB.
    pub fn for_duration(duration: Duration) -> LogBudget {
        let duration = duration.max(MIN_BUDGET_TRIAL);
        let hours = duration.ms().div_ceil(3_600_000);
        let rows = hours.saturating_mul(ROWS_PER_HOUR);
        LogBudget {
            duration,
            rows,
            bytes: rows.saturating_mul(BYTES_PER_ROW).saturating_mul(MARGIN),
        }
    }

    /// The log's growth at which the MEDIUM alarm sounds (`percent` of the budget).
    pub fn warn_at(&self, percent: u8) -> u64 {
        self.bytes / 100 * u64::from(percent)
    }
}

/// The free bytes on the log's filesystem, for an unprivileged process.
pub trait FreeSpace: Send {
    fn free_bytes(&self) -> std::io::Result<u64>;
}

/// The kernel's answer for the filesystem holding `dir` (`statvfs`: blocks available to
/// unprivileged users × fragment size).
#[derive(Debug, Clone)]
pub struct StatvfsFreeSpace {
    pub dir: PathBuf,
}

impl StatvfsFreeSpace {
    /// The filesystem holding the log at `db` (its directory; "." for a bare file name).
    pub fn of_log(db: &Path) -> StatvfsFreeSpace {
        let dir = db
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_owned();
        StatvfsFreeSpace { dir }
    }
}

impl FreeSpace for StatvfsFreeSpace {
    fn free_bytes(&self) -> std::io::Result<u64> {
        let s = rustix::fs::statvfs(&self.dir)?;
        Ok(s.f_bavail.saturating_mul(s.f_frsize))
    }
}

/// Free space set by hand (tests, fault injection on simulated pumps): clones share the value.
#[derive(Debug, Clone)]
pub struct FakeFreeSpace(Arc<AtomicU64>);

impl FakeFreeSpace {
    pub fn new(bytes: u64) -> FakeFreeSpace {
        FakeFreeSpace(Arc::new(AtomicU64::new(bytes)))
    }

    pub fn set(&self, bytes: u64) {
        self.0.store(bytes, Ordering::SeqCst);
    }
}

impl FreeSpace for FakeFreeSpace {
    fn free_bytes(&self) -> std::io::Result<u64> {
        Ok(self.0.load(Ordering::SeqCst))
    }
}

/// The log's size on disk: the database and its write-ahead log.
pub fn log_bytes(db: &Path) -> u64 {
    file_bytes(db) + file_bytes(&sibling(db, "-wal"))
}

/// The database file's size alone: what a trial's budget counts. SQLite folds the write-ahead
/// log into it every 1000 pages (4 MiB) and then reuses the WAL file at the size it reached, so
/// counting the WAL would charge a screening trial, whose budget is 1.7 MB, 4 MiB at its
/// first checkpoint. The bench measured the database after folding the WAL in: the same
/// quantity. The WAL's room on the card is the free-space check's business.
pub fn db_bytes(db: &Path) -> u64 {
    file_bytes(db)
}

fn file_bytes(p: &Path) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

fn sibling(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Why the reserve could not be laid.
#[derive(Debug, thiserror::Error)]
#[error("the log's reserve {path} cannot be laid: {source}")]
pub struct ReserveError {
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

/// Space kept for the last records: a file of `bytes` beside the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserve {
    pub path: PathBuf,
    pub bytes: u64,
}

impl Reserve {
    /// The reserve of the log at `db` (`db` + `.reserve`).
    pub fn beside(db: &Path, bytes: u64) -> Reserve {
        Reserve {
            path: sibling(db, ".reserve"),
            bytes,
        }
    }

    /// Whether the reserve is laid, whole.
    pub fn is_laid(&self) -> bool {
        self.bytes == 0 || std::fs::metadata(&self.path).is_ok_and(|m| m.len() >= self.bytes)
    }

    /// Lays the reserve (allocating its blocks, or writing zeros where the filesystem cannot
    /// allocate), synced. Nothing to do when it is laid. A reserve that cannot be laid whole
    /// (no room, an I/O error) is removed again: half a reserve would only take the room the
    /// log needs, and the watch treats a missing reserve as part of the stop threshold.
    pub fn lay(&self) -> Result<(), ReserveError> {
        if self.bytes == 0 || self.is_laid() {
            return Ok(());
        }
        let err = |source| ReserveError {
            path: self.path.display().to_string(),
            source,
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.path)
            .map_err(err)?;
        let laid = match rustix::fs::fallocate(
            &file,
            rustix::fs::FallocateFlags::empty(),
            0,
            self.bytes,
        ) {
            Ok(()) => Ok(()),
            // Only a filesystem that cannot allocate gets zeros written: any other refusal
            // (no space above all) is the answer.
            Err(e) if e == rustix::io::Errno::OPNOTSUPP => write_zeros(&file, self.bytes),
            Err(e) => Err(e.into()),
        }
        .and_then(|()| file.sync_all());
        if let Err(e) = laid {
            drop(file);
            let _ = std::fs::remove_file(&self.path);
            return Err(err(e));
        }
        tracing::info!(path = %self.path.display(), bytes = self.bytes, "the log's reserve laid");
        Ok(())
    }

    /// Gives the reserve's space back to the filesystem (for the last records). Idempotent.
    pub fn release(&self) -> bool {
        match std::fs::remove_file(&self.path) {
            Ok(()) => {
                tracing::warn!(path = %self.path.display(), bytes = self.bytes, "the log's reserve released for the last records");
                true
            }
            Err(_) => false,
        }
    }
}

/// Writes `bytes` zeros to `file` (a filesystem without `fallocate`).
fn write_zeros(file: &std::fs::File, bytes: u64) -> std::io::Result<()> {
    use std::io::Write;
    let zeros = vec![0u8; 64 * 1024];
    let mut w = std::io::BufWriter::new(file);
    let mut left = bytes;
    while left > 0 {
        let n = usize::try_from(left.min(zeros.len() as u64)).unwrap_or(zeros.len());
        w.write_all(&zeros[..n])?;
        left -= n as u64;
    }
    w.flush()
}

/// The trial log with its reserve: a write the filesystem refuses is tried once more after
/// the reserve is released, so that the records that stop the pump reach the disk even when
/// the card filled between two checks.
pub struct ReservedLog {
    log: super::TrialLog,
    reserve: Option<Reserve>,
}

impl ReservedLog {
    pub fn new(log: super::TrialLog, reserve: Option<Reserve>) -> ReservedLog {
        ReservedLog { log, reserve }
    }
}

impl crate::journal::RecordSink for ReservedLog {
    fn write(&mut self, records: &[crate::journal::Record]) -> Result<(), String> {
        match self.log.append(records) {
            Ok(()) => Ok(()),
            Err(first) => {
                if self.reserve.as_ref().is_some_and(Reserve::release) {
                    tracing::error!(error = %first, "the trial log refused a write: trying again in the reserve");
                    self.log.append(records).map_err(|e| e.to_string())
                } else {
                    Err(first.to_string())
                }
            }
        }
    }

    fn probe(&mut self) -> Result<(), String> {
        self.log.probe().map_err(|e| e.to_string())
    }

    fn tick(&mut self, now: crate::core::units::Timestamp) -> Result<(), String> {
        self.log.outbox_tick(now).map_err(|e| e.to_string())
    }

    fn wall_clock(&mut self, now: crate::core::units::Timestamp, wall_ms: u64) {
        self.log.anchor_wall_clock(now, wall_ms);
    }

    fn inject_fault(&mut self, fault: &str, on: bool) -> bool {
        self.log.inject_fault(fault, on)
    }
}

/// What a storage check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageVerdict {
    Ok,
    /// The MEDIUM alarm's cause, in words for the system journal.
    Low(String),
    /// Free space under the stop threshold: the HIGH alarm.
    Full(String),
}

/// Reads the log's size and its filesystem's free space at a fixed interval.
pub struct StorageWatch {
    pub cfg: StorageConfig,
    free: Box<dyn FreeSpace>,
    db: PathBuf,
    pub reserve: Reserve,
    /// The log's size when the trial in hand started, and its budget.
    trial: Option<(u64, LogBudget)>,
    next_check: Option<Timestamp>,
}

const MIB: u64 = 1024 * 1024;

impl StorageWatch {
    /// A watch over the log at `db`, with `free` telling the free space.
    pub fn new(db: &Path, cfg: StorageConfig, free: Box<dyn FreeSpace>) -> StorageWatch {
        StorageWatch {
            reserve: Reserve::beside(db, cfg.reserve_mib * MIB),
            cfg,
            free,
            db: db.to_owned(),
            trial: None,
            next_check: None,
        }
    }

    /// The real watch: `statvfs` on the log's directory.
    pub fn statvfs(db: &Path, cfg: StorageConfig) -> StorageWatch {
        StorageWatch::new(db, cfg, Box::new(StatvfsFreeSpace::of_log(db)))
    }

    /// Lays the reserve at start-up when the card has room for it above the stop threshold
    /// (a reserve laid into the last free space would itself fill the card); returns whether
    /// it is laid. Otherwise a later check lays it once there is room.
    pub fn lay_reserve_if_room(&mut self) -> bool {
        if self.reserve.is_laid() {
            return true;
        }
        let room = self
            .cfg
            .stop_free_mib
            .saturating_mul(MIB)
            .saturating_add(self.reserve.bytes);
        match self.free.free_bytes() {
            Ok(free) if free >= room => match self.reserve.lay() {
                Ok(()) => true,
                Err(e) => {
                    tracing::error!(error = %e, "the log's reserve");
                    false
                }
            },
            Ok(free) => {
                tracing::error!(free_mib = free / MIB, "no room for the log's reserve");
                false
            }
            Err(e) => {
                tracing::error!(error = %e, "the free space cannot be read");
                false
            }
        }
    }

    /// The database file's size now ([`db_bytes`]): a trial's growth counts from it.
    pub fn db_bytes(&self) -> u64 {
        db_bytes(&self.db)
    }

    /// A trial starts (or is recovered) with this budget, its growth counted from `base`.
    pub fn begin_trial(&mut self, budget: LogBudget, base: u64) {
        self.trial = Some((base, budget));
        self.next_check = None;
    }

    /// The log's size the trial in hand's growth is counted from.
    pub fn base(&self) -> Option<u64> {
        self.trial.map(|(base, _)| base)
    }

    /// The budget of the trial in hand, and the log's growth since it started.
    pub fn trial_use(&self) -> Option<(LogBudget, u64)> {
        self.trial
            .map(|(base, budget)| (budget, db_bytes(&self.db).saturating_sub(base)))
    }

    /// Whether a check is due at `now` (at most every `check_every`).
    pub fn due(&self, now: Timestamp) -> bool {
        self.next_check.is_none_or(|t| now >= t)
    }

    /// Checks now: two `stat`s and one `statvfs`, no reading of the log. The reserve is laid
    /// again once there is room for it and more.
    pub fn check(&mut self, now: Timestamp) -> StorageVerdict {
        self.next_check = Some(now + self.cfg.check_every);
        let free = match self.free.free_bytes() {
            Ok(f) => f,
            Err(e) => {
                // A filesystem that cannot say how full it is may be failing: the nurse is
                // told, delivery goes on while the log can still be written.
                return StorageVerdict::Low(format!("the free space cannot be read ({e})"));
            }
        };
        let stop = self.cfg.stop_free_mib.saturating_mul(MIB);
        let low = self.cfg.low_free_mib.saturating_mul(MIB);
        if free < stop {
            return StorageVerdict::Full(format!(
                "{} MiB free, under the {} MiB the pump stops at",
                free / MIB,
                self.cfg.stop_free_mib
            ));
        }
        // Without its reserve (released for a stop's last records, or never laid) the pump
        // needs room for the reserve too: otherwise the reserve's own space, given back, would
        // lift the free space over the threshold and clear the stop a check later, on a card
        // that is as full as it was.
        if !self.reserve.is_laid() {
            let with_reserve = stop.saturating_add(self.reserve.bytes);
            if free < with_reserve {
                return StorageVerdict::Full(format!(
                    "{} MiB free, under the {} MiB the pump stops at plus its {} MiB reserve for the last records, which is not laid",
                    free / MIB,
                    self.cfg.stop_free_mib,
                    self.cfg.reserve_mib
                ));
            }
            if let Err(e) = self.reserve.lay() {
                tracing::error!(error = %e, "the log's reserve");
            }
        }
        if free < low {
            return StorageVerdict::Low(format!(
                "{} MiB free, under the {} MiB that warns",
                free / MIB,
                self.cfg.low_free_mib
            ));
        }
        if let Some((budget, grown)) = self.trial_use()
            && grown >= budget.warn_at(self.cfg.budget_warn_percent)
        {
            return StorageVerdict::Low(format!(
                "the log grew {grown} bytes this trial, {} % or more of its budget of {} bytes",
                self.cfg.budget_warn_percent, budget.bytes
            ));
        }
        StorageVerdict::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::scratch::Scratch;

    fn scratch(name: &str) -> Scratch {
        Scratch::new(&format!("budget-{name}"))
    }

    #[test]
    fn the_budget_of_a_fourteen_day_trial_is_twice_the_measured_log() {
        let b = LogBudget::for_duration(Duration::from_days(14));
        assert_eq!(b.rows, 336 * 123);
        assert_eq!(b.bytes, 336 * 123 * 289 * 2);
        // The measured 14-day log (11.9 MB) is under half of it.
        assert!(b.bytes > 2 * 11_900_000, "{}", b.bytes);
        assert!(b.bytes < 25_000_000);
        assert_eq!(b.warn_at(80), b.bytes / 100 * 80);
        // A screening trial of hours is budgeted a day.
        assert_eq!(
            LogBudget::for_duration(Duration::from_hours(6)),
            LogBudget::for_duration(Duration::from_days(1))
        );
    }

    #[test]
    fn the_watch_warns_at_80_percent_of_the_budget_and_stops_under_the_stop_threshold() {
        let dir = scratch("watch");
        let db = dir.path().join("titra.db");
        std::fs::write(&db, vec![0u8; 1000]).unwrap();
        let cfg = StorageConfig::default();
        let free = FakeFreeSpace::new(1024 * MIB);
        let mut w = StorageWatch::new(&db, cfg.clone(), Box::new(free.clone()));
        let budget = LogBudget {
            duration: Duration::from_days(1),
            rows: 10,
            bytes: 10_000,
        };
        w.begin_trial(budget, 1000);
        let t0 = Timestamp::ORIGIN;
        assert!(w.due(t0));
        assert_eq!(w.check(t0), StorageVerdict::Ok);
        // A check with room lays the reserve.
        assert!(w.reserve.is_laid());
        // Not again before the interval.
        assert!(!w.due(t0 + Duration::from_secs(59)));
        assert!(w.due(t0 + cfg.check_every));
        // The database grew 7 999 bytes: under 80 %; a WAL of any size is not counted.
        std::fs::write(&db, vec![0u8; 8999]).unwrap();
        std::fs::write(dir.path().join("titra.db-wal"), vec![0u8; 40_000]).unwrap();
        assert_eq!(w.check(t0), StorageVerdict::Ok);
        std::fs::write(&db, vec![0u8; 9000]).unwrap();
        assert!(matches!(w.check(t0), StorageVerdict::Low(why) if why.contains("80 %")));
        free.set(cfg.low_free_mib * MIB - 1);
        assert!(matches!(w.check(t0), StorageVerdict::Low(why) if why.contains("MiB free")));
        free.set(cfg.stop_free_mib * MIB - 1);
        assert!(matches!(w.check(t0), StorageVerdict::Full(_)));
        // The daemon releases the reserve for the last records: the free space rises by the
        // reserve's size, and the pump stays stopped (the card is as full as it was); the
        // reserve is not laid again while the card has no room for it and more.
        assert!(w.reserve.release());
        free.set((cfg.stop_free_mib + cfg.reserve_mib) * MIB - 1);
        assert!(
            matches!(w.check(t0), StorageVerdict::Full(why) if why.contains("reserve")),
            "the released reserve does not clear the stop"
        );
        assert!(!w.reserve.is_laid());
        // Room made (a technician cleared the card): the reserve is laid again, then a warning
        // while under the low threshold.
        free.set((cfg.stop_free_mib + cfg.reserve_mib) * MIB);
        assert!(matches!(w.check(t0), StorageVerdict::Low(_)));
        assert!(w.reserve.is_laid());
        free.set(1024 * MIB);
        assert!(matches!(w.check(t0), StorageVerdict::Low(why) if why.contains("80 %")));
    }

    #[test]
    fn a_watch_whose_reserve_was_never_laid_stops_short_of_it() {
        let dir = scratch("unlaid");
        let db = dir.path().join("titra.db");
        let cfg = StorageConfig::default();
        // Start-up on a card with room for the stop threshold but not for the reserve too.
        let free = FakeFreeSpace::new((cfg.stop_free_mib + cfg.reserve_mib / 2) * MIB);
        let mut w = StorageWatch::new(&db, cfg.clone(), Box::new(free.clone()));
        assert!(!w.lay_reserve_if_room());
        assert!(!w.reserve.is_laid());
        assert!(matches!(
            w.check(Timestamp::ORIGIN),
            StorageVerdict::Full(_)
        ));
        free.set(1024 * MIB);
        assert!(w.lay_reserve_if_room());
        assert!(w.reserve.is_laid());
    }

    #[test]
    fn the_reserve_is_laid_released_and_laid_again() {
        let dir = scratch("reserve");
        let r = Reserve::beside(&dir.path().join("titra.db"), 256 * 1024);
        assert_eq!(r.path, dir.path().join("titra.db.reserve"));
        assert!(!r.is_laid());
        r.lay().unwrap();
        assert!(r.is_laid());
        assert!(r.release());
        assert!(!r.is_laid());
        assert!(!r.release(), "released once");
        r.lay().unwrap();
        assert!(r.is_laid());
    }
}
