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
    /// A moment on the pump's clock and the wall clock's time then (ms since 1970, UTC).
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
