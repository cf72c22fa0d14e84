//! The motor's work: the tick, the basal in minute pieces, boluses (scheduled, the patient's,
//! the clinician's), rate changes, pause and resume, the reservoir, and the accounting in steps
//! that every total is computed from.

use super::{Engine, EngineError, SOURCES, Said, in_english, mechanism_verdict};
use crate::core::dose::{Denial, PcaDecision, RECORD_INTERVAL, Source};
use crate::core::finding::{Class, Verdict};
use crate::core::program;
use crate::core::scheduler::BolusScheduler;
use crate::core::supervisor::{self, Alarm, AlarmKind, Priority, State, Trigger};
use crate::core::tr;
use crate::core::units::{Amount, AmountRate, Duration, Timestamp, Volume, VolumeRate};
use crate::hw::button::ButtonEvent;
use crate::hw::{Direction, PumpHardware};
use crate::journal::{Record, Role};

/// A bolus being given.
#[derive(Debug, Clone)]
pub(super) struct ActiveBolus {
    pub(super) source: Source,
    pub(super) requested: Amount,
    pub(super) schedule: BolusScheduler,
}

/// The counts that make up the pump's accounting, kept exact in steps.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct StepCounts {
    /// Forward steps since the reservoir was loaded, per source.
    pub(super) forward: [u64; 5],
    /// Back-off steps since the reservoir was loaded.
    pub(super) back: u64,
    /// Priming steps since the reservoir was loaded (they left the syringe, but are not dose).
    pub(super) primed: u64,
    /// Steps and amount already recorded per source, and what the current piece holds.
    pub(super) recorded_amount: [Amount; 5],
    pub(super) piece_steps: [u64; 5],
    /// Forward steps before the current reservoir (per source), for totals over the trial.
    pub(super) before_reservoir: [u64; 5],
}

impl StepCounts {
    /// How far the plunger has moved since the reservoir was loaded.
    pub(super) fn net_forward(&self) -> u64 {
        (self.forward.iter().sum::<u64>() + self.primed).saturating_sub(self.back)
    }
}

/// How long denied presses are counted before their count is written, at most: the count a
/// power failure can lose (the first press of every run is written as it comes). A minute
/// keeps a patient pressing all day to one record a minute, not one a press.
pub const COALESCE_AT_MOST: Duration = Duration::from_mins(1);

/// The most denied presses kept to announce between two publications (each press's call gets
/// its own answer; this bounds only the BolusDecision signals of a flood).
const MAX_ANNOUNCED: usize = 64;

/// A run of denied presses: the reason, the time available, the button and the trial day they
/// share, and the presses counted since its last record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DeniedRun {
    denial: Denial,
    available_at: Option<Timestamp>,
    cord: bool,
    day: u64,
    /// When the run's last record was written: presses are counted for
    /// [`COALESCE_AT_MOST`] after it, then the next is written as it comes.
    opened: Timestamp,
    count: u32,
    first: Option<Timestamp>,
}

impl<H: PumpHardware> Engine<H> {
    // ---- running ---------------------------------------------------------------------------

    /// When the engine next needs to run (a step falls due, the sensor is read, a minute
    /// piece ends, a scheduled event comes).
    pub fn next_wake(&self) -> Option<Timestamp> {
        if self.state == State::Ended {
            return None;
        }
        let mut wake = vec![self.next_read];
        if self.state.delivers() {
            wake.extend(self.basal.next_step_at());
            wake.extend(self.bolus.as_ref().and_then(|b| b.schedule.next_step_at()));
            wake.extend(self.piece_end);
        }
        if let Some(b) = self.program.boluses.get(self.next_scheduled) {
            wake.push(self.start + b.at);
        }
        if let Some(s) = self.program.titration.get(self.next_titration) {
            wake.push(self.start + s.at);
        }
        wake.extend(self.observation_until);
        wake.extend(self.denied_run_wake());
        wake.extend(self.checks.wakes());
        wake.extend(self.site.and_then(|(_, clock)| clock.wake()));
        if let Some(p) = self.paused_since {
            wake.push(p + self.cfg.alarms.paused_reminder);
            wake.push(p + self.cfg.alarms.paused_reminder * 2);
        }
        wake.into_iter()
            .filter(|&t| self.last_tick.is_none_or(|last| t > last))
            .min()
    }

    /// Does everything due by `now`.
    pub fn tick(&mut self, now: Timestamp) -> Result<(), EngineError> {
        if self.state == State::Ended {
            // The trial is over: the button's presses are nobody's requests now.
            let _ = self.hw.button_events();
            // Denied presses counted after the end are written in time all the same.
            self.end_denied_run(now);
            self.persist(now);
            return Ok(());
        }
        self.last_tick = Some(self.last_tick.map_or(now, |last| last.max(now)));
        // Every step after delivery runs even when delivery failed: the sensors are still read,
        // the alarms still checked, sounded and written. The first failure is returned.
        let delivered = self.program_events(now).and_then(|()| {
            if self.state.delivers() && self.high_alarm().is_none() && !self.log_failed {
                self.deliver(now)
            } else {
                Ok(())
            }
        });
        let sensed = if now >= self.next_read {
            let read = self.read_sensors(now);
            let interval = if self.relief.is_some() {
                super::alarms::RELIEF_READ.min(self.cfg.sensors.read_interval)
            } else {
                self.cfg.sensors.read_interval
            };
            while self.next_read <= now {
                self.next_read = self.next_read + interval;
            }
            read
        } else {
            Ok(())
        };
        let reservoir = self.check_reservoir(now);
        self.check_pause(now);
        self.check_observation(now);
        self.watch_checks(now);
        self.watch_site(now);
        self.poll_button(now);
        self.end_denied_run(now);
        let sounded = self.annunciate(now);
        self.persist(now);
        self.tick_sink(now);
        self.probe_log(now);
        self.compact(now);
        delivered.and(sensed).and(reservoir).and(sounded)
    }

