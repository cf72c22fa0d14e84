//! The trial log: one SQLite file per pump, append-only and hash-chained.
//!
//! Every [`Record`] the engine makes is one row of `event`, written before the engine acts on
//! it where that matters (the intent to deliver is on disk before the motor moves). WAL journal,
//! `synchronous=FULL`: a row that was committed survives a power cut. Triggers refuse UPDATE and
//! DELETE on the rows. Each row carries the SHA-256 of its content and of the row before it, and
//! `chain_head` holds the newest row's hash, so `titra verify-log` finds a changed row, a removed
//! row, or rows cut off the end.
//!
//! A file that is not a Titra log, a log from a newer version, or a damaged file is refused
//! with a message and never written to. The schema is versioned with `PRAGMA user_version` and
//! migrated forward in steps (docs/trial-log.md describes it).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::core::program::{Program, Trial};
use crate::journal::Record;

/// `PRAGMA application_id` of a Titra trial log ("TITR").
pub(crate) const APPLICATION_ID: i32 = 0x5449_5452;

/// The schema this version writes. Each entry of [`MIGRATIONS`] takes the schema one version
/// up; never edit one that has shipped, add the next.
pub const SCHEMA_VERSION: i32 = 2;

const MIGRATIONS: &[&str] = &[
    // 1: trials and their events.
    r#"
CREATE TABLE trial (
    id            INTEGER PRIMARY KEY,
    patient       TEXT NOT NULL,
    started_ms    INTEGER NOT NULL,
    trial_json    TEXT NOT NULL,
    program_json  TEXT NOT NULL,
    library_sha256 TEXT NOT NULL,
    simulated     INTEGER NOT NULL
);
CREATE TABLE event (
    seq        INTEGER PRIMARY KEY,
    trial_id   INTEGER NOT NULL REFERENCES trial(id),
    at_ms      INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    body       TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX event_trial_at ON event(trial_id, at_ms);
CREATE TABLE chain_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  TEXT NOT NULL
);
CREATE TRIGGER event_no_update BEFORE UPDATE ON event
BEGIN SELECT RAISE(ABORT, 'the trial log is append-only'); END;
CREATE TRIGGER event_no_delete BEFORE DELETE ON event
BEGIN SELECT RAISE(ABORT, 'the trial log is append-only'); END;
CREATE TRIGGER trial_no_delete BEFORE DELETE ON trial
BEGIN SELECT RAISE(ABORT, 'the trial log is append-only'); END;
"#,
    // 2: the wall-clock time a trial started (RFC 3339, UTC), for its dates; NULL on a
    // simulated (virtual) clock.
    "ALTER TABLE trial ADD COLUMN started_wall TEXT;",
];

/// The hash before the first row.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path} is not a Titra trial log; it was left untouched")]
    NotATrialLog { path: String },
    #[error(
        "{path} was written by a newer version of Titra (schema {found}, this version reads up to {known}); it was left untouched"
    )]
    Newer {
        path: String,
        found: i32,
        known: i32,
    },
    #[error("{path} is damaged ({detail}); it was left untouched")]
    Damaged { path: String, detail: String },
    #[error("the trial log {path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
    #[error("the trial log holds a record it cannot read (row {seq}): {detail}")]
    Unreadable { seq: i64, detail: String },
    #[error("the trial log has no trial to resume")]
    NoTrial,
}

/// A trial as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredTrial {
    pub id: i64,
    pub trial: Trial,
    pub program: Program,
    pub started_ms: u64,
    pub library_sha256: String,
    pub simulated: bool,
    /// When the trial started by the wall clock (RFC 3339, UTC); None on a virtual clock.
    #[serde(default)]
    pub started_wall: Option<String>,
}

/// The result of `titra verify-log`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub rows: u64,
    /// Sentences describing each problem found; empty when the chain is intact.
    pub problems: Vec<String>,
}

