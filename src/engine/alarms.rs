//! Sensors and alarms: reading the pressure, the reservoir and the plunger, raising and clearing
//! alarms and what a HIGH one stops, the tones and lights, and the nurse's acknowledgement and
//! silencing.

use super::{Engine, EngineError};
use crate::core::supervisor::{Alarm, AlarmKind, Priority, State, Trigger};
use crate::core::units::{Duration, Timestamp, Volume, VolumeRate};
use crate::hw::{Direction, PumpHardware};
use crate::journal::{Record, Role};

/// Sensor reads missed in a row before the health check calls the sensor silent.
const SILENT_AFTER_READS: u64 = 3;

/// While the pressure is taken off a blocked line, it is read this often (the load cell's mean
/// of about 20 conversions).
pub(super) const RELIEF_READ: Duration = Duration::from_secs(2);
/// The relief stops when the pressure is within this of the open line's, or three of the
/// noise's deviations when larger, mmHg.
const RELIEF_WITHIN_MMHG: f64 = 2.0;
/// The relief's steps after the first back-off, at most.
const RELIEF_STEPS: u32 = 20;

/// The pressure being taken off a blocked line after the occlusion alarm (issue 20: what the
/// line stored must not reach the patient as a bolus when it is cleared). The first back-off
/// is an estimate; the pressure then shows what it left, and each further step takes off the
/// rest at the compliance the last step showed. It goes down to what the open line held at
/// its working pressure before the rise (which drains whenever delivery stops, blocked or not),
/// never further, and never takes more in all than the trip's pressure times the softest
/// plausible line's compliance. A new syringe or a resume ends it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Relief {
    /// What the open line held before the rise, mmHg: the lower of the pressure before it
    /// and the open line's model (a rise found late, or a line still settling when it was
    /// blocked, has the first too high; a line not yet learned may have the second too high).
    /// Too low draws back a little from the catheter; too high leaves a bolus in the line.
    target_mmhg: f64,
    /// The pressure before the last step, and what that step took back, µL.
    last_mmhg: f64,
    last_ul: f64,
    /// Taken back so far, and the most it may be, µL.
    taken_ul: f64,
    most_ul: f64,
    steps: u32,
}

impl<H: PumpHardware> Engine<H> {
    // ---- sensors ---------------------------------------------------------------------------

