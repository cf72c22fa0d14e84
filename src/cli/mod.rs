//! The `titra` command line: one module per subcommand; `src/bin/titra.rs` only calls
//! [`main`].
//!
//! Exit codes (a contract other tools rely on): 0 done / acceptable, 2 invalid input or a
//! rejected program (the message names the field and the limit), 1 internal error.

mod calibrate;
mod check;
mod demo;
mod export;
mod hwtest;
mod log;
mod outbox;
mod pin;
pub mod simulate;
mod status;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "titra",
    version,
    about = "Titra trial pump for intrathecal and epidural delivery (prototype, not a medical device)"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
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
    /// The desktop demonstration (what `titra` alone runs at 60 times): the pump on simulated
    /// hardware with the touchscreen UI, its time running faster, every screen saying so.
    ///
    /// Exits 0 when the window is closed, 2 when there is no display or the input is wrong.
    Demo(demo::DemoArgs),
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
    /// Export a trial's summary from the trial log: PDF, JSON and CSV named by patient and date,
    /// and a manifest of their SHA-256. The export is recorded in the log.
    ///
    /// Exits 0 when written, 2 when the input is wrong or the implant dose is not confirmed
    /// (without --draft), 1 when a file cannot be written.
    Export(export::ExportArgs),
    /// The gravimetric calibration (CLINICAL.md): run the mechanism into a container on a
    /// balance, weigh what it delivered (water, 1 g/mL), print steps per mL and the trumpet
    /// curve; --write puts the new steps per mL into the hardware profile.
    ///
    /// With --sim the run is on the simulator in virtual time (its balance reads what truly
    /// left the syringe). On the pump (built with --features rpi) the technician tares the
    /// balance, the run goes in real time, and the weight is typed in at the end.
    Calibrate {
        /// Run on the simulator.
        #[arg(long)]
        sim: bool,
        /// The rate to run at.
        #[arg(long, default_value = "1 mL/h")]
        rate: String,
        /// How long to run.
        #[arg(long, default_value = "2h")]
        length: String,
        /// How long the line settles before the measurement counts.
        #[arg(long, default_value = "1h")]
        settle: String,
        /// The hardware profile (default: the built-in one; --write needs a file).
        #[arg(long, value_name = "FILE")]
        hardware: Option<PathBuf>,
        /// Write the measured steps per mL into the hardware profile file.
        #[arg(long)]
        write: bool,
    },
    /// Writes the pump's network files from the hardware profile's [network] and
    /// [integration] tables (titra-network.service runs it at boot): OUT/10-titra.network
    /// (systemd-networkd: DHCP or the static address), OUT/titra.nft (nftables: outgoing only
    /// to DHCP, DNS, the time servers and the hospital's endpoints), OUT/titra.sources (chrony).
    ///
    /// Exits 0 when written, 2 when the profile is wrong, 1 when a file cannot be written.
    NetworkConfig {
        /// The hardware profile (default: the built-in one).
        #[arg(long, value_name = "FILE")]
        hardware: Option<PathBuf>,
        /// The directory the files go to.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// For a technician assembling a pump: reads each switch, reads the load cell, sounds each
    /// alarm pattern with the LED, and steps the motor a known distance forward and back.
    /// Needs the pump's hardware (built with --features rpi).
    Hwtest {
        /// The hardware profile (default: the built-in one).
        #[arg(long, value_name = "FILE")]
        hardware: Option<PathBuf>,
        /// Steps to move forward, then back.
        #[arg(long, default_value_t = 200)]
        steps: u64,
        /// Calibrate the load cell's span with this weight in grams: the zero is read with no
        /// syringe, then the weight is put on the plunger; prints the [load_cell] section.
        #[arg(long, value_name = "GRAMS")]
        span_grams: Option<f64>,
    },
    /// What the pump still owes the hospital's systems: for each endpoint, the messages waiting
    /// in the trial log's outbox, the oldest one (the one its sender is trying), how many times
    /// it was sent and why the last try failed. With --forget NAME, drops what is owed to an
    /// endpoint the hardware profile no longer names.
    ///
    /// Exits 0, 2 when the input is wrong (the log, the profile, an endpoint still named), 1
    /// when the log cannot be read or written.
    Outbox(outbox::OutboxArgs),
    /// Check the trial log's hash chain: reports a changed, removed or cut-off record and a
    /// changed, added or removed trial row, and prints the chain head; with --manifest, checks
    /// that the log still holds the chain head an export recorded.
    ///
    /// Exits 0 when intact, 2 when a problem is found or the file is not a trial log.
    VerifyLog {
        /// The trial log (default: the pump's, /var/lib/titra/titra.db, or the user's data
        /// directory on a desktop).
        #[arg(long, value_name = "FILE")]
        db: Option<PathBuf>,
        /// An export's manifest (…_manifest.sha256, a copy kept elsewhere): the chain head it
        /// recorded must still be in the log with the same hash.
        #[arg(long, value_name = "FILE")]
        manifest: Option<PathBuf>,
    },
}

