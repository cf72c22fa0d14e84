//! `titra`: the command line of the Titra trial pump.
//!
//! Exit codes (a contract other tools rely on): 0 done / acceptable, 2 invalid input or a
//! rejected program (the message names the field and the limit), 1 internal error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use titra::check;

#[derive(Parser)]
#[command(
    name = "titra",
    version,
    about = "Titra trial pump for intrathecal and epidural delivery (prototype, not a medical device)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Check a program (or a whole scenario file) against the drug library.
    ///
    /// Exits 0 when the program is acceptable (settings that need confirmation are listed) and
    /// 2 when it is rejected or the file is invalid.
    Check {
        /// A program file: the [trial] and [program] tables of a scenario, or a whole scenario.
        file: PathBuf,
        /// The drug library to check against (default: the built-in example library).
        #[arg(long, value_name = "FILE")]
        library: Option<PathBuf>,
        /// Print the findings as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run a whole trial from a scenario file on simulated hardware, in virtual time, and print
    /// its summary.
    ///
    /// Exits 0 when the trial ran to its end, 2 when the scenario is invalid or its program is
    /// rejected (nothing runs), 1 on an internal error.
    Simulate {
        /// A scenario file (see examples/scenarios/README.md).
        file: PathBuf,
        /// Print the trial summary as JSON (schema titra.trial-summary/1).
        #[arg(long)]
        json: bool,
        /// The drug library (default: the built-in example library).
        #[arg(long, value_name = "FILE")]
        library: Option<PathBuf>,
        /// The hardware profile (default: the built-in bench prototype's).
        #[arg(long, value_name = "FILE")]
        hardware: Option<PathBuf>,
        /// Keep the trial log in this SQLite file (default: in memory only). An unfinished
        /// trial of the same patient in it is resumed, as after a power cut.
        #[arg(long, value_name = "FILE")]
        db: Option<PathBuf>,
        /// Print "applied N" on standard error after the scenario's event N is applied and
        /// logged (for crash tests).
        #[arg(long, hide = true)]
        acks: bool,
    },
    /// Show what the pump daemon is doing.
    ///
    /// Exits 0 when the daemon answered, 1 when it could not be reached.
    Status {
        /// The bus the daemon serves on: "system", "session" or a D-Bus address.
        #[arg(long, default_value = "system")]
        bus: String,
        /// Print the status as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the argon2 hash of a PIN (read from standard input) for the users file.
    HashPin,
    /// Check the trial log's hash chain: reports a changed, removed or cut-off record.
    ///
    /// Exits 0 when intact, 2 when a problem is found or the file is not a trial log.
    VerifyLog {
        /// The trial log (default: the pump's, /var/lib/titra/titra.db, or the user's data
        /// directory on a desktop).
        #[arg(long, value_name = "FILE")]
        db: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    titra::init_logging("warn");
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Check {
            file,
            library,
            json,
        }) => run_check(&file, library.as_deref(), json),
        Some(Command::Simulate {
            file,
            json,
            library,
            hardware,
            db,
            acks,
        }) => run_simulate(
            &file,
            json,
            library.as_deref(),
            hardware.as_deref(),
            db.as_deref(),
            acks,
        ),
        Some(Command::VerifyLog { db }) => run_verify(db),
        Some(Command::Status { bus, json }) => run_status(&bus, json),
        Some(Command::HashPin) => run_hash_pin(),
        None => run_demo(),
    }
}

fn run_check(file: &std::path::Path, library: Option<&std::path::Path>, json: bool) -> ExitCode {
    match check::check_file(file, library) {
        Ok(report) => {
            if json {
                match serde_json::to_string_pretty(&report) {
                    Ok(text) => println!("{text}"),
                    Err(e) => {
                        eprintln!("internal error: cannot write the report as JSON: {e}");
                        return ExitCode::from(1);
                    }
                }
            } else {
                print!("{}", check::render(&report));
            }
            ExitCode::from(u8::try_from(report.exit_code()).unwrap_or(1))
        }
        Err(e) => {
            eprintln!("Cannot check {}: {e}", file.display());
            ExitCode::from(2)
        }
    }
}

fn run_simulate(
    file: &std::path::Path,
    json: bool,
    library: Option<&std::path::Path>,
    hardware: Option<&std::path::Path>,
    db: Option<&std::path::Path>,
    acks: bool,
) -> ExitCode {
    let invalid = |message: String| {
        eprintln!("Cannot simulate {}: {message}", file.display());
        ExitCode::from(2)
    };
    let scenario = match titra::scenario::Scenario::from_file(file) {
        Ok(s) => s,
        Err(e) => return invalid(e.to_string()),
    };
    let (library, source) = match check::load_library(library) {
        Ok(l) => l,
        Err(e) => return invalid(e.to_string()),
    };
    let hw = match hardware {
        Some(p) => titra::config::HardwareConfig::from_file(p),
        None => titra::config::HardwareConfig::built_in(),
    };
    let hw = match hw {
        Ok(h) => h,
        Err(e) => return invalid(e.to_string()),
    };
    let target = match db {
        Some(path) => titra::simulate::LogTarget::File(path),
        None => titra::simulate::LogTarget::Memory,
    };
    let mut ack = |index: usize| {
        if acks {
            use std::io::Write as _;
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "applied {index}");
            let _ = err.flush();
        }
    };
    match titra::simulate::run_with_log(&scenario, &library, source, &hw, target, &mut ack) {
        Ok(outcome) => {
            if json {
                match serde_json::to_string_pretty(&outcome.summary) {
                    Ok(text) => println!("{text}"),
                    Err(e) => {
                        eprintln!("internal error: cannot write the summary as JSON: {e}");
                        return ExitCode::from(1);
                    }
                }
            } else {
                let unit = library
                    .find(
                        &scenario.program.drug,
                        scenario.trial.route,
                        scenario.program.concentration,
                    )
                    .map(|e| e.unit)
                    .unwrap_or(titra::core::units::MassUnit::Mg);
                print!("{}", titra::summary::render(&outcome.summary, unit));
            }
            ExitCode::SUCCESS
        }
        Err(titra::simulate::SimulateError::Invalid(m)) => invalid(m),
        Err(e) => {
            eprintln!("Simulation of {} failed: {e}", file.display());
            ExitCode::from(1)
        }
    }
}

