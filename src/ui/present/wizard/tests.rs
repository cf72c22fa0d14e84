//! The wizard step by step, as a nurse goes through it.

use super::program::times;
use super::review::{catheter_line, opioid_line};
use super::*;
use crate::input::scenario::Scenario;

fn library() -> Vec<LibraryChoice> {
    let c = |drug: &str, route: &str, concentration: &str, unit: &str| LibraryChoice {
        drug: drug.to_owned(),
        route: route.to_owned(),
        concentration: concentration.to_owned(),
        unit: unit.to_owned(),
    };
    vec![
        c("morphine", "intrathecal", "1 mg/mL", "mg"),
        c("morphine", "intrathecal", "2 mg/mL", "mg"),
        c("morphine", "epidural", "1 mg/mL", "mg"),
        c("clonidine", "intrathecal", "150 mcg/mL", "mcg"),
    ]
}

fn type_text(w: &mut Wizard, text: &str) -> Option<Request> {
    let mut last = None;
    for ch in text.chars() {
        last = w.key(&ch.to_string()).or(last);
    }
    last
}

/// A wizard at the program step with morphine 1 mg/mL intrathecal.
fn at_program() -> Wizard {
    let mut w = Wizard::new();
    w.set_library(library());
    type_text(&mut w, "mrn-42");
    assert_eq!(w.go_on(), None);
    w.choose("route", "intrathecal");
    w.go_on();
    w.choose("baseline", "8");
    w.choose("opioids", "naive");
    w.go_on();
    w.choose("catheter", "closed");
    w.choose("placed", "2h");
    w.go_on();
    w.choose("drug", "morphine");
    w.go_on();
    w.choose("concentration", "1 mg/mL");
    assert!(w.go_on().is_none(), "no program yet: basal is empty");
    assert_eq!(w.step(), Step::Program);
    w
}

#[test]
fn each_step_waits_for_what_it_needs() {
    let mut w = Wizard::new();
    w.set_library(library());
    w.go_on();
    assert_eq!(w.step(), Step::Patient, "no patient ID yet");
    assert!(!w.view().can_next);
    type_text(&mut w, "m$1");
    assert_eq!(w.view().text, "M1", "only letters, digits and '-'");
    type_text(&mut w, "-7");
    w.go_on();
    assert_eq!(w.step(), Step::Route);
    w.go_on();
    assert_eq!(w.step(), Step::Route, "no route yet");
    w.choose("route", "epidural");
    w.stepper("tip", -100);
    assert_eq!(w.view().groups[1].value, "C1");
    w.stepper("tip", 100);
    assert_eq!(w.view().groups[1].value, "S1");
    w.go_on();
    w.stepper("days", 99);
    assert_eq!(w.view().groups[1].value, "14 days");
    w.go_on();
    assert_eq!(w.step(), Step::Trial, "baseline pain not asked yet");
    w.choose("baseline", "11");
    w.go_on();
    assert_eq!(w.step(), Step::Trial, "11 is not a pain score");
    w.choose("baseline", "3");
    w.go_on();
    assert_eq!(
        w.step(),
        Step::Trial,
        "opioids before the trial not asked yet"
    );
    w.choose("opioids", "morphine");
    assert!(!w.view().can_next, "not a choice");
    w.choose("opioids", "none");
    w.go_on();
    assert_eq!(w.step(), Step::Catheter);
    w.go_on();
    assert_eq!(w.step(), Step::Catheter, "no catheter type yet");
    w.choose("catheter", "none");
    w.go_on();
    assert_eq!(w.step(), Step::Catheter, "no placement time yet");
    w.choose("placed", "none");
    w.go_on();
    let drugs: Vec<String> = w.view().groups[0]
        .options
        .iter()
        .map(|o| o.key.clone())
        .collect();
    assert_eq!(
        drugs,
        ["morphine"],
        "only the drugs listed for epidural use"
    );
    w.choose("drug", "clonidine");
    assert!(
        !w.view().can_next,
        "clonidine is not listed for epidural use"
    );
}

