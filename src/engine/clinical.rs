//! What is recorded about the patient and acted on: the pre-trial checklist, the diary and
//! scores, sedation and vitals with the schedule of checks (docs/sedation.md), catheter site
//! checks (docs/catheter-and-diary.md), and the decision and plans at the end of the trial.

use super::{Engine, EngineError};
use crate::core::checklist::{Checklist, ChecklistItem};
use crate::core::diary::Ashworth;
use crate::core::dose::Source;
use crate::core::observation::BodyTemp;
use crate::core::site::{SiteClock, SiteFinding, SiteRule};
use crate::core::supervisor::{AlarmKind, Priority, State};
use crate::core::units::{AmountRate, Timestamp};
use crate::hw::PumpHardware;
use crate::journal::{
    ImplantPlan, Outcome, Record, Role, Severity, SideEffect, Wish, checklist_of,
};

impl<H: PumpHardware> Engine<H> {
    // ---- the pre-trial checklist -----------------------------------------------------------

    /// The trial's pre-trial checklist as it stands, rebuilt from the journal (so the same after
    /// a restart); None when the trial has none.
    pub fn checklist(&self) -> Option<Checklist> {
        checklist_of(&self.journal)
    }

    /// Why the checklist cannot change now: it is missing, or delivery has started.
    fn open_checklist(&self) -> Result<Checklist, EngineError> {
        let list = self.checklist().ok_or_else(|| {
            EngineError::Refused("this trial has no pre-trial checklist".to_owned())
        })?;
        if self.started || self.state == State::Ended {
            return Err(EngineError::Refused(
                "delivery has started: the pre-trial checklist is closed".to_owned(),
            ));
        }
        Ok(list)
    }

    /// Sets the pre-trial checklist that applies to this trial (before delivery starts; once).
    /// No items: nothing is asked for.
    pub fn require_checklist(
        &mut self,
        now: Timestamp,
        items: Vec<ChecklistItem>,
    ) -> Result<(), EngineError> {
        if items.is_empty() {
            return Ok(());
        }
        if self.started || self.checklist().is_some() {
            return Err(EngineError::Refused(
                "the pre-trial checklist is set when the trial is programmed, once".to_owned(),
            ));
        }
        self.observe(Record::ChecklistRequired { at: now, items });
        Ok(())
    }

    /// A nurse (or clinician) confirms item `id`. Returns false when it was confirmed already
    /// (the first confirmation stands).
    pub fn confirm_checklist_item(
        &mut self,
        now: Timestamp,
        id: &str,
        by: Role,
        name: &str,
    ) -> Result<bool, EngineError> {
        let list = self.open_checklist()?;
        if !list
            .can_confirm(id)
            .map_err(|e| EngineError::Lookup(e.to_string()))?
        {
            return Ok(false);
        }
        self.observe(Record::ChecklistConfirmed {
            at: now,
            item: id.to_owned(),
            by,
            name: name.to_owned(),
        });
        tracing::info!(item = %id, by = %name, "checklist item confirmed");
        Ok(true)
    }

    /// A clinician lets delivery start with the items open now, for the written `reason`.
    /// Returns the ids overridden.
    pub fn override_checklist(
        &mut self,
        now: Timestamp,
        reason: &str,
        name: &str,
    ) -> Result<Vec<String>, EngineError> {
        let list = self.open_checklist()?;
        list.can_override()
            .map_err(|e| EngineError::Refused(e.to_string()))?;
        let open: Vec<String> = list.open().iter().map(|i| i.id.clone()).collect();
        tracing::warn!(by = %name, open = ?open, "pre-trial checklist overridden");
        self.observe(Record::ChecklistOverridden {
            at: now,
            open: open.clone(),
            reason: reason.to_owned(),
            name: name.to_owned(),
        });
        Ok(open)
    }

    // ---- the diary and scores --------------------------------------------------------------

    /// Keeps an observation (pain, side effect, sedation, vitals): on disk before returning.
    fn observe(&mut self, record: Record) {
        let now = record.at();
        self.journal.push(record);
        self.persist(now);
    }

    pub fn record_pain(&mut self, now: Timestamp, value: u8) {
        self.observe(Record::PainScore { at: now, value });
        self.track_records();
    }

    /// The patient's answer to the diary's function question.
    pub fn record_function(&mut self, now: Timestamp, question: &str, answer: &str, level: u8) {
        self.observe(Record::FunctionAnswer {
            at: now,
            question: question.to_owned(),
            answer: answer.to_owned(),
            level,
        });
    }

    /// The patient's global impression of change (1–7; the caller checks the range).
    pub fn record_pgic(&mut self, now: Timestamp, value: u8) {
        self.observe(Record::Pgic { at: now, value });
    }

