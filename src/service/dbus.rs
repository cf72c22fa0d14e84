//! `org.titra.Pump1` on D-Bus: the interface the daemon serves at `/org/titra/Pump1`, the proxy
//! the CLI and the UI share, and the control loop that runs the pump between calls.
//!
//! Properties carry what screens show (with units written out) and emit PropertiesChanged when
//! they change; signals announce alarms, patient-bolus decisions and state changes; errors are
//! typed (`org.titra.Pump1.Error.*`) and worded for nurses.

use std::sync::Arc;

use tokio::sync::{Mutex, Notify};
use zbus::object_server::SignalEmitter;
use zbus::{Connection, interface};

use crate::core::supervisor::Priority;
use crate::core::units::{Duration, Timestamp};
use crate::journal::Record;
use crate::service::pump::{PumpService, ServiceError, Vitals};
use crate::service::wire::{ChecklistView, LibraryChoice, Status, WireFinding, verdict_wire};
use crate::time::{Clock, ManualClock};

pub const BUS_NAME: &str = "org.titra.Pump1";
pub const OBJECT_PATH: &str = "/org/titra/Pump1";

/// A connection builder for a bus named on the command line: "system", "session" or an
/// address.
pub fn bus_builder(bus: &str) -> zbus::connection::Builder<'_> {
    match bus {
        "system" => zbus::connection::Builder::system(),
        "session" => zbus::connection::Builder::session(),
        address => zbus::connection::Builder::address(address),
    }
}

/// A refused call, as D-Bus clients receive it: `org.titra.Pump1.Error.<Name>` with a message
/// for the nurse.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.titra.Pump1.Error")]
pub enum PumpError {
    #[zbus(error)]
    ZBus(zbus::Error),
    NotAuthorised(String),
    /// The message says when the next dose becomes available.
    LockoutActive(String),
    LimitExceeded(String),
    InvalidInput(String),
    WrongState(String),
    Internal(String),
}

impl From<ServiceError> for PumpError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotAuthorised(m) => PumpError::NotAuthorised(m),
            ServiceError::LockoutActive { message, .. } => PumpError::LockoutActive(message),
            ServiceError::LimitExceeded(m) => PumpError::LimitExceeded(m),
            ServiceError::InvalidInput(m) => PumpError::InvalidInput(m),
            ServiceError::WrongState(m) => PumpError::WrongState(m),
            ServiceError::Internal(m) => PumpError::Internal(m),
        }
    }
}

/// What the interface and the control loop share.
pub struct Shared {
    pub service: Mutex<PumpService>,
    pub clock: Arc<dyn Clock>,
    /// Woken by calls that change when the pump next needs to run.
    pub wake: Notify,
    status: std::sync::Mutex<Option<Status>>,
}

impl Shared {
    pub fn new(service: PumpService, clock: Arc<dyn Clock>) -> Arc<Shared> {
        Arc::new(Shared {
            service: Mutex::new(service),
            clock,
            wake: Notify::new(),
            status: std::sync::Mutex::new(None),
        })
    }

    fn cached(&self) -> Option<Status> {
        self.status.lock().ok().and_then(|s| s.clone())
    }
}

pub struct PumpIface {
    shared: Arc<Shared>,
    export_to: ExportTarget,
}

/// Where the clinician's Export button writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportTarget {
    /// A USB stick, found and mounted through UDisks2 on the system bus (on the pump).
    Usb,
    /// A directory (the desktop demo, tests, or a site that collects exports elsewhere).
    Dir(std::path::PathBuf),
}

impl PumpIface {
    pub fn new(shared: Arc<Shared>) -> PumpIface {
        PumpIface {
            shared,
            export_to: ExportTarget::Usb,
        }
    }

    /// Exports go to `target` instead of a USB stick.
    pub fn exporting_to(mut self, target: ExportTarget) -> PumpIface {
        self.export_to = target;
        self
    }

