//! Programming and running a trial: the program check, the start-trial sequence with the
//! second person and the pre-trial checklist, delivery commands (basal, boluses, pause,
//! resume, reservoir), alarms, and the control loop's tick.

use super::*;

impl PumpService {
    /// What programs are checked against (the drug library, its source and the hardware
    /// configuration), to check one outside the service lock: see [`ProgramCheck`].
    pub fn program_check(&self) -> ProgramCheck {
        ProgramCheck {
            library: self.library.clone(),
            source: self.source.clone(),
            cfg: self.cfg.clone(),
        }
    }

    /// Checks a program (the `[trial]` and `[program]` tables) against the library.
    /// The mechanism's own limits (pump rate, syringe size) are checked too, so that what
    /// passes here is what `start_trial` accepts.
    pub fn validate(&self, text: &str) -> Result<CheckReport, ServiceError> {
        Ok(self.program_check().check(text)?.report())
    }

    /// What the drug library in force offers, for the start-trial wizard: one entry per drug,
    /// route and concentration, in the library's order.
    pub fn library_choices(&self) -> Vec<LibraryChoice> {
        self.library
            .entries
            .iter()
            .map(|e| LibraryChoice {
                drug: e.drug.clone(),
                route: e.route.to_string(),
                concentration: e.concentration.in_unit(e.unit).to_string(),
                unit: e.unit.to_string(),
            })
            .collect()
    }

    /// Programs a new trial: checked against the library and the mechanism; settings outside
    /// the usual range need `confirm_soft`; a second nurse or clinician (user `verifier`)
    /// verifies with their PIN.
    pub fn start_trial(
        &mut self,
        token: &str,
        text: &str,
        confirm_soft: bool,
        verifier: (&str, &str),
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let checked = self.program_check().check(text);
        self.start_checked_trial(token, checked, confirm_soft, verifier, now)
    }

