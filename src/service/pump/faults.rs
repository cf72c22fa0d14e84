//! The daemon's health check and, on simulated pumps, injected faults.

use super::*;

impl PumpService {
    /// Switches a fault on the simulated hardware (refused on real hardware).
    pub fn inject_fault(&mut self, fault: &str, on: bool) -> Result<(), ServiceError> {
        let storage = matches!(
            fault,
            "card_low" | "card_full" | "disk_full" | "log_write_error"
        );
        if storage && !self.simulated {
            // The trial log's storage: simulated pumps only, like every injected fault (the
            // hardware's own faults are refused by real hardware below).
            return Err(ServiceError::InvalidInput(
                tr!("faults can only be injected into simulated hardware").to_owned(),
            ));
        }
        if matches!(fault, "card_low" | "card_full") {
            // The free space on the log's card, as the storage check reads it: just under the
            // warning or the stop threshold; off gives the kernel's answer back.
            let Some(path) = self.log_path.clone() else {
                return Err(ServiceError::WrongState(tr!(
                    "{fault}: there is no trial log (the daemon keeps none)",
                    fault
                )));
            };
            let mib = 1024 * 1024;
            let st = &self.cfg.storage;
            let free = if fault == "card_low" {
                st.low_free_mib * mib - 1
            } else {
                st.stop_free_mib * mib - 1
            };
            if on {
                self.set_free_space(Box::new(crate::store::budget::FakeFreeSpace::new(free)));
            } else {
                self.set_free_space(Box::new(crate::store::budget::StatvfsFreeSpace::of_log(
                    &path,
                )));
            }
            return Ok(());
        }
        if matches!(fault, "disk_full" | "log_write_error") {
            let injected = self
                .engine
                .as_mut()
                .is_some_and(|e| e.inject_log_fault(fault, on));
            return match injected {
                true => Ok(()),
                false => Err(ServiceError::WrongState(tr!(
                    "{fault}: there is no trial log to fail (the daemon keeps none, or no trial is programmed)",
                    fault
                ))),
            };
        }
        let hw: &mut Hardware = match (&mut self.engine, &mut self.hw) {
            (Some(e), _) => e.hardware_mut(),
            (None, Some(hw)) => hw,
            (None, None) => return Err(ServiceError::Internal(tr!("no hardware").to_owned())),
        };
        hw.inject_fault(fault, on)
            .map_err(|e| ServiceError::InvalidInput(e.to_string()))
    }

    /// The daemon's health check, taking no reading of its own: the trial log was written
    /// when last tried, and the pressure sensor gave a reading within three of its read
    /// intervals. It never decides whether the watchdog is petted (that says only that the
    /// control loop is alive); what it finds is raised as the matching HIGH alarm by
    /// [`PumpService::keep_healthy`].
    pub fn health(&self, now: Timestamp) -> Vec<HealthProblem> {
        let Some(e) = self.engine.as_ref() else {
            return Vec::new();
        };
        let mut problems = Vec::new();
        if e.log_failed() {
            problems.push(HealthProblem::LogUnwritable);
        }
        if let Some(silent) = e.sensor_silent_for(now) {
            problems.push(HealthProblem::SensorSilent(silent));
        }
        problems
    }

    /// Writes what the running trial holds and has not written, before the daemon exits.
    pub fn before_exit(&mut self, now: Timestamp) -> bool {
        self.engine.as_mut().is_none_or(|e| e.before_exit(now))
    }

    /// Runs the health check and makes each problem stand as its HIGH alarm (delivery
    /// stopped, the tone sounding) for as long as it lasts; returns what it found.
    pub fn keep_healthy(&mut self, now: Timestamp) -> Vec<HealthProblem> {
        let problems = self.health(now);
        if let Some(e) = self.engine.as_mut() {
            for p in &problems {
                e.raise_for_health(now, p.alarm());
            }
        }
        problems
    }
}

/// What the daemon's health check can find wrong; in words (Display) in the language in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthProblem {
    /// The trial log's last write failed.
    LogUnwritable,
    /// The pressure sensor has given no reading for this long.
    SensorSilent(Duration),
}

impl HealthProblem {
    /// The HIGH alarm that stands for it.
    pub fn alarm(&self) -> crate::core::supervisor::AlarmKind {
        use crate::core::supervisor::AlarmKind;
        match self {
            HealthProblem::LogUnwritable => AlarmKind::LogFailure,
            HealthProblem::SensorSilent(_) => AlarmKind::SensorFault,
        }
    }
}

impl std::fmt::Display for HealthProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HealthProblem::LogUnwritable => f.write_str(tr!("the trial log cannot be written")),
            HealthProblem::SensorSilent(d) => f.write_str(&tr!(
                "the pressure sensor has given no reading for {time}",
                time = d
            )),
        }
    }
}