impl Verification {
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

pub struct TrialLog {
    conn: Connection,
    path: String,
    trial_id: Option<i64>,
    head: (i64, String),
}

/// The SHA-256 of a row, as lowercase hex.
fn row_hash(prev: &str, seq: i64, trial_id: i64, at_ms: i64, kind: &str, body: &str) -> String {
    crate::digest::sha256_lines(&[
        prev,
        &seq.to_string(),
        &trial_id.to_string(),
        &at_ms.to_string(),
        kind,
        body,
    ])
}

/// The record's kind, as stored in the `kind` column.
fn kind_of(body: &serde_json::Value) -> String {
    body.get("record")
        .and_then(|k| k.as_str())
        .unwrap_or("unknown")
        .to_owned()
}

fn at_of(record: &Record) -> i64 {
    i64::try_from(record.at().ms()).unwrap_or(i64::MAX)
}

impl TrialLog {
    /// Opens (or creates) the log at `path`, refusing files that are not Titra logs, logs from
    /// a newer version and damaged files.
    pub fn open(path: &Path) -> Result<TrialLog, StoreError> {
        let shown = path.display().to_string();
        let sqlite = |source| StoreError::Sqlite {
            path: shown.clone(),
            source,
        };
        let existed = path.exists()
            && std::fs::metadata(path)
                .map(|m| m.len() > 0)
                .unwrap_or(false);
        if existed {
            let mut head = [0u8; 16];
            let ok = std::fs::File::open(path)
                .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
                .is_ok();
            if !ok || &head != b"SQLite format 3\0" {
                return Err(StoreError::NotATrialLog { path: shown });
            }
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )
        .map_err(sqlite)?;
        if existed {
            let app: i32 = conn
                .query_row("PRAGMA application_id", [], |r| r.get(0))
                .map_err(|e| StoreError::Damaged {
                    path: shown.clone(),
                    detail: e.to_string(),
                })?;
            let version: i32 = conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(sqlite)?;
            if app != APPLICATION_ID {
                return Err(StoreError::NotATrialLog { path: shown });
            }
            if version > SCHEMA_VERSION {
                return Err(StoreError::Newer {
                    path: shown,
                    found: version,
                    known: SCHEMA_VERSION,
                });
            }
            let check: String = conn
                .query_row("PRAGMA quick_check", [], |r| r.get(0))
                .map_err(|e| StoreError::Damaged {
                    path: shown.clone(),
                    detail: e.to_string(),
                })?;
            if check != "ok" {
                return Err(StoreError::Damaged {
                    path: shown,
                    detail: check,
                });
            }
        }
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
        )
        .map_err(sqlite)?;
        let mut log = TrialLog {
            conn,
            path: shown,
            trial_id: None,
            head: (0, GENESIS.to_owned()),
        };
        log.migrate()?;
        log.head = log.read_head()?;
        Ok(log)
    }

