//! The pump's messages to the hospital's systems (issue 23), as the daemon holds them: the trial
//! log's outbox set up for the trial in hand when the site names interface engines
//! (`[integration]` of the hardware profile), its messages dated by the wall clock as it reads
//! at each check, and the backlog checked from the tick at a fixed interval, with the LOW alarm
//! when too many messages wait; the trial summary's FHIR Bundle queued once a clinician
//! confirmed the implant's dose, or at the next minute's check when it was not queued then.
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
    /// The confirmation (trial, its `implant_plan` row) whose Bundle could not be made: said
    /// once, not tried again at every check until the daemon starts again.
    unmade: Option<(i64, i64)>,
    /// The trial in hand's row in the log (None: no trial in hand, or no log).
    pub(super) in_hand: Option<i64>,
}

impl OutboxWatch {
    pub(super) fn new() -> OutboxWatch {
        OutboxWatch {
            reader: None,
            next_check: None,
            unmade: None,
            in_hand: None,
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

    /// Queues the trial summary's FHIR Bundle for the site's FHIR servers when the newest trial
    /// in the log holds a clinician's confirmation of the implant's dose whose Bundle was not
    /// queued yet. For the trial in hand: right after the confirmation (`confirm_implant`), and
    /// at each check of the outbox, every minute (a confirmation whose record reached the card
    /// late, a queueing that failed on a lock or a full card). For an ended trial no longer in
    /// hand: once, at the daemon's start ([`PumpService::queue_owed_at_start`], before the
    /// watchdog runs: it verifies the whole log), made as `titra export --format fhir` makes
    /// it (the site's protocol and library, the confirmed dose checked again against the limits
    /// in force, [`crate::report::export::stored_files`]) — the daemon stopped between the
    /// confirmation and the Bundle, or the site named no FHIR server then. The Bundle and the
    /// note of the confirmation it follows are one transaction
    /// (`TrialLog::queue_summary_bundle`), so it is queued once. Nothing after a failed
    /// start-up check: a summary from a log that did not verify is not sent to the patient's
    /// record. A Bundle the export refuses to make (a dose the limits in force refuse) is said
    /// once in the system journal and not tried again; the trial is not affected.
    fn queue_owed_summary(&mut self, now: Timestamp, at_start: bool) {
        let servers = self.fhir_servers();
        if servers.is_empty() || self.startup_check.is_some() {
            return;
        }
        if self.engine.is_none() && !at_start {
            return;
        }
        // Asked of the outbox's own connection (two indexes): the log itself is opened only
        // when a Bundle is owed.
        let Some(reader) = self.outbox_reader() else {
            return;
        };
        let (trial, seq) = match reader.summary_owed() {
            Ok(Some(owed)) => owed,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "the outbox cannot be read to queue the summary's Bundle");
                return;
            }
        };
        if self.outbox.unmade == Some((trial, seq)) {
            return;
        }
        let queued = self.open_log().and_then(|log| {
            let mut log = log.ok_or_else(|| ServiceError::Internal("no trial log".to_owned()))?;
            let internal = |e: crate::store::StoreError| ServiceError::Internal(e.to_string());
            // The trial in hand's own summary only when it is the trial owed; any other is
            // read back from the log.
            let body = if self.engine.is_some() && self.outbox.in_hand == Some(trial) {
                self.summary_bundle(now)?
            } else if at_start {
                let stored = log.trial(trial).map_err(internal)?;
                self.stored_summary_bundle(&mut log, &stored, now)?
            } else {
                return Ok(false);
            };
            log.queue_summary_bundle(trial, seq, &servers, |id| bundle_message(id, now, body))
                .map_err(internal)
        });
        match queued {
            Ok(true) => tracing::info!(
                trial,
                confirmation_row = seq,
                servers = servers.len(),
                "the trial summary's FHIR Bundle is queued"
            ),
            Ok(false) => {}
            // A store that failed (a lock held, a full card): the next check tries again.
            Err(e @ ServiceError::Internal(_)) => tracing::warn!(
                trial,
                confirmation_row = seq,
                error = %e,
                "the trial summary's FHIR Bundle cannot be queued now; tried again at the next check"
            ),
            // The export refuses to make it: not tried again until the daemon starts again.
            Err(e) => {
                tracing::error!(
                    trial,
                    confirmation_row = seq,
                    error = %e,
                    "the trial summary's FHIR Bundle cannot be made; the export makes it by hand once mended (titra export --format fhir)"
                );
                self.outbox.unmade = Some((trial, seq));
            }
        }
    }