    /// Titration steps and scheduled boluses whose time has come.
    fn program_events(&mut self, now: Timestamp) -> Result<(), EngineError> {
        while let Some(step) = self.program.titration.get(self.next_titration).copied() {
            if self.start + step.at > now {
                break;
            }
            self.next_titration += 1;
            self.set_basal(now, step.basal, Role::Pump);
        }
        while let Some(b) = self.program.boluses.get(self.next_scheduled).copied() {
            let due = self.start + b.at;
            if due > now || self.held_scheduled {
                // Not yet; or held, waiting for the nurse's answer.
                break;
            }
            if !self.delivering_now() {
                // Due while delivery is stopped (paused, or a HIGH alarm): held, never given
                // late on its own; the nurse is asked when delivery runs again. Before the
                // start (priming) it waits: it comes with the start.
                if matches!(self.state, State::Paused | State::Alarm | State::Running) {
                    self.held_scheduled = true;
                    self.journal.push(Record::ScheduledBolusHeld {
                        at: now,
                        due,
                        dose: b.dose,
                    });
                    tracing::warn!(dose = %b.dose, "a scheduled bolus fell due while delivery was stopped: held");
                }
                break;
            }
            if self.bolus.is_some() {
                // A bolus in progress: this one follows when it ends.
                break;
            }
            self.next_scheduled += 1;
            self.start_scheduled_bolus(now, b.dose)?;
        }
        Ok(())
    }

    /// Delivery runs: the pump is running and no HIGH alarm stands.
    fn delivering_now(&self) -> bool {
        self.state == State::Running && self.high_alarm().is_none()
    }

    /// Starts the scheduled bolus of `dose` now; one the dose limits refuse is logged as
    /// refused and raises the dose-limit alarm (counted in `next_scheduled` either way).
    fn start_scheduled_bolus(&mut self, now: Timestamp, dose: Amount) -> Result<(), EngineError> {
        if let Err(denial) = self.start_bolus(now, dose, Source::ScheduledBolus) {
            // Logged only, in English (a restart reads "scheduled bolus" back).
            self.journal.push(Record::Refused {
                at: now,
                what: format!("scheduled bolus of {}", dose.in_unit(self.entry.unit)),
                reason: in_english(|| denial.explain()),
                by: Role::Pump,
            });
            self.raise(now, AlarmKind::DoseLimit, None, None)?;
        }
        Ok(())
    }

    /// The bolus being given now: where it comes from, its dose, and the part of it given so
    /// far (as the mechanism's steps have it). None between boluses.
    pub fn bolus_under_way(&self) -> Option<(Source, Amount, Amount)> {
        self.bolus.as_ref().map(|b| {
            let total = b.schedule.total.max(1);
            let given_ng = u128::from(b.requested.ng())
                * u128::from(b.schedule.issued().min(total))
                / u128::from(total);
            (
                b.source,
                b.requested,
                Amount::from_ng(u64::try_from(given_ng).unwrap_or(u64::MAX)),
            )
        })
    }

    /// The scheduled bolus held because it fell due while delivery was stopped: its dose and
    /// when it was due. None when none is held.
    pub fn held_bolus(&self) -> Option<(Amount, Timestamp)> {
        let b = self.program.boluses.get(self.next_scheduled)?;
        self.held_scheduled.then(|| (b.dose, self.start + b.at))
    }

    /// The nurse's answer about the held scheduled bolus: `give` it now (delivery must be
    /// running; the dose limits apply as to any bolus) or skip it. Logged with the name.
    pub fn decide_held_bolus(
        &mut self,
        now: Timestamp,
        give: bool,
        by: Role,
        name: &str,
    ) -> Result<(), EngineError> {
        let Some((dose, due)) = self.held_bolus() else {
            return Err(EngineError::Refused(
                tr!("no scheduled bolus is held").to_owned(),
            ));
        };
        if give && !self.delivering_now() {
            return Err(EngineError::Refused(
                tr!("delivery is stopped: resume it first, then give the held bolus").to_owned(),
            ));
        }
        if give && self.bolus.is_some() {
            return Err(EngineError::Refused(
                tr!("a bolus is being given: give the held one when it has ended").to_owned(),
            ));
        }
        self.held_scheduled = false;
        self.next_scheduled += 1;
        self.journal.push(Record::HeldBolusDecided {
            at: now,
            due,
            dose,
            give,
            by,
            name: name.to_owned(),
        });
        if give {
            self.start_scheduled_bolus(now, dose)?;
        }
        self.persist(now);
        Ok(())
    }

    pub(super) fn set_basal(&mut self, now: Timestamp, basal: AmountRate, by: Role) {
        let old = self.program.basal;
        self.program.basal = basal;
        let rate = self.volume_rate();
        if self.state == State::Running {
            self.close_piece(now);
            self.basal.set_rate(now, rate);
            self.piece_end = None;
        }
        self.journal.push(Record::RateChanged {
            at: now,
            old,
            new: basal,
            by,
        });
    }

