//! The trial summary and its export: the summary, the bolus chart and the dose history for
//! the screens, the implant worksheet's confirmation, and the export's files.

use super::*;

impl PumpService {
    /// The trial summary (titra.trial-summary/1) as JSON.
    pub fn summary(&mut self, token: &str, now: Timestamp) -> Result<Summary, ServiceError> {
        self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        self.summary_at(now)
    }

    /// The response to each bolus of a bolus trial, for the clinician's chart (no login, like
    /// [`PumpService::history`]): read from the summary as it stands now.
    pub fn bolus_response(&self, now: Timestamp) -> Result<summary::BolusResponse, ServiceError> {
        let s = self.summary_at(now)?;
        let unit = self
            .engine
            .as_ref()
            .map_or(crate::core::units::MassUnit::Mg, |e| e.entry().unit);
        Ok(summary::bolus_response(&s, unit))
    }

    /// The summary as it stands at `now`, for callers that checked who asks (or need not).
    pub(super) fn summary_at(&self, now: Timestamp) -> Result<Summary, ServiceError> {
        let engine = self
            .engine
            .as_ref()
            .ok_or_else(|| ServiceError::WrongState(tr!("no trial").to_owned()))?;
        let journal = self.trial_records()?;
        let ended = summary::ended_at(&journal).unwrap_or(now);
        Ok(summary::summarise(&summary::Inputs {
            trial: engine.trial(),
            program: engine.program(),
            journal: &journal,
            started: engine.started_at(),
            ended,
            steps_per_ml: self.cfg.mechanism.steps_per_ml,
            loaded_ml: engine.program().reservoir.as_ml_f64(),
            remaining_ml: engine.reservoir_remaining().as_ml_f64(),
            simulated: self.simulated,
            started_wall: self.started_wall.as_deref(),
            protocol: &self.protocol,
            library: &self.library,
            unit: engine.entry().unit,
            outcome: engine.entry().outcome,
        }))
    }

