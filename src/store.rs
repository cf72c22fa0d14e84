//! The trial log: one SQLite file per pump, append-only and hash-chained.
//!
//! Every [`Record`] the engine makes is one row of `event`, written before the engine acts on
//! it where that matters (the intent to deliver is on disk before the motor moves). WAL journal,
//! `synchronous=FULL`: a row that was committed survives a power cut. Triggers refuse UPDATE and
//! DELETE on the rows. Each row carries the SHA-256 of its content and of the row before it, and
//! `chain_head` holds the newest row's hash, so `titra verify-log` finds a changed row, a removed
//! row, or rows cut off the end. Each trial's own row (patient, trial, program, the library's
//! checksum) joins the chain through a `trial_row` event written with it in one transaction,
//! holding a copy of every column: a trial row changed, added or removed shows too.
//!
//! A file that is not a Titra log, a log from a newer version, or a damaged file is refused
//! with a message and never written to. The schema is versioned with `PRAGMA user_version` and
//! migrated forward in steps (docs/trial-log.md describes it).

pub mod budget;
pub mod outbox;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::core::program::{Program, Trial};
use crate::journal::Record;

/// `PRAGMA application_id` of a Titra trial log ("TITR").
pub(crate) const APPLICATION_ID: i32 = 0x5449_5452;

/// The schema this version writes. Each entry of [`MIGRATIONS`] takes the schema one version
/// up; never edit one that has shipped, add the next.
pub const SCHEMA_VERSION: i32 = 5;

/// How long a [`TrialLog`] connection (the daemon's, which writes the records; its short-lived
/// ones; `titra`'s commands) waits for another's write lock before its write fails, ms. The
/// other writers are the outbox's sender, whose writes (an acknowledgement: a row deleted) take
/// milliseconds, and the daemon's own connections; a longer wait would only let something
/// else holding the lock (a technician's `sqlite3` left inside a transaction) stall the pump's
/// control loop that long — and the loop must pet systemd's watchdog (`WatchdogSec=5s` in
/// titra-pumpd.service), so a wait of 5 s would have the daemon killed. A record's write that fails raises the log's HIGH alarm and stops
/// delivery, as any other failed write. The sender's connection waits longer
/// (`outbox::OutboxReader::open`): nothing waits on it but the network.
pub const PUMP_BUSY_TIMEOUT_MS: u32 = 1000;