    /// Moves the motor for what is due, within what the ledger authorised.
    fn deliver(&mut self, now: Timestamp) -> Result<(), EngineError> {
        // A minute piece ends: record it, authorise the next.
        if self.piece_end.is_none_or(|end| now >= end) {
            self.close_piece(now);
            let end = now + RECORD_INTERVAL;
            let planned = self
                .basal
                .ideal_steps(end)
                .saturating_sub(self.basal.issued());
            let amount = self.amount_of_steps(planned);
            let upper = self.basal_upper(now);
            match self.ledger.authorize(now, amount, Source::Basal, upper) {
                Ok(()) => {
                    if self.basal_held {
                        self.basal_held = false;
                        self.clear(now, AlarmKind::DoseLimit);
                    }
                }
                Err(denial) => {
                    if !self.basal_held {
                        let reason = in_english(|| denial.explain());
                        tracing::warn!(%reason, "basal held");
                        self.journal.push(Record::Refused {
                            at: now,
                            what: "basal delivery".to_owned(),
                            reason,
                            by: Role::Pump,
                        });
                        self.raise(now, AlarmKind::DoseLimit, None, None)?;
                    }
                    self.basal_held = true;
                }
            }
            self.piece_end = Some(end);
            // The intent goes to the log before the motor moves.
            let basal_steps = if self.basal_held { 0 } else { planned };
            let (bolus_steps, bolus_source) = self
                .bolus
                .as_ref()
                .map_or((0, None), |b| (b.schedule.due(end), Some(b.source)));
            if basal_steps + bolus_steps > 0 {
                self.journal.push(Record::Intent {
                    at: now,
                    until: end,
                    basal_steps,
                    bolus_steps,
                    bolus_source,
                });
            }
            if !self.persist(now) {
                return Ok(());
            }
        }
        if self.log_failed {
            return Ok(());
        }
        let mut forward: Vec<(Source, u64)> = Vec::with_capacity(2);
        if self.basal_held {
            self.basal.skip_to(now);
        } else {
            let due = self.basal.due(now);
            if due > 0 {
                forward.push((Source::Basal, due));
            }
        }
        if let Some(b) = &self.bolus {
            let due = b.schedule.due(now);
            if due > 0 {
                forward.push((b.source, due));
            }
        }
        let total: u64 = forward.iter().map(|f| f.1).sum();
        if total == 0 {
            return self.finish_bolus_if_done(now);
        }
        if let Err(e) = self.hw.step(Direction::Forward, total) {
            // The mechanism did not take the steps: stop, as for a stall.
            tracing::error!(error = %e, "motor");
            return self.raise(now, AlarmKind::MotorStall, None, None);
        }
        for (source, steps) in forward {
            let i = source.index();
            self.steps.forward[i] += steps;
            self.steps.piece_steps[i] += steps;
            if source == Source::Basal {
                self.basal.issue(steps);
            } else if let Some(b) = &mut self.bolus {
                b.schedule.issue(steps);
            }
        }
        let ul = self.profile.volume_of(total).nl() as f64 / 1000.0;
        self.detector.pumped(now, ul);
        self.finish_bolus_if_done(now)
    }

    /// Records the current piece (what was delivered since the last record) in the ledger
    /// and the journal, one row per source.
    pub(super) fn close_piece(&mut self, now: Timestamp) {
        for (i, &source) in SOURCES.iter().enumerate() {
            let steps = self.steps.piece_steps[i];
            if steps == 0 {
                continue;
            }
            // Amounts come from the exact cumulative step count, so rounding never drifts.
            let cumulative = self.amount_of_steps(self.total_steps(source));
            let amount = cumulative.saturating_sub(self.steps.recorded_amount[i]);
            self.steps.recorded_amount[i] = cumulative;
            self.steps.piece_steps[i] = 0;
            if let Err(e) = self.ledger.record(now, amount, source) {
                tracing::error!(error = %e, "ledger refused a record");
            }
            self.journal.push(Record::Delivery {
                at: now,
                source,
                steps,
                amount,
                volume: self.profile.volume_of(steps),
            });
        }
        self.piece_started = now;
    }

    // ---- boluses ---------------------------------------------------------------------------

    /// Starts a bolus the ledger authorises, or says why not.
    fn start_bolus(&mut self, now: Timestamp, dose: Amount, source: Source) -> Result<(), Denial> {
        if self.bolus.is_some() {
            return Err(Denial::BolusInProgress);
        }
        self.close_piece(now);
        let upper = self.basal_upper(now);
        if source != Source::PatientBolus {
            self.ledger.authorize(now, dose, source, upper)?;
        }
        self.begin_bolus(now, dose, source);
        Ok(())
    }

    /// Starts a bolus already authorised (and reserved) by the ledger.
    fn begin_bolus(&mut self, now: Timestamp, dose: Amount, source: Source) {
        let volume = self.program.concentration.volume_for(dose);
        let schedule =
            BolusScheduler::new(self.profile, now, volume, self.cfg.mechanism.bolus_rate);
        self.journal.push(Record::BolusStarted {
            at: now,
            source,
            requested: dose,
            steps: schedule.total,
        });
        self.bolus = Some(ActiveBolus {
            source,
            requested: dose,
            schedule,
        });
        // A new piece, so that the bolus has its own intent before its first step, at once.
        self.piece_end = None;
        self.last_tick = None;
    }

    fn finish_bolus_if_done(&mut self, now: Timestamp) -> Result<(), EngineError> {
        if self.bolus.as_ref().is_some_and(|b| b.schedule.is_done()) {
            self.end_bolus(now, true);
        }
        Ok(())
    }