    pub(super) fn read_sensors(&mut self, now: Timestamp) -> Result<(), EngineError> {
        if !self.hw.reservoir_present().unwrap_or(false) {
            self.raise(now, AlarmKind::ReservoirMissing, None, None)?;
        }
        match self.hw.read_pressure_mmhg() {
            Err(e) => {
                tracing::warn!(error = %e, "sensor");
                self.raise(now, AlarmKind::SensorFault, None, None)?;
            }
            Ok(p) => {
                self.last_sample = Some(now);
                let stuck_after = self.cfg.sensors.stuck_after;
                self.last_readings.push(p);
                if self.last_readings.len() > stuck_after {
                    self.last_readings.remove(0);
                }
                let stuck = self.sensor_stuck();
                if stuck || !p.is_finite() && p != f64::INFINITY {
                    self.raise(now, AlarmKind::SensorFault, None, None)?;
                } else if self.state.delivers()
                    && let Some(d) = self.detect_occlusion(now, p)
                {
                    let pressure = d.trip.pressure_mmhg();
                    let line = self.detector.line();
                    tracing::warn!(
                        at_ms = now.ms(),
                        trip = ?d.trip,
                        since_onset_s = d.since_onset.map(|o| o.ms() / 1000),
                        stored_ul = d.stored_ul,
                        model_mmhg = self.detector.model_mmhg(),
                        noise_mmhg = self.detector.noise_mmhg(),
                        compliance_ul_per_mmhg = line.compliance_ul_per_mmhg,
                        resistance_mmhg_per_ml_h = line.resistance_mmhg_per_ml_h,
                        "occlusion found"
                    );
                    self.raise(now, AlarmKind::Occlusion, Some(pressure), d.since_onset)?;
                    let model_mmhg = self.detector.model_mmhg();
                    let taken_ul = self.back_off(now, pressure, d.stored_ul)?;
                    let [_, softest] = self.cfg.occlusion.line_compliance_range_ul_per_mmhg;
                    self.relief = (taken_ul > 0.0).then_some(Relief {
                        target_mmhg: d.before_mmhg.min(model_mmhg).max(0.0),
                        last_mmhg: pressure,
                        last_ul: taken_ul,
                        taken_ul,
                        most_ul: pressure.max(0.0) * softest,
                        steps: 0,
                    });
                } else if !self.state.delivers() {
                    self.relieve(now, p)?;
                }
            }
        }
        let position = match self.hw.plunger_position() {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "plunger position");
                return self.raise(now, AlarmKind::SensorFault, None, None);
            }
        };
        if let Some(measured) = position {
            let expected = i64::try_from(self.steps.net_forward()).unwrap_or(i64::MAX);
            if expected.abs_diff(measured) > self.cfg.sensors.stall_tolerance_steps {
                self.raise(now, AlarmKind::MotorStall, None, None)?;
            }
        }
        Ok(())
    }

    /// A reading for the occlusion detector, traced (at trace level: one line per reading)
    /// with the open line's model beside it, to follow a decision afterwards.
    fn detect_occlusion(
        &mut self,
        now: Timestamp,
        measured_mmhg: f64,
    ) -> Option<crate::core::occlusion::Detection> {
        let d = self.detector.detect(now, measured_mmhg);
        tracing::trace!(
            at_ms = now.ms(),
            measured_mmhg,
            model_mmhg = self.detector.model_mmhg(),
            noise_mmhg = self.detector.noise_mmhg(),
            "occlusion reading"
        );
        d
    }

    /// The sensor's last `stuck_after` readings are all the same.
    fn sensor_stuck(&self) -> bool {
        let n = self.cfg.sensors.stuck_after;
        n > 0
            && self.last_readings.len() == n
            && self
                .last_readings
                .iter()
                .all(|&r| r == self.last_readings[0])
    }

    /// After an occlusion: pull the plunger back by the volume the blockage stored, so that
    /// little is released when the line clears: as the detector estimates it (what was pushed
    /// since the rise began, within the pressure times the nominal and the softest plausible
    /// compliance), or for a threshold trip the pressure times the nominal compliance.
    /// Returns what was taken back, µL.
    fn back_off(
        &mut self,
        now: Timestamp,
        excess_mmhg: f64,
        stored_ul: Option<f64>,
    ) -> Result<f64, EngineError> {
        if !self.cfg.occlusion.backoff || !excess_mmhg.is_finite() {
            return Ok(0.0);
        }
        let stored_ul = stored_ul
            .unwrap_or(excess_mmhg * self.cfg.occlusion.line_compliance_ul_per_mmhg)
            .max(0.0);
        self.pull_back(now, stored_ul)
    }

    /// A relief step at a reading while delivery is stopped (see [`Relief`]).
    fn relieve(&mut self, now: Timestamp, measured_mmhg: f64) -> Result<(), EngineError> {
        let Some(mut r) = self.relief.take() else {
            return Ok(());
        };
        let within = (3.0 * self.detector.noise_mmhg()).max(RELIEF_WITHIN_MMHG);
        let excess = measured_mmhg - r.target_mmhg;
        if excess <= within || r.steps >= RELIEF_STEPS {
            tracing::info!(
                pressure_mmhg = measured_mmhg,
                open_line_mmhg = r.target_mmhg,
                taken_ul = r.taken_ul,
                steps = r.steps,
                "the pressure is off the blocked line"
            );
            return Ok(());
        }
        // The compliance the last step showed: what it took over the pressure it took off,
        // within the plausible range. A step that took off too little to tell counts at the
        // line's learned compliance.
        let [stiffest, softest] = self.cfg.occlusion.line_compliance_range_ul_per_mmhg;
        let dropped = r.last_mmhg - measured_mmhg;
        let compliance = if dropped > within {
            (r.last_ul / dropped).clamp(stiffest, softest)
        } else {
            self.detector.line().compliance_ul_per_mmhg
        };
        let volume = (excess * compliance).min(r.most_ul - r.taken_ul);
        let taken = if volume > 0.0 {
            self.pull_back(now, volume)?
        } else {
            0.0
        };
        if taken <= 0.0 {
            return Ok(());
        }
        r.last_mmhg = measured_mmhg;
        r.last_ul = taken;
        r.taken_ul += taken;
        r.steps += 1;
        self.relief = Some(r);
        Ok(())
    }

    /// Pulls the plunger back by `volume_ul` (no further than where it started), written in the
    /// log; returns what was taken back, µL.
    fn pull_back(&mut self, now: Timestamp, volume_ul: f64) -> Result<f64, EngineError> {
        let steps = self
            .profile
            .steps_for(Volume::from_nl((volume_ul.max(0.0) * 1000.0) as u64))
            .min(self.steps.net_forward());
        if steps == 0 {
            return Ok(0.0);
        }
        self.hw.set_motor_enabled(true)?;
        self.hw.step(Direction::Back, steps)?;
        self.hw.set_motor_enabled(false)?;
        self.steps.back += steps;
        let volume = self.profile.volume_of(steps);
        let taken_ul = volume.nl() as f64 / 1000.0;
        self.detector.pumped(now, -taken_ul);
        self.journal.push(Record::BackedOff {
            at: now,
            steps,
            volume,
        });
        Ok(taken_ul)
    }

    pub(super) fn check_reservoir(&mut self, now: Timestamp) -> Result<(), EngineError> {
        let remaining = self.reservoir_remaining();
        let r = &self.cfg.reservoir;
        // A switch that cannot be read counts as reached: the safe side.
        if remaining <= r.empty_volume || self.hw.end_of_travel().unwrap_or(true) {
            self.raise(now, AlarmKind::ReservoirEmpty, None, None)?;
            return Ok(());
        }
        let rate = self.volume_rate();
        let low_by_time = !rate.is_zero() && rate.over(r.low_time) >= remaining;
        if remaining < r.low_volume || low_by_time {
            self.raise(now, AlarmKind::ReservoirLow, None, None)?;
        } else {
            self.clear(now, AlarmKind::ReservoirLow);
        }
        Ok(())
    }

    pub(super) fn check_pause(&mut self, now: Timestamp) {
        let Some(since) = self.paused_since else {
            return;
        };
        let reminder = self.cfg.alarms.paused_reminder;
        if now >= since + reminder && !self.has_active(AlarmKind::PausedTooLong) {
            let _ = self.raise(now, AlarmKind::PausedTooLong, None, None);
        }
        if now >= since + reminder * 2
            && let Some(a) = self
                .alarms
                .iter_mut()
                .find(|a| a.kind == AlarmKind::PausedTooLong && a.is_active())
            && a.priority < Priority::Medium
        {
            a.priority = Priority::Medium;
            self.journal.push(Record::AlarmEscalated {
                at: now,
                kind: AlarmKind::PausedTooLong,
                priority: Priority::Medium,
            });
        }
    }

    pub(super) fn check_observation(&mut self, now: Timestamp) {
        if self.observation_until.is_some_and(|until| now >= until) {
            self.observation_until = None;
            self.clear(now, AlarmKind::Observation);
        }
    }

    // ---- alarms ----------------------------------------------------------------------------

    pub(super) fn annunciate(&mut self, now: Timestamp) -> Result<(), EngineError> {
        let top = self
            .active_alarms()
            .filter(|a| a.silenced_until.is_none_or(|s| now >= s))
            .map(|a| a.priority)
            .max();
        // A failed tone or LED must not stop delivery; the screen still shows the alarm. (A
        // tone-failure alarm of its own comes with the power-on self-test.)
        match self.hw.annunciate(top, now.ms()) {
            Ok(()) => self.sounding = top,
            Err(e) => {
                self.sounding = None;
                tracing::error!(error = %e, "alarm indicator");
            }
        }
        Ok(())
    }

    /// The priority the light and tone were last set to show (None: quiet, silenced, or the
    /// driver did not answer).
    pub fn sounding(&self) -> Option<Priority> {
        self.sounding
    }

    /// How long the pressure sensor has given no reading, when that is longer than three of
    /// its read intervals (three reads missed in a row, whatever stopped them): the daemon's
    /// health check, which takes no reading of its own.
    pub fn sensor_silent_for(&self, now: Timestamp) -> Option<Duration> {
        if self.state == State::Ended {
            return None;
        }
        let since = self.last_sample.unwrap_or(self.sampling_since);
        let silent = now.since(since);
        (silent > self.cfg.sensors.read_interval * SILENT_AFTER_READS).then_some(silent)
    }

    /// Whether the trial log failed its last write (and has not been written since).
    pub fn log_failed(&self) -> bool {
        self.log_failed
    }

    /// Makes sure a failed health check stands as its HIGH alarm, which stops delivery and
    /// sounds until the cause has gone and a nurse has acknowledged it. Raised once: an alarm
    /// of that kind that has not cleared is left as it is.
    pub fn raise_for_health(&mut self, now: Timestamp, kind: AlarmKind) {
        if self.state == State::Ended || self.has_uncleared(kind) {
            return;
        }
        tracing::error!(alarm = ?kind, "the health check failed");
        if let Err(e) = self.raise(now, kind, None, None) {
            tracing::error!(error = %e, alarm = ?kind, "the health check's alarm");
        }
        self.persist(now);
    }

    fn has_active(&self, kind: AlarmKind) -> bool {
        self.alarms.iter().any(|a| a.kind == kind && a.is_active())
    }

    /// An alarm of `kind` whose cause has not gone away (acknowledged or not).
    pub(super) fn has_uncleared(&self, kind: AlarmKind) -> bool {
        self.alarms
            .iter()
            .any(|a| a.kind == kind && a.cleared_at.is_none())
    }

    /// An active HIGH alarm whose cause is still present (or not yet acknowledged).
    pub(super) fn high_alarm(&self) -> Option<AlarmKind> {
        self.alarms
            .iter()
            .find(|a| a.is_active() && a.kind.priority() == Priority::High)
            .map(|a| a.kind)
    }

    /// Raises an alarm (once while it is active); a HIGH alarm stops delivery at once.
    pub(super) fn raise(
        &mut self,
        now: Timestamp,
        kind: AlarmKind,
        pressure_mmhg: Option<f64>,
        time_to_alarm: Option<Duration>,
    ) -> Result<(), EngineError> {
        // A sedation alarm cleared by a review but not yet acknowledged is still shown; a new
        // breach then needs an alarm (and a hold) of its own.
        let new_hold = kind == AlarmKind::Sedation && !self.sedation_hold();
        if !self.has_active(kind) || new_hold {
            tracing::warn!(?kind, "alarm");
            let mut alarm = Alarm::new(kind, now);
            alarm.pressure_mmhg = pressure_mmhg;
            alarm.time_to_alarm = time_to_alarm;
            self.journal.push(Record::AlarmRaised {
                at: now,
                kind,
                priority: alarm.priority,
                pressure_mmhg,
                time_to_alarm,
            });
            self.alarms.push(alarm);
        }
        // A HIGH cause stops delivery every time it is seen, even if its alarm is already
        // showing (it may have been raised before delivery started). The state changes first,
        // so that a motor that cannot be disabled is at least never stepped again.
        if kind.priority() == Priority::High && self.state != State::Ended {
            if matches!(self.state, State::Priming | State::Running | State::Paused) {
                self.transition(now, Trigger::HighAlarm)?;
            }
            if let Err(e) = self.stop_delivery(now) {
                tracing::error!(error = %e, "could not disable the motor");
            }
        }
        Ok(())
    }

    /// The cause of an alarm went away (it stays shown until acknowledged if it latches).
    pub(super) fn clear(&mut self, now: Timestamp, kind: AlarmKind) {
        let mut cleared = false;
        for a in self
            .alarms
            .iter_mut()
            .filter(|a| a.kind == kind && a.cleared_at.is_none())
        {
            a.cleared_at = Some(now);
            cleared = true;
        }
        if cleared {
            self.journal.push(Record::AlarmCleared { at: now, kind });
        }
    }

    /// Stops the motor now: an interrupted bolus is recorded with what it gave, the basal stops
    /// without catching up later.
    pub(super) fn stop_delivery(&mut self, now: Timestamp) -> Result<(), EngineError> {
        self.hw.set_motor_enabled(false)?;
        if self.bolus.is_some() {
            self.end_bolus(now, false);
        }
        self.close_piece(now);
        self.basal.set_rate(now, VolumeRate::ZERO);
        self.piece_end = None;
        Ok(())
    }

    /// What the daemon's storage check found (`store::budget::StorageWatch`): `full`, free
    /// space under the stop threshold, stops delivery with the HIGH alarm, and the pump stays
    /// stopped until a check finds space again; `low` sounds the MEDIUM alarm, delivery going
    /// on. The caller releases the reserve before telling `full`, so that these records and
    /// the stop are written.
    pub fn storage_checked(&mut self, now: Timestamp, low: bool, full: bool) {
        self.storage_low = low;
        self.storage_full = full;
        if full {
            if let Err(e) = self.raise(now, AlarmKind::StorageFull, None, None) {
                tracing::error!(error = %e, "the storage alarm");
            }
        } else {
            self.clear(now, AlarmKind::StorageFull);
        }
        if low {
            if !self.has_active(AlarmKind::StorageLow)
                && let Err(e) = self.raise(now, AlarmKind::StorageLow, None, None)
            {
                tracing::error!(error = %e, "the storage alarm");
            }
        } else {
            self.clear(now, AlarmKind::StorageLow);
        }
        self.persist(now);
    }

    /// The outbox's check (`service::pump::integration`): more messages wait for an interface
    /// engine than the site allows (`behind`), or no longer. The LOW alarm follows; delivery
    /// goes on either way.
    pub fn outbox_checked(&mut self, now: Timestamp, behind: bool) {
        self.outbox_behind = behind;
        if behind {
            if !self.has_active(AlarmKind::OutboxBacklog)
                && let Err(e) = self.raise(now, AlarmKind::OutboxBacklog, None, None)
            {
                tracing::error!(error = %e, "the outbox's alarm");
            }
        } else {
            self.clear(now, AlarmKind::OutboxBacklog);
        }
        self.persist(now);
    }

    // ---- the nurse's answer ----------------------------------------------------------------

    /// The nurse acknowledges the alarms: the ones whose cause the pump can no longer see are
    /// cleared; the rest stay until their cause goes.
    pub fn acknowledge(&mut self, now: Timestamp) {
        let kinds: Vec<AlarmKind> = self
            .alarms
            .iter()
            .filter(|a| a.is_active())
            .map(|a| a.kind)
            .collect();
        for kind in kinds {
            if !self.cause_persists(now, kind) {
                self.clear(now, kind);
            }
            self.acknowledge_kind(now, kind, Role::Nurse);
        }
        self.persist(now);
    }

    /// Marks every unacknowledged alarm of `kind` acknowledged by the nurse, logging it once.
    /// Acknowledges the alarms of `kind`, recorded as `by`'s.
    pub(super) fn acknowledge_kind(&mut self, now: Timestamp, kind: AlarmKind, by: Role) {
        let mut newly = false;
        for a in self
            .alarms
            .iter_mut()
            .filter(|a| a.kind == kind && a.acknowledged_at.is_none())
        {
            a.acknowledged_at = Some(now);
            newly = true;
        }
        if newly {
            self.journal
                .push(Record::AlarmAcknowledged { at: now, kind, by });
        }
    }

    pub(super) fn cause_persists(&mut self, now: Timestamp, kind: AlarmKind) -> bool {
        match kind {
            AlarmKind::LogFailure => !self.log_writable(now),
            AlarmKind::ReservoirMissing => !self.hw.reservoir_present().unwrap_or(false),
            AlarmKind::ReservoirEmpty => {
                self.reservoir_remaining() <= self.cfg.reservoir.empty_volume
                    || self.hw.end_of_travel().unwrap_or(true)
            }
            AlarmKind::SensorFault => match self.hw.read_pressure_mmhg() {
                Err(_) => true,
                // A sensor that was stuck and still gives the very same reading is still stuck
                // (a live load cell never repeats itself to the last count for long).
                Ok(p) if self.sensor_stuck() && p == self.last_readings[0] => true,
                Ok(p) if !p.is_finite() && p != f64::INFINITY => true,
                Ok(_) => {
                    // A good reading: the sensor answers, so its silence is over too (the health
                    // check would otherwise raise it again from the age of the last sample).
                    self.last_readings.clear();
                    self.last_sample = Some(now);
                    false
                }
            },
            AlarmKind::MotorStall => true,
            AlarmKind::ReservoirLow => self.reservoir_remaining() < self.cfg.reservoir.low_volume,
            AlarmKind::DoseLimit => self.basal_held,
            AlarmKind::Observation => self.observation_until.is_some(),
            AlarmKind::PausedTooLong => self.state == State::Paused,
            // Only a clinician's review lifts the hold (acknowledging it does not).
            AlarmKind::Sedation => self.sedation_hold(),
            AlarmKind::ObservationMissed => {
                self.track_records();
                self.checks.overdue(now).is_some()
            }
            // The nurse checked the line or the patient: that is the action the alarm asked for.
            AlarmKind::Occlusion | AlarmKind::PowerRestored => false,
            AlarmKind::StuckButton => self.button_fault,
            AlarmKind::SiteCheckMissed => {
                self.track_records();
                self.site
                    .is_some_and(|(_, clock)| clock.overdue(now).is_some())
            }
            // Only a clean site check lifts it: the clinician must hear of it, whoever
            // acknowledges the tone.
            AlarmKind::PossibleInfection => self.has_uncleared(AlarmKind::PossibleInfection),
            // Acknowledging it is the check it asks for.
            AlarmKind::LoginLocked => false,
            // The log stays as the start-up check found it, whoever acknowledges the alarm.
            AlarmKind::LogCheckFailed => true,
            // The trial was programmed with another library: it stands until the trial ends.
            AlarmKind::LibraryChanged => self.state != State::Ended,
            // Only a storage check that finds the space made lifts them.
            AlarmKind::StorageLow => self.storage_low,
            AlarmKind::StorageFull => self.storage_full,
            // Only an outbox check that finds the messages sent lifts it.
            AlarmKind::OutboxBacklog => self.outbox_behind,
        }
    }

    /// Pauses the alarm tones for `for_` (at most 10 minutes; the alarms stay shown, and a new
    /// alarm sounds at once).
    pub fn silence(&mut self, now: Timestamp, for_: Duration, by: Role) -> Duration {
        let for_ = for_.min(Duration::from_mins(10));
        let until = now + for_;
        for a in self.alarms.iter_mut().filter(|a| a.is_active()) {
            a.silenced_until = Some(until);
        }
        self.journal
            .push(Record::AlarmSilenced { at: now, until, by });
        self.persist(now);
        for_
    }
}

