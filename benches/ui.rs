//! `cargo bench --bench ui`: the touchscreen UI rendered with slint's software renderer (as on
//! the Pi without a GPU), headless: start to first frame, the time to render a frame of the
//! patient screen at 800×480 after a change, and the process's resident memory.

use std::time::{Duration, Instant};

use slint::ComponentHandle;
use titra::core::units::Timestamp;
use titra::service::wire::Status;
use titra::ui::MainWindow;
use titra::ui::adapters::apply_status;

#[path = "common/proc_status.rs"]
mod proc_status;
use proc_status::status_kb;

fn status(minutes_left: i64) -> Status {
    let mut s = Status::empty(Timestamp::ORIGIN);
    s.state = titra::core::supervisor::State::Running;
    s.simulated = true;
    s.patient = "BENCH".to_owned();
    s.drug = "morphine".to_owned();
    s.basal_per_day = "0.5 mg/day".to_owned();
    s.patient_bolus = "0.05 mg".to_owned();
    s.delivered_today = "0.12 mg".to_owned();
    s.reservoir_remaining = "19.68 mL".to_owned();
    s.next_bolus_in_s = minutes_left * 60;
    s
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let full = std::env::args().any(|a| a == "--bench");
    let start = Instant::now();
    slint::platform::set_platform(Box::new(i_slint_backend_testing::TestingBackend::new(
        i_slint_backend_testing::TestingBackendOptions {
            mock_time: true,
            threading: false,
            renderer_name: Some("software".into()),
        },
    )))
    .map_err(|e| format!("{e:?}"))?;
    let ui = MainWindow::new()?;
    ui.window().set_size(slint::PhysicalSize::new(800, 480));
    ui.show()?;
    apply_status(&ui, &status(0), true);
    let _ = ui.window().take_snapshot()?;
    let first = start.elapsed();
    let frames = if full { 200 } else { 5 };
    let mut times: Vec<Duration> = Vec::with_capacity(frames);
    for i in 0..frames {
        // A change every frame (the lockout countdown), then a full render.
        apply_status(&ui, &status(40 - (i as i64 % 40)), true);
        let t = Instant::now();
        let _ = ui.window().take_snapshot()?;
        times.push(t.elapsed());
    }
    times.sort_unstable();
    if !full {
        println!(
            "(quick run to check the benchmark works; run `cargo bench --bench ui` for figures)"
        );
    }
    println!("| touchscreen UI, software renderer, 800×480, headless | figure |");
    println!("|---|---|");
    println!(
        "| start to first frame | {:.0} ms |",
        first.as_secs_f64() * 1e3
    );
    println!(
        "| frame of the patient screen after a change, p50 / p99 of {frames} | {:.1} ms / {:.1} ms |",
        times[frames / 2].as_secs_f64() * 1e3,
        times[(frames - 1) * 99 / 100].as_secs_f64() * 1e3
    );
    println!(
        "| resident memory | {:.1} MB |",
        status_kb("self", "VmRSS:") as f64 / 1024.0
    );
    Ok(())
}