    pub(super) fn end_bolus(&mut self, now: Timestamp, complete: bool) {
        let Some(b) = self.bolus.take() else { return };
        self.close_piece(now);
        self.ledger.release_pending();
        let delivered = self.amount_of_steps(b.schedule.issued());
        self.journal.push(Record::BolusEnded {
            at: now,
            source: b.source,
            requested: b.requested,
            delivered,
            complete,
        });
        if b.source == Source::ScheduledBolus
            && let Some(observe) = self.program.observe
        {
            self.observation_until = Some(now + observe);
            if !self
                .alarms
                .iter()
                .any(|a| a.kind == AlarmKind::Observation && a.is_active())
            {
                self.alarms.push(Alarm::new(AlarmKind::Observation, now));
                self.journal.push(Record::AlarmRaised {
                    at: now,
                    kind: AlarmKind::Observation,
                    priority: Priority::Info,
                    pressure_mmhg: None,
                    time_to_alarm: None,
                });
            }
        }
    }

    // ---- patient and clinician boluses -----------------------------------------------------

    /// The patient presses the bolus button.
    pub fn request_pca(&mut self, now: Timestamp) -> PcaDecision {
        self.request_pca_from(now, false)
    }

    /// What the patient's button on its cord did (`PumpHardware::button_events`): a press asks
    /// for a bolus exactly as the screen's button does (logged as from the cord); a stuck or
    /// chattering button raises a MEDIUM alarm instead, and its presses do not count until it is
    /// released and quiet. Called every pass of the control loop, and at once by the simulator.
    pub fn poll_button(&mut self, now: Timestamp) {
        self.take_button(now, true);
    }

    /// The button's events; presses count as requests only when `presses` says so.
    pub(super) fn take_button(&mut self, now: Timestamp, presses: bool) {
        for event in self.hw.button_events() {
            match event {
                ButtonEvent::Pressed if !presses => {
                    tracing::info!("bolus button on the cord pressed before the trial: ignored");
                }
                ButtonEvent::Pressed => {
                    let decision = self.request_pca_from(now, true);
                    tracing::info!(?decision, "bolus button on the cord pressed");
                }
                ButtonEvent::Fault(fault) => {
                    tracing::warn!(?fault, "bolus button on the cord stuck or faulty");
                    self.button_fault = true;
                    if let Err(e) = self.raise(now, AlarmKind::StuckButton, None, None) {
                        tracing::error!(error = %e, "stuck button");
                    }
                }
                ButtonEvent::Recovered => {
                    tracing::info!("bolus button on the cord released and quiet again");
                    self.button_fault = false;
                    self.clear(now, AlarmKind::StuckButton);
                }
            }
        }
    }

    fn request_pca_from(&mut self, now: Timestamp, cord: bool) -> PcaDecision {
        self.track_records();
        let decision = if self.sedation_hold() {
            // Before "not delivering": the patient is told why, and that the nurse must come.
            PcaDecision::Denied {
                denial: Denial::SedationHold,
                available_at: None,
            }
        } else if self.state != State::Running || self.log_failed || self.high_alarm().is_some() {
            PcaDecision::Denied {
                denial: Denial::NotDelivering,
                available_at: None,
            }
        } else if self.checks_overdue_twice(now) {
            PcaDecision::Denied {
                denial: Denial::ObservationOverdue,
                available_at: None,
            }
        } else if self.bolus.is_some() {
            PcaDecision::Denied {
                denial: Denial::BolusInProgress,
                available_at: None,
            }
        } else {
            self.close_piece(now);
            let upper = self.basal_upper(now);
            self.ledger.request_pca(now, upper)
        };
        match decision {
            PcaDecision::Granted { dose } => {
                self.flush_denied(now);
                self.denied = None;
                self.journal.push(Record::PcaRequest {
                    at: now,
                    granted: true,
                    denial: None,
                    available_at: None,
                    cord,
                    presses: 1,
                    since: None,
                });
                self.begin_bolus(now, dose, Source::PatientBolus);
                if !self.persist(now) {
                    // The log failed: delivery stopped with a HIGH alarm, nothing was given.
                    return PcaDecision::Denied {
                        denial: Denial::NotDelivering,
                        available_at: None,
                    };
                }
            }
            PcaDecision::Denied {
                denial,
                available_at,
            } => self.note_denied(now, denial, available_at, cord),
        }
        self.persist(now);
        decision
    }

    /// A denied press: the first of a run is written as it comes; the next ones denied for the
    /// same reason, with the same time available, from the same button, on the same trial day,
    /// within [`COALESCE_AT_MOST`] of the run's last record, are counted (see
    /// `Record::PcaRequest::presses`) and each announced all the same. Presses minutes apart
    /// are each written, as before; a flood is one record a minute at most.
    fn note_denied(
        &mut self,
        now: Timestamp,
        denial: Denial,
        available_at: Option<Timestamp>,
        cord: bool,
    ) {
        let day = self.trial_day(now);
        let press = Record::PcaRequest {
            at: now,
            granted: false,
            denial: Some(denial),
            available_at,
            cord,
            presses: 1,
            since: None,
        };
        if let Some(run) = self.denied.as_mut()
            && run.denial == denial
            && run.available_at == available_at
            && run.cord == cord
            && run.day == day
            && now.since(run.opened) < COALESCE_AT_MOST
        {
            run.count += 1;
            run.first.get_or_insert(now);
            if self.announce.len() < MAX_ANNOUNCED {
                self.announce.push(press);
            }
            return;
        }
        self.flush_denied(now);
        self.journal.push(press);
        self.denied = Some(DeniedRun {
            denial,
            available_at,
            cord,
            day,
            opened: now,
            count: 0,
            first: None,
        });
    }