#[cfg(test)]
mod tests {
    use crate::core::supervisor::{AlarmKind, Priority, State};
    use crate::core::units::{Duration, Timestamp};
    use crate::engine::Engine;
    use crate::engine::testing::{MORPHINE, at, count, run_to, running};
    use crate::hw::PumpHardware;
    use crate::journal::{Record, Role};
    use crate::sim::{Faults, SimPump};

    fn fault(e: &mut Engine<SimPump>, change: impl Fn(&mut Faults)) {
        let mut f = e.hardware().faults();
        change(&mut f);
        e.hardware_mut().set_faults(f);
    }

    fn alarm(e: &Engine<SimPump>, kind: AlarmKind) -> crate::core::supervisor::Alarm {
        e.alarms()
            .iter()
            .rev()
            .find(|a| a.kind == kind)
            .unwrap_or_else(|| panic!("no {kind:?} alarm"))
            .clone()
    }

    fn raised(e: &Engine<SimPump>, kind: AlarmKind) -> usize {
        count(
            e,
            |r| matches!(r, Record::AlarmRaised { kind: k, .. } if *k == kind),
        )
    }

    #[test]
    fn an_occlusion_stops_delivery_and_is_the_high_alarm_until_the_nurse_acknowledges_it() {
        let mut e = running(MORPHINE);
        run_to(&mut e, at("1h"));
        fault(&mut e, |f| f.occluded = true);
        run_to(&mut e, at("4h"));
        let occlusion = alarm(&e, AlarmKind::Occlusion);
        assert!(occlusion.raised_at > at("1h"));
        assert!(occlusion.pressure_mmhg.is_some_and(|p| p > 0.0));
        assert_eq!(e.state(), State::Alarm);
        assert_eq!(e.high_alarm(), Some(AlarmKind::Occlusion));
        assert_eq!(e.hardware().annunciated, Some(Priority::High));
        assert_eq!(
            e.hardware_mut().motor_enabled_readback().unwrap(),
            Some(false)
        );
        // The plunger was pulled back to release the pressure, and moves no more.
        assert_eq!(count(&e, |r| matches!(r, Record::BackedOff { .. })), 1);
        let stopped_at = e.hardware_mut().plunger_position().unwrap();
        run_to(&mut e, at("5h"));
        assert_eq!(e.hardware_mut().plunger_position().unwrap(), stopped_at);
        // The nurse checked the line: that is what the alarm asked for.
        e.acknowledge(at("5h"));
        let occlusion = alarm(&e, AlarmKind::Occlusion);
        assert_eq!(occlusion.acknowledged_at, Some(at("5h")));
        assert_eq!(occlusion.cleared_at, Some(at("5h")));
        assert_eq!(e.high_alarm(), None);
    }

