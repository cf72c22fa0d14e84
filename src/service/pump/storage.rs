//! The trial log's storage, as the daemon watches it: each trial's budget computed when it is
//! programmed (and found again after a restart), and the free space and the log's growth
//! checked from the tick at a fixed interval (`store::budget`).

use super::{Hardware, PumpService};
use crate::core::program::Trial;
use crate::core::supervisor::State;
use crate::core::tr;
use crate::core::units::Timestamp;
use crate::engine::Engine;
use crate::journal::Record;
use crate::store::budget::{FreeSpace, LogBudget, StorageVerdict, StorageWatch};

impl PumpService {
    /// Computes the new trial's log budget, logs it, and counts the log's growth from now.
    pub(super) fn begin_budget(
        &mut self,
        engine: &mut Engine<Hardware>,
        trial: &Trial,
        now: Timestamp,
    ) {
        let Some(watch) = self.storage.as_mut() else {
            return;
        };
        let budget = LogBudget::for_duration(trial.duration);
        let base = watch.db_bytes();
        tracing::info!(
            duration = %budget.duration,
            rows = budget.rows,
            bytes = budget.bytes,
            db_bytes = base,
            "the trial log's budget for this trial"
        );
        engine.record_log_budget(now, budget.duration, (budget.rows, budget.bytes), base);
        watch.begin_trial(budget, base);
    }

    /// After a restart: the recovered trial's budget, as recorded when it was programmed (a
    /// trial programmed before budgets were recorded gets one from its duration, counted from
    /// the log's size now).
    pub(super) fn resume_budget(
        &mut self,
        records: &[Record],
        duration: crate::core::units::Duration,
    ) {
        let Some(watch) = self.storage.as_mut() else {
            return;
        };
        let recorded = records.iter().find_map(|r| match r {
            Record::LogBudget {
                duration,
                rows,
                bytes,
                base,
                ..
            } => Some((
                LogBudget {
                    duration: *duration,
                    rows: *rows,
                    bytes: *bytes,
                },
                *base,
            )),
            _ => None,
        });
        let (budget, base) =
            recorded.unwrap_or_else(|| (LogBudget::for_duration(duration), watch.db_bytes()));
        watch.begin_trial(budget, base);
    }

    /// Checks the log's storage when due, while a trial is in hand: a full card releases the
    /// reserve and then stops delivery with the HIGH alarm, so that the stop and the alarm are
    /// written into the room the reserve leaves.
    pub(super) fn check_storage(&mut self, now: Timestamp) {
        let (Some(watch), Some(engine)) = (self.storage.as_mut(), self.engine.as_mut()) else {
            return;
        };
        if engine.state() == State::Ended || !watch.due(now) {
            return;
        }
        match watch.check(now) {
            StorageVerdict::Ok => engine.storage_checked(now, false, false),
            StorageVerdict::Low(why) => {
                tracing::warn!(%why, "the trial log's storage is running short");
                engine.storage_checked(now, true, false);
            }
            StorageVerdict::Full(why) => {
                tracing::error!(%why, "the trial log's storage is full: delivery stops");
                watch.reserve.release();
                engine.storage_checked(now, false, true);
            }
        }
    }

    /// A new trial is not programmed on a card too full to log it.
    pub(super) fn refuse_trial_on_a_full_card(
        &mut self,
        now: Timestamp,
    ) -> Result<(), super::ServiceError> {
        let Some(watch) = self.storage.as_mut() else {
            return Ok(());
        };
        match watch.check(now) {
            StorageVerdict::Full(why) => {
                tracing::error!(%why, "a trial refused: the trial log's storage is full");
                Err(super::ServiceError::WrongState(
                    tr!("The pump's memory card is full: a trial cannot be logged. Call a technician to make space.")
                        .to_owned(),
                ))
            }
            StorageVerdict::Ok | StorageVerdict::Low(_) => Ok(()),
        }
    }

    /// Reads the free space from `free` instead of the kernel (tests; fault injection on a
    /// simulated pump). The next tick checks at once.
    pub fn set_free_space(&mut self, free: Box<dyn FreeSpace>) {
        if let Some(path) = &self.log_path {
            let mut watch = StorageWatch::new(path, self.cfg.storage.clone(), free);
            if let Some(old) = self.storage.take()
                && let Some((budget, _)) = old.trial_use()
            {
                let base = old.base().unwrap_or(0);
                watch.begin_trial(budget, base);
            }
            self.storage = Some(watch);
        }
    }

    /// The trial log's use of its budget in words, for the status ("" without one): the
    /// growth of the database file this trial, the budget, and the share.
    pub(super) fn log_budget_text(&self) -> String {
        self.log_budget()
            .map_or_else(String::new, |(budget, grown)| {
                // Megabytes to the nearest tenth.
                let mb = |b: u64| {
                    let tenths = b.saturating_add(50_000) / 100_000;
                    format!("{}.{}", tenths / 10, tenths % 10)
                };
                let pct = grown.saturating_mul(100) / budget.bytes.max(1);
                tr!(
                    "{grown} MB of {budget} MB ({pct} %)",
                    grown = mb(grown),
                    budget = mb(budget.bytes),
                    pct
                )
            })
    }

    /// The trial in hand's log budget and the log's growth since it started (None without a
    /// log or a trial).
    pub fn log_budget(&self) -> Option<(LogBudget, u64)> {
        self.storage.as_ref().and_then(StorageWatch::trial_use)
    }
}