    /// [`PumpService::start_trial`] with the program parsed and checked already (outside the
    /// service lock, by [`ProgramCheck::check`] on this service's [`PumpService::program_check`]):
    /// the caller, the pump's state and everything else that can change are checked here, in the
    /// same order as `start_trial`, so that a refusal is the same whichever way it came (a
    /// program's faults are told only to a caller who may start a trial).
    pub fn start_checked_trial(
        &mut self,
        token: &str,
        checked: Result<CheckedProgram, ServiceError>,
        confirm_soft: bool,
        verifier: (&str, &str),
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        self.require_self_test()?;
        self.refuse_new_trial_after_failed_check()?;
        if self
            .engine
            .as_ref()
            .is_some_and(|e| e.state() != State::Ended)
        {
            return Err(ServiceError::WrongState(
                tr!("a trial is in progress: end it before starting another").to_owned(),
            ));
        }
        self.refuse_trial_on_a_full_card(now)?;
        let CheckedProgram {
            scenario,
            report,
            mechanism,
        } = checked?;
        if report.class == Class::Hard {
            return Err(ServiceError::LimitExceeded(first_hard(
                &report.verdict.findings,
            )));
        }
        if report.class == Class::Soft && !confirm_soft {
            let soft: Vec<String> = report
                .verdict
                .problems()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect();
            return Err(ServiceError::InvalidInput(tr!(
                "settings outside the usual range need confirmation: {findings}",
                findings = soft.join("; ")
            )));
        }
        if mechanism.is_rejected() {
            return Err(ServiceError::LimitExceeded(first_hard(&mechanism.findings)));
        }
        // Fewer sedation and breathing checks than the library's default: a clinician's
        // decision (the program gives the reason; the check above required it).
        if caller.role != UserRole::Clinician
            && report
                .verdict
                .findings
                .iter()
                .any(|f| f.field == "program.observations_reason" && f.class == Class::Soft)
        {
            return Err(ServiceError::NotAuthorised(
                tr!("this program asks for fewer sedation and breathing checks than the drug library's default: only a clinician may start it").to_owned(),
            ));
        }
        let carried = self.carried_over(&scenario, now)?;
        if let Some(Record::CarriedOver { previous_ended, .. }) = &carried
            && caller.role != UserRole::Clinician
        {
            return Err(ServiceError::NotAuthorised(tr!(
                "this patient's last trial on this pump ended {time} ago, within the longest dose window: a clinician must start the new one (its doses and any sedation hold carry over)",
                time = readable::duration(now.since(*previous_ended), Round::Up)
            )));
        }
        let verifier = self.verify(verifier.0, verifier.1, &caller, now)?;
        let hw = match self.engine.take() {
            Some(old) => {
                // A new trial on a pump that ran one: a new syringe is seated before its prime,
                // and the position model starts again with it (no false stall).
                let mut hw = old.into_hardware();
                hw.reservoir_loaded(scenario.program.reservoir);
                hw
            }
            None => self
                .hw
                .take()
                .ok_or_else(|| ServiceError::Internal(tr!("no hardware").to_owned()))?,
        };
        let role = role_of(&caller);
        let mut engine = match Engine::new(
            hw,
            &self.cfg,
            scenario.trial.clone(),
            scenario.program.clone(),
            &self.library,
            now,
            Some(role),
        ) {
            Ok(e) => e,
            Err(e) => {
                // Everything Engine::new checks was checked above, so this is a hardware
                // failure; the hardware went with it, and the daemon can only be restarted.
                tracing::error!(error = %e, "programming failed");
                return Err(ServiceError::Internal(tr!(
                    "the pump could not be programmed ({e}); restart it",
                    e
                )));
            }
        };
        let row = match self.begin_logging(&mut engine, &scenario, now) {
            Ok(row) => row,
            Err(e) => {
                // Keep the hardware for the next attempt; nothing was programmed.
                self.hw = Some(engine.into_hardware());
                return Err(e);
            }
        };
        if let Err(e) = self.require_checklist(&mut engine, &scenario, now) {
            self.hw = Some(engine.into_hardware());
            return Err(e);
        }
        if let Some(carried) = carried {
            engine.take_over(now, carried);
        }
        tracing::info!(by = %caller.name, verified_by = %verifier.name, "trial programmed and verified");
        self.signalled = 0;
        self.engine = Some(engine);
        self.outbox.in_hand = row;
        let action = format!(
            "program the trial, verified by {} ({})",
            verifier.name,
            verifier.role.as_str()
        );
        self.audit(&caller, &action, now);
        Ok(())
    }

    /// What a new trial for `scenario`'s patient takes over from this pump's previous trial:
    /// the one in hand if it ended, else the newest in the log. None for another patient, or
    /// when that trial ended the new program's longest window or more ago.
    fn carried_over(
        &self,
        scenario: &Scenario,
        now: Timestamp,
    ) -> Result<Option<Record>, ServiceError> {
        let previous = match &self.engine {
            Some(e) => Some((
                e.trial().patient.clone(),
                e.program().drug.clone(),
                self.trial_records()?.into_owned(),
            )),
            None => match self.open_log()? {
                Some(mut log) => match log.latest_trial() {
                    Ok(stored) => Some((
                        stored.trial.patient.clone(),
                        stored.program.drug.clone(),
                        log.records(stored.id)
                            .map_err(|e| ServiceError::Internal(e.to_string()))?,
                    )),
                    Err(_) => None,
                },
                None => None,
            },
        };
        let Some((patient, drug, records)) = previous else {
            return Ok(None);
        };
        if patient != scenario.trial.patient {
            return Ok(None);
        }
        let entry = self
            .library
            .find(
                &scenario.program.drug,
                scenario.trial.route,
                scenario.program.concentration,
            )
            .map_err(|e| ServiceError::InvalidInput(e.to_string()))?;
        let horizon =
            crate::core::dose::DoseLimits::for_program(&scenario.program, entry).horizon();
        Ok(crate::engine::carried_over(
            &records,
            drug == scenario.program.drug,
            now,
            horizon,
        ))
    }