    /// Writes the presses counted since the run's last record, as one record at `now` (the
    /// run stays open for more).
    pub(super) fn flush_denied(&mut self, now: Timestamp) {
        let Some(run) = self.denied.as_mut() else {
            return;
        };
        if run.count == 0 {
            return;
        }
        let record = Record::PcaRequest {
            at: now,
            granted: false,
            denial: Some(run.denial),
            available_at: run.available_at,
            cord: run.cord,
            presses: run.count,
            since: run.first,
        };
        run.count = 0;
        run.first = None;
        run.opened = now;
        self.journal.push(record);
    }

    /// Ends the run of denied presses when its time has passed: the time available came, or
    /// its oldest press counted is [`COALESCE_AT_MOST`] old (so that a power failure loses at
    /// most that much of the count).
    pub(super) fn end_denied_run(&mut self, now: Timestamp) {
        let Some(run) = self.denied.as_ref() else {
            return;
        };
        let over = run.available_at.is_some_and(|t| now >= t) || run.day != self.trial_day(now);
        let old = run.first.is_some_and(|f| now.since(f) >= COALESCE_AT_MOST);
        if over || old {
            self.flush_denied(now);
        }
        if over {
            self.denied = None;
        }
    }

    /// When the run of denied presses must next be looked at (see `end_denied_run`).
    pub(super) fn denied_run_wake(&self) -> Option<Timestamp> {
        let run = self.denied.as_ref()?;
        let first = run.first.map(|f| f + COALESCE_AT_MOST);
        [first, run.available_at.filter(|_| run.count > 0)]
            .into_iter()
            .flatten()
            .min()
    }

    /// The denied presses counted since the last call, as records to announce (never
    /// written; the BolusDecision signal of each).
    pub fn take_announced(&mut self) -> Vec<Record> {
        std::mem::take(&mut self.announce)
    }

    /// The trial day `now` falls in (0 from the start), as the summary counts days.
    fn trial_day(&self, now: Timestamp) -> u64 {
        now.since(self.start).ms() / Duration::from_days(1).ms()
    }

    /// A clinician gives a bolus. Checked against the library (soft findings need `confirmed`)
    /// and the caps; a refusal by a dose limit is [`EngineError::OverLimit`].
    pub fn clinician_bolus(
        &mut self,
        now: Timestamp,
        dose: Amount,
        confirmed: bool,
    ) -> Result<(), EngineError> {
        let unit = self.entry.unit;
        let what = Said::new(|| tr!("clinician bolus of {dose}", dose = dose.in_unit(unit)));
        // Each in English for the log (the findings confirmed, the reason refused), and in the
        // language in use for the clinician.
        let verdict = self.clinician_bolus_verdict(now, dose);
        let logged = in_english(|| self.clinician_bolus_verdict(now, dose));
        let delivering = self.state == State::Running;
        let refusal = |v: &Verdict| {
            if v.is_rejected() {
                Some(
                    v.problems()
                        .map(|f| f.message.clone())
                        .collect::<Vec<_>>()
                        .join(" "),
                )
            } else if v.class() == Class::Soft && !confirmed {
                Some(tr!("the dose is outside the usual range and was not confirmed").to_owned())
            } else if !delivering {
                Some(Denial::NotDelivering.explain())
            } else {
                None
            }
        };
        if let (Some(shown), Some(log)) = (refusal(&verdict), in_english(|| refusal(&logged))) {
            return Err(self.refuse_bolus(now, what, Said { log, shown }));
        }
        if logged.class() == Class::Soft {
            self.journal.push(Record::Confirmed {
                at: now,
                findings: logged.problems().cloned().collect(),
                by: Role::Clinician,
            });
        }
        let started = self
            .start_bolus(now, dose, Source::ClinicianBolus)
            .map_err(|denial| {
                let reason = Said::new(|| denial.explain());
                self.refuse_bolus(now, what, reason)
            });
        self.persist(now);
        started
    }

    /// A clinician's bolus refused, logged: [`EngineError::OverLimit`] when a dose limit
    /// refused it (its English reason names the limit), else [`EngineError::Refused`].
    fn refuse_bolus(&mut self, now: Timestamp, what: Said, reason: Said) -> EngineError {
        let over_limit = reason.log.contains("limit");
        match self.refuse(now, what, reason, Role::Clinician) {
            EngineError::Refused(m) if over_limit => EngineError::OverLimit(m),
            other => other,
        }
    }

    /// What a clinician's bolus of `dose` now is checked against: the library and, in a bolus
    /// trial, the screening rule (it is a screening bolus too).
    fn clinician_bolus_verdict(&self, now: Timestamp, dose: Amount) -> Verdict {
        let mut verdict = program::check_clinician_bolus(&self.entry, "dose", dose);
        let last = self.journal.iter().rev().find_map(|r| match r {
            Record::BolusStarted {
                at,
                source: Source::ScheduledBolus | Source::ClinicianBolus,
                ..
            } => Some(*at),
            _ => None,
        });
        let given = self
            .journal
            .iter()
            .filter(|r| {
                matches!(r, Record::BolusStarted { source, .. }
                    if matches!(source, Source::ScheduledBolus | Source::ClinicianBolus))
            })
            .count();
        let planned_left = self
            .program
            .boluses
            .len()
            .saturating_sub(self.next_scheduled);
        let until_next = self
            .program
            .boluses
            .get(self.next_scheduled)
            .map(|b| (self.started_at() + b.at).since(now));
        verdict.extend(program::check_screening_bolus(
            &self.entry,
            self.trial.kind,
            "dose",
            last.map(|t| now.since(t)),
            until_next,
            given + planned_left + 1,
        ));
        verdict
    }

    // ---- the basal rate --------------------------------------------------------------------