fn run_verify(db: Option<PathBuf>) -> ExitCode {
    let path = db.unwrap_or_else(titra::store::default_path);
    if !path.exists() {
        eprintln!("There is no trial log at {}.", path.display());
        return ExitCode::from(2);
    }
    let log = match titra::store::TrialLog::open(&path) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("Cannot verify: {e}");
            return ExitCode::from(2);
        }
    };
    match log.verify() {
        Ok(v) if v.is_intact() => {
            println!(
                "{}: {} records, the hash chain is intact.",
                path.display(),
                v.rows
            );
            ExitCode::SUCCESS
        }
        Ok(v) => {
            println!(
                "{}: {} records, THE LOG WAS TAMPERED WITH OR DAMAGED:",
                path.display(),
                v.rows
            );
            for p in &v.problems {
                println!("  - {p}");
            }
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("Cannot verify {}: {e}", path.display());
            ExitCode::from(1)
        }
    }
}

fn run_status(bus: &str, json: bool) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("internal error: {e}");
            return ExitCode::from(1);
        }
    };
    let result: anyhow::Result<String> = runtime.block_on(async {
        let conn = titra::service::dbus::bus_builder(bus).build().await?;
        let proxy = titra::service::dbus::Pump1Proxy::new(&conn).await?;
        Ok(proxy.status_json().await?)
    });
    match result {
        Ok(text) if json => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Ok(text) => match serde_json::from_str::<titra::service::pump::Status>(&text) {
            Ok(s) => {
                print!("{}", titra::service::pump::render_status(&s));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("The pump answered something this version cannot read: {e}");
                ExitCode::from(1)
            }
        },
        Err(e) => {
            eprintln!("Cannot reach the pump daemon (org.titra.Pump1 on the {bus} bus): {e}");
            ExitCode::from(1)
        }
    }
}

fn run_hash_pin() -> ExitCode {
    let mut pin = String::new();
    if std::io::stdin().read_line(&mut pin).is_err() || pin.trim().is_empty() {
        eprintln!("Type the PIN on standard input.");
        return ExitCode::from(2);
    }
    match titra::service::auth::hash_pin(pin.trim()) {
        Ok(h) => {
            println!("{h}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

/// The desktop demo: the pump daemon's service on simulated hardware and the touchscreen UI in
/// one process, over a peer-to-peer D-Bus link. A trial of the example program is started by
/// the demo nurses so that there is something to see; it is SIMULATED on every screen.
fn run_demo() -> ExitCode {
    use slint::ComponentHandle;
    use std::sync::Arc;
    use titra::service::dbus::{MonotonicClock, OBJECT_PATH, PumpIface, Shared, control_loop};
    use titra::service::pump::{Hardware, PumpService};

    let demo = || -> anyhow::Result<()> {
        let ui = titra::ui::MainWindow::new().map_err(|e| {
            anyhow::anyhow!(
                "cannot open a window ({e}); without a display run e.g. `titra simulate examples/scenarios/continuous-morphine-pca.toml`"
            )
        })?;
        let cfg = titra::config::HardwareConfig::built_in()?;
        let (library, source) = check::load_library(None)?;
        let hw: Hardware = Box::new(titra::sim::SimPump::new(
            &cfg.mechanism,
            &cfg.simulation,
            cfg.mechanism.syringe,
        ));
        let clock = Arc::new(MonotonicClock::starting_at(
            titra::core::units::Timestamp::ORIGIN,
        ));
        let now = titra::service::dbus::Clock::now(clock.as_ref());
        let mut service = PumpService::new(
            cfg,
            library,
            source,
            titra::service::auth::Auth::demo()?,
            hw,
            None,
            now,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let program = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("examples/scenarios/continuous-morphine-pca.toml"),
        )
        .unwrap_or_default();
        let program = program
            .split("[[events]]")
            .next()
            .unwrap_or_default()
            .to_owned();
        let (token, _) = service
            .login("1234", now)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        service
            .start_trial(&token, &program, true, "5678", now)
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
                    .serve_at(OBJECT_PATH, PumpIface::new(shared.clone()))
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
        titra::ui::client::wire(&ui, tx);
        runtime.spawn(titra::ui::client::follow(
            titra::ui::client::Daemon::Connection(client),
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
