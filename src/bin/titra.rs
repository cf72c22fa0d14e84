//! `titra`: the command line of the Titra trial pump.
//!
//! Exit codes (a contract other tools rely on): 0 done / acceptable, 2 invalid input or a
//! rejected program (the message names the field and the limit), 1 internal error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use titra::input::check;

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
    /// Export a trial's summary from the trial log: PDF, JSON and CSV named by patient and date,
    /// and a manifest of their SHA-256. The export is recorded in the log.
    ///
    /// Exits 0 when written, 2 when the input is wrong or the implant dose is not confirmed
    /// (without --draft), 1 when a file cannot be written.
    Export(ExportArgs),
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
        Some(Command::Hwtest {
            hardware,
            steps,
            span_grams,
        }) => {
            let cfg = titra::input::hardware::HardwareConfig::load(hardware.as_deref());
            match cfg
                .map_err(anyhow::Error::from)
                .and_then(|c| run_hwtest(&c, steps, span_grams))
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
        }) => match run_calibrate(sim, &rate, &length, &settle, hardware.as_deref(), write) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("titra calibrate: {e}");
                ExitCode::from(2)
            }
        },
        Some(Command::Export(args)) => run_export(args),
        Some(Command::Status { bus, json }) => run_status(&bus, json),
        Some(Command::HashPin) => run_hash_pin(),
        None => run_demo(),
    }
}

fn run_calibrate(
    sim: bool,
    rate: &str,
    length: &str,
    settle: &str,
    hardware: Option<&std::path::Path>,
    write: bool,
) -> anyhow::Result<()> {
    use titra::core::units::{Duration, VolumeRate, parse_field};
    use titra::hw::calibrate::{self, WATER_G_PER_ML};
    let rate: VolumeRate = parse_field("rate", rate)?;
    let length: Duration = parse_field("length", length)?;
    let settle: Duration = parse_field("settle", settle)?;
    if settle >= length {
        anyhow::bail!("settle: {settle} leaves nothing of a {length} run to measure");
    }
    if write && hardware.is_none() {
        anyhow::bail!("--write needs --hardware FILE: the profile to update");
    }
    let cfg = titra::input::hardware::HardwareConfig::load(hardware)?;
    let current = cfg.mechanism.steps_per_ml;
    let (measured, samples) = if sim {
        println!("SIMULATED calibration run (the model, in virtual time)");
        let run = titra::sim::gravimetric_run(&cfg, rate, length)?;
        (
            run.steps_per_ml(settle, WATER_G_PER_ML, current)?,
            run.samples,
        )
    } else {
        calibrate_on_the_pump(&cfg, rate, length)?
    };
    println!(
        "Steps per mL: {measured} (the profile has {current}, {:+.2} %)",
        (measured as f64 / current as f64 - 1.0) * 100.0
    );
    let nominal = rate.nl_per_day() as f64 / 1e6 / 24.0;
    let after: Vec<(u64, f64)> = samples
        .iter()
        .copied()
        .filter(|s| s.0 >= settle.ms())
        .collect();
    let curve = calibrate::trumpet(&after, nominal, WATER_G_PER_ML);
    if curve.is_empty() {
        println!("No trumpet curve: it needs the balance's readings over the run.");
    } else {
        println!("\n| window | largest error | smallest error |\n|---|---|---|");
        for p in curve {
            println!(
                "| {} min | {:+.2} % | {:+.2} % |",
                p.window_min, p.max_pct, p.min_pct
            );
        }
    }
    if write && let Some(path) = hardware {
        let text = std::fs::read_to_string(path)?;
        std::fs::write(path, calibrate::write_steps_per_ml(&text, measured)?)?;
        println!("Written to {}.", path.display());
    }
    Ok(())
}

