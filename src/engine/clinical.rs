//! What is recorded about the patient and acted on: the pre-trial checklist, the diary and
//! scores, sedation and vitals with the schedule of checks (docs/sedation.md), catheter site
//! checks (docs/catheter-and-diary.md), and the decision and plans at the end of the trial.

use super::{Engine, EngineError, Said, in_english};
use crate::core::checklist::{Checklist, ChecklistItem};
use crate::core::diary::Ashworth;
use crate::core::dose::Source;
use crate::core::observation::BodyTemp;
use crate::core::site::{SiteClock, SiteFinding, SiteRule};
use crate::core::supervisor::{AlarmKind, Priority, State};
use crate::core::tr;
use crate::core::units::{AmountRate, Duration, Timestamp};
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
            EngineError::Refused(tr!("this trial has no pre-trial checklist").to_owned())
        })?;
        if self.started || self.state == State::Ended {
            return Err(EngineError::Refused(
                tr!("delivery has started: the pre-trial checklist is closed").to_owned(),
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
                tr!("the pre-trial checklist is set when the trial is programmed, once").to_owned(),
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

    /// The patient left the function question for now ("Not now").
    pub fn skip_function(&mut self, now: Timestamp, question: &str) {
        self.observe(Record::FunctionSkipped {
            at: now,
            question: question.to_owned(),
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
    /// Whether the catheter's removal is recorded (it is kept in memory: not a bulk record).
    pub fn catheter_removed(&self) -> bool {
        self.journal
            .iter()
            .rev()
            .any(|r| matches!(r, Record::CatheterRemoved { .. }))
    }

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
        // Why, for tracing's log (in English).
        if let Some(why) = in_english(|| self.sedation.breach(Some(poss), None)) {
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
        // Why, for tracing's log (in English).
        if let Some(why) = in_english(|| self.sedation.breach(None, respiratory_rate)) {
            self.hold_for_sedation(now, &why);
        }
        if let Some(why) = in_english(|| self.site_rule().signs(temperature, &[])) {
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
    pub(super) fn hold_for_sedation(&mut self, now: Timestamp, why: &str) {
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
                Said::new(|| tr!("sedation review")),
                Said::new(|| tr!("no sedation or breathing alarm is holding delivery")),
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

    /// When the next sedation and breathing check is due, if the trial has a schedule.
    pub fn check_due(&self) -> Option<Timestamp> {
        self.checks.next_due()
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
                Record::ProgramChanged {
                    at,
                    increases: true,
                    ..
                } => self.checks.close_checks(at),
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
                    self.acknowledge_kind(now, kind, Role::Nurse);
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
                tr!("site checks are already part of this trial").to_owned(),
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
        match in_english(|| self.site_rule().signs(Some(temperature), &findings)) {
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
            self.acknowledge_kind(now, kind, Role::Nurse);
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
                tr!("end the trial before recording the catheter's removal: delivery is still set up")
                    .to_owned(),
            ));
        }
        if let Some(Record::CatheterRemoved { name: who, .. }) = self
            .journal
            .iter()
            .find(|r| matches!(r, Record::CatheterRemoved { .. }))
        {
            return Err(EngineError::Refused(tr!(
                "the catheter's removal is already recorded (by {who})",
                who
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
                tr!("the trial has not ended: the implant's starting dose is confirmed after the trial ends")
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

    /// A refused login or second check (the user and the time, never the PIN): a lockout
    /// also raises the LOW alarm `login_locked`, which the staff screen shows.
    pub fn record_login_refused(&mut self, record: Record) {
        let at = record.at();
        let locked = matches!(record, Record::LoginLocked { .. });
        self.observe(record);
        if locked && let Err(e) = self.raise(at, AlarmKind::LoginLocked, None, None) {
            tracing::error!(error = %e, "login lock alarm");
        }
    }

    /// Keeps the power-on self-test's result (and the configuration's checksums) in the log.
    pub fn record_self_test(&mut self, now: Timestamp, test: crate::journal::SelfTest) {
        self.observe(Record::SelfTest { at: now, test });
    }

    /// Keeps the trial log's budget for this trial in the log (`store::budget::LogBudget`),
    /// with the log's size it counts from.
    pub fn record_log_budget(
        &mut self,
        now: Timestamp,
        duration: Duration,
        (rows, bytes): (u64, u64),
        base: u64,
    ) {
        self.observe(Record::LogBudget {
            at: now,
            duration,
            rows,
            bytes,
            base,
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::core::checklist::ChecklistItem;
    use crate::core::dose::{Denial, PcaDecision};
    use crate::core::observation::BodyTemp;
    use crate::core::site::SiteFinding;
    use crate::core::supervisor::{AlarmKind, Priority, State};
    use crate::core::units::{Timestamp, Volume};
    use crate::engine::testing::{MORPHINE, at, count, programmed, run_to, running};
    use crate::engine::{Engine, EngineError};
    use crate::hw::PumpHardware;
    use crate::journal::{Outcome, Record, Role};
    use crate::sim::SimPump;

    fn celsius(c: f64) -> BodyTemp {
        BodyTemp::from_celsius(c).unwrap()
    }

    fn alarm(e: &Engine<SimPump>, kind: AlarmKind) -> crate::core::supervisor::Alarm {
        e.alarms()
            .iter()
            .rev()
            .find(|a| a.kind == kind)
            .unwrap_or_else(|| panic!("no {kind:?} alarm"))
            .clone()
    }

    #[test]
    fn a_poss_of_3_holds_delivery_and_presses_until_a_clinician_reviews() {
        let mut e = running(MORPHINE);
        run_to(&mut e, at("1h"));
        // POSS 2 is below the hold.
        e.record_sedation(at("1h"), 2);
        assert!(!e.sedation_hold());
        assert_eq!(e.state(), State::Running);
        e.record_sedation(at("1h 1min"), 3);
        assert!(e.sedation_hold());
        assert_eq!(e.state(), State::Alarm);
        assert_eq!(e.high_alarm(), Some(AlarmKind::Sedation));
        assert_eq!(
            e.hardware_mut().motor_enabled_readback().unwrap(),
            Some(false)
        );
        assert_eq!(
            e.request_pca(at("1h 2min")),
            PcaDecision::Denied {
                denial: Denial::SedationHold,
                available_at: None,
            }
        );
        // Acknowledging the tone does not lift the hold, nor may the nurse resume.
        e.acknowledge(at("1h 3min"));
        assert!(e.sedation_hold());
        assert!(e.resume(at("1h 3min")).is_err());
        e.review_sedation(at("1h 10min"), "rousable, RR 14", "Dr Ruiz")
            .unwrap();
        assert!(!e.sedation_hold());
        assert_eq!(
            count(
                &e,
                |r| matches!(r, Record::SedationReviewed { name, .. } if name == "Dr Ruiz")
            ),
            1
        );
        e.resume(at("1h 11min")).unwrap();
        assert_eq!(e.state(), State::Running);
        assert!(matches!(
            e.request_pca(at("1h 12min")),
            PcaDecision::Granted { .. }
        ));
    }

    #[test]
    fn a_review_with_nothing_held_is_refused_and_logged() {
        let mut e = running(MORPHINE);
        let err = e.review_sedation(at("1h"), "fine", "Dr Ruiz").unwrap_err();
        assert!(matches!(err, EngineError::Refused(_)));
        assert_eq!(
            count(&e, |r| matches!(
                r,
                Record::Refused { what, by: Role::Clinician, .. } if what == "sedation review"
            )),
            1
        );
    }

    #[test]
    fn a_site_check_with_fever_raises_possible_infection_and_only_a_clean_one_lifts_it() {
        let mut e = running(MORPHINE);
        run_to(&mut e, at("1h"));
        e.record_site_check(at("1h"), celsius(38.4), &[], Role::Nurse, "N. Okafor");
        let infection = alarm(&e, AlarmKind::PossibleInfection);
        assert_eq!(infection.priority, Priority::Medium);
        assert_eq!(infection.raised_at, at("1h"));
        // Delivery goes on.
        assert_eq!(e.state(), State::Running);
        let given = e.delivered_total();
        run_to(&mut e, at("2h"));
        assert!(e.delivered_total() > given);
        // Acknowledging the tone is not enough: the clinician must hear of it.
        e.acknowledge(at("2h"));
        assert!(e.has_uncleared(AlarmKind::PossibleInfection));
        // A finding without fever is a sign too; a clean check lifts it.
        e.record_site_check(
            at("2h"),
            celsius(37.0),
            &[SiteFinding::Redness],
            Role::Nurse,
            "N. Okafor",
        );
        assert!(e.has_uncleared(AlarmKind::PossibleInfection));
        e.record_site_check(at("3h"), celsius(36.8), &[], Role::Nurse, "N. Okafor");
        assert_eq!(
            alarm(&e, AlarmKind::PossibleInfection).cleared_at,
            Some(at("3h"))
        );
        assert_eq!(count(&e, |r| matches!(r, Record::SiteCheck { .. })), 3);
    }

    #[test]
    fn missed_checks_raise_an_alarm_that_escalates_and_then_holds_presses_until_a_check() {
        let text = format!(
            "{MORPHINE}observations = {{ every = \"1h\", for = \"24h\", then_every = \"4h\" }}\n"
        );
        let mut e = running(&text);
        run_to(&mut e, at("1h 30min"));
        assert_eq!(
            alarm(&e, AlarmKind::ObservationMissed).priority,
            Priority::Medium
        );
        run_to(&mut e, at("2h 30min"));
        assert_eq!(
            alarm(&e, AlarmKind::ObservationMissed).priority,
            Priority::High
        );
        assert_eq!(
            count(&e, |r| matches!(
                r,
                Record::AlarmEscalated {
                    kind: AlarmKind::ObservationMissed,
                    priority: Priority::High,
                    ..
                }
            )),
            1
        );
        // The basal goes on; the patient's presses wait for a check.
        assert_eq!(e.state(), State::Running);
        assert_eq!(
            e.request_pca(at("2h 30min")),
            PcaDecision::Denied {
                denial: Denial::ObservationOverdue,
                available_at: None,
            }
        );
        // A check is a POSS and a respiratory rate: together they clear the alarm.
        e.record_sedation(at("2h 31min"), 1);
        e.record_vitals(at("2h 31min"), Some(14), Some(72), Some(97), None);
        let missed = alarm(&e, AlarmKind::ObservationMissed);
        assert_eq!(missed.cleared_at, Some(at("2h 31min")));
        assert!(!missed.is_active());
        assert!(matches!(
            e.request_pca(at("2h 32min")),
            PcaDecision::Granted { .. }
        ));
    }

    #[test]
    fn the_start_waits_for_the_checklist_or_a_clinicians_override() {
        let t0 = Timestamp::ORIGIN;
        let mut e = programmed(MORPHINE);
        let item = |id: &str| ChecklistItem {
            id: id.to_owned(),
            text: format!("{id} done."),
            kinds: Vec::new(),
            outpatient_only: false,
        };
        e.require_checklist(t0, vec![item("consent"), item("clearance")])
            .unwrap();
        e.verify(t0).unwrap();
        e.prime(t0, Volume::ZERO).unwrap();
        let err = e.start(t0).unwrap_err();
        assert!(err.to_string().contains("clearance"), "{err}");
        assert!(
            e.confirm_checklist_item(t0, "consent", Role::Nurse, "N")
                .unwrap()
        );
        // The first confirmation stands.
        assert!(
            !e.confirm_checklist_item(t0, "consent", Role::Nurse, "M")
                .unwrap()
        );
        assert!(e.start(t0).is_err());
        let overridden = e
            .override_checklist(t0, "clearance faxed, on its way", "Dr Ruiz")
            .unwrap();
        assert_eq!(overridden, ["clearance"]);
        e.start(t0).unwrap();
        assert_eq!(e.state(), State::Running);
        // Once delivery ran, the checklist is closed.
        assert!(
            e.confirm_checklist_item(t0, "clearance", Role::Nurse, "N")
                .is_err()
        );
        assert!(e.require_checklist(t0, vec![item("late")]).is_err());
    }

    #[test]
    fn the_catheters_removal_waits_for_the_end_and_is_recorded_once() {
        let mut e = running(MORPHINE);
        run_to(&mut e, at("1h"));
        assert!(
            e.record_catheter_removal(at("1h"), Role::Clinician, "Dr Ruiz", "tip intact")
                .is_err()
        );
        e.record_assessment(at("1h"), Outcome::Success, "pain halved", "Dr Ruiz");
        e.end(at("1h")).unwrap();
        e.record_catheter_removal(at("1h 30min"), Role::Clinician, "Dr Ruiz", "tip intact")
            .unwrap();
        let again = e.record_catheter_removal(at("2h"), Role::Nurse, "N", "");
        assert!(matches!(again, Err(EngineError::Refused(m)) if m.contains("Dr Ruiz")));
        assert_eq!(
            count(&e, |r| matches!(r, Record::CatheterRemoved { .. })),
            1
        );
        assert_eq!(
            count(&e, |r| matches!(
                r,
                Record::Assessment {
                    outcome: Outcome::Success,
                    ..
                }
            )),
            1
        );
    }

    #[test]
    fn a_pain_score_is_the_diarys_last_and_goes_to_the_log() {
        let mut e = running(MORPHINE);
        assert_eq!(e.last_pain_at(), None);
        e.record_pain(at("1h"), 6);
        e.record_pain(at("3h"), 4);
        assert_eq!(e.last_pain_at(), Some(at("3h")));
        assert_eq!(
            count(&e, |r| matches!(r, Record::PainScore { value: 4, .. })),
            1
        );
        assert!(!e.pgic_recorded());
        e.record_pgic(at("3h"), 2);
        assert!(e.pgic_recorded());
    }
}