    /// The directory an export goes to now: a USB stick's `titra` folder, or the configured one.
    async fn export_dir(&self, needed: u64) -> Result<std::path::PathBuf, PumpError> {
        match &self.export_to {
            ExportTarget::Dir(d) => Ok(d.clone()),
            ExportTarget::Usb => {
                let conn = Connection::system().await.map_err(|e| {
                    PumpError::Internal(format!(
                        "the pump's USB service cannot be reached ({e}); call technical support"
                    ))
                })?;
                let stick = crate::report::usb::find_stick(&conn, needed)
                    .await
                    .map_err(|e| PumpError::WrongState(e.to_string()))?;
                Ok(stick.mount_point.join("titra"))
            }
        }
    }

    async fn call<T>(
        &self,
        emitter: &SignalEmitter<'_>,
        f: impl FnOnce(&mut PumpService, Timestamp) -> Result<T, ServiceError>,
    ) -> Result<T, PumpError> {
        let result = {
            let mut s = self.shared.service.lock().await;
            let now = self.shared.clock.now();
            let _ = s.tick(now);
            f(&mut s, now)
        };
        self.shared.wake.notify_one();
        publish(&self.shared, self, emitter).await;
        Ok(result?)
    }

    fn status(&self) -> Status {
        match self.shared.cached() {
            Some(s) => s,
            None => {
                // Before the first publish: compute it (blocking on the lock is brief).
                let now = self.shared.clock.now();
                match self.shared.service.try_lock() {
                    Ok(s) => s.status(now),
                    Err(_) => Status::empty(now),
                }
            }
        }
    }
}

/// Emits the signals for new records and PropertiesChanged for what changed.
pub async fn publish(shared: &Shared, iface: &PumpIface, emitter: &SignalEmitter<'_>) {
    let (records, status) = {
        let mut s = shared.service.lock().await;
        let now = shared.clock.now();
        (s.take_new_records(), s.status(now))
    };
    for r in &records {
        let sent = match r {
            Record::AlarmRaised { kind, priority, .. } if *priority != Priority::Info => {
                PumpIface::alarm_raised(
                    emitter,
                    &name_of(kind),
                    &priority.to_string(),
                    kind.message(),
                )
                .await
            }
            // An escalation is announced as the alarm raised again at its new priority.
            Record::AlarmEscalated { kind, priority, .. } => {
                PumpIface::alarm_raised(
                    emitter,
                    &name_of(kind),
                    &priority.to_string(),
                    kind.message(),
                )
                .await
            }
            Record::AlarmCleared { kind, .. } => {
                PumpIface::alarm_cleared(emitter, &name_of(kind)).await
            }
            Record::StateChanged { from, to, .. } => {
                PumpIface::state_changed(emitter, &from.to_string(), &to.to_string()).await
            }
            Record::PcaRequest {
                granted,
                denial,
                available_at,
                ..
            } => {
                let message = denial.map_or_else(|| "Bolus started.".to_owned(), |d| d.explain());
                let at = available_at.map_or(-1, |t| i64::try_from(t.ms()).unwrap_or(-1));
                PumpIface::bolus_decision(emitter, *granted, &message, at).await
            }
            _ => Ok(()),
        };
        if let Err(e) = sent {
            tracing::debug!(error = %e, "signal");
        }
    }
    let previous = shared
        .status
        .lock()
        .ok()
        .and_then(|mut s| s.replace(status.clone()));
    let Some(old) = previous else { return };
    macro_rules! changed {
        ($field:ident, $method:ident) => {
            if old.$field != status.$field {
                let _ = iface.$method(emitter).await;
            }
        };
    }
    changed!(state, pump_state_changed);
    changed!(patient, patient_changed);
    changed!(drug, drug_changed);
    changed!(concentration, concentration_changed);
    changed!(basal_per_day, basal_per_day_changed);
    changed!(basal_per_hour, basal_per_hour_changed);
    changed!(basal_ml_per_hour, basal_ml_per_hour_changed);
    changed!(patient_bolus, patient_bolus_changed);
    changed!(delivered_today, delivered_today_changed);
    changed!(delivered_total, delivered_total_changed);
    changed!(delivered_in_window, delivered_in_window_changed);
    changed!(reservoir_remaining, reservoir_remaining_changed);
    changed!(time_to_empty, time_to_empty_changed);
    changed!(next_bolus, next_bolus_changed);
    changed!(alarms, active_alarms_changed);
}

