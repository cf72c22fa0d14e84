//! The outbox: messages for the hospital's systems (issue 23), kept in the trial log's database
//! until each endpoint they go to has acknowledged them.
//!
//! - A record's messages are rows of `outbox_message` written in the **same transaction** as
//!   the record itself ([`super::TrialLog::append`]): a record on disk has its messages on disk;
//!   a write that fails writes neither (and the composer is left as it was, so the retry makes
//!   the same messages again). Periodic messages are written when they fall due
//!   ([`super::TrialLog::outbox_tick`]).
//! - Each message is owed to each endpoint of its channel: a row of `outbox` per (endpoint,
//!   message). A sender ([`OutboxReader`], its own connection) takes an endpoint's oldest row,
//!   sends it, and deletes the row only when the endpoint acknowledged it: in order, none
//!   skipped, re-sent until acknowledged. A message no endpoint still owes is deleted: the
//!   trial log's events are the record, and `titra export --format hl7` makes the messages
//!   again from them.
//! - The trial summary's FHIR Bundle, queued when a clinician confirms the implant's dose, is
//!   noted in `outbox_summary` in the transaction that queues it
//!   ([`super::TrialLog::queue_summary_bundle`]): a confirmation without its note (a daemon
//!   stopped between the confirmation's record and the Bundle, a queueing that failed) is
//!   found by the daemon's next check, every minute, which queues the Bundle then
//!   ([`OutboxReader::summary_owed`]).
//! - Delivery never waits for the network: the pump only ever inserts rows; the sender runs
//!   apart, on its own connection, and its writes (an acknowledgement) are a row deleted, in
//!   WAL mode with a busy timeout on both sides.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::core::units::Timestamp;
use crate::journal::Record;

/// What carries a message: HL7 v2 over MLLP, or FHIR over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Hl7,
    Fhir,
}

/// A message to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its number: unique in the log, increasing (HL7's control id, MSH-10).
    pub id: u64,
    pub channel: Channel,
    /// Its kind, for people and logs: "pcd-01".
    pub kind: &'static str,
    /// The moment it reports, on the pump's clock.
    pub at: Timestamp,
    pub body: String,
}

/// What makes the messages of a trial's records (the reports of `report::pcd`).
pub trait Compose: Send {
    /// The messages `records` make, numbered from `next_id`.
    fn compose(&mut self, records: &[Record], next_id: u64) -> Vec<Message>;
    /// The periodic messages due by `now`, numbered from `next_id`.
    fn tick(&mut self, now: Timestamp, next_id: u64) -> Vec<Message>;
    /// Whether `tick` would make a message at `now` (asked every pass of the control loop,
    /// before anything is copied or read).
    fn due(&self, now: Timestamp) -> bool {
        let _ = now;
        true
    }
    /// A copy to compose with before the write commits.
    fn boxed_clone(&self) -> Box<dyn Compose>;
    /// The wall clock reads `wall_ms` (ms since 1970, UTC) at `now` on the pump's clock: the
    /// messages made from here on are dated by it. The daemon says so every minute
    /// ([`super::TrialLog::anchor_wall_clock`]), so that the messages' times follow the wall
    /// clock when it is set after the outbox was attached (a pump with no battery-backed clock
    /// starts before its time server answers). What was already composed keeps its times.
    /// Nothing by default (a composer that dates nothing).
    fn anchor(&mut self, now: Timestamp, wall_ms: u64) {
        let _ = (now, wall_ms);
    }
}

/// An endpoint messages are owed to: its name (as the site's configuration gives it) and what
/// it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub name: String,
    pub channel: Channel,
}

/// The outbox as the writing connection holds it.
pub struct Outbox {
    pub(super) composer: Box<dyn Compose>,
    pub(super) endpoints: Vec<Endpoint>,
}

impl Outbox {
    pub fn new(composer: Box<dyn Compose>, endpoints: Vec<Endpoint>) -> Outbox {
        Outbox {
            composer,
            endpoints,
        }
    }
}