#[test]
fn the_program_is_built_from_the_fields_and_checked_as_it_is_typed() {
    let mut w = at_program();
    w.select_field("basal");
    let request = type_text(&mut w, "0.5");
    let Some(Request::Validate {
        generation,
        program,
    }) = request
    else {
        panic!("typing a complete program asks the daemon to check it: {request:?}");
    };
    let sc = Scenario::from_toml_str(&program, "program").unwrap();
    assert_eq!(sc.program.basal.to_string(), "0.5 mg/day");
    assert_eq!(sc.program.reservoir.to_string(), "20 mL");
    assert_eq!(sc.trial.patient, "MRN-42");
    assert_eq!(sc.trial.catheter_tip.as_deref(), Some("T10"));
    assert_eq!(sc.trial.baseline_pain, Some(8));
    assert!(
        sc.program.pca.is_none(),
        "an empty patient bolus means none"
    );
    assert!(!w.view().can_next, "not checked yet");
    // A stale answer is ignored; the current one unlocks Next.
    w.set_findings(generation - 1, "ok", vec![]);
    assert!(!w.view().can_next);
    w.set_findings(generation, "ok", vec![]);
    assert!(w.view().can_next);
    assert_eq!(w.view().fields[1].mark, Some(Class::Ok));
}

#[test]
fn findings_sit_beside_their_field_and_a_hard_one_blocks() {
    let mut w = at_program();
    w.select_field("basal");
    let Some(Request::Validate { generation, .. }) = type_text(&mut w, "50") else {
        panic!()
    };
    let finding = |field: &str, class: &str, text: &str| Finding {
        field: field.to_owned(),
        value: String::new(),
        limit: String::new(),
        class: class.to_owned(),
        message: text.to_owned(),
        source: String::new(),
    };
    w.set_findings(
        generation,
        "hard",
        vec![
            finding(
                "program.basal",
                "hard",
                "Basal rate 50 mg/day is above 20 mg/day.",
            ),
            finding("program.reservoir", "soft", "Plan a reservoir change."),
        ],
    );
    let v = w.view();
    assert!(!v.can_next);
    assert_eq!(v.fields[0].mark, Some(Class::Soft));
    assert_eq!(v.fields[1].mark, Some(Class::Hard));
    let texts: Vec<&str> = v.notes.iter().map(|n| n.text.as_str()).collect();
    assert!(
        texts.contains(&"✕ Basal rate 50 mg/day is above 20 mg/day."),
        "{texts:?}"
    );
    assert!(
        !texts.iter().any(|t| t.contains("reservoir change")),
        "another field's finding shows when that field is selected"
    );
    w.select_field("reservoir");
    assert!(
        w.view()
            .notes
            .iter()
            .any(|n| n.text == "! Plan a reservoir change.")
    );
}

#[test]
fn soft_findings_need_confirming_on_the_review() {
    let mut w = at_program();
    w.select_field("basal");
    let Some(Request::Validate { generation, .. }) = type_text(&mut w, "16") else {
        panic!()
    };
    let soft = Finding {
        field: "program.basal".to_owned(),
        value: "16 mg/day".to_owned(),
        limit: "15 mg/day".to_owned(),
        class: "soft".to_owned(),
        message: "Above the usual maximum.".to_owned(),
        source: String::new(),
    };
    w.set_findings(generation, "soft", vec![soft]);
    w.go_on();
    assert_eq!(w.step(), Step::Review);
    let v = w.view();
    assert!(!v.can_next);
    assert_eq!(v.lines[3], "Opioid-naive before the trial");
    assert_eq!(v.lines[5], "Basal 16 mg/day (0.6667 mg/h, 0.6667 mL/h)");
    assert_eq!(v.groups[0].key, "confirm");
    assert_eq!(w.choose("confirm", "confirm"), None);
    assert!(
        w.view().can_next,
        "confirmed: the findings stay those of the same program"
    );
    w.go_on();
    assert_eq!(w.step(), Step::Verify);
    assert!(matches!(
        w.verify("nurse2", "567890"),
        Some(Request::StartTrial { confirm: true, .. })
    ));
}