    #[test]
    fn acknowledging_while_the_cause_persists_keeps_the_alarm() {
        let mut e = running(MORPHINE);
        run_to(&mut e, at("1h"));
        fault(&mut e, |f| f.sensor_out_of_range = true);
        run_to(&mut e, at("1h 1min"));
        assert_eq!(e.high_alarm(), Some(AlarmKind::SensorFault));
        e.acknowledge(at("1h 2min"));
        let sensor = alarm(&e, AlarmKind::SensorFault);
        assert_eq!(sensor.acknowledged_at, Some(at("1h 2min")));
        assert_eq!(sensor.cleared_at, None);
        assert!(sensor.is_active());
        assert_eq!(e.high_alarm(), Some(AlarmKind::SensorFault));
        assert!(e.resume(at("1h 3min")).is_err());
        assert_eq!(e.state(), State::Alarm);
        // Once the sensor reads again, the next acknowledgement clears it and the nurse resumes.
        fault(&mut e, |f| f.sensor_out_of_range = false);
        e.acknowledge(at("1h 4min"));
        assert_eq!(e.high_alarm(), None);
        e.resume(at("1h 5min")).unwrap();
        assert_eq!(e.state(), State::Running);
    }

    #[test]
    fn silencing_lasts_at_most_ten_minutes_and_a_new_alarm_sounds_at_once() {
        let mut e = running(MORPHINE);
        run_to(&mut e, at("1h"));
        e.raise(at("1h"), AlarmKind::StuckButton, None, None)
            .unwrap();
        run_to(&mut e, at("1h 1min"));
        assert_eq!(e.hardware().annunciated, Some(Priority::Medium));
        let paused = e.silence(at("1h 1min"), Duration::from_mins(30), Role::Nurse);
        assert_eq!(paused, Duration::from_mins(10));
        assert_eq!(
            count(&e, |r| matches!(
                r,
                Record::AlarmSilenced { until, by: Role::Nurse, .. } if *until == at("1h 11min")
            )),
            1
        );
        run_to(&mut e, at("1h 5min"));
        assert_eq!(e.hardware().annunciated, None);
        // A medium alarm stops nothing: delivery went on.
        assert_eq!(e.state(), State::Running);
        run_to(&mut e, at("1h 12min"));
        assert_eq!(e.hardware().annunciated, Some(Priority::Medium));
        e.silence(at("1h 12min"), Duration::from_mins(2), Role::Nurse);
        run_to(&mut e, at("1h 13min"));
        assert_eq!(e.hardware().annunciated, None);
        e.raise(at("1h 13min"), AlarmKind::PossibleInfection, None, None)
            .unwrap();
        run_to(&mut e, at("1h 13min") + Duration::from_secs(1));
        assert_eq!(e.hardware().annunciated, Some(Priority::Medium));
    }

