//! `cargo run --example screenshots`: renders every screen of the touchscreen UI headless (the
//! software renderer of slint's testing backend) at both display sizes, into
//! docs/screenshots/*.png, for the README.

use std::path::Path;

use i_slint_backend_testing::ElementHandle;
use slint::ComponentHandle;
use std::sync::{Arc, Mutex};
use titra::core::units::Timestamp;
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
use titra::ui::present::login::STOPPED;
use titra::ui::present::wizard::Wizard;
use titra::ui::{MainWindow, Nav, PatientAdapter, PatientPrompt, StaffAdapter, WizardAdapter};

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
    s.patient_bolus = "0.05 mg every 1 h at most, 1 per hour at most".to_owned();
    s.delivered_today = "0.12 mg".to_owned();
    s.delivered_total = "0.12 mg".to_owned();
    s.reservoir_remaining = "19.68 mL".to_owned();
    s.time_to_empty = "38 days".to_owned();
    s.next_bolus_in_s = next_bolus_in_s;
    s.next_bolus = if next_bolus_in_s == 0 {
        "now".to_owned()
    } else {
        "in 40 min".to_owned()
    };
    s.outcome_measure = Some(titra::core::diary::OutcomeMeasure::Pain);
    s.site_check_due = "in 3 h 20 min".to_owned();
    s.site_check_due_in_s = Some(12_000);
    s
}

