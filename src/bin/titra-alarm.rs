//! `titra-alarm`: sounds the pump's HIGH alarm (the light and the tone, in the IEC 60601-1-8
//! pattern) while the pump daemon cannot run, so that a stopped pump never stops in silence.
//!
//! systemd starts it when titra-pumpd has failed for good (`OnFailure=` in
//! titra-pumpd.service: it could not start, or it crashed or was killed more often than its
//! start limit allows) and stops it when titra-pumpd is started again (`Conflicts=` in
//! titra-alarm.service). It takes only the alarm LED's and the buzzer's lines, which the daemon
//! held: the motor's enable line, released with the daemon, floats to the driver's off.
//! Nothing here silences it: the pump is not delivering, and only a technician who gets the
//! daemon running again (or powers the pump down) ends it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use titra::core::supervisor::Priority;
use titra::core::units::Timestamp;
use titra::hw::indicator::{Annunciator, SimulatedLines};
use titra::input::hardware::HardwareConfig;
use titra::time::{Clock, MonotonicClock};

#[derive(Parser)]
#[command(
    name = "titra-alarm",
    version,
    about = "Sounds the pump's HIGH alarm while titra-pumpd cannot run (prototype, not a medical device)"
)]
struct Args {
    /// Drive simulated lines: each change of the light and tone is written to standard output,
    /// marked SIMULATED. Without it the pump's GPIO is used (built with --features rpi).
    #[arg(long)]
    sim: bool,
    /// The hardware profile, for the alarm LED's and the buzzer's pins (default: the built-in
    /// one).
    #[arg(long, value_name = "FILE")]
    hardware: Option<PathBuf>,
}

/// How often the lines are set: fine enough for the pattern's 150 ms tone pulses.
const STEP: std::time::Duration = std::time::Duration::from_millis(25);

/// What the journal and systemd's status say while it sounds.
const WHY: &str = "Pump stopped: titra-pumpd is not running. Sounding the HIGH alarm until it runs again. Call a technician.";

fn main() -> ExitCode {
    titra::init_logging("info");
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("titra-alarm: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("titra-alarm: {e:#}");
            ExitCode::from(1)
        }
    }
}

#[cfg(feature = "rpi")]
fn real_lines(cfg: &HardwareConfig) -> anyhow::Result<Box<dyn Annunciator + Send>> {
    titra::hw::open_alarm_lines(cfg)
        .map_err(|e| anyhow::anyhow!("the alarm LED and buzzer cannot be used: {e}"))
}

#[cfg(not(feature = "rpi"))]
fn real_lines(_cfg: &HardwareConfig) -> anyhow::Result<Box<dyn Annunciator + Send>> {
    anyhow::bail!(
        "this titra-alarm was built without the Raspberry Pi backend (cargo build --features rpi); run with --sim for simulated lines"
    )
}

async fn run(args: Args) -> anyhow::Result<()> {
    // A profile that does not load is likely why the daemon could not start: the alarm sounds
    // all the same, on the file's alarm pins where it can read them, or the built-in wiring's.
    let (cfg, trouble) = HardwareConfig::for_alarm(args.hardware.as_deref())?;
    if let Some(trouble) = trouble {
        tracing::error!("the hardware profile: {trouble}");
    }
    let mut lines: Box<dyn Annunciator + Send> = if args.sim {
        Box::new(SimulatedLines::new(std::io::stdout()))
    } else {
        real_lines(&cfg)?
    };
    tracing::error!(simulated = args.sim, "{WHY}");
    let _ = sd_notify::notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status(WHY),
    ]);
    let clock = MonotonicClock::starting_at(Timestamp::ORIGIN);
    let mut step = tokio::time::interval(STEP);
    step.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut failing = false;
    loop {
        tokio::select! {
            _ = step.tick() => {
                match lines.show(Some(Priority::High), clock.now().ms()) {
                    Ok(()) => failing = false,
                    // Said once per failure, not 40 times a second; tried again at each step.
                    Err(e) if !failing => {
                        failing = true;
                        tracing::error!(error = %e, "the alarm LED and buzzer do not answer");
                    }
                    Err(_) => {}
                }
            }
            _ = term.recv() => {
                tracing::info!("stopping (SIGTERM): titra-pumpd is starting again, or the pump is shutting down");
                break;
            }
            _ = tokio::signal::ctrl_c() => {
                tracing::info!("stopping (interrupt)");
                break;
            }
        }
    }
    // Quiet on the way out: titra-pumpd takes the lines next.
    if let Err(e) = lines.show(None, 0) {
        tracing::warn!(error = %e, "the alarm lines could not be switched off");
    }
    Ok(())
}
