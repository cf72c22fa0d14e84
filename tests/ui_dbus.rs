//! The whole UI path: the window (slint's testing backend, with its event loop) and the UI's own
//! D-Bus client code (`ui::adapters::wire` and `ui::client::follow`) against the daemon's interface on
//! simulated hardware over a peer-to-peer link, in virtual time. A nurse starts a trial with the
//! wizard (refused until the pre-trial checklist is confirmed on its screen), the patient presses
//! for a bolus and is refused during the lockout with the countdown shown, four hours in the
//! patient screen asks for the pain score and the function question, a nurse acknowledges and
//! silences an alarm, a sedation score of 3 (with a temperature) stops delivery and refuses the
//! patient's doses until a clinician's review, a nurse's site check with a fever raises
//! "possible infection", a nurse records the day's systemic opioids, the clinician sees the
//! implant worksheet (nothing to confirm before the end), ends the trial a day later, confirms
//! another starting dose than the proposal (refused until a reason is typed) and exports, the
//! patient gives the impression of change, the clinician records the decision and a nurse the
//! catheter's removal; the summary has them all, and the chart shows the dose and pain (no
//! response to boluses: the trial is continuous).
//!
//! Its own test binary: the testing backend's event loop can be set up once per process. The
//! test waits for what the screen shows (with a generous deadline), never for a fixed time.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration as StdDuration, Instant};

use i_slint_backend_testing::ElementHandle;
use slint::ComponentHandle;
use titra::core::units::{Duration, Timestamp};
use titra::journal::Record;
use titra::service::dbus::{ExportTarget, OBJECT_PATH, Pump1Proxy, PumpIface, Shared, run_until};
use titra::service::pump::PumpService;
use titra::time::ManualClock;
use titra::ui::adapters::wire;
use titra::ui::client::{Daemon, follow};
use titra::ui::{ExportAdapter, MainWindow, Nav, WizardAdapter};
use zbus::connection::Builder;

const DEADLINE: StdDuration = StdDuration::from_secs(120);

type Weak = slint::Weak<MainWindow>;

/// Runs `f` on the window's thread and returns its result.
fn on_ui<R: Send + 'static>(weak: &Weak, f: impl FnOnce(&MainWindow) -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    weak.upgrade_in_event_loop(move |ui| {
        let _ = tx.send(f(&ui));
    })
    .expect("the event loop runs");
    rx.recv_timeout(DEADLINE).expect("the event loop answers")
}

fn value_of(ui: &MainWindow, label: &str) -> Option<String> {
    ElementHandle::find_by_accessible_label(ui, label)
        .next()
        .map(|e| e.accessible_value().unwrap_or_default().to_string())
}

fn value(weak: &Weak, label: &'static str) -> String {
    on_ui(weak, move |ui| value_of(ui, label)).unwrap_or_default()
}

/// Waits until the screen shows what `ok` looks for.
fn wait(weak: &Weak, what: &str, ok: impl Fn(&MainWindow) -> bool + Send + Clone + 'static) {
    let start = Instant::now();
    while !on_ui(weak, ok.clone()) {
        assert!(start.elapsed() < DEADLINE, "never happened: {what}");
        std::thread::sleep(StdDuration::from_millis(20));
    }
}

fn wait_value(weak: &Weak, label: &'static str, expected: &str) {
    let expected = expected.to_owned();
    let what = format!("{label} = {expected:?} (last {:?})", value(weak, label));
    wait(weak, &what, move |ui| {
        value_of(ui, label).as_deref() == Some(expected.as_str())
    });
}

/// Whether the button labelled `label` can be pressed now.
fn enabled(weak: &Weak, label: &'static str) -> bool {
    on_ui(weak, move |ui| {
        ElementHandle::find_by_accessible_label(ui, label)
            .next()
            .and_then(|e| e.accessible_enabled())
    })
    .unwrap_or_else(|| panic!("no button labelled {label:?}"))
}

