//! The desktop demonstration (`titra demo`, and `titra` with no subcommand): the pump daemon's
//! service on simulated hardware and the touchscreen UI in one process, its clock running
//! faster than real time so that a trainer can show a day of a trial in minutes, and with
//! `--scenario` a scenario's events played live on the screens.

use std::path::PathBuf;
use std::process::ExitCode;

/// How fast the desktop demonstration runs unless told: a minute of the trial each second.
pub const DEFAULT_SPEED: u32 = 60;

#[derive(clap::Args, Debug, Clone)]
pub struct DemoArgs {
    /// How many times faster than real time the pump's clock runs (1 to 600; every screen
    /// says so).
    #[arg(long, default_value_t = DEFAULT_SPEED,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(crate::time::MAX_DEMO_SPEED)))]
    pub speed: u32,
    /// A scenario file (examples/scenarios/): its program is started and its events are
    /// played live at their times (the patient's presses, the nurse's scores, faults).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// The language of the screens and the pump's answers: en or de (a pump takes its site's,
    /// from the protocol's `language`).
    #[arg(long, default_value = "en", value_parser = parse_language)]
    pub language: crate::core::lang::Language,
}

impl Default for DemoArgs {
    fn default() -> DemoArgs {
        DemoArgs {
            speed: DEFAULT_SPEED,
            scenario: None,
            language: crate::core::lang::Language::English,
        }
    }
}

/// A language's code, or what the pump speaks.
fn parse_language(code: &str) -> Result<crate::core::lang::Language, String> {
    crate::core::lang::Language::from_code(code).ok_or_else(|| {
        let known: Vec<&str> = crate::core::lang::Language::ALL
            .iter()
            .map(|l| l.code())
            .collect();
        format!(
            "\"{code}\" is not a language of the pump ({})",
            known.join(", ")
        )
    })
}

/// The built-in demonstration's program: the continuous morphine example.
const BUILT_IN: &str = include_str!("../../examples/scenarios/continuous-morphine-pca.toml");