/// On the pump: the technician tares the balance, the mechanism runs in real time, and the
/// weight is typed in at the end (one reading: no trumpet curve).
#[cfg(feature = "rpi")]
fn calibrate_on_the_pump(
    cfg: &titra::input::hardware::HardwareConfig,
    rate: titra::core::units::VolumeRate,
    length: titra::core::units::Duration,
) -> anyhow::Result<(u64, Vec<(u64, f64)>)> {
    use std::io::BufRead as _;
    let mut pump = titra::hw::open_pump(cfg)?;
    println!(
        "Fill the syringe with water, prime the line, put its end in a container on the balance, tare the balance, then press Enter."
    );
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    // Each step on time, in real time: step i is due once i steps' worth of time has passed.
    use titra::hw::PumpHardware as _;
    let steps_per_day =
        u128::from(rate.nl_per_day()) * u128::from(cfg.mechanism.steps_per_ml) / 1_000_000;
    let total = u64::try_from(steps_per_day * u128::from(length.ms()) / 86_400_000)?;
    let start = std::time::Instant::now();
    pump.set_motor_enabled(true)?;
    for i in 1..=total {
        let due_ms = u64::try_from(u128::from(i) * 86_400_000 / steps_per_day.max(1))?;
        let due = start + std::time::Duration::from_millis(due_ms);
        std::thread::sleep(due.saturating_duration_since(std::time::Instant::now()));
        pump.step(titra::hw::Direction::Forward, 1)?;
    }
    pump.set_motor_enabled(false)?;
    let run = titra::hw::calibrate::Run {
        steps: total,
        samples: Vec::new(),
        steps_at: Vec::new(),
    };
    println!("Type the weight on the balance in grams, then press Enter:");
    line.clear();
    std::io::stdin().lock().read_line(&mut line)?;
    let grams: f64 = line
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("weight: \"{}\" is not a number of grams", line.trim()))?;
    let measured = titra::hw::calibrate::steps_per_ml(
        run.steps,
        grams,
        titra::hw::calibrate::WATER_G_PER_ML,
        cfg.mechanism.steps_per_ml,
    )?;
    Ok((measured, Vec::new()))
}

#[cfg(not(feature = "rpi"))]
fn calibrate_on_the_pump(
    _cfg: &titra::input::hardware::HardwareConfig,
    _rate: titra::core::units::VolumeRate,
    _length: titra::core::units::Duration,
) -> anyhow::Result<(u64, Vec<(u64, f64)>)> {
    anyhow::bail!(
        "this titra was built without the Raspberry Pi backend (cargo build --features rpi); --sim calibrates the simulator"
    )
}

