//! The touchscreen UI with slint's testing backend, against the real pump service on simulated
//! hardware: the patient screen (what it says, a press granted, the lockout shown, a press
//! refused, an alarm shown), the staff's login by name and PIN, Stop delivery without a login,
//! the start-trial wizard with its second person, the spasticity score and a bolus trial's
//! chart. Each test has its own window: the testing backend without an event loop is set up per
//! thread, and each test runs on a thread of its own.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use i_slint_backend_testing::ElementHandle;
use slint::ComponentHandle;
use titra::core::units::{Duration, MassUnit, Timestamp};
use titra::service::auth::{Peer, UserRole};
use titra::service::pump::PumpService;
use titra::ui::adapters::app::{log_in, show_message, show_pin_answer, show_staff, wire_checks};
use titra::ui::adapters::apply_status;
use titra::ui::adapters::chart::{show_chart, show_course_chart};
use titra::ui::adapters::wizard::{answer_directly, wire_wizard, wizard_reply};
use titra::ui::command::SharedWizard;
use titra::ui::present::chart::{chart, course_chart};
use titra::ui::present::login::STOPPED;
use titra::ui::present::wizard::Wizard;
use titra::ui::{
    AppState, ChartAdapter, MainWindow, Nav, ObservationAdapter, PatientAdapter, PatientPrompt,
    StaffAdapter,
};

const PROGRAM: &str = "[trial]\npatient = \"MRN-UI\"\nroute = \"intrathecal\"\nkind = \"continuous\"\nduration = \"3d\"\n[program]\ndrug = \"morphine\"\nconcentration = \"1 mg/mL\"\nreservoir = \"20 mL\"\nbasal = \"0.5 mg/day\"\npca = { dose = \"0.05 mg\", lockout = \"1h\", max_per_hour = 1 }\n";

fn value(ui: &MainWindow, label: &str) -> String {
    ElementHandle::find_by_accessible_label(ui, label)
        .next()
        .unwrap_or_else(|| panic!("no element labelled {label}"))
        .accessible_value()
        .unwrap_or_default()
        .to_string()
}

/// The PIN pad's answer ("" before there is one).
fn pin_answer(ui: &MainWindow) -> String {
    ElementHandle::find_by_accessible_label(ui, "PIN answer")
        .next()
        .and_then(|e| e.accessible_value())
        .map(|v| v.to_string())
        .unwrap_or_default()
}

/// Whether the button labelled `label` can be pressed now.
fn enabled(ui: &MainWindow, label: &str) -> bool {
    ElementHandle::find_by_accessible_label(ui, label)
        .next()
        .unwrap_or_else(|| panic!("no element labelled {label}"))
        .accessible_enabled()
        .unwrap_or(true)
}

/// Picks `name` on the PIN pad and types `digits` (no Enter).
fn name_and_pin(ui: &MainWindow, name: &str, digits: &str) {
    press(ui, name);
    for d in digits.chars() {
        press(ui, &format!("Digit {d}"));
    }
}

fn press(ui: &MainWindow, label: &str) {
    ElementHandle::find_by_accessible_label(ui, label)
        .next()
        .unwrap_or_else(|| panic!("no element labelled {label}"))
        .invoke_accessible_default_action();
    // What an event loop does after each event, twice: the screens' change handlers and timers
    // run (a step that starts at its top, or scrolls a new field into view once laid out). The
    // search finds only what is in view.
    for _ in 0..2 {
        i_slint_backend_testing::mock_elapsed_time(std::time::Duration::from_millis(20));
    }
}

/// The nurse confirms every item of the pre-trial checklist through the service (the UI has no
/// checklist screen yet); the start is refused until then.
fn confirm_checklist(service: &mut PumpService, nurse: &str, now: Timestamp) {
    let (items, ..) = service.checklist(nurse, now).unwrap();
    assert!(!items.is_empty(), "the site protocol has a checklist");
    for item in items {
        service
            .confirm_checklist_item(nurse, &item.id, now)
            .unwrap();
    }
}