    /// A spasticity score (Modified Ashworth Scale) and the muscles assessed.
    pub fn record_spasticity(
        &mut self,
        now: Timestamp,
        score: Ashworth,
        muscles: &str,
        by: Role,
        name: &str,
    ) {
        self.observe(Record::Spasticity {
            at: now,
            score,
            muscles: muscles.to_owned(),
            by,
            name: name.to_owned(),
        });
    }

    pub fn record_side_effect(&mut self, now: Timestamp, effect: SideEffect, severity: Severity) {
        self.observe(Record::SideEffect {
            at: now,
            effect,
            severity,
        });
    }

    /// When the patient last recorded a pain score, if ever.
    pub fn last_pain_at(&self) -> Option<Timestamp> {
        self.last_pain
    }

    /// Whether the patient has given the global impression of change.
    pub fn pgic_recorded(&self) -> bool {
        self.journal
            .iter()
            .rev()
            .any(|r| matches!(r, Record::Pgic { .. }))
    }

    // ---- sedation and vitals ---------------------------------------------------------------

    /// Records a sedation score (POSS 1–4). One at or above the library's hold stops delivery
    /// and patient boluses until a clinician reviews ([`Engine::review_sedation`]).
    pub fn record_sedation(&mut self, now: Timestamp, poss: u8) {
        self.journal.push(Record::Sedation { at: now, poss });
        if let Some(why) = self.sedation.breach(Some(poss), None) {
            self.hold_for_sedation(now, &why);
        }
        self.watch_checks(now);
        self.persist(now);
    }

    /// Records vital signs. A respiratory rate below the library's hold stops delivery and
    /// patient boluses until a clinician reviews ([`Engine::review_sedation`]).
    pub fn record_vitals(
        &mut self,
        now: Timestamp,
        respiratory_rate: Option<u16>,
        heart_rate: Option<u16>,
        spo2: Option<u8>,
        temperature: Option<BodyTemp>,
    ) {
        self.journal.push(Record::Vitals {
            at: now,
            respiratory_rate,
            heart_rate,
            spo2,
            temperature,
        });
        if let Some(why) = self.sedation.breach(None, respiratory_rate) {
            self.hold_for_sedation(now, &why);
        }
        if let Some(why) = self.site_rule().signs(temperature, &[]) {
            self.suspect_infection(now, &why);
        }
        self.watch_checks(now);
        self.persist(now);
    }

    /// Whether the sedation interlock holds delivery and patient boluses: a sedation alarm that
    /// no clinician has reviewed yet (its cause stands until then, whatever the nurse
    /// acknowledges). Rebuilt from the log after a restart, as every alarm is.
    pub fn sedation_hold(&self) -> bool {
        self.alarms
            .iter()
            .any(|a| a.kind == AlarmKind::Sedation && a.cleared_at.is_none())
    }

    /// The sedation interlock: a HIGH alarm that stops all delivery — basal, KVO (it carries
    /// drug) and any bolus — whatever the drug, and holds patient boluses.
    fn hold_for_sedation(&mut self, now: Timestamp, why: &str) {
        if self.state == State::Ended {
            return;
        }
        tracing::warn!(%why, "sedation interlock: delivery stopped until a clinician reviews");
        if let Err(e) = self.raise(now, AlarmKind::Sedation, None, None) {
            tracing::error!(error = %e, "sedation interlock");
        }
    }

    /// A clinician reviewed the patient after the sedation interlock: the review and its note go
    /// to the log, the hold is lifted, and a nurse may resume. Refused when nothing is held.
    pub fn review_sedation(
        &mut self,
        now: Timestamp,
        note: &str,
        name: &str,
    ) -> Result<(), EngineError> {
        if !self.sedation_hold() {
            return Err(self.refuse(
                now,
                "sedation review".to_owned(),
                "no sedation or breathing alarm is holding delivery".to_owned(),
                Role::Clinician,
            ));
        }
        self.journal.push(Record::SedationReviewed {
            at: now,
            note: note.to_owned(),
            name: name.to_owned(),
        });
        self.clear(now, AlarmKind::Sedation);
        tracing::info!(by = %name, "sedation hold reviewed");
        self.persist(now);
        Ok(())
    }

    /// Two checks in a row missed by `now`: patient boluses wait for a check.
    pub(super) fn checks_overdue_twice(&self, now: Timestamp) -> bool {
        self.checks.overdue(now).is_some_and(|o| o.escalated(now))
    }