/// One step of the schema: its SQL, then (for some) work done in Rust, in one transaction.
struct Migration {
    sql: &'static str,
    then: Option<fn(&rusqlite::Transaction<'_>) -> rusqlite::Result<()>>,
}

const MIGRATIONS: &[Migration] = &[
    // 1: trials and their events.
    Migration {
        sql: r#"
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
        then: None,
    },
    // 2: the wall-clock time a trial started (RFC 3339, UTC), for its dates; NULL on a
    // simulated (virtual) clock.
    Migration {
        sql: "ALTER TABLE trial ADD COLUMN started_wall TEXT;",
        then: None,
    },
    // 3: the trial rows join the hash chain. A trial row can no longer be updated either, and
    // every trial already in the log is sealed now, at the end of the chain (a change made to
    // one before this upgrade cannot be seen).
    Migration {
        sql: r#"
CREATE TRIGGER trial_no_update BEFORE UPDATE ON trial
BEGIN SELECT RAISE(ABORT, 'the trial log is append-only'); END;
"#,
        then: Some(seal_unsealed_trials),
    },
    // 4: the outbox (issue 23, `store::outbox`): messages for the hospital's systems, each
    // owed to its endpoints until they acknowledge it. Not part of the hash chain: a queue,
    // emptied as it is sent; the events are the record.
    Migration {
        sql: r#"
CREATE TABLE outbox_message (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    trial_id  INTEGER NOT NULL REFERENCES trial(id),
    at_ms     INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    body      TEXT NOT NULL
);
CREATE TABLE outbox (
    endpoint    TEXT NOT NULL,
    message_id  INTEGER NOT NULL REFERENCES outbox_message(id),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    PRIMARY KEY (endpoint, message_id)
) WITHOUT ROWID;
"#,
        then: None,
    },
    // 5: which confirmation of the implant's dose (its `implant_plan` row) had the trial
    // summary's FHIR Bundle queued, noted in the transaction that queues it: a confirmation
    // without its note after a restart (the daemon stopped between the record and the Bundle)
    // has the Bundle queued then. A confirmation already in the log is noted now, its message
    // unknown: whether its Bundle was queued cannot be told, and an upgrade must not send an
    // old trial's Bundle (again, or weeks late).
    Migration {
        sql: r#"
CREATE TABLE outbox_summary (
    trial_id    INTEGER NOT NULL REFERENCES trial(id),
    event_seq   INTEGER NOT NULL REFERENCES event(seq),
    message_id  INTEGER,
    PRIMARY KEY (trial_id, event_seq)
) WITHOUT ROWID;
INSERT INTO outbox_summary (trial_id, event_seq, message_id)
    SELECT trial_id, seq, NULL FROM event WHERE kind = 'implant_plan';
-- The confirmations alone: the daemon asks every minute for the newest (a partial index costs
-- the other rows' writes nothing).
CREATE INDEX event_implant_plan ON event(trial_id, seq) WHERE kind = 'implant_plan';
-- Whether any endpoint still owes a message (asked at each acknowledgement, and when an
-- endpoint's rows are dropped): by the message, not a scan of the outbox.
CREATE INDEX outbox_by_message ON outbox(message_id);
"#,
        then: None,
    },
];

/// The kind of the event row that seals a trial row into the chain.
const TRIAL_ROW: &str = "trial_row";

/// How a trial row came to be sealed: with the trial, or when an older log was upgraded.
const SEALED_WITH_TRIAL: &str = "programmed";
const SEALED_AT_UPGRADE: &str = "upgrade";

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
    /// The last row of the chain as found (its number and hash; 0 and the zero hash when
    /// empty): what an export's manifest records, to compare with later.
    pub head: (i64, String),
    /// Trials sealed when an older log was upgraded to schema 3 rather than when they were
    /// written: a change made to them before the upgrade cannot be seen.
    pub sealed_at_upgrade: Vec<i64>,
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
    /// The messages the records make, queued with them (None: the pump reports to no one).
    outbox: Option<outbox::Outbox>,
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

/// Appends rows (trial, at, kind, body) to the chain after `head` and moves `chain_head` to the
/// last of them, inside the caller's transaction. Returns the new head.
fn chain_rows(
    tx: &rusqlite::Transaction<'_>,
    head: (i64, String),
    rows: &[(i64, i64, String, String)],
) -> rusqlite::Result<(i64, String)> {
    let (mut seq, mut prev) = head;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO event (seq, trial_id, at_ms, kind, body, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for (trial_id, at, kind, body) in rows {
            seq += 1;
            let hash = row_hash(&prev, seq, *trial_id, *at, kind, body);
            insert.execute(params![seq, trial_id, at, kind, body, prev, hash])?;
            prev = hash;
        }
    }
    tx.execute(
        "INSERT INTO chain_head (id, seq, hash) VALUES (1, ?1, ?2)
         ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        params![seq, prev],
    )?;
    Ok((seq, prev))
}

/// The newest row's number and hash as `chain_head` holds them (0 and the zero hash when empty).
fn head_of(conn: &Connection) -> rusqlite::Result<(i64, String)> {
    Ok(conn
        .query_row("SELECT seq, hash FROM chain_head WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?
        .unwrap_or((0, GENESIS.to_owned())))
}

/// A column's value as JSON, exactly as SQLite holds it (a BLOB as "x'…'" in hex).
fn column_json(v: rusqlite::types::ValueRef<'_>) -> serde_json::Value {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Integer(i) => i.into(),
        ValueRef::Real(f) => f.into(),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
        ValueRef::Blob(b) => {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            format!("x'{hex}'").into()
        }
    }
}

/// Every trial row, each as a JSON object of every column by name, by trial number.
fn trial_rows(
    conn: &Connection,
    only: Option<i64>,
) -> rusqlite::Result<Vec<(i64, serde_json::Map<String, serde_json::Value>)>> {
    let mut stmt = conn.prepare("SELECT * FROM trial WHERE ?1 IS NULL OR id = ?1 ORDER BY id")?;
    let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    let mut rows = stmt.query([only])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut row = serde_json::Map::new();
        for (i, name) in names.iter().enumerate() {
            row.insert(name.clone(), column_json(r.get_ref(i)?));
        }
        let id = row
            .get("id")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0);
        out.push((id, row));
    }
    Ok(out)
}

/// The body of the event that seals a trial row: a copy of every column, and how it was sealed.
fn seal_body(row: &serde_json::Map<String, serde_json::Value>, sealed: &str) -> String {
    serde_json::json!({ "record": TRIAL_ROW, "sealed": sealed, "row": row }).to_string()
}

/// The trial's start (its `started_ms`), the time of its seal.
fn started_of(row: &serde_json::Map<String, serde_json::Value>) -> i64 {
    row.get("started_ms")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0)
}