/// The program a demonstration starts and the scenario whose events it plays (none for the
/// built-in one), read and checked before any window opens.
fn program_of(
    args: &DemoArgs,
) -> anyhow::Result<(String, Option<crate::input::scenario::Scenario>)> {
    let Some(path) = &args.scenario else {
        return Ok((BUILT_IN.to_owned(), None));
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read the scenario {}: {e}", path.display()))?;
    let scenario =
        crate::input::scenario::Scenario::from_toml_str(&text, &path.display().to_string())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((text, Some(scenario)))
}

/// Built without the UI (`--no-default-features`): say so, and what runs instead.
#[cfg(not(feature = "ui"))]
pub(crate) fn run_demo(args: &DemoArgs) -> ExitCode {
    let file = args.scenario.as_ref().map_or_else(
        || "examples/scenarios/continuous-morphine-pca.toml".to_owned(),
        |p| p.display().to_string(),
    );
    match program_of(args) {
        Ok(_) => eprintln!(
            "This titra was built without the touchscreen UI (cargo feature \"ui\"). Run the trial in the simulator instead: titra simulate {file}"
        ),
        Err(e) => eprintln!("titra demo: {e:#}"),
    }
    ExitCode::from(2)
}

/// The desktop demonstration: the pump daemon's service on simulated hardware and the
/// touchscreen UI in one process, over a peer-to-peer D-Bus link, its clock `args.speed` times
/// faster than real time. A trial (the example program, or the scenario's) is started by the
/// demo nurses so that there is something to see; SIMULATED, and the speed, on every screen.
#[cfg(feature = "ui")]
pub(crate) fn run_demo(args: &DemoArgs) -> ExitCode {
    use crate::service::dbus::{ExportTarget, OBJECT_PATH, PumpIface, Shared, control_loop};
    use crate::service::pump::PumpService;
    use crate::time::{Clock, DemoWallClock, MonotonicClock};
    use slint::ComponentHandle;
    use std::sync::Arc;

    let demo = || -> anyhow::Result<()> {
        let (program, scenario) = program_of(args)?;
        crate::core::lang::set(args.language);
        let ui = crate::ui::MainWindow::new().map_err(|e| {
            anyhow::anyhow!(
                "cannot open a window ({e}); without a display run e.g. `titra simulate examples/scenarios/continuous-morphine-pca.toml`"
            )
        })?;
        let clock: Arc<dyn Clock> = Arc::new(MonotonicClock::faster(
            crate::core::units::Timestamp::ORIGIN,
            args.speed,
        ));
        let now = clock.now();
        let mut service = PumpService::simulated_demo(now).map_err(|e| anyhow::anyhow!("{e}"))?;
        service.set_wall_clock(Box::new(DemoWallClock::following(clock.clone())));
        service.set_time_speed(args.speed);
        let (token, _) = service
            .login("nurse", "123456", crate::service::auth::Peer::Local, now)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        service
            .start_trial(&token, &program, true, ("nurse2", "567890"), now)
            .and_then(|()| service.prime(&token, now))
            .and_then(|()| service.start(&token, now))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        service.logout(&token, now);
        let player = scenario.map(|s| crate::engine::play::Player::new(&s, now));
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
            if let Some(player) = player {
                tokio::spawn(play(shared.clone(), player));
            }
            client
        })?;
        println!(
            "Titra demonstration: simulated pump, time {} times faster than real time (a day in {}).",
            args.speed,
            crate::core::readable::duration(
                crate::core::units::Duration::from_ms(86_400_000 / u64::from(args.speed.max(1))),
                crate::core::readable::Round::Nearest,
            )
        );
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
            eprintln!("titra demo: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Plays the scenario's events at their times on the demonstration's pump, saying each on
/// standard output as it is played, until the scenario is played or its trial has ended.
#[cfg(feature = "ui")]
async fn play(
    shared: std::sync::Arc<crate::service::dbus::Shared>,
    mut player: crate::engine::play::Player,
) {
    use crate::core::units::Duration;
    use crate::engine::play::Played;
    let started = player.start();
    loop {
        let next = {
            let s = shared.service.lock().await;
            player.next_at(s.check_due())
        };
        let Some(next) = next else {
            println!("The scenario has been played to its end.");
            return;
        };
        // At least a second of the pump's time between passes: a check that fell due outside
        // the scenario's spans is never played, and must not spin.
        let now = shared.clock.now();
        let wait = next.since(now).max(Duration::from_secs(1));
        tokio::time::sleep(shared.clock.real_wait(wait)).await;
        let played = {
            let mut s = shared.service.lock().await;
            let now = shared.clock.now();
            if let Err(e) = s.tick(now) {
                tracing::error!(error = %e, "demo tick");
            }
            s.play(&mut player, now).map(|p| (p, now))
        };
        shared.wake.notify_one();
        let (played, now) = match played {
            Ok(p) => p,
            Err(e) => {
                eprintln!("titra demo: the scenario stops: {e}");
                return;
            }
        };
        let at =
            crate::core::readable::duration(now.since(started), crate::core::readable::Round::Down);
        for p in played {
            match p {
                Played::Applied(event) => println!("{at} in: {}", describe(&event)),
                Played::Skipped(event, why) => {
                    println!("{at} in: not played, {}: {why}", describe(&event))
                }
                Played::RoutineCheck => {
                    println!("{at} in: the routine sedation and breathing check")
                }
                Played::Ended => {
                    println!("{at} in: the scenario stops the trial.");
                    return;
                }
            }
        }
    }
}

/// An event as its scenario file writes it.
#[cfg(feature = "ui")]
fn describe(event: &crate::input::scenario::Event) -> String {
    serde_json::to_string(event).unwrap_or_else(|_| format!("{event:?}"))
}
