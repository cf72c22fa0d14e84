//! `titra-outbound`: sends the pump's messages to the hospital (issue 23): the IHE PCD messages
//! to the interface engines over MLLP and the trial summary's FHIR Bundle to the FHIR servers
//! that the hardware profile's `[integration]` names, taking them from the trial log's outbox,
//! one sender thread per endpoint (`titra::service::outbound`).
//!
//! A process of its own, with a systemd unit of its own (titra-outbound.service): the pump
//! daemon has no network at all (`PrivateNetwork=yes`), and whatever the network, TLS or a
//! server does to this process, the daemon and its delivery go on. The daemon only ever writes
//! the outbox; this process reads it and deletes what was acknowledged, on its own connection.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use titra::input::hardware::HardwareConfig;

#[derive(Parser)]
#[command(
    name = "titra-outbound",
    version,
    about = "Sends the pump's messages from the trial log's outbox to the hospital's interface engines and FHIR servers (prototype, not a medical device)"
)]
struct Args {
    /// The hardware profile, whose [integration] names the endpoints (default: the built-in
    /// one, which names none).
    #[arg(long, value_name = "FILE")]
    hardware: Option<PathBuf>,
    /// The trial log (default: /var/lib/titra/titra.db on the pump).
    #[arg(long, value_name = "FILE")]
    db: Option<PathBuf>,
}

fn main() -> ExitCode {
    titra::init_logging("info");
    let args = Args::parse();
    let cfg = match HardwareConfig::load(args.hardware.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("titra-outbound: {e}");
            return ExitCode::from(2);
        }
    };
    // What only the senders use (the endpoints' addresses and URLs, the network, the CA
    // files) is checked here and said, naming the key; the senders that can start do (one
    // endpoint written wrongly must not hold back the others' messages).
    let reach = cfg.check_reach().and_then(|()| {
        cfg.integration.as_ref().map_or(
            Ok(()),
            titra::input::hardware::IntegrationConfig::check_files,
        )
    });
    if let Err(problem) = reach {
        tracing::error!(%problem, "the hardware profile names an endpoint that cannot be reached as written");
    }
    let db = args.db.unwrap_or_else(titra::store::default_path);
    let (engines, servers) = cfg
        .integration
        .as_ref()
        .map(|i| (i.mllp.clone(), i.fhir.clone()))
        .unwrap_or_default();
    if engines.is_empty() && servers.is_empty() {
        tracing::info!("no interface engine or FHIR server is configured: nothing to send");
        return ExitCode::SUCCESS;
    }
    // Until systemd (or a technician) stops it: SIGTERM or SIGINT, both taken before the
    // senders start (a signal in between would end the process by its default action, the
    // senders mid-write).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let mut term = runtime.as_ref().ok().and_then(|rt| {
        rt.block_on(async {
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok()
        })
    });
    let mut interrupt = runtime.as_ref().ok().and_then(|rt| {
        rt.block_on(async {
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok()
        })
    });
    let stop = Arc::new(AtomicBool::new(false));
    let threads = titra::service::outbound::start(
        &engines,
        &servers,
        &db,
        &stop,
        titra::service::outbound::Timing::default(),
    );
    let signalled = runtime.map(|rt| {
        rt.block_on(async {
            tokio::select! {
                () = received(term.as_mut()) => {}
                () = received(interrupt.as_mut()) => {}
            }
        });
    });
    if let Err(e) = signalled {
        tracing::error!(error = %e, "cannot wait for a signal");
    }
    stop.store(true, Ordering::Release);
    for t in threads {
        let _ = t.join();
    }
    tracing::info!("stopped: what was not acknowledged stays in the outbox");
    ExitCode::SUCCESS
}

/// Until `signal` arrives (never when it could not be taken).
async fn received(signal: Option<&mut tokio::signal::unix::Signal>) {
    match signal {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}
