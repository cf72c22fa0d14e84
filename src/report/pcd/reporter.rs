//! Which messages a trial makes: [`Reporter`] follows the trial's records as they are written
//! (the live pump, through the trial log's outbox) or as a log holds them (`titra export
//! --format hl7`), keeps what the pump is doing (its state, the rate, the volume delivered, the
//! alarms standing), and says each message when it is due:
//! - DEC PCD-01 every `every` (a minute on the pump) from the start of delivery to the end;
//! - IPEC PCD-10 when delivery starts, stops (a pause, an alarm) or completes (the trial ends),
//!   when the basal rate changes, when a bolus starts and ends;
//! - ACM PCD-04 when an alarm is raised, escalated, acknowledged, silenced, cleared and ends.
//!
//! The same records make the same messages, live or replayed.

use super::acm::{AlarmReport, AlarmState, Inactivation, Phase};
use super::ipec::{Event, EventCode};
use super::{Device, DeviceError, Observation, PumpStatus, mdc, pcd_01, pcd_04, pcd_10};
use crate::core::dose::Source;
use crate::core::program::Program;
use crate::core::supervisor::{AlarmKind, Priority, State};
use crate::core::units::{AmountRate, Concentration, Duration, MassUnit, Timestamp, Volume};
use crate::journal::Record;

/// The kind of an IHE PCD message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// DEC PCD-01, the periodic observation.
    Dec,
    /// ACM PCD-04, an alarm's report.
    Acm,
    /// IPEC PCD-10, a delivery event.
    Ipec,
}

impl Kind {
    /// MSH-9.
    pub fn message_type(self) -> &'static str {
        match self {
            Kind::Dec => "ORU^R01^ORU_R01",
            Kind::Acm => "ORU^R40^ORU_R40",
            // IPEC keeps ORU_R01's structure (IPEC supplement X.1.1).
            Kind::Ipec => "ORU^R42^ORU_R01",
        }
    }

    /// MSH-21.
    pub fn profile(self) -> &'static str {
        match self {
            Kind::Dec => super::PCD_01_PROFILE,
            Kind::Acm => super::PCD_04_PROFILE,
            Kind::Ipec => super::PCD_10_PROFILE,
        }
    }

    /// The transaction's name, as the outbox and the logs say it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Dec => "pcd-01",
            Kind::Acm => "pcd-04",
            Kind::Ipec => "pcd-10",
        }
    }
}

/// A message due: its control id (MSH-10), kind, the moment it reports (the pump's clock) and
/// its text (segments ended by carriage returns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub id: u64,
    pub kind: Kind,
    pub at: Timestamp,
    pub text: String,
}

/// An alarm standing, as reported so far.
#[derive(Debug, Clone)]
struct Standing {
    kind: AlarmKind,
    priority: Priority,
    /// Its identity (OBR-29): its kind and when it was raised, the same after a restart.
    identity: String,
    cleared: bool,
    acknowledged: bool,
}

/// What the pump is doing, followed from its records, and the messages that follow from them.
#[derive(Debug, Clone)]
pub struct Reporter {
    device: Device,
    patient: String,
    drug: String,
    concentration: Concentration,
    unit: MassUnit,
    /// A moment on the pump's clock and the wall clock's time then (ms since 1970, UTC): every
    /// message is dated from it. Moved when the wall clock is set ([`Reporter::anchor_at`]).
    anchor: (Timestamp, u64),
    every: Duration,
    state: State,
    basal: AmountRate,
    delivered: Volume,
    /// When the next DEC is due (None before delivery starts and after the trial ends).
    next_dec: Option<Timestamp>,
    started: bool,
    alarms: Vec<Standing>,
    silenced_until: Option<Timestamp>,
    next_id: u64,
}