/// Migration 3: seals every trial of a schema-2 log (none has a seal: seals came with schema
/// 3, and a migration runs in one transaction), at the end of the chain.
fn seal_unsealed_trials(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let rows: Vec<(i64, i64, String, String)> = trial_rows(tx, None)?
        .into_iter()
        .map(|(id, row)| {
            (
                id,
                started_of(&row),
                TRIAL_ROW.to_owned(),
                seal_body(&row, SEALED_AT_UPGRADE),
            )
        })
        .collect();
    if !rows.is_empty() {
        chain_rows(tx, head_of(tx)?, &rows)?;
    }
    Ok(())
}

/// How a column of the trial row is named for people.
fn column_words(column: &str) -> &str {
    match column {
        "id" => "its number",
        "patient" => "the patient",
        "started_ms" => "the start on the pump's clock (ms)",
        "trial_json" => "the trial",
        "program_json" => "the program",
        "library_sha256" => "the drug library's checksum",
        "simulated" => "simulated",
        "started_wall" => "the start date",
        other => other,
    }
}

/// A value as shown in a problem: text without quotes, at most 60 characters.
fn shown(v: Option<&serde_json::Value>) -> String {
    let text = match v {
        None | Some(serde_json::Value::Null) => "nothing".to_owned(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(59).collect::<String>())
    } else {
        text
    }
}

/// What differs between a trial row as sealed and as it is now, for people: "the program's
/// concentration (1 mg/mL when written, 2 mg/mL now)". A JSON column (the trial, the program)
/// is compared field by field. A column the seal does not hold (added by a later schema) must be
/// empty.
fn trial_row_changes(
    sealed: &serde_json::Map<String, serde_json::Value>,
    now: &serde_json::Map<String, serde_json::Value>,
) -> Vec<String> {
    let mut columns: Vec<&String> = sealed.keys().chain(now.keys()).collect();
    columns.sort();
    columns.dedup();
    let mut out = Vec::new();
    for column in columns {
        let (was, is) = (sealed.get(column), now.get(column));
        let empty = |v: Option<&serde_json::Value>| v.is_none_or(serde_json::Value::is_null);
        if was == is || (empty(was) && empty(is)) {
            continue;
        }
        let parse = |v: Option<&serde_json::Value>| {
            v.and_then(serde_json::Value::as_str)
                .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
                .and_then(|v| v.as_object().cloned())
        };
        match (parse(was), parse(is)) {
            (Some(a), Some(b)) => {
                let mut fields: Vec<&String> = a.keys().chain(b.keys()).collect();
                fields.sort();
                fields.dedup();
                let mut any = false;
                for f in fields {
                    if a.get(f) != b.get(f) {
                        any = true;
                        out.push(format!(
                            "{}'s {f} ({} when written, {} now)",
                            column_words(column),
                            shown(a.get(f)),
                            shown(b.get(f))
                        ));
                    }
                }
                if !any {
                    out.push(format!("{} (its text)", column_words(column)));
                }
            }
            _ => out.push(format!(
                "{} ({} when written, {} now)",
                column_words(column),
                shown(was),
                shown(is)
            )),
        }
    }
    out
}

/// The record's kind, as stored in the `kind` column.
fn kind_of(body: &serde_json::Value) -> String {
    body.get("record")
        .and_then(|k| k.as_str())
        .unwrap_or("unknown")
        .to_owned()
}

