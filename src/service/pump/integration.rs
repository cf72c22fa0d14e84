//! The pump's messages to the hospital's systems (issue 23), as the daemon holds them: the trial
//! log's outbox set up for the trial in hand when the site names interface engines
//! (`[integration]` of the hardware profile), and the backlog checked from the tick at a fixed
//! interval, with the LOW alarm when too many messages wait. The senders themselves run apart
//! (`service::mllp`): delivery never waits for the network.

use super::PumpService;
use crate::core::program::{Program, Trial};
use crate::core::units::{Duration, Timestamp};
use crate::journal::Record;
use crate::report::pcd;
use crate::store::TrialLog;
use crate::store::outbox::{Channel, Endpoint, Outbox, OutboxReader};

/// How often the periodic observation (DEC PCD-01) is sent: "about one a minute while a trial
/// runs" (issue 23).
pub const REPORT_EVERY: Duration = Duration::from_mins(1);

/// How often the backlog is counted (a query of the outbox's index).
pub const CHECK_EVERY: Duration = Duration::from_mins(1);

/// The outbox's check, as the service holds it.
pub(super) struct OutboxWatch {
    reader: Option<OutboxReader>,
    next_check: Option<Timestamp>,
}

impl OutboxWatch {
    pub(super) fn new() -> OutboxWatch {
        OutboxWatch {
            reader: None,
            next_check: None,
        }
    }
}

impl PumpService {
    /// The endpoints messages are owed to: the interface engines (HL7) and the FHIR servers
    /// (none: the pump reports to no one).
    fn endpoints(&self) -> Vec<Endpoint> {
        self.cfg
            .integration
            .as_ref()
            .map(|i| {
                let engines = i.mllp.iter().map(|e| Endpoint {
                    name: e.name.clone(),
                    channel: Channel::Hl7,
                });
                let servers = i.fhir.iter().map(|e| Endpoint {
                    name: e.name.clone(),
                    channel: Channel::Fhir,
                });
                engines.chain(servers).collect()
            })
            .unwrap_or_default()
    }

    /// Queues the trial summary's FHIR Bundle for the site's FHIR servers: when a clinician has
    /// confirmed the implant's starting dose (the summary is then what the export gives). A
    /// Bundle that cannot be made is said in the system journal; the trial is not affected.
    pub(super) fn queue_summary(&mut self, now: Timestamp) {
        let servers: Vec<Endpoint> = self
            .endpoints()
            .into_iter()
            .filter(|e| e.channel == Channel::Fhir)
            .collect();
        if servers.is_empty() {
            return;
        }
        let queued = self.summary_bundle(now).and_then(|body| {
            let internal =
                |e: crate::store::StoreError| super::ServiceError::Internal(e.to_string());
            let Some(mut log) = self.open_log()? else {
                return Ok(());
            };
            let trial = log.latest_trial().map_err(internal)?;
            log.queue(trial.id, &servers, |id| {
                vec![crate::store::outbox::Message {
                    id,
                    channel: Channel::Fhir,
                    kind: "fhir-bundle",
                    at: now,
                    body,
                }]
            })
            .map_err(internal)
        });
        match queued {
            Ok(()) => tracing::info!(
                servers = servers.len(),
                "the trial summary's FHIR Bundle is queued"
            ),
            Err(e) => {
                tracing::error!(error = %e, "the trial summary's FHIR Bundle could not be queued")
            }
        }
    }

    /// The trial summary's Bundle, as `titra export --format fhir` writes it.
    fn summary_bundle(&self, now: Timestamp) -> Result<String, super::ServiceError> {
        let internal = |e: String| super::ServiceError::Internal(e);
        let summary = self.summary_at(now)?;
        let files = self.trial_files(
            &summary,
            &[crate::report::export::Format::Fhir],
            crate::report::pdf::Paper::A4,
            self.cfg.integration.as_ref(),
            now,
        )?;
        let bundle = files
            .into_iter()
            .find(|f| f.name.ends_with("_fhir.json"))
            .ok_or_else(|| internal("no Bundle".to_owned()))?;
        String::from_utf8(bundle.bytes).map_err(|e| internal(e.to_string()))
    }