impl Reporter {
    /// A reporter for the trial of `patient` on `program`, dated by `anchor` (a moment of the
    /// pump's clock and the wall clock's ms since 1970 then). Messages are numbered from 1.
    pub fn new(
        device: Device,
        patient: &str,
        program: &Program,
        unit: MassUnit,
        anchor: (Timestamp, u64),
        every: Duration,
    ) -> Result<Reporter, DeviceError> {
        device.check()?;
        Ok(Reporter {
            device,
            patient: patient.to_owned(),
            drug: program.drug.clone(),
            concentration: program.concentration,
            unit,
            anchor,
            every: Duration::from_ms(every.ms().max(1_000)),
            state: State::Idle,
            basal: program.basal,
            delivered: Volume::ZERO,
            next_dec: None,
            started: false,
            alarms: Vec::new(),
            silenced_until: None,
            next_id: 1,
        })
    }

    /// The next message's control id.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Numbers the next message `id` (the outbox continues the log's numbering).
    pub fn set_next_id(&mut self, id: u64) {
        self.next_id = id.max(1);
    }

    /// Dates the messages from here on by the wall clock reading `wall_ms` (ms since 1970,
    /// UTC) at `now` on the pump's clock, instead of the anchor it was made with: the wall clock
    /// may have been set since (a pump with no battery-backed clock starts before its time
    /// server answers). Said at info when the wall clock moved by more than a second from where
    /// the anchor put it. An alarm standing keeps its identity (OBR-29), made when it was
    /// raised: its reports stay one alarm.
    pub fn anchor_at(&mut self, now: Timestamp, wall_ms: u64) {
        let projected = self.wall(now);
        let moved = i128::from(wall_ms) - i128::from(projected);
        if moved.abs() > 1_000 {
            tracing::info!(
                was = %crate::time::rfc3339(projected),
                is = %crate::time::rfc3339(wall_ms),
                moved_ms = %moved,
                "the wall clock was set: the messages' times follow it"
            );
        }
        self.anchor = (now, wall_ms);
    }

    /// The wall clock's time (ms since 1970, UTC) at `t` on the pump's clock, by the anchor.
    fn wall(&self, t: Timestamp) -> u64 {
        let offset = i128::from(t.ms()) - i128::from(self.anchor.0.ms());
        u64::try_from(i128::from(self.anchor.1) + offset).unwrap_or(0)
    }

    /// The pump now, under the next control id.
    fn observe(&mut self, at: Timestamp) -> Observation {
        let id = self.next_id;
        self.next_id += 1;
        Observation {
            control_id: id,
            unix_ms: self.wall(at),
            patient: self.patient.clone(),
            status: PumpStatus::of(self.state),
            drug: self.drug.clone(),
            concentration: self.concentration,
            unit: self.unit,
            rate: self.concentration.volume_rate(self.basal),
            delivered: self.delivered,
        }
    }

    // The device was checked when the reporter was made: building a message cannot fail.
    fn push(
        &self,
        out: &mut Vec<Outgoing>,
        kind: Kind,
        at: Timestamp,
        o: &Observation,
        text: Result<String, DeviceError>,
    ) {
        if let Ok(text) = text {
            out.push(Outgoing {
                id: o.control_id,
                kind,
                at,
                text,
            });
        }
    }

    fn dec(&mut self, at: Timestamp, out: &mut Vec<Outgoing>) {
        let o = self.observe(at);
        let text = pcd_01(&self.device, &o);
        self.push(out, Kind::Dec, at, &o, text);
    }

    fn ipec(&mut self, at: Timestamp, code: EventCode, text: &str, out: &mut Vec<Outgoing>) {
        let o = self.observe(at);
        let event = Event {
            code,
            text: text.to_owned(),
        };
        let message = pcd_10(&self.device, &o, &event);
        self.push(out, Kind::Ipec, at, &o, message);
    }

    fn acm(&mut self, at: Timestamp, i: usize, phase: Phase, out: &mut Vec<Outgoing>) {
        let Some(a) = self.alarms.get(i).cloned() else {
            return;
        };
        let state = match phase {
            Phase::End => AlarmState::Inactive,
            _ if a.cleared => AlarmState::Latched,
            _ => AlarmState::Active,
        };
        let inactivation = if a.acknowledged {
            Inactivation::Acknowledged
        } else if self.silenced_until.is_some_and(|u| u > at) {
            Inactivation::AudioPaused
        } else {
            Inactivation::Enabled
        };
        let o = self.observe(at);
        let report = AlarmReport {
            kind: a.kind,
            priority: a.priority,
            phase,
            state,
            inactivation,
            identity: a.identity,
        };
        let message = pcd_04(&self.device, &o, &report);
        self.push(out, Kind::Acm, at, &o, message);
    }