    /// A clinician changes the basal rate (titration).
    pub fn change_rate(
        &mut self,
        now: Timestamp,
        basal: AmountRate,
        confirmed: bool,
    ) -> Result<(), EngineError> {
        // In English: its findings go to the log, refused or confirmed.
        let verdict = in_english(|| self.rate_change_verdict(now, basal));
        if verdict.is_rejected() || (verdict.class() == Class::Soft && !confirmed) {
            let unit = self.entry.unit;
            let what = Said::new(|| tr!("basal rate {rate}", rate = basal.per_day_in(unit)));
            let reason = |v: &Verdict| {
                v.problems()
                    .map(|f| f.message.clone())
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let reason = Said {
                log: reason(&verdict),
                shown: reason(&self.rate_change_verdict(now, basal)),
            };
            return Err(self.refuse(now, what, reason, Role::Clinician));
        }
        if verdict.class() == Class::Soft {
            self.journal.push(Record::Confirmed {
                at: now,
                findings: verdict.problems().cloned().collect(),
                by: Role::Clinician,
            });
        }
        // A change by hand replaces the planned titration: steps still to come are cancelled,
        // and those passed are history (in the journal); the program's basal is the rate in
        // force from now on.
        self.program.titration.clear();
        self.next_titration = 0;
        self.set_basal(now, basal, Role::Clinician);
        self.persist(now);
        Ok(())
    }

    /// Everything a basal change to `basal` now is checked against: the library (KVO counted),
    /// its titration rule for the drug, and the mechanism.
    pub fn rate_change_verdict(&self, now: Timestamp, basal: AmountRate) -> Verdict {
        let mut verdict = program::check_rate_change(&self.entry, &self.program, "basal", basal);
        verdict.extend(program::check_titration_step(
            &self.entry,
            "basal",
            self.program.basal,
            basal,
            self.since_rate_change(now),
        ));
        verdict.extend(mechanism_verdict(
            &self.program,
            &(basal + self.program.kvo_rate()),
            &self.cfg,
        ));
        verdict
    }

    /// Time since the basal rate (or the KVO on top of it) last changed (None if it never did
    /// since the start, or the trial has not started).
    pub fn since_rate_change(&self, now: Timestamp) -> Option<Duration> {
        let last = self
            .journal
            .iter()
            .rev()
            .find_map(|r| match r {
                Record::RateChanged { at, .. } => Some(*at),
                // A KVO carries drug: changing it changes the rate that runs.
                Record::ProgramChanged {
                    at,
                    old_program,
                    program,
                    ..
                } if old_program.kvo != program.kvo => Some(*at),
                _ => None,
            })
            .or_else(|| self.started.then_some(self.start))?;
        Some(now.since(last))
    }

    // ---- pause, resume and the reservoir ---------------------------------------------------

    pub fn pause(&mut self, now: Timestamp) -> Result<(), EngineError> {
        self.transition(now, Trigger::Pause)?;
        self.stop_delivery(now)?;
        self.persist(now);
        Ok(())
    }

    /// The nurse acknowledges every alarm and resumes. Refused while a cause the pump can see
    /// persists (no syringe, empty, sensor or motor fault): those need the nurse to act first.
    pub fn resume(&mut self, now: Timestamp) -> Result<(), EngineError> {
        // Check everything before touching anything: a refused resume acknowledges nothing.
        if supervisor::next(self.state, Trigger::Resume).is_err() {
            let state = self.state;
            let reason = Said::new(|| {
                tr!(
                    "the pump cannot resume while {state}",
                    state = state.words()
                )
            });
            return Err(self.refuse(now, Said::new(|| tr!("resume")), reason, Role::Nurse));
        }
        let high: Vec<AlarmKind> = self
            .alarms
            .iter()
            .filter(|a| a.is_active() && a.kind.priority() == Priority::High)
            .map(|a| a.kind)
            .collect();
        for kind in high {
            if self.cause_persists(now, kind) {
                let reason = Said::new(|| {
                    if kind == AlarmKind::Sedation {
                        tr!("sedation or slow breathing was recorded: a clinician must review the patient before delivery resumes (acknowledging the alarm is not enough)").to_owned()
                    } else if kind.holds_for_good() {
                        format!("{} {}", kind.message(), super::held_for_good())
                    } else {
                        tr!("{alarm} (its cause is still there)", alarm = kind.message())
                    }
                });
                return Err(self.refuse(now, Said::new(|| tr!("resume")), reason, Role::Nurse));
            }
        }
        // Paused or stopped by an alarm while priming, delivery has never run: resuming starts
        // it, and the checklist applies as it does to Start.
        self.refuse_open_checklist(now, || tr!("resume"))?;
        self.acknowledge(now);
        self.transition(now, Trigger::Resume)?;
        self.relief = None;
        let pressure = self.hw.read_pressure_mmhg().unwrap_or(0.0);
        self.detector.restart(now, pressure);
        self.hw.set_motor_enabled(true)?;
        self.basal.set_rate(now, self.volume_rate());
        self.basal.skip_to(now);
        self.piece_end = None;
        self.clear(now, AlarmKind::PausedTooLong);
        if self.uncertain {
            // The nurse checked the patient before resuming: what a crash left uncertain is
            // taken as given.
            self.uncertain = false;
            self.journal.push(Record::UncertainConfirmed {
                at: now,
                by: Role::Nurse,
            });
        }
        self.persist(now);
        Ok(())
    }

    /// The nurse loads a new reservoir (delivery must be paused or stopped by an alarm).
    pub fn change_reservoir(&mut self, now: Timestamp, volume: Volume) -> Result<(), EngineError> {
        if !matches!(self.state, State::Paused | State::Alarm) {
            return Err(self.refuse(
                now,
                Said::new(|| tr!("reservoir change")),
                Said::new(|| tr!("pause delivery first")),
                Role::Nurse,
            ));
        }
        self.close_piece(now);
        // The line being relieved is gone with its syringe: the new one is never pulled back.
        self.relief = None;
        for i in 0..SOURCES.len() {
            self.steps.before_reservoir[i] += self.steps.forward[i];
            self.steps.forward[i] = 0;
        }
        self.steps.back = 0;
        self.steps.primed = 0;
        self.reservoir = volume.min(self.cfg.mechanism.syringe);
        self.journal.push(Record::ReservoirChanged {
            at: now,
            volume: self.reservoir,
            by: Role::Nurse,
        });
        self.clear(now, AlarmKind::ReservoirEmpty);
        self.clear(now, AlarmKind::ReservoirLow);
        self.persist(now);
        Ok(())
    }

    // ---- the accounting in steps -----------------------------------------------------------

    pub(super) fn total_steps(&self, source: Source) -> u64 {
        let i = source.index();
        self.steps.before_reservoir[i] + self.steps.forward[i]
    }

    /// Drug in `steps`, rounded up: a count of what left is never short.
    pub(super) fn amount_of_steps(&self, steps: u64) -> Amount {
        let ng = (u128::from(steps) * u128::from(self.program.concentration.ng_per_ml()))
            .div_ceil(u128::from(self.profile.steps_per_ml));
        Amount::from_ng(u64::try_from(ng).unwrap_or(u64::MAX))
    }

    /// The highest dose rate the basal can run at over the next day, with a margin of one
    /// motor step per recorded piece (steps are whole, so a piece can carry one more than its
    /// exact share).
    pub(super) fn basal_upper(&self, now: Timestamp) -> AmountRate {
        let offset = now.since(self.start);
        let rate = self
            .program
            .max_rate_between(offset, offset + Duration::from_days(1));
        let step = self.amount_of_steps(1).ng() + 1;
        let pieces_per_day = Duration::from_days(1).ms() / RECORD_INTERVAL.ms();
        AmountRate::from_ng_per_day(rate.ng_per_day() + step * pieces_per_day)
    }

    pub(super) fn volume_rate(&self) -> VolumeRate {
        self.program.concentration.volume_rate(self.program.basal) + self.program.kvo
    }
}

#[cfg(test)]
mod tests {
    use crate::core::dose::{Denial, PcaDecision, Source};
    use crate::core::supervisor::State;
    use crate::core::units::{Amount, AmountRate, Duration, Volume};
    use crate::engine::Engine;
    use crate::engine::testing::{MORPHINE, at, count, run_to, running};
    use crate::hw::PumpHardware;
    use crate::journal::{Record, Role};
    use crate::sim::SimPump;

