//! The desktop demo (`titra` with no subcommand): the pump daemon's service on simulated
//! hardware and the touchscreen UI in one process.

use std::process::ExitCode;

/// Built without the UI (`--no-default-features`): say so, and what runs instead.
#[cfg(not(feature = "ui"))]
pub(crate) fn run_demo() -> ExitCode {
    eprintln!(
        "This titra was built without the touchscreen UI (cargo feature \"ui\"). Run a trial in the simulator instead: titra simulate examples/scenarios/continuous-morphine-pca.toml"
    );
    ExitCode::from(2)
}

/// The desktop demo: the pump daemon's service on simulated hardware and the touchscreen UI in
/// one process, over a peer-to-peer D-Bus link. A trial of the example program is started by
/// the demo nurses so that there is something to see; it is SIMULATED on every screen.
#[cfg(feature = "ui")]
pub(crate) fn run_demo() -> ExitCode {
    use crate::service::dbus::{ExportTarget, OBJECT_PATH, PumpIface, Shared, control_loop};
    use crate::service::pump::PumpService;
    use crate::time::MonotonicClock;
    use slint::ComponentHandle;
    use std::sync::Arc;

    let demo = || -> anyhow::Result<()> {
        let ui = crate::ui::MainWindow::new().map_err(|e| {
            anyhow::anyhow!(
                "cannot open a window ({e}); without a display run e.g. `titra simulate examples/scenarios/continuous-morphine-pca.toml`"
            )
        })?;
        let clock = Arc::new(MonotonicClock::starting_at(
            crate::core::units::Timestamp::ORIGIN,
        ));
        let now = crate::time::Clock::now(clock.as_ref());
        let mut service = PumpService::simulated_demo(now).map_err(|e| anyhow::anyhow!("{e}"))?;
        service.set_wall_clock(Box::new(crate::time::SystemWallClock));
        // Built in: the demo must not depend on where the binary is run from.
        let program = include_str!("../../examples/scenarios/continuous-morphine-pca.toml")
            .split("[[events]]")
            .next()
            .unwrap_or_default()
            .to_owned();
        let (token, _) = service
            .login("nurse", "123456", crate::service::auth::Peer::Local, now)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        service
            .start_trial(&token, &program, true, ("nurse2", "567890"), now)
            .and_then(|()| service.prime(&token, now))
            .and_then(|()| service.start(&token, now))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let shared = Shared::new(service, clock);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let (server_end, client_end) = std::os::unix::net::UnixStream::pair()?;
        let client = runtime.block_on(async {
            let guid = zbus::Guid::generate();
            let (server, client) = tokio::join!(
                zbus::connection::Builder::unix_stream(server_end)
                    .server(guid)
                    .p2p()
                    .serve_at(
                        OBJECT_PATH,
                        // The demo has no USB stick: exports go next to the user's trial logs.
                        PumpIface::new(shared.clone()).exporting_to(ExportTarget::Dir(
                            crate::store::default_path()
                                .parent()
                                .map_or_else(std::env::temp_dir, std::path::Path::to_path_buf)
                                .join("exports"),
                        )),
                    )
                    .build(),
                zbus::connection::Builder::unix_stream(client_end)
                    .p2p()
                    .build(),
            );
            let server = server?;
            tokio::spawn(control_loop(shared.clone(), server, |_| {}));
            client
        })?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        crate::ui::adapters::wire(&ui, tx);
        runtime.spawn(crate::ui::client::follow(
            crate::ui::client::Daemon::Connection(client),
            ui.as_weak(),
            rx,
        ));
        ui.run()?;
        Ok(())
    };
    match demo() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("titra: {e:#}");
            ExitCode::from(2)
        }
    }
}