    /// Starts the new trial's log and verifies the program in the engine.
    pub(super) fn begin_logging(
        &mut self,
        engine: &mut Engine<Hardware>,
        scenario: &Scenario,
        now: Timestamp,
    ) -> Result<Option<i64>, ServiceError> {
        let mut row = None;
        if let Some(mut log) = self.open_log()? {
            let sha = crate::digest::checksum(&self.library);
            self.started_wall = self
                .wall
                .as_ref()
                .map(|w| crate::time::rfc3339(w.unix_ms()));
            row = Some(
                log.begin_trial(
                    &scenario.trial,
                    &scenario.program,
                    now.ms(),
                    &sha,
                    self.simulated,
                    self.started_wall.as_deref(),
                )
                .map_err(|e| ServiceError::Internal(e.to_string()))?,
            );
            // The budget's base is the database file's size: the WAL emptied into it first.
            if let Err(e) = log.checkpoint() {
                tracing::warn!(error = %e, "the trial log's checkpoint before its budget");
            }
            self.attach_outbox(
                &mut log,
                (&scenario.trial, &scenario.program),
                now,
                &[],
                now,
            );
            let reserve = self.storage.as_ref().map(|w| w.reserve.clone());
            engine.attach_sink(
                Box::new(crate::store::budget::ReservedLog::new(log, reserve)),
                now,
            )?;
            self.begin_budget(engine, &scenario.trial, now);
            // The log holds the whole trial: memory keeps what the engine reads back.
            engine.bound_journal(JOURNAL_KEPT);
        }
        if let Some(test) = &self.self_test {
            engine.record_self_test(now, test.clone());
        }
        engine.verify(now)?;
        Ok(row)
    }

    /// Records the site's pre-trial checklist items that apply to the trial (delivery waits for
    /// them), confirmed at once by the demo setup when that is on.
    pub(super) fn require_checklist(
        &self,
        engine: &mut Engine<Hardware>,
        scenario: &Scenario,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let items = self.protocol.checklist_for(&scenario.trial);
        let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
        engine.require_checklist(now, items)?;
        engine.require_site_checks(now, self.protocol.site_rule())?;
        if self.demo_checklist {
            for id in &ids {
                engine.confirm_checklist_item(now, id, Role::Pump, DEMO_CHECKLIST_BY)?;
            }
        }
        Ok(())
    }

    /// The trial's pre-trial checklist: each item that applies with who confirmed it and when,
    /// and the override (who, why; "" when none). Empty when the trial has none.
    pub fn checklist(
        &mut self,
        token: &str,
        now: Timestamp,
    ) -> Result<ChecklistView, ServiceError> {
        self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        let engine = self
            .engine
            .as_ref()
            .ok_or_else(|| ServiceError::WrongState(tr!("no trial is programmed").to_owned()))?;
        let Some(list) = engine.checklist() else {
            return Ok((Vec::new(), String::new(), String::new()));
        };
        let lines = list
            .items
            .iter()
            .zip(&list.confirmed)
            .map(|(item, c)| ChecklistLine {
                id: item.id.clone(),
                text: item.text.clone(),
                confirmed: c.is_some(),
                confirmed_by: c.as_ref().map_or_else(String::new, |c| {
                    if c.name == DEMO_CHECKLIST_BY {
                        tr!("demo setup (simulated hardware)").to_owned()
                    } else {
                        c.name.clone()
                    }
                }),
                confirmed_at_ms: c
                    .as_ref()
                    .map_or(-1, |c| i64::try_from(c.at.ms()).unwrap_or(-1)),
            })
            .collect();
        let (by, reason) = list
            .overridden
            .map_or_else(Default::default, |o| (o.name, o.reason));
        Ok((lines, by, reason))
    }

