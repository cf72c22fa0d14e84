//! `titra-pumpd`: the pump daemon. It owns the pump hardware and the trial log, runs the
//! engine, and serves `org.titra.Pump1` on D-Bus; it is the only process that moves the motor.
//! It never depends on the UI being alive.
//!
//! systemd: `Type=notify`; READY=1 only after the trial log was opened and any unfinished trial
//! recovered; STATUS= lines on state changes and failed health checks; the watchdog is petted
//! after every pass of the control loop (it says the loop is alive; a failed health check is a
//! HIGH alarm the daemon raises and keeps sounding, with delivery stopped).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Parser;
use titra::core::units::Timestamp;
use titra::input::hardware::HardwareConfig;
use titra::service::auth::Auth;
use titra::service::dbus::{BUS_NAME, OBJECT_PATH, PumpIface, Shared, control_loop};
use titra::service::pump::{Hardware, PumpService};
use titra::sim::SimPump;
use titra::time::MonotonicClock;

#[derive(Parser)]
#[command(
    name = "titra-pumpd",
    version,
    about = "Titra pump daemon (prototype, not a medical device)"
)]
struct Args {
    /// Run on simulated hardware (shown as SIMULATED everywhere). Without it the daemon drives
    /// the pump's GPIO (built with --features rpi) and never falls back to simulation by itself.
    #[arg(long)]
    sim: bool,
    /// Which bus to serve on: "system" (the pump), "session" (a desktop), or a D-Bus address.
    #[arg(long, default_value = "system")]
    bus: String,
    /// The trial log (default: /var/lib/titra/titra.db, or the user's data directory).
    #[arg(long, value_name = "FILE")]
    db: Option<PathBuf>,
    /// The drug library (default: the built-in example library).
    #[arg(long, value_name = "FILE")]
    library: Option<PathBuf>,
    /// The hardware profile (default: the built-in one).
    #[arg(long, value_name = "FILE")]
    hardware: Option<PathBuf>,
    /// Users and their PIN hashes (TOML, from `titra hash-pin`). With --sim and no file, demo
    /// users are used: `nurse` 123456, `nurse2` 567890, `clinician` 246810.
    #[arg(long, value_name = "FILE")]
    users: Option<PathBuf>,
    /// The site protocol (the implant rule of the summary; default: the built-in example).
    #[arg(long, value_name = "FILE")]
    protocol: Option<PathBuf>,
    /// Write the clinician's exports into this directory instead of a USB stick.
    #[arg(long, value_name = "DIR")]
    export_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    titra::init_logging("info");
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("titra-pumpd: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("titra-pumpd: {e:#}");
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Status(&format!("failed: {e:#}"))]);
            ExitCode::from(2)
        }
    }
}

/// The pump's own hardware: never a silent fallback to simulation.
#[cfg(feature = "rpi")]
fn real_hardware(cfg: &HardwareConfig) -> anyhow::Result<Hardware> {
    titra::hw::open_pump(cfg)
        .map_err(|e| anyhow::anyhow!("the pump's hardware cannot be used: {e}"))
}

#[cfg(not(feature = "rpi"))]
fn real_hardware(_cfg: &HardwareConfig) -> anyhow::Result<Hardware> {
    bail!(
        "this titra-pumpd was built without the Raspberry Pi backend (cargo build --features rpi); run with --sim for simulated hardware"
    )
}