    /// The standing alarm of `kind` (the newest, should there be two).
    fn standing(&self, kind: AlarmKind) -> Option<usize> {
        self.alarms.iter().rposition(|a| a.kind == kind)
    }

    /// Follows one record, and says the messages it makes.
    pub fn record(&mut self, rec: &Record, out: &mut Vec<Outgoing>) {
        match rec {
            Record::StateChanged { at, from, to } => self.state_changed(*at, *from, *to, out),
            Record::Delivery { volume, .. } => {
                self.delivered = Volume::from_nl(self.delivered.nl().saturating_add(volume.nl()));
            }
            Record::RateChanged { at, new, .. } => {
                self.basal = *new;
                if self.started && self.state != State::Ended {
                    self.ipec(
                        *at,
                        EventCode::Local("rate_change"),
                        "Basal rate changed",
                        out,
                    );
                }
            }
            Record::ProgramChanged { program, .. } => {
                self.drug.clone_from(&program.drug);
                self.concentration = program.concentration;
            }
            Record::BolusStarted { at, source, .. } => {
                let text = format!("{} bolus started", bolus_name(*source));
                self.ipec(*at, EventCode::Local("bolus_start"), &text, out);
            }
            Record::BolusEnded {
                at,
                source,
                complete,
                ..
            } => {
                let how = if *complete {
                    "ended"
                } else {
                    "stopped before its end"
                };
                let text = format!("{} bolus {how}", bolus_name(*source));
                self.ipec(*at, EventCode::Local("bolus_end"), &text, out);
            }
            Record::AlarmRaised {
                at, kind, priority, ..
            } => {
                // One standing of a kind: one raised again ends the one before first (it was
                // cleared and not yet acknowledged), so that no alarm is left open.
                if let Some(i) = self.standing(*kind) {
                    self.acm(*at, i, Phase::End, out);
                    self.alarms.remove(i);
                }
                let identity = format!("{}-{}", super::acm::local_code(*kind), self.wall(*at));
                self.alarms.push(Standing {
                    kind: *kind,
                    priority: *priority,
                    identity,
                    cleared: false,
                    acknowledged: false,
                });
                self.acm(*at, self.alarms.len() - 1, Phase::Start, out);
            }
            Record::AlarmEscalated { at, kind, priority } => {
                if let Some(i) = self.standing(*kind) {
                    if let Some(a) = self.alarms.get_mut(i) {
                        a.priority = *priority;
                    }
                    self.acm(*at, i, Phase::Escalate, out);
                }
            }
            Record::AlarmAcknowledged { at, kind, .. } => {
                if let Some(i) = self.standing(*kind) {
                    if let Some(a) = self.alarms.get_mut(i) {
                        a.acknowledged = true;
                    }
                    self.update_or_end(*at, i, out);
                }
            }
            Record::AlarmCleared { at, kind } => {
                if let Some(i) = self.standing(*kind) {
                    if let Some(a) = self.alarms.get_mut(i) {
                        a.cleared = true;
                    }
                    self.update_or_end(*at, i, out);
                }
            }
            Record::AlarmSilenced { at, until, .. } => {
                self.silenced_until = Some(*until);
                for i in 0..self.alarms.len() {
                    self.acm(*at, i, Phase::Update, out);
                }
            }
            _ => {}
        }
    }

    /// An alarm whose cause went and (if it latches) that was acknowledged has ended; otherwise
    /// what changed is reported as an update.
    fn update_or_end(&mut self, at: Timestamp, i: usize, out: &mut Vec<Outgoing>) {
        let Some(a) = self.alarms.get(i) else {
            return;
        };
        if a.cleared && (a.acknowledged || !a.kind.latches()) {
            self.acm(at, i, Phase::End, out);
            self.alarms.remove(i);
        } else {
            self.acm(at, i, Phase::Update, out);
        }
    }