    /// A clinician confirms the implant's starting dose, once the trial has ended: `dose`
    /// empty takes the worksheet's proposal (refused when there is none, saying why), otherwise
    /// the dose entered ("0.4 mg/day"). It is checked against the implant route's library
    /// limits and starting range: a hard finding is refused; a dose that is not the proposal,
    /// or a soft finding, needs a written `reason`. Returns the dose per day and the implant's
    /// mL per day, in words.
    pub fn confirm_implant(
        &mut self,
        token: &str,
        dose: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<(String, String), ServiceError> {
        use crate::core::implant::{self, ConfirmError};
        let caller = self.require(token, now, &[UserRole::Clinician])?;
        let summary = self.summary(token, now)?;
        let engine = self
            .engine
            .as_ref()
            .ok_or_else(|| ServiceError::WrongState(tr!("no trial").to_owned()))?;
        let program = engine.program().clone();
        let status = engine.trial().opioid_status;
        let unit = engine.entry().unit;
        let ended = engine.state() == State::Ended;
        let rules = self.protocol.implant_rules();
        let fill = rules.fill(&program.drug, program.concentration);
        let entry = summary::implant_entry(&self.library, &program.drug, rules.route, fill);
        let entered = if dose.trim().is_empty() {
            None
        } else {
            Some(
                crate::core::units::parse_field::<AmountRate>("dose", dose)
                    .map_err(|e| ServiceError::InvalidInput(e.to_string()))?,
            )
        };
        let ws = &summary.implant.worksheet;
        let confirmed =
            implant::confirm(ws, entry, status, ended, entered, reason).map_err(|e| match e {
                ConfirmError::NotEnded => ServiceError::WrongState(e.to_string()),
                ConfirmError::Refused(_) => ServiceError::LimitExceeded(e.to_string()),
                _ => ServiceError::InvalidInput(e.to_string()),
            })?;
        // The trial log's copy, in English: the findings, and the rule the proposal came from.
        let (confirmed, rule_text) = in_english(|| {
            let logged = self.summary_at(now).ok().and_then(|summary| {
                let ws = &summary.implant.worksheet;
                let entry = summary::implant_entry(&self.library, &program.drug, rules.route, fill);
                let logged = implant::confirm(ws, entry, status, ended, entered, reason).ok()?;
                let rule_text = ws
                    .rule
                    .as_ref()
                    .filter(|_| Some(logged.per_day) == logged.proposed)
                    .map(|a| format!("{} ({})", a.rule.describe(unit), a.source));
                Some((logged, rule_text))
            });
            // The same check of the same figures: it cannot fail in English alone.
            logged.unwrap_or_else(|| {
                let rule_text = ws
                    .rule
                    .as_ref()
                    .filter(|_| Some(confirmed.per_day) == confirmed.proposed)
                    .map(|a| format!("{} ({})", a.rule.describe(unit), a.source));
                (confirmed, rule_text)
            })
        });
        let words = (
            confirmed.per_day.per_day_in(unit).to_string(),
            fill.volume_rate(confirmed.per_day).to_string(),
        );
        let name = caller.name.clone();
        self.engine_mut()?.record_implant_plan(
            now,
            crate::journal::ImplantPlan {
                per_day: confirmed.per_day,
                concentration: fill,
                route: rules.route,
                rule: rule_text,
                proposed: confirmed.proposed,
                reason: confirmed.reason,
                findings: confirmed.findings,
            },
            &name,
        )?;
        self.audit(
            &caller,
            &format!("confirm the implant's starting dose {}", words.0),
            now,
        );
        // The summary is final now: to the site's FHIR servers, if it names any (or at the
        // outbox's next check, should its record not be on the card yet).
        self.queue_confirmed_summary(now);
        Ok(words)
    }

    /// The export screen's worksheet lines, whether the site has a rule, and whether a clinician
    /// confirmed the starting dose.
    pub fn export_preview(
        &mut self,
        token: &str,
        now: Timestamp,
    ) -> Result<(Vec<String>, bool, bool), ServiceError> {
        self.require(token, now, &[UserRole::Clinician])?;
        let summary = self.summary(token, now)?;
        let unit = self
            .engine
            .as_ref()
            .map_or(crate::core::units::MassUnit::Mg, |e| e.entry().unit);
        Ok(crate::report::export::preview(&summary, unit))
    }

    /// The export's files, once a clinician has confirmed the implant's starting dose, and the
    /// name of the new folder they go to (named by patient, the trial's first day and now).
    pub fn export_files(
        &mut self,
        token: &str,
        formats: &[crate::report::export::Format],
        paper: crate::report::export::Paper,
        now: Timestamp,
    ) -> Result<(String, Vec<crate::report::export::ExportFile>), ServiceError> {
        self.require(token, now, &[UserRole::Clinician])?;
        let summary = self.summary(token, now)?;
        if !summary.implant.confirmed {
            return Err(ServiceError::WrongState(
                "confirm the implant's starting dose before exporting".to_owned(),
            ));
        }
        // The device messages and the FHIR Bundle are named by the site's `[integration]`; a
        // format the site cannot make is refused naming what the profile lacks.
        let files =
            self.trial_files(&summary, formats, paper, self.cfg.integration.as_ref(), now)?;
        let folder = crate::report::export::folder_name(&summary, self.wall_ms(now));
        Ok((folder, files))
    }

    /// The formats the Export screen writes on this pump: PDF, JSON and CSV, and the FHIR Bundle
    /// when the site's `[integration]` names its patients' identifier system
    /// ([`crate::report::export::Format::offered`]).
    pub fn export_formats(&self) -> Vec<crate::report::export::Format> {
        crate::report::export::Format::offered(self.cfg.integration.as_ref())
    }

    /// The trial in hand's export files of `formats`, from `summary` (the pump's names for its
    /// device messages and Bundle from `integration`): the screen's export and the Bundle for
    /// the FHIR servers make theirs here.
    pub(super) fn trial_files(
        &self,
        summary: &Summary,
        formats: &[crate::report::export::Format],
        paper: crate::report::export::Paper,
        integration: Option<&crate::input::hardware::IntegrationConfig>,
        now: Timestamp,
    ) -> Result<Vec<crate::report::export::ExportFile>, ServiceError> {
        let seal = self.log_seal()?;
        let engine = self
            .engine
            .as_ref()
            .ok_or_else(|| ServiceError::WrongState(tr!("no trial").to_owned()))?;
        let journal = self.trial_records()?;
        crate::report::export::build(
            &crate::report::export::Source {
                summary,
                journal: &journal,
                started: engine.started_at(),
                started_wall: self.started_wall.as_deref(),
                unit: engine.entry().unit,
                log: seal.as_ref(),
                program: engine.program(),
                integration,
                made_ms: self.wall_ms(now),
            },
            formats,
            paper,
        )
        .map_err(|e| {
            use crate::report::export::ExportError;
            match e {
                // What was asked for, or what the site's profile lacks for it.
                ExportError::Input(_)
                | ExportError::NoIntegration
                | ExportError::NoPatientSystem => ServiceError::InvalidInput(e.to_string()),
                _ => ServiceError::Internal(e.to_string()),
            }
        })
    }

    /// `now` by the wall clock (milliseconds since 1970): the pump's own wall clock; without
    /// one, the trial's start by the wall clock plus the time since; without that, the virtual
    /// clock (which starts at 2000-01-01).
    pub(super) fn wall_ms(&self, now: Timestamp) -> u64 {
        if let Some(w) = &self.wall {
            return w.unix_ms();
        }
        match self.engine.as_ref() {
            Some(e) => self.wall_ms_since(e.started_at(), self.started_wall.as_deref(), now),
            None => crate::time::Y2000_UNIX_MS.saturating_add(now.ms()),
        }
    }

    /// `now` by the wall clock for a trial that started at `started` on the pump's clock and
    /// at `started_wall` by the wall clock: the trial's start by the wall clock and the time
    /// since, or the pump's wall clock when it has one and reads later (a clock not yet set by
    /// the time server reads earlier); without either, the virtual clock from 2000-01-01.
    pub(super) fn wall_ms_since(
        &self,
        started: Timestamp,
        started_wall: Option<&str>,
        now: Timestamp,
    ) -> u64 {
        let by_trial = started_wall
            .and_then(crate::time::parse_rfc3339)
            .map(|wall| wall.saturating_add(now.since(started).ms()));
        match (self.wall.as_ref().map(|w| w.unix_ms()), by_trial) {
            (Some(clock), Some(by_trial)) => clock.max(by_trial),
            (Some(clock), None) => clock,
            (None, Some(by_trial)) => by_trial,
            (None, None) => crate::time::Y2000_UNIX_MS.saturating_add(now.ms()),
        }
    }

    /// Records that the export's files were written to `destination`.
    pub fn record_export(
        &mut self,
        token: &str,
        destination: &str,
        files: &[crate::report::export::ExportFile],
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Clinician])?;
        let list = files
            .iter()
            .map(|f| (f.name.clone(), f.sha256.clone()))
            .collect();
        self.engine_mut()?
            .record_export(now, destination, list, &caller.name);
        Ok(())
    }

    /// Dose and pain since the start, for the clinician's chart: buckets of whole hours, at most
    /// 48 of them.
    pub fn history(&self, now: Timestamp) -> Result<summary::History, ServiceError> {
        let engine = self
            .engine
            .as_ref()
            .ok_or_else(|| ServiceError::WrongState(tr!("no trial").to_owned()))?;
        let started = engine.started_at();
        let hours = now
            .since(started)
            .ms()
            .div_ceil(Duration::from_hours(48).ms())
            .max(1);
        Ok(summary::history(
            &self.trial_records()?,
            started,
            now.max(started),
            Duration::from_hours(hours),
        ))
    }
}