fn at(mins: u64) -> Timestamp {
    Timestamp::ORIGIN + Duration::from_mins(mins)
}

type Shared<T> = Rc<RefCell<T>>;

/// A trial of [`PROGRAM`] started by a nurse: refused until the pre-trial checklist is
/// confirmed.
fn started_trial() -> PumpService {
    let mut service = PumpService::simulated_demo(at(0)).unwrap();
    service.confirm_checklist_as_demo(false);
    let (nurse, _) = service
        .login("nurse", "123456", Peer::Local, at(0))
        .unwrap();
    service
        .start_trial(&nurse, PROGRAM, false, ("nurse2", "567890"), at(0))
        .unwrap();
    service.prime(&nurse, at(0)).unwrap();
    let refused = service.start(&nurse, at(0)).unwrap_err().to_string();
    assert!(
        refused.contains("pre-trial checklist is not complete"),
        "{refused}"
    );
    confirm_checklist(&mut service, &nurse, at(0));
    service.start(&nurse, at(0)).unwrap();
    service
}

/// Shows the pump at the clock's time, run up to it as the daemon's control loop does.
fn refresher(ui: &MainWindow, service: &Shared<PumpService>, now: &Shared<Timestamp>) -> impl Fn() {
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
}

/// The patient's dose button and side effects, and the staff's login, Stop delivery and resume,
/// carried to the service at the clock's time as the client carries them to the daemon; the
/// PIN pad lists the service's staff.
fn wire_service(ui: &MainWindow, service: &Shared<PumpService>, now: &Shared<Timestamp>) {
    show_staff(ui, &service.borrow().staff());
    let patient = ui.global::<PatientAdapter>();
    {
        let service = service.clone();
        let now = now.clone();
        let weak = ui.as_weak();
        patient.on_request_bolus(move || {
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
    {
        let service = service.clone();
        let now = now.clone();
        patient.on_record_side_effect(move |effect, severity| {
            service
                .borrow_mut()
                .record_side_effect(&effect, &severity, *now.borrow())
                .unwrap();
        });
    }
    let token = Rc::new(RefCell::new(String::new()));
    {
        let service = service.clone();
        let now = now.clone();
        let token = token.clone();
        let weak = ui.as_weak();
        ui.global::<AppState>().on_login(move |user, pin| {
            let Some(ui) = weak.upgrade() else { return };
            match service
                .borrow_mut()
                .login(&user, &pin, Peer::Local, *now.borrow())
            {
                Ok((t, caller)) => {
                    *token.borrow_mut() = t;
                    log_in(&ui, &caller.name, caller.role);
                }
                Err(e) => show_pin_answer(&ui, &e.to_string()),
            }
        });
    }
    {
        let service = service.clone();
        let now = now.clone();
        let weak = ui.as_weak();
        ui.global::<AppState>().on_stop_delivery(move || {
            let answer = service
                .borrow_mut()
                .stop_delivery(&Peer::Local, *now.borrow())
                .map_or_else(|e| e.to_string(), |()| STOPPED.to_owned());
            if let Some(ui) = weak.upgrade() {
                show_pin_answer(&ui, &answer);
            }
        });
    }
    let service = service.clone();
    let now = now.clone();
    let weak = ui.as_weak();
    ui.global::<StaffAdapter>().on_resume(move || {
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

#[test]
fn the_patient_screen_against_the_real_pump() {
    i_slint_backend_testing::init_no_event_loop();
    let service = Rc::new(RefCell::new(started_trial()));
    let now = Rc::new(RefCell::new(at(0)));
    let ui = MainWindow::new().unwrap();
    let refresh = refresher(&ui, &service, &now);
    wire_service(&ui, &service, &now);

    *now.borrow_mut() = at(60);
    refresh();
    assert!(
        ElementHandle::find_by_accessible_label(&ui, "Simulated")
            .next()
            .is_some(),
        "SIMULATED shown"
    );
    assert_eq!(
        value(&ui, "Simulated"),
        "SIMULATED PUMP — NOT FOR PATIENT USE"
    );
    // A demonstration says on every screen how much faster its time runs.
    service.borrow_mut().set_time_speed(60);
    refresh();
    assert_eq!(
        value(&ui, "Simulated"),
        "SIMULATED PUMP, TIME ×60 — NOT FOR PATIENT USE"
    );
    service.borrow_mut().set_time_speed(1);
    refresh();
    assert_eq!(value(&ui, "Pump status"), "Running — morphine 0.5 mg/day");
    assert_eq!(value(&ui, "Next dose"), "You can press for a dose now.");

    press(&ui, "Press for a dose");
    assert_eq!(value(&ui, "Pump answer"), "Bolus of 0.05 mg started.");

    // A side effect: what, then how bad; recorded in the trial log.
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
                titra::journal::Record::SideEffect {
                    effect: titra::journal::SideEffect::Pruritus,
                    severity: titra::journal::Severity::Mild,
                    ..
                }
            ))
    );

    // Twenty minutes later the lockout shows its countdown and the button does nothing.
    *now.borrow_mut() = at(80);
    refresh();
    assert_eq!(value(&ui, "Next dose"), "Next dose available in 40 min.");
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
    assert!(ui.global::<PatientAdapter>().get_call_nurse());

    // A nurse logs in with her name and the PIN pad (a wrong PIN first), acknowledges and
    // resumes.
    press(&ui, "Staff");
    assert_eq!(ui.global::<Nav>().get_screen(), "pin");
    name_and_pin(&ui, "Demo Nurse", "999999");
    assert_eq!(value(&ui, "PIN"), "6 digits");
    press(&ui, "Enter PIN");
    assert!(
        value(&ui, "PIN answer").contains("wrong PIN for Demo Nurse"),
        "{}",
        value(&ui, "PIN answer")
    );
    // Her name stays picked: she types her PIN again.
    for d in "123456".chars() {
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

/// The screens speak the pump's language: its status says which, and the texts of the screens
/// themselves (slint's bundled translations) and those of the Rust side follow it, and go back.
#[test]
fn the_screens_speak_the_pumps_language_and_go_back() {
    use titra::core::lang::{self, Language};
    i_slint_backend_testing::init_no_event_loop();
    let service = started_trial();
    let ui = MainWindow::new().unwrap();
    let de = |label: &str| {
        Language::German
            .lookup(label)
            .unwrap_or("(no German)")
            .to_owned()
    };
    // The pump in German (the site's protocol says `language = "de"`).
    lang::with(Language::German, || {
        let s = service.status(at(60));
        assert_eq!(s.language, Some(Language::German));
        apply_status(&ui, &s, true);
    });
    assert_eq!(de("Side effect"), "Nebenwirkung");
    assert!(
        ElementHandle::find_by_accessible_label(&ui, "Side effect")
            .next()
            .is_none(),
        "the screens' own words are German"
    );
    assert!(
        ElementHandle::find_by_accessible_label(&ui, &de("Side effect"))
            .next()
            .is_some()
    );
    assert_eq!(
        value(&ui, &de("Simulated")),
        "SIMULIERTE PUMPE — NICHT AM PATIENTEN VERWENDEN"
    );
    lang::with(Language::German, || {
        apply_status(&ui, &service.status(at(60)), true);
        assert_eq!(
            value(&ui, &de("Pump status")),
            "Läuft — morphine 0.5 mg/day"
        );
    });
    // Back in English: a status without a language (not connected) keeps the last one.
    apply_status(&ui, &titra::service::wire::Status::empty(at(60)), false);
    assert!(
        ElementHandle::find_by_accessible_label(&ui, &de("Side effect"))
            .next()
            .is_some()
    );
    apply_status(&ui, &service.status(at(60)), true);
    assert_eq!(value(&ui, "Pump status"), "Running — morphine 0.5 mg/day");
    assert!(
        ElementHandle::find_by_accessible_label(&ui, "Side effect")
            .next()
            .is_some()
    );
}

#[test]
fn anyone_stops_delivery_from_the_login_screen_even_while_a_login_is_locked() {
    i_slint_backend_testing::init_no_event_loop();
    let service = Rc::new(RefCell::new(started_trial()));
    let now = Rc::new(RefCell::new(at(60)));
    let ui = MainWindow::new().unwrap();
    let refresh = refresher(&ui, &service, &now);
    wire_service(&ui, &service, &now);
    refresh();
    press(&ui, "Staff");
    assert_eq!(ui.global::<Nav>().get_screen(), "pin");

    // Enter waits for a name and at least six digits.
    assert!(!enabled(&ui, "Enter PIN"));
    for d in "123456".chars() {
        press(&ui, &format!("Digit {d}"));
    }
    assert!(!enabled(&ui, "Enter PIN"), "no name picked");
    press(&ui, "Clear the PIN");
    assert_eq!(value(&ui, "PIN"), "0 digits");
    name_and_pin(&ui, "Demo Nurse", "12345");
    assert!(!enabled(&ui, "Enter PIN"), "five digits are too few");
    press(&ui, "Digit 6");
    assert!(enabled(&ui, "Enter PIN"));
    press(&ui, "Clear the PIN");

    // Wrong PINs lock Demo Nurse's login, even against her right PIN.
    let mut tries = 0;
    while !pin_answer(&ui).contains("locked") {
        tries += 1;
        assert!(tries <= 5, "{}", pin_answer(&ui));
        name_and_pin(&ui, "Demo Nurse", "999999");
        press(&ui, "Enter PIN");
    }
    name_and_pin(&ui, "Demo Nurse", "123456");
    press(&ui, "Enter PIN");
    assert_eq!(ui.global::<Nav>().get_screen(), "pin");
    assert!(value(&ui, "PIN answer").contains("locked"));

    // Stop delivery needs no login: the pump stops, and says so.
    press(&ui, "Stop delivery");
    assert_eq!(value(&ui, "PIN answer"), STOPPED);
    assert_eq!(service.borrow().state().to_string(), "paused");
    press(&ui, "Stop delivery");
    assert!(
        value(&ui, "PIN answer").contains("not running"),
        "{}",
        value(&ui, "PIN answer")
    );

    // Restarting needs a login: another nurse's, whose login the lock does not touch.
    name_and_pin(&ui, "Demo Nurse 2", "567890");
    press(&ui, "Enter PIN");
    assert_eq!(ui.global::<Nav>().get_screen(), "staff");
    assert_eq!(value(&ui, "Logged in as"), "Demo Nurse 2 (nurse)");
    refresh();
    press(&ui, "Resume");
    assert_eq!(value(&ui, "Staff answer"), "Delivery resumed.");
    assert_eq!(service.borrow().state().to_string(), "running");
}

fn notes(ui: &MainWindow) -> Vec<String> {
    ElementHandle::find_by_accessible_label(ui, "Wizard note")
        .map(|e| e.accessible_value().unwrap_or_default().to_string())
        .collect()
}

fn keys(ui: &MainWindow, text: &str) {
    for c in text.chars() {
        press(ui, &format!("Key {c}"));
    }
}

/// A window on the demo pump (its checklist to be confirmed) whose login and wizard go to the
/// service, logging in as `token`'s holder.
fn wizard_window(service: &Shared<PumpService>, token: &Shared<String>) -> MainWindow {
    let ui = MainWindow::new().unwrap();
    // The landscape display: the trial step scrolls on it once the opioids are asked.
    ui.window().set_size(slint::PhysicalSize::new(800, 480));
    apply_status(&ui, &service.borrow().status(at(5)), true);
    show_staff(&ui, &service.borrow().staff());
    {
        let service = service.clone();
        let token = token.clone();
        let weak = ui.as_weak();
        ui.global::<AppState>().on_login(move |user, pin| {
            let Some(ui) = weak.upgrade() else { return };
            let (t, caller) = service
                .borrow_mut()
                .login(&user, &pin, Peer::Local, at(1))
                .unwrap();
            *token.borrow_mut() = t;
            log_in(&ui, &caller.name, caller.role);
        });
    }
    let wizard: SharedWizard = Arc::new(Mutex::new(Wizard::new()));
    let service = service.clone();
    let token = token.clone();
    let weak = ui.as_weak();
    let shared = wizard.clone();
    wire_wizard(&ui, wizard, move |request| {
        let reply = answer_directly(&mut service.borrow_mut(), &token.borrow(), at(2), &request);
        if let Some(ui) = weak.upgrade() {
            wizard_reply(&ui, &shared, reply, &|_| {});
        }
    });
    ui
}

/// The nurse logs in and goes through the wizard's first steps, up to the program.
fn wizard_up_to_the_program(ui: &MainWindow) {
    press(ui, "Staff");
    name_and_pin(ui, "Demo Nurse", "123456");
    press(ui, "Enter PIN");
    press(ui, "Start a trial");
    assert_eq!(ui.global::<Nav>().get_screen(), "wizard");
    assert_eq!(value(ui, "Wizard step"), "Start a trial — 1/12: Patient ID");
    press(ui, "Next");
    assert!(
        value(ui, "Wizard step").ends_with("Patient ID"),
        "no ID, no next step"
    );
    keys(ui, "MRN-77");
    assert_eq!(value(ui, "Patient ID"), "MRN-77");
    press(ui, "Next");
    press(ui, "Intrathecal");
    assert_eq!(value(ui, "Catheter tip at vertebral level: value"), "T10");
    press(ui, "Catheter tip at vertebral level down");
    assert_eq!(value(ui, "Catheter tip at vertebral level: value"), "T9");
    press(ui, "Next");
    press(ui, "8");
    press(ui, "Length of the trial down");
    press(ui, "Next");
    assert!(
        value(ui, "Wizard step").ends_with("Kind of trial"),
        "the opioids before the trial are asked"
    );
    assert!(
        notes(ui)
            .iter()
            .any(|n| n.starts_with("Choose whether the patient took opioids")),
        "{:?}",
        notes(ui)
    );
    // Opioid-tolerant: the oral morphine equivalents are typed on the keypad.
    press(ui, "Opioid-tolerant");
    press(ui, "Next");
    assert!(value(ui, "Wizard step").ends_with("Kind of trial"));
    keys(ui, "120");
    assert_eq!(value(ui, "Oral morphine equivalents"), "120 mg/day");
    press(ui, "Next");
    assert!(value(ui, "Wizard step").ends_with("Catheter"));
    press(ui, "Closed tip");
    press(ui, "Next");
    assert!(
        value(ui, "Wizard step").ends_with("Catheter"),
        "when it was placed is asked"
    );
    press(ui, "2 h");
    press(ui, "Next");
    press(ui, "Morphine");
    press(ui, "Next");
    press(ui, "1 mg/mL");
    press(ui, "Next");
    assert!(value(ui, "Wizard step").ends_with("Program"));
}

/// The program step: a basal above the hard maximum refused, then the program typed.
fn wizard_program(ui: &MainWindow) {
    // A basal above the library's hard maximum: marked, explained, and Next does nothing.
    press(ui, "Basal dose");
    keys(ui, "50");
    assert!(
        notes(ui)
            .iter()
            .any(|n| n.starts_with("✕ Basal rate 50 mg/day") && n.contains("hard maximum")),
        "{:?}",
        notes(ui)
    );
    press(ui, "Next");
    assert!(value(ui, "Wizard step").ends_with("Program"));
    press(ui, "Delete");
    press(ui, "Delete");
    keys(ui, "0.5");
    press(ui, "Patient bolus (empty: none)");
    keys(ui, "0.05");
    assert!(
        !notes(ui).iter().any(|n| n.starts_with('✕')),
        "{:?}",
        notes(ui)
    );
    press(ui, "Basal dose");
    assert!(
        notes(ui)
            .iter()
            .any(|n| n.starts_with("! The first basal rate of a trial")
                && n.contains("opioid-tolerant")),
        "0.5 mg/day is below an opioid-tolerant patient's usual start: {:?}",
        notes(ui)
    );
}

/// The review, the second person's name and PIN (the same nurse refused), load, prime and start
/// (once the checklist is confirmed).
fn wizard_review_to_start(ui: &MainWindow, service: &Shared<PumpService>, token: &Shared<String>) {
    press(ui, "Next");
    assert!(value(ui, "Wizard step").ends_with("Check every setting"));
    let review: Vec<String> = ElementHandle::find_by_accessible_label(ui, "Review line")
        .map(|e| e.accessible_value().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        review[..6],
        [
            "Patient MRN-77 — intrathecal catheter, tip at T9",
            "Intrathecal catheter, closed tip, placed 2h before the start",
            "Continuous trial for 6d; pain before the trial 8/10",
            "Opioid-tolerant before the trial: 120 mg/day oral morphine equivalents",
            "morphine 1 mg/mL, syringe 20 mL",
            "Basal 0.5 mg/day (0.0208 mg/h, 0.0208 mL/h)",
        ]
    );
    assert!(
        review[6].starts_with("Patient bolus 0.05 mg (50 µL), lockout 1h"),
        "{review:?}"
    );
    // The basal below the opioid-tolerant start is confirmed before the second person verifies.
    press(ui, "Verify");
    assert!(value(ui, "Wizard step").ends_with("Check every setting"));
    press(ui, "I confirm the settings marked !");
    press(ui, "Verify");

    // The same nurse cannot verify her own program (the pad says so as soon as she picks her
    // name, and the pump refuses it); a second nurse can. Verify waits for a name and six
    // digits.
    let title = "Second person: pick your name and enter your PIN";
    assert!(value(ui, "Wizard step").ends_with(title));
    assert!(!enabled(ui, "Verify"), "no name, no PIN");
    name_and_pin(ui, "Demo Nurse", "12345");
    assert!(!enabled(ui, "Verify"), "five digits are too few");
    assert!(value(ui, "Second person warning").contains("another nurse or clinician"));
    assert!(notes(ui).is_empty(), "the pump has not answered yet");
    press(ui, "Digit 6");
    press(ui, "Verify");
    assert!(value(ui, "Wizard step").ends_with(title));
    assert!(!notes(ui).is_empty(), "the refusal is shown");
    assert!(service.borrow().engine().is_none(), "nothing programmed");
    name_and_pin(ui, "Demo Nurse 2", "567890");
    press(ui, "Verify");
    assert!(
        value(ui, "Wizard step").ends_with("Load the syringe"),
        "{:?}",
        notes(ui)
    );
    assert_eq!(service.borrow().state().to_string(), "verified");
    press(ui, "Syringe is in");
    press(ui, "Prime the line");
    assert!(value(ui, "Wizard step").ends_with("Start delivery"));
    {
        let token = token.borrow().clone();
        confirm_checklist(&mut service.borrow_mut(), &token, at(2));
    }
    press(ui, "Start delivery");
    assert_eq!(ui.global::<Nav>().get_screen(), "staff");
    assert_eq!(value(ui, "Staff answer"), "Delivery started.");
}

#[test]
fn a_nurse_starts_a_trial_with_the_wizard() {
    i_slint_backend_testing::init_no_event_loop();
    let mut demo = PumpService::simulated_demo(at(0)).unwrap();
    demo.confirm_checklist_as_demo(false);
    let service = Rc::new(RefCell::new(demo));
    let token = Rc::new(RefCell::new(String::new()));
    let ui = wizard_window(&service, &token);
    wizard_up_to_the_program(&ui);
    wizard_program(&ui);
    wizard_review_to_start(&ui, &service, &token);

    let s = service.borrow();
    assert_eq!(s.state().to_string(), "running");
    let e = s.engine().unwrap();
    assert_eq!(e.trial().patient, "MRN-77");
    assert_eq!(e.trial().catheter_tip.as_deref(), Some("T9"));
    assert_eq!(
        e.trial().catheter.as_deref(),
        Some("Intrathecal catheter, closed tip")
    );
    assert_eq!(
        e.trial()
            .catheter_placed_before
            .map(|d| d.to_string())
            .as_deref(),
        Some("2h")
    );
    assert_eq!(e.program().basal.to_string(), "0.5 mg/day");
    assert_eq!(e.program().pca.unwrap().dose.ng(), 50_000);
    assert_eq!(
        e.trial().opioid_status,
        Some(titra::core::program::OpioidStatus::Tolerant)
    );
    assert_eq!(
        e.trial().ome_before.map(|r| r.to_string()).as_deref(),
        Some("120 mg/day")
    );
}
const BACLOFEN: &str = "[trial]\npatient = \"MRN-SPAS\"\nroute = \"intrathecal\"\nkind = \"single_bolus\"\nduration = \"8h\"\n[program]\ndrug = \"baclofen\"\nconcentration = \"50 mcg/mL\"\nreservoir = \"10 mL\"\nboluses = [ { at = \"0h\", dose = \"50 mcg\" } ]\nobserve = \"8h\"\n";

#[test]
fn a_nurse_scores_spasticity_in_a_baclofen_trial() {
    i_slint_backend_testing::init_no_event_loop();
    let mut service = PumpService::simulated_demo(at(0)).unwrap();
    let (nurse, _) = service
        .login("nurse", "123456", Peer::Local, at(0))
        .unwrap();
    service
        .start_trial(&nurse, BACLOFEN, false, ("nurse2", "567890"), at(0))
        .unwrap();
    service.prime(&nurse, at(0)).unwrap();
    service.start(&nurse, at(0)).unwrap();
    // Five hours in: a pain trial would ask the patient for a score by now.
    let status = service.status(at(300));
    let (nurse, _) = service
        .login("nurse", "123456", Peer::Local, at(300))
        .unwrap();
    assert_eq!(
        status.outcome_measure,
        Some(titra::core::diary::OutcomeMeasure::Spasticity)
    );
    let service = Rc::new(RefCell::new(service));
    let ui = MainWindow::new().unwrap();
    wire_checks(&ui);
    apply_status(&ui, &status, true);
    assert_eq!(
        ui.global::<PatientAdapter>().get_prompt(),
        PatientPrompt::None,
        "no pain prompt"
    );
    assert!(
        ElementHandle::find_by_accessible_label(&ui, "Patient question")
            .next()
            .is_none()
    );
    {
        let service = service.clone();
        let nurse = nurse.clone();
        let weak = ui.as_weak();
        ui.global::<ObservationAdapter>()
            .on_record_spasticity(move |score, muscles| {
                let answer = service
                    .borrow_mut()
                    .record_spasticity(&nurse, &score, &muscles, at(300))
                    .map_or_else(|e| e.to_string(), |()| "recorded".to_owned());
                if let Some(ui) = weak.upgrade() {
                    show_message(&ui, &answer);
                }
            });
    }
    log_in(&ui, "Demo Nurse", UserRole::Nurse);
    press(&ui, "Spasticity (Ashworth)");
    assert_eq!(ui.global::<Nav>().get_screen(), "spasticity");
    press(&ui, "Record the score");
    assert_eq!(
        value(&ui, "Staff answer"),
        "",
        "no score chosen: nothing sent"
    );
    press(&ui, "Ashworth 1+");
    press(&ui, "Knee extensors");
    press(&ui, "Hip adductors");
    press(&ui, "Knee extensors");
    press(&ui, "Ankle plantar flexors");
    press(&ui, "Record the score");
    assert_eq!(value(&ui, "Staff answer"), "recorded");
    let summary = service.borrow_mut().summary(&nurse, at(300)).unwrap();
    let score = &summary.spasticity.scores[0];
    assert_eq!(score.score.as_str(), "1+");
    assert_eq!(score.muscles, "Hip adductors; Ankle plantar flexors");
}

const SCREENING: &str = "[trial]\npatient = \"MRN-COURSE\"\nroute = \"intrathecal\"\nkind = \"single_bolus\"\nduration = \"24h\"\nbaseline_pain = 7\n[program]\ndrug = \"morphine\"\nconcentration = \"1 mg/mL\"\nreservoir = \"2 mL\"\nboluses = [ { at = \"0h\", dose = \"0.2 mg\" } ]\nobserve = \"24h\"\n";

/// Runs the pump up to `t`, as the daemon's control loop does.
fn run_to(s: &mut PumpService, t: Timestamp) {
    let mut clock = t;
    while let Some(wake) = s.next_wake().filter(|&w| w <= t) {
        s.tick(wake).unwrap();
        clock = wake;
    }
    s.tick(t.max(clock)).unwrap();
}

#[test]
fn the_chart_of_a_bolus_trial_shows_the_response_to_each_bolus() {
    use slint::Model as _;
    i_slint_backend_testing::init_no_event_loop();
    let mut service = PumpService::simulated_demo(at(0)).unwrap();
    let (nurse, _) = service
        .login("nurse", "123456", Peer::Local, at(0))
        .unwrap();
    service
        .start_trial(&nurse, SCREENING, false, ("nurse2", "567890"), at(0))
        .unwrap();
    service.prime(&nurse, at(0)).unwrap();
    service.start(&nurse, at(0)).unwrap();
    // Pain 7 before; 5 an hour after the bolus, 3 at 4 h (half: a response), 6 at 8 h.
    for (mins, pain) in [(60, 5), (240, 3), (480, 6)] {
        run_to(&mut service, at(mins));
        service.record_pain(pain, at(mins)).unwrap();
    }
    let service = Rc::new(RefCell::new(service));
    let ui = MainWindow::new().unwrap();
    {
        // As the UI's client does: a bolus trial's chart is the response to each bolus.
        let service = service.clone();
        let weak = ui.as_weak();
        ui.global::<ChartAdapter>().on_load(move || {
            let r = service.borrow().bolus_response(at(480)).unwrap();
            assert!(r.bolus_trial);
            if let Some(ui) = weak.upgrade() {
                show_course_chart(&ui, &course_chart(&r));
            }
        });
    }
    apply_status(&ui, &service.borrow().status(at(480)), true);
    log_in(&ui, "Demo Clinician", UserRole::Clinician);
    press(&ui, "Dose and pain chart");
    assert_eq!(ui.global::<Nav>().get_screen(), "chart");
    assert_eq!(
        value(&ui, "Bolus response"),
        "Effective: Bolus of 0.2 mg at 0 h: onset 4 h, peak 3 at 4 h, duration 8 h"
    );
    assert_eq!(
        value(&ui, "Chart caption"),
        "Pain 0–10 against hours after each bolus; dashed: before the trial, 7"
    );
    let adapter = ui.global::<ChartAdapter>();
    assert!(adapter.get_bolus());
    let curves: Vec<_> = adapter.get_curves().iter().collect();
    assert_eq!(curves.len(), 1, "one line per bolus");
    assert!(curves[0].effective);
    // 8 h across, pain 0–10 up: the scores at 1, 4 and 8 h, the end of the effect at 8 h.
    assert_eq!(
        curves[0].line,
        "M 134.0 92.0 L 500.0 125.6 L 988.0 75.2 M 988.0 8 L 988.0 176"
    );
    assert!(
        adapter
            .get_baseline()
            .starts_with("M 12.0 58.4 L 28.0 58.4"),
        "the baseline dashed at 7"
    );
    assert_eq!(
        adapter
            .get_ticks()
            .iter()
            .last()
            .map(|t| t.label.to_string()),
        Some("8 h".to_owned())
    );

    // A continuous trial's chart in its place: the bars again, and no bolus lines.
    show_chart(
        &ui,
        &chart(
            &titra::report::summary::History {
                bucket_ms: 3_600_000,
                doses_ng: vec![20_000],
                pain: vec![(1_800_000, 5)],
                boluses: Vec::new(),
            },
            MassUnit::Mg,
        ),
    );
    assert!(!adapter.get_bolus());
    assert!(
        ElementHandle::find_by_accessible_label(&ui, "Bolus response")
            .next()
            .is_none()
    );
    assert!(value(&ui, "Chart caption").starts_with("Dose per"));
}
