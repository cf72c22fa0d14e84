//! A power cut and the restart: the engine dropped without closing anything, and rebuilt from
//! the records that reached the log, with what may have been given after the last one counted
//! as given and flagged uncertain.

use super::{Engine, EngineError, SOURCES};
use crate::core::dose::Source;
use crate::core::library::DrugLibrary;
use crate::core::program::{Program, Trial};
use crate::core::scheduler::RateScheduler;
use crate::core::supervisor::{Alarm, AlarmKind, State};
use crate::core::tr;
use crate::core::units::{Amount, Duration, Timestamp};
use crate::hw::PumpHardware;
use crate::input::hardware::HardwareConfig;
use crate::journal::{CarriedDose, Record, RecordSink, Role};

impl<H: PumpHardware> Engine<H> {
    /// The power is cut: the engine is gone without closing anything. Returns the hardware
    /// (whose physical state stays) and the records that had reached the log (of those still
    /// in memory: with a bounded journal the log is the one to read them from).
    pub fn crash(mut self) -> (H, Vec<Record>) {
        let _ = self.hw.set_motor_enabled(false);
        self.journal.truncate(self.unsynced);
        (self.hw, self.journal)
    }

    /// Rebuilds the engine after a restart from the records that reached the log: program and
    /// its changes, totals, rolling windows, lockout, alarms and the reservoir. Steps that may
    /// have been given after the last record are counted as given (from the plunger position
    /// where it is measured, else from the last intent) and flagged uncertain. The pump comes up
    /// stopped with a HIGH "power restored" alarm; nothing missed is caught up.
    #[allow(clippy::too_many_arguments)]
    pub fn recover(
        hw: H,
        cfg: &HardwareConfig,
        library: &DrugLibrary,
        trial: Trial,
        program: Program,
        records: Vec<Record>,
        now: Timestamp,
        sink: Option<Box<dyn RecordSink>>,
    ) -> Result<Engine<H>, EngineError> {
        let entry = library
            .find(&program.drug, trial.route, program.concentration)
            .map_err(|e| EngineError::Lookup(e.to_string()))?
            .clone();
        let written = records.len();
        let mut e = Engine::assemble(
            hw,
            cfg,
            trial,
            program,
            entry,
            library.sedation,
            now,
            records,
        );
        e.unsynced = written;
        e.sink = sink;
        e.replay(now)?;
        if e.state == State::Ended {
            return Ok(e);
        }
        e.journal.push(Record::PowerRestored { at: now });
        e.raise(now, AlarmKind::PowerRestored, None, None)?;
        e.persist(now);
        Ok(e)
    }

    /// The start-up check of the log and the library failed (`kinds`: the alarm of each check
    /// that failed; `failures`: what each found, in words): the finding is logged, each alarm
    /// raised, and the trial is held for good. Those alarms' causes never clear while the trial
    /// runs, so `resume`, `prime` and `start` are refused and the patient's button is not
    /// answered; only [`Engine::end_unverified`] moves the trial on, to its end.
    pub fn hold_after_failed_check(
        &mut self,
        now: Timestamp,
        kinds: &[AlarmKind],
        failures: Vec<String>,
    ) -> Result<(), EngineError> {
        tracing::error!(?failures, "the start-up check failed: the trial is held");
        self.journal
            .push(Record::StartupCheckFailed { at: now, failures });
        for &kind in kinds {
            self.raise(now, kind, None, None)?;
        }
        self.persist(now);
        Ok(())
    }

    /// Whether a failed start-up check holds this trial (now, or at an earlier start: its alarm
    /// comes back from the log).
    pub fn held_by_failed_check(&self) -> bool {
        self.alarms.iter().any(|a| a.kind.holds_for_good())
    }

