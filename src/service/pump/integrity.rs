//! The start-up check. Before a trial is recovered, the daemon verifies the trial log's whole
//! hash chain (every event row and every trial's own row) and compares the drug library in force
//! with the one the unfinished trial was programmed with (the SHA-256 logged with the trial).
//!
//! A failure never lets that trial deliver again: it is recovered stopped, with a HIGH alarm
//! naming what failed and the finding in the log, and only a clinician's decision
//! ([`PumpService::end_unverified_trial`], with a written reason) moves it on, to its end, so
//! that it can be exported. A log whose chain fails also keeps new trials off the pump until a
//! technician has taken the file out of use (docs/trial-log.md). docs/threat-model.md says why.

use super::*;
use crate::core::supervisor::AlarmKind;

/// The most problems of the log named one by one in the alarm's details and the trial log.
const MAX_NAMED: usize = 10;

/// What the start-up check found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupCheck {
    /// The trial log's problems (as `titra verify-log` words them); empty when it is intact.
    pub log: Vec<String>,
    /// The drug library's mismatch when the unfinished trial was programmed with another one:
    /// the SHA-256 of the library in force and of the one it was programmed with.
    pub library: Option<(String, String)>,
    /// When the check ran, on the pump's clock.
    pub at: Timestamp,
}

impl StartupCheck {
    fn passed(&self) -> bool {
        self.log.is_empty() && self.library.is_none()
    }

    /// The alarm of each check that failed.
    fn kinds(&self) -> Vec<AlarmKind> {
        let mut kinds = Vec::new();
        if !self.log.is_empty() {
            kinds.push(AlarmKind::LogCheckFailed);
        }
        if self.library.is_some() {
            kinds.push(AlarmKind::LibraryChanged);
        }
        kinds
    }

    /// Every failure in words, the log's first (at most [`MAX_NAMED`] of its problems, then how
    /// many more), in the language in use (the log's problems as the log's check words them).
    pub fn failures(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .log
            .iter()
            .take(MAX_NAMED)
            .map(|problem| tr!("the trial log: {problem}", problem))
            .collect();
        if self.log.len() > MAX_NAMED {
            out.push(tr!(
                "the trial log: {count} more problems (titra verify-log lists them)",
                count = self.log.len() - MAX_NAMED
            ));
        }
        let short = |sha: &str| sha.get(..12).unwrap_or(sha).to_owned();
        out.extend(self.library.iter().map(|(in_force, programmed)| {
            tr!(
                "the drug library: the library in force (SHA-256 {in_force}…) is not the one this trial was programmed with ({programmed}…)",
                in_force = short(in_force),
                programmed = short(programmed)
            )
        }));
        out
    }
}

impl PumpService {
    /// The log's hash chain, verified whole. A log that cannot even be read through counts as
    /// failed, with the reason.
    pub(super) fn check_log(log: &TrialLog) -> Vec<String> {
        match log.verify() {
            Ok(v) => v.problems,
            Err(e) => vec![format!("it could not be checked ({e})")],
        }
    }

    /// The library in force against the one `stored` was programmed with: both their SHA-256
    /// when they differ.
    pub(super) fn check_library(
        &self,
        stored: &crate::store::StoredTrial,
    ) -> Option<(String, String)> {
        let in_force = crate::digest::checksum(&self.library);
        (in_force != stored.library_sha256).then(|| (in_force, stored.library_sha256.clone()))
    }

    /// Keeps what the check found (nothing when it passed) and says so in the daemon's log.
    pub(super) fn note_check(&mut self, check: StartupCheck) {
        if check.passed() {
            tracing::info!("start-up check: the trial log's chain is intact");
            return;
        }
        for failure in in_english(|| check.failures()) {
            tracing::error!(%failure, "start-up check failed");
        }
        self.startup_check = Some(check);
    }

    /// Holds the recovered trial for good when the check failed: the finding logged, a HIGH
    /// alarm of each failed check.
    pub(super) fn hold_if_check_failed(&mut self, now: Timestamp) -> Result<(), ServiceError> {
        let Some(check) = self.startup_check.clone() else {
            return Ok(());
        };
        if let Some(engine) = self.engine.as_mut() {
            // The finding as the trial log keeps it, in English.
            let failures = in_english(|| check.failures());
            engine.hold_after_failed_check(now, &check.kinds(), failures)?;
        }
        Ok(())
    }

