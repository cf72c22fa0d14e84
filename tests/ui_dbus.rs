//! The whole UI path: the window (slint's testing backend, with its event loop) and the UI's own
//! D-Bus client code (`ui::adapters::wire` and `ui::client::follow`) against the daemon's
//! interface on simulated hardware over a peer-to-peer link, in virtual time. One daemon goes
//! through a trial, each step a test of its own: a nurse starts a trial with the wizard (refused
//! until the pre-trial checklist is confirmed on its screen), the patient presses for a bolus and
//! is refused during the lockout with the countdown shown, Stop delivery on the login screen
//! stops the pump without a login and a nurse's login restarts it, four hours in the patient
//! screen asks for the pain score and the function question, a nurse acknowledges and silences
//! an alarm, a sedation score of 3 (with a temperature) stops delivery and refuses the patient's
//! doses until a clinician's review, a nurse's site check with a fever raises "possible
//! infection", a nurse records the day's systemic opioids, the clinician sees the implant
//! worksheet (nothing to confirm before the end), changes the patient bolus with a second
//! person's PIN, ends the trial a day later, confirms another
//! starting dose than the proposal (refused until a reason is typed) and exports, the clinician
//! records the decision, the patient gives the impression of change, and a nurse the catheter's
//! removal; the summary has them all, and the chart shows the dose and pain (no response to
//! boluses: the trial is continuous). Staff log in by picking their name and typing their PIN.
//!
//! Its own test binary: the testing backend's event loop can be set up once per process, so one
//! window and one daemon serve every test. The steps run in the order of [`STEPS`], once each,
//! whichever test asks first: a test runs the steps before its own that have not run yet (so
//! that one test can be run alone), and fails with its own step's panic, or names the earlier
//! step that failed. The tests wait for what the screen shows (with a generous deadline), never
//! for a fixed time.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration as StdDuration, Instant};

use i_slint_backend_testing::ElementHandle;
use slint::ComponentHandle;
use titra::core::units::Timestamp;
use titra::service::dbus::{ExportTarget, OBJECT_PATH, Pump1Proxy, PumpIface, Shared, run_until};
use titra::service::pump::PumpService;
use titra::time::ManualClock;
use titra::ui::adapters::wire;
use titra::ui::client::{Daemon, follow};
use titra::ui::{ExportAdapter, MainWindow, Nav};
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