    /// `got` is `want` to within one motor step of drug.
    fn within_a_step(e: &Engine<SimPump>, got: Amount, want: Amount) {
        let step = e.amount_of_steps(1).ng();
        assert!(
            got.ng().abs_diff(want.ng()) <= step,
            "{got} is not {want} to within a step ({step} ng)"
        );
    }

    fn mg_per_day(mg: u64) -> AmountRate {
        AmountRate::from_ng_per_day(mg * 1_000_000)
    }

    fn position(e: &mut Engine<SimPump>) -> Option<i64> {
        e.hardware_mut().plunger_position().unwrap()
    }

    #[test]
    fn an_hour_at_1_mg_a_day_delivers_a_24th_of_a_mg_within_a_step() {
        let mut e = running(MORPHINE);
        run_to(&mut e, at("1h"));
        let want = Amount::from_ng(1_000_000 / 24);
        within_a_step(&e, e.delivered_from(Source::Basal), want);
        // The minute pieces in the journal say the same.
        let recorded: Amount = e
            .journal()
            .iter()
            .filter_map(|r| match r {
                Record::Delivery {
                    source: Source::Basal,
                    amount,
                    ..
                } => Some(*amount),
                _ => None,
            })
            .sum();
        within_a_step(&e, recorded, want);
        assert_eq!(e.delivered_total(), e.delivered_from(Source::Basal));
    }

    /// Every press the journal holds, counting those written together.
    fn presses(e: &Engine<SimPump>) -> (u32, usize) {
        let rows: Vec<u32> = e
            .journal()
            .iter()
            .filter_map(|r| match r {
                Record::PcaRequest { presses, .. } => Some(*presses),
                _ => None,
            })
            .collect();
        (rows.iter().sum(), rows.len())
    }

    #[test]
    fn repeated_denials_are_counted_and_written_when_the_trial_ends() {
        let mut e = running(MORPHINE);
        run_to(&mut e, at("1h"));
        assert!(matches!(
            e.request_pca(at("1h")),
            PcaDecision::Granted { .. }
        ));
        run_to(&mut e, at("1h 10min"));
        // 30 presses a second apart: each is answered, the first is written, the rest counted.
        for s in 0..30 {
            let now = at("1h 10min") + Duration::from_secs(s);
            assert!(matches!(
                e.request_pca(now),
                PcaDecision::Denied {
                    denial: Denial::Lockout { .. },
                    ..
                }
            ));
        }
        assert_eq!(presses(&e), (2, 2), "the grant and the first denial");
        assert_eq!(
            e.take_announced().len(),
            29,
            "each counted press is announced"
        );
        // The end of the trial writes the count.
        e.end(at("1h 11min")).unwrap();
        assert_eq!(presses(&e), (31, 3));
        let Some(Record::PcaRequest {
            presses: 29, since, ..
        }) = e
            .journal()
            .iter()
            .rev()
            .find(|r| matches!(r, Record::PcaRequest { .. }))
        else {
            panic!("the counted presses are one record");
        };
        assert_eq!(*since, Some(at("1h 10min") + Duration::from_secs(1)));
    }