async fn run(args: Args) -> anyhow::Result<()> {
    let cfg = titra::input::hardware::HardwareConfig::load(args.hardware.as_deref())?;
    let (library, source) = titra::input::check::load_library(args.library.as_deref())?;
    let auth = match (&args.users, args.sim) {
        (Some(p), _) => Auth::from_file(p)?,
        (None, true) => {
            tracing::warn!(
                "SIMULATED pump with demo users: nurse 123456, nurse2 567890, clinician 246810"
            );
            Auth::demo()?
        }
        (None, false) => bail!("--users FILE is needed with real hardware"),
    };
    let db = args.db.clone().unwrap_or_else(titra::store::default_path);
    if let Some(dir) = db.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // The pump's clock continues the recovered trial's time (a restart takes no time off any
    // lockout or window).
    let start = PumpService::resume_time(&db).unwrap_or(Timestamp::ORIGIN);
    let clock = Arc::new(MonotonicClock::starting_at(start));
    let hw: Hardware = if args.sim {
        let mut sim = SimPump::new(&cfg.mechanism, &cfg.simulation, cfg.mechanism.syringe);
        sim.keep_state_in(titra::cli::simulate::sim_state_path(&db), true);
        Box::new(sim)
    } else {
        real_hardware(&cfg)?
    };
    let mut service = PumpService::new(cfg, library, source, auth, hw, Some(db.clone()), start)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // Trials are dated by the system's wall clock; delivery runs on the monotonic one.
    service.set_wall_clock(Box::new(titra::time::SystemWallClock));
    if let Some(path) = &args.protocol {
        let protocol = titra::input::protocol::Protocol::from_file(path)?;
        // The site's language, for every client's texts (the trial log stays English).
        titra::core::lang::set(protocol.language);
        service.set_protocol(protocol);
    }
    // Wrong-PIN counts and locks survive a restart, beside the trial log. An unreadable file is
    // said loudly and replaced: the pump must start, and each user's count starts again.
    let attempts = db.with_file_name("logins.json");
    if let Err(e) = service.keep_login_attempts_in(attempts.clone(), start) {
        tracing::error!(path = %attempts.display(), error = %e, "wrong-PIN counts lost");
    }
    // The summary's Bundle an ended trial still owes the site's FHIR servers (the daemon
    // stopped between a confirmation and its Bundle), made from the whole log: before the
    // daemon says it is ready and the watchdog runs. The messages for the hospital go from the
    // outbox by titra-outbound, a process of its own with the network this daemon does not
    // have (PrivateNetwork=yes in its unit).
    service.queue_owed_at_start(start);
    let shared = Shared::new(service, clock);
    let iface = PumpIface::new(shared.clone()).exporting_to(match &args.export_dir {
        Some(dir) => titra::service::dbus::ExportTarget::Dir(dir.clone()),
        None => titra::service::dbus::ExportTarget::Usb,
    });
    let conn = titra::service::dbus::bus_builder(&args.bus)
        .name(BUS_NAME)
        .serve_at(OBJECT_PATH, iface)
        .build()
        .await
        .with_context(|| format!("cannot serve {BUS_NAME} on the {} bus", args.bus))?;
    tracing::info!(db = %db.display(), bus = %args.bus, "serving {BUS_NAME}");
    // A session ends with the connection that opened it. Without the bus's NameOwnerChanged a
    // session still ends on logout or after 3 idle minutes: said loudly, not fatal.
    let departed = titra::service::dbus::end_sessions_of_departed(shared.clone(), conn.clone());
    tokio::spawn(async move {
        if let Err(e) = departed.await {
            tracing::error!(error = %e, "sessions will not end when their screen leaves the bus");
        }
    });
    let self_test = shared.service.lock().await.self_test().cloned();
    let mut ready_status = if args.sim {
        format!("serving {BUS_NAME} (SIMULATED hardware)")
    } else {
        format!("serving {BUS_NAME}")
    };
    if let Some(t) = self_test.filter(|t| !t.passed()) {
        // Still served, so that the screen can say why the pump will not deliver.
        ready_status = format!("{ready_status}; SELF-TEST FAILED: {}", t.failures());
    }
    let _ = sd_notify::notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status(&ready_status),
    ]);
    let watchdog = sd_notify::watchdog_enabled().is_some();
    let status_shared = shared.clone();
    // sd_notify sends on a blocking datagram socket: never from the control loop itself, and
    // never more than one at a time (a stuck receiver must not stall the pump). The watchdog's
    // pet and a new status go in one datagram; false when a send is still under way.
    let busy = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let notify = move |pet: bool, status: Option<String>| -> bool {
        if !pet && status.is_none() {
            return true;
        }
        if busy.swap(true, std::sync::atomic::Ordering::AcqRel) {
            return false;
        }
        let busy = busy.clone();
        tokio::task::spawn_blocking(move || {
            let mut states = Vec::new();
            if pet {
                states.push(sd_notify::NotifyState::Watchdog);
            }
            if let Some(text) = &status {
                states.push(sd_notify::NotifyState::Status(text));
            }
            if !states.is_empty() {
                let _ = sd_notify::notify(&states);
            }
            busy.store(false, std::sync::atomic::Ordering::Release);
        });
        true
    };
    // The watchdog says the control loop is alive: petted after every pass, whatever the
    // health check found (a failed check is a HIGH alarm this daemon keeps sounding, never a
    // reason for systemd to kill it and leave the pump silent).
    let mut last_status = String::new();
    let loop_task = tokio::spawn(control_loop(
        shared.clone(),
        conn.clone(),
        move |problems| {
            let health = problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            // Only the state's name: the full status was just computed for publishing.
            let state = status_shared
                .service
                .try_lock()
                .map(|s| s.state().to_string())
                .ok();
            let status = state.map(|state| match health.as_str() {
                "" => format!("pump {state}"),
                _ => format!("pump {state}; HEALTH CHECK FAILED: {health}"),
            });
            let changed = status.filter(|s| *s != last_status);
            if notify(watchdog, changed.clone())
                && let Some(s) = changed
            {
                last_status = s;
            }
        },
    ));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => tracing::info!("stopping (SIGTERM): the trial resumes, stopped, when the daemon is back"),
        _ = tokio::signal::ctrl_c() => tracing::info!("stopping (interrupt)"),
        r = loop_task => { r?; }
    }
    // What is counted and not yet written (denied presses coalesced into one record) goes to
    // the log before the daemon exits.
    {
        let mut s = shared.service.lock().await;
        let now = shared.clock.now();
        if !s.before_exit(now) {
            tracing::error!("the trial log could not take the last records before stopping");
        }
    }
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    Ok(())
}