    /// A clinician (`name`) ends the trial a failed start-up check holds, for `reason`, so that
    /// it can be exported. The library's alarm is answered by it (an ended trial uses no
    /// library); the log's stays, since the log is as it was found.
    pub fn end_unverified(
        &mut self,
        now: Timestamp,
        reason: &str,
        name: &str,
    ) -> Result<(), EngineError> {
        if !self.held_by_failed_check() {
            return Err(EngineError::Refused(
                tr!("no failed start-up check holds this trial: end it as usual").to_owned(),
            ));
        }
        if self.state == State::Ended {
            return Err(EngineError::Refused(
                tr!("the trial has already ended").to_owned(),
            ));
        }
        // Recorded once the trial has ended, so the log never says it ended when it did not.
        self.end(now)?;
        self.journal.push(Record::UnverifiedTrialEnded {
            at: now,
            reason: reason.to_owned(),
            name: name.to_owned(),
        });
        self.clear(now, AlarmKind::LibraryChanged);
        self.acknowledge_kind(now, AlarmKind::LibraryChanged, Role::Clinician);
        self.persist(now);
        Ok(())
    }

    #[expect(
        clippy::too_many_lines,
        reason = "one pass over the log in record order: the open bolus, the last intent and what followed it are one state, kept in one place"
    )]
    fn replay(&mut self, now: Timestamp) -> Result<(), EngineError> {
        let mut started = false;
        let mut open_bolus: Option<(Source, Amount, u64)> = None;
        let mut clinician_changed = false;
        let mut titration_applied = 0usize;
        // The last intent, and the steps recorded after it per part (basal, bolus).
        let mut intent: Option<(Timestamp, u64, u64, Option<Source>)> = None;
        let mut after_intent = (0u64, 0u64);
        let mut last_at = self.start;
        let records = self.journal.clone();
        for r in &records {
            last_at = last_at.max(r.at());
            match *r {
                Record::StateChanged { at, to, .. } => {
                    if to == State::Running && !started {
                        started = true;
                        self.started = true;
                        self.start = at;
                    }
                    if to == State::Paused {
                        self.paused_since = Some(at);
                    }
                    self.state = to;
                }
                Record::Delivery {
                    at,
                    source,
                    steps,
                    amount,
                    ..
                }
                | Record::UncertainDelivery {
                    at,
                    source,
                    steps,
                    amount,
                    ..
                } => {
                    if let Err(e) = self.ledger.record(at, amount, source) {
                        tracing::error!(error = %e, "replay");
                    }
                    let i = source.index();
                    self.steps.forward[i] += steps;
                    if source == Source::Basal || source == Source::Kvo {
                        after_intent.0 += steps;
                    } else {
                        after_intent.1 += steps;
                        if let Some(b) = &mut open_bolus {
                            b.2 += steps;
                        }
                    }
                    if matches!(r, Record::UncertainDelivery { .. }) {
                        self.uncertain = true;
                    }
                }
                Record::Primed { steps, .. } => self.steps.primed += steps,
                Record::BolusStarted {
                    at,
                    source,
                    requested,
                    ..
                } => {
                    self.ledger.note_bolus_start(at);
                    if source == Source::ScheduledBolus {
                        self.next_scheduled += 1;
                    }
                    open_bolus = Some((source, requested, 0));
                }
                Record::ScheduledBolusHeld { .. } => self.held_scheduled = true,
                Record::HeldBolusDecided { give, .. } => {
                    self.held_scheduled = false;
                    // A bolus given is counted by its start (or its refusal) that follows.
                    if !give {
                        self.next_scheduled += 1;
                    }
                }
                Record::BolusEnded { at, source, .. } => {
                    open_bolus = None;
                    if source == Source::ScheduledBolus
                        && let Some(observe) = self.program.observe
                    {
                        self.observation_until = Some(at + observe).filter(|&u| u > now);
                    }
                }
                Record::PcaRequest {
                    at, granted: true, ..
                } => self.ledger.note_pca_grant(at),
                Record::CarriedOver { .. } => self.apply_carried(r),
                Record::ProgramChanged { ref program, .. } => {
                    self.replay_program_change(program);
                }
                Record::RateChanged { new, by, .. } => {
                    self.program.basal = new;
                    match by {
                        Role::Clinician => clinician_changed = true,
                        _ => titration_applied += 1,
                    }
                }
                Record::Refused {
                    ref what,
                    by: Role::Pump,
                    ..
                } if what.starts_with("scheduled bolus") => {
                    self.next_scheduled += 1;
                }
                Record::AlarmRaised {
                    at,
                    kind,
                    priority,
                    pressure_mmhg,
                    time_to_alarm,
                } => {
                    let mut a = Alarm::new(kind, at);
                    a.priority = priority;
                    a.pressure_mmhg = pressure_mmhg;
                    a.time_to_alarm = time_to_alarm;
                    self.alarms.push(a);
                }
                Record::AlarmEscalated { kind, priority, .. } => {
                    for a in self
                        .alarms
                        .iter_mut()
                        .filter(|a| a.kind == kind && a.is_active())
                    {
                        a.priority = priority;
                    }
                }
                Record::AlarmCleared { at, kind } => {
                    for a in self
                        .alarms
                        .iter_mut()
                        .filter(|a| a.kind == kind && a.cleared_at.is_none())
                    {
                        a.cleared_at = Some(at);
                    }
                }
                Record::AlarmAcknowledged { at, kind, .. } => {
                    for a in self
                        .alarms
                        .iter_mut()
                        .filter(|a| a.kind == kind && a.acknowledged_at.is_none())
                    {
                        a.acknowledged_at = Some(at);
                    }
                }
                Record::BackedOff { steps, .. } => self.steps.back += steps,
                Record::ReservoirChanged { volume, .. } => {
                    for i in 0..SOURCES.len() {
                        self.steps.before_reservoir[i] += self.steps.forward[i];
                        self.steps.forward[i] = 0;
                    }
                    self.steps.back = 0;
                    self.steps.primed = 0;
                    self.reservoir = volume;
                }
                Record::Intent {
                    until,
                    basal_steps,
                    bolus_steps,
                    bolus_source,
                    ..
                } => {
                    intent = Some((until, basal_steps, bolus_steps, bolus_source));
                    after_intent = (0, 0);
                }
                Record::UncertainConfirmed { .. } => self.uncertain = false,
                _ => {}
            }
        }
        self.next_titration = if clinician_changed {
            // As `change_rate` does: the clinician's rate replaced the planned steps.
            self.program.titration.clear();
            0
        } else {
            titration_applied
        };
        for (i, &source) in SOURCES.iter().enumerate() {
            self.steps.recorded_amount[i] = self.amount_of_steps(self.total_steps(source));
        }
        // Whatever the last intent planned and no row accounts for may have been given.
        if self.state.delivers()
            && let Some((until, basal_planned, bolus_planned, bolus_source)) = intent
        {
            let at = until.min(now).max(last_at);
            let mut missing = vec![
                (Source::Basal, basal_planned.saturating_sub(after_intent.0)),
                (
                    bolus_source.unwrap_or(Source::PatientBolus),
                    bolus_planned.saturating_sub(after_intent.1),
                ),
            ];
            let measured = self.hw.plunger_position().ok().flatten();
            if let Some(position) = measured {
                // The plunger says exactly how far it went: give the difference to the bolus
                // first, then the basal, within what was planned.
                let expected = i64::try_from(self.steps.net_forward()).unwrap_or(i64::MAX);
                let mut extra = u64::try_from(position - expected).unwrap_or(0);
                for part in missing.iter_mut().rev() {
                    let take = part.1.min(extra);
                    extra -= take;
                    part.1 = take;
                }
            }
            for (source, steps) in missing {
                if steps == 0 {
                    continue;
                }
                let i = source.index();
                self.steps.forward[i] += steps;
                let cumulative = self.amount_of_steps(self.total_steps(source));
                let amount = cumulative.saturating_sub(self.steps.recorded_amount[i]);
                self.steps.recorded_amount[i] = cumulative;
                if let Err(e) = self.ledger.record(at, amount, source) {
                    tracing::error!(error = %e, "replay");
                }
                if let Some(b) = &mut open_bolus
                    && b.0 == source
                {
                    b.2 += steps;
                }
                self.uncertain = true;
                self.journal.push(Record::UncertainDelivery {
                    at,
                    source,
                    steps,
                    amount,
                    measured: measured.is_some(),
                });
            }
        }
        if let Some((source, requested, steps)) = open_bolus {
            self.ledger.release_pending();
            self.journal.push(Record::BolusEnded {
                at: now,
                source,
                requested,
                delivered: self.amount_of_steps(steps),
                complete: false,
            });
        }
        self.basal = RateScheduler::new(self.profile, now);
        self.piece_end = None;
        self.next_read = now;
        // The schedule of checks, and whether a sedation hold stands (an uncleared sedation
        // alarm), come back from the same records.
        self.track_records();
        Ok(())
    }

    /// Takes over what the same patient's previous trial left (see [`carried_over`]): its doses
    /// and patient boluses count toward this trial's limits, and its sedation hold stands until
    /// a clinician reviews. Written to the log first, so a restart takes it over again.
    pub fn take_over(&mut self, now: Timestamp, carried: Record) {
        let hold = matches!(
            carried,
            Record::CarriedOver {
                sedation_hold: true,
                ..
            }
        );
        self.apply_carried(&carried);
        self.journal.push(carried);
        if hold {
            self.hold_for_sedation(
                now,
                "the previous trial's sedation hold, which no clinician had reviewed",
            );
        }
        self.persist(now);
    }

    /// Enters a carried-over record into the ledger (programming, and replay after a restart).
    pub(super) fn apply_carried(&mut self, carried: &Record) {
        let Record::CarriedOver {
            doses,
            pca_grants,
            last_bolus_at,
            ..
        } = carried
        else {
            return;
        };
        for d in doses {
            if let Err(e) = self.ledger.carry_over(d.at, d.amount, d.source) {
                tracing::error!(error = %e, "carried-over dose");
            }
        }
        for &g in pca_grants {
            self.ledger.note_pca_grant(g);
        }
        if let Some(b) = *last_bolus_at {
            self.ledger.note_bolus_start(b);
        }
    }
}