/// Presses what a screen reader calls `label` (the first such element); a label no longer on
/// the screen is an error, so that a screenshot cannot silently show the wrong thing.
fn press(ui: &MainWindow, label: &str) -> Result<(), String> {
    let e = ElementHandle::find_by_accessible_label(ui, label)
        .next()
        .ok_or_else(|| format!("nothing on the screen is labelled \"{label}\""))?;
    e.invoke_accessible_default_action();
    Ok(())
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

/// The start-trial wizard against a real pump service on simulated hardware, a few steps.
fn wizard_screens(
    ui: &MainWindow,
    dir: &Path,
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
    save(ui, dir, &format!("wizard-patient-{size}"))?;
    w.invoke_next();
    w.invoke_choose("route".into(), "intrathecal".into());
    w.invoke_next();
    w.invoke_choose("baseline".into(), "8".into());
    save(ui, dir, &format!("wizard-trial-{size}"))?;
    // An opioid-tolerant patient: the oral morphine equivalents before the trial, on the keypad.
    w.invoke_choose("opioids".into(), "tolerant".into());
    for k in ["1", "2", "0"] {
        w.invoke_key(k.into());
    }
    // The event loop's next passes: the step scrolls the new field into view.
    for _ in 0..2 {
        i_slint_backend_testing::mock_elapsed_time(std::time::Duration::from_millis(20));
    }
    save(ui, dir, &format!("wizard-trial-opioids-{size}"))?;
    w.invoke_choose("opioids".into(), "naive".into());
    w.invoke_next();
    w.invoke_choose("catheter".into(), "closed".into());
    w.invoke_choose("placed".into(), "2h".into());
    save(ui, dir, &format!("wizard-catheter-{size}"))?;
    w.invoke_next();
    w.invoke_choose("drug".into(), "morphine".into());
    w.invoke_next();
    w.invoke_choose("concentration".into(), "1 mg/mL".into());
    save(ui, dir, &format!("wizard-concentration-{size}"))?;
    w.invoke_next();
    w.invoke_select_field("basal".into());
    for k in ["2", "5"] {
        w.invoke_key(k.into());
    }
    save(ui, dir, &format!("wizard-program-hard-{size}"))?;
    w.invoke_key("back".into());
    w.invoke_key("back".into());
    for k in ["0", ".", "5"] {
        w.invoke_key(k.into());
    }
    w.invoke_select_field("pca_dose".into());
    for k in ["0", ".", "0", "5"] {
        w.invoke_key(k.into());
    }
    save(ui, dir, &format!("wizard-program-{size}"))?;
    w.invoke_next();
    save(ui, dir, &format!("wizard-review-{size}"))?;
    w.invoke_next();
    // The second person picks their name and types their PIN.
    press(ui, "Demo Nurse 2")?;
    for d in ["5", "6", "7", "8"] {
        press(ui, &format!("Digit {d}"))?;
    }
    save(ui, dir, &format!("wizard-verify-{size}"))?;
    // The tightest case: a wrong PIN refused, under an alarm banner.
    for d in ["0", "0"] {
        press(ui, &format!("Digit {d}"))?;
    }
    press(ui, "Verify")?;
    apply_status(ui, &alarmed(), true);
    save(ui, dir, &format!("wizard-verify-refused-{size}"))?;
    apply_status(ui, &service.borrow().status(now), true);
    w.invoke_verify("nurse2".into(), "567890".into());
    save(ui, dir, &format!("wizard-load-{size}"))?;
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
        message:
            "Line blocked — delivery stopped. Check the catheter and line for kinks or clamps."
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
fn patient_screens(ui: &MainWindow, dir: &Path, size: &str) -> Shots {
    apply_status(ui, &running(0), true);
    save(ui, dir, &format!("patient-{size}"))?;

    apply_status(ui, &running(40 * 60), true);
    show_message(
        ui,
        "Too soon: at least 1h must pass between boluses. Next dose available in 40 min.",
    );
    save(ui, dir, &format!("patient-lockout-{size}"))?;

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
    save(ui, dir, &format!("patient-bolus-{size}"))?;

    let alarm = alarmed();
    apply_status(ui, &alarm, true);
    show_message(ui, "");
    save(ui, dir, &format!("patient-alarm-{size}"))?;

    // The daemon gone for longer than a restart takes: over every screen.
    titra::ui::adapters::app::show_daemon_gone(ui);
    save(ui, dir, &format!("pump-not-running-{size}"))?;
    apply_status(ui, &alarm, true);

    ui.global::<Nav>().invoke_go("side-effect".into());
    save(ui, dir, &format!("patient-side-effect-{size}"))?;
    ui.global::<Nav>().invoke_go("patient".into());

    // The diary's questions: pain every 4 hours, then the function question; the
    // impression of change once the trial has ended.
    let mut asking = running(25 * 60);
    asking.pain_prompt = true;
    apply_status(ui, &asking, true);
    save(ui, dir, &format!("patient-pain-prompt-{size}"))?;
    let mut asking_alarm = alarm.clone();
    asking_alarm.pain_prompt = true;
    apply_status(ui, &asking_alarm, true);
    save(ui, dir, &format!("patient-pain-prompt-alarm-{size}"))?;
    ui.global::<PatientAdapter>()
        .set_prompt(PatientPrompt::FunctionQuestion);
    asking.pain_prompt = false;
    apply_status(ui, &asking, true);
    show_message(ui, "Thank you — pain 4 recorded.");
    save(ui, dir, &format!("patient-function-{size}"))?;
    // The worst case for room: a dose allowed, under an alarm banner.
    let mut crowded = running(0);
    crowded.alarms = alarm.alarms.clone();
    crowded.alarms[0].priority = titra::core::supervisor::Priority::Medium;
    apply_status(ui, &crowded, true);
    save(ui, dir, &format!("patient-function-alarm-{size}"))?;
    let after_end = ended_asking();
    apply_status(ui, &after_end, true);
    show_message(ui, "");
    save(ui, dir, &format!("patient-pgic-{size}"))?;
    ui.global::<PatientAdapter>()
        .set_prompt(PatientPrompt::None);
    apply_status(ui, &alarm, true);
    Ok(())
}

/// The login (a name picked, a wrong PIN; Stop delivery's answer) and the nurse's staff screen
/// under an alarm, its tones paused or not.
fn staff_screens(ui: &MainWindow, dir: &Path, size: &str) -> Shots {
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
    save(ui, dir, &format!("staff-pin-{size}"))?;
    // Stop delivery pressed: no name, no PIN (the screen left and drawn, then opened again).
    ui.global::<Nav>().invoke_go("patient".into());
    ui.window().take_snapshot()?;
    ui.global::<Nav>().invoke_go("pin".into());
    show_pin_answer(ui, STOPPED);
    save(ui, dir, &format!("staff-pin-stopped-{size}"))?;

    log_in(ui, "Demo Nurse", UserRole::Nurse);
    apply_status(ui, &alarm, true);
    save(ui, dir, &format!("staff-{size}"))?;

    // Alarm tones paused: the symbol and its countdown.
    let mut silenced = alarm.clone();
    silenced.alarms[0].silenced_until_ms = i64::try_from(silenced.now_ms).unwrap_or(0) + 95_000;
    apply_status(ui, &silenced, true);
    save(ui, dir, &format!("staff-silenced-{size}"))?;

    // Delivery running again after a pause through a scheduled dose: it is held, and the nurse
    // gives or skips it.
    let mut held = running(0);
    held.held_bolus = "0.2 mg, due 4 h after the start".to_owned();
    apply_status(ui, &held, true);
    save(ui, dir, &format!("staff-held-dose-{size}"))?;
    Ok(())
}

/// The clinician's dose change, and the charts of a simulated continuous trial and of two
/// bolus trials; the continuous trial's outcome, for the export.
fn clinician_screens(
    ui: &MainWindow,
    dir: &Path,
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
            message: "Basal rate 16 mg/day (0.6667 mg/h, 0.6667 mL/h) is above the usual maximum of 15 mg/day: confirm it is intended.".to_owned(),
            source: String::new(),
        }],
        "0.5 mg/day (0.0208 mg/h, 0.0208 mL/h)",
        "16 mg/day (0.6667 mg/h, 0.6667 mL/h)",
    );
    show_basal_check(ui, &check);
    save(ui, dir, &format!("clinician-change-dose-{size}"))?;
    // Confirmed by a second person: their name and PIN.
    press(ui, "Confirm the change")?;
    press(ui, "Demo Nurse")?;
    for d in ["2", "4", "6"] {
        press(ui, &format!("Digit {d}"))?;
    }
    save(ui, dir, &format!("clinician-change-dose-verify-{size}"))?;
    press(ui, "Cancel")?;
    // The patient bolus changed the same way: old beside new, then a second person.
    ui.global::<Nav>().invoke_go("patient-bolus".into());
    let check = titra::ui::present::delivery::program_change_check(
        "ok",
        &[],
        &[titra::service::wire::WireSettingChange {
            setting: "pca".to_owned(),
            old: "0.05 mg, lockout 1h, at most 1 an hour".to_owned(),
            new: "0.1 mg, lockout 30min, at most 2 an hour".to_owned(),
        }],
    );
    show_basal_check(ui, &check);
    save(ui, dir, &format!("clinician-change-patient-bolus-{size}"))?;
    // The chart of the example 3-day morphine trial, simulated.
    let scenario = titra::input::scenario::Scenario::from_toml_str(
        include_str!("scenarios/continuous-morphine-pca.toml"),
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
    save(ui, dir, &format!("clinician-chart-{size}"))?;
    // A bolus trial's chart: the response to each bolus, from the simulated single-shot
    // morphine screening and the two-bolus baclofen screening.
    for (name, text) in [
        (
            "single-shot-morphine.toml",
            include_str!("scenarios/single-shot-morphine.toml"),
        ),
        (
            "baclofen-screening.toml",
            include_str!("scenarios/baclofen-screening.toml"),
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
        save(ui, dir, &format!("{shot}-{size}"))?;
    }
    Ok(outcome)
}

/// The export screen after the end (another dose with its reason typed), and the end screen.
fn export_screens(
    ui: &MainWindow,
    dir: &Path,
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
    save(ui, dir, &format!("clinician-export-{size}"))?;
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
    save(ui, dir, &format!("clinician-export-reason-{size}"))?;
    press(ui, "Done")?;
    save(ui, dir, &format!("clinician-export-other-{size}"))?;
    press(ui, "Back to the worksheet")?;
    show_message(ui, "");
    apply_status(ui, &running(0), true);
    ui.global::<Nav>().invoke_go("end".into());
    save(ui, dir, &format!("clinician-end-{size}"))?;
    Ok(())
}

/// The checklist, the sedation review, the most buttons at once, the observations, the site
/// check, the systemic opioids and the spasticity score.
fn nurse_screens(ui: &MainWindow, dir: &Path, size: &str) -> Shots {
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
    save(ui, dir, &format!("nurse-checklist-{size}"))?;
    // The clinician's review after the sedation interlock stopped delivery.
    ui.global::<StaffAdapter>().set_sedation_hold(true);
    ui.global::<Nav>().invoke_go("review".into());
    save(ui, dir, &format!("clinician-sedation-review-{size}"))?;
    // The most buttons at once (a clinician, an alarm, the sedation hold): three a row.
    let mut crowded = alarmed();
    crowded.alarms.push(AlarmStatus {
        kind: titra::core::supervisor::AlarmKind::Sedation,
        priority: titra::core::supervisor::Priority::High,
        message: "Sedation or slow breathing — delivery stopped until a clinician reviews."
            .to_owned(),
        since_ms: 0,
        silenced_until_ms: -1,
    });
    apply_status(ui, &crowded, true);
    ui.global::<Nav>().invoke_go("staff".into());
    save(ui, dir, &format!("clinician-staff-crowded-{size}"))?;
    apply_status(ui, &running(0), true);
    ui.global::<StaffAdapter>().set_sedation_hold(false);
    ui.global::<Nav>().invoke_go("observation".into());
    press(ui, "Temperature")?;
    for k in ["3", "7", ".", "2"] {
        press(ui, &format!("Key {k}"))?;
    }
    save(ui, dir, &format!("nurse-observation-{size}"))?;

    // The nurse's catheter site check, a fever with redness being entered.
    log_in(ui, "Demo Nurse", UserRole::Nurse);
    apply_status(ui, &running(0), true);
    save(ui, dir, &format!("nurse-staff-{size}"))?;
    ui.global::<Nav>().invoke_go("site-check".into());
    for k in ["3", "8", ".", "6"] {
        press(ui, &format!("Key {k}"))?;
    }
    press(ui, "Redness")?;
    save(ui, dir, &format!("nurse-site-check-{size}"))?;
    // The day's systemic opioids besides the trial drug.
    show_message(ui, "");
    ui.global::<Nav>().invoke_go("opioids".into());
    for k in ["6", "0"] {
        press(ui, &format!("Key {k}"))?;
    }
    show_message(ui, &titra::ui::present::observation::opioids_recorded("60"));
    save(ui, dir, &format!("nurse-systemic-opioids-{size}"))?;

    // A baclofen trial is scored on the Modified Ashworth Scale.
    let mut baclofen = running(-1);
    baclofen.drug = "baclofen".to_owned();
    baclofen.outcome_measure = Some(titra::core::diary::OutcomeMeasure::Spasticity);
    apply_status(ui, &baclofen, true);
    ui.global::<Nav>().invoke_go("spasticity".into());
    press(ui, "Ashworth 2")?;
    press(ui, "Knee extensors")?;
    press(ui, "Hip adductors")?;
    save(ui, dir, &format!("nurse-spasticity-{size}"))?;
    Ok(())
}

/// After the end: the clinician's decision, and the catheter's removal.
fn after_end_screens(ui: &MainWindow, dir: &Path, size: &str) -> Shots {
    let after_end = ended_asking();
    log_in(ui, "Demo Clinician", UserRole::Clinician);
    apply_status(ui, &after_end, true);
    ui.global::<PatientAdapter>()
        .set_prompt(PatientPrompt::None);
    ui.global::<Nav>().invoke_go("end".into());
    save(ui, dir, &format!("clinician-ended-{size}"))?;
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
    save(ui, dir, &format!("clinician-decision-{size}"))?;
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
    save(ui, dir, &format!("nurse-catheter-removal-{size}"))?;
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
        wire_checks(&ui);
        let diary = titra::input::protocol::Protocol::built_in()?.diary;
        show_diary_question(
            &ui,
            &diary.function_question,
            diary.function_answers.clone(),
        );
        let size = format!("{w}x{h}");

        patient_screens(&ui, &dir, &size)?;
        staff_screens(&ui, &dir, &size)?;
        wizard_screens(&ui, &dir, &size)?;
        let outcome = clinician_screens(&ui, &dir, &size)?;
        export_screens(&ui, &dir, &size, &outcome)?;
        nurse_screens(&ui, &dir, &size)?;
        after_end_screens(&ui, &dir, &size)?;
        ui.hide()?;
    }
    Ok(())
}