    /// Shows the check schedule what was recorded since it last looked: the start of delivery,
    /// boluses and dose increases (checks close again), sedation scores and respiratory rates.
    /// The same path runs live and when the journal is replayed after a restart.
    pub(super) fn track_records(&mut self) {
        while let Some(r) = self.journal.get(self.tracked) {
            match *r {
                Record::StateChanged {
                    at,
                    to: State::Running,
                    ..
                } => {
                    self.checks.delivery_started(at);
                    if let Some((_, clock)) = &mut self.site {
                        clock.delivery_started(at);
                    }
                }
                Record::BolusEnded {
                    at,
                    source: Source::ScheduledBolus | Source::ClinicianBolus,
                    ..
                } => self.checks.close_checks(at),
                Record::RateChanged { at, old, new, .. } if new > old => {
                    self.checks.close_checks(at);
                }
                Record::Sedation { at, .. } => self.checks.sedation(at),
                Record::SiteChecksRequired { rule, .. } => {
                    self.site = Some((rule, SiteClock::new(rule)));
                }
                Record::PainScore { at, .. } => self.last_pain = Some(at),
                Record::SiteCheck { at, .. } => {
                    if let Some((_, clock)) = &mut self.site {
                        clock.checked(at);
                    }
                }
                Record::Vitals {
                    at,
                    respiratory_rate: Some(_),
                    ..
                } => self.checks.resp_rate(at),
                _ => {}
            }
            self.tracked += 1;
        }
    }

    /// Missed checks: MEDIUM when one is missed, HIGH when the next is missed too (patient
    /// boluses then wait for a check). Recording the check clears the alarm and acknowledges it
    /// — it was what the alarm asked for.
    pub(super) fn watch_checks(&mut self, now: Timestamp) {
        if self.state == State::Ended {
            return;
        }
        self.track_records();
        let kind = AlarmKind::ObservationMissed;
        match self.checks.overdue(now) {
            Some(overdue) => {
                let _ = self.raise(now, kind, None, None);
                if overdue.escalated(now)
                    && let Some(a) = self
                        .alarms
                        .iter_mut()
                        .find(|a| a.kind == kind && a.cleared_at.is_none())
                    && a.priority < Priority::High
                {
                    a.priority = Priority::High;
                    tracing::warn!(due = %overdue.due, "two checks missed: escalated");
                    self.journal.push(Record::AlarmEscalated {
                        at: now,
                        kind,
                        priority: Priority::High,
                    });
                }
            }
            None => {
                if self
                    .alarms
                    .iter()
                    .any(|a| a.kind == kind && a.cleared_at.is_none())
                {
                    self.clear(now, kind);
                    self.acknowledge_kind(now, kind);
                }
            }
        }
    }

    // ---- site checks -----------------------------------------------------------------------

    /// Makes catheter site checks part of this trial (the site protocol's rule): recorded, so a
    /// restart keeps the schedule. Called once, when the trial is programmed.
    pub fn require_site_checks(
        &mut self,
        now: Timestamp,
        rule: SiteRule,
    ) -> Result<(), EngineError> {
        rule.check().map_err(EngineError::Refused)?;
        if self.site.is_some() {
            return Err(EngineError::Refused(
                "site checks are already part of this trial".to_owned(),
            ));
        }
        self.journal
            .push(Record::SiteChecksRequired { at: now, rule });
        self.track_records();
        self.persist(now);
        Ok(())
    }

    /// The rule for site checks in force: the protocol's, or the default when this trial has
    /// none (a fever is a fever whether or not checks were scheduled).
    pub fn site_rule(&self) -> SiteRule {
        self.site.map_or(SiteRule::DEFAULT, |(rule, _)| rule)
    }

    /// When the next site check is due, if checks are scheduled.
    pub fn site_check_due(&self) -> Option<Timestamp> {
        self.site.and_then(|(_, clock)| clock.next_due())
    }

    /// A nurse records a catheter site check. Fever or any finding raises the MEDIUM alarm
    /// "possible infection" (delivery goes on); a clean check lifts it. Either way the check is
    /// done: a missed-check alarm clears and the next one is due an interval later.
    pub fn record_site_check(
        &mut self,
        now: Timestamp,
        temperature: BodyTemp,
        findings: &[SiteFinding],
        by: Role,
        name: &str,
    ) {
        let mut findings = findings.to_vec();
        findings.sort();
        findings.dedup();
        self.journal.push(Record::SiteCheck {
            at: now,
            temperature,
            findings: findings.clone(),
            by,
            name: name.to_owned(),
        });
        match self.site_rule().signs(Some(temperature), &findings) {
            Some(why) => self.suspect_infection(now, &why),
            None => {
                if self.has_uncleared(AlarmKind::PossibleInfection) {
                    tracing::info!("clean site check: possible infection cleared");
                    self.clear(now, AlarmKind::PossibleInfection);
                }
            }
        }
        self.watch_site(now);
        self.persist(now);
    }

    fn suspect_infection(&mut self, now: Timestamp, why: &str) {
        if self.state == State::Ended {
            return;
        }
        tracing::warn!(%why, "possible infection: the clinician must be told");
        if let Err(e) = self.raise(now, AlarmKind::PossibleInfection, None, None) {
            tracing::error!(error = %e, "possible infection");
        }
    }