/// The next message number (one past the highest ever given, deleted or not).
pub(super) fn next_id(conn: &Connection) -> rusqlite::Result<u64> {
    let last: Option<i64> = conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'outbox_message'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let max: Option<i64> =
        conn.query_row("SELECT MAX(id) FROM outbox_message", [], |r| r.get(0))?;
    let top = last.unwrap_or(0).max(max.unwrap_or(0));
    Ok(u64::try_from(top).unwrap_or(0) + 1)
}

/// Queues `messages` for every endpoint of their channel, in the caller's transaction.
pub(super) fn queue(
    tx: &rusqlite::Transaction<'_>,
    trial_id: i64,
    endpoints: &[Endpoint],
    messages: &[Message],
) -> rusqlite::Result<()> {
    for m in messages {
        let owed: Vec<&Endpoint> = endpoints
            .iter()
            .filter(|e| e.channel == m.channel)
            .collect();
        if owed.is_empty() {
            continue;
        }
        let id = i64::try_from(m.id).unwrap_or(i64::MAX);
        tx.execute(
            "INSERT INTO outbox_message (id, trial_id, at_ms, kind, body) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                id,
                trial_id,
                i64::try_from(m.at.ms()).unwrap_or(i64::MAX),
                m.kind,
                m.body
            ],
        )?;
        for e in owed {
            tx.execute(
                "INSERT INTO outbox (endpoint, message_id) VALUES (?1, ?2)",
                params![e.name, id],
            )?;
        }
    }
    Ok(())
}

/// The `kind` of the trial log's row of a clinician's confirmation of the implant's dose
/// (`Record::ImplantPlan`, as serde names it): the trial summary's Bundle goes out after it.
const IMPLANT_PLAN: &str = "implant_plan";

/// The newest confirmation of the implant's dose of trial `trial_id` (its `implant_plan` row's
/// number), if there is one.
fn newest_implant_plan(conn: &Connection, trial_id: i64) -> rusqlite::Result<Option<i64>> {
    // The kind written out, not bound: only then can SQLite use the partial index of these
    // rows (`event_implant_plan`, schema 5) instead of reading the trial's every row.
    conn.query_row(
        &format!("SELECT MAX(seq) FROM event WHERE trial_id = ?1 AND kind = '{IMPLANT_PLAN}'"),
        params![trial_id],
        |r| r.get(0),
    )
}

/// Notes, in the caller's transaction (the one that queues the Bundle), that the summary's
/// Bundle of trial `trial_id`'s confirmation `event_seq` (its `implant_plan` row) is queued, as
/// message `message_id`. False when it was noted already: nothing is to be queued again.
pub(super) fn summary_queued(
    tx: &rusqlite::Transaction<'_>,
    trial_id: i64,
    event_seq: i64,
    message_id: Option<u64>,
) -> rusqlite::Result<bool> {
    let inserted = tx.execute(
        "INSERT OR IGNORE INTO outbox_summary (trial_id, event_seq, message_id) VALUES (?1, ?2, ?3)",
        params![
            trial_id,
            event_seq,
            message_id.map(|id| i64::try_from(id).unwrap_or(i64::MAX))
        ],
    )?;
    Ok(inserted == 1)
}

/// Trial `trial_id`'s newest confirmation of the implant's dose (its row's number) when the
/// summary's Bundle made after it was never queued (the daemon stopped between the two); None
/// when it was, or when the trial has no confirmation.
pub(super) fn summary_unqueued(conn: &Connection, trial_id: i64) -> rusqlite::Result<Option<i64>> {
    let Some(seq) = newest_implant_plan(conn, trial_id)? else {
        return Ok(None);
    };
    let queued: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM outbox_summary WHERE trial_id = ?1 AND event_seq = ?2)",
        params![trial_id, seq],
        |r| r.get(0),
    )?;
    Ok((!queued).then_some(seq))
}

/// A message owed to an endpoint, as the sender takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub id: u64,
    pub kind: String,
    pub body: String,
    /// How many times it was sent without an acknowledgement.
    pub attempts: u64,
}