fn name_of(kind: &crate::core::supervisor::AlarmKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[interface(name = "org.titra.Pump1")]
impl PumpIface {
    /// Logs in with a PIN; returns (session token, role, name).
    async fn login(
        &self,
        pin: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(String, String, String), PumpError> {
        self.call(&e, |s, now| {
            s.login(pin, now)
                .map(|(t, c)| (t, c.role.as_str().to_owned(), c.name))
        })
        .await
    }

    async fn logout(&self, token: &str) {
        self.shared.service.lock().await.logout(token);
    }

    /// Checks a program (TOML: [trial] and [program]); returns (class, findings as (field,
    /// value, limit, class, message, source)).
    async fn validate_program(
        &self,
        program: &str,
    ) -> Result<(String, Vec<WireFinding>), PumpError> {
        let s = self.shared.service.lock().await;
        Ok(verdict_wire(&s.validate(program)?.verdict))
    }

    /// The drug library's choices: (drug, route, concentration, dose unit), in its order.
    async fn library_choices(&self) -> Vec<LibraryChoice> {
        self.shared.service.lock().await.library_choices()
    }

    /// Programs a trial: confirms soft findings if `confirm`; a second nurse or clinician's PIN.
    async fn start_trial(
        &self,
        token: &str,
        program: &str,
        confirm: bool,
        verifier_pin: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.call(&e, |s, now| {
            s.start_trial(token, program, confirm, verifier_pin, now)
        })
        .await
    }

    async fn prime(
        &self,
        token: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.call(&e, |s, now| s.prime(token, now)).await
    }

    async fn start(
        &self,
        token: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.call(&e, |s, now| s.start(token, now)).await
    }

    async fn pause(
        &self,
        token: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.call(&e, |s, now| s.pause(token, now)).await
    }

    async fn resume(
        &self,
        token: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.call(&e, |s, now| s.resume(token, now)).await
    }

    async fn end_trial(
        &self,
        token: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.call(&e, |s, now| s.end_trial(token, now)).await
    }

    /// A clinician changes the basal rate; returns (old, new) as shown side by side.
    async fn change_basal(
        &self,
        token: &str,
        basal: &str,
        confirm: bool,
        verifier_pin: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(String, String), PumpError> {
        self.call(&e, |s, now| {
            s.change_basal(token, basal, confirm, verifier_pin, now)
        })
        .await
    }

    /// What a new basal rate would mean, before confirming: (class, findings, old, new).
    async fn check_basal(
        &self,
        basal: &str,
    ) -> Result<(String, Vec<WireFinding>, String, String), PumpError> {
        let now = self.shared.clock.now();
        Ok(self.shared.service.lock().await.check_basal(basal, now)?)
    }

    /// Dose per bucket and pain scores since the start, for the clinician's chart.
    async fn history(&self) -> Result<crate::report::summary::History, PumpError> {
        let now = self.shared.clock.now();
        Ok(self.shared.service.lock().await.history(now)?)
    }

    /// A bolus trial's response to each bolus, for the clinician's chart: the scores against
    /// the hours after each bolus, the baseline, onset, peak and duration of effect, and which
    /// bolus is the effective one (`bolus_trial` false for a continuous trial).
    async fn bolus_response(&self) -> Result<crate::report::summary::BolusResponse, PumpError> {
        let now = self.shared.clock.now();
        Ok(self.shared.service.lock().await.bolus_response(now)?)
    }

    /// The trial's pre-trial checklist: (items (id, text, confirmed, by, at ms or -1), override
    /// by, override reason).
    async fn checklist(&self, token: &str) -> Result<ChecklistView, PumpError> {
        let now = self.shared.clock.now();
        Ok(self.shared.service.lock().await.checklist(token, now)?)
    }

    /// A nurse confirms one item of the pre-trial checklist; returns the ids still open.
    async fn confirm_checklist_item(
        &self,
        token: &str,
        id: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<Vec<String>, PumpError> {
        self.call(&e, |s, now| s.confirm_checklist_item(token, id, now))
            .await
    }

    /// A clinician lets the trial start with the open items, for a written reason; returns the
    /// ids overridden.
    async fn override_checklist(
        &self,
        token: &str,
        reason: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<Vec<String>, PumpError> {
        self.call(&e, |s, now| s.override_checklist(token, reason, now))
            .await
    }

    /// The clinician's decision after the trial: outcome, reasons, the patient's wish to proceed
    /// ("yes", "no", "undecided") and the planned implant ("" for none).
    async fn record_decision(
        &self,
        token: &str,
        outcome: &str,
        reasons: &str,
        wish: &str,
        implant: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.call(&e, |s, now| {
            s.record_decision(token, outcome, reasons, wish, implant, now)
        })
        .await
    }

    /// The catheter was taken out (after the trial ended), now, by the caller; a note.
    async fn record_catheter_removal(
        &self,
        token: &str,
        note: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.call(&e, |s, now| s.record_catheter_removal(token, note, now))
            .await
    }

    /// The clinician's assessment: outcome "success", "failure" or "inconclusive", and a note.
    async fn record_assessment(
        &self,
        token: &str,
        outcome: &str,
        note: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.call(&e, |s, now| s.record_assessment(token, outcome, note, now))
            .await
    }

    async fn clinician_bolus(
        &self,
        token: &str,
        dose: &str,
        confirm: bool,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.call(&e, |s, now| s.clinician_bolus(token, dose, confirm, now))
            .await
    }

    /// The patient presses for a bolus (no login). Refused with LockoutActive (saying when) or
    /// LimitExceeded.
    async fn request_bolus(
        &self,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<String, PumpError> {
        self.call(&e, |s, now| s.request_bolus(now)).await
    }

    async fn record_pain(
        &self,
        value: u8,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.call(&e, |s, now| s.record_pain(value, now)).await
    }

    /// The diary's function question and its answers, least function first.
    async fn diary_question(&self) -> (String, Vec<String>) {
        self.shared.service.lock().await.diary_question()
    }

    /// The patient's answer to the function question, 1 = the first answer.
    async fn record_function(
        &self,
        answer: u8,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.call(&e, |s, now| s.record_function(answer, now)).await
    }

    /// The patient's global impression of change, 1 (very much improved) to 7 (very much worse).
    async fn record_pgic(
        &self,
        value: u8,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.call(&e, |s, now| s.record_pgic(value, now)).await
    }

    /// Spasticity on the Modified Ashworth Scale ("0", "1", "1+", "2", "3", "4") and the muscles
    /// assessed.
    async fn record_spasticity(
        &self,
        token: &str,
        score: &str,
        muscles: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.call(&e, |s, now| s.record_spasticity(token, score, muscles, now))
            .await
    }

    async fn record_side_effect(
        &self,
        effect: &str,
        severity: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.call(&e, |s, now| s.record_side_effect(effect, severity, now))
            .await
    }

    async fn record_sedation(
        &self,
        token: &str,
        poss: u8,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.call(&e, |s, now| s.record_sedation(token, poss, now))
            .await
    }

    /// Vital signs; 0 for one not taken (temperature in °C, to a tenth).
    async fn record_vitals(
        &self,
        token: &str,
        respiratory_rate: u16,
        heart_rate: u16,
        spo2: u8,
        temperature_c: f64,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        let vitals = Vitals {
            respiratory_rate,
            heart_rate,
            spo2,
            temperature_c,
        };
        self.call(&e, |s, now| s.record_vitals(token, vitals, now))
            .await
    }

    /// A catheter site check: the temperature (°C) and the findings, none when clean.
    async fn record_site_check(
        &self,
        token: &str,
        temperature_c: f64,
        findings: Vec<String>,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.call(&e, |s, now| {
            s.record_site_check(token, temperature_c, &findings, now)
        })
        .await
    }

    /// A clinician reviewed the patient after sedation or slow breathing stopped delivery: the
    /// note (required) is logged and the hold lifted; a nurse then resumes.
    async fn review_sedation(
        &self,
        token: &str,
        note: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.call(&e, |s, now| s.review_sedation(token, note, now))
            .await
    }

    async fn acknowledge_alarms(
        &self,
        token: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.call(&e, |s, now| s.acknowledge(token, now)).await
    }

    /// Pauses alarm tones for `seconds` (0: 2 minutes; at most 10 minutes); returns the
    /// seconds granted.
    async fn silence_alarms(
        &self,
        token: &str,
        seconds: u32,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<u32, PumpError> {
        self.call(&e, |s, now| s.silence(token, seconds, now)).await
    }

    async fn change_reservoir(
        &self,
        token: &str,
        volume: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.call(&e, |s, now| s.change_reservoir(token, volume, now))
            .await
    }

    /// A clinician confirms the implant's starting dose after the trial ended: "" for the
    /// worksheet's proposal, or a dose per day; returns (dose per day, implant mL per day). A
    /// dose that needs a written reason is refused here: use ConfirmImplantDoseWithReason.
    async fn confirm_implant_dose(
        &self,
        token: &str,
        dose: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(String, String), PumpError> {
        self.call(&e, |s, now| s.confirm_implant(token, dose, "", now))
            .await
    }

    /// As ConfirmImplantDose, with the clinician's written reason: needed for a dose that is
    /// not the proposal (or when there is none) and for one outside the usual range.
    async fn confirm_implant_dose_with_reason(
        &self,
        token: &str,
        dose: &str,
        reason: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(String, String), PumpError> {
        self.call(&e, |s, now| s.confirm_implant(token, dose, reason, now))
            .await
    }

    /// A nurse or clinician records the patient's systemic opioids as oral morphine
    /// equivalents per day ("60 mg/day"), before the trial or for the day.
    async fn record_systemic_opioids(
        &self,
        token: &str,
        ome_per_day: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.call(&e, |s, now| {
            s.record_systemic_opioids(token, ome_per_day, now)
        })
        .await
    }

    /// The export screen: (worksheet lines, the site has a rule, the dose is confirmed).
    async fn export_preview(&self, token: &str) -> Result<(Vec<String>, bool, bool), PumpError> {
        let now = self.shared.clock.now();
        Ok(self
            .shared
            .service
            .lock()
            .await
            .export_preview(token, now)?)
    }

    /// Exports the summary (formats "pdf,json,csv", paper "a4" or "letter") to a USB stick (or
    /// the configured directory); returns (where, the files written). Recorded in the log.
    async fn export(
        &self,
        token: &str,
        formats: &str,
        paper: &str,
    ) -> Result<(String, Vec<String>), PumpError> {
        let formats = crate::report::export::Format::parse_list(formats)
            .map_err(|e| PumpError::InvalidInput(e.to_string()))?;
        let paper: crate::report::export::Paper = paper.parse().map_err(PumpError::InvalidInput)?;
        let now = self.shared.clock.now();
        let files = self
            .shared
            .service
            .lock()
            .await
            .export_files(token, &formats, paper, now)?;
        let dir = self.export_dir(crate::report::export::size(&files)).await?;
        let (to, copy) = (dir.clone(), files.clone());
        let written =
            tokio::task::spawn_blocking(move || crate::report::export::write_all(&to, &copy))
                .await
                .map_err(|e| PumpError::Internal(e.to_string()))?
                .map_err(|e| PumpError::Internal(e.to_string()))?;
        let destination = dir.display().to_string();
        self.shared
            .service
            .lock()
            .await
            .record_export(token, &destination, &files, now)?;
        tracing::info!(to = %destination, files = written.len(), "summary exported");
        Ok((destination, files.iter().map(|f| f.name.clone()).collect()))
    }

    /// The trial summary, JSON (titra.trial-summary/1).
    async fn export_summary(&self, token: &str) -> Result<String, PumpError> {
        let mut s = self.shared.service.lock().await;
        let now = self.shared.clock.now();
        let summary = s.summary(token, now)?;
        serde_json::to_string_pretty(&summary).map_err(|e| PumpError::Internal(e.to_string()))
    }

    /// Simulated hardware only: switch a fault on or off.
    async fn inject_fault(
        &self,
        fault: &str,
        on: bool,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.call(&e, |s, _| s.inject_fault(fault, on)).await
    }

    #[zbus(property)]
    async fn pump_state(&self) -> String {
        self.status().state.to_string()
    }
    #[zbus(property(emits_changed_signal = "const"))]
    async fn simulated(&self) -> bool {
        self.status().simulated
    }
    #[zbus(property)]
    async fn patient(&self) -> String {
        self.status().patient
    }
    #[zbus(property)]
    async fn drug(&self) -> String {
        self.status().drug
    }
    #[zbus(property)]
    async fn concentration(&self) -> String {
        self.status().concentration
    }
    #[zbus(property)]
    async fn basal_per_day(&self) -> String {
        self.status().basal_per_day
    }
    #[zbus(property)]
    async fn basal_per_hour(&self) -> String {
        self.status().basal_per_hour
    }
    #[zbus(property)]
    async fn basal_ml_per_hour(&self) -> String {
        self.status().basal_ml_per_hour
    }
    #[zbus(property)]
    async fn patient_bolus(&self) -> String {
        self.status().patient_bolus
    }
    #[zbus(property)]
    async fn delivered_today(&self) -> String {
        self.status().delivered_today
    }
    #[zbus(property)]
    async fn delivered_total(&self) -> String {
        self.status().delivered_total
    }
    #[zbus(property)]
    async fn delivered_in_window(&self) -> String {
        self.status().delivered_in_window
    }
    #[zbus(property)]
    async fn reservoir_remaining(&self) -> String {
        self.status().reservoir_remaining
    }
    #[zbus(property)]
    async fn time_to_empty(&self) -> String {
        self.status().time_to_empty
    }
    /// "now", "in …", or empty when patient boluses cannot be given.
    #[zbus(property)]
    async fn next_bolus(&self) -> String {
        self.status().next_bolus
    }
    #[zbus(property(emits_changed_signal = "false"))]
    async fn next_bolus_in_seconds(&self) -> i64 {
        self.status().next_bolus_in_s
    }
    /// (kind, priority, message, since ms, silenced until ms or -1).
    #[zbus(property)]
    async fn active_alarms(&self) -> Vec<(String, String, String, i64, i64)> {
        self.status()
            .alarms
            .into_iter()
            .map(|a| {
                (
                    name_of(&a.kind),
                    a.priority.to_string(),
                    a.message,
                    a.since_ms,
                    a.silenced_until_ms,
                )
            })
            .collect()
    }
    #[zbus(property(emits_changed_signal = "false"))]
    async fn elapsed_seconds(&self) -> u64 {
        self.status().elapsed_s
    }
    #[zbus(property(emits_changed_signal = "false"))]
    async fn remaining_seconds(&self) -> u64 {
        self.status().remaining_s
    }
    /// Everything above as one JSON object (for `titra status` and the UI).
    #[zbus(property(emits_changed_signal = "false"))]
    async fn status_json(&self) -> String {
        serde_json::to_string(&self.status()).unwrap_or_default()
    }

    #[zbus(signal)]
    async fn alarm_raised(
        e: &SignalEmitter<'_>,
        kind: &str,
        priority: &str,
        message: &str,
    ) -> zbus::Result<()>;
    #[zbus(signal)]
    async fn alarm_cleared(e: &SignalEmitter<'_>, kind: &str) -> zbus::Result<()>;
    #[zbus(signal)]
    async fn state_changed(e: &SignalEmitter<'_>, from: &str, to: &str) -> zbus::Result<()>;
    #[zbus(signal)]
    async fn bolus_decision(
        e: &SignalEmitter<'_>,
        granted: bool,
        message: &str,
        available_at_ms: i64,
    ) -> zbus::Result<()>;
}

/// The client side, shared by `titra status`, the UI and the tests.
#[zbus::proxy(
    interface = "org.titra.Pump1",
    default_service = "org.titra.Pump1",
    default_path = "/org/titra/Pump1"
)]
pub trait Pump1 {
    fn login(&self, pin: &str) -> zbus::Result<(String, String, String)>;
    fn logout(&self, token: &str) -> zbus::Result<()>;
    fn validate_program(&self, program: &str) -> zbus::Result<(String, Vec<WireFinding>)>;
    fn library_choices(&self) -> zbus::Result<Vec<LibraryChoice>>;
    fn start_trial(
        &self,
        token: &str,
        program: &str,
        confirm: bool,
        verifier_pin: &str,
    ) -> zbus::Result<()>;
    fn prime(&self, token: &str) -> zbus::Result<()>;
    fn start(&self, token: &str) -> zbus::Result<()>;
    fn pause(&self, token: &str) -> zbus::Result<()>;
    fn resume(&self, token: &str) -> zbus::Result<()>;
    fn end_trial(&self, token: &str) -> zbus::Result<()>;
    fn change_basal(
        &self,
        token: &str,
        basal: &str,
        confirm: bool,
        verifier_pin: &str,
    ) -> zbus::Result<(String, String)>;
    fn check_basal(&self, basal: &str) -> zbus::Result<(String, Vec<WireFinding>, String, String)>;
    fn record_assessment(&self, token: &str, outcome: &str, note: &str) -> zbus::Result<()>;
    fn checklist(&self, token: &str) -> zbus::Result<ChecklistView>;
    fn confirm_checklist_item(&self, token: &str, id: &str) -> zbus::Result<Vec<String>>;
    fn override_checklist(&self, token: &str, reason: &str) -> zbus::Result<Vec<String>>;
    fn record_decision(
        &self,
        token: &str,
        outcome: &str,
        reasons: &str,
        wish: &str,
        implant: &str,
    ) -> zbus::Result<()>;
    fn record_catheter_removal(&self, token: &str, note: &str) -> zbus::Result<()>;
    fn history(&self) -> zbus::Result<crate::report::summary::History>;
    fn bolus_response(&self) -> zbus::Result<crate::report::summary::BolusResponse>;
    fn clinician_bolus(&self, token: &str, dose: &str, confirm: bool) -> zbus::Result<()>;
    fn request_bolus(&self) -> zbus::Result<String>;
    fn record_pain(&self, value: u8) -> zbus::Result<()>;
    fn record_side_effect(&self, effect: &str, severity: &str) -> zbus::Result<()>;
    fn diary_question(&self) -> zbus::Result<(String, Vec<String>)>;
    fn record_function(&self, answer: u8) -> zbus::Result<()>;
    fn record_pgic(&self, value: u8) -> zbus::Result<()>;
    fn record_spasticity(&self, token: &str, score: &str, muscles: &str) -> zbus::Result<()>;
    fn record_sedation(&self, token: &str, poss: u8) -> zbus::Result<()>;
    fn record_vitals(
        &self,
        token: &str,
        respiratory_rate: u16,
        heart_rate: u16,
        spo2: u8,
        temperature_c: f64,
    ) -> zbus::Result<()>;
    fn record_site_check(
        &self,
        token: &str,
        temperature_c: f64,
        findings: &[&str],
    ) -> zbus::Result<()>;
    fn review_sedation(&self, token: &str, note: &str) -> zbus::Result<()>;
    fn acknowledge_alarms(&self, token: &str) -> zbus::Result<()>;
    fn silence_alarms(&self, token: &str, seconds: u32) -> zbus::Result<u32>;
    fn change_reservoir(&self, token: &str, volume: &str) -> zbus::Result<()>;
    fn export_summary(&self, token: &str) -> zbus::Result<String>;
    fn confirm_implant_dose(&self, token: &str, dose: &str) -> zbus::Result<(String, String)>;
    fn confirm_implant_dose_with_reason(
        &self,
        token: &str,
        dose: &str,
        reason: &str,
    ) -> zbus::Result<(String, String)>;
    fn record_systemic_opioids(&self, token: &str, ome_per_day: &str) -> zbus::Result<()>;
    fn export_preview(&self, token: &str) -> zbus::Result<(Vec<String>, bool, bool)>;
    fn export(
        &self,
        token: &str,
        formats: &str,
        paper: &str,
    ) -> zbus::Result<(String, Vec<String>)>;
    fn inject_fault(&self, fault: &str, on: bool) -> zbus::Result<()>;

    #[zbus(property)]
    fn pump_state(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn simulated(&self) -> zbus::Result<bool>;
    #[zbus(property)]
    fn drug(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn basal_per_day(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn delivered_total(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn reservoir_remaining(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn next_bolus(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn active_alarms(&self) -> zbus::Result<Vec<(String, String, String, i64, i64)>>;
    /// Not cached by the proxy: read fresh on every call.
    #[zbus(property(emits_changed_signal = "false"))]
    fn status_json(&self) -> zbus::Result<String>;

    #[zbus(signal)]
    fn alarm_raised(&self, kind: &str, priority: &str, message: &str) -> zbus::Result<()>;
    #[zbus(signal)]
    fn alarm_cleared(&self, kind: &str) -> zbus::Result<()>;
    #[zbus(signal)]
    fn state_changed(&self, from: &str, to: &str) -> zbus::Result<()>;
    #[zbus(signal)]
    fn bolus_decision(
        &self,
        granted: bool,
        message: &str,
        available_at_ms: i64,
    ) -> zbus::Result<()>;
}

/// Runs the pump up to `until` on a manual clock, publishing as it goes (virtual time).
pub async fn run_until(
    shared: &Arc<Shared>,
    conn: &Connection,
    clock: &ManualClock,
    until: Timestamp,
) -> zbus::Result<()> {
    loop {
        let next = {
            let s = shared.service.lock().await;
            s.next_wake().unwrap_or(until).min(until)
        };
        let now = clock.now().max(next);
        clock.set(now);
        {
            let mut s = shared.service.lock().await;
            if let Err(e) = s.tick(now) {
                tracing::error!(error = %e, "tick");
            }
        }
        publish_on(shared, conn).await?;
        if now >= until {
            return Ok(());
        }
    }
}

/// Publishes through the interface registered on `conn`.
pub async fn publish_on(shared: &Shared, conn: &Connection) -> zbus::Result<()> {
    let iface_ref = conn
        .object_server()
        .interface::<_, PumpIface>(OBJECT_PATH)
        .await?;
    let iface = iface_ref.get().await;
    publish(shared, &iface, iface_ref.signal_emitter()).await;
    Ok(())
}

/// The daemon's control loop on real time: runs the pump when it next needs to (at least once
/// a second), publishes changes, and calls `healthy` after each pass whose checks passed (the
/// systemd watchdog is petted there and nowhere else).
pub async fn control_loop(
    shared: Arc<Shared>,
    conn: Connection,
    mut healthy: impl FnMut(bool) + Send,
) {
    loop {
        let now = shared.clock.now();
        let next = {
            let s = shared.service.lock().await;
            s.next_wake()
        };
        let wait = next
            .map_or(Duration::from_secs(1), |t| t.since(now))
            .min(Duration::from_secs(1));
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_millis(wait.ms())) => {}
            () = shared.wake.notified() => {}
        }
        let ok = {
            let mut s = shared.service.lock().await;
            let now = shared.clock.now();
            let ticked = s.tick(now);
            if let Err(e) = &ticked {
                tracing::error!(error = %e, "control loop");
            }
            ticked.is_ok() && s.health().is_ok()
        };
        if let Err(e) = publish_on(&shared, &conn).await {
            tracing::warn!(error = %e, "publish");
        }
        healthy(ok);
    }
}