/// What a new trial at `now` takes over from the previous trial's `records`: None when that
/// trial has not ended, or ended `horizon` (the new trial's longest window) or more ago.
/// `same_drug`: whether the doses carry (a dose of another drug counts toward no limit of
/// this one; a sedation hold carries whatever the drug).
pub fn carried_over(
    records: &[Record],
    same_drug: bool,
    now: Timestamp,
    horizon: Duration,
) -> Option<Record> {
    let ended = records.iter().rev().find_map(|r| match *r {
        Record::StateChanged {
            at,
            to: State::Ended,
            ..
        } => Some(at),
        _ => None,
    })?;
    if now.since(ended) >= horizon {
        return None;
    }
    let from = now.ms().saturating_sub(horizon.ms());
    let hour_ago = now.ms().saturating_sub(Duration::from_hours(1).ms());
    let mut doses = Vec::new();
    let mut pca_grants = Vec::new();
    let mut last_bolus_at = None;
    let mut hold = false;
    for r in records {
        match *r {
            Record::Delivery {
                at, source, amount, ..
            }
            | Record::UncertainDelivery {
                at, source, amount, ..
            } if same_drug && at.ms() > from && !amount.is_zero() => {
                doses.push(CarriedDose { at, source, amount });
            }
            Record::PcaRequest {
                at, granted: true, ..
            } if same_drug && at.ms() > hour_ago => pca_grants.push(at),
            Record::BolusStarted { at, .. } if same_drug => last_bolus_at = Some(at),
            Record::AlarmRaised {
                kind: AlarmKind::Sedation,
                ..
            } => hold = true,
            Record::AlarmCleared {
                kind: AlarmKind::Sedation,
                ..
            } => hold = false,
            _ => {}
        }
    }
    Some(Record::CarriedOver {
        at: now,
        previous_ended: ended,
        doses,
        pca_grants,
        last_bolus_at,
        sedation_hold: hold,
    })
}