/// Waits for a line of the implant worksheet (read from the window's model: the lines scroll,
/// and the search finds only what is in view).
fn worksheet_has(weak: &Weak, what: &str, prefix: &'static str) {
    let lines = |ui: &MainWindow| -> Vec<String> {
        use slint::Model as _;
        ui.global::<ExportAdapter>()
            .get_lines()
            .iter()
            .map(|l| l.to_string())
            .collect()
    };
    let start = Instant::now();
    while !on_ui(weak, move |ui| {
        lines(ui).iter().any(|l| l.starts_with(prefix))
    }) {
        assert!(
            start.elapsed() < DEADLINE,
            "never happened: {what} (the worksheet: {:?})",
            on_ui(weak, lines)
        );
        std::thread::sleep(StdDuration::from_millis(20));
    }
}

fn wait_status(weak: &Weak, what: &str, prefix: &'static str) {
    wait(weak, what, move |ui| {
        value_of(ui, "Worksheet status").is_some_and(|v| v.starts_with(prefix))
    });
}

/// Types a note on the text keyboard.
fn type_words(weak: &Weak, text: &str) {
    for c in text.chars() {
        if c == ' ' {
            press(weak, "Space");
        } else {
            press(weak, &format!("Key {c}"));
        }
    }
}

fn press(weak: &Weak, label: &str) {
    let label = label.to_owned();
    let what = format!("a button labelled {label:?}");
    // The button may appear only once the daemon's answer arrived.
    let l = label.clone();
    wait(weak, &what, move |ui| {
        ElementHandle::find_by_accessible_label(ui, &l)
            .next()
            .is_some()
    });
    on_ui(weak, move |ui| {
        ElementHandle::find_by_accessible_label(ui, &label)
            .next()
            .map(|e| e.invoke_accessible_default_action())
    });
}

fn pin(weak: &Weak, digits: &str, enter: &str) {
    for d in digits.chars() {
        press(weak, &format!("Digit {d}"));
    }
    press(weak, enter);
}

fn keys(weak: &Weak, text: &str) {
    for c in text.chars() {
        press(weak, &format!("Key {c}"));
    }
}

fn screen(weak: &Weak) -> String {
    on_ui(weak, |ui| ui.global::<Nav>().get_screen().to_string())
}

fn wait_screen(weak: &Weak, name: &'static str) {
    wait(weak, &format!("the {name} screen"), move |ui| {
        ui.global::<Nav>().get_screen() == name
    });
}

fn wait_step(weak: &Weak, title: &'static str) {
    wait(weak, &format!("the wizard at {title}"), move |ui| {
        value_of(ui, "Wizard step").is_some_and(|v| v.ends_with(title))
    });
}

