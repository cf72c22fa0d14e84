//! `cargo run --example screenshots`: renders every screen of the touchscreen UI headless (the
//! software renderer of slint's testing backend) at both display sizes, into
//! docs/screenshots/*.png, for the README.

use std::path::Path;

use slint::ComponentHandle;
use titra::core::units::Timestamp;
use titra::service::pump::{AlarmStatus, Status};
use titra::ui::{MainWindow, Nav, Pump, apply_status, set_staff, show_message};

fn running(next_bolus_in_s: i64) -> Status {
    let mut s = Status::empty(Timestamp::from_ms(3_600_000));
    s.state = "running".to_owned();
    s.simulated = true;
    s.patient = "MRN-00042".to_owned();
    s.drug = "morphine".to_owned();
    s.concentration = "1 mg/mL".to_owned();
    s.basal_per_day = "0.5 mg/day".to_owned();
    s.basal_per_hour = "0.0208 mg/h".to_owned();
    s.basal_ml_per_hour = "0.0208 mL/h".to_owned();
    s.patient_bolus = "0.05 mg every 1h at most, 1 per hour at most".to_owned();
    s.delivered_today = "0.12 mg".to_owned();
    s.delivered_total = "0.12 mg".to_owned();
    s.reservoir_remaining = "19.68 mL".to_owned();
    s.time_to_empty = "38d 12h".to_owned();
    s.next_bolus_in_s = next_bolus_in_s;
    s.next_bolus = if next_bolus_in_s == 0 {
        "now".to_owned()
    } else {
        "in 40min".to_owned()
    };
    s
}

fn save(ui: &MainWindow, dir: &Path, name: &str) -> Result<(), Box<dyn std::error::Error>> {
    let buffer = ui.window().take_snapshot()?;
    let path = dir.join(format!("{name}.png"));
    let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
    let mut encoder = png::Encoder::new(file, buffer.width(), buffer.height());
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .write_header()?
        .write_image_data(buffer.as_bytes())?;
    println!("{}", path.display());
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The testing backend with a real (software) rasterizer, so that snapshots show pixels.
    slint::platform::set_platform(Box::new(i_slint_backend_testing::TestingBackend::new(
        i_slint_backend_testing::TestingBackendOptions {
            mock_time: true,
            threading: false,
            renderer_name: Some("software".into()),
        },
    )))
    .map_err(|e| format!("{e:?}"))?;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&dir)?;
    for (w, h) in [(800u32, 480u32), (720, 1280)] {
        let ui = MainWindow::new()?;
        ui.window().set_size(slint::PhysicalSize::new(w, h));
        ui.show()?;
        let size = format!("{w}x{h}");

        apply_status(&ui, &running(0), true);
        save(&ui, &dir, &format!("patient-{size}"))?;

        apply_status(&ui, &running(40 * 60), true);
        show_message(
            &ui,
            "Too soon: at least 1h must pass between boluses. Next dose available in 40min.",
        );
        save(&ui, &dir, &format!("patient-lockout-{size}"))?;

        let mut alarm = running(-1);
        alarm.state = "alarm".to_owned();
        alarm.alarms.push(AlarmStatus {
            kind: "occlusion".to_owned(),
            priority: "high".to_owned(),
            message:
                "Line blocked — delivery stopped. Check the catheter and line for kinks or clamps."
                    .to_owned(),
            since_ms: 0,
            silenced_until_ms: -1,
        });
        apply_status(&ui, &alarm, true);
        show_message(&ui, "");
        save(&ui, &dir, &format!("patient-alarm-{size}"))?;

        ui.global::<Nav>().invoke_go("side-effect".into());
        save(&ui, &dir, &format!("patient-side-effect-{size}"))?;

        ui.global::<Nav>().invoke_go("pin".into());
        ui.global::<Pump>().set_pin_message(
            "wrong PIN (4 tries left before the login locks for 5 minutes)".into(),
        );
        save(&ui, &dir, &format!("staff-pin-{size}"))?;

        set_staff(&ui, "Demo Nurse", "nurse");
        apply_status(&ui, &alarm, true);
        save(&ui, &dir, &format!("staff-{size}"))?;
        ui.hide()?;
    }
    Ok(())
}
