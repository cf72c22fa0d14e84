//! The daemon's health check and, on simulated pumps, injected faults.

use super::*;

impl PumpService {
    /// Switches a fault on the simulated hardware (refused on real hardware).
    pub fn inject_fault(&mut self, fault: &str, on: bool) -> Result<(), ServiceError> {
        if matches!(fault, "card_low" | "card_full") {
            // The free space on the log's card, as the storage check reads it: just under the
            // warning or the stop threshold; off gives the kernel's answer back.
            if !self.simulated {
                return Err(ServiceError::InvalidInput(
                    "faults can only be injected into simulated hardware".to_owned(),
                ));
            }
            let Some(path) = self.log_path.clone() else {
                return Err(ServiceError::WrongState(format!(
                    "{fault}: there is no trial log (the daemon keeps none)"
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
                let dir = path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(std::path::Path::new("."))
                    .to_owned();
                self.set_free_space(Box::new(crate::store::budget::StatvfsFreeSpace { dir }));
            }
            return Ok(());
        }
        if matches!(fault, "disk_full" | "log_write_error") {
            // The trial log's storage: simulated pumps only, like every injected fault.
            if !self.simulated {
                return Err(ServiceError::InvalidInput(
                    "faults can only be injected into simulated hardware".to_owned(),
                ));
            }
            let injected = self
                .engine
                .as_mut()
                .is_some_and(|e| e.inject_log_fault(fault, on));
            return match injected {
                true => Ok(()),
                false => Err(ServiceError::WrongState(format!(
                    "{fault}: there is no trial log to fail (the daemon keeps none, or no trial is programmed)"
                ))),
            };
        }
        let hw: &mut Hardware = match (&mut self.engine, &mut self.hw) {
            (Some(e), _) => e.hardware_mut(),
            (None, Some(hw)) => hw,
            (None, None) => return Err(ServiceError::Internal("no hardware".to_owned())),
        };
        hw.inject_fault(fault, on)
            .map_err(|e| ServiceError::InvalidInput(e.to_string()))
    }

    /// The checks the watchdog depends on: the log is writable, the sensor answers, the motor is
    /// where the count says. A failing check keeps the watchdog from being petted.
    pub fn health(&mut self) -> Result<(), String> {
        let Some(e) = self.engine.as_mut() else {
            return Ok(());
        };
        if e.active_alarms()
            .any(|a| a.kind == crate::core::supervisor::AlarmKind::LogFailure)
        {
            return Err("the trial log cannot be written".to_owned());
        }
        e.hardware_mut()
            .read_pressure_mmhg()
            .map_err(|err| format!("the pressure sensor: {err}"))?;
        Ok(())
    }
}