/// Parses the command line and runs the subcommand.
pub fn main() -> ExitCode {
    crate::init_logging("warn");
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Check {
            file,
            library,
            json,
        }) => check::run_check(&file, library.as_deref(), json),
        Some(Command::Simulate {
            file,
            json,
            library,
            hardware,
            db,
            acks,
        }) => simulate::run_simulate(
            &file,
            json,
            library.as_deref(),
            hardware.as_deref(),
            db.as_deref(),
            acks,
        ),
        Some(Command::VerifyLog { db, manifest }) => log::run_verify(db, manifest),
        Some(Command::Hwtest {
            hardware,
            steps,
            span_grams,
        }) => {
            let cfg = crate::input::hardware::HardwareConfig::load(hardware.as_deref());
            match cfg
                .map_err(anyhow::Error::from)
                .and_then(|c| hwtest::run_hwtest(&c, steps, span_grams))
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("titra hwtest: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Some(Command::Calibrate {
            sim,
            rate,
            length,
            settle,
            hardware,
            write,
        }) => {
            match calibrate::run_calibrate(sim, &rate, &length, &settle, hardware.as_deref(), write)
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("titra calibrate: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Some(Command::Export(args)) => export::run_export(args),
        Some(Command::Outbox(args)) => outbox::run_outbox(&args),
        Some(Command::NetworkConfig { hardware, out }) => {
            run_network_config(hardware.as_deref(), &out)
        }
        Some(Command::Status { bus, json }) => status::run_status(&bus, json),
        Some(Command::HashPin) => pin::run_hash_pin(),
        Some(Command::Demo(args)) => demo::run_demo(&args),
        None => demo::run_demo(&demo::DemoArgs::default()),
    }
}

/// `titra network-config`: the network files of the profile, written into `out`.
fn run_network_config(hardware: Option<&std::path::Path>, out: &std::path::Path) -> ExitCode {
    // The network and the endpoints' addresses checked too (the daemon's own read does not).
    let cfg = match crate::input::hardware::HardwareConfig::load_checking_reach(hardware) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("titra network-config: {e}");
            return ExitCode::from(2);
        }
    };
    let files = crate::input::network::files(cfg.network.as_ref(), cfg.integration.as_ref());
    if cfg.network.as_ref().is_none_or(|n| n.ntp.is_empty()) {
        eprintln!("titra network-config: no time server (network.ntp): the clock will not be kept");
    }
    let written = std::fs::create_dir_all(out).and_then(|()| {
        for (name, text) in [
            ("10-titra.network", &files.networkd),
            ("titra.nft", &files.nftables),
            ("titra.sources", &files.chrony),
        ] {
            std::fs::write(out.join(name), text)?;
        }
        Ok(())
    });
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "titra network-config: cannot write into {}: {e}",
                out.display()
            );
            ExitCode::from(1)
        }
    }
}
