//! The patient screen with slint's testing backend, against the real pump service on simulated
//! hardware: what it says, a press granted, the lockout shown, a press refused, an alarm shown.

use std::cell::RefCell;
use std::rc::Rc;

use i_slint_backend_testing::ElementHandle;
use slint::ComponentHandle;
use titra::check;
use titra::config::HardwareConfig;
use titra::core::units::{Duration, Timestamp};
use titra::service::auth::Auth;
use titra::service::pump::{Hardware, PumpService};
use titra::sim::SimPump;
use titra::ui::{MainWindow, Pump, apply, patient_view, show_message};

const PROGRAM: &str = "[trial]\npatient = \"MRN-UI\"\nroute = \"intrathecal\"\nkind = \"continuous\"\nduration = \"3d\"\n[program]\ndrug = \"morphine\"\nconcentration = \"1 mg/mL\"\nreservoir = \"20 mL\"\nbasal = \"0.5 mg/day\"\npca = { dose = \"0.05 mg\", lockout = \"1h\", max_per_hour = 1 }\n";

fn value(ui: &MainWindow, label: &str) -> String {
    ElementHandle::find_by_accessible_label(ui, label)
        .next()
        .unwrap_or_else(|| panic!("no element labelled {label}"))
        .accessible_value()
        .unwrap_or_default()
        .to_string()
}

fn press(ui: &MainWindow, label: &str) {
    ElementHandle::find_by_accessible_label(ui, label)
        .next()
        .unwrap_or_else(|| panic!("no element labelled {label}"))
        .invoke_accessible_default_action();
}

fn at(mins: u64) -> Timestamp {
    Timestamp::ORIGIN + Duration::from_mins(mins)
}

#[test]
fn the_patient_screen_against_the_real_pump() {
    i_slint_backend_testing::init_no_event_loop();
    let cfg = HardwareConfig::built_in().unwrap();
    let (library, source) = check::load_library(None).unwrap();
    let hw: Hardware = Box::new(SimPump::new(
        &cfg.mechanism,
        &cfg.simulation,
        cfg.mechanism.syringe,
    ));
    let mut service =
        PumpService::new(cfg, library, source, Auth::demo().unwrap(), hw, None, at(0)).unwrap();
    let (nurse, _) = service.login("1234", at(0)).unwrap();
    service
        .start_trial(&nurse, PROGRAM, false, "5678", at(0))
        .unwrap();
    service.prime(&nurse, at(0)).unwrap();
    service.start(&nurse, at(0)).unwrap();
    let service = Rc::new(RefCell::new(service));
    let now = Rc::new(RefCell::new(at(0)));

    let ui = MainWindow::new().unwrap();
    let refresh = {
        let service = service.clone();
        let now = now.clone();
        let weak = ui.as_weak();
        move || {
            let t = *now.borrow();
            let mut s = service.borrow_mut();
            let mut clock = t;
            // Run the pump up to now, as the daemon's control loop does.
            while let Some(wake) = s.next_wake().filter(|&w| w <= t) {
                s.tick(wake).unwrap();
                clock = wake;
            }
            s.tick(t.max(clock)).unwrap();
            let status = s.status(t);
            if let Some(ui) = weak.upgrade() {
                apply(&ui, &patient_view(&status), status.simulated, true);
            }
        }
    };
    {
        let service = service.clone();
        let now = now.clone();
        let weak = ui.as_weak();
        ui.global::<Pump>().on_request_bolus(move || {
            let answer = service.borrow_mut().request_bolus(*now.borrow());
            let text = match answer {
                Ok(m) => m,
                Err(e) => e.to_string(),
            };
            if let Some(ui) = weak.upgrade() {
                show_message(&ui, &text);
            }
        });
    }

    *now.borrow_mut() = at(60);
    refresh();
    assert!(
        ElementHandle::find_by_accessible_label(&ui, "Simulated")
            .next()
            .is_some(),
        "SIMULATED shown"
    );
    assert_eq!(value(&ui, "Pump status"), "Running — morphine 0.5 mg/day");
    assert_eq!(value(&ui, "Next dose"), "You can press for a dose now.");

    press(&ui, "Press for a dose");
    assert_eq!(value(&ui, "Pump answer"), "Bolus of 0.05 mg started.");

    // Twenty minutes later the lockout shows its countdown and the button does nothing.
    *now.borrow_mut() = at(80);
    refresh();
    assert_eq!(value(&ui, "Next dose"), "Next dose available in 40min.");
    assert!(
        ElementHandle::find_by_accessible_label(&ui, "Press for a dose")
            .next()
            .is_none()
    );
    press(&ui, "Dose not available yet");
    assert_eq!(
        value(&ui, "Pump answer"),
        "Bolus of 0.05 mg started.",
        "a disabled button sends nothing"
    );

    // A blocked line: the pump stops, the screen says so and asks for the nurse.
    service
        .borrow_mut()
        .inject_fault("occlusion", true)
        .unwrap();
    *now.borrow_mut() = at(240);
    refresh();
    assert!(
        value(&ui, "Pump status").starts_with("Stopped — Line blocked"),
        "{}",
        value(&ui, "Pump status")
    );
    assert!(value(&ui, "Alarm").starts_with("Line blocked"));
    assert!(ui.global::<Pump>().get_call_nurse());
}