    #[test]
    fn an_alarm_is_raised_once_while_it_is_active() {
        let mut e = running(MORPHINE);
        let t = Timestamp::ORIGIN + Duration::from_mins(5);
        e.raise(t, AlarmKind::StuckButton, None, None).unwrap();
        e.raise(t, AlarmKind::StuckButton, None, None).unwrap();
        assert_eq!(raised(&e, AlarmKind::StuckButton), 1);
        assert!(e.has_active(AlarmKind::StuckButton));
        e.clear(t, AlarmKind::StuckButton);
        assert!(!e.has_uncleared(AlarmKind::StuckButton));
        e.acknowledge_kind(t, AlarmKind::StuckButton, Role::Nurse);
        assert!(!e.has_active(AlarmKind::StuckButton));
        // Gone, it is raised again when its cause comes back.
        e.raise(t, AlarmKind::StuckButton, None, None).unwrap();
        assert_eq!(raised(&e, AlarmKind::StuckButton), 2);
        assert_eq!(e.alarms().len(), 2);
    }

    #[test]
    fn an_unplugged_load_cell_is_a_high_alarm_that_keeps_sounding_with_delivery_stopped() {
        let mut e = running(MORPHINE);
        run_to(&mut e, at("1h"));
        fault(&mut e, |f| f.sensor_unplugged = true);
        run_to(&mut e, at("1h 1min"));
        assert_eq!(e.high_alarm(), Some(AlarmKind::SensorFault));
        assert_eq!(e.state(), State::Alarm);
        let plunger = e.hardware_mut().plunger_position().unwrap();
        // Hours later nobody has come: it still sounds, and the plunger has not moved.
        run_to(&mut e, at("5h"));
        assert_eq!(e.sounding(), Some(Priority::High));
        assert_eq!(e.hardware().annunciated, Some(Priority::High));
        assert_eq!(e.hardware_mut().plunger_position().unwrap(), plunger);
        assert_eq!(raised(&e, AlarmKind::SensorFault), 1, "raised once");
    }