    /// At the daemon's start, once the site's protocol and the wall clock are set and before it
    /// says it is ready (the watchdog then runs): queues the summary's Bundle an ended trial
    /// still owes the site's FHIR servers ([`PumpService::queue_owed_summary`]).
    pub fn queue_owed_at_start(&mut self, now: Timestamp) {
        self.queue_owed_summary(now, true);
    }

    /// At a clinician's confirmation of the implant's dose: its Bundle, when the confirmation's
    /// record is on the card (else at the next check).
    pub(super) fn queue_confirmed_summary(&mut self, now: Timestamp) {
        self.queue_owed_summary(now, false);
    }

    /// The outbox's own connection, opened when first needed (None, said in the journal, when
    /// it cannot be).
    fn outbox_reader(&mut self) -> Option<&OutboxReader> {
        if self.outbox.reader.is_none() {
            let path = self.log_path.as_ref()?;
            match OutboxReader::open(path) {
                Ok(r) => self.outbox.reader = Some(r),
                Err(e) => {
                    tracing::warn!(error = %e, "the outbox cannot be read");
                    return None;
                }
            }
        }
        self.outbox.reader.as_ref()
    }

    /// The trial summary's Bundle of the trial in hand, as the export makes it.
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

    /// The summary's Bundle of `stored`, an ended trial not in hand (after a restart), read
    /// back from `log` as `titra export --format fhir` reads it.
    fn stored_summary_bundle(
        &self,
        log: &mut TrialLog,
        stored: &StoredTrial,
        now: Timestamp,
    ) -> Result<String, ServiceError> {
        use crate::report::export;
        let internal = |e: String| ServiceError::Internal(e);
        let records = log
            .records(stored.id)
            .map_err(|e| internal(e.to_string()))?;
        let verified = log.verify().map_err(|e| internal(e.to_string()))?;
        let seal = export::LogSeal {
            head: verified.head,
            problems: verified.problems,
        };
        let files = export::stored_files(&export::StoredExport {
            stored,
            journal: &records,
            seal: &seal,
            protocol: &self.protocol,
            library: &self.library,
            hardware: &self.cfg,
            formats: &[export::Format::Fhir],
            paper: crate::report::pdf::Paper::A4,
            draft: false,
            // The wall clock, but never before the trial's own last moment by its start's wall
            // time (a Pi without a battery-backed clock starts before its time server answers).
            now_ms: self.wall_ms_since(
                Timestamp::from_ms(stored.started_ms),
                stored.started_wall.as_deref(),
                now,
            ),
        })
        .map_err(|e| {
            use crate::report::export::LogExportError;
            match e {
                // The log, read or verified: tried again at the next start.
                LogExportError::Store(_) => internal(e.to_string()),
                // What the export refuses to make.
                _ => ServiceError::LimitExceeded(e.to_string()),
            }
        })?;
        bundle_of(files)
    }

    /// Queues the trial's messages in `log`'s outbox from now on, when the site names interface
    /// engines. `records` are the trial's records so far (after a restart): followed without
    /// being sent again. The messages are dated by the wall clock as it reads now (on simulated
    /// hardware without one, by the virtual clock from 2000-01-01, as the trial's dates are),
    /// and as it reads at each check of the outbox from then on (`check_outbox`).
    pub(super) fn attach_outbox(
        &self,
        log: &mut TrialLog,
        (trial, program): (&Trial, &Program),
        started: Timestamp,
        records: &[Record],
        now: Timestamp,
    ) {
        // The device messages go to the interface engines only: without one, none are made
        // (the FHIR servers' Bundle is queued apart, `queue_owed_summary`).
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
        // virtual clock from 2000-01-01). At a recovery the daemon has no wall clock yet and no
        // engine: the trial's start by the wall clock and the time since, so that the recovery's
        // own messages carry the times the log gives its records.
        let wall = self.wall_ms_since(started, self.started_wall.as_deref(), now);
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
            || self.log_path.is_none()
            || self.outbox.next_check.is_some_and(|t| now < t)
        {
            return;
        }
        self.outbox.next_check = Some(now + CHECK_EVERY);
        self.queue_owed_summary(now, false);
        if self.engine.is_none() {
            return;
        }
        let wall = self.wall_ms(now);
        if self.outbox_reader().is_none() {
            return;
        }
        let (Some(i), Some(engine), Some(reader)) = (
            self.cfg.integration.as_ref(),
            self.engine.as_mut(),
            self.outbox.reader.as_ref(),
        ) else {
            return;
        };
        engine.wall_clock(now, wall);
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
