//! The pump's messages to the hospital's systems (issue 23), as the daemon holds them: the trial
//! log's outbox set up for the trial in hand when the site names interface engines
//! (`[integration]` of the hardware profile), its messages dated by the wall clock as it reads
//! at each check, and the backlog checked from the tick at a fixed interval, with the LOW alarm
//! when too many messages wait; the trial summary's FHIR Bundle queued once a clinician
//! confirmed the implant's dose, and at the next start when the daemon stopped before it was.
//! The senders themselves run apart (`service::mllp`): delivery never waits for the network.

use super::{PumpService, ServiceError};
use crate::core::program::{Program, Trial};
use crate::core::units::{Duration, Timestamp};
use crate::journal::Record;
use crate::report::pcd;
use crate::store::outbox::{Channel, Endpoint, Message, Outbox, OutboxReader};
use crate::store::{StoredTrial, TrialLog};

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

    /// The site's FHIR servers (none: the trial summary's Bundle goes nowhere).
    fn fhir_servers(&self) -> Vec<Endpoint> {
        self.endpoints()
            .into_iter()
            .filter(|e| e.channel == Channel::Fhir)
            .collect()
    }

    /// Queues the trial summary's FHIR Bundle for the site's FHIR servers: when a clinician has
    /// confirmed the implant's starting dose (the summary is then what the export gives). The
    /// Bundle and the note of the confirmation it follows are one transaction
    /// (`TrialLog::queue_summary_bundle`): should the daemon stop before it, the next start
    /// queues it (`queue_lost_summary`). A Bundle that cannot be made is said in the system
    /// journal; the trial is not affected.
    pub(super) fn queue_summary(&mut self, now: Timestamp) {
        let servers = self.fhir_servers();
        if servers.is_empty() {
            return;
        }
        let queued = self.summary_bundle(now).and_then(|body| {
            let internal = |e: crate::store::StoreError| ServiceError::Internal(e.to_string());
            let Some(mut log) = self.open_log()? else {
                return Ok(());
            };
            let trial = log.latest_trial().map_err(internal)?;
            log.queue_summary_bundle(trial.id, &servers, |id| bundle_message(id, now, body))
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

    /// At start-up, the newest trial in `log` having ended (`stored`, with its `records`): when
    /// the log holds a clinician's confirmation of the implant's dose whose summary Bundle was
    /// never queued (the daemon stopped between the confirmation's record and `queue_summary`)
    /// and the site names FHIR servers, queues the Bundle now, made from the log as `titra
    /// export --format fhir` makes it (the trial is not in hand). A confirmation made while the
    /// site named no FHIR server has none queued either: it goes at the first start that names
    /// one. A Bundle that cannot be made or queued is said in the system journal; nothing else
    /// is affected.
    pub(super) fn queue_lost_summary(
        &self,
        log: &mut TrialLog,
        stored: &StoredTrial,
        records: &[Record],
        now: Timestamp,
    ) {
        let servers = self.fhir_servers();
        if servers.is_empty() {
            return;
        }
        let internal = |e: crate::store::StoreError| ServiceError::Internal(e.to_string());
        let queued = log
            .summary_unqueued(stored.id)
            .map_err(internal)
            .and_then(|lost| {
                let Some(row) = lost else {
                    return Ok(None);
                };
                let body = self.stored_summary_bundle(stored, records, now)?;
                log.queue_summary_bundle(stored.id, &servers, |id| bundle_message(id, now, body))
                    .map_err(internal)?;
                Ok(Some(row))
            });
        match queued {
            Ok(None) => {}
            Ok(Some(row)) => tracing::warn!(
                trial = stored.id,
                confirmation_row = row,
                servers = servers.len(),
                "the trial summary's Bundle was not queued before the restart: queued now"
            ),
            Err(e) => tracing::error!(
                trial = stored.id,
                error = %e,
                "the trial summary's Bundle was not queued before the restart and cannot be queued now"
            ),
        }
    }

    /// The trial summary's Bundle, as `titra export --format fhir` writes it.
    fn summary_bundle(&self, now: Timestamp) -> Result<String, ServiceError> {
        let summary = self.summary_at(now)?;
        let files = self.trial_files(
            &summary,
            &[crate::report::export::Format::Fhir],
            crate::report::pdf::Paper::A4,
            self.cfg.integration.as_ref(),
            now,
        )?;
        bundle_of(files)
    }

    /// The summary's Bundle of `stored`, a trial not in hand (after a restart), from its
    /// `records`: made as `titra export --format fhir` makes it from the log.
    fn stored_summary_bundle(
        &self,
        stored: &StoredTrial,
        records: &[Record],
        now: Timestamp,
    ) -> Result<String, ServiceError> {
        use crate::report::export;
        let export::StoredSummary {
            summary,
            started,
            unit,
        } = export::summarise_stored(
            stored,
            records,
            &self.protocol,
            &self.library,
            self.cfg.mechanism.steps_per_ml,
        );
        let seal = self.log_seal()?;
        let files = export::build(
            &export::Source {
                summary: &summary,
                journal: records,
                started,
                started_wall: stored.started_wall.as_deref(),
                unit,
                log: seal.as_ref(),
                program: &stored.program,
                integration: self.cfg.integration.as_ref(),
                made_ms: self.stored_wall_ms(stored, now),
            },
            &[export::Format::Fhir],
            crate::report::pdf::Paper::A4,
        )
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
        bundle_of(files)
    }

    /// `now` by the wall clock for `stored`, a trial not in hand: the pump's wall clock; without
    /// one, the trial's start by the wall clock plus the time since; without that, the virtual
    /// clock (as [`PumpService::wall_ms`] for the trial in hand).
    fn stored_wall_ms(&self, stored: &StoredTrial, now: Timestamp) -> u64 {
        if self.wall.is_some() {
            return self.wall_ms(now);
        }
        match stored
            .started_wall
            .as_deref()
            .and_then(crate::time::parse_rfc3339)
        {
            Some(wall) => {
                wall.saturating_add(now.since(Timestamp::from_ms(stored.started_ms)).ms())
            }
            None => self.wall_ms(now),
        }
    }

    /// Queues the trial's messages in `log`'s outbox from now on, when the site names interface
    /// engines. `records` are the trial's records so far (after a restart): followed without
    /// being sent again. The messages are dated by the wall clock as it reads now (on simulated
    /// hardware without one, by the virtual clock from 2000-01-01, as the trial's dates are),
    /// and as it reads at each check of the outbox from then on (`check_outbox`).
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

    /// When due (every [`CHECK_EVERY`]): dates the trial log's messages from now on by the wall
    /// clock as it reads now, which may have been set since the outbox was attached (a pump
    /// with no battery-backed clock starts before its time server answers; after a restart the
    /// outbox is attached before the daemon is given its wall clock); then counts the messages
    /// waiting for each endpoint, and raises the LOW alarm when one has more than the site
    /// allows (`integration.backlog_alarm`), clears it when none has.
    pub(super) fn check_outbox(&mut self, now: Timestamp) {
        let endpoints = self.endpoints();
        if endpoints.is_empty()
            || self.engine.is_none()
            || self.log_path.is_none()
            || self.outbox.next_check.is_some_and(|t| now < t)
        {
            return;
        }
        self.outbox.next_check = Some(now + CHECK_EVERY);
        let wall = self.wall_ms(now);
        let (Some(i), Some(path), Some(engine)) = (
            self.cfg.integration.as_ref(),
            self.log_path.as_ref(),
            self.engine.as_mut(),
        ) else {
            return;
        };
        engine.wall_clock(now, wall);
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

/// The trial summary's Bundle as the outbox's message `id`, reporting `now`.
fn bundle_message(id: u64, now: Timestamp, body: String) -> Vec<Message> {
    vec![Message {
        id,
        channel: Channel::Fhir,
        kind: "fhir-bundle",
        at: now,
        body,
    }]
}

/// The Bundle among an export's `files` (`…_fhir.json`), as text.
fn bundle_of(files: Vec<crate::report::export::ExportFile>) -> Result<String, ServiceError> {
    let bundle = files
        .into_iter()
        .find(|f| f.name.ends_with("_fhir.json"))
        .ok_or_else(|| ServiceError::Internal("no Bundle".to_owned()))?;
    String::from_utf8(bundle.bytes).map_err(|e| ServiceError::Internal(e.to_string()))
}