#[test]
fn the_second_person_programs_the_trial_then_load_prime_start() {
    let mut w = at_program();
    w.select_field("basal");
    let Some(Request::Validate { generation, .. }) = type_text(&mut w, "1") else {
        panic!()
    };
    w.set_findings(generation, "ok", vec![]);
    w.go_on();
    w.go_on();
    assert_eq!(w.step(), Step::Verify);
    assert!(!w.view().can_next, "the PIN pad goes on, not Next");
    assert_eq!(
        w.view().title,
        "Second person: pick your name and enter your PIN"
    );
    let Some(Request::StartTrial {
        confirm,
        verifier,
        verifier_pin,
        ..
    }) = w.verify("nurse2", "567890")
    else {
        panic!()
    };
    assert!(!confirm);
    assert_eq!(verifier, "nurse2");
    assert_eq!(verifier_pin.digits(), "567890");
    assert_eq!(
        format!("{verifier_pin:?}"),
        "Pin(…)",
        "a request written to a log shows no PIN"
    );
    assert_eq!(w.verify("nurse2", "567890"), None, "one request at a time");
    w.failed("The second PIN must be another person's.");
    assert_eq!(w.step(), Step::Verify);
    assert!(w.view().notes[0].text.contains("another person"));
    assert!(w.verify("clinician", "246810").is_some());
    w.done();
    assert_eq!(w.step(), Step::Load);
    assert!(w.view().lines[0].contains("morphine 1 mg/mL, 20 mL"));
    w.back();
    assert_eq!(
        w.step(),
        Step::Load,
        "no way back once the daemon holds the trial"
    );
    assert_eq!(w.go_on(), None);
    assert_eq!(w.step(), Step::Prime);
    assert_eq!(w.go_on(), Some(Request::Prime));
    assert_eq!(w.go_on(), None, "one request at a time");
    w.failed("Priming refused: the syringe is not in place.");
    assert_eq!(w.step(), Step::Prime);
    assert_eq!(w.go_on(), Some(Request::Prime));
    w.done();
    assert_eq!(w.step(), Step::Start);
    assert_eq!(w.go_on(), Some(Request::Start));
    assert_eq!(w.done(), Some(Request::Close));
}

#[test]
fn bolus_trials_schedule_their_boluses_exactly() {
    let mut w = at_program();
    // Back to the kind of trial: several boluses 1.5 h apart.
    for _ in 0..4 {
        w.back();
    }
    assert_eq!(w.step(), Step::Trial);
    w.choose("kind", "multiple_bolus");
    for _ in 0..4 {
        w.go_on();
    }
    assert_eq!(w.step(), Step::Program);
    w.select_field("bolus");
    type_text(&mut w, "0.1");
    w.select_field("count");
    w.key("back");
    type_text(&mut w, "3");
    w.select_field("interval");
    w.key("clear");
    type_text(&mut w, "1.5");
    let text = w.program().unwrap();
    let sc = Scenario::from_toml_str(&text, "program").unwrap();
    let at: Vec<String> = sc
        .program
        .boluses
        .iter()
        .map(|b| b.at.to_string())
        .collect();
    assert_eq!(at, ["0s", "1h 30min", "3h"]);
    assert_eq!(
        sc.program.observe.map(|o| o.to_string()).as_deref(),
        Some("1d")
    );
    assert_eq!(times("0.25", 3), "0.75");
    assert_eq!(times("12", 4), "48");
    assert_eq!(times("1.5", 10), "15.0");
}

#[test]
fn the_catheter_step_writes_its_type_and_placement_into_the_trial() {
    let mut w = at_program();
    w.select_field("basal");
    type_text(&mut w, "1");
    let text = w.program().unwrap();
    assert!(
        text.contains("catheter = \"Intrathecal catheter, closed tip\""),
        "{text}"
    );
    assert!(text.contains("catheter_placed_before = \"2h\""), "{text}");
    assert!(
        !text.contains("outpatient"),
        "asked for single boluses only: {text}"
    );
    let sc = Scenario::from_toml_str(&text, "program").unwrap();
    assert_eq!(
        sc.trial.catheter.as_deref(),
        Some("Intrathecal catheter, closed tip")
    );
    assert_eq!(
        sc.trial
            .catheter_placed_before
            .map(|d| d.to_string())
            .as_deref(),
        Some("2h")
    );
    assert_eq!(
        catheter_line(&sc.trial),
        "Intrathecal catheter, closed tip, placed 2h before the start"
    );
    // "At the start" is a time; "Not recorded" writes nothing.
    w.choose("placed", "0h");
    w.choose("catheter", "none");
    let text = w.program().unwrap();
    assert!(text.contains("catheter_placed_before = \"0h\""), "{text}");
    assert!(!text.contains("catheter ="), "{text}");
    let sc = Scenario::from_toml_str(&text, "program").unwrap();
    assert_eq!(
        catheter_line(&sc.trial),
        "Catheter type not recorded, placed at the start"
    );
    w.choose("placed", "none");
    assert!(!w.program().unwrap().contains("catheter_placed_before"));
    assert_eq!(w.choose("catheter", "wire"), None, "not a preset");
    assert!(!w.program().unwrap().contains("catheter ="));
}

