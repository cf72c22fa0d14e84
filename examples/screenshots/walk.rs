//! Every screen of the touchscreen UI, walked through in the states people see: the screenshots
//! (`cargo run --example screenshots`, examples/screenshots/main.rs) take a picture at each
//! stop, and the fit test (tests/ui_fit.rs) checks there that every text fits its box.

use std::cell::RefCell;
use std::path::PathBuf;

use i_slint_backend_testing::{ElementHandle, ElementRoot};
use slint::ComponentHandle;
use std::sync::{Arc, Mutex};
use titra::core::tr;
use titra::core::units::{Duration, Timestamp};
use titra::service::wire::{AlarmStatus, Status};

use titra::input::check;
use titra::input::hardware::HardwareConfig;
use titra::service::auth::{Auth, AuthError, Peer, UserRole};
use titra::service::pump::PumpService;
use titra::ui::adapters::app::{log_in, show_message, show_pin_answer, show_staff, wire_checks};
use titra::ui::adapters::apply_status;
use titra::ui::adapters::chart::{show_chart, show_course_chart};
use titra::ui::adapters::checklist::show_checklist;
use titra::ui::adapters::delivery::show_basal_check;
use titra::ui::adapters::export::show_export;
use titra::ui::adapters::patient::show_diary_question;
use titra::ui::adapters::wizard::{answer_directly, wire_wizard, wizard_reply};
use titra::ui::present::chart::{chart, course_chart};
use titra::ui::present::delivery::basal_check;
use titra::ui::present::login::stopped;
use titra::ui::present::wizard::Wizard;
use titra::ui::{MainWindow, Nav, PatientAdapter, PatientPrompt, StaffAdapter, WizardAdapter};

/// A duration in words, as the pump writes it.
fn words(d: Duration) -> String {
    titra::core::readable::duration(d, titra::core::readable::Round::Nearest)
}

fn running(next_bolus_in_s: i64) -> Status {
    let mut s = Status::empty(Timestamp::from_ms(3_600_000));
    s.state = titra::core::supervisor::State::Running;
    s.simulated = true;
    s.patient = "MRN-00042".to_owned();
    s.drug = "morphine".to_owned();
    s.concentration = "1 mg/mL".to_owned();
    s.basal_per_day = "0.5 mg/day".to_owned();
    s.basal_per_hour = "0.0208 mg/h".to_owned();
    s.basal_ml_per_hour = "0.0208 mL/h".to_owned();
    s.dose_unit = Some(titra::core::units::MassUnit::Mg);
    // Worded as the pump words them, in the language in use.
    s.patient_bolus = tr!(
        "{dose} every {lockout} at most, {count} per hour at most",
        dose = "0.05 mg",
        lockout = words(Duration::from_hours(1)),
        count = 1
    );
    s.delivered_today = "0.12 mg".to_owned();
    s.delivered_total = "0.12 mg".to_owned();
    s.reservoir_remaining = "19.68 mL".to_owned();
    s.time_to_empty = words(Duration::from_hours(38 * 24));
    s.next_bolus_in_s = next_bolus_in_s;
    s.next_bolus = if next_bolus_in_s == 0 {
        tr!("now").to_owned()
    } else {
        tr!("in {time}", time = words(Duration::from_mins(40)))
    };
    s.outcome_measure = Some(titra::core::diary::OutcomeMeasure::Pain);
    s.site_check_due = tr!("in {time}", time = words(Duration::from_mins(200)));
    s.site_check_due_in_s = Some(12_000);
    s
}

/// `label` (as the English screens write it) in the language in use: its translation, or with
/// its last word as the value of a `{}` ("Digit 3" → "Ziffer 3").
fn spoken(label: &str) -> String {
    let language = titra::core::lang::current();
    if let Some(text) = language.lookup(label) {
        return text.to_owned();
    }
    if let Some((head, last)) = label.rsplit_once(' ') {
        if let Some(text) = language.lookup(&format!("{head} {{}}")) {
            return text.replacen("{}", last, 1);
        }
    }
    label.to_owned()
}

/// Presses what a screen reader calls `label` (the first such element; an English label is
/// looked up in the language in use); a label no longer on the screen is an error, so that a
/// screenshot cannot silently show the wrong thing.
fn press(ui: &MainWindow, label: &str) -> Result<(), String> {
    let label = spoken(label);
    let label = label.as_str();
    let e = ElementHandle::find_by_accessible_label(ui, label)
        .next()
        .ok_or_else(|| format!("nothing on the screen is labelled \"{label}\""))?;
    e.invoke_accessible_default_action();
    Ok(())
}

/// What is done at each stop of the walk: a picture saved into `dir`, and with `check_fit` the
/// texts that do not fit their boxes noted in `misfits`.
pub struct Camera {
    pub dir: Option<PathBuf>,
    pub check_fit: bool,
    pub misfits: RefCell<Vec<String>>,
    /// The stops made, by name.
    pub stops: RefCell<Vec<String>>,
    /// Where the fit check puts a picture of each stop where a text did not fit.
    pub misfit_dir: Option<PathBuf>,
    /// A picture of every stop into `misfit_dir`, fitting or not (to review the layout).
    pub every_picture: bool,
}

impl Camera {
    /// A camera that takes no pictures and checks that every text fits; pictures of the
    /// screens where one does not go to `misfit_dir`.
    pub fn fit_check(misfit_dir: PathBuf, every_picture: bool) -> Camera {
        Camera {
            dir: None,
            check_fit: true,
            misfits: RefCell::default(),
            stops: RefCell::default(),
            misfit_dir: Some(misfit_dir),
            every_picture,
        }
    }
}

