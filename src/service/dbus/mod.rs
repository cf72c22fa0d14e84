//! `org.titra.Pump1` on D-Bus: the interface the daemon serves at `/org/titra/Pump1`, the proxy
//! the CLI and the UI share, and the control loop that runs the pump between calls.
//!
//! Properties carry what screens show (with units written out) and emit PropertiesChanged when
//! they change; signals announce alarms, patient-bolus decisions and state changes; errors are
//! typed (`org.titra.Pump1.Error.*`) and worded for nurses.

mod control;
mod iface;

pub use control::{control_loop, publish, publish_on, run_until};
pub use iface::Pump1Proxy;

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

    /// Where an export goes now: a USB stick's mount point with the `titra` folder on it, or
    /// the configured directory (created if missing: it is the site's own, not a stick's).
    async fn export_place(
        &self,
        needed: u64,
    ) -> Result<(std::path::PathBuf, &'static [&'static str]), PumpError> {
        match &self.export_to {
            ExportTarget::Dir(d) => {
                std::fs::create_dir_all(d).map_err(|e| {
                    PumpError::Internal(format!("cannot create {}: {e}", d.display()))
                })?;
                Ok((d.clone(), &[]))
            }
            ExportTarget::Usb => {
                let conn = Connection::system().await.map_err(|e| {
                    PumpError::Internal(format!(
                        "the pump's USB service cannot be reached ({e}); call technical support"
                    ))
                })?;
                let stick = crate::report::usb::find_stick(&conn, needed)
                    .await
                    .map_err(|e| PumpError::WrongState(e.to_string()))?;
                Ok((stick.mount_point, &["titra"]))
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

    /// A call that reads (or checks) and changes nothing the pump does: no tick, nothing to
    /// publish.
    async fn query<T>(
        &self,
        f: impl FnOnce(&mut PumpService, Timestamp) -> Result<T, ServiceError>,
    ) -> Result<T, PumpError> {
        let now = self.shared.clock.now();
        let mut s = self.shared.service.lock().await;
        Ok(f(&mut s, now)?)
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

pub(crate) fn name_of(kind: &crate::core::supervisor::AlarmKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