#[test]
fn a_single_bolus_asks_whether_the_patient_goes_home() {
    let mut w = Wizard::new();
    w.set_library(library());
    type_text(&mut w, "MRN-1");
    w.go_on();
    w.choose("route", "epidural");
    w.go_on();
    w.choose("kind", "single_bolus");
    w.choose("baseline", "6");
    w.choose("opioids", "none");
    w.go_on();
    assert_eq!(w.step(), Step::Catheter);
    w.choose("catheter", "open");
    w.choose("placed", "1h");
    let v = w.view();
    assert_eq!(v.groups.len(), 3);
    assert_eq!(v.groups[0].title, "Epidural catheter: its tip");
    assert_eq!(v.groups[2].key, "outpatient");
    assert!(!v.can_next, "going home is asked, never assumed");
    assert!(
        v.notes
            .iter()
            .any(|n| n.text == "Choose whether the patient goes home the same day.")
    );
    w.choose("outpatient", "yes");
    w.go_on();
    assert_eq!(w.step(), Step::Drug);
    w.choose("drug", "morphine");
    w.go_on();
    w.choose("concentration", "1 mg/mL");
    w.go_on();
    w.select_field("bolus");
    type_text(&mut w, "0.1");
    let text = w.program().unwrap();
    let sc = Scenario::from_toml_str(&text, "program").unwrap();
    assert!(sc.trial.outpatient);
    assert_eq!(
        sc.trial.catheter.as_deref(),
        Some("Epidural catheter, open tip")
    );
    assert_eq!(
        catheter_line(&sc.trial),
        "Epidural catheter, open tip, placed 1h before the start; goes home the same day (a responsible adult must be with them)"
    );
    w.choose("outpatient", "no");
    assert!(
        !Scenario::from_toml_str(&w.program().unwrap(), "p")
            .unwrap()
            .trial
            .outpatient
    );
    // A continuous trial never writes it, whatever was answered for a bolus.
    w.choose("outpatient", "yes");
    w.choose("kind", "continuous");
    w.select_field("basal");
    type_text(&mut w, "1");
    let text = w.program().unwrap();
    assert!(!text.contains("outpatient"), "{text}");
}

#[test]
fn the_trial_step_asks_for_opioids_before_the_trial() {
    let mut w = Wizard::new();
    w.set_library(library());
    type_text(&mut w, "MRN-5");
    w.go_on();
    w.choose("route", "intrathecal");
    w.go_on();
    w.choose("baseline", "7");
    let v = w.view();
    let opioids = v.groups.iter().find(|g| g.key == "opioids").unwrap();
    assert_eq!(opioids.title, "Opioids before the trial");
    let labels: Vec<&str> = opioids.options.iter().map(|o| o.label.as_str()).collect();
    assert_eq!(labels, ["Not recorded", "Opioid-naive", "Opioid-tolerant"]);
    assert!(v.fields.is_empty(), "no number asked until tolerant");
    assert!(!v.can_next, "asked, never assumed");
    // Tolerant: the oral morphine equivalents are needed, typed on the keypad.
    w.choose("opioids", "tolerant");
    let v = w.view();
    assert_eq!(v.fields.len(), 1);
    assert_eq!(v.fields[0].key, OME_FIELD);
    assert_eq!(v.fields[0].unit, "mg/day");
    assert!(v.fields[0].selected);
    assert!(!v.can_next);
    assert!(
        v.notes
            .iter()
            .any(|n| n.text.starts_with("Enter the oral morphine equivalents"))
    );
    for k in ["1", "2", ".", ".", "5", "back", "back", "0"] {
        w.key(k);
    }
    assert_eq!(w.view().fields[0].value, "120", "one decimal point at most");
    assert!(w.view().can_next);
    w.go_on();
    w.choose("catheter", "none");
    w.choose("placed", "none");
    w.go_on();
    w.choose("drug", "morphine");
    w.go_on();
    w.choose("concentration", "1 mg/mL");
    w.go_on();
    assert_eq!(w.step(), Step::Program);
    assert!(w.view().fields.iter().all(|f| f.key != OME_FIELD));
    w.select_field("basal");
    type_text(&mut w, "2");
    let text = w.program().unwrap();
    assert!(text.contains("opioid_status = \"tolerant\""), "{text}");
    assert!(text.contains("ome_before = \"120 mg/day\""), "{text}");
    let sc = Scenario::from_toml_str(&text, "program").unwrap();
    assert_eq!(
        sc.trial.opioid_status,
        Some(crate::core::program::OpioidStatus::Tolerant)
    );
    assert_eq!(
        sc.trial.ome_before.map(|r| r.to_string()).as_deref(),
        Some("120 mg/day")
    );
    assert_eq!(
        opioid_line(&sc.trial),
        "Opioid-tolerant before the trial: 120 mg/day oral morphine equivalents"
    );
    // Naive writes the status only (the number typed for tolerant is not sent); Not
    // recorded writes neither.
    w.choose("opioids", "naive");
    let text = w.program().unwrap();
    assert!(text.contains("opioid_status = \"naive\""), "{text}");
    assert!(!text.contains("ome_before"), "{text}");
    w.choose("opioids", "none");
    let text = w.program().unwrap();
    assert!(!text.contains("opioid_status"), "{text}");
    let sc = Scenario::from_toml_str(&text, "program").unwrap();
    assert_eq!(sc.trial.opioid_status, None);
    assert_eq!(
        opioid_line(&sc.trial),
        "Opioids before the trial not recorded (the opioid-naive starting ranges apply)"
    );
}