    /// A nurse (or clinician) confirms one item of the pre-trial checklist, by its id. Returns
    /// the ids still open. Confirming an item twice changes nothing.
    pub fn confirm_checklist_item(
        &mut self,
        token: &str,
        id: &str,
        now: Timestamp,
    ) -> Result<Vec<String>, ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        let id = id.trim();
        let name = caller.name.clone();
        let engine = self.engine_mut()?;
        let new = engine.confirm_checklist_item(now, id, role_of(&caller), &name)?;
        let open = engine
            .checklist()
            .map(|l| l.open().iter().map(|i| i.id.clone()).collect())
            .unwrap_or_default();
        if new {
            self.audit(&caller, &format!("confirm checklist item {id}"), now);
        }
        Ok(open)
    }

    /// A clinician lets delivery start with the checklist items still open, for a written
    /// reason (required, at most 500 characters). Returns the ids overridden.
    pub fn override_checklist(
        &mut self,
        token: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<Vec<String>, ServiceError> {
        let caller = self.require(token, now, &[UserRole::Clinician])?;
        let reason = note_field(
            "reason",
            reason,
            Some(tr!("write why the trial may start with these items open")),
        )?;
        let name = caller.name.clone();
        let open = self.engine_mut()?.override_checklist(now, &reason, &name)?;
        self.audit(
            &caller,
            &format!("override the pre-trial checklist ({})", open.join(", ")),
            now,
        );
        Ok(open)
    }

    /// A nurse's or clinician's command to the engine, logged with who gave it; `delivers`
    /// commands (those that can move the motor) need the power-on self-test passed.
    fn nurse_command(
        &mut self,
        token: &str,
        now: Timestamp,
        action: &str,
        delivers: bool,
        f: impl FnOnce(&mut Engine<Hardware>, Timestamp) -> Result<(), EngineError>,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        if delivers {
            self.require_self_test()?;
        }
        f(self.engine_mut()?, now)?;
        self.audit(&caller, action, now);
        Ok(())
    }

    pub fn prime(&mut self, token: &str, now: Timestamp) -> Result<(), ServiceError> {
        let volume = self.cfg.mechanism.prime_volume;
        self.nurse_command(token, now, "prime", true, |e, now| e.prime(now, volume))
    }

    pub fn start(&mut self, token: &str, now: Timestamp) -> Result<(), ServiceError> {
        self.nurse_command(token, now, "start", true, |e, now| e.start(now))
    }

    pub fn pause(&mut self, token: &str, now: Timestamp) -> Result<(), ServiceError> {
        self.nurse_command(token, now, "pause", false, |e, now| e.pause(now))
    }

    /// "Stop delivery": anyone at the pump, without a login, whatever the logins' locks
    /// (stopping is the safe direction). Logged with where it came from; resuming needs a
    /// nurse's login.
    pub fn stop_delivery(&mut self, from: &Peer, now: Timestamp) -> Result<(), ServiceError> {
        let engine = self.engine_mut()?;
        if !matches!(engine.state(), State::Running | State::Priming) {
            return Err(ServiceError::WrongState(tr!(
                "delivery is not running (the pump is {state})",
                state = engine.state().words()
            )));
        }
        engine.pause(now)?;
        engine.record_action(
            now,
            &format!("stop delivery, without a login ({from})"),
            Role::Anyone,
            "",
        );
        tracing::warn!(from = %from, "delivery stopped without a login");
        Ok(())
    }

    pub fn resume(&mut self, token: &str, now: Timestamp) -> Result<(), ServiceError> {
        self.nurse_command(token, now, "resume", true, |e, now| e.resume(now))
    }

    pub fn end_trial(&mut self, token: &str, now: Timestamp) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        self.refuse_plain_end_when_held()?;
        self.audit(&caller, "end trial", now);
        self.engine_mut()?.end(now)?;
        Ok(())
    }

    /// What changing the basal rate to `basal` would mean, before anyone confirms it: the
    /// findings (class and list, as `validate` gives them) and the old and new rate, each as
    /// "per day (per hour, mL/h)".
    pub fn check_basal(
        &self,
        basal: &str,
        now: Timestamp,
    ) -> Result<(String, Vec<WireFinding>, String, String), ServiceError> {
        let (basal, engine) = self.basal_request(basal)?;
        let (class, findings) = verdict_wire(&engine.rate_change_verdict(now, basal));
        let unit = engine.entry().unit;
        let c = engine.program().concentration;
        let words = |r: AmountRate| {
            format!(
                "{} ({}, {})",
                r.per_day_in(unit),
                r.per_hour_in(unit),
                c.volume_rate(r).per_hour()
            )
        };
        Ok((class, findings, words(engine.basal_rate()), words(basal)))
    }

    /// What a program change would mean, before confirming: (class, findings, each setting old
    /// beside new). `changes` is the changed settings as TOML (`crate::core::change`).
    pub fn check_program_change(
        &self,
        changes: &str,
        now: Timestamp,
    ) -> Result<(String, Vec<WireFinding>, Vec<WireSettingChange>), ServiceError> {
        let (change, engine) = self.change_request(changes)?;
        let (new, verdict) = engine.program_change_verdict(now, &change);
        let (class, findings) = verdict_wire(&verdict);
        let side_by_side = ProgramChange::describe(engine.program(), &new, engine.entry().unit);
        Ok((
            class,
            findings,
            side_by_side.into_iter().map(Into::into).collect(),
        ))
    }

    /// A clinician changes the program during the trial (titration: the basal, the patient
    /// bolus, the scheduled boluses to come, the window limit, the KVO); a second person
    /// verifies. Checked like a new program and against what each window already holds;
    /// recorded with both names; in force at once, the lockout and the windows going on.
    /// Returns each setting old beside new.
    pub fn change_program(
        &mut self,
        token: &str,
        changes: &str,
        confirm_soft: bool,
        verifier: (&str, &str),
        now: Timestamp,
    ) -> Result<Vec<WireSettingChange>, ServiceError> {
        let caller = self.require(token, now, &[UserRole::Clinician])?;
        let (change, engine) = self.change_request(changes)?;
        let (new, verdict) = engine.program_change_verdict(now, &change);
        // The log's copies, in English: the findings of a refusal, the settings changed.
        let logged = in_english(|| engine.program_change_verdict(now, &change).1);
        let words = in_english(|| {
            ProgramChange::describe(engine.program(), &new, engine.entry().unit)
                .iter()
                .map(|c| format!("{} {} to {}", c.setting, c.old, c.new))
                .collect::<Vec<_>>()
                .join("; ")
        });
        self.admit_or_log(
            (&verdict, &logged),
            confirm_soft,
            "program change",
            &caller,
            now,
        )?;
        let verifier = self.verify(verifier.0, verifier.1, &caller, now)?;
        let by = crate::engine::ChangedBy {
            role: role_of(&caller),
            name: &caller.name,
            verified_by: &verifier.name,
        };
        let changed = self
            .engine_mut()?
            .change_program(now, &change, confirm_soft, by)?;
        self.audit(
            &caller,
            &format!("change the program: {words}; verified by {}", verifier.name),
            now,
        );
        Ok(changed.into_iter().map(Into::into).collect())
    }

    /// [`admit`], and a refusal written to the trial log with who asked (as the engine writes
    /// its own). The verdict twice: in the language in use (the refusal the caller gets)
    /// and in English (the log's); `what` in English.
    fn admit_or_log(
        &mut self,
        (verdict, logged): (
            &crate::core::finding::Verdict,
            &crate::core::finding::Verdict,
        ),
        confirm_soft: bool,
        what: &str,
        caller: &Caller,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        admit(verdict, confirm_soft).inspect_err(|_| {
            if let Some(engine) = self.engine.as_mut() {
                let reason = in_english(|| {
                    admit(logged, confirm_soft)
                        .err()
                        .map(|e| e.to_string())
                        .unwrap_or_default()
                });
                engine.record_refusal(now, what, &reason, role_of(caller));
            }
        })
    }

    /// A program change as typed, and the trial it is for.
    fn change_request(
        &self,
        changes: &str,
    ) -> Result<(ProgramChange, &Engine<Hardware>), ServiceError> {
        let change = ProgramChange::from_toml_str(changes)
            .map_err(|e| ServiceError::InvalidInput(format!("changes: {e}")))?;
        let boluses = change.boluses.as_ref().map_or(0, Vec::len);
        if boluses > crate::limits::MAX_BOLUSES {
            return Err(ServiceError::InvalidInput(tr!(
                "changes.boluses: {boluses} scheduled boluses, more than the {most} a program may have",
                boluses,
                most = crate::limits::MAX_BOLUSES
            )));
        }
        let engine = self
            .engine
            .as_ref()
            .ok_or_else(|| ServiceError::WrongState(tr!("no trial is programmed").to_owned()))?;
        Ok((change, engine))
    }

    /// A new basal rate as typed, and the trial it is for.
    pub(super) fn basal_request(
        &self,
        basal: &str,
    ) -> Result<(AmountRate, &Engine<Hardware>), ServiceError> {
        let basal: AmountRate = crate::core::units::parse_field("basal", basal)
            .map_err(|e| ServiceError::InvalidInput(e.to_string()))?;
        let engine = self
            .engine
            .as_ref()
            .ok_or_else(|| ServiceError::WrongState(tr!("no trial is programmed").to_owned()))?;
        Ok((basal, engine))
    }

    /// A clinician changes the basal rate; a second person verifies. Returns (old, new).
    pub fn change_basal(
        &mut self,
        token: &str,
        basal: &str,
        confirm_soft: bool,
        verifier: (&str, &str),
        now: Timestamp,
    ) -> Result<(String, String), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Clinician])?;
        let (basal, engine) = self.basal_request(basal)?;
        let verdict = engine.rate_change_verdict(now, basal);
        let logged = in_english(|| engine.rate_change_verdict(now, basal));
        self.admit_or_log(
            (&verdict, &logged),
            confirm_soft,
            "basal change",
            &caller,
            now,
        )?;
        let verifier = self.verify(verifier.0, verifier.1, &caller, now)?;
        let engine = self.engine_mut()?;
        let unit = engine.entry().unit;
        let old = engine.basal_rate();
        engine.change_rate(now, basal, confirm_soft)?;
        let (old, new) = (
            old.per_day_in(unit).to_string(),
            basal.per_day_in(unit).to_string(),
        );
        let action = format!("change basal {old} to {new}, verified by {}", verifier.name);
        self.audit(&caller, &action, now);
        Ok((old, new))
    }

    /// A clinician's bolus; above the site's size for the drug (every one, as shipped) a second
    /// person (`verifier`: user ID and PIN) checks it. `verifier` is ignored below that size.
    pub fn clinician_bolus(
        &mut self,
        token: &str,
        dose: &str,
        confirm_soft: bool,
        verifier: (&str, &str),
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Clinician])?;
        let dose: Amount = crate::core::units::parse_field("dose", dose)
            .map_err(|e| ServiceError::InvalidInput(e.to_string()))?;
        let engine = self.engine_mut()?;
        let unit = engine.entry().unit;
        let drug = engine.program().drug.clone();
        let verdict = program::check_clinician_bolus(engine.entry(), "dose", dose);
        if verdict.is_rejected() {
            return Err(ServiceError::LimitExceeded(first_hard(&verdict.findings)));
        }
        let checked_by = if self
            .protocol
            .second_person
            .clinician_bolus_needs_check(&drug, dose)
        {
            Some(self.verify(verifier.0, verifier.1, &caller, now)?)
        } else {
            None
        };
        // A refusal by a dose limit is LimitExceeded (EngineError::OverLimit).
        self.engine_mut()?
            .clinician_bolus(now, dose, confirm_soft)?;
        let action = match checked_by {
            Some(v) => format!(
                "clinician bolus {}, verified by {} ({})",
                dose.in_unit(unit),
                v.name,
                v.role.as_str()
            ),
            None => format!("clinician bolus {}", dose.in_unit(unit)),
        };
        self.audit(&caller, &action, now);
        Ok(())
    }

    /// The nurse's answer about a scheduled bolus held because it fell due while delivery was
    /// stopped: `give` it now (delivery running, within the dose limits) or skip it. Returns
    /// what was done, in words.
    pub fn decide_held_bolus(
        &mut self,
        token: &str,
        give: bool,
        now: Timestamp,
    ) -> Result<String, ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        let engine = self.engine_mut()?;
        let unit = engine.entry().unit;
        let Some((dose, due)) = engine.held_bolus() else {
            return Err(ServiceError::WrongState(
                tr!("no scheduled bolus is held").to_owned(),
            ));
        };
        // For the log, in English.
        let since = in_english(|| readable::duration(due.since(engine.started_at()), Round::Up));
        engine.decide_held_bolus(now, give, role_of(&caller), &caller.name)?;
        let dose = dose.in_unit(unit).to_string();
        let (action, answer) = if give {
            (
                format!("give the scheduled bolus {dose} held since {since} after the start"),
                tr!("The held dose of {dose} is being given.", dose),
            )
        } else {
            (
                format!("skip the scheduled bolus {dose} held since {since} after the start"),
                tr!("The held dose of {dose} was skipped.", dose),
            )
        };
        self.audit(&caller, &action, now);
        Ok(answer)
    }

    /// The patient presses the bolus button. A denial is an error that says why and when.
    pub fn request_bolus(&mut self, now: Timestamp) -> Result<String, ServiceError> {
        let engine = self.engine_mut()?;
        let unit = engine.entry().unit;
        match engine.request_pca(now) {
            PcaDecision::Granted { dose } => {
                Ok(tr!("Bolus of {dose} started.", dose = dose.in_unit(unit)))
            }
            PcaDecision::Denied {
                denial,
                available_at,
            } => {
                let why = denial.explain_for(unit);
                let message = match available_at {
                    // Rounded up: never sooner than it will be.
                    Some(t) => tr!(
                        "{why} Next dose available in {time}.",
                        why,
                        time = readable::duration(t.since(now), Round::Up)
                    ),
                    None => why,
                };
                let available_at_ms =
                    available_at.map_or(-1, |t| i64::try_from(t.ms()).unwrap_or(-1));
                Err(match denial {
                    Denial::Lockout { .. } | Denial::HourlyCount { .. } => {
                        ServiceError::LockoutActive {
                            message,
                            available_at_ms,
                        }
                    }
                    Denial::Cap { .. } => ServiceError::LimitExceeded(message),
                    Denial::NotPrescribed => ServiceError::NotAuthorised(message),
                    Denial::BolusInProgress
                    | Denial::NotDelivering
                    | Denial::SedationHold
                    | Denial::ObservationOverdue => ServiceError::WrongState(message),
                })
            }
        }
    }

    pub fn acknowledge(&mut self, token: &str, now: Timestamp) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        self.engine_mut()?.acknowledge(now);
        self.audit(&caller, "acknowledge alarms", now);
        Ok(())
    }

    /// Silences the alarm tones for `seconds` (0 for the default 2 minutes; at most 10).
    pub fn silence(
        &mut self,
        token: &str,
        seconds: u32,
        now: Timestamp,
    ) -> Result<u32, ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        let wanted = if seconds == 0 {
            Duration::from_mins(2)
        } else {
            Duration::from_secs(u64::from(seconds))
        };
        let done = self.engine_mut()?.silence(now, wanted, role_of(&caller));
        let action = format!(
            "pause the alarm tones for {}",
            in_english(|| readable::duration(done, Round::Up))
        );
        self.audit(&caller, &action, now);
        Ok(u32::try_from(done.ms() / 1000).unwrap_or(u32::MAX))
    }

    pub fn change_reservoir(
        &mut self,
        token: &str,
        volume: &str,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        let volume: Volume = crate::core::units::parse_field("volume", volume)
            .map_err(|e| ServiceError::InvalidInput(e.to_string()))?;
        let engine = self.engine_mut()?;
        engine.change_reservoir(now, volume)?;
        engine.hardware_mut().reservoir_loaded(volume);
        self.audit(&caller, &format!("change the syringe ({volume})"), now);
        Ok(())
    }

    pub fn next_wake(&self) -> Option<Timestamp> {
        self.engine.as_ref().and_then(Engine::next_wake)
    }

    pub fn tick(&mut self, now: Timestamp) -> Result<(), ServiceError> {
        let ticked = if let Some(e) = self.engine.as_mut() {
            e.hardware_mut().advance_to(now);
            e.tick(now)
        } else {
            if let Some(hw) = self.hw.as_mut() {
                hw.advance_to(now);
            }
            Ok(())
        };
        // The storage check runs whatever the tick found: a tick that fails every pass (a card
        // filling up is the likeliest reason) must not hide the card filling up.
        self.check_storage(now);
        self.check_outbox(now);
        ticked?;
        Ok(())
    }

    /// Records made since the last call (for signals).
    /// Denied presses counted and not written (`Record::PcaRequest::presses`) come too, one
    /// record each, so that each is announced.
    pub fn take_new_records(&mut self) -> Vec<Record> {
        let Some(e) = self.engine.as_mut() else {
            return Vec::new();
        };
        let announced = e.take_announced();
        let mut new = e.records_since(self.signalled).to_vec();
        self.signalled = e.records_made();
        new.extend(announced);
        new
    }
}