    /// Queues the trial's messages in `log`'s outbox from now on, when the site names interface
    /// engines. `records` are the trial's records so far (after a restart): followed without
    /// being sent again. The messages are dated by the wall clock (on simulated hardware without
    /// one, by the virtual clock from 2000-01-01, as the trial's dates are).
    pub(super) fn attach_outbox(
        &self,
        log: &mut TrialLog,
        trial: &Trial,
        program: &Program,
        records: &[Record],
        now: Timestamp,
    ) {
        // The device messages go to the interface engines only: without one, none are made
        // (the FHIR servers' Bundle is queued apart, `queue_summary`).
        let endpoints: Vec<Endpoint> = self
            .endpoints()
            .into_iter()
            .filter(|e| e.channel == Channel::Hl7)
            .collect();
        let Some(i) = self.cfg.integration.as_ref() else {
            return;
        };
        if endpoints.is_empty() {
            return;
        }
        let device = pcd::Device::named(i, self.simulated);
        let unit = self
            .library
            .find(&program.drug, trial.route, program.concentration)
            .map_or(crate::core::units::MassUnit::Mg, |e| e.unit);
        // As the trial's dates are (the wall clock; else the trial's start by it; else the
        // virtual clock from 2000-01-01).
        let wall = self.wall_ms(now);
        let mut reporter = match pcd::Reporter::new(
            device,
            &trial.patient,
            program,
            unit,
            (now, wall),
            REPORT_EVERY,
        ) {
            Ok(r) => r,
            Err(e) => {
                // The profile's check refuses these when it is read: not reached.
                tracing::error!(error = %e, "the pump's messages cannot be named: none are sent");
                return;
            }
        };
        reporter.catch_up(records);
        tracing::info!(
            endpoints = endpoints.len(),
            "the trial's messages are queued for the hospital's interface engines"
        );
        log.set_outbox(Outbox::new(Box::new(reporter), endpoints));
    }

    /// Counts the messages waiting for each interface engine when due, and raises the LOW alarm
    /// when one has more than the site allows (`integration.backlog_alarm`), clears it when
    /// none has.
    pub(super) fn check_outbox(&mut self, now: Timestamp) {
        let endpoints = self.endpoints();
        let (Some(i), Some(path), Some(engine)) = (
            self.cfg.integration.as_ref(),
            self.log_path.as_ref(),
            self.engine.as_mut(),
        ) else {
            return;
        };
        if endpoints.is_empty() || self.outbox.next_check.is_some_and(|t| now < t) {
            return;
        }
        self.outbox.next_check = Some(now + CHECK_EVERY);
        if self.outbox.reader.is_none() {
            match OutboxReader::open(path) {
                Ok(r) => self.outbox.reader = Some(r),
                Err(e) => {
                    tracing::warn!(error = %e, "the outbox cannot be read");
                    return;
                }
            }
        }
        let Some(reader) = self.outbox.reader.as_ref() else {
            return;
        };
        let mut behind = false;
        for e in &endpoints {
            match reader.backlog(&e.name) {
                Ok(b) if b.messages > i.backlog_alarm => {
                    tracing::warn!(endpoint = %e.name, waiting = b.messages, "messages for the hospital are waiting");
                    behind = true;
                }
                Ok(_) => {}
                // A count that cannot be read changes nothing: the alarm stays as it was.
                Err(err) => {
                    tracing::warn!(error = %err, "the outbox cannot be read");
                    return;
                }
            }
        }
        engine.outbox_checked(now, behind);
    }

    /// What each interface engine is owed now, by name (for the status and the tests).
    pub fn outbox_backlog(&self) -> Vec<(String, crate::store::outbox::Backlog)> {
        let Some(path) = self.log_path.as_ref() else {
            return Vec::new();
        };
        let Ok(reader) = OutboxReader::open(path) else {
            return Vec::new();
        };
        self.endpoints()
            .into_iter()
            .filter_map(|e| reader.backlog(&e.name).ok().map(|b| (e.name, b)))
            .collect()
    }
}