    fn sqlite(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sqlite = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let version: i32 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sqlite)?;
        let from = usize::try_from(version).unwrap_or(0);
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(from) {
            let tx = self.conn.transaction().map_err(sqlite)?;
            tx.execute_batch(sql).map_err(sqlite)?;
            tx.execute_batch(&format!(
                "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {};",
                i + 1
            ))
            .map_err(sqlite)?;
            tx.commit().map_err(sqlite)?;
        }
        Ok(())
    }

    fn read_head(&self) -> Result<(i64, String), StoreError> {
        Ok(self
            .conn
            .query_row("SELECT seq, hash FROM chain_head WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(self.sqlite())?
            .unwrap_or((0, GENESIS.to_owned())))
    }

    /// The settings durability depends on: (journal mode, synchronous level, foreign keys).
    /// The daemon's health check and the tests read them.
    pub fn durability(&self) -> Result<(String, i64, bool), StoreError> {
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(self.sqlite())?;
        let sync: i64 = self
            .conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .map_err(self.sqlite())?;
        let fk: bool = self
            .conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .map_err(self.sqlite())?;
        Ok((mode, sync, fk))
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Starts a new trial.
    pub fn begin_trial(
        &mut self,
        trial: &Trial,
        program: &Program,
        started_ms: u64,
        library_sha256: &str,
        simulated: bool,
        started_wall: Option<&str>,
    ) -> Result<i64, StoreError> {
        let json = |e: serde_json::Error| StoreError::Unreadable {
            seq: 0,
            detail: e.to_string(),
        };
        let trial_json = serde_json::to_string(trial).map_err(json)?;
        let program_json = serde_json::to_string(program).map_err(json)?;
        self.conn
            .execute(
                "INSERT INTO trial (patient, started_ms, trial_json, program_json, library_sha256, simulated, started_wall)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    trial.patient,
                    i64::try_from(started_ms).unwrap_or(i64::MAX),
                    trial_json,
                    program_json,
                    library_sha256,
                    simulated,
                    started_wall
                ],
            )
            .map_err(self.sqlite())?;
        let id = self.conn.last_insert_rowid();
        self.trial_id = Some(id);
        Ok(id)
    }

    /// The newest trial, to resume after a restart.
    pub fn latest_trial(&mut self) -> Result<StoredTrial, StoreError> {
        let id: Option<i64> = self
            .conn
            .query_row("SELECT MAX(id) FROM trial", [], |r| r.get(0))
            .map_err(self.sqlite())?;
        self.trial(id.ok_or(StoreError::NoTrial)?)
    }

    /// One trial by its number; later records are appended to it.
    pub fn trial(&mut self, id: i64) -> Result<StoredTrial, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT id, trial_json, program_json, started_ms, library_sha256, simulated, started_wall
                 FROM trial WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, bool>(5)?,
                        r.get::<_, Option<String>>(6)?,
                    ))
                },
            )
            .optional()
            .map_err(self.sqlite())?
            .ok_or(StoreError::NoTrial)?;
        let unreadable = |detail: String| StoreError::Unreadable { seq: 0, detail };
        let stored = StoredTrial {
            id: row.0,
            trial: serde_json::from_str(&row.1).map_err(|e| unreadable(e.to_string()))?,
            program: serde_json::from_str(&row.2).map_err(|e| unreadable(e.to_string()))?,
            started_ms: u64::try_from(row.3).unwrap_or(0),
            library_sha256: row.4,
            simulated: row.5,
            started_wall: row.6,
        };
        self.trial_id = Some(stored.id);
        Ok(stored)
    }

    /// Every trial in the log: (number, patient, wall-clock start if known), oldest first.
    pub fn trials(&self) -> Result<Vec<(i64, String, Option<String>)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, patient, started_wall FROM trial ORDER BY id")
            .map_err(self.sqlite())?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(self.sqlite())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.sqlite())
    }

    /// Appends records in one transaction (all or none), chaining their hashes.
    pub fn append(&mut self, records: &[Record]) -> Result<(), StoreError> {
        let Some(trial_id) = self.trial_id else {
            return Err(StoreError::NoTrial);
        };
        let path = self.path.clone();
        let sqlite = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let (mut seq, mut prev) = self.head.clone();
        let tx = self.conn.transaction().map_err(sqlite)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO event (seq, trial_id, at_ms, kind, body, prev_hash, hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(sqlite)?;
            for record in records {
                let value = serde_json::to_value(record).map_err(|e| StoreError::Unreadable {
                    seq: seq + 1,
                    detail: e.to_string(),
                })?;
                let kind = kind_of(&value);
                let body = value.to_string();
                seq += 1;
                let at = at_of(record);
                let hash = row_hash(&prev, seq, trial_id, at, &kind, &body);
                insert
                    .execute(params![seq, trial_id, at, kind, body, prev, hash])
                    .map_err(sqlite)?;
                prev = hash;
            }
        }
        tx.execute(
            "INSERT INTO chain_head (id, seq, hash) VALUES (1, ?1, ?2)
             ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            params![seq, prev],
        )
        .map_err(sqlite)?;
        tx.commit().map_err(sqlite)?;
        self.head = (seq, prev);
        Ok(())
    }

    /// Every record of a trial, in order.
    pub fn records(&self, trial_id: i64) -> Result<Vec<Record>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, body FROM event WHERE trial_id = ?1 ORDER BY seq")
            .map_err(self.sqlite())?;
        let rows = stmt
            .query_map([trial_id], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(self.sqlite())?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, body) = row.map_err(self.sqlite())?;
            out.push(
                serde_json::from_str(&body).map_err(|e| StoreError::Unreadable {
                    seq,
                    detail: e.to_string(),
                })?,
            );
        }
        Ok(out)
    }

    /// Rows in the log.
    pub fn row_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM event", [], |r| r.get(0))
            .map_err(self.sqlite())?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Recomputes the chain: every row's hash from its content and the row before, the
    /// sequence without gaps, and the newest row against `chain_head`.
    pub fn verify(&self) -> Result<Verification, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT seq, trial_id, at_ms, kind, body, prev_hash, hash FROM event ORDER BY seq",
            )
            .map_err(self.sqlite())?;
        let mut rows = stmt.query([]).map_err(self.sqlite())?;
        let mut problems = Vec::new();
        let mut expected_prev = GENESIS.to_owned();
        let mut expected_seq = 1i64;
        let mut count = 0u64;
        while let Some(r) = rows.next().map_err(self.sqlite())? {
            let seq: i64 = r.get(0).map_err(self.sqlite())?;
            let trial_id: i64 = r.get(1).map_err(self.sqlite())?;
            let at: i64 = r.get(2).map_err(self.sqlite())?;
            let kind: String = r.get(3).map_err(self.sqlite())?;
            let body: String = r.get(4).map_err(self.sqlite())?;
            let prev: String = r.get(5).map_err(self.sqlite())?;
            let hash: String = r.get(6).map_err(self.sqlite())?;
            count += 1;
            if seq != expected_seq {
                problems.push(format!("rows {expected_seq} to {} are missing", seq - 1));
            }
            if prev != expected_prev {
                problems.push(format!("row {seq} does not follow the row before it"));
            }
            if row_hash(&prev, seq, trial_id, at, &kind, &body) != hash {
                problems.push(format!(
                    "row {seq} ({kind}) was changed after it was written"
                ));
            }
            expected_prev = hash;
            expected_seq = seq + 1;
        }
        let head = self.read_head()?;
        if head.0 != expected_seq - 1 || head.1 != expected_prev {
            problems.push(format!(
                "the log ends at row {} but its head says {}: rows were cut off the end",
                expected_seq - 1,
                head.0
            ));
        }
        Ok(Verification {
            rows: count,
            problems,
        })
    }
}