/// Each part of the pump's hardware in turn, saying what to look and listen for.
#[cfg(feature = "rpi")]
fn run_hwtest(
    cfg: &titra::input::hardware::HardwareConfig,
    steps: u64,
    span_grams: Option<f64>,
) -> anyhow::Result<()> {
    use titra::core::supervisor::Priority;
    use titra::hw::{Direction, PumpHardware as _};
    let mut pump = titra::hw::open_pump(cfg)?;
    println!(
        "Pins opened ({:?} access): {:?}",
        cfg.pins.access,
        titra::hw::gpio::pin_map(cfg)?
    );
    println!(
        "End-of-travel switch: {}",
        if pump.end_of_travel()? {
            "CLOSED"
        } else {
            "open"
        }
    );
    println!(
        "Syringe-present switch: {}",
        if pump.reservoir_present()? {
            "syringe in"
        } else {
            "no syringe"
        }
    );
    let mut readings = Vec::new();
    for _ in 0..20 {
        match pump.read_pressure_mmhg() {
            Ok(p) => readings.push(p),
            Err(e) => println!("  load cell: {e}"),
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if let (Some(lo), Some(hi)) = (
        readings.iter().copied().reduce(f64::min),
        readings.iter().copied().reduce(f64::max),
    ) {
        let mean = readings.iter().sum::<f64>() / readings.len() as f64;
        println!(
            "Load cell: {} readings, mean {mean:.1} mmHg, from {lo:.1} to {hi:.1} (with no syringe it should read about 0; calibrate [load_cell] if not)",
            readings.len()
        );
    }
    if let Some(grams) = span_grams {
        load_cell_span(pump.as_mut(), cfg, grams)?;
    }
    for (priority, name) in [
        (
            Priority::High,
            "HIGH: red LED flashing fast, 10-pulse bursts",
        ),
        (
            Priority::Medium,
            "MEDIUM: LED flashing slowly, 3-pulse bursts",
        ),
        (Priority::Low, "LOW: LED steady, one pulse"),
    ] {
        println!("Sounding {name}, for 10 s (one whole burst cycle)");
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_secs(10) {
            let phase = u64::try_from(start.elapsed().as_millis()).unwrap_or(0);
            pump.annunciate(Some(priority), phase)?;
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        pump.annunciate(None, 0)?;
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    println!(
        "Motor: {steps} steps forward ({:.3} mL of plunger travel), then back",
        steps as f64 / cfg.mechanism.steps_per_ml as f64
    );
    pump.set_motor_enabled(true)?;
    let start = std::time::Instant::now();
    pump.step(Direction::Forward, steps)?;
    pump.step(Direction::Back, steps)?;
    pump.set_motor_enabled(false)?;
    println!(
        "  done in {:.2} s; the driver is off again",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The mean of 10 raw load-cell readings (a reading not ready yet is waited for).
#[cfg(feature = "rpi")]
fn mean_counts(pump: &mut dyn titra::hw::PumpHardware) -> anyhow::Result<i32> {
    let mut got = Vec::new();
    for _ in 0..200 {
        match pump.load_cell_counts() {
            Ok(Some(c)) => got.push(i64::from(c)),
            Ok(None) => anyhow::bail!("this pump has no load cell (a pressure switch is fitted)"),
            Err(titra::hw::HwError::SensorNotReady) => {}
            Err(e) => return Err(e.into()),
        }
        if got.len() == 10 {
            return Ok(i32::try_from(got.iter().sum::<i64>() / 10)?);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    anyhow::bail!(
        "the load cell gave {} readings in 4 s: check its wiring",
        got.len()
    )
}

/// Zero with no syringe, then span with a known weight on the plunger; prints the profile's
/// [load_cell] section.
#[cfg(feature = "rpi")]
fn load_cell_span(
    pump: &mut dyn titra::hw::PumpHardware,
    cfg: &titra::input::hardware::HardwareConfig,
    grams: f64,
) -> anyhow::Result<()> {
    use std::io::BufRead as _;
    let mut line = String::new();
    println!("Load cell span: take the syringe out, leave the plunger free, then press Enter.");
    std::io::stdin().lock().read_line(&mut line)?;
    let zero = mean_counts(pump)?;
    println!("  zero: {zero} counts. Now stand {grams} g on the plunger, then press Enter.");
    line.clear();
    std::io::stdin().lock().read_line(&mut line)?;
    let loaded = mean_counts(pump)?;
    let cal = titra::hw::hx711::LoadCellCalibration::from_span(
        zero,
        loaded,
        grams,
        cfg.mechanism.plunger_area_mm2,
    )
    .map_err(anyhow::Error::msg)?;
    println!(
        "  loaded: {loaded} counts. Put this in the hardware profile:\n\n[load_cell]\nzero = {}\ncounts_per_mmhg = {:.3}\n",
        cal.zero, cal.counts_per_mmhg
    );
    Ok(())
}

#[cfg(not(feature = "rpi"))]
fn run_hwtest(
    _cfg: &titra::input::hardware::HardwareConfig,
    _steps: u64,
    _span_grams: Option<f64>,
) -> anyhow::Result<()> {
    anyhow::bail!(
        "this titra was built without the Raspberry Pi backend (cargo build --features rpi); the hardware test needs the pump's hardware"
    )
}

#[derive(clap::Args)]
struct ExportArgs {
    /// The trial log (default: the pump's).
    #[arg(long, value_name = "FILE")]
    db: Option<PathBuf>,
    /// The trial's number in the log (default: the newest).
    #[arg(long, value_name = "ID")]
    trial: Option<i64>,
    /// The directory to write into (created if needed).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Which files: any of pdf, json, csv.
    #[arg(long, default_value = "pdf,json,csv")]
    format: String,
    /// Paper size of the PDF: a4 or letter.
    #[arg(long, default_value = "a4")]
    paper: String,
    /// The site protocol with the implant rule (default: the built-in example).
    #[arg(long, value_name = "FILE")]
    protocol: Option<PathBuf>,
    /// The drug library (default: the built-in example library).
    #[arg(long, value_name = "FILE")]
    library: Option<PathBuf>,
    /// The hardware profile (default: the built-in one).
    #[arg(long, value_name = "FILE")]
    hardware: Option<PathBuf>,
    /// Export although no clinician confirmed the implant's starting dose (marked DRAFT).
    #[arg(long)]
    draft: bool,
}

fn run_export(a: ExportArgs) -> ExitCode {
    use titra::report::export::{Format, LogExport, LogExportError, export_from_log};
    let input = || -> anyhow::Result<_> {
        let formats = Format::parse_list(&a.format)?;
        let paper: titra::report::export::Paper = a.paper.parse().map_err(anyhow::Error::msg)?;
        let protocol = match &a.protocol {
            Some(p) => titra::input::protocol::Protocol::from_file(p)?,
            None => titra::input::protocol::Protocol::built_in()?,
        };
        let (library, _) = check::load_library(a.library.as_deref())?;
        let hardware = titra::input::hardware::HardwareConfig::load(a.hardware.as_deref())?;
        Ok((formats, paper, protocol, library, hardware))
    };
    let (formats, paper, protocol, library, hardware) = match input() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("titra export: {e}");
            return ExitCode::from(2);
        }
    };
    let db = a.db.unwrap_or_else(titra::store::default_path);
    let result = export_from_log(&LogExport {
        db: &db,
        trial: a.trial,
        out: &a.out,
        formats: &formats,
        paper,
        protocol: &protocol,
        library: &library,
        hardware: &hardware,
        draft: a.draft,
        by: "titra export (command line)",
    });
    match result {
        Ok(paths) => {
            for p in paths {
                println!("{}", p.display());
            }
            ExitCode::SUCCESS
        }
        Err(
            e @ (LogExportError::NotConfirmed
            | LogExportError::ConfirmedDoseRefused(_)
            | LogExportError::Store(_)),
        ) => {
            eprintln!("titra export: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("titra export: {e}");
            ExitCode::from(1)
        }
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
    let scenario = match titra::input::scenario::Scenario::from_file(file) {
        Ok(s) => s,
        Err(e) => return invalid(e.to_string()),
    };
    let (library, source) = match check::load_library(library) {
        Ok(l) => l,
        Err(e) => return invalid(e.to_string()),
    };
    let hw = match titra::input::hardware::HardwareConfig::load(hardware) {
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
                print!("{}", titra::report::summary::render(&outcome.summary, unit));
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

/// Built without the UI (`--no-default-features`): say so, and what runs instead.
#[cfg(not(feature = "ui"))]
fn run_demo() -> ExitCode {
    eprintln!(
        "This titra was built without the touchscreen UI (cargo feature \"ui\"). Run a trial in the simulator instead: titra simulate examples/scenarios/continuous-morphine-pca.toml"
    );
    ExitCode::from(2)
}

/// The desktop demo: the pump daemon's service on simulated hardware and the touchscreen UI in
/// one process, over a peer-to-peer D-Bus link. A trial of the example program is started by
/// the demo nurses so that there is something to see; it is SIMULATED on every screen.
#[cfg(feature = "ui")]
fn run_demo() -> ExitCode {
    use slint::ComponentHandle;
    use std::sync::Arc;
    use titra::service::dbus::{ExportTarget, OBJECT_PATH, PumpIface, Shared, control_loop};
    use titra::service::pump::PumpService;
    use titra::time::MonotonicClock;

    let demo = || -> anyhow::Result<()> {
        let ui = titra::ui::MainWindow::new().map_err(|e| {
            anyhow::anyhow!(
                "cannot open a window ({e}); without a display run e.g. `titra simulate examples/scenarios/continuous-morphine-pca.toml`"
            )
        })?;
        let clock = Arc::new(MonotonicClock::starting_at(
            titra::core::units::Timestamp::ORIGIN,
        ));
        let now = titra::time::Clock::now(clock.as_ref());
        let mut service = PumpService::simulated_demo(now).map_err(|e| anyhow::anyhow!("{e}"))?;
        service.set_wall_clock(Box::new(titra::time::SystemWallClock));
        // Built in: the demo must not depend on where the binary is run from.
        let program = include_str!("../../examples/scenarios/continuous-morphine-pca.toml")
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
                    .serve_at(
                        OBJECT_PATH,
                        // The demo has no USB stick: exports go next to the user's trial logs.
                        PumpIface::new(shared.clone()).exporting_to(ExportTarget::Dir(
                            titra::store::default_path()
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