/// Message `id` is no longer owed to `endpoint` (acknowledged, or the endpoint forgotten), in
/// the caller's transaction; the message itself is deleted once no endpoint owes it.
fn release(tx: &rusqlite::Transaction<'_>, endpoint: &str, id: i64) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM outbox WHERE endpoint = ?1 AND message_id = ?2",
        params![endpoint, id],
    )?;
    tx.execute(
        "DELETE FROM outbox_message WHERE id = ?1
         AND NOT EXISTS (SELECT 1 FROM outbox WHERE message_id = ?1)",
        params![id],
    )?;
    Ok(())
}

/// How many messages `OutboxReader::forget` drops in one transaction.
pub const FORGET_AT_ONCE: i64 = 200;

/// What one endpoint named in the outbox is owed, for a technician (`titra outbox`): how many
/// messages, and the oldest — the one its sender is trying — with how many times it was sent
/// and why the last try failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owed {
    pub endpoint: String,
    pub messages: u64,
    pub oldest_id: u64,
    pub oldest_kind: String,
    pub attempts: u64,
    pub last_error: Option<String>,
}

/// What an endpoint is owed: how many messages, and the oldest's moment (the pump's clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    pub messages: u64,
    pub oldest: Option<Timestamp>,
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("the outbox of {path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
    #[error("{path} has no outbox (schema {found}; the pump writes it from schema 4)")]
    NoOutbox { path: String, found: i32 },
}

/// The sender's side of the outbox: its own connection to the trial log's database, reading
/// what is owed and deleting what was acknowledged. It never touches the trial's records.
pub struct OutboxReader {
    conn: Connection,
    path: String,
}

