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
use titra::ui::{MainWindow, Nav, Pump, apply_status, set_staff, show_message};

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
                apply_status(&ui, &status, true);
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

    // A side effect: what, then how bad; recorded in the trial log.
    {
        let service = service.clone();
        let now = now.clone();
        ui.global::<Pump>()
            .on_record_side_effect(move |effect, severity| {
                service
                    .borrow_mut()
                    .record_side_effect(&effect, &severity, *now.borrow())
                    .unwrap();
            });
    }
    press(&ui, "Side effect");
    press(&ui, "Itching");
    press(&ui, "Mild");
    assert_eq!(ui.global::<Nav>().get_screen(), "patient");
    assert!(
        service
            .borrow()
            .engine()
            .unwrap()
            .journal()
            .iter()
            .any(|r| matches!(
                r,
                titra::engine::Record::SideEffect {
                    effect: titra::scenario::SideEffect::Pruritus,
                    severity: titra::scenario::Severity::Mild,
                    ..
                }
            ))
    );

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
    assert_eq!(value(&ui, "Pump status"), "Stopped — your nurse is needed");
    assert!(value(&ui, "Alarm").starts_with("Line blocked"));
    assert!(ui.global::<Pump>().get_call_nurse());

    // A nurse logs in with the PIN pad (a wrong PIN first), acknowledges and resumes.
    let token = Rc::new(RefCell::new(String::new()));
    {
        let service = service.clone();
        let now = now.clone();
        let token = token.clone();
        let weak = ui.as_weak();
        ui.global::<Pump>().on_login(move |pin| {
            let Some(ui) = weak.upgrade() else { return };
            match service.borrow_mut().login(&pin, *now.borrow()) {
                Ok((t, caller)) => {
                    *token.borrow_mut() = t;
                    set_staff(&ui, &caller.name, caller.role.as_str());
                }
                Err(e) => ui.global::<Pump>().set_pin_message(e.to_string().into()),
            }
        });
    }
    {
        let service = service.clone();
        let now = now.clone();
        let token = token.clone();
        let weak = ui.as_weak();
        ui.global::<Pump>().on_resume(move || {
            let t = *now.borrow();
            let mut s = service.borrow_mut();
            let _ = s.acknowledge(&token.borrow(), t);
            let answer = s
                .resume(&token.borrow(), t)
                .map(|()| "Delivery resumed.".to_owned());
            if let Some(ui) = weak.upgrade() {
                show_message(&ui, &answer.unwrap_or_else(|e| e.to_string()));
            }
        });
    }
    press(&ui, "Staff");
    assert_eq!(ui.global::<Nav>().get_screen(), "pin");
    for d in ["9", "9", "9", "9"] {
        press(&ui, &format!("Digit {d}"));
    }
    assert_eq!(value(&ui, "PIN"), "4 digits");
    press(&ui, "Enter PIN");
    assert!(
        value(&ui, "PIN answer").contains("wrong PIN (4 tries left"),
        "{}",
        value(&ui, "PIN answer")
    );
    for d in ["1", "2", "3", "4"] {
        press(&ui, &format!("Digit {d}"));
    }
    press(&ui, "Enter PIN");
    assert_eq!(ui.global::<Nav>().get_screen(), "staff");
    assert_eq!(value(&ui, "Logged in as"), "Demo Nurse (nurse)");
    // The line is still blocked: resuming is allowed (the nurse checked it), and the pump then
    // finds the blockage again by itself; here it has been cleared.
    service
        .borrow_mut()
        .inject_fault("occlusion", false)
        .unwrap();
    press(&ui, "Resume");
    assert_eq!(value(&ui, "Staff answer"), "Delivery resumed.");
    press(&ui, "Log out");
    assert_eq!(ui.global::<Nav>().get_screen(), "patient");
    refresh();
    assert_eq!(value(&ui, "Pump status"), "Running — morphine 0.5 mg/day");
}