    fn state_changed(&mut self, at: Timestamp, from: State, to: State, out: &mut Vec<Outgoing>) {
        self.state = to;
        match (from, to) {
            (_, State::Running) => {
                let text = if matches!(from, State::Paused | State::Alarm) {
                    "Delivery resumed"
                } else {
                    "Delivery started"
                };
                if !self.started {
                    self.started = true;
                    self.next_dec = Some(at);
                }
                self.ipec(at, EventCode::Mdc(mdc::EVT_PUMP_DELIV_START), text, out);
            }
            (State::Running, State::Paused) => {
                let stop = EventCode::Mdc(mdc::EVT_PUMP_DELIV_STOP);
                self.ipec(at, stop, "Delivery paused", out);
            }
            (State::Running, State::Alarm) => {
                let text = "Delivery stopped by an alarm";
                self.ipec(at, EventCode::Mdc(mdc::EVT_PUMP_DELIV_STOP), text, out);
            }
            (_, State::Ended) if self.started => {
                self.next_dec = None;
                let complete = EventCode::Mdc(mdc::EVT_PUMP_DELIV_COMP);
                self.ipec(at, complete, "Trial ended", out);
            }
            _ => {}
        }
    }

    /// The periodic observation, when one is due by `now` (one, however long since the last:
    /// a pump that was off reports where it is, not the minutes it missed).
    pub fn tick(&mut self, now: Timestamp, out: &mut Vec<Outgoing>) {
        let Some(due) = self.next_dec else {
            return;
        };
        if due > now {
            return;
        }
        self.dec(now, out);
        let mut next = due;
        while next <= now {
            next = next + self.every;
        }
        self.next_dec = Some(next);
    }

    /// The messages a whole log makes, in order: each record's, and the periodic observations
    /// due between them (each dated when it fell due, with what the log says up to then).
    pub fn replay(&mut self, journal: &[Record]) -> Vec<Outgoing> {
        let mut out = Vec::new();
        for rec in journal {
            self.tick_before(rec.at(), &mut out);
            self.record(rec, &mut out);
        }
        if let Some(last) = journal.last() {
            self.tick_before(last.at() + Duration::from_ms(1), &mut out);
        }
        out
    }

    /// The periodic observations due before `t`, each at its own time.
    fn tick_before(&mut self, t: Timestamp, out: &mut Vec<Outgoing>) {
        while let Some(due) = self.next_dec.filter(|&d| d < t) {
            self.tick(due, out);
        }
    }

    /// Follows records without saying their messages (they were said before a restart).
    pub fn catch_up(&mut self, journal: &[Record]) {
        let id = self.next_id;
        let mut ignored = Vec::new();
        for rec in journal {
            self.tick_before(rec.at(), &mut ignored);
            self.record(rec, &mut ignored);
            ignored.clear();
        }
        self.next_id = id;
    }
}

/// A bolus's name by its source, in English.
fn bolus_name(source: Source) -> &'static str {
    match source {
        Source::PatientBolus => "Patient",
        Source::ScheduledBolus => "Scheduled",
        Source::ClinicianBolus => "Clinician",
        Source::Basal | Source::Kvo => "Other",
    }
}

/// The trial log's outbox composes with the reporter: each message goes over HL7 v2 (MLLP).
impl crate::store::outbox::Compose for Reporter {
    fn compose(&mut self, records: &[Record], next_id: u64) -> Vec<crate::store::outbox::Message> {
        self.set_next_id(next_id);
        let mut out = Vec::new();
        for rec in records {
            self.record(rec, &mut out);
        }
        out.into_iter().map(Outgoing::queued).collect()
    }

    fn tick(&mut self, now: Timestamp, next_id: u64) -> Vec<crate::store::outbox::Message> {
        self.set_next_id(next_id);
        let mut out = Vec::new();
        Reporter::tick(self, now, &mut out);
        out.into_iter().map(Outgoing::queued).collect()
    }

    fn boxed_clone(&self) -> Box<dyn crate::store::outbox::Compose> {
        Box::new(self.clone())
    }

    fn due(&self, now: Timestamp) -> bool {
        self.next_dec.is_some_and(|d| d <= now)
    }

    fn anchor(&mut self, now: Timestamp, wall_ms: u64) {
        self.anchor_at(now, wall_ms);
    }
}