impl OutboxReader {
    /// Opens the outbox of the trial log at `path` (which the pump has opened, and so
    /// migrated, first).
    pub fn open(path: &Path) -> Result<OutboxReader, OutboxError> {
        let shown = path.display().to_string();
        let sqlite = |source| OutboxError::Sqlite {
            path: shown.clone(),
            source,
        };
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(sqlite)?;
        // An acknowledgement lost to a power cut only means the message is sent again: the
        // sender's deletes need not wait for the card (the pump's own writes stay FULL). It
        // waits up to 5 s for the write lock: nothing waits on its writes but its endpoint (the
        // pump's own connection waits less, `store::PUMP_BUSY_TIMEOUT_MS`; the daemon's backlog
        // check reads through this connection, and a read in WAL mode waits for no writer).
        conn.execute_batch(
            "PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
        )
        .map_err(sqlite)?;
        let version: i32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sqlite)?;
        if version < 4 {
            return Err(OutboxError::NoOutbox {
                path: shown,
                found: version,
            });
        }
        Ok(OutboxReader { conn, path: shown })
    }

    fn sqlite(&self) -> impl Fn(rusqlite::Error) -> OutboxError + '_ {
        |source| OutboxError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// The newest trial's newest confirmation of the implant's dose whose summary Bundle was
    /// never queued: (the trial, the confirmation's row); None when there is none. A query of
    /// two indexes, asked every minute by the daemon (`PumpService::queue_owed_summary`).
    pub fn summary_owed(&self) -> Result<Option<(i64, i64)>, OutboxError> {
        let trial: Option<i64> = self
            .conn
            .query_row("SELECT MAX(id) FROM trial", [], |r| r.get(0))
            .map_err(self.sqlite())?;
        let Some(trial) = trial else {
            return Ok(None);
        };
        let seq = summary_unqueued(&self.conn, trial).map_err(self.sqlite())?;
        Ok(seq.map(|seq| (trial, seq)))
    }

    /// The oldest message owed to `endpoint`.
    pub fn oldest(&self, endpoint: &str) -> Result<Option<Pending>, OutboxError> {
        self.conn
            .query_row(
                "SELECT m.id, m.kind, m.body, o.attempts FROM outbox o
                 JOIN outbox_message m ON m.id = o.message_id
                 WHERE o.endpoint = ?1 ORDER BY o.message_id LIMIT 1",
                params![endpoint],
                |r| {
                    Ok(Pending {
                        id: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                        kind: r.get(1)?,
                        body: r.get(2)?,
                        attempts: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                    })
                },
            )
            .optional()
            .map_err(self.sqlite())
    }

    /// `endpoint` acknowledged message `id`: it is no longer owed to it (and deleted when no
    /// endpoint still owes it).
    pub fn acknowledged(&mut self, endpoint: &str, id: u64) -> Result<(), OutboxError> {
        let id = i64::try_from(id).unwrap_or(i64::MAX);
        let path = self.path.clone();
        let sqlite = |source| OutboxError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sqlite)?;
        release(&tx, endpoint, id).map_err(sqlite)?;
        tx.commit().map_err(sqlite)
    }

    /// Sending message `id` to `endpoint` failed (`why`): counted, and why kept for the status.
    pub fn failed(&mut self, endpoint: &str, id: u64, why: &str) -> Result<(), OutboxError> {
        let why: String = why.chars().take(500).collect();
        self.conn
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?3
                 WHERE endpoint = ?1 AND message_id = ?2",
                params![endpoint, i64::try_from(id).unwrap_or(i64::MAX), why],
            )
            .map(|_| ())
            .map_err(self.sqlite())
    }

    /// Every endpoint the outbox owes messages to, by name, with its oldest message.
    pub fn owed(&self) -> Result<Vec<Owed>, OutboxError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT o.endpoint, c.n, m.id, m.kind, o.attempts, o.last_error
                 FROM (SELECT endpoint, COUNT(*) AS n, MIN(message_id) AS first
                       FROM outbox GROUP BY endpoint) c
                 JOIN outbox o ON o.endpoint = c.endpoint AND o.message_id = c.first
                 JOIN outbox_message m ON m.id = o.message_id
                 ORDER BY o.endpoint",
            )
            .map_err(self.sqlite())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Owed {
                    endpoint: r.get(0)?,
                    messages: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                    oldest_id: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                    oldest_kind: r.get(3)?,
                    attempts: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
                    last_error: r.get(5)?,
                })
            })
            .map_err(self.sqlite())?;
        rows.collect::<Result<_, _>>().map_err(self.sqlite())
    }

    /// Drops everything owed to `endpoint` (one the site renamed or removed: no sender will
    /// ever take it), and the messages no endpoint owes any more; returns how many were owed.
    /// In transactions of [`FORGET_AT_ONCE`] messages: the pump's own writes wait at most a
    /// second for the lock. The trial log's records are untouched: `titra export --format
    /// hl7|fhir` makes the messages again from them.
    pub fn forget(&mut self, endpoint: &str) -> Result<u64, OutboxError> {
        let path = self.path.clone();
        let sqlite = |source| OutboxError::Sqlite {
            path: path.clone(),
            source,
        };
        let mut dropped = 0u64;
        loop {
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(sqlite)?;
            let ids: Vec<i64> = tx
                .prepare("SELECT message_id FROM outbox WHERE endpoint = ?1 LIMIT ?2")
                .and_then(|mut stmt| {
                    stmt.query_map(params![endpoint, FORGET_AT_ONCE], |r| r.get(0))?
                        .collect()
                })
                .map_err(sqlite)?;
            if ids.is_empty() {
                return Ok(dropped);
            }
            for id in &ids {
                release(&tx, endpoint, *id).map_err(sqlite)?;
            }
            tx.commit().map_err(sqlite)?;
            dropped += u64::try_from(ids.len()).unwrap_or(0);
        }
    }

    /// What `endpoint` is owed.
    pub fn backlog(&self, endpoint: &str) -> Result<Backlog, OutboxError> {
        self.conn
            .query_row(
                "SELECT COUNT(*), MIN(m.at_ms) FROM outbox o
                 JOIN outbox_message m ON m.id = o.message_id WHERE o.endpoint = ?1",
                params![endpoint],
                |r| {
                    let n: i64 = r.get(0)?;
                    let oldest: Option<i64> = r.get(1)?;
                    Ok(Backlog {
                        messages: u64::try_from(n).unwrap_or(0),
                        oldest: oldest
                            .and_then(|ms| u64::try_from(ms).ok())
                            .map(Timestamp::from_ms),
                    })
                },
            )
            .map_err(self.sqlite())
    }
}
