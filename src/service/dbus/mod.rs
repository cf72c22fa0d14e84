//! `org.titra.Pump1` on D-Bus: the interface the daemon serves at `/org/titra/Pump1`, the proxy
//! the CLI and the UI share, and the control loop that runs the pump between calls.
//!
//! Properties carry what screens show (with units written out) and emit PropertiesChanged when
//! they change; signals announce alarms, patient-bolus decisions and state changes; errors are
//! typed (`org.titra.Pump1.Error.*`) and worded for nurses.

mod control;
mod iface;
pub mod rate;

pub use control::{control_loop, publish, publish_on, run_until};
pub use iface::Pump1Proxy;

use std::sync::Arc;

use tokio::sync::{Mutex, Notify};
use zbus::object_server::SignalEmitter;
use zbus::{Connection, interface};

use crate::core::supervisor::Priority;
use crate::core::tr;
use crate::core::units::{Duration, Timestamp};
use crate::journal::Record;
use crate::service::auth::Peer;
use crate::service::pump::{HealthProblem, MAX_BREATHS, PumpService, ServiceError, Vitals};
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
    /// A call that needs no login went over its rate limit (see [`rate`]); the message says
    /// the method and the limit.
    TooManyRequests(String),
}

impl From<crate::limits::LimitError> for PumpError {
    fn from(e: crate::limits::LimitError) -> Self {
        PumpError::InvalidInput(e.to_string())
    }
}

impl From<rate::TooManyRequests> for PumpError {
    fn from(e: rate::TooManyRequests) -> Self {
        PumpError::TooManyRequests(e.to_string())
    }
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
    /// The rate limits of the calls that need no login (taken briefly, never with the service
    /// lock held).
    rate: std::sync::Mutex<rate::RateLimiter>,
}

impl Shared {
    pub fn new(service: PumpService, clock: Arc<dyn Clock>) -> Arc<Shared> {
        Arc::new(Shared {
            service: Mutex::new(service),
            clock,
            wake: Notify::new(),
            status: std::sync::Mutex::new(None),
            rate: std::sync::Mutex::new(rate::RateLimiter::default()),
        })
    }

    /// The same, with rate limits of its own (tests and the fuzz target).
    pub fn with_rate_limits(
        service: PumpService,
        clock: Arc<dyn Clock>,
        limits: rate::RateLimiter,
    ) -> Arc<Shared> {
        Arc::new(Shared {
            service: Mutex::new(service),
            clock,
            wake: Notify::new(),
            status: std::sync::Mutex::new(None),
            rate: std::sync::Mutex::new(limits),
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
                    PumpError::Internal(tr!("cannot create {folder}: {e}", folder = d.display(), e))
                })?;
                Ok((d.clone(), &[]))
            }
            ExportTarget::Usb => {
                let conn = Connection::system().await.map_err(|e| {
                    PumpError::Internal(tr!(
                        "the pump's USB service cannot be reached ({e}); call technical support",
                        e
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

    /// [`PumpIface::call`] for a call with a session token: the token is refused from any
    /// connection but the one that logged in, checked under the same lock as the call.
    async fn call_by<T>(
        &self,
        hdr: &zbus::message::Header<'_>,
        conn: &Connection,
        token: &str,
        emitter: &SignalEmitter<'_>,
        f: impl FnOnce(&mut PumpService, Timestamp) -> Result<T, ServiceError>,
    ) -> Result<T, PumpError> {
        let peer = peer_of(hdr, conn, false).await;
        self.call(emitter, |s, now| {
            s.check_peer(token, &peer)?;
            f(s, now)
        })
        .await
    }

    /// [`PumpIface::query`] for a call with a session token (see [`PumpIface::call_by`]).
    async fn query_by<T>(
        &self,
        hdr: &zbus::message::Header<'_>,
        conn: &Connection,
        token: &str,
        f: impl FnOnce(&mut PumpService, Timestamp) -> Result<T, ServiceError>,
    ) -> Result<T, PumpError> {
        let peer = peer_of(hdr, conn, false).await;
        self.query(|s, now| {
            s.check_peer(token, &peer)?;
            f(s, now)
        })
        .await
    }

    /// Refuses `token` from any connection but the one that logged in (for the calls that do
    /// more than one service call: logout, the export).
    async fn bound(
        &self,
        hdr: &zbus::message::Header<'_>,
        conn: &Connection,
        token: &str,
    ) -> Result<(), PumpError> {
        let peer = peer_of(hdr, conn, false).await;
        Ok(self.shared.service.lock().await.check_peer(token, &peer)?)
    }

    /// Admits one call of `method` (one that needs no login) from the connection it came
    /// through, or refuses it with the limit it went over; before the service lock.
    fn admit(
        &self,
        method: &'static str,
        hdr: &zbus::message::Header<'_>,
        conn: &Connection,
    ) -> Result<(), PumpError> {
        let key = match hdr.sender() {
            Some(sender) => sender.to_string(),
            None => format!("p2p:{}", conn.server_guid()),
        };
        let now = self.shared.clock.now();
        let mut rate = self
            .shared
            .rate
            .lock()
            .map_err(|_| PumpError::Internal(tr!("the rate limits are unusable").to_owned()))?;
        rate.admit(method, &key, now).map_err(|e| {
            tracing::debug!(%method, connection = %key, "refused: too many requests");
            e.into()
        })
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

/// The connection a call came through: on a bus its sender's unique name (and, when `uid`,
/// its Unix user from the bus's `GetConnectionCredentials`); on a peer-to-peer link the peer's
/// process and user from the socket.
pub(crate) async fn peer_of(hdr: &zbus::message::Header<'_>, conn: &Connection, uid: bool) -> Peer {
    match hdr.sender() {
        Some(sender) => {
            let uid = if uid {
                bus_uid(conn, sender.as_str()).await
            } else {
                None
            };
            Peer::Bus {
                unique_name: sender.to_string(),
                uid,
            }
        }
        None => match conn.peer_creds().await {
            Ok(c) => Peer::Direct {
                pid: c.process_id(),
                uid: c.unix_user_id(),
            },
            Err(e) => {
                tracing::warn!(error = %e, "the peer's credentials");
                Peer::Direct {
                    pid: None,
                    uid: None,
                }
            }
        },
    }
}

/// The Unix user behind a bus name, from the bus.
async fn bus_uid(conn: &Connection, name: &str) -> Option<u32> {
    let proxy = zbus::fdo::DBusProxy::new(conn).await.ok()?;
    let name = zbus::names::BusName::try_from(name).ok()?;
    match proxy.get_connection_credentials(name).await {
        Ok(c) => c.unix_user_id(),
        Err(e) => {
            tracing::warn!(error = %e, "GetConnectionCredentials");
            None
        }
    }
}

/// Ends the sessions of every client that leaves the bus (its unique name loses its owner),
/// until the bus connection closes.
pub async fn end_sessions_of_departed(shared: Arc<Shared>, conn: Connection) -> zbus::Result<()> {
    use futures_util::StreamExt as _;
    let proxy = zbus::fdo::DBusProxy::new(&conn).await?;
    let mut changes = proxy.receive_name_owner_changed().await?;
    while let Some(change) = changes.next().await {
        let Ok(args) = change.args() else { continue };
        if args.new_owner().is_none() && args.name().as_str().starts_with(':') {
            let peer = Peer::Bus {
                unique_name: args.name().to_string(),
                uid: None,
            };
            let now = shared.clock.now();
            shared.service.lock().await.end_sessions_of(&peer, now);
        }
    }
    Ok(())
}

pub(crate) fn name_of(kind: &crate::core::supervisor::AlarmKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