    #[test]
    fn a_sensor_silent_for_three_read_intervals_is_found_without_a_reading_of_its_own() {
        let mut e = running(MORPHINE);
        run_to(&mut e, at("1h"));
        // Read every 10 s (config/hardware.toml): up to 30 s without a reading is in order.
        assert_eq!(e.sensor_silent_for(at("1h")), None);
        assert_eq!(e.sensor_silent_for(at("1h 30s")), None);
        let silent = e.sensor_silent_for(at("1h 31s"));
        assert_eq!(silent, Some("31s".parse().unwrap()));
        // The health check raises it as the sensor's HIGH alarm, once.
        e.raise_for_health(at("1h 31s"), AlarmKind::SensorFault);
        e.raise_for_health(at("1h 32s"), AlarmKind::SensorFault);
        assert_eq!(raised(&e, AlarmKind::SensorFault), 1);
        assert_eq!(e.high_alarm(), Some(AlarmKind::SensorFault));
        assert_eq!(e.state(), State::Alarm);
        // The sensor reads again at the next pass: the alarm stays until acknowledged.
        run_to(&mut e, at("1h 2min"));
        assert_eq!(e.sensor_silent_for(at("1h 2min")), None);
        assert_eq!(e.sounding(), Some(Priority::High));
        e.acknowledge(at("1h 3min"));
        assert_eq!(e.high_alarm(), None);
    }

    #[test]
    fn a_reading_taken_to_clear_the_sensor_alarm_ends_its_silence() {
        let mut e = running(MORPHINE);
        run_to(&mut e, at("1h"));
        e.raise_for_health(at("1h 31s"), AlarmKind::SensorFault);
        assert_eq!(e.high_alarm(), Some(AlarmKind::SensorFault));
        // The nurse acknowledges before the next read pass: the acknowledgement's own reading
        // answers, the alarm clears, and the sensor is no longer silent, so the health check
        // does not raise it again at once.
        e.acknowledge(at("1h 31s"));
        assert_eq!(e.high_alarm(), None);
        assert_eq!(e.sensor_silent_for(at("1h 31s")), None);
        assert_eq!(e.sensor_silent_for(at("1h 1min")), None);
    }

    #[test]
    fn an_ended_trial_has_no_sensor_to_watch() {
        let mut e = running(MORPHINE);
        run_to(&mut e, at("1h"));
        e.end(at("1h")).unwrap();
        assert_eq!(e.sensor_silent_for(at("3h")), None);
        e.raise_for_health(at("3h"), AlarmKind::SensorFault);
        assert_eq!(raised(&e, AlarmKind::SensorFault), 0);
    }
}