/// Where the trial log lives by default: /var/lib/titra/titra.db on the pump, the user's data
/// directory on a desktop.
pub fn default_path() -> PathBuf {
    let pump = Path::new("/var/lib/titra");
    if pump.is_dir() {
        return pump.join("titra.db");
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("titra").join("titra.db")
}

impl crate::journal::RecordSink for TrialLog {
    fn write(&mut self, records: &[Record]) -> Result<(), String> {
        self.append(records).map_err(|e| e.to_string())
    }

    /// SQLite itself refuses the writes: `disk_full` caps the file at the pages it has
    /// (SQLITE_FULL, as a full card gives), `log_write_error` makes the connection read-only
    /// (SQLITE_READONLY, as a card gone read-only gives). Off restores both.
    fn inject_fault(&mut self, fault: &str, on: bool) -> bool {
        let sql = match (fault, on) {
            ("disk_full", true) => "PRAGMA max_page_count = 1".to_owned(),
            ("disk_full", false) => "PRAGMA max_page_count = 1073741823".to_owned(),
            ("log_write_error", on) => format!("PRAGMA query_only = {}", i32::from(on)),
            _ => return false,
        };
        // max_page_count answers with a row; query_only with none.
        let done = self
            .conn
            .query_row(&sql, [], |_| Ok(()))
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(()),
                other => Err(other),
            });
        done.is_ok()
    }
}