impl Outgoing {
    fn queued(self) -> crate::store::outbox::Message {
        crate::store::outbox::Message {
            id: self.id,
            channel: crate::store::outbox::Channel::Hl7,
            kind: self.kind.name(),
            at: self.at,
            body: self.text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::device;
    use super::*;

    /// Morphine 1 mg/mL at 1 mg a day.
    fn program() -> Program {
        toml::from_str(
            "drug = \"morphine\"\nconcentration = \"1 mg/mL\"\nreservoir = \"20 mL\"\nbasal = \"1 mg/day\"\n",
        )
        .unwrap()
    }

    /// MSH-7, the message's time.
    fn msh_7(text: &str) -> &str {
        text.split('|').nth(6).unwrap_or_default()
    }

    /// OBR-7, the observation's time.
    fn obr_7(text: &str) -> &str {
        text.split('\r')
            .find(|s| s.starts_with("OBR|"))
            .and_then(|s| s.split('|').nth(7))
            .unwrap_or_default()
    }

    /// Worked by hand. Anchored at (t0, 1 000 000 ms: 1970-01-01 00:16:40 UTC): delivery starts
    /// at t0 (00:16:40) and an occlusion is raised at t0 + 30 s (00:17:10; its identity the
    /// wall time then, 1 030 000). At t0 + 60 s the wall clock is found to read 5 000 000
    /// (01:23:20): the occlusion's clearing at t0 + 90 s is dated 5 030 000 (01:23:50) and keeps
    /// the identity it was raised with; the DEC at t0 + 120 s is dated 5 060 000 (01:24:20) in
    /// MSH-7 and OBR-7, not 1 120 000 (00:18:40) as the first anchor would have it.
    #[test]
    fn a_message_made_after_a_re_anchor_carries_the_new_wall_time() {
        let t0 = Timestamp::from_ms(3_600_000);
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut r = Reporter::new(
            device(),
            "MRN-1",
            &program(),
            MassUnit::Mg,
            (t0, 1_000_000),
            Duration::from_mins(1),
        )
        .unwrap();
        let mut out = Vec::new();
        r.record(
            &Record::StateChanged {
                at: t0,
                from: State::Priming,
                to: State::Running,
            },
            &mut out,
        );
        r.tick(t0, &mut out);
        r.record(
            &Record::AlarmRaised {
                at: at(30),
                kind: AlarmKind::Occlusion,
                priority: Priority::High,
                pressure_mmhg: None,
                time_to_alarm: None,
            },
            &mut out,
        );
        let kinds: Vec<Kind> = out.iter().map(|m| m.kind).collect();
        assert_eq!(kinds, [Kind::Ipec, Kind::Dec, Kind::Acm]);
        assert_eq!(msh_7(&out[0].text), "19700101001640+0000");
        assert_eq!(msh_7(&out[1].text), "19700101001640+0000");
        assert_eq!(msh_7(&out[2].text), "19700101001710+0000");
        let identity = format!(
            "|^{}-1030000&",
            super::super::acm::local_code(AlarmKind::Occlusion)
        );
        assert!(out[2].text.contains(&identity), "{}", out[2].text);

        // The wall clock set, as the trial log's outbox passes it on.
        crate::store::outbox::Compose::anchor(&mut r, at(60), 5_000_000);
        out.clear();
        r.record(
            &Record::AlarmCleared {
                at: at(90),
                kind: AlarmKind::Occlusion,
            },
            &mut out,
        );
        r.tick(at(120), &mut out);
        let kinds: Vec<Kind> = out.iter().map(|m| m.kind).collect();
        assert_eq!(kinds, [Kind::Acm, Kind::Dec]);
        let (cleared, dec) = (&out[0], &out[1]);
        assert_eq!(msh_7(&cleared.text), "19700101012350+0000");
        assert!(
            cleared.text.contains(&identity),
            "the alarm keeps its identity: {}",
            cleared.text
        );
        assert!(!cleared.text.contains("19700101001810+0000"));
        assert_eq!(dec.at, at(120));
        assert_eq!(msh_7(&dec.text), "19700101012420+0000");
        assert_eq!(obr_7(&dec.text), "19700101012420+0000");
        assert!(!dec.text.contains("19700101001840+0000"));
    }
}