    /// A missed site check: LOW until one is recorded, which clears and acknowledges it (it was
    /// what the alarm asked for).
    pub(super) fn watch_site(&mut self, now: Timestamp) {
        if self.state == State::Ended {
            return;
        }
        self.track_records();
        let kind = AlarmKind::SiteCheckMissed;
        if self
            .site
            .is_some_and(|(_, clock)| clock.overdue(now).is_some())
        {
            let _ = self.raise(now, kind, None, None);
        } else if self.has_uncleared(kind) {
            self.clear(now, kind);
            self.acknowledge_kind(now, kind);
        }
    }

    // ---- the decision and plans ------------------------------------------------------------

    /// Records the clinician's assessment of the trial.
    pub fn record_assessment(&mut self, now: Timestamp, outcome: Outcome, note: &str, name: &str) {
        self.record_decision(now, outcome, note, None, None, name);
    }

    /// Records the clinician's decision at the end of the trial: the outcome and its reasons,
    /// the patient's wish to proceed and the implant planned (its starting dose is the one
    /// confirmed on the worksheet). The latest decision is the one that stands.
    pub fn record_decision(
        &mut self,
        now: Timestamp,
        outcome: Outcome,
        reasons: &str,
        wish: Option<Wish>,
        implant: Option<&str>,
        name: &str,
    ) {
        self.observe(Record::Assessment {
            at: now,
            outcome,
            note: reasons.to_owned(),
            name: name.to_owned(),
            wish,
            implant: implant.map(str::to_owned),
        });
    }

    /// Records that the catheter was taken out, by whom, with a note (e.g. "tip intact").
    /// Refused before the trial ended (delivery could still run into it) and a second time.
    pub fn record_catheter_removal(
        &mut self,
        now: Timestamp,
        by: Role,
        name: &str,
        note: &str,
    ) -> Result<(), EngineError> {
        if self.state != State::Ended {
            return Err(EngineError::Refused(
                "end the trial before recording the catheter's removal: delivery is still set up"
                    .to_owned(),
            ));
        }
        if let Some(Record::CatheterRemoved { name: who, .. }) = self
            .journal
            .iter()
            .find(|r| matches!(r, Record::CatheterRemoved { .. }))
        {
            return Err(EngineError::Refused(format!(
                "the catheter's removal is already recorded (by {who})"
            )));
        }
        self.observe(Record::CatheterRemoved {
            at: now,
            by,
            name: name.to_owned(),
            note: note.to_owned(),
        });
        tracing::info!(by = %name, "catheter removed");
        Ok(())
    }

    /// Records the implant's starting dose a clinician confirmed: only once the trial has
    /// ended (the checks against the implant route's limits are made before, in
    /// `core::implant::confirm`).
    pub fn record_implant_plan(
        &mut self,
        now: Timestamp,
        plan: ImplantPlan,
        name: &str,
    ) -> Result<(), EngineError> {
        if self.state != State::Ended {
            return Err(EngineError::Refused(
                "the trial has not ended: the implant's starting dose is confirmed after the trial ends"
                    .to_owned(),
            ));
        }
        self.observe(Record::ImplantPlan {
            at: now,
            per_day: plan.per_day,
            concentration: plan.concentration,
            rule: plan.rule,
            name: name.to_owned(),
            route: Some(plan.route),
            proposed: plan.proposed,
            reason: plan.reason,
            findings: plan.findings,
        });
        Ok(())
    }

    /// Records the patient's systemic opioids (oral morphine equivalents per day), as a nurse
    /// or clinician reported them.
    pub fn record_systemic_opioids(
        &mut self,
        now: Timestamp,
        ome_per_day: AmountRate,
        by: Role,
        name: &str,
    ) -> Result<(), EngineError> {
        self.observe(Record::SystemicOpioids {
            at: now,
            ome_per_day,
            by,
            name: name.to_owned(),
        });
        Ok(())
    }

    /// Records an export of the summary.
    pub fn record_export(
        &mut self,
        now: Timestamp,
        destination: &str,
        files: Vec<(String, String)>,
        name: &str,
    ) {
        self.observe(Record::Exported {
            at: now,
            destination: destination.to_owned(),
            files,
            name: name.to_owned(),
        });
    }

    /// Records a logged-in user's call, with their role and name.
    pub fn record_action(&mut self, now: Timestamp, action: &str, by: Role, name: &str) {
        self.observe(Record::UserAction {
            at: now,
            action: action.to_owned(),
            by,
            name: name.to_owned(),
        });
    }

    /// Keeps the power-on self-test's result (and the configuration's checksums) in the log.
    pub fn record_self_test(&mut self, now: Timestamp, test: crate::journal::SelfTest) {
        self.observe(Record::SelfTest { at: now, test });
    }
}