    /// What the start-up check found wrong, in one line ("" when it passed).
    pub(super) fn startup_check_failure(&self) -> String {
        self.startup_check
            .as_ref()
            .map_or_else(String::new, |c| c.failures().join("; "))
    }

    /// The start-up check's alarms when no trial is in hand to hold them (a log that failed,
    /// with its last trial ended): shown, never sounded, since nothing is being delivered.
    pub(super) fn startup_check_alarms(&self) -> Vec<AlarmStatus> {
        self.startup_check.as_ref().map_or_else(Vec::new, |c| {
            c.kinds()
                .into_iter()
                .map(|kind| AlarmStatus {
                    kind,
                    priority: kind.priority(),
                    message: kind.message().to_owned(),
                    since_ms: i64::try_from(c.at.ms()).unwrap_or(0),
                    silenced_until_ms: -1,
                })
                .collect()
        })
    }

    /// Refuses a new trial on a log that failed its check, or while the unfinished trial the
    /// check held could not be recovered.
    pub(super) fn refuse_new_trial_after_failed_check(&self) -> Result<(), ServiceError> {
        let Some(check) = &self.startup_check else {
            return Ok(());
        };
        if !check.log.is_empty() {
            return Err(ServiceError::WrongState(tr!(
                "the trial log failed its integrity check at start-up ({failures}): no new trial is programmed on it. Export the last trial, then take the pump out of use; a technician keeps the log and starts a new one",
                failures = check.failures().join("; ")
            )));
        }
        if self.engine.is_none() {
            return Err(ServiceError::WrongState(
                tr!("the unfinished trial in the log was programmed with another drug library and cannot be recovered with this one: put back the library it was programmed with, or export it with titra export --draft").to_owned(),
            ));
        }
        Ok(())
    }

    /// Refuses the usual end of a trial that the failed start-up check holds: that needs the
    /// clinician's decision.
    pub(super) fn refuse_plain_end_when_held(&self) -> Result<(), ServiceError> {
        match &self.engine {
            Some(e) if e.held_by_failed_check() && e.state() != State::Ended => {
                Err(ServiceError::WrongState(
                    tr!("the start-up check holds this trial: a clinician ends it with a written reason (End unverified trial), then exports it").to_owned(),
                ))
            }
            _ => Ok(()),
        }
    }

    /// A clinician's decision on a trial the failed start-up check holds: it ends, for the
    /// written `reason` (required, at most 500 characters), logged with the clinician's name,
    /// so that it can be exported. Its delivery stays refused: an ended trial never delivers.
    pub fn end_unverified_trial(
        &mut self,
        token: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Clinician])?;
        let reason = note_field(
            "reason",
            reason,
            Some(tr!(
                "write why the trial is ended this way and what is done about the check"
            )),
        )?;
        let name = caller.name.clone();
        self.engine_mut()?.end_unverified(now, &reason, &name)?;
        // The library no longer matters to the ended trial; a log that failed stays failed.
        if let Some(check) = self.startup_check.as_mut() {
            check.library = None;
            if check.passed() {
                self.startup_check = None;
            }
        }
        tracing::warn!(by = %name, %reason, "the trial held by the start-up check was ended");
        self.audit(
            &caller,
            "end the trial held by the failed start-up check",
            now,
        );
        Ok(())
    }

    /// The trial log's chain head and check now, for an export's manifest (None without a log).
    pub(super) fn log_seal(&self) -> Result<Option<crate::report::export::LogSeal>, ServiceError> {
        let Some(log) = self.open_log()? else {
            return Ok(None);
        };
        // A check that cannot run does not stop the export (it may be the export of a trial a
        // failed check holds): the manifest says so beside the head as stored.
        let seal = match log.verify() {
            Ok(v) => crate::report::export::LogSeal {
                head: v.head,
                problems: v.problems,
            },
            Err(e) => crate::report::export::LogSeal {
                head: log
                    .chain_head()
                    .map_err(|e| ServiceError::Internal(e.to_string()))?,
                problems: vec![format!("it could not be checked ({e})")],
            },
        };
        Ok(Some(seal))
    }
}
