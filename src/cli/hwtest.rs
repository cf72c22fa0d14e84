//! `titra hwtest`: each part of the pump's hardware in turn, saying what to look and listen for.

/// Each part of the pump's hardware in turn, saying what to look and listen for.
#[cfg(feature = "rpi")]
pub(crate) fn run_hwtest(
    cfg: &crate::input::hardware::HardwareConfig,
    steps: u64,
    span_grams: Option<f64>,
) -> anyhow::Result<()> {
    use crate::core::supervisor::Priority;
    use crate::hw::{Direction, PumpHardware as _};
    let mut pump = crate::hw::open_pump(cfg)?;
    println!(
        "Pins opened ({:?} access): {:?}",
        cfg.pins.access,
        crate::hw::gpio::pin_map(cfg)?
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
fn mean_counts(pump: &mut dyn crate::hw::PumpHardware) -> anyhow::Result<i32> {
    let mut got = Vec::new();
    for _ in 0..200 {
        match pump.load_cell_counts() {
            Ok(Some(c)) => got.push(i64::from(c)),
            Ok(None) => anyhow::bail!("this pump has no load cell (a pressure switch is fitted)"),
            Err(crate::hw::HwError::SensorNotReady) => {}
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
    pump: &mut dyn crate::hw::PumpHardware,
    cfg: &crate::input::hardware::HardwareConfig,
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
    let cal = crate::hw::hx711::LoadCellCalibration::from_span(
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
pub(crate) fn run_hwtest(
    _cfg: &crate::input::hardware::HardwareConfig,
    _steps: u64,
    _span_grams: Option<f64>,
) -> anyhow::Result<()> {
    anyhow::bail!(
        "this titra was built without the Raspberry Pi backend (cargo build --features rpi); the hardware test needs the pump's hardware"
    )
}