#[cfg(test)]
mod tests {
    use crate::core::dose::{Denial, PcaDecision, Source};
    use crate::core::supervisor::{AlarmKind, Priority, State};
    use crate::core::units::{Amount, Duration, Timestamp};
    use crate::engine::Engine;
    use crate::engine::testing::{MORPHINE, at, config, count, library, run_to, running, scenario};
    use crate::hw::PumpHardware;
    use crate::journal::Record;
    use crate::sim::SimPump;

    /// The power is cut now, and comes back at `back`: the engine rebuilt from its records.
    fn restart(e: Engine<SimPump>, back: Timestamp) -> Engine<SimPump> {
        let (hw, records) = e.crash();
        let s = scenario(MORPHINE);
        Engine::recover(
            hw,
            &config(),
            &library(),
            s.trial,
            s.program,
            records,
            back,
            None,
        )
        .unwrap()
    }

    #[test]
    fn a_trial_held_by_a_failed_start_up_check_stays_held_after_another_restart() {
        let mut e = running(MORPHINE);
        run_to(&mut e, at("1h"));
        let mut e = restart(e, at("1h 10min"));
        e.hold_after_failed_check(
            at("1h 10min"),
            &[AlarmKind::LibraryChanged],
            vec!["the drug library: not the one".to_owned()],
        )
        .unwrap();
        e.acknowledge(at("1h 11min"));
        assert!(e.resume(at("1h 11min")).is_err());
        // Started again with the check passing (the old library put back): the hold comes back
        // from the log all the same.
        let mut e = restart(e, at("2h"));
        assert!(e.held_by_failed_check());
        e.acknowledge(at("2h 1min"));
        assert!(e.resume(at("2h 1min")).is_err());
        let given = e.delivered_total();
        run_to(&mut e, at("3h"));
        assert_eq!(e.state(), State::Alarm);
        assert_eq!(e.delivered_total(), given, "nothing delivered while held");
        // Only the clinician's decision moves it on, to its end; the library's alarm is answered.
        e.end_unverified(at("3h"), "Library changed mid-trial.", "Dr A")
            .unwrap();
        assert_eq!(e.state(), State::Ended);
        assert_eq!(
            count(&e, |r| matches!(
                r,
                Record::UnverifiedTrialEnded { name, .. } if name == "Dr A"
            )),
            1
        );
        assert!(
            !e.active_alarms()
                .any(|a| a.kind == AlarmKind::LibraryChanged)
        );
        assert!(e.end_unverified(at("3h"), "again", "Dr A").is_err());
    }