/// A program's text as a scenario, its sizes checked first (src/limits.rs).
fn parse_program(text: &str) -> Result<Scenario, ServiceError> {
    Scenario::from_toml_str(text, "program").map_err(|e| ServiceError::InvalidInput(e.to_string()))
}

/// What a program is checked against: a copy of the service's drug library, its source and the
/// hardware configuration, taken under the service lock and used outside it, so that a program
/// check (linear in its size, and its size bounded) never holds the lock. These three are fixed
/// for the service's life (set when it is built), so the check made on the copy is the one the
/// service would make; what can change (the caller, the pump's state, a trial in progress) is
/// checked under the lock by [`PumpService::start_checked_trial`].
#[derive(Debug, Clone)]
pub struct ProgramCheck {
    library: DrugLibrary,
    source: LibrarySource,
    cfg: HardwareConfig,
}

/// A program parsed and checked: the library's verdict and the mechanism's (pump rate, syringe
/// size), kept apart as `start_trial` judges them apart.
#[derive(Debug, Clone)]
pub struct CheckedProgram {
    scenario: Scenario,
    report: CheckReport,
    mechanism: crate::core::finding::Verdict,
}

impl CheckedProgram {
    /// The report ValidateProgram answers: the library's findings and the mechanism's, and the
    /// class of them all.
    pub fn report(&self) -> CheckReport {
        let mut report = self.report.clone();
        report.verdict.extend(self.mechanism.clone());
        report.class = report.verdict.class();
        report
    }
}

impl ProgramCheck {
    /// Parses and checks a program's text: the library's checks and the mechanism's limits.
    pub fn check(&self, text: &str) -> Result<CheckedProgram, ServiceError> {
        let scenario = parse_program(text)?;
        let report = check::check_scenario(&scenario, &self.library, self.source.clone());
        let mechanism = crate::engine::mechanism_verdict(
            &scenario.program,
            &scenario.program.max_rate(),
            &self.cfg,
        );
        Ok(CheckedProgram {
            scenario,
            report,
            mechanism,
        })
    }
}

/// A change the clinician was shown may go ahead: refused naming the first hard finding
/// (LimitExceeded), or the first soft one not confirmed (InvalidInput).
fn admit(verdict: &crate::core::finding::Verdict, confirm_soft: bool) -> Result<(), ServiceError> {
    if verdict.is_rejected() {
        return Err(ServiceError::LimitExceeded(first_hard(&verdict.findings)));
    }
    if verdict.class() == Class::Soft && !confirm_soft {
        return Err(ServiceError::InvalidInput(tr!(
            "needs confirmation: {finding}",
            finding = first_hard(&verdict.problems().cloned().collect::<Vec<_>>())
        )));
    }
    Ok(())
}