/// A write transaction that holds the write lock from its start (`BEGIN IMMEDIATE`): the
/// outbox's sender writes to the same file from its own connection, and a transaction that read
/// before another connection's write could not write after it (SQLite's `SQLITE_BUSY_SNAPSHOT`,
/// which no busy timeout waits out). Taken at the start, the lock is waited for
/// (`busy_timeout`) instead.
fn immediate(conn: &mut Connection) -> rusqlite::Result<rusqlite::Transaction<'_>> {
    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
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
        conn.execute_batch(&format!(
            // The outbox's sender writes to the same file from its own connection: a write
            // waits for the other's (a few milliseconds) rather than fail, but not for long
            // (`PUMP_BUSY_TIMEOUT_MS`).
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {PUMP_BUSY_TIMEOUT_MS};",
        ))
        .map_err(sqlite)?;
        let mut log = TrialLog {
            conn,
            path: shown,
            trial_id: None,
            head: (0, GENESIS.to_owned()),
            outbox: None,
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
        for (i, step) in MIGRATIONS.iter().enumerate().skip(from) {
            let tx = immediate(&mut self.conn).map_err(sqlite)?;
            tx.execute_batch(step.sql).map_err(sqlite)?;
            if let Some(then) = step.then {
                then(&tx).map_err(sqlite)?;
            }
            tx.execute_batch(&format!(
                "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {};",
                i + 1
            ))
            .map_err(sqlite)?;
            tx.commit().map_err(sqlite)?;
            tracing::info!(path = %self.path, version = i + 1, "trial log schema migrated");
        }
        Ok(())
    }

    fn read_head(&self) -> Result<(i64, String), StoreError> {
        head_of(&self.conn).map_err(self.sqlite())
    }

    /// The newest row's number and hash, as the file holds them now (another connection may
    /// have appended since this one was opened).
    pub fn chain_head(&self) -> Result<(i64, String), StoreError> {
        self.read_head()
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
        let path = self.path.clone();
        let sqlite = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let started = i64::try_from(started_ms).unwrap_or(i64::MAX);
        // The row and its seal in the chain are one transaction: a trial is never in the log
        // without its seal.
        let tx = immediate(&mut self.conn).map_err(sqlite)?;
        tx.execute(
            "INSERT INTO trial (patient, started_ms, trial_json, program_json, library_sha256, simulated, started_wall)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                trial.patient,
                started,
                trial_json,
                program_json,
                library_sha256,
                simulated,
                started_wall
            ],
        )
        .map_err(sqlite)?;
        let id = tx.last_insert_rowid();
        let row = trial_rows(&tx, Some(id))
            .map_err(sqlite)?
            .pop()
            .map(|(_, row)| row)
            .unwrap_or_default();
        let seal = (
            id,
            started,
            TRIAL_ROW.to_owned(),
            seal_body(&row, SEALED_WITH_TRIAL),
        );
        let head = chain_rows(&tx, self.head.clone(), &[seal]).map_err(sqlite)?;
        tx.commit().map_err(sqlite)?;
        self.head = head;
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
        let mut rows = Vec::with_capacity(records.len());
        for (i, record) in records.iter().enumerate() {
            let value = serde_json::to_value(record).map_err(|e| StoreError::Unreadable {
                seq: self.head.0 + 1 + i64::try_from(i).unwrap_or(0),
                detail: e.to_string(),
            })?;
            rows.push((trial_id, at_of(record), kind_of(&value), value.to_string()));
        }
        let tx = immediate(&mut self.conn).map_err(sqlite)?;
        let head = chain_rows(&tx, self.head.clone(), &rows).map_err(sqlite)?;
        // The records' messages, composed on a copy: kept only if the write commits.
        let composed = match &self.outbox {
            Some(o) => {
                let mut composer = o.composer.boxed_clone();
                let messages = composer.compose(records, outbox::next_id(&tx).map_err(sqlite)?);
                outbox::queue(&tx, trial_id, &o.endpoints, &messages).map_err(sqlite)?;
                Some(composer)
            }
            None => None,
        };
        tx.commit().map_err(sqlite)?;
        self.head = head;
        if let (Some(o), Some(c)) = (self.outbox.as_mut(), composed) {
            o.composer = c;
        }
        Ok(())
    }

    /// Queues the messages of this trial's records in the outbox from now on (`outbox::Outbox`).
    pub fn set_outbox(&mut self, outbox: outbox::Outbox) {
        self.outbox = Some(outbox);
    }

    /// Queues the messages `make` makes (numbered from the number it is given) for trial
    /// `trial_id`, in a transaction of their own: what the pump sends apart from a record. The
    /// trial summary's FHIR Bundle goes through [`TrialLog::queue_summary_bundle`], which also
    /// notes which confirmation it follows.
    pub fn queue(
        &mut self,
        trial_id: i64,
        endpoints: &[outbox::Endpoint],
        make: impl FnOnce(u64) -> Vec<outbox::Message>,
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sqlite = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = immediate(&mut self.conn).map_err(sqlite)?;
        let messages = make(outbox::next_id(&tx).map_err(sqlite)?);
        outbox::queue(&tx, trial_id, endpoints, &messages).map_err(sqlite)?;
        tx.commit().map_err(sqlite)
    }

    /// Queues the trial summary's FHIR Bundle (`make`, numbered from the number it is given)
    /// for trial `trial_id`, and notes in the same transaction the confirmation of the
    /// implant's dose it follows (its `implant_plan` row `event_seq`, `outbox_summary`): a
    /// Bundle is queued once, or the confirmation is still owed one at the next check
    /// ([`outbox::OutboxReader::summary_owed`]). The note is written first: a confirmation
    /// already noted queues nothing (false).
    pub fn queue_summary_bundle(
        &mut self,
        trial_id: i64,
        event_seq: i64,
        endpoints: &[outbox::Endpoint],
        make: impl FnOnce(u64) -> Vec<outbox::Message>,
    ) -> Result<bool, StoreError> {
        let path = self.path.clone();
        let sqlite = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = immediate(&mut self.conn).map_err(sqlite)?;
        let messages = make(outbox::next_id(&tx).map_err(sqlite)?);
        let noted =
            outbox::summary_queued(&tx, trial_id, event_seq, messages.first().map(|m| m.id))
                .map_err(sqlite)?;
        if !noted {
            return Ok(false);
        }
        outbox::queue(&tx, trial_id, endpoints, &messages).map_err(sqlite)?;
        tx.commit().map_err(sqlite)?;
        Ok(true)
    }

    /// The wall clock reads `wall_ms` (ms since 1970, UTC) at `now` on the pump's clock: the
    /// outbox's messages are dated by it from now on ([`outbox::Compose::anchor`]). Nothing
    /// without an outbox.
    pub fn anchor_wall_clock(&mut self, now: crate::core::units::Timestamp, wall_ms: u64) {
        if let Some(o) = self.outbox.as_mut() {
            o.composer.anchor(now, wall_ms);
        }
    }

    /// The next message number the outbox gives.
    pub fn outbox_next_id(&self) -> Result<u64, StoreError> {
        outbox::next_id(&self.conn).map_err(self.sqlite())
    }

    /// Queues the periodic messages due by `now`.
    pub fn outbox_tick(&mut self, now: crate::core::units::Timestamp) -> Result<(), StoreError> {
        let (Some(o), Some(trial_id)) = (self.outbox.as_ref(), self.trial_id) else {
            return Ok(());
        };
        if !o.composer.due(now) {
            return Ok(());
        }
        let path = self.path.clone();
        let sqlite = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let mut composer = o.composer.boxed_clone();
        let messages = composer.tick(now, outbox::next_id(&self.conn).map_err(sqlite)?);
        if messages.is_empty() {
            return Ok(());
        }
        let tx = immediate(&mut self.conn).map_err(sqlite)?;
        outbox::queue(&tx, trial_id, &o.endpoints, &messages).map_err(sqlite)?;
        tx.commit().map_err(sqlite)?;
        if let Some(o) = self.outbox.as_mut() {
            o.composer = composer;
        }
        Ok(())
    }

    /// Moves every page of the write-ahead log into the database file and empties the WAL,
    /// so that the file's size says how big the log is (a trial's growth is counted from it;
    /// pages still in the WAL would otherwise count as the next trial's growth once
    /// checkpointed). A reader holding the WAL back leaves it partly checkpointed: no error.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(|source| StoreError::Sqlite {
                path: self.path.clone(),
                source,
            })
    }

    /// A write that changes nothing, committed and synced as every append is, then read back:
    /// the chain's head row rewritten with its own values. A card gone read-only, a connection
    /// that can no longer write, or a head that reads back other than this log wrote it fails.
    pub fn probe(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sqlite = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let (seq, hash) = self.head.clone();
        let tx = immediate(&mut self.conn).map_err(sqlite)?;
        tx.execute(
            "INSERT INTO chain_head (id, seq, hash) VALUES (1, ?1, ?2)
             ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            params![seq, hash],
        )
        .map_err(sqlite)?;
        tx.commit().map_err(sqlite)?;
        let read = head_of(&self.conn).map_err(sqlite)?;
        if read == (seq, hash) {
            Ok(())
        } else {
            Err(StoreError::Unreadable {
                seq: read.0,
                detail: format!(
                    "the chain's head reads back as row {}, not the {seq} this log wrote",
                    read.0
                ),
            })
        }
    }

    /// Every record of a trial, in order (the seal of its trial row is the log's, not a record).
    pub fn records(&self, trial_id: i64) -> Result<Vec<Record>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, body FROM event WHERE trial_id = ?1 AND kind <> ?2 ORDER BY seq")
            .map_err(self.sqlite())?;
        let rows = stmt
            .query_map(params![trial_id, TRIAL_ROW], |r| {
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

    /// The stored hash of row `seq` (None when there is no such row): to compare with a chain
    /// head recorded elsewhere, such as an export's manifest.
    pub fn hash_of_row(&self, seq: i64) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT hash FROM event WHERE seq = ?1", [seq], |r| r.get(0))
            .optional()
            .map_err(self.sqlite())
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
    /// sequence without gaps, the newest row against `chain_head`, and every trial row against
    /// the copy its seal holds (one seal per trial, none for a trial that is not there).
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
        // Each trial's seals: (row number, the copy of its row, how it was sealed).
        type Seal = (i64, serde_json::Map<String, serde_json::Value>, String);
        let mut seals: std::collections::BTreeMap<i64, Vec<Seal>> = Default::default();
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
            if kind == TRIAL_ROW {
                let body: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                let row = body
                    .get("row")
                    .and_then(serde_json::Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                let sealed = body
                    .get("sealed")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                seals.entry(trial_id).or_default().push((seq, row, sealed));
            }
            expected_prev = hash;
            expected_seq = seq + 1;
        }
        drop(rows);
        let mut sealed_at_upgrade = Vec::new();
        let trials = trial_rows(&self.conn, None).map_err(self.sqlite())?;
        let patient_of =
            |row: &serde_json::Map<String, serde_json::Value>| shown(row.get("patient"));
        for (id, now) in &trials {
            match seals.remove(id).as_deref() {
                None | Some([]) => problems.push(format!(
                    "trial {id} (patient {}) is not in the hash chain: it was added to the log, or its seal removed",
                    patient_of(now)
                )),
                Some([(_, sealed, how)]) => {
                    let changes = trial_row_changes(sealed, now);
                    if !changes.is_empty() {
                        problems.push(format!(
                            "trial {id} (patient {}) was changed after it was written: {}",
                            patient_of(sealed),
                            changes.join("; ")
                        ));
                    }
                    if how == SEALED_AT_UPGRADE {
                        sealed_at_upgrade.push(*id);
                    }
                }
                Some(many) => problems.push(format!(
                    "trial {id} (patient {}) is sealed more than once (rows {})",
                    patient_of(now),
                    many.iter()
                        .map(|(seq, ..)| seq.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
        for (id, gone) in seals {
            if let Some((_, row, _)) = gone.first() {
                problems.push(format!(
                    "trial {id} (patient {}) was removed from the log",
                    patient_of(row)
                ));
            }
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
            head: (expected_seq - 1, expected_prev),
            sealed_at_upgrade,
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

    fn probe(&mut self) -> Result<(), String> {
        TrialLog::probe(self).map_err(|e| e.to_string())
    }

    fn tick(&mut self, now: crate::core::units::Timestamp) -> Result<(), String> {
        self.outbox_tick(now).map_err(|e| e.to_string())
    }

    fn wall_clock(&mut self, now: crate::core::units::Timestamp, wall_ms: u64) {
        self.anchor_wall_clock(now, wall_ms);
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
