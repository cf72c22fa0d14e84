//! The daemon's interface, `org.titra.Pump1`, served on one end of a peer-to-peer D-Bus link
//! (`UnixStream::pair()`, no bus daemon) with the shared proxy on the other, in virtual time.

use std::sync::Arc;

use titra::core::units::Timestamp;
use titra::service::dbus::{
    ExportTarget, OBJECT_PATH, Pump1Proxy, PumpError, PumpIface, Shared, run_until,
};
use titra::service::pump::PumpService;
use titra::time::ManualClock;
use zbus::Connection;
use zbus::connection::Builder;

use super::{NURSE, SECOND_NURSE, Staff, morphine_trial};

/// The program `Pump::running` starts: the example morphine trial.
pub const PROGRAM: &str = morphine_trial!("MRN-DBUS");

/// The two ends of a fresh peer-to-peer link: the server's, with what `serve` puts on it, and
/// the client's.
pub async fn link(
    serve: impl FnOnce(Builder<'static>) -> Builder<'static>,
) -> (Connection, Connection) {
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let server = serve(Builder::unix_stream(a).server(zbus::Guid::generate()).p2p());
    let (server, client) = tokio::join!(server.build(), Builder::unix_stream(b).p2p().build());
    (server.unwrap(), client.unwrap())
}

/// Where this test process's exports go (one directory per process; each test's files are
/// named by its own patient).
pub fn export_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("titra-dbus-export-{}", std::process::id()))
}

/// The daemon's interface and the proxy a screen uses, with the pump's clock.
pub struct Pump {
    pub shared: Arc<Shared>,
    pub clock: ManualClock,
    pub server: Connection,
    pub proxy: Pump1Proxy<'static>,
    _client: Connection,
}

/// The demo pump (simulated, the checklist confirmed by the demo) at the start of virtual time.
pub async fn pump() -> Pump {
    pump_with(
        PumpService::simulated_demo(Timestamp::ORIGIN).unwrap(),
        Timestamp::ORIGIN,
    )
    .await
}

/// The daemon's interface over a fresh peer-to-peer link to `service`, its clock at `now`.
pub async fn pump_with(service: PumpService, now: Timestamp) -> Pump {
    let clock = ManualClock::default();
    clock.set(now);
    let shared = Shared::new(service, Arc::new(clock.clone()));
    let iface = PumpIface::new(shared.clone()).exporting_to(ExportTarget::Dir(export_dir()));
    let (server, client) = link(|b| b.serve_at(OBJECT_PATH, iface)).await;
    let proxy = Pump1Proxy::new(&client).await.unwrap();
    Pump {
        shared,
        clock,
        server,
        proxy,
        _client: client,
    }
}

impl Pump {
    /// Runs the pump to `t`, as the daemon's loop does.
    pub async fn run_to(&self, t: Timestamp) {
        run_until(&self.shared, &self.server, &self.clock, t)
            .await
            .unwrap();
    }

    /// Runs the pump to `t` with the ward recording every sedation and breathing check as it
    /// falls due (POSS 1, 16/min, through the interface as a nurse): for tests about something
    /// else on a drug the library checks by default (hourly after intrathecal morphine), so
    /// their alarms are theirs, not a missed check's.
    pub async fn run_to_with_checks(&self, t: Timestamp) {
        use titra::time::Clock as _;
        loop {
            // The engine reads what was recorded (a start, a bolus) when it next runs.
            self.run_to(self.clock.now()).await;
            let due = {
                let service = self.shared.service.lock().await;
                service.engine().and_then(|e| {
                    e.check_due()
                        .filter(|_| e.state() != titra::core::supervisor::State::Ended)
                })
            };
            match due {
                Some(due) if due <= t => {
                    if due > self.clock.now() {
                        self.run_to(due).await;
                    }
                    let nurse = self.login(NURSE).await;
                    self.proxy.record_sedation(&nurse, 1).await.unwrap();
                    self.proxy
                        .record_vitals(&nurse, 16, 0, 0, 0.0)
                        .await
                        .unwrap();
                }
                _ => return self.run_to(t).await,
            }
        }
    }

    /// Logs `who` in; the session's token.
    pub async fn login(&self, who: Staff) -> String {
        self.proxy.login(who.id, who.pin).await.unwrap().0
    }

    /// The nurse programs `program` (checked by the second nurse) and primes; her token.
    pub async fn primed(&self, program: &str) -> String {
        let nurse = self.login(NURSE).await;
        self.proxy
            .start_trial(&nurse, program, false, SECOND_NURSE.id, SECOND_NURSE.pin)
            .await
            .unwrap();
        self.proxy.prime(&nurse).await.unwrap();
        nurse
    }

    /// The nurse programs `PROGRAM` (checked by the second nurse), primes, confirms the
    /// checklist and starts; her token.
    pub async fn running(&self) -> String {
        let nurse = self.primed(PROGRAM).await;
        self.confirm_checklist(&nurse).await;
        self.proxy.start(&nurse).await.unwrap();
        nurse
    }

    /// The nurse confirms every open item of the pre-trial checklist.
    pub async fn confirm_checklist(&self, nurse: &str) {
        confirm_checklist(&self.proxy, nurse).await;
    }
}

/// The nurse confirms every open item of the pre-trial checklist (none are open when the demo
/// confirmed them; the daemon refuses to start without it).
pub async fn confirm_checklist(proxy: &Pump1Proxy<'_>, nurse: &str) {
    let (items, ..) = proxy.checklist(nurse).await.unwrap();
    assert!(!items.is_empty(), "the built-in protocol has a checklist");
    for item in items.iter().filter(|i| !i.confirmed) {
        proxy.confirm_checklist_item(nurse, &item.id).await.unwrap();
    }
}

/// The D-Bus error name and message of a refused call.
pub fn error_of<T: std::fmt::Debug>(r: Result<T, PumpError>) -> (String, String) {
    use zbus::DBusError as _;
    match r {
        Err(PumpError::ZBus(e)) => panic!("expected a refusal, got {e:?}"),
        Err(e) => (
            e.name().to_string(),
            e.description().unwrap_or_default().to_owned(),
        ),
        Ok(v) => panic!("expected a D-Bus error, got {v:?}"),
    }
}