    #[test]
    fn denials_minutes_apart_are_each_written_and_a_count_waits_a_minute_at_most() {
        let mut e = running(MORPHINE);
        run_to(&mut e, at("1h"));
        let _ = e.request_pca(at("1h"));
        run_to(&mut e, at("1h 10min"));
        // Two presses: the second counted; a minute later the pump writes it on its own.
        let _ = e.request_pca(at("1h 10min"));
        let _ = e.request_pca(at("1h 10min") + Duration::from_secs(5));
        assert_eq!(presses(&e), (2, 2));
        run_to(&mut e, at("1h 12min"));
        assert_eq!(presses(&e), (3, 3));
        // A press ten minutes later is written as it comes.
        let _ = e.request_pca(at("1h 22min"));
        assert_eq!(presses(&e), (4, 4));
    }

    #[test]
    fn a_press_inside_the_lockout_is_denied_with_the_time_it_becomes_available() {
        let mut e = running(MORPHINE);
        run_to(&mut e, at("1h"));
        assert_eq!(
            e.request_pca(at("1h")),
            PcaDecision::Granted {
                dose: Amount::from_mcg(50)
            }
        );
        run_to(&mut e, at("1h 10min"));
        let lockout = Denial::Lockout {
            lockout: Duration::from_hours(1),
        };
        assert_eq!(
            e.request_pca(at("1h 10min")),
            PcaDecision::Denied {
                denial: lockout,
                available_at: Some(at("2h")),
            }
        );
        assert_eq!(
            count(&e, |r| matches!(
                r,
                Record::PcaRequest { granted: false, denial: Some(d), available_at: Some(t), .. }
                    if *d == lockout && *t == at("2h")
            )),
            1
        );
        assert_eq!(e.next_bolus_at(at("1h 10min")), Some(at("2h")));
        // The bolus that was granted was given whole.
        within_a_step(
            &e,
            e.delivered_from(Source::PatientBolus),
            Amount::from_mcg(50),
        );
    }

    #[test]
    fn a_pause_stops_the_basal_and_resuming_does_not_catch_up() {
        let mut e = running(MORPHINE);
        run_to(&mut e, at("1h"));
        e.pause(at("1h")).unwrap();
        assert_eq!(e.state(), State::Paused);
        let stopped_at = position(&mut e);
        let given = e.delivered_total();
        run_to(&mut e, at("2h"));
        assert_eq!(position(&mut e), stopped_at);
        assert_eq!(e.delivered_total(), given);
        e.resume(at("2h")).unwrap();
        assert_eq!(e.state(), State::Running);
        run_to(&mut e, at("3h"));
        // Two hours of basal in three: the paused hour is not made up.
        within_a_step(&e, e.delivered_total(), Amount::from_ng(2_000_000 / 24));
    }

    #[test]
    fn a_rate_change_runs_from_its_time_and_one_beyond_the_hard_limit_is_refused() {
        let mut e = running(MORPHINE);
        run_to(&mut e, at("1h"));
        e.change_rate(at("1h"), mg_per_day(2), false).unwrap();
        assert_eq!(e.basal_rate(), mg_per_day(2));
        assert_eq!(
            count(&e, |r| matches!(
                r,
                Record::RateChanged { old, new, by: Role::Clinician, .. }
                    if *old == mg_per_day(1) && *new == mg_per_day(2)
            )),
            1
        );
        assert_eq!(
            e.since_rate_change(at("1h 30min")),
            Some(Duration::from_mins(30))
        );
        run_to(&mut e, at("2h"));
        // An hour at 1 mg/day, then one at 2 mg/day.
        within_a_step(&e, e.delivered_total(), Amount::from_ng(3_000_000 / 24));
        // Above the library's hard maximum (20 mg/day): refused even when confirmed.
        assert!(
            e.rate_change_verdict(at("2h"), mg_per_day(25))
                .is_rejected()
        );
        assert!(e.change_rate(at("2h"), mg_per_day(25), true).is_err());
        assert_eq!(e.basal_rate(), mg_per_day(2));
        assert_eq!(
            count(&e, |r| matches!(
                r,
                Record::Refused { what, by: Role::Clinician, .. } if what.starts_with("basal rate")
            )),
            1
        );
    }

    #[test]
    fn a_new_reservoir_needs_a_pause_and_keeps_the_trials_totals() {
        let mut e = running(MORPHINE);
        run_to(&mut e, at("1h"));
        assert!(e.change_reservoir(at("1h"), Volume::from_ml(10)).is_err());
        assert_eq!(
            count(
                &e,
                |r| matches!(r, Record::Refused { what, .. } if what == "reservoir change")
            ),
            1
        );
        assert!(e.reservoir_remaining() < Volume::from_ml(20));
        e.pause(at("1h")).unwrap();
        let given = e.delivered_total();
        e.change_reservoir(at("1h 5min"), Volume::from_ml(10))
            .unwrap();
        assert_eq!(e.reservoir_loaded(), Volume::from_ml(10));
        assert_eq!(e.reservoir_remaining(), Volume::from_ml(10));
        assert_eq!(e.delivered_total(), given);
        assert_eq!(
            count(&e, |r| matches!(
                r,
                Record::ReservoirChanged { volume, by: Role::Nurse, .. } if *volume == Volume::from_ml(10)
            )),
            1
        );
    }
}