#[test]
fn the_ui_drives_the_daemon_over_dbus() {
    i_slint_backend_testing::init_integration_test_with_system_time();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let mut service = PumpService::simulated_demo(Timestamp::ORIGIN).unwrap();
    // The nurse confirms the pre-trial checklist on its screen below; the demo's own
    // confirmation is off.
    service.confirm_checklist_as_demo(false);
    let clock = ManualClock::default();
    let shared = Shared::new(service, Arc::new(clock.clone()));
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let export_dir = std::env::temp_dir().join(format!("titra-ui-export-{}", std::process::id()));
    let exported = export_dir.clone();
    let (server, client) = runtime.block_on(async {
        let guid = zbus::Guid::generate();
        let (server, client) = tokio::join!(
            Builder::unix_stream(a)
                .server(guid)
                .p2p()
                .serve_at(
                    OBJECT_PATH,
                    PumpIface::new(shared.clone())
                        .exporting_to(ExportTarget::Dir(export_dir.clone())),
                )
                .build(),
            Builder::unix_stream(b).p2p().build(),
        );
        (server.unwrap(), client.unwrap())
    });
    let proxy = runtime.block_on(Pump1Proxy::new(&client)).unwrap();

    let ui = MainWindow::new().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    wire(&ui, tx);
    runtime.spawn(follow(Daemon::Connection(client.clone()), ui.as_weak(), rx));

    let weak = ui.as_weak();
    let handle = runtime.handle().clone();
    let driver = std::thread::spawn(move || {
        // Whatever happens, the event loop ends with the driver.
        struct Quit;
        impl Drop for Quit {
            fn drop(&mut self) {
                let _ = slint::quit_event_loop();
            }
        }
        let _quit = Quit;
        let w = &weak;
        let advance = |to: Timestamp| {
            handle
                .block_on(run_until(&shared, &server, &clock, to))
                .unwrap();
        };

        wait_value(w, "Pump status", "No treatment programmed");
        // A nurse starts a trial with the wizard; every answer comes from the daemon.
        press(w, "Staff");
        pin(w, "1234", "Enter PIN");
        wait_screen(w, "staff");
        press(w, "Start a trial");
        wait_step(w, "Patient ID");
        keys(w, "MRN-88");
        press(w, "Next");
        press(w, "Intrathecal");
        press(w, "Next");
        press(w, "7");
        press(w, "Opioid-naive");
        press(w, "Next");
        wait_step(w, "Catheter");
        press(w, "Closed tip");
        press(w, "At the start");
        press(w, "Next");
        press(w, "Morphine");
        press(w, "Next");
        press(w, "1 mg/mL");
        press(w, "Next");
        wait_step(w, "Program");
        press(w, "Basal dose");
        keys(w, "0.5");
        press(w, "Patient bolus (empty: none)");
        keys(w, "0.05");
        // Next is enabled once the daemon has checked this very program.
        wait(w, "the program checked", |ui| {
            ui.global::<WizardAdapter>().get_can_next()
        });
        press(w, "Next");
        wait_step(w, "Check every setting");
        press(w, "Verify");
        wait_step(w, "Second nurse: enter your PIN");
        pin(w, "5678", "Verify");
        wait_step(w, "Load the syringe");
        press(w, "Syringe is in");
        press(w, "Prime the line");
        wait_step(w, "Start delivery");
        // The pre-trial checklist is not done: the start is refused, naming what is open.
        press(w, "Start delivery");
        wait(w, "the start refused for the checklist", |ui| {
            ElementHandle::find_by_accessible_label(ui, "Wizard note").any(|e| {
                e.accessible_value()
                    .unwrap_or_default()
                    .contains("the pre-trial checklist is not complete")
            })
        });
        assert_ne!(handle.block_on(proxy.pump_state()).unwrap(), "running");
        // The nurse confirms each item on the checklist screen, then starts.
        press(w, "Close the wizard");
        wait_screen(w, "staff");
        press(w, "Pre-trial checklist");
        wait_screen(w, "checklist");
        wait(w, "the checklist shown", |ui| {
            ElementHandle::find_by_accessible_label(ui, "Checklist item")
                .next()
                .is_some()
        });
        let open: Vec<String> = on_ui(w, |ui| {
            ElementHandle::find_by_accessible_label(ui, "Checklist item")
                .filter_map(|e| {
                    e.accessible_value()
                        .and_then(|v| v.strip_prefix("open: ").map(str::to_owned))
                })
                .collect()
        });
        assert_eq!(
            open.len(),
            7,
            "the site's items, all open and all on screen: {open:?}"
        );
        for id in &open {
            press(w, &format!("Confirm {id}"));
            let done = format!("confirmed: {id}");
            wait(w, &format!("{id} confirmed"), move |ui| {
                ElementHandle::find_by_accessible_label(ui, "Checklist item")
                    .any(|e| e.accessible_value().unwrap_or_default() == done.as_str())
            });
        }
        wait_value(
            w,
            "Staff answer",
            "Every item is confirmed: delivery can start.",
        );
        press(w, "Back");
        press(w, "Continue setup");
        wait_step(w, "Start delivery");
        press(w, "Start delivery");
        wait_screen(w, "staff");
        wait_value(w, "Staff answer", "Delivery started.");
        assert_eq!(handle.block_on(proxy.pump_state()).unwrap(), "running");
        let status: serde_json::Value =
            serde_json::from_str(&handle.block_on(proxy.status_json()).unwrap()).unwrap();
        assert_eq!(status["patient"], "MRN-88");
        assert_eq!(status["basal_per_day"], "0.5 mg/day");

        // The patient presses for a dose: given; pressed again: refused, with the countdown.
        press(w, "Log out");
        wait_screen(w, "patient");
        advance(Timestamp::ORIGIN + Duration::from_mins(30));
        wait_value(w, "Next dose", "You can press for a dose now.");
        press(w, "Press for a dose");
        wait_value(w, "Pump answer", "Bolus of 0.05 mg started.");
        advance(Timestamp::ORIGIN + Duration::from_mins(50));
        wait_value(w, "Next dose", "Next dose available in 40min.");
        assert_eq!(
            on_ui(w, |ui| value_of(ui, "Patient question")),
            None,
            "no question before the diary's 4 hours"
        );
        press(w, "Dose not available yet");
        assert_eq!(
            value(w, "Pump answer"),
            "Bolus of 0.05 mg started.",
            "a disabled button asks nothing"
        );

        // A blocked line: the alarm shows; a nurse acknowledges it and pauses the tones.
        handle
            .block_on(proxy.inject_fault("occlusion", true))
            .unwrap();
        advance(Timestamp::ORIGIN + Duration::from_hours(4));
        wait(w, "the occlusion alarm", |ui| {
            value_of(ui, "Alarm").is_some_and(|v| v.starts_with("Line blocked"))
        });
        wait_value(w, "Pump status", "Stopped — your nurse is needed");
        // Four hours after the start the screen asks for the pain score (silently), then the
        // protocol's function question; the answers go to the diary.
        wait_value(w, "Patient question", "How is your pain now?");
        // Pain 7 before the trial, 3 now: a response (at least 50 % less).
        press(w, "Pain 3");
        wait_value(
            w,
            "Patient question",
            "How far could you walk since you last answered?",
        );
        press(w, "On the ward or around the house");
        wait_value(w, "Pump answer", "Thank you — your answer is recorded.");
        wait(w, "the question gone", |ui| {
            value_of(ui, "Patient question").is_none()
        });
        press(w, "Staff");
        pin(w, "1234", "Enter PIN");
        wait_screen(w, "staff");
        press(w, "Silence alarms");
        wait_value(w, "Staff answer", "Alarm tones paused for 2 minutes.");
        wait_value(w, "Audio paused", "2:00");
        advance(Timestamp::ORIGIN + Duration::from_hours(4) + Duration::from_secs(75));
        wait_value(w, "Audio paused", "0:45");
        // The nurse checked the line: acknowledging clears an alarm whose cause is gone (the
        // pump backed off the pressure), and the banner goes.
        press(w, "Acknowledge");
        wait_value(w, "Staff answer", "Alarms acknowledged.");
        wait(w, "the banner gone", |ui| {
            value_of(ui, "Alarm").is_none_or(|v| v.is_empty())
        });
        assert_eq!(screen(w), "staff");
        let acknowledged = handle.block_on(async {
            let s = shared.service.lock().await;
            s.engine()
                .unwrap()
                .journal()
                .iter()
                .any(|r| matches!(r, Record::AlarmAcknowledged { .. }))
        });
        assert!(acknowledged, "the acknowledgement is in the log");

        // The nurse finds the patient frequently drowsy (POSS 3): the sedation interlock stops
        // delivery, the patient's screen refuses doses and says why, the nurse cannot resume,
        // and only the clinician's review lifts the hold.
        handle
            .block_on(proxy.inject_fault("occlusion", false))
            .unwrap();
        press(w, "Resume");
        wait_value(w, "Staff answer", "Delivery resumed.");
        press(w, "Sedation and vitals");
        wait_screen(w, "observation");
        press(w, "3 Frequently drowsy");
        // The temperature is taken with the vital signs; a typo is caught before it is sent.
        press(w, "Temperature");
        keys(w, "372");
        wait(w, "the typo caught", |ui| {
            value_of(ui, "Temperature problem")
                .is_some_and(|v| v.starts_with("A body temperature is between 25 and 45"))
        });
        press(w, "Clear");
        keys(w, "37.2");
        wait(w, "the temperature accepted", |ui| {
            value_of(ui, "Temperature problem").is_none()
        });
        press(w, "Record");
        wait_value(w, "Staff answer", "Recorded.");
        let temperature = handle.block_on(async {
            let s = shared.service.lock().await;
            s.engine().unwrap().journal().iter().find_map(|r| match r {
                Record::Vitals { temperature, .. } => *temperature,
                _ => None,
            })
        });
        assert_eq!(
            temperature.map(|t| t.deci_celsius()),
            Some(372),
            "the temperature is recorded with the vital signs"
        );
        press(w, "Back");
        press(w, "Log out");
        wait_screen(w, "patient");
        wait_value(w, "Next dose", "Your nurse must check on you first.");
        wait_value(w, "Pump status", "Stopped — your nurse is needed");
        assert!(
            value(w, "Alarm").starts_with("Sedation or slow breathing"),
            "{}",
            value(w, "Alarm")
        );
        assert!(
            on_ui(w, |ui| ElementHandle::find_by_accessible_label(
                ui,
                "Press for a dose"
            )
            .next()
            .is_none()),
            "no dose can be asked for"
        );
        // Asked for anyway (a press reaching the daemon), it is refused with the reason.
        let refused = handle
            .block_on(proxy.request_bolus())
            .expect_err("refused during the hold");
        assert!(
            refused
                .to_string()
                .contains("your nurse must check on you first"),
            "{refused}"
        );
        press(w, "Staff");
        pin(w, "1234", "Enter PIN");
        wait_screen(w, "staff");
        press(w, "Resume");
        wait(w, "the resume refused", |ui| {
            value_of(ui, "Staff answer").is_some_and(|v| v.contains("a clinician must review"))
        });
        press(w, "Log out");
        press(w, "Staff");
        pin(w, "2468", "Enter PIN");
        wait_screen(w, "staff");
        press(w, "Sedation review");
        wait_screen(w, "review");
        press(
            w,
            "Patient rousable, breathing normally: resume at the same dose.",
        );
        press(w, "Record the review");
        wait_value(
            w,
            "Staff answer",
            "Review recorded: the hold is lifted. A nurse may resume delivery.",
        );
        press(w, "Back");
        press(w, "Log out");
        press(w, "Staff");
        pin(w, "1234", "Enter PIN");
        wait_screen(w, "staff");
        press(w, "Resume");
        wait_value(w, "Staff answer", "Delivery resumed.");
        assert_eq!(handle.block_on(proxy.pump_state()).unwrap(), "running");
        let reviewed = handle.block_on(async {
            let s = shared.service.lock().await;
            s.engine()
                .unwrap()
                .journal()
                .iter()
                .any(|r| matches!(r, Record::SedationReviewed { note, .. } if note.starts_with("Patient rousable")))
        });
        assert!(reviewed, "the review and its note are in the log");

        // The nurse's site check: the overview says when it is due; a fever with redness raises
        // "possible infection" (delivery goes on).
        wait(w, "the site check line", |ui| {
            value_of(ui, "Site check").is_some_and(|v| v.starts_with("Site check due in "))
        });
        press(w, "Catheter site check");
        wait_screen(w, "site-check");
        keys(w, "38.6");
        press(w, "Redness");
        press(w, "Site clean");
        assert_eq!(
            value(w, "Staff answer"),
            "",
            "with a finding marked, Site clean records nothing"
        );
        press(w, "Record the findings");
        wait_value(
            w,
            "Staff answer",
            "Site check recorded: 38.6 °C; redness. Tell the clinician.",
        );
        wait(w, "possible infection", |ui| {
            value_of(ui, "Alarm")
                .is_some_and(|v| v.starts_with("Possible infection — tell the clinician"))
        });
        assert_eq!(handle.block_on(proxy.pump_state()).unwrap(), "running");
        press(w, "Back");
        wait_value(w, "Site check", "Site check due in 8h");

        // The nurse records the day's systemic opioids besides the trial drug.
        press(w, "Systemic opioids");
        wait_screen(w, "opioids");
        assert!(
            value(w, "Systemic opioids explanation").starts_with(
                "All opioids the patient took in the last 24 hours besides the trial drug"
            ),
            "{}",
            value(w, "Systemic opioids explanation")
        );
        assert!(!enabled(w, "Record the systemic opioids"), "nothing typed");
        keys(w, "60");
        wait_value(w, "Oral morphine equivalents", "60");
        press(w, "Record the systemic opioids");
        wait_value(
            w,
            "Staff answer",
            "Recorded: 60 mg/day oral morphine equivalents.",
        );
        press(w, "Back");

        // The clinician sees the implant worksheet while the trial runs: the dose is confirmed
        // only after the end, so nothing can be confirmed yet.
        press(w, "Log out");
        press(w, "Staff");
        pin(w, "2468", "Enter PIN");
        wait_screen(w, "staff");
        press(w, "Export the summary");
        wait_screen(w, "export");
        // Four hours in: no stable day at one rate yet, so no proposal, and it says why.
        worksheet_has(w, "why there is no proposal", "No proposal: ");
        wait_status(w, "the status line", "The trial has not ended");
        assert!(!enabled(w, "Enter another dose"));
        assert!(
            on_ui(w, |ui| ElementHandle::find_by_accessible_label(
                ui,
                "Export to USB stick"
            )
            .next()
            .is_none()),
            "nothing to export before a dose is confirmed"
        );
        press(w, "Back");
        press(w, "Log out");

        // A day later (24 h at one basal rate, the protocol's stable period) the clinician ends
        // the trial.
        advance(Timestamp::ORIGIN + Duration::from_hours(28));
        press(w, "Staff");
        pin(w, "2468", "Enter PIN");
        wait_screen(w, "staff");
        press(w, "End trial");
        wait_screen(w, "end");
        press(w, "Success");
        press(w, "End the trial now");
        wait_value(
            w,
            "Staff answer",
            "The trial has ended. Disconnect the line from the catheter.",
        );
        press(w, "Back");

        // The worksheet proposes a starting dose by the site's rule. The clinician enters
        // another: without a written reason the daemon refuses, and its words show as they are.
        press(w, "Export the summary");
        wait_screen(w, "export");
        worksheet_has(w, "the rule", "Rule: 50 %");
        worksheet_has(w, "the proposal", "Implant starting dose");
        wait_status(w, "the status line", "Not confirmed yet");
        assert!(enabled(w, "Confirm this starting dose"));
        press(w, "Enter another dose");
        wait_value(w, "Implant starting dose", "");
        keys(w, "0.3");
        press(w, "Confirm the dose entered");
        let (clinician, ..) = handle.block_on(proxy.login("2468")).unwrap();
        let refusal = match handle.block_on(proxy.confirm_implant_dose_with_reason(
            &clinician,
            "0.3 mg/day",
            "",
        )) {
            Err(titra::service::dbus::PumpError::InvalidInput(text)) => text,
            other => panic!("not refused: {other:?}"),
        };
        assert!(
            refusal.starts_with("reason: 0.3 mg/day is not the proposal of"),
            "{refusal}"
        );
        wait_value(w, "Staff answer", &refusal);
        press(w, "Type the reason");
        type_words(w, "renal function reduced");
        wait_value(w, "Dose reason", "Renal function reduced");
        press(w, "Done");
        press(w, "Confirm the dose entered");
        wait(w, "the dose confirmed", |ui| {
            value_of(ui, "Staff answer").is_some_and(|v| {
                v.starts_with("Starting dose 0.3 mg/day (") && v.ends_with(") confirmed.")
            })
        });
        wait_status(
            w,
            "the confirmation on the worksheet",
            "Confirmed by Demo Clinician, because: Renal function reduced.",
        );
        press(w, "Export to USB stick");
        wait(w, "the files saved", |ui| {
            value_of(ui, "Staff answer").is_some_and(|v| v.starts_with("Saved 4 files to"))
        });
        let pdf = exported.join("MRN-88_2000-01-01_summary.pdf");
        assert!(pdf.exists(), "{} written", pdf.display());

        // The clinician records the decision. The daemon's refusal shows as it is.
        press(w, "Back");
        press(w, "Record the decision");
        wait_screen(w, "decision");
        press(w, "Failure");
        press(w, "Pain not reduced enough");
        press(w, "Undecided");
        press(w, "Implanted pump, 20 mL");
        press(w, "Record the decision");
        wait(w, "the refusal", |ui| {
            value_of(ui, "Staff answer")
                .is_some_and(|v| v.starts_with("implant: a failed trial plans no implant"))
        });
        press(w, "Success");
        press(w, "Pain not reduced enough");
        press(w, "Pain reduced by half or more");
        press(w, "Function improved");
        press(w, "Yes");
        press(w, "Record the decision");
        wait_value(w, "Staff answer", "Decision recorded.");
        press(w, "Back");
        press(w, "Log out");

        // After the end the patient screen asks for the impression of change; answered once,
        // the question goes.
        wait_screen(w, "patient");
        wait_value(
            w,
            "Patient question",
            "Since the trial began, how has your condition changed?",
        );
        assert!(
            on_ui(w, |ui| ElementHandle::find_by_accessible_label(
                ui,
                "Next dose"
            )
            .next()
            .is_none()),
            "the dose line gives way to the question"
        );
        press(w, "Much improved");
        wait_value(w, "Pump answer", "Thank you — your answer is recorded.");
        wait(w, "the question gone", |ui| {
            value_of(ui, "Patient question").is_none()
        });

        // A nurse records the catheter's removal; a second time is refused.
        press(w, "Staff");
        pin(w, "1234", "Enter PIN");
        wait_screen(w, "staff");
        press(w, "Catheter removed");
        wait_screen(w, "removal");
        press(w, "Tip intact, site clean");
        wait_value(w, "Removal note", "Tip intact, site clean");
        press(w, "Record the removal");
        wait_value(w, "Staff answer", "Catheter removal recorded.");
        press(w, "Record the removal");
        wait(w, "the second removal refused", |ui| {
            value_of(ui, "Staff answer").is_some_and(|v| v.contains("already recorded"))
        });

        let summary: serde_json::Value =
            serde_json::from_str(&handle.block_on(proxy.export_summary(&clinician)).unwrap())
                .unwrap();
        let a = &summary["assessment"];
        assert_eq!(a["outcome"], "success");
        assert_eq!(a["patient_wish"], "yes");
        assert_eq!(a["planned_implant"], "Implanted pump, 20 mL");
        assert_eq!(a["note"], "Pain reduced by half or more; Function improved");
        assert_eq!(
            summary["catheter_removal"]["note"],
            "Tip intact, site clean"
        );
        assert_eq!(summary["catheter_removal"]["by"], "Demo Nurse");
        let f = &summary["diary"]["function"][0];
        assert_eq!(f["level"], 3);
        assert_eq!(f["answer"], "On the ward or around the house");
        assert_eq!(summary["diary"]["pgic"], 2);
        let c = &summary["catheter"];
        assert_eq!(c["type"], "Intrathecal catheter, closed tip");
        assert_eq!(c["placed_h_before_start"], 0.0);
        assert_eq!(c["site_checks"][0]["temp_c"], 38.6);
        assert_eq!(
            c["site_checks"][0]["findings"],
            serde_json::json!(["redness"])
        );
        // The wizard's opioid status, and the nurse's record of the day's systemic opioids.
        let o = &summary["opioids"];
        assert_eq!(o["status"], "naive");
        assert_eq!(o["recorded"][0]["mg_per_day"], 60.0);
        assert_eq!(o["recorded"][0]["by"], "Demo Nurse");
        assert_eq!(o["per_day_mg"][0], 60.0);
        // The starting dose confirmed with the typed reason.
        let i = &summary["implant"];
        assert_eq!(i["confirmed"], true);
        assert_eq!(i["mg_per_day"], 0.3);
        assert_eq!(i["reason"], "Renal function reduced");

        // The chart of a continuous trial: dose bars and pain, not the response to boluses.
        press(w, "Back");
        wait_screen(w, "staff");
        press(w, "Dose and pain chart");
        wait_screen(w, "chart");
        wait(w, "the dose and pain chart", |ui| {
            value_of(ui, "Chart caption").is_some_and(|v| v.starts_with("Dose per"))
        });
        assert!(
            on_ui(w, |ui| ElementHandle::find_by_accessible_label(
                ui,
                "Bolus response"
            )
            .next()
            .is_none()),
            "no bolus on a continuous trial's chart"
        );
        press(w, "Back");
        wait_screen(w, "staff");
    });
    ui.show().unwrap();
    slint::run_event_loop_until_quit().unwrap();
    if let Err(panic) = driver.join() {
        std::panic::resume_unwind(panic);
    }
}