    #[test]
    fn a_restart_rebuilds_the_delivered_total_and_comes_up_stopped_with_a_high_alarm() {
        let mut e = running(MORPHINE);
        run_to(&mut e, at("1h"));
        assert!(matches!(
            e.request_pca(at("1h")),
            PcaDecision::Granted { .. }
        ));
        // Half a minute into a piece: steps given that no delivery row holds yet.
        run_to(&mut e, at("2h") + Duration::from_secs(30));
        let total = e.delivered_total();
        let bolus = e.delivered_from(Source::PatientBolus);
        let mut e = restart(e, at("2h 10min"));
        assert_eq!(e.delivered_total(), total);
        assert_eq!(e.delivered_from(Source::PatientBolus), bolus);
        // What the plunger says went after the last row is counted, marked uncertain.
        assert!(
            count(&e, |r| matches!(
                r,
                Record::UncertainDelivery {
                    source: Source::Basal,
                    measured: true,
                    ..
                }
            )) >= 1
        );
        assert_eq!(e.state(), State::Alarm);
        assert_eq!(e.high_alarm(), Some(AlarmKind::PowerRestored));
        assert!(e.alarms().iter().any(|a| a.kind == AlarmKind::PowerRestored
            && a.priority == Priority::High
            && a.raised_at == at("2h 10min")));
        assert_eq!(
            count(
                &e,
                |r| matches!(r, Record::PowerRestored { at: t } if *t == at("2h 10min"))
            ),
            1
        );
        // The nurse resumes, which confirms what was uncertain; nothing missed is caught up.
        e.resume(at("2h 11min")).unwrap();
        assert_eq!(e.state(), State::Running);
        assert_eq!(
            count(&e, |r| matches!(r, Record::UncertainConfirmed { .. })),
            1
        );
        assert_eq!(e.delivered_total(), total);
    }

