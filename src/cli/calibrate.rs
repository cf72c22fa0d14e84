//! `titra calibrate`: the bench calibration of the mechanism (steps per mL), on the pump or the
//! simulator, with the trumpet curve.

pub(crate) fn run_calibrate(
    sim: bool,
    rate: &str,
    length: &str,
    settle: &str,
    hardware: Option<&std::path::Path>,
    write: bool,
) -> anyhow::Result<()> {
    use crate::core::units::{Duration, VolumeRate, parse_field};
    use crate::hw::calibrate::{self, WATER_G_PER_ML};
    let rate: VolumeRate = parse_field("rate", rate)?;
    let length: Duration = parse_field("length", length)?;
    let settle: Duration = parse_field("settle", settle)?;
    if settle >= length {
        anyhow::bail!("settle: {settle} leaves nothing of a {length} run to measure");
    }
    if write && hardware.is_none() {
        anyhow::bail!("--write needs --hardware FILE: the profile to update");
    }
    let cfg = crate::input::hardware::HardwareConfig::load(hardware)?;
    let current = cfg.mechanism.steps_per_ml;
    let (measured, samples) = if sim {
        println!("SIMULATED calibration run (the model, in virtual time)");
        let run = crate::sim::gravimetric_run(&cfg, rate, length)?;
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
    cfg: &crate::input::hardware::HardwareConfig,
    rate: crate::core::units::VolumeRate,
    length: crate::core::units::Duration,
) -> anyhow::Result<(u64, Vec<(u64, f64)>)> {
    use std::io::BufRead as _;
    let mut pump = crate::hw::open_pump(cfg)?;
    println!(
        "Fill the syringe with water, prime the line, put its end in a container on the balance, tare the balance, then press Enter."
    );
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    // Each step on time, in real time: step i is due once i steps' worth of time has passed.
    use crate::hw::PumpHardware as _;
    let steps_per_day =
        u128::from(rate.nl_per_day()) * u128::from(cfg.mechanism.steps_per_ml) / 1_000_000;
    let total = u64::try_from(steps_per_day * u128::from(length.ms()) / 86_400_000)?;
    let start = std::time::Instant::now();
    pump.set_motor_enabled(true)?;
    for i in 1..=total {
        let due_ms = u64::try_from(u128::from(i) * 86_400_000 / steps_per_day.max(1))?;
        let due = start + std::time::Duration::from_millis(due_ms);
        std::thread::sleep(due.saturating_duration_since(std::time::Instant::now()));
        pump.step(crate::hw::Direction::Forward, 1)?;
    }
    pump.set_motor_enabled(false)?;
    let run = crate::hw::calibrate::Run {
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
    let measured = crate::hw::calibrate::steps_per_ml(
        run.steps,
        grams,
        crate::hw::calibrate::WATER_G_PER_ML,
        cfg.mechanism.steps_per_ml,
    )?;
    Ok((measured, Vec::new()))
}

#[cfg(not(feature = "rpi"))]
fn calibrate_on_the_pump(
    _cfg: &crate::input::hardware::HardwareConfig,
    _rate: crate::core::units::VolumeRate,
    _length: crate::core::units::Duration,
) -> anyhow::Result<(u64, Vec<(u64, f64)>)> {
    anyhow::bail!(
        "this titra was built without the Raspberry Pi backend (cargo build --features rpi); --sim calibrates the simulator"
    )
}