/// Picks `name` on the PIN pad, types `digits` and presses `enter`.
fn pin(weak: &Weak, name: &str, digits: &str, enter: &str) {
    press(weak, name);
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

/// The daemon on simulated hardware in virtual time, the window on its own thread running the
/// event loop, and the client between them.
pub struct Flow {
    weak: Weak,
    runtime: tokio::runtime::Runtime,
    shared: Arc<Shared>,
    server: zbus::Connection,
    clock: ManualClock,
    proxy: Pump1Proxy<'static>,
    /// Where the export writes (a directory standing for the USB stick).
    exported: PathBuf,
    /// The clinician's login made to confirm a dose directly, for the summary.
    clinician: OnceLock<String>,
}

impl Flow {
    fn start() -> Flow {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut service = PumpService::simulated_demo(Timestamp::ORIGIN).unwrap();
        // The nurse confirms the pre-trial checklist on its screen; the demo's own confirmation
        // is off.
        service.confirm_checklist_as_demo(false);
        let clock = ManualClock::default();
        let shared = Shared::new(service, Arc::new(clock.clone()));
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let exported = std::env::temp_dir().join(format!("titra-ui-export-{}", std::process::id()));
        let export_dir = exported.clone();
        let (server, client) = runtime.block_on(async {
            let guid = zbus::Guid::generate();
            let (server, client) = tokio::join!(
                Builder::unix_stream(a)
                    .server(guid)
                    .p2p()
                    .serve_at(
                        OBJECT_PATH,
                        PumpIface::new(shared.clone()).exporting_to(ExportTarget::Dir(export_dir)),
                    )
                    .build(),
                Builder::unix_stream(b).p2p().build(),
            );
            (server.unwrap(), client.unwrap())
        });
        let proxy = runtime.block_on(Pump1Proxy::new(&client)).unwrap();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let (window_tx, window_rx) = mpsc::channel();
        std::thread::spawn(move || {
            i_slint_backend_testing::init_integration_test_with_system_time();
            let ui = MainWindow::new().unwrap();
            wire(&ui, tx);
            window_tx.send(ui.as_weak()).unwrap();
            ui.show().unwrap();
            slint::run_event_loop_until_quit().unwrap();
        });
        let weak = window_rx.recv_timeout(DEADLINE).expect("the window opens");
        runtime.spawn(follow(Daemon::Connection(client), weak.clone(), rx));
        Flow {
            weak,
            runtime,
            shared,
            server,
            clock,
            proxy,
            exported,
            clinician: OnceLock::new(),
        }
    }

    fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// Runs the pump up to `to` in virtual time, the ward recording each sedation and breathing
    /// check as it falls due (POSS 1, 16/min, by Demo Nurse 2 through the service: the library
    /// checks intrathecal morphine hourly by default, and the flow is about the screens).
    fn advance(&self, to: Timestamp) {
        use titra::time::Clock as _;
        self.block_on(async {
            loop {
                let now = self.clock.now();
                run_until(&self.shared, &self.server, &self.clock, now)
                    .await
                    .unwrap();
                let mut s = self.shared.service.lock().await;
                let due = s
                    .engine()
                    .filter(|e| e.state() != titra::core::supervisor::State::Ended)
                    .and_then(titra::engine::Engine::check_due);
                match due {
                    Some(due) if due <= to => {
                        if due > now {
                            drop(s);
                            run_until(&self.shared, &self.server, &self.clock, due)
                                .await
                                .unwrap();
                            s = self.shared.service.lock().await;
                        }
                        let now = self.clock.now();
                        let (token, ..) = s
                            .login("nurse2", "567890", titra::service::auth::Peer::Local, now)
                            .unwrap();
                        s.record_sedation(&token, 1, now).unwrap();
                        let vitals = titra::service::pump::Vitals {
                            respiratory_rate: Some(16),
                            heart_rate: 0,
                            spo2: 0,
                            temperature_c: 0.0,
                        };
                        s.record_vitals(&token, vitals, now).unwrap();
                    }
                    _ => {
                        drop(s);
                        return run_until(&self.shared, &self.server, &self.clock, to)
                            .await
                            .unwrap();
                    }
                }
            }
        });
    }
}

/// The flow and what each step came to (None: not run yet).
struct Run {
    flow: Flow,
    results: Vec<Option<Result<(), String>>>,
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Runs the steps up to `name` that have not run yet, in order, and fails as `name`'s step did.
fn run_step(name: &str) {
    static RUN: Mutex<Option<Run>> = Mutex::new(None);
    let index = STEPS
        .iter()
        .position(|(n, _)| *n == name)
        .expect("a step of STEPS");
    let result = {
        let mut guard = RUN.lock().unwrap_or_else(PoisonError::into_inner);
        let run = guard.get_or_insert_with(|| Run {
            flow: Flow::start(),
            results: vec![None; STEPS.len()],
        });
        for (i, (_, step)) in STEPS.iter().enumerate().take(index + 1) {
            if run.results[i].is_some() {
                continue;
            }
            let failed = run.results[..i]
                .iter()
                .position(|r| matches!(r, Some(Err(_))));
            run.results[i] = Some(match failed {
                Some(earlier) => Err(format!("not run: {} failed", STEPS[earlier].0)),
                None => catch_unwind(AssertUnwindSafe(|| step(&run.flow)))
                    .map_err(|panic| panic_message(panic.as_ref())),
            });
        }
        run.results[index].clone()
    };
    if let Some(Err(message)) = result {
        panic!("{message}");
    }
}

/// The steps in the order the trial goes through them, each run by the test of its name.
macro_rules! steps {
    ($($step:ident),* $(,)?) => {
        const STEPS: &[(&str, fn(&Flow))] = &[$((stringify!($step), steps::$step)),*];
    };
}

steps!(
    a_nurse_starts_a_trial_with_the_wizard,
    the_patient_presses_for_a_dose_and_waits_for_the_next,
    anyone_stops_delivery_and_a_nurse_restarts_it,
    a_blocked_line_alarms_and_the_diary_asks_its_questions,
    a_nurse_pauses_the_tones_and_acknowledges_the_alarm,
    a_sedation_score_holds_delivery_until_a_clinicians_review,
    a_site_check_with_a_fever_raises_possible_infection,
    a_nurse_records_the_systemic_opioids,
    the_worksheet_has_nothing_to_confirm_before_the_end,
    the_clinician_changes_the_patient_bolus_with_a_second_person,
    the_clinician_ends_the_trial,
    another_starting_dose_needs_a_written_reason_then_exports,
    the_clinician_records_the_decision,
    the_patient_gives_the_impression_of_change,
    a_nurse_records_the_catheter_removal_once,
    the_summary_has_every_record,
    the_chart_shows_dose_and_pain,
    a_pump_that_stops_answering_is_not_running_on_every_screen,
);

/// A nurse starts a trial with the wizard (refused until the pre-trial checklist is confirmed
/// on its screen); every answer comes from the daemon.
#[test]
fn a_nurse_starts_a_trial_with_the_wizard() {
    run_step("a_nurse_starts_a_trial_with_the_wizard");
}

/// The patient presses for a dose, and is refused during the lockout with the countdown shown.
#[test]
fn the_patient_presses_for_a_dose_and_waits_for_the_next() {
    run_step("the_patient_presses_for_a_dose_and_waits_for_the_next");
}

/// Stop delivery on the login screen stops the pump without a login (the daemon's
/// `StopDelivery`); a nurse's login restarts it.
#[test]
fn anyone_stops_delivery_and_a_nurse_restarts_it() {
    run_step("anyone_stops_delivery_and_a_nurse_restarts_it");
}

/// Four hours in, a blocked line: the alarm shows, and the patient screen asks for the pain
/// score and the function question.
#[test]
fn a_blocked_line_alarms_and_the_diary_asks_its_questions() {
    run_step("a_blocked_line_alarms_and_the_diary_asks_its_questions");
}

/// A nurse pauses the alarm tones (their countdown shown) and acknowledges the alarm.
#[test]
fn a_nurse_pauses_the_tones_and_acknowledges_the_alarm() {
    run_step("a_nurse_pauses_the_tones_and_acknowledges_the_alarm");
}

/// A sedation score of 3 (with a temperature) stops delivery and refuses the patient's doses
/// until a clinician's review.
#[test]
fn a_sedation_score_holds_delivery_until_a_clinicians_review() {
    run_step("a_sedation_score_holds_delivery_until_a_clinicians_review");
}

/// A nurse's site check with a fever raises "possible infection".
#[test]
fn a_site_check_with_a_fever_raises_possible_infection() {
    run_step("a_site_check_with_a_fever_raises_possible_infection");
}

/// A nurse records the day's systemic opioids besides the trial drug.
#[test]
fn a_nurse_records_the_systemic_opioids() {
    run_step("a_nurse_records_the_systemic_opioids");
}

/// The clinician sees the implant worksheet while the trial runs: nothing to confirm yet.
#[test]
fn the_worksheet_has_nothing_to_confirm_before_the_end() {
    run_step("the_worksheet_has_nothing_to_confirm_before_the_end");
}

/// A day later the clinician ends the trial.
#[test]
fn the_clinician_changes_the_patient_bolus_with_a_second_person() {
    run_step("the_clinician_changes_the_patient_bolus_with_a_second_person");
}

#[test]
fn the_clinician_ends_the_trial() {
    run_step("the_clinician_ends_the_trial");
}

/// The clinician confirms another starting dose than the proposal (refused until a reason is
/// typed) and exports.
#[test]
fn another_starting_dose_needs_a_written_reason_then_exports() {
    run_step("another_starting_dose_needs_a_written_reason_then_exports");
}

/// The clinician records the decision (refused first: the daemon's words show as they are).
#[test]
fn the_clinician_records_the_decision() {
    run_step("the_clinician_records_the_decision");
}

/// After the end the patient screen asks for the impression of change.
#[test]
fn the_patient_gives_the_impression_of_change() {
    run_step("the_patient_gives_the_impression_of_change");
}

/// A nurse records the catheter's removal; a second time is refused.
#[test]
fn a_nurse_records_the_catheter_removal_once() {
    run_step("a_nurse_records_the_catheter_removal_once");
}

/// The summary has what every screen recorded.
#[test]
fn the_summary_has_every_record() {
    run_step("the_summary_has_every_record");
}

/// The chart of a continuous trial shows the dose and pain, not the response to boluses.
#[test]
fn a_pump_that_stops_answering_is_not_running_on_every_screen() {
    run_step("a_pump_that_stops_answering_is_not_running_on_every_screen");
}

#[test]
fn the_chart_shows_dose_and_pain() {
    run_step("the_chart_shows_dose_and_pain");
}

mod steps {
    //! Each step of the trial, on the one window and daemon.

    use super::*;
    use titra::core::units::Duration;
    use titra::journal::Record;
    use titra::ui::WizardAdapter;
    use titra::ui::present::login::STOPPED;

    pub fn a_nurse_starts_a_trial_with_the_wizard(f: &Flow) {
        let w = &f.weak;
        wait_value(w, "Pump status", "No treatment programmed");
        // A nurse starts a trial with the wizard; every answer comes from the daemon.
        press(w, "Staff");
        pin(w, "Demo Nurse", "123456", "Enter PIN");
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
        wait_step(w, "Second person: pick your name and enter your PIN");
        pin(w, "Demo Nurse 2", "567890", "Verify");
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
        assert_ne!(f.block_on(f.proxy.pump_state()).unwrap(), "running");
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
        assert_eq!(f.block_on(f.proxy.pump_state()).unwrap(), "running");
        let status: serde_json::Value =
            serde_json::from_str(&f.block_on(f.proxy.status_json()).unwrap()).unwrap();
        assert_eq!(status["patient"], "MRN-88");
        assert_eq!(status["basal_per_day"], "0.5 mg/day");
    }

    pub fn the_patient_presses_for_a_dose_and_waits_for_the_next(f: &Flow) {
        let w = &f.weak;
        // The patient presses for a dose: given; pressed again: refused, with the countdown.
        press(w, "Log out");
        wait_screen(w, "patient");
        f.advance(Timestamp::ORIGIN + Duration::from_mins(30));
        wait_value(w, "Next dose", "You can press for a dose now.");
        press(w, "Press for a dose");
        wait_value(w, "Pump answer", "Bolus of 0.05 mg started.");
        f.advance(Timestamp::ORIGIN + Duration::from_mins(50));
        wait_value(w, "Next dose", "Next dose available in 40 min.");
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
    }

    pub fn anyone_stops_delivery_and_a_nurse_restarts_it(f: &Flow) {
        let w = &f.weak;
        // Stop delivery, beside the staff's login, needs no login: the pump stops and the
        // screen says so. Restarting needs a nurse's login.
        press(w, "Staff");
        wait_screen(w, "pin");
        press(w, "Stop delivery");
        wait_value(w, "PIN answer", STOPPED);
        assert_eq!(f.block_on(f.proxy.pump_state()).unwrap(), "paused");
        pin(w, "Demo Nurse", "123456", "Enter PIN");
        wait_screen(w, "staff");
        press(w, "Resume");
        wait_value(w, "Staff answer", "Delivery resumed.");
        assert_eq!(f.block_on(f.proxy.pump_state()).unwrap(), "running");
        press(w, "Log out");
        wait_screen(w, "patient");
    }

    pub fn a_blocked_line_alarms_and_the_diary_asks_its_questions(f: &Flow) {
        let w = &f.weak;
        // A blocked line: the alarm shows; a nurse acknowledges it and pauses the tones.
        f.block_on(f.proxy.inject_fault("occlusion", true)).unwrap();
        f.advance(Timestamp::ORIGIN + Duration::from_hours(4));
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
    }

    pub fn a_nurse_pauses_the_tones_and_acknowledges_the_alarm(f: &Flow) {
        let w = &f.weak;
        press(w, "Staff");
        pin(w, "Demo Nurse", "123456", "Enter PIN");
        wait_screen(w, "staff");
        press(w, "Silence alarms");
        wait_value(w, "Staff answer", "Alarm tones paused for 2 minutes.");
        wait_value(w, "Audio paused", "2:00");
        f.advance(Timestamp::ORIGIN + Duration::from_hours(4) + Duration::from_secs(75));
        wait_value(w, "Audio paused", "0:45");
        // The nurse checked the line: acknowledging clears an alarm whose cause is gone (the
        // pump backed off the pressure), and the banner goes.
        press(w, "Acknowledge");
        wait_value(w, "Staff answer", "Alarms acknowledged.");
        wait(w, "the banner gone", |ui| {
            value_of(ui, "Alarm").is_none_or(|v| v.is_empty())
        });
        assert_eq!(screen(w), "staff");
        let acknowledged = f.block_on(async {
            let s = f.shared.service.lock().await;
            s.engine()
                .unwrap()
                .journal()
                .iter()
                .any(|r| matches!(r, Record::AlarmAcknowledged { .. }))
        });
        assert!(acknowledged, "the acknowledgement is in the log");
    }

    pub fn a_sedation_score_holds_delivery_until_a_clinicians_review(f: &Flow) {
        let w = &f.weak;
        // The nurse finds the patient frequently drowsy (POSS 3): the sedation interlock stops
        // delivery, the patient's screen refuses doses and says why, the nurse cannot resume,
        // and only the clinician's review lifts the hold.
        f.block_on(f.proxy.inject_fault("occlusion", false))
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
        let temperature = f.block_on(async {
            let s = f.shared.service.lock().await;
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
        let refused = f
            .block_on(f.proxy.request_bolus())
            .expect_err("refused during the hold");
        assert!(
            refused
                .to_string()
                .contains("your nurse must check on you first"),
            "{refused}"
        );
        press(w, "Staff");
        pin(w, "Demo Nurse", "123456", "Enter PIN");
        wait_screen(w, "staff");
        press(w, "Resume");
        wait(w, "the resume refused", |ui| {
            value_of(ui, "Staff answer").is_some_and(|v| v.contains("a clinician must review"))
        });
        press(w, "Log out");
        press(w, "Staff");
        pin(w, "Demo Clinician", "246810", "Enter PIN");
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
        pin(w, "Demo Nurse", "123456", "Enter PIN");
        wait_screen(w, "staff");
        press(w, "Resume");
        wait_value(w, "Staff answer", "Delivery resumed.");
        assert_eq!(f.block_on(f.proxy.pump_state()).unwrap(), "running");
        let reviewed = f.block_on(async {
            let s = f.shared.service.lock().await;
            s.engine()
                .unwrap()
                .journal()
                .iter()
                .any(|r| matches!(r, Record::SedationReviewed { note, .. } if note.starts_with("Patient rousable")))
        });
        assert!(reviewed, "the review and its note are in the log");
    }

    pub fn a_site_check_with_a_fever_raises_possible_infection(f: &Flow) {
        let w = &f.weak;
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
        assert_eq!(f.block_on(f.proxy.pump_state()).unwrap(), "running");
        press(w, "Back");
        wait_value(w, "Site check", "Site check due in 8 h");
    }

    pub fn a_nurse_records_the_systemic_opioids(f: &Flow) {
        let w = &f.weak;
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
    }

    pub fn the_worksheet_has_nothing_to_confirm_before_the_end(f: &Flow) {
        let w = &f.weak;
        // The clinician sees the implant worksheet while the trial runs: the dose is confirmed
        // only after the end, so nothing can be confirmed yet.
        press(w, "Log out");
        press(w, "Staff");
        pin(w, "Demo Clinician", "246810", "Enter PIN");
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
    }

    pub fn the_clinician_changes_the_patient_bolus_with_a_second_person(f: &Flow) {
        let w = &f.weak;
        // The clinician titrates the patient bolus: typed, checked (old beside new), then
        // confirmed by a second person's PIN; the daemon says what changed.
        press(w, "Staff");
        pin(w, "Demo Clinician", "246810", "Enter PIN");
        wait_screen(w, "staff");
        press(w, "Change the patient bolus");
        wait_screen(w, "patient-bolus");
        assert!(!enabled(w, "Confirm the patient bolus"), "not checked yet");
        keys(w, "0.1");
        press(w, "Lockout");
        keys(w, "30");
        press(w, "Most per hour");
        keys(w, "2");
        press(w, "Check");
        wait_value(
            w,
            "New patient bolus",
            "Patient bolus: 0.1 mg, lockout 30min, at most 2 an hour",
        );
        assert!(
            value(w, "Old patient bolus").starts_with("Patient bolus: "),
            "{}",
            value(w, "Old patient bolus")
        );
        press(w, "Confirm the patient bolus");
        pin(w, "Demo Nurse", "123456", "Confirm");
        wait(w, "the change made", |ui| {
            value_of(ui, "Staff answer").is_some_and(|v| {
                v.starts_with("Changed: Patient bolus from ")
                    && v.ends_with(" to 0.1 mg, lockout 30min, at most 2 an hour.")
            })
        });
        press(w, "Back");
        press(w, "Log out");
    }

    pub fn the_clinician_ends_the_trial(f: &Flow) {
        let w = &f.weak;
        // A day later (24 h at one basal rate, the protocol's stable period) the clinician ends
        // the trial.
        f.advance(Timestamp::ORIGIN + Duration::from_hours(28));
        press(w, "Staff");
        pin(w, "Demo Clinician", "246810", "Enter PIN");
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
    }

    pub fn another_starting_dose_needs_a_written_reason_then_exports(f: &Flow) {
        let w = &f.weak;
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
        let (clinician, ..) = f.block_on(f.proxy.login("clinician", "246810")).unwrap();
        f.clinician
            .set(clinician.clone())
            .expect("one clinician's login");
        let refusal = match f.block_on(f.proxy.confirm_implant_dose_with_reason(
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
        // In a new folder of its own, named by patient, first day and the time of the export.
        let folders: Vec<_> = std::fs::read_dir(&f.exported)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("MRN-88_2000-01-01_export_"))
            })
            .collect();
        assert_eq!(folders.len(), 1, "{folders:?}");
        let pdf = folders[0].join("MRN-88_2000-01-01_summary.pdf");
        assert!(pdf.exists(), "{} written", pdf.display());
    }

    pub fn the_clinician_records_the_decision(f: &Flow) {
        let w = &f.weak;
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
    }

    pub fn the_patient_gives_the_impression_of_change(f: &Flow) {
        let w = &f.weak;
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
    }

    pub fn a_nurse_records_the_catheter_removal_once(f: &Flow) {
        let w = &f.weak;
        // A nurse records the catheter's removal; a second time is refused.
        press(w, "Staff");
        pin(w, "Demo Nurse", "123456", "Enter PIN");
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
        // Back on the staff screen its button has gone: the removal is recorded once.
        press(w, "Back");
        wait_screen(w, "staff");
        wait(w, "the removal's button gone", |ui| {
            ElementHandle::find_by_accessible_label(ui, "Catheter removed")
                .next()
                .is_none()
        });
    }

    pub fn the_summary_has_every_record(f: &Flow) {
        let clinician = f.clinician.get().expect("the clinician logged in");
        let summary: serde_json::Value =
            serde_json::from_str(&f.block_on(f.proxy.export_summary(clinician)).unwrap()).unwrap();
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
    }

    pub fn the_chart_shows_dose_and_pain(f: &Flow) {
        let w = &f.weak;
        // The chart of a continuous trial: dose bars and pain, not the response to boluses
        // (from the staff screen, where the removal's step left the nurse).
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
    }

    /// The daemon goes away (its connection closed, as when the process dies). After a few
    /// seconds, longer than a restart takes, every screen says the pump is not running.
    pub fn a_pump_that_stops_answering_is_not_running_on_every_screen(f: &Flow) {
        let w = &f.weak;
        let gone = |ui: &MainWindow| {
            ElementHandle::find_by_accessible_label(
                ui,
                "Pump stopped — not running. Call a technician.",
            )
            .next()
            .is_some()
        };
        assert!(!on_ui(w, gone), "shown while the pump answers");
        f.block_on(f.server.clone().close()).unwrap();
        let lost = Instant::now();
        wait(w, "the pump shown as not running", gone);
        assert!(
            lost.elapsed() >= titra::ui::client::GONE_AFTER,
            "shown before the wait was over"
        );
    }
}