    #[test]
    fn the_lockout_survives_a_restart() {
        let mut e = running(MORPHINE);
        run_to(&mut e, at("1h"));
        assert!(matches!(
            e.request_pca(at("1h")),
            PcaDecision::Granted { .. }
        ));
        run_to(&mut e, at("1h 10min"));
        let mut e = restart(e, at("1h 15min"));
        e.resume(at("1h 16min")).unwrap();
        assert_eq!(
            e.request_pca(at("1h 20min")),
            PcaDecision::Denied {
                denial: Denial::Lockout {
                    lockout: Duration::from_hours(1)
                },
                available_at: Some(at("2h")),
            }
        );
    }

    #[test]
    fn a_bolus_cut_by_the_power_is_closed_with_what_it_gave() {
        let mut e = running(MORPHINE);
        run_to(&mut e, at("1h"));
        assert!(matches!(
            e.request_pca(at("1h")),
            PcaDecision::Granted { .. }
        ));
        // 0.05 mg at 1 mL/h takes 3 minutes: cut halfway.
        run_to(&mut e, at("1h 1min") + Duration::from_secs(30));
        let stepped = e.bolus.as_ref().expect("a bolus running").schedule.issued();
        let mut e = restart(e, at("1h 5min"));
        let (requested, delivered) = e
            .journal()
            .iter()
            .find_map(|r| match r {
                Record::BolusEnded {
                    source: Source::PatientBolus,
                    complete: false,
                    requested,
                    delivered,
                    ..
                } => Some((*requested, *delivered)),
                _ => None,
            })
            .expect("the bolus is closed as incomplete");
        assert_eq!(requested, Amount::from_mcg(50));
        // About half the dose, never less than the motor gave it: the measured steps no row
        // holds go to the bolus first (the basal's few of that minute with them), and the count
        // of steps is the plunger's.
        assert!(delivered >= e.amount_of_steps(stepped));
        let counted = i64::try_from(e.steps.net_forward()).unwrap();
        assert_eq!(e.hw.plunger_position().unwrap(), Some(counted));
        assert!(
            delivered.ng() * 20 > requested.ng() * 9 && delivered.ng() * 20 < requested.ng() * 11,
            "{delivered} of {requested}"
        );
        assert_eq!(e.delivered_from(Source::PatientBolus), delivered);
        assert!(
            count(&e, |r| matches!(
                r,
                Record::UncertainDelivery {
                    source: Source::PatientBolus,
                    ..
                }
            )) >= 1
        );
    }

    #[test]
    fn an_ended_trial_comes_back_ended_without_an_alarm() {
        let mut e = running(MORPHINE);
        run_to(&mut e, at("1h"));
        e.end(at("1h")).unwrap();
        let total = e.delivered_total();
        let e = restart(e, at("2h"));
        assert_eq!(e.state(), State::Ended);
        assert_eq!(e.delivered_total(), total);
        assert_eq!(count(&e, |r| matches!(r, Record::PowerRestored { .. })), 0);
        assert!(e.active_alarms().next().is_none());
        assert_eq!(e.next_wake(), None);
    }
}