#[test]
fn the_staff_screen_opens_a_fresh_wizard_or_goes_on_with_the_setup() {
    assert_eq!(Wizard::open(State::Idle, "").step(), Step::Patient);
    assert_eq!(Wizard::open(State::Ended, "").step(), Step::Patient);
    assert_eq!(Wizard::open(State::Priming, "").step(), Step::Start);
    let w = Wizard::open(State::Verified, "morphine 1 mg/mL, 20 mL");
    assert_eq!(w.step(), Step::Load);
    assert_eq!(
        w.view().lines[0],
        "Take the syringe: morphine 1 mg/mL, 20 mL."
    );
    assert_eq!(w.view().layout, Layout::Action);
}

#[test]
fn the_daemons_replies_move_the_wizard_on() {
    let mut w = Wizard::new();
    assert_eq!(w.reply(Reply::Library(library())), None);
    type_text(&mut w, "MRN-9");
    w.go_on();
    let routes: Vec<String> = w.view().groups[0]
        .options
        .iter()
        .map(|o| o.key.clone())
        .collect();
    assert_eq!(routes, ["intrathecal", "epidural"], "from the library");
    w = Wizard::resume(State::Priming, "morphine 1 mg/mL, 20 mL");
    assert_eq!(w.go_on(), Some(Request::Start));
    assert_eq!(w.reply(Reply::Failed("Not primed.".to_owned())), None);
    assert_eq!(w.view().notes[0].kind, NoteKind::Hard);
    assert_eq!(w.view().notes[0].text, "Not primed.");
    assert_eq!(w.go_on(), Some(Request::Start));
    assert_eq!(w.reply(Reply::Done), Some(Request::Close));
}

fn options(labels: &[&str]) -> Vec<OptionView> {
    labels
        .iter()
        .map(|l| OptionView {
            key: (*l).to_owned(),
            label: (*l).to_owned(),
            selected: false,
        })
        .collect()
}

/// Six concentrations, as the library lists morphine's.
const SIX: &[&str] = &[
    "0.5 mg/mL",
    "1 mg/mL",
    "2 mg/mL",
    "5 mg/mL",
    "10 mg/mL",
    "20 mg/mL",
];

#[test]
fn choices_go_on_as_many_rows_as_they_need_in_even_rows() {
    // The pain scale's eleven short numbers stay on one row.
    let pain: Vec<String> = (0..=10).map(|n| n.to_string()).collect();
    let pain: Vec<&str> = pain.iter().map(String::as_str).collect();
    let rows = option_rows(&options(&pain));
    assert_eq!(rows.len(), 1);
    // Six concentrations (6 × about 130 px) do not fit 690 px: two rows of three, in order.
    let rows = option_rows(&options(SIX));
    let labels: Vec<Vec<&str>> = rows
        .iter()
        .map(|r| r.iter().map(|o| o.label.as_str()).collect())
        .collect();
    assert_eq!(
        labels,
        vec![
            vec!["0.5 mg/mL", "1 mg/mL", "2 mg/mL"],
            vec!["5 mg/mL", "10 mg/mL", "20 mg/mL"]
        ]
    );
    // Seven: four and three.
    let rows = option_rows(&options(&[SIX, ["25 mg/mL"].as_slice()].concat()));
    assert_eq!(rows.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 3]);
    // None: no row (a stepper).
    assert!(option_rows(&[]).is_empty());
}