fn save(ui: &MainWindow, cam: &Camera, name: &str) -> Result<(), Box<dyn std::error::Error>> {
    cam.stops.borrow_mut().push(name.to_owned());
    let misfits_before = cam.misfits.borrow().len();
    if cam.check_fit {
        // Drawn first: a layout is complete only once the window has been rendered.
        ui.window().take_snapshot()?;
        let window = ui.window().size().to_logical(ui.window().scale_factor());
        // What scrolls is read by scrolling: its texts need only fit their boxes, and the
        // scrolling area itself the window.
        let key = |e: &ElementHandle| {
            let (at, size) = (e.absolute_position(), e.size());
            let label = e.accessible_label().unwrap_or_default();
            format!("{} {} {} {} {label}", at.x, at.y, size.width, size.height)
        };
        let flickables = ui
            .root_element()
            .query_descendants()
            .match_inherits("Flickable")
            .find_all();
        let scrolled: std::collections::HashSet<String> = flickables
            .iter()
            .flat_map(|f| f.query_descendants().match_inherits("Text").find_all())
            .map(|e| key(&e))
            .collect();
        // A scrolling area scrolls down, never sideways: its texts within its width.
        for f in &flickables {
            let (fx, fw) = (f.absolute_position().x, f.size().width);
            for t in f.query_descendants().match_inherits("Text").find_all() {
                let (at, size) = (t.absolute_position(), t.size());
                if size.width > 0.0 && (at.x < fx - 0.5 || at.x + size.width > fx + fw + 0.5) {
                    cam.misfits.borrow_mut().push(format!(
                        "{name}: \"{}\" runs out of the width of its scrolling area: {}×{} px at x {} in {} px at x {fx}",
                        t.accessible_value().or_else(|| t.accessible_label()).unwrap_or_default(),
                        size.width,
                        size.height,
                        at.x,
                        fw
                    ));
                }
            }
        }
        let texts = ui
            .root_element()
            .query_descendants()
            .match_inherits("Text")
            .find_all()
            .into_iter()
            .filter(|e| !scrolled.contains(&key(e)));
        // A button's words inside the button.
        for button in ui
            .root_element()
            .query_descendants()
            .match_accessible_role(i_slint_backend_testing::AccessibleRole::Button)
            .find_all()
        {
            let (b, bs) = (button.absolute_position(), button.size());
            for t in button.query_descendants().match_inherits("Text").find_all() {
                let (at, size) = (t.absolute_position(), t.size());
                let inside = at.x >= b.x - 0.5
                    && at.y >= b.y - 0.5
                    && at.x + size.width <= b.x + bs.width + 0.5
                    && at.y + size.height <= b.y + bs.height + 0.5;
                if !inside && size.width > 0.0 && size.height > 0.0 && bs.width > 0.0 {
                    cam.misfits.borrow_mut().push(format!(
                        "{name}: \"{}\" runs out of its button: {}×{} px in {}×{}",
                        t.accessible_label().unwrap_or_default(),
                        size.width,
                        size.height,
                        bs.width,
                        bs.height
                    ));
                }
            }
        }
        for e in flickables.into_iter().chain(texts) {
            let (at, size) = (e.absolute_position(), e.size());
            let outside = at.x < -0.5
                || at.y < -0.5
                || at.x + size.width > window.width + 0.5
                || at.y + size.height > window.height + 0.5;
            if outside && size.width > 0.0 && size.height > 0.0 {
                cam.misfits.borrow_mut().push(format!(
                    "{name}: \"{}\" is outside the window: {}×{} px at ({}, {})",
                    e.accessible_label().unwrap_or_default(),
                    size.width,
                    size.height,
                    at.x,
                    at.y
                ));
            }
        }
        for e in ui
            .root_element()
            .query_descendants()
            .match_predicate(|e| {
                e.accessible_description()
                    .is_some_and(|d| d.starts_with("does not fit"))
            })
            .find_all()
        {
            cam.misfits.borrow_mut().push(format!(
                "{name}: \"{}\" {}",
                e.accessible_label().unwrap_or_default(),
                e.accessible_description().unwrap_or_default()
            ));
        }
    }
    let dir = match (&cam.dir, &cam.misfit_dir) {
        (Some(dir), _) => dir,
        (None, Some(dir)) if cam.every_picture || cam.misfits.borrow().len() > misfits_before => {
            dir
        }
        _ => return Ok(()),
    };
    // English pictures in `dir`, the others' in a folder of their language's code.
    let dir = match titra::core::lang::current() {
        titra::core::lang::Language::English => dir.clone(),
        other => dir.join(other.code()),
    };
    std::fs::create_dir_all(&dir)?;
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

/// The start-trial wizard against a real pump service on simulated hardware, a few steps.
fn wizard_screens(
    ui: &MainWindow,
    cam: &Camera,
    size: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let now = Timestamp::ORIGIN;
    let mut service = PumpService::simulated_demo(now)?;
    let (token, _) = service.login("nurse", "123456", Peer::Local, now)?;
    show_staff(ui, &service.staff());
    let service = std::rc::Rc::new(std::cell::RefCell::new(service));
    let wizard = Arc::new(Mutex::new(Wizard::new()));
    {
        let weak = ui.as_weak();
        let shared = wizard.clone();
        let service = service.clone();
        wire_wizard(ui, wizard, move |request| {
            let reply = answer_directly(&mut service.borrow_mut(), &token, now, &request);
            if let Some(ui) = weak.upgrade() {
                wizard_reply(&ui, &shared, reply, &|_| {});
            }
        });
    }
    apply_status(ui, &service.borrow().status(now), true);
    log_in(ui, "Demo Nurse", UserRole::Nurse);
    ui.global::<StaffAdapter>().invoke_open_wizard();
    let w = ui.global::<WizardAdapter>();
    for k in ["M", "R", "N", "-", "4", "2"] {
        w.invoke_key(k.into());
    }
    save(ui, cam, &format!("wizard-patient-{size}"))?;
    w.invoke_next();
    w.invoke_choose("route".into(), "intrathecal".into());
    w.invoke_next();
    w.invoke_choose("baseline".into(), "8".into());
    save(ui, cam, &format!("wizard-trial-{size}"))?;
    // An opioid-tolerant patient: the oral morphine equivalents before the trial, on the keypad.
    w.invoke_choose("opioids".into(), "tolerant".into());
    for k in ["1", "2", "0"] {
        w.invoke_key(k.into());
    }
    // The event loop's next passes: the step scrolls the new field into view.
    for _ in 0..2 {
        i_slint_backend_testing::mock_elapsed_time(std::time::Duration::from_millis(20));
    }
    save(ui, cam, &format!("wizard-trial-opioids-{size}"))?;
    w.invoke_choose("opioids".into(), "naive".into());
    w.invoke_next();
    w.invoke_choose("catheter".into(), "closed".into());
    w.invoke_choose("placed".into(), "2h".into());
    save(ui, cam, &format!("wizard-catheter-{size}"))?;
    w.invoke_next();
    save(ui, cam, &format!("wizard-drug-{size}"))?;
    w.invoke_choose("drug".into(), "morphine".into());
    w.invoke_next();
    w.invoke_choose("concentration".into(), "1 mg/mL".into());
    save(ui, cam, &format!("wizard-concentration-{size}"))?;
    w.invoke_next();
    w.invoke_select_field("basal".into());
    for k in ["2", "5"] {
        w.invoke_key(k.into());
    }
    save(ui, cam, &format!("wizard-program-hard-{size}"))?;
    w.invoke_key("back".into());
    w.invoke_key("back".into());
    for k in ["0", ".", "5"] {
        w.invoke_key(k.into());
    }
    w.invoke_select_field("pca_dose".into());
    for k in ["0", ".", "0", "5"] {
        w.invoke_key(k.into());
    }
    save(ui, cam, &format!("wizard-program-{size}"))?;
    w.invoke_next();
    save(ui, cam, &format!("wizard-review-{size}"))?;
    w.invoke_next();
    // The second person picks their name and types their PIN.
    press(ui, "Demo Nurse 2")?;
    for d in ["5", "6", "7", "8"] {
        press(ui, &format!("Digit {d}"))?;
    }
    save(ui, cam, &format!("wizard-verify-{size}"))?;
    // The tightest case: a wrong PIN refused, under an alarm banner.
    for d in ["0", "0"] {
        press(ui, &format!("Digit {d}"))?;
    }
    press(ui, "Verify")?;
    apply_status(ui, &alarmed(), true);
    save(ui, cam, &format!("wizard-verify-refused-{size}"))?;
    apply_status(ui, &service.borrow().status(now), true);
    w.invoke_verify("nurse2".into(), "567890".into());
    save(ui, cam, &format!("wizard-load-{size}"))?;
    w.invoke_cancel();
    Ok(())
}

/// The running pump of [`running`] stopped by a blocked line.
fn alarmed() -> Status {
    let mut alarm = running(-1);
    alarm.state = titra::core::supervisor::State::Alarm;
    alarm.alarms.push(AlarmStatus {
        kind: titra::core::supervisor::AlarmKind::Occlusion,
        priority: titra::core::supervisor::Priority::High,
        message: titra::core::supervisor::AlarmKind::Occlusion
            .message()
            .to_owned(),
        since_ms: 0,
        silenced_until_ms: -1,
    });
    alarm
}

/// The trial ended, the patient not yet asked for the impression of change.
fn ended_asking() -> Status {
    let mut after_end = running(-1);
    after_end.state = titra::core::supervisor::State::Ended;
    after_end.pgic_prompt = true;
    after_end.site_check_due = String::new();
    after_end.site_check_due_in_s = None;
    after_end
}

type Shots = Result<(), Box<dyn std::error::Error>>;

/// The patient screen: a dose allowed, the lockout, an alarm, a side effect, the diary's
/// questions.
fn patient_screens(ui: &MainWindow, cam: &Camera, size: &str) -> Shots {
    apply_status(ui, &running(0), true);
    save(ui, cam, &format!("patient-{size}"))?;

    // The desktop demonstration: its time runs 60 times faster, and every screen says so.
    let mut demo = running(0);
    demo.time_speed = 60;
    apply_status(ui, &demo, true);
    save(ui, cam, &format!("patient-demo-{size}"))?;

    apply_status(ui, &running(40 * 60), true);
    show_message(
        ui,
        &tr!(
            "{why} Next dose available in {time}.",
            why = tr!(
                "Too soon: at least {lockout} must pass between boluses.",
                lockout = words(Duration::from_hours(1))
            ),
            time = words(Duration::from_mins(40))
        ),
    );
    save(ui, cam, &format!("patient-lockout-{size}"))?;

    // The patient's own dose under way, with its progress.
    let mut giving = running(-1);
    giving.bolus_under_way = Some(titra::service::wire::BolusUnderWay {
        patient: true,
        dose: "50 mcg".to_owned(),
        given: "20 mcg".to_owned(),
        percent: 40,
    });
    apply_status(ui, &giving, true);
    show_message(ui, "");
    save(ui, cam, &format!("patient-bolus-{size}"))?;

    let alarm = alarmed();
    apply_status(ui, &alarm, true);
    show_message(ui, "");
    save(ui, cam, &format!("patient-alarm-{size}"))?;

    // The daemon gone for longer than a restart takes: over every screen.
    titra::ui::adapters::app::show_daemon_gone(ui);
    save(ui, cam, &format!("pump-not-running-{size}"))?;
    apply_status(ui, &alarm, true);

    ui.global::<Nav>().invoke_go("side-effect".into());
    save(ui, cam, &format!("patient-side-effect-{size}"))?;
    ui.global::<Nav>().invoke_go("patient".into());

    // The diary's questions: pain every 4 hours, then the function question; the
    // impression of change once the trial has ended.
    let mut asking = running(25 * 60);
    asking.pain_prompt = true;
    apply_status(ui, &asking, true);
    save(ui, cam, &format!("patient-pain-prompt-{size}"))?;
    let mut asking_alarm = alarm.clone();
    asking_alarm.pain_prompt = true;
    apply_status(ui, &asking_alarm, true);
    save(ui, cam, &format!("patient-pain-prompt-alarm-{size}"))?;
    ui.global::<PatientAdapter>()
        .set_prompt(PatientPrompt::FunctionQuestion);
    asking.pain_prompt = false;
    apply_status(ui, &asking, true);
    show_message(ui, &tr!("Thank you — pain {n} recorded.", n = 4));
    save(ui, cam, &format!("patient-function-{size}"))?;
    // The worst case for room: a dose allowed, under an alarm banner.
    let mut crowded = running(0);
    crowded.alarms = alarm.alarms.clone();
    crowded.alarms[0].priority = titra::core::supervisor::Priority::Medium;
    apply_status(ui, &crowded, true);
    save(ui, cam, &format!("patient-function-alarm-{size}"))?;
    let after_end = ended_asking();
    apply_status(ui, &after_end, true);
    show_message(ui, "");
    save(ui, cam, &format!("patient-pgic-{size}"))?;
    ui.global::<PatientAdapter>()
        .set_prompt(PatientPrompt::None);
    apply_status(ui, &alarm, true);
    Ok(())
}

/// The login (a name picked, a wrong PIN; Stop delivery's answer) and the nurse's staff screen
/// under an alarm, its tones paused or not.
fn staff_screens(ui: &MainWindow, cam: &Camera, size: &str) -> Shots {
    let alarm = alarmed();
    show_staff(ui, &Auth::demo()?.staff());
    ui.global::<Nav>().invoke_go("pin".into());
    press(ui, "Demo Nurse")?;
    for d in ["1", "2", "3"] {
        press(ui, &format!("Digit {d}"))?;
    }
    let wrong = AuthError::WrongPin {
        user: "Demo Nurse".to_owned(),
        left: 2,
    };
    show_pin_answer(ui, &wrong.to_string());
    save(ui, cam, &format!("staff-pin-{size}"))?;
    // Stop delivery pressed: no name, no PIN (the screen left and drawn, then opened again).
    ui.global::<Nav>().invoke_go("patient".into());
    ui.window().take_snapshot()?;
    ui.global::<Nav>().invoke_go("pin".into());
    show_pin_answer(ui, stopped());
    save(ui, cam, &format!("staff-pin-stopped-{size}"))?;

    log_in(ui, "Demo Nurse", UserRole::Nurse);
    apply_status(ui, &alarm, true);
    save(ui, cam, &format!("staff-{size}"))?;

    // Alarm tones paused: the symbol and its countdown.
    let mut silenced = alarm.clone();
    silenced.alarms[0].silenced_until_ms = i64::try_from(silenced.now_ms).unwrap_or(0) + 95_000;
    apply_status(ui, &silenced, true);
    save(ui, cam, &format!("staff-silenced-{size}"))?;

    // Delivery running again after a pause through a scheduled dose: it is held, and the nurse
    // gives or skips it.
    let mut held = running(0);
    held.held_bolus = tr!(
        "{dose}, due {time} after the start",
        dose = "0.2 mg",
        time = words(Duration::from_hours(4))
    );
    apply_status(ui, &held, true);
    save(ui, cam, &format!("staff-held-dose-{size}"))?;

    // The hospital's systems out of reach: a LOW alarm, delivery going on.
    let mut unreachable = running(-1);
    let kind = titra::core::supervisor::AlarmKind::OutboxBacklog;
    unreachable.alarms.push(AlarmStatus {
        kind,
        priority: kind.priority(),
        message: kind.message().to_owned(),
        since_ms: 0,
        silenced_until_ms: -1,
    });
    apply_status(ui, &unreachable, true);
    save(ui, cam, &format!("staff-outbox-{size}"))?;
    Ok(())
}

/// The clinician's dose change, and the charts of a simulated continuous trial and of two
/// bolus trials; the continuous trial's outcome, for the export.
fn clinician_screens(
    ui: &MainWindow,
    cam: &Camera,
    size: &str,
) -> Result<titra::cli::simulate::Outcome, Box<dyn std::error::Error>> {
    log_in(ui, "Demo Clinician", UserRole::Clinician);
    apply_status(ui, &running(0), true);
    ui.global::<Nav>().invoke_go("basal".into());
    let check = basal_check(
        "soft",
        &[titra::service::wire::WireFinding {
            field: "basal".to_owned(),
            value: "16 mg/day".to_owned(),
            limit: "15 mg/day".to_owned(),
            class: "soft".to_owned(),
            message: tr!(
                "{what} {shown} is above the usual maximum of {bound} (soft limit). It can be used only if you confirm it.",
                what = tr!("Basal rate"),
                shown = "16 mg/day (0.6667 mg/h, 0.6667 mL/h)",
                bound = "15 mg/day"
            ),
            source: String::new(),
        }],
        "0.5 mg/day (0.0208 mg/h, 0.0208 mL/h)",
        "16 mg/day (0.6667 mg/h, 0.6667 mL/h)",
    );
    show_basal_check(ui, &check);
    save(ui, cam, &format!("clinician-change-dose-{size}"))?;
    // Confirmed by a second person: their name and PIN.
    press(ui, "Confirm the change")?;
    press(ui, "Demo Nurse")?;
    for d in ["2", "4", "6"] {
        press(ui, &format!("Digit {d}"))?;
    }
    save(ui, cam, &format!("clinician-change-dose-verify-{size}"))?;
    press(ui, "Cancel")?;
    // The patient bolus changed the same way: old beside new, then a second person.
    ui.global::<Nav>().invoke_go("patient-bolus".into());
    let check = titra::ui::present::delivery::program_change_check(
        "ok",
        &[],
        &[titra::service::wire::WireSettingChange {
            setting: "pca".to_owned(),
            old: tr!(
                "{dose}, lockout {lockout}, at most {count} an hour",
                dose = "0.05 mg",
                lockout = "1h",
                count = 1
            ),
            new: tr!(
                "{dose}, lockout {lockout}, at most {count} an hour",
                dose = "0.1 mg",
                lockout = "30min",
                count = 2
            ),
        }],
    );
    show_basal_check(ui, &check);
    save(ui, cam, &format!("clinician-change-patient-bolus-{size}"))?;
    // The chart of the example 3-day morphine trial, simulated.
    let scenario = titra::input::scenario::Scenario::from_toml_str(
        include_str!("../scenarios/continuous-morphine-pca.toml"),
        "continuous-morphine-pca.toml",
    )?;
    let (library, source) = check::load_library(None)?;
    let outcome =
        titra::cli::simulate::run(&scenario, &library, source, &HardwareConfig::built_in()?)?;
    let started = outcome
        .journal
        .iter()
        .find_map(|r| match r {
            titra::journal::Record::StateChanged {
                at,
                to: titra::core::supervisor::State::Running,
                ..
            } => Some(*at),
            _ => None,
        })
        .unwrap_or(Timestamp::ORIGIN);
    let end = outcome
        .journal
        .last()
        .map_or(started, titra::journal::Record::at);
    let hours = end.since(started).ms().div_ceil(48 * 3_600_000).max(1);
    let history = titra::report::summary::history(
        &outcome.journal,
        started,
        end,
        titra::core::units::Duration::from_hours(hours),
    );
    show_chart(ui, &chart(&history, titra::core::units::MassUnit::Mg));
    ui.global::<Nav>().invoke_go("chart".into());
    save(ui, cam, &format!("clinician-chart-{size}"))?;
    // A bolus trial's chart: the response to each bolus, from the simulated single-shot
    // morphine screening and the two-bolus baclofen screening.
    for (name, text) in [
        (
            "single-shot-morphine.toml",
            include_str!("../scenarios/single-shot-morphine.toml"),
        ),
        (
            "baclofen-screening.toml",
            include_str!("../scenarios/baclofen-screening.toml"),
        ),
    ] {
        let scenario = titra::input::scenario::Scenario::from_toml_str(text, name)?;
        let (library, source) = check::load_library(None)?;
        let unit = titra::report::summary::unit_of(&library, &scenario.program.drug);
        let outcome =
            titra::cli::simulate::run(&scenario, &library, source, &HardwareConfig::built_in()?)?;
        let response = titra::report::summary::bolus_response(&outcome.summary, unit);
        show_course_chart(ui, &course_chart(&response));
        ui.global::<Nav>().invoke_go("chart".into());
        let shot = if name.starts_with("baclofen") {
            "clinician-bolus-chart-spasticity"
        } else {
            "clinician-bolus-chart"
        };
        save(ui, cam, &format!("{shot}-{size}"))?;
    }
    Ok(outcome)
}

/// The export screen after the end (another dose with its reason typed), and the end screen.
fn export_screens(
    ui: &MainWindow,
    cam: &Camera,
    size: &str,
    outcome: &titra::cli::simulate::Outcome,
) -> Shots {
    // The export screen: the worksheet by the built-in example protocol's rules (the
    // simulator's summary uses them).
    // The trial has ended (the dose is confirmed only then).
    let summary = &outcome.summary;
    let (lines, has_proposal, confirmed) =
        titra::report::export::preview(summary, titra::core::units::MassUnit::Mg);
    let mut ended = running(-1);
    ended.state = titra::core::supervisor::State::Ended;
    ended.site_check_due = String::new();
    ended.site_check_due_in_s = None;
    apply_status(ui, &ended, true);
    show_export(ui, lines, has_proposal, confirmed);
    show_message(ui, "");
    ui.global::<Nav>().invoke_go("export".into());
    save(ui, cam, &format!("clinician-export-{size}"))?;
    // Another dose than the proposal, with the clinician's reason typed.
    press(ui, "Enter another dose")?;
    for k in ["0", ".", "4"] {
        press(ui, &format!("Key {k}"))?;
    }
    press(ui, "Type the reason")?;
    for k in "renal function reduced".chars() {
        press(
            ui,
            &if k == ' ' {
                "Space".to_owned()
            } else {
                format!("Key {k}")
            },
        )?;
    }
    save(ui, cam, &format!("clinician-export-reason-{size}"))?;
    press(ui, "Done")?;
    save(ui, cam, &format!("clinician-export-other-{size}"))?;
    press(ui, "Back to the worksheet")?;
    show_message(ui, "");
    apply_status(ui, &running(0), true);
    ui.global::<Nav>().invoke_go("end".into());
    save(ui, cam, &format!("clinician-end-{size}"))?;
    Ok(())
}

/// The checklist, the sedation review, the most buttons at once, the observations, the site
/// check, the systemic opioids and the spasticity score.
fn nurse_screens(ui: &MainWindow, cam: &Camera, size: &str) -> Shots {
    // The pre-trial checklist, half confirmed, from the built-in protocol's items.
    let protocol = titra::input::protocol::Protocol::built_in()?;
    let items = protocol
        .checklist
        .iter()
        .filter(|i| !i.outpatient_only)
        .enumerate()
        .map(|(n, i)| titra::service::wire::ChecklistLine {
            id: i.id.clone(),
            text: i.text.clone(),
            confirmed: n < 4,
            confirmed_by: if n < 4 {
                "Demo Nurse".to_owned()
            } else {
                String::new()
            },
            confirmed_at_ms: if n < 4 { 60_000 } else { -1 },
        })
        .collect();
    show_checklist(ui, &(items, String::new(), String::new()));
    ui.global::<Nav>().invoke_go("checklist".into());
    save(ui, cam, &format!("nurse-checklist-{size}"))?;
    // The clinician's review after the sedation interlock stopped delivery.
    ui.global::<StaffAdapter>().set_sedation_hold(true);
    ui.global::<Nav>().invoke_go("review".into());
    save(ui, cam, &format!("clinician-sedation-review-{size}"))?;
    // The most buttons at once (a clinician, an alarm, the sedation hold): three a row.
    let mut crowded = alarmed();
    crowded.alarms.push(AlarmStatus {
        kind: titra::core::supervisor::AlarmKind::Sedation,
        priority: titra::core::supervisor::Priority::High,
        message: titra::core::supervisor::AlarmKind::Sedation
            .message()
            .to_owned(),
        since_ms: 0,
        silenced_until_ms: -1,
    });
    apply_status(ui, &crowded, true);
    ui.global::<Nav>().invoke_go("staff".into());
    save(ui, cam, &format!("clinician-staff-crowded-{size}"))?;
    apply_status(ui, &running(0), true);
    ui.global::<StaffAdapter>().set_sedation_hold(false);
    ui.global::<Nav>().invoke_go("observation".into());
    press(ui, "Temperature")?;
    for k in ["3", "7", ".", "2"] {
        press(ui, &format!("Key {k}"))?;
    }
    save(ui, cam, &format!("nurse-observation-{size}"))?;

    // The nurse's catheter site check, a fever with redness being entered.
    log_in(ui, "Demo Nurse", UserRole::Nurse);
    apply_status(ui, &running(0), true);
    save(ui, cam, &format!("nurse-staff-{size}"))?;
    ui.global::<Nav>().invoke_go("site-check".into());
    for k in ["3", "8", ".", "6"] {
        press(ui, &format!("Key {k}"))?;
    }
    press(ui, "Redness")?;
    save(ui, cam, &format!("nurse-site-check-{size}"))?;
    // The day's systemic opioids besides the trial drug.
    show_message(ui, "");
    ui.global::<Nav>().invoke_go("opioids".into());
    for k in ["6", "0"] {
        press(ui, &format!("Key {k}"))?;
    }
    show_message(ui, &titra::ui::present::observation::opioids_recorded("60"));
    save(ui, cam, &format!("nurse-systemic-opioids-{size}"))?;

    // A baclofen trial is scored on the Modified Ashworth Scale.
    let mut baclofen = running(-1);
    baclofen.drug = "baclofen".to_owned();
    baclofen.outcome_measure = Some(titra::core::diary::OutcomeMeasure::Spasticity);
    apply_status(ui, &baclofen, true);
    ui.global::<Nav>().invoke_go("spasticity".into());
    press(ui, "Ashworth 2")?;
    press(ui, "Knee extensors")?;
    press(ui, "Hip adductors")?;
    save(ui, cam, &format!("nurse-spasticity-{size}"))?;
    Ok(())
}

/// After the end: the clinician's decision, and the catheter's removal.
fn after_end_screens(ui: &MainWindow, cam: &Camera, size: &str) -> Shots {
    let after_end = ended_asking();
    log_in(ui, "Demo Clinician", UserRole::Clinician);
    apply_status(ui, &after_end, true);
    ui.global::<PatientAdapter>()
        .set_prompt(PatientPrompt::None);
    ui.global::<Nav>().invoke_go("end".into());
    save(ui, cam, &format!("clinician-ended-{size}"))?;
    ui.global::<Nav>().invoke_go("decision".into());
    for choice in [
        "Success",
        "Pain reduced by half or more",
        "Function improved",
        "Yes",
        "Implanted pump, 20 mL",
    ] {
        press(ui, choice)?;
    }
    save(ui, cam, &format!("clinician-decision-{size}"))?;
    ui.global::<Nav>().invoke_go("removal".into());
    press(ui, "Tip intact, site clean")?;
    press(ui, "Type a note")?;
    for k in [",", " ", "t", "i", "p", " ", "s", "e", "n", "t"] {
        press(
            ui,
            &if k == " " {
                "Space".to_owned()
            } else {
                format!("Key {k}")
            },
        )?;
    }
    save(ui, cam, &format!("nurse-catheter-removal-{size}"))?;
    Ok(())
}

/// The testing backend with a real (software) rasterizer, so that snapshots show pixels and
/// texts are measured in the pump's font. Once per process.
pub fn init_backend() -> Result<(), String> {
    slint::platform::set_platform(Box::new(i_slint_backend_testing::TestingBackend::new(
        i_slint_backend_testing::TestingBackendOptions {
            mock_time: true,
            threading: false,
            renderer_name: Some("software".into()),
        },
    )))
    .map_err(|e| format!("{e:?}"))
}

/// The longest figure of each kind the daemon's status can hold, from the formatting rules
/// themselves at their extremes: a patient ID as long as the wizard takes in its widest
/// letter, the library's longest drug name, amounts of three digits, the longest durations in
/// words, a bolus and a held dose at their longest.
fn longest_status() -> Result<Status, Box<dyn std::error::Error>> {
    use titra::core::readable::{Round, amount_for, as_prescribed, duration, volume};
    use titra::core::units::{Amount, MassUnit, Volume};
    let (library, _) = check::load_library(None)?;
    let drug = library
        .entries
        .iter()
        .map(|e| e.drug.clone())
        .max_by_key(|n| n.chars().count())
        .unwrap_or_default();
    // The longest a duration in words is: "2 days 23 h" (hours are kept under three days).
    let longest_duration = [
        Duration::from_mins(23 * 60 + 59),
        Duration::from_mins(71 * 60 + 59),
        Duration::from_hours(13 * 24 + 23),
        Duration::from_secs(59),
    ]
    .into_iter()
    .map(|d| duration(d, Round::Up))
    .max_by_key(String::len)
    .unwrap_or_default();
    let big = amount_for(Amount::from_ng(999_000), MassUnit::Mcg);
    let mut s = running(23 * 3600 + 59 * 60);
    s.patient = format!("MRN-{}", "W".repeat(20));
    s.drug = drug;
    s.concentration = "2000 mcg/mL".to_owned();
    s.basal_per_day = "999.999 mcg/day".to_owned();
    s.basal_per_hour = "41.6666 mcg/h".to_owned();
    s.basal_ml_per_hour = "0.0208 mL/h".to_owned();
    s.dose_unit = Some(MassUnit::Mcg);
    s.patient_bolus = tr!(
        "{dose} every {lockout} at most, {count} per hour at most",
        dose = as_prescribed(Amount::from_ng(999_999), MassUnit::Mcg),
        lockout = longest_duration,
        count = 12
    );
    s.delivered_today = big.clone();
    s.delivered_total = amount_for(Amount::from_ng(99_900_000), MassUnit::Mg);
    s.delivered_in_window = tr!(
        "{used} of {max} in the last {window}",
        used = big,
        max = big,
        window = longest_duration
    );
    s.reservoir_remaining = volume(Volume::from_nl(99_990_000));
    s.time_to_empty = longest_duration.clone();
    s.next_bolus = tr!("in {time}", time = longest_duration);
    s.site_check_due = tr!("in {time}", time = longest_duration);
    s.held_bolus = tr!(
        "{dose}, due {time} after the start",
        dose = as_prescribed(Amount::from_ng(999_999), MassUnit::Mcg),
        time = longest_duration
    );
    s.log_budget = tr!(
        "{grown} MB of {budget} MB ({pct} %)",
        grown = "999.9",
        budget = "999.9",
        pct = 100
    );
    Ok(s)
}

/// The longest texts the code can produce, on the screens that show them: every alarm's
/// message in the banner of the patient's and the staff screens (and all at once on the
/// staff screen), the longest refusal of a dose, the longest figures, the patient's dose under
/// way at its longest. Only for the fit test: no screenshot is taken of these.
fn longest_texts(ui: &MainWindow, cam: &Camera, size: &str) -> Shots {
    use titra::core::supervisor::AlarmKind;
    let longest = longest_status()?;
    let alarm = |kind: AlarmKind| AlarmStatus {
        kind,
        priority: kind.priority(),
        message: kind.message().to_owned(),
        since_ms: 0,
        silenced_until_ms: -1,
    };
    log_in(ui, "Demo Nurse", UserRole::Nurse);
    for kind in AlarmKind::ALL {
        let mut s = longest.clone();
        s.alarms = vec![alarm(kind)];
        apply_status(ui, &s, true);
        ui.global::<Nav>().invoke_go("patient".into());
        save(ui, cam, &format!("longest-patient-{kind:?}-{size}"))?;
        ui.global::<Nav>().invoke_go("staff".into());
        save(ui, cam, &format!("longest-staff-{kind:?}-{size}"))?;
        // Paused tones: the symbol and countdown beside the longest message.
        s.alarms[0].silenced_until_ms = i64::try_from(s.now_ms).unwrap_or(0) + 95_000;
        apply_status(ui, &s, true);
        save(ui, cam, &format!("longest-staff-silenced-{kind:?}-{size}"))?;
    }
    let mut all = longest.clone();
    all.alarms = AlarmKind::ALL.into_iter().map(alarm).collect();
    apply_status(ui, &all, true);
    save(ui, cam, &format!("longest-staff-every-alarm-{size}"))?;
    ui.global::<Nav>().invoke_go("patient".into());
    save(ui, cam, &format!("longest-patient-every-alarm-{size}"))?;

    // The longest refusal of a patient's dose, as the daemon words it.
    let cap = titra::core::dose::Denial::Cap {
        cap: titra::core::dose::Cap {
            window: titra::core::units::Duration::from_hours(24),
            max: titra::core::units::Amount::from_ng(999_999),
            counts: titra::core::dose::Counts::All,
            origin: titra::core::dose::CapOrigin::Library,
        },
        in_window: titra::core::units::Amount::from_ng(999_999),
    };
    let refusals = [
        cap,
        titra::core::dose::Denial::SedationHold,
        titra::core::dose::Denial::ObservationOverdue,
    ];
    apply_status(ui, &longest, true);
    for (n, denial) in refusals.iter().enumerate() {
        show_message(
            ui,
            &format!(
                "{} Next dose available in 2 days 23 h.",
                denial.explain_for(titra::core::units::MassUnit::Mcg)
            ),
        );
        save(ui, cam, &format!("longest-patient-refusal-{n}-{size}"))?;
    }
    // Under the longest alarm, the refusal while delivery is stopped.
    let mut stopped = longest.clone();
    stopped.alarms = vec![alarm(AlarmKind::StorageFull)];
    apply_status(ui, &stopped, true);
    show_message(ui, &titra::core::dose::Denial::NotDelivering.explain());
    save(ui, cam, &format!("longest-patient-refusal-alarm-{size}"))?;
    show_message(ui, "");
    let mut giving = longest.clone();
    giving.bolus_under_way = Some(titra::service::wire::BolusUnderWay {
        patient: true,
        dose: "999 mcg".to_owned(),
        given: "999 mcg".to_owned(),
        percent: 100,
    });
    apply_status(ui, &giving, true);
    save(ui, cam, &format!("longest-patient-bolus-{size}"))?;
    if let Some(b) = giving.bolus_under_way.as_mut() {
        b.patient = false;
    }
    apply_status(ui, &giving, true);
    save(ui, cam, &format!("longest-patient-nurse-bolus-{size}"))?;
    let mut held = longest.clone();
    held.alarms = vec![alarm(AlarmKind::StorageFull)];
    apply_status(ui, &held, true);
    ui.global::<Nav>().invoke_go("staff".into());
    save(ui, cam, &format!("longest-staff-held-{size}"))?;
    Ok(())
}

/// The fit check's own check: a patient screen whose headline is one word too long for any
/// display, which the check must find.
pub fn misfit_found(cam: &Camera) -> Result<bool, Box<dyn std::error::Error>> {
    let ui = MainWindow::new()?;
    ui.window().set_size(slint::PhysicalSize::new(800, 480));
    ui.show()?;
    ui.global::<titra::ui::Fit>().set_check(true);
    let mut s = running(0);
    s.drug = "W".repeat(80);
    apply_status(&ui, &s, true);
    let before = cam.misfits.borrow().len();
    save(&ui, cam, "self-check")?;
    let found = cam.misfits.borrow().len() > before;
    ui.hide()?;
    Ok(found)
}

/// Walks every screen at `w`×`h` px in `language`, stopping with `cam` at each state worth
/// seeing.
pub fn walk(
    cam: &Camera,
    w: u32,
    h: u32,
    language: titra::core::lang::Language,
) -> Result<(), Box<dyn std::error::Error>> {
    titra::core::lang::with(language, || walk_in(cam, w, h, language))
}

fn walk_in(
    cam: &Camera,
    w: u32,
    h: u32,
    language: titra::core::lang::Language,
) -> Result<(), Box<dyn std::error::Error>> {
    let ui = MainWindow::new()?;
    slint::select_bundled_translation(language.code())?;
    ui.window().set_size(slint::PhysicalSize::new(w, h));
    ui.show()?;
    if cam.check_fit {
        ui.global::<titra::ui::Fit>().set_check(true);
    }
    wire_checks(&ui);
    let diary = titra::input::protocol::Protocol::built_in()?.diary;
    show_diary_question(
        &ui,
        &diary.function_question,
        diary.function_answers.clone(),
    );
    let size = format!("{w}x{h}");
    // The stops' names say the language (the pictures go to a folder of their own).
    cam.stops
        .borrow_mut()
        .push(format!("{size} in {}", language.code()));

    patient_screens(&ui, cam, &size)?;
    staff_screens(&ui, cam, &size)?;
    wizard_screens(&ui, cam, &size)?;
    let outcome = clinician_screens(&ui, cam, &size)?;
    export_screens(&ui, cam, &size, &outcome)?;
    nurse_screens(&ui, cam, &size)?;
    after_end_screens(&ui, cam, &size)?;
    if cam.check_fit {
        longest_texts(&ui, cam, &size)?;
    }
    ui.hide()?;
    Ok(())
}