#[test]
fn the_wizard_speaks_german_and_records_in_english() {
    use crate::core::lang::{Language, with};
    with(Language::German, || {
        let mut w = Wizard::new();
        w.set_library(library());
        let v = w.view();
        assert_eq!(v.title, "Patienten-ID");
        assert_eq!(v.next_label, "Weiter");
        assert_eq!(
            v.notes[0].text,
            "Patienten-ID eingeben (mindestens 3 Zeichen)."
        );
        type_text(&mut w, "MRN-1");
        w.go_on();
        w.choose("route", "intrathecal");
        let v = w.view();
        assert_eq!(v.title, "Applikationsweg und Katheterspitze");
        let routes: Vec<&str> = v.groups[0]
            .options
            .iter()
            .map(|o| o.label.as_str())
            .collect();
        assert_eq!(routes, ["Intrathekal", "Epidural"]);
        assert_eq!(v.groups[0].options[0].key, "intrathecal", "the key stays");
        assert_eq!(v.groups[1].title, "Katheterspitze auf Wirbelhöhe");
        w.go_on();
        w.choose("kind", "single_bolus");
        let v = w.view();
        assert_eq!(v.title, "Art der Testphase");
        assert_eq!(v.groups[1].value, "1 Tag");
        let opioids: Vec<&str> = v.groups[3]
            .options
            .iter()
            .map(|o| o.label.as_str())
            .collect();
        assert_eq!(opioids, ["Nicht erfasst", "Opioid-naiv", "Opioid-tolerant"]);
        w.choose("baseline", "6");
        w.choose("opioids", "none");
        w.go_on();
        let v = w.view();
        assert_eq!(v.groups[0].title, "Intrathekaler Katheter: Spitze");
        assert_eq!(v.groups[0].options[0].label, "Geschlossene Spitze");
        w.choose("catheter", "closed");
        w.choose("placed", "1h");
        assert!(
            w.view()
                .notes
                .iter()
                .any(|n| n.text == "Wählen, ob der/die Patient/in am selben Tag nach Hause geht.")
        );
        w.choose("outpatient", "yes");
        w.go_on();
        w.choose("drug", "morphine");
        w.go_on();
        w.choose("concentration", "1 mg/mL");
        w.go_on();
        let v = w.view();
        assert_eq!(v.title, "Programm");
        let labels: Vec<&str> = v.fields.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(
            labels,
            ["Spritzenvolumen", "Test-Bolus", "Beobachtungsdauer"]
        );
        assert!(
            v.notes.iter().any(|n| n.text == "Test-Bolus eingeben."),
            "a German noun keeps its capital: {:?}",
            v.notes
        );
        w.select_field("bolus");
        let Some(Request::Validate {
            generation,
            program,
        }) = type_text(&mut w, "0.1")
        else {
            panic!("a complete program is checked")
        };
        // What the trial records stays in English.
        assert!(
            program.contains("catheter = \"Intrathecal catheter, closed tip\""),
            "{program}"
        );
        w.set_findings(generation, "ok", vec![]);
        w.go_on();
        let v = w.view();
        assert_eq!(v.title, "Alle Einstellungen prüfen");
        assert_eq!(v.next_label, "Bestätigen");
        assert_eq!(
            v.lines[0],
            "Patient/in MRN-1 — intrathekaler Katheter, Spitze auf Höhe T10"
        );
        assert_eq!(
            v.lines[1],
            "Intrathekaler Katheter, geschlossene Spitze, 1h vor dem Start gelegt; geht am \
             selben Tag nach Hause (eine verantwortliche erwachsene Person muss dabei sein)"
        );
        assert!(
            v.lines[2].starts_with("Testphase mit Einzelbolus über "),
            "{}",
            v.lines[2]
        );
        assert_eq!(
            v.lines[3],
            "Opioide vor der Testphase nicht erfasst (es gelten die Anfangsbereiche für \
             Opioid-naive)"
        );
    });
    // In English, a label inside a sentence is in lower case.
    let mut w = at_program();
    w.select_field("basal");
    assert!(
        w.view()
            .notes
            .iter()
            .any(|n| n.text == "Enter the basal dose."),
        "{:?}",
        w.view().notes
    );
}
