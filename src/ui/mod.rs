//! The touchscreen UI's Rust side (ui/*.slint is the UI itself): turns what the daemon reports
//! into the words the screens show, and carries the buttons' calls to the daemon. The formatting
//! is plain Rust, tested without a window; `apply` only copies it into the `Pump` global.

use std::sync::{Arc, Mutex, MutexGuard};

use slint::{ModelRc, SharedString, VecModel};

use crate::core::diary::OutcomeMeasure;
use crate::core::supervisor::{AlarmKind, Priority, State};
use crate::core::units::Duration;
use crate::service::wire::{LibraryChoice, Status, WireFinding};
use wizard::{Request, Wizard, WizardView};

slint::include_modules!();

pub mod client;
pub mod present;
pub mod wizard;

/// What the patient screen shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatientView {
    pub headline: String,
    pub delivered_today: String,
    pub reservoir: String,
    pub bolus_line: String,
    pub bolus_allowed: bool,
    pub alarm_priority: String,
    pub alarm_text: String,
    pub call_nurse: bool,
}

/// The patient screen for a status, in words for patients.
pub fn patient_view(s: &Status) -> PatientView {
    let top = s.alarms.iter().max_by_key(|a| a.priority);
    let headline = match s.state {
        State::Running => format!("Running — {} {}", s.drug, s.basal_per_day),
        State::Paused => "Paused by your nurse".to_owned(),
        // The alarm banner above carries the alarm's own words; the headline stays short so that
        // nothing the patient needs is pushed off a small screen.
        State::Alarm => "Stopped — your nurse is needed".to_owned(),
        State::Idle => "No treatment programmed".to_owned(),
        State::Programmed | State::Verified | State::Priming => {
            "Your nurse is setting up the pump".to_owned()
        }
        State::Ended => "The trial has ended".to_owned(),
    };
    let bolus_allowed = s.state == State::Running && s.next_bolus_in_s == 0;
    let bolus_line = if s.patient_bolus.is_empty() {
        String::new()
    } else if sedation_hold(s) {
        "Your nurse must check on you first.".to_owned()
    } else if bolus_allowed {
        "You can press for a dose now.".to_owned()
    } else if s.next_bolus_in_s > 0 {
        let wait = Duration::from_secs(u64::try_from(s.next_bolus_in_s).unwrap_or(0));
        format!("Next dose available in {wait}.")
    } else {
        "A dose cannot be given now.".to_owned()
    };
    PatientView {
        headline,
        delivered_today: s.delivered_today.clone(),
        reservoir: s.reservoir_remaining.clone(),
        bolus_line,
        bolus_allowed,
        alarm_priority: top.map(|a| a.priority.to_string()).unwrap_or_default(),
        alarm_text: top.map(|a| a.message.clone()).unwrap_or_default(),
        call_nurse: top.is_some_and(|a| a.priority >= Priority::Medium),
    }
}

/// The staff screen's overview lines.
pub fn staff_overview(s: &Status) -> Vec<String> {
    if s.patient.is_empty() {
        return vec![format!("Pump {}: no trial programmed.", s.state)];
    }
    let mut lines = vec![
        format!("Pump {} — patient {}", s.state, s.patient),
        format!(
            "{} {}: basal {} ({}, {})",
            s.drug, s.concentration, s.basal_per_day, s.basal_per_hour, s.basal_ml_per_hour
        ),
        format!(
            "Given today {}, in total {}",
            s.delivered_today, s.delivered_total
        ),
        format!(
            "Reservoir {}{}",
            s.reservoir_remaining,
            if s.time_to_empty.is_empty() {
                String::new()
            } else {
                format!(", empty in {}", s.time_to_empty)
            }
        ),
    ];
    if !s.patient_bolus.is_empty() {
        lines.push(format!("Patient bolus {}", s.patient_bolus));
    }
    for a in &s.alarms {
        lines.push(format!("ALARM ({}): {}", a.priority, a.message));
    }
    lines
}

/// The overview's line about the next catheter site check, from the status's words for it
/// (`site_check_due`, "in 3h 20min") and its seconds from now (`site_check_due_in_s`: None when
/// none is scheduled, 0 due now, negative overdue), and whether it is due now or late.
pub fn site_check_line(words: &str, in_s: Option<i64>) -> (String, bool) {
    match in_s {
        None => (String::new(), false),
        Some(s) if s < 0 => ("Site check overdue".to_owned(), true),
        Some(0) => ("Site check due now".to_owned(), true),
        Some(_) => (format!("Site check due {words}"), false),
    }
}

/// What the patient screen asks next, given the status and what it shows now: "pgic" once the
/// trial has ended and the impression of change is not yet given; "function" stays until the
/// patient answers it or leaves it (it follows a prompted pain score, which ends the daemon's
/// `pain_prompt`); "pain" when the daemon asks for a score — never in a trial judged on
/// spasticity; otherwise nothing.
pub fn next_prompt(s: &Status, shown: &str) -> &'static str {
    if s.pgic_prompt {
        "pgic"
    } else if shown == "function" && s.state != State::Ended {
        "function"
    } else if s.pain_prompt && s.outcome_measure != Some(OutcomeMeasure::Spasticity) {
        "pain"
    } else {
        ""
    }
}

/// What the patient screen asks after the patient answered a prompt of `kind`: the function
/// question after a prompted pain score (when the site protocol has one), nothing after the
/// rest (the next status brings back whatever is still due).
pub fn after_answer(kind: &str, has_question: bool) -> &'static str {
    if kind == "pain" && has_question {
        "function"
    } else {
        ""
    }
}

/// A temperature as typed on the keypad: None when empty, the value in °C when it is one the
/// pump records (25 to 45 °C, to a tenth), or what is wrong, in words for the nurse.
pub fn temperature_entry(text: &str) -> Result<Option<f64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let decimals = text.split_once('.').map_or(0, |(_, frac)| frac.len());
    let value = text
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && !text.starts_with('.') && !text.ends_with('.'));
    let Some(value) = value else {
        return Err("Type the temperature like this: 37.8".to_owned());
    };
    if decimals > 1 {
        return Err("Give the temperature to a tenth of a degree (37.8).".to_owned());
    }
    if !(25.0..=45.0).contains(&value) {
        return Err("A body temperature is between 25 and 45 °C: check the number.".to_owned());
    }
    Ok(Some(value))
}

/// The site findings the screen offers: the daemon's word and the nurse's.
pub const SITE_FINDINGS: [(&str, &str); 5] = [
    ("redness", "redness"),
    ("swelling", "swelling or tenderness"),
    ("drainage", "drainage"),
    ("leak", "leak"),
    ("headache_upright", "headache when upright"),
];

/// What the site check screen says once the check is recorded.
pub fn site_check_recorded(celsius: f64, findings: &[String]) -> String {
    if findings.is_empty() {
        return format!("Site check recorded: {celsius:.1} °C, site clean.");
    }
    let found: Vec<&str> = findings
        .iter()
        .map(|f| {
            SITE_FINDINGS
                .iter()
                .find(|(k, _)| k == f)
                .map_or(f.as_str(), |(_, words)| words)
        })
        .collect();
    format!(
        "Site check recorded: {celsius:.1} °C; {}. Tell the clinician.",
        found.join(", ")
    )
}

/// The systemic opioids as typed on the keypad ("60"), as the daemon takes them: oral morphine
/// equivalents per day ("60 mg/day").
pub fn opioids_entry(typed: &str) -> String {
    format!("{} mg/day", typed.trim())
}

/// What the systemic opioids screen says once the day's figure is recorded.
pub fn opioids_recorded(typed: &str) -> String {
    format!(
        "Recorded: {} oral morphine equivalents.",
        opioids_entry(typed)
    )
}

/// What the spasticity screen says once a score is recorded.
pub fn spasticity_recorded(score: &str, muscles: &str) -> String {
    if muscles.trim().is_empty() {
        format!("Ashworth {score} recorded.")
    } else {
        format!("Ashworth {score} recorded ({muscles}).")
    }
}

const LIST_SEPARATOR: &str = "; ";

/// A list of choices joined by "; " with `item` added at the end, or taken out when it was
/// there (the screens' toggles).
pub fn toggle_item(list: &str, item: &str) -> String {
    let mut items: Vec<&str> = split_items(list).collect();
    if let Some(i) = items.iter().position(|x| *x == item) {
        items.remove(i);
    } else if !item.is_empty() {
        items.push(item);
    }
    items.join(LIST_SEPARATOR)
}

/// Whether a list joined by "; " holds `item`.
pub fn has_item(list: &str, item: &str) -> bool {
    split_items(list).any(|x| x == item)
}

/// The items of a list joined by "; ".
pub fn split_items(list: &str) -> impl Iterator<Item = &str> {
    list.split(LIST_SEPARATOR)
        .map(str::trim)
        .filter(|x| !x.is_empty())
}

/// The longest note the on-screen keyboard types (the daemon takes up to 500 characters; a
/// screen shows about this much).
pub const MAX_TYPED: usize = 200;

/// A key of the text keyboard applied to a note: "back" removes the last character, "space"
/// adds one (never first or doubled), anything else is appended, capitalised when it starts
/// the note.
pub fn type_note(text: &str, key: &str) -> String {
    let mut out = text.to_owned();
    match key {
        "back" => {
            out.pop();
        }
        "space" if !out.is_empty() && !out.ends_with(' ') && out.chars().count() < MAX_TYPED => {
            out.push(' ');
        }
        "space" => {}
        k if !k.is_empty() && out.chars().count() + k.chars().count() <= MAX_TYPED => {
            if out.is_empty() {
                out.push_str(&k.to_uppercase());
            } else {
                out.push_str(k);
            }
        }
        _ => {}
    }
    out
}

/// What decides the staff screen's buttons.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskInputs {
    /// The pump's state ("idle", "running", "ended", …).
    pub state: String,
    /// "nurse" or "clinician".
    pub role: String,
    /// An alarm is active.
    pub alarm: bool,
    /// The sedation interlock holds delivery.
    pub sedation_hold: bool,
    /// "pain" or "spasticity".
    pub outcome_measure: String,
}

/// A staff screen button: what it does, its words, and its name for screen readers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskView {
    pub key: &'static str,
    pub label: &'static str,
    pub name: &'static str,
}

/// The staff screen's buttons for who is logged in and what the pump is doing, in the order
/// they show: what the pump needs now, then the records, then the trial's, then Log out.
pub fn staff_tasks(t: &TaskInputs) -> Vec<TaskView> {
    let task = |key, label, name| TaskView { key, label, name };
    let state = t.state.as_str();
    let clinician = t.role == "clinician";
    let delivering = matches!(state, "running" | "paused" | "alarm");
    let setting_up = matches!(state, "programmed" | "verified" | "priming");
    let ended = state == "ended";
    let mut tasks = Vec::new();
    if matches!(state, "idle" | "ended" | "") {
        tasks.push(task("wizard", "Start a trial", "Start a trial"));
    }
    if setting_up {
        tasks.push(task("wizard", "Continue setup", "Continue setup"));
        tasks.push(task(
            "checklist",
            "Pre-trial checklist",
            "Pre-trial checklist",
        ));
    }
    if state == "running" {
        tasks.push(task("pause", "Pause", "Pause"));
    }
    if matches!(state, "paused" | "alarm") {
        tasks.push(task("resume", "Resume", "Resume"));
    }
    if t.alarm {
        tasks.push(task("acknowledge", "Acknowledge", "Acknowledge"));
        tasks.push(task("silence", "Silence alarms", "Silence alarms"));
    }
    if delivering {
        tasks.push(task("reservoir", "Syringe change", "Syringe change"));
        tasks.push(task(
            "observation",
            "Sedation and vitals",
            "Sedation and vitals",
        ));
        tasks.push(task("site-check", "Site check", "Catheter site check"));
    }
    if t.outcome_measure == "spasticity" && (delivering || setting_up || ended) {
        tasks.push(task(
            "spasticity",
            "Spasticity (Ashworth)",
            "Spasticity (Ashworth)",
        ));
    }
    if delivering || ended {
        tasks.push(task("opioids", "Systemic opioids", "Systemic opioids"));
    }
    if t.sedation_hold && clinician {
        tasks.push(task("review", "Sedation review", "Sedation review"));
    }
    if delivering && clinician {
        tasks.push(task("basal", "Change dose", "Change dose"));
    }
    if delivering || ended {
        tasks.push(task("chart", "Chart", "Dose and pain chart"));
    }
    if (delivering || ended) && clinician {
        tasks.push(task("export", "Export", "Export the summary"));
    }
    if ended && clinician {
        tasks.push(task("decision", "Decision", "Record the decision"));
    }
    if ended {
        tasks.push(task("removal", "Catheter removed", "Catheter removed"));
    }
    if delivering || setting_up {
        tasks.push(task("end", "End trial", "End trial"));
    }
    tasks.push(task("logout", "Log out", "Log out"));
    tasks
}

/// The most rows of buttons beside the overview on the landscape display (with the simulated
/// and alarm banners shown).
pub const MAX_WIDE_ROWS: usize = 6;

/// Buttons per row beside the overview on the landscape display: two, or three when two would
/// need more than [`MAX_WIDE_ROWS`] rows.
pub fn wide_columns(tasks: usize) -> usize {
    if tasks > 2 * MAX_WIDE_ROWS { 3 } else { 2 }
}

/// Tasks in rows of `columns`, the last row filled with empty places so that every button
/// keeps the same width.
pub fn task_rows(tasks: &[TaskView], columns: usize) -> Vec<Vec<StaffTask>> {
    tasks
        .chunks(columns.max(1))
        .map(|chunk| {
            let mut row: Vec<StaffTask> = chunk
                .iter()
                .map(|t| StaffTask {
                    key: t.key.into(),
                    label: t.label.into(),
                    name: t.name.into(),
                })
                .collect();
            row.resize(columns.max(1), StaffTask::default());
            row
        })
        .collect()
}

/// Lays out the staff screen's buttons again from what the window shows (state, role, alarm,
/// hold, outcome measure); models are replaced only when the buttons changed, so that a
/// refresh never swaps a button from under a finger.
pub fn refresh_tasks(ui: &MainWindow) {
    use slint::Model as _;
    let pump = ui.global::<Pump>();
    let tasks = staff_tasks(&TaskInputs {
        state: pump.get_state().to_string(),
        role: pump.get_staff_role().to_string(),
        alarm: !pump.get_alarm_priority().is_empty(),
        sedation_hold: pump.get_sedation_hold(),
        outcome_measure: pump.get_outcome_measure().to_string(),
    });
    let shown: Vec<(String, String)> = pump
        .get_tasks_wide()
        .iter()
        .flat_map(|row| {
            row.iter()
                .map(|t| (t.key.to_string(), t.label.to_string()))
                .collect::<Vec<_>>()
        })
        .filter(|(k, _)| !k.is_empty())
        .collect();
    let wanted: Vec<(String, String)> = tasks
        .iter()
        .map(|t| (t.key.to_owned(), t.label.to_owned()))
        .collect();
    if shown == wanted {
        return;
    }
    let rows = |columns| {
        let rows: Vec<ModelRc<StaffTask>> = task_rows(&tasks, columns)
            .into_iter()
            .map(|r| ModelRc::new(VecModel::from(r)))
            .collect();
        ModelRc::new(VecModel::from(rows))
    };
    let wide = wide_columns(tasks.len());
    pump.set_tasks_wide(rows(wide));
    pump.set_tasks_wide_columns(i32::try_from(wide).unwrap_or(2));
    pump.set_tasks_tall(rows(3));
}

/// Connects the checks the screens ask of Rust while they draw (a typed temperature, a toggled
/// choice, a key of the text keyboard) and gives them the impression of change's answers.
/// Every window calls this once.
pub fn wire_checks(ui: &MainWindow) {
    let pump = ui.global::<Pump>();
    pump.on_check_temperature(|text| temperature_entry(&text).err().unwrap_or_default().into());
    pump.on_toggle(|list, item| toggle_item(&list, &item).into());
    pump.on_has(|list, item| has_item(&list, &item));
    pump.on_typed(|text, key| type_note(&text, &key).into());
    pump.set_pgic_answers(strings(
        crate::core::diary::PGIC
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
    ));
}

/// Shows the site protocol's function question and its answers.
pub fn show_diary_question(ui: &MainWindow, question: &str, answers: Vec<String>) {
    let pump = ui.global::<Pump>();
    pump.set_function_question(question.into());
    pump.set_function_answers(strings(answers));
}

/// The patient answered a prompt of `kind` ("pain", "function", "pgic", "skip"): the screen
/// moves on at once (to the function question after a pain score), before the daemon answers.
pub fn prompt_answered(ui: &MainWindow, kind: &str) {
    use slint::Model as _;
    let pump = ui.global::<Pump>();
    let has_question = pump.get_function_answers().row_count() > 0;
    pump.set_prompt(after_answer(kind, has_question).into());
}

/// Copies a status into the window.
pub fn apply_status(ui: &MainWindow, s: &Status, connected: bool) {
    apply(ui, &patient_view(s), s.simulated, connected);
    let pump = ui.global::<Pump>();
    pump.set_overview(strings(staff_overview(s)));
    pump.set_state(s.state.to_string().into());
    pump.set_outcome_measure(
        s.outcome_measure
            .map_or_else(String::new, |o| o.to_string())
            .into(),
    );
    let (line, late) = site_check_line(&s.site_check_due, s.site_check_due_in_s);
    pump.set_site_check_line(line.into());
    pump.set_site_check_late(late);
    let prompt = next_prompt(s, &pump.get_prompt());
    if pump.get_prompt() != prompt {
        pump.set_prompt(prompt.into());
    }
    pump.set_sedation_hold(sedation_hold(s));
    pump.set_silenced_s(silenced_seconds(s));
    pump.set_dose_unit(
        s.dose_unit
            .map_or_else(String::new, |u| u.to_string())
            .into(),
    );
    pump.set_setup(
        if s.drug.is_empty() {
            String::new()
        } else {
            format!("{} {}, {}", s.drug, s.concentration, s.reservoir_remaining)
        }
        .into(),
    );
    refresh_tasks(ui);
}

/// Shows the pre-trial checklist: each item, who confirmed it, and the override if any.
pub fn show_checklist(ui: &MainWindow, view: &crate::service::wire::ChecklistView) {
    let (items, by, reason) = view;
    let pump = ui.global::<Pump>();
    let model: Vec<CheckItem> = items
        .iter()
        .map(|i| CheckItem {
            id: i.id.clone().into(),
            text: i.text.clone().into(),
            done: i.confirmed,
            by: i.confirmed_by.clone().into(),
        })
        .collect();
    let (left, right): (Vec<_>, Vec<_>) = model
        .iter()
        .cloned()
        .enumerate()
        .partition(|(n, _)| n % 2 == 0);
    let column =
        |v: Vec<(usize, CheckItem)>| -> Vec<CheckItem> { v.into_iter().map(|(_, i)| i).collect() };
    pump.set_checklist_left(ModelRc::new(VecModel::from(column(left))));
    pump.set_checklist_right(ModelRc::new(VecModel::from(column(right))));
    pump.set_checklist(ModelRc::new(VecModel::from(model)));
    pump.set_checklist_override(
        if by.is_empty() {
            String::new()
        } else {
            format!("Started without every item confirmed: {by} decided \"{reason}\".")
        }
        .into(),
    );
}

/// Whether the sedation interlock holds delivery (its alarm stands until a clinician reviews).
pub fn sedation_hold(s: &Status) -> bool {
    s.alarms.iter().any(|a| a.kind == AlarmKind::Sedation)
}

/// Seconds the alarm tones stay paused: the longest pause among the sounding alarms (0 when
/// none is paused).
pub fn silenced_seconds(s: &Status) -> i32 {
    let now = i64::try_from(s.now_ms).unwrap_or(i64::MAX);
    let left = s
        .alarms
        .iter()
        .filter(|a| a.silenced_until_ms > now)
        .map(|a| (a.silenced_until_ms - now + 999) / 1000)
        .max()
        .unwrap_or(0);
    i32::try_from(left).unwrap_or(i32::MAX)
}

/// Shows what a basal change would mean (old and new side by side, and the findings).
pub fn show_basal_check(
    ui: &MainWindow,
    class: &str,
    findings: &[WireFinding],
    old: &str,
    new: &str,
) {
    let pump = ui.global::<Pump>();
    pump.set_change_class(class.into());
    pump.set_change_old(old.into());
    pump.set_change_new(new.into());
    pump.set_change_notes(strings(
        findings
            .iter()
            .filter(|f| f.class != "ok")
            .map(|f| format!("{} {}", if f.is_hard() { "✕" } else { "!" }, f.message))
            .collect(),
    ));
}

/// The clinician's chart as paths in a [`CHART_W`]×[`CHART_H`] box (y down; the screen keeps
/// that aspect, since a slint path scales uniformly): dose bars per bucket and the pain
/// scores joined by a line (0 at the bottom, 10 at the top), with the words around it.
pub const CHART_W: f64 = 1000.0;
pub const CHART_H: f64 = 250.0;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Chart {
    pub dose_path: String,
    pub pain_path: String,
    /// "Dose per 1h, highest 0.04 mg"
    pub dose_caption: String,
    /// "Pain 0–10: 6 scores, last 3"
    pub pain_caption: String,
    /// "Start … 2d 4h"
    pub span: String,
}

/// Draws a history (doses in ng, shown in `unit`).
pub fn chart(h: &crate::report::summary::History, unit: &str) -> Chart {
    use crate::core::units::{Amount, MassUnit};
    use std::fmt::Write as _;
    let unit = if unit == "mcg" {
        MassUnit::Mcg
    } else {
        MassUnit::Mg
    };
    let n = h.doses_ng.len().max(1);
    let span_ms = h.bucket_ms.saturating_mul(n as u64).max(1);
    let max = h.doses_ng.iter().copied().max().unwrap_or(0);
    let mut dose_path = String::new();
    if max > 0 {
        let w = CHART_W / n as f64;
        for (i, &ng) in h.doses_ng.iter().enumerate().filter(|(_, ng)| **ng > 0) {
            let x0 = i as f64 * w + w * 0.1;
            let x1 = x0 + w * 0.8;
            let y = CHART_H - CHART_H * ng as f64 / max as f64;
            let _ = write!(
                dose_path,
                "M {x0:.1} {CHART_H} L {x0:.1} {y:.1} L {x1:.1} {y:.1} L {x1:.1} {CHART_H} Z "
            );
        }
    }
    let mut pain_path = String::new();
    for (i, (t, p)) in h.pain.iter().enumerate() {
        let x = CHART_W * *t as f64 / span_ms as f64;
        let y = CHART_H - CHART_H / 10.0 * f64::from(*p);
        let _ = write!(
            pain_path,
            "{} {x:.1} {y:.1} ",
            if i == 0 { "M" } else { "L" }
        );
    }
    // A single score still shows: a short tick.
    if h.pain.len() == 1 {
        if let Some((t, p)) = h.pain.first() {
            let x = CHART_W * *t as f64 / span_ms as f64;
            let y = CHART_H - CHART_H / 10.0 * f64::from(*p);
            let _ = write!(pain_path, "L {:.1} {y:.1}", (x + 15.0).min(CHART_W));
        }
    }
    Chart {
        dose_path: dose_path.trim_end().to_owned(),
        pain_path: pain_path.trim_end().to_owned(),
        dose_caption: format!(
            "Dose per {} (bars), highest {}",
            Duration::from_ms(h.bucket_ms),
            Amount::from_ng(max).in_unit(unit)
        ),
        pain_caption: match h.pain.last() {
            None => "Pain 0–10 (line): no scores yet".to_owned(),
            Some((_, last)) => format!("Pain 0–10 (line): {} scores, last {last}", h.pain.len()),
        },
        span: format!("Start … {}", Duration::from_ms(span_ms)),
    }
}

/// A bolus trial's chart: the time course of the response to each bolus, in a
/// [`COURSE_W`]×[`COURSE_H`] box (y down; the screen keeps that aspect). Across, the hours after
/// each bolus; up, the score (0 at the axis, the scale's top at the top). One line per bolus
/// through its scores, the baseline dashed, and for each bolus its onset (a triangle under the
/// axis), peak (a square) and the end of its effect (a bar the height of the chart) — as the
/// PDF draws it.
pub const COURSE_W: f64 = 1000.0;
pub const COURSE_H: f64 = 200.0;
const COURSE_LEFT: f64 = 12.0;
const COURSE_RIGHT: f64 = 988.0;
const COURSE_TOP: f64 = 8.0;
const COURSE_AXIS: f64 = 176.0;

/// The bolus lines' colours in turn (the PDF's): blue, orange, purple.
pub const COURSE_COLOURS: [(u8, u8, u8); 3] = [(26, 117, 209), (242, 140, 26), (120, 84, 184)];

/// One bolus on the chart.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CourseCurve {
    /// Stroked: its scores joined, and the bar where its effect ended.
    pub line: String,
    /// Filled: a dot at each score, a square at the peak, a triangle under the axis at the onset.
    pub marks: String,
    pub colour: (u8, u8, u8),
    /// "Bolus of 0.2 mg at 0 h: onset 4 h, peak 3 at 4 h, duration 24 h"; the effective one's
    /// begins "Effective: ".
    pub text: String,
    pub effective: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CourseChart {
    /// A light line at each labelled score, the axis included.
    pub grid: String,
    /// The score before the trial, dashed ("" when there is none).
    pub baseline: String,
    pub curves: Vec<CourseCurve>,
    /// The score labels: (height from the top as a fraction of the box's, label).
    pub levels: Vec<(f32, String)>,
    /// The hours across: (width from the left as a fraction of the box's, label).
    pub ticks: Vec<(f32, String)>,
    pub captions: Vec<String>,
}

/// Hours for reading: "0 h", "45 min", "4 h", "6.5 h".
fn course_hours(h: f64) -> String {
    if h > 0.0 && h < 1.0 {
        format!("{} min", (h * 60.0).round())
    } else {
        format!("{} h", (h * 10.0).round() / 10.0)
    }
}

/// A score for reading: pain as a whole number, Ashworth with 1+ for 1.5.
fn course_score(v: f64, measure: u8) -> String {
    if measure == crate::report::summary::MEASURE_SPASTICITY && (v - 1.5).abs() < 1e-9 {
        "1+".to_owned()
    } else {
        format!("{}", (v * 10.0).round() / 10.0)
    }
}

/// Draws a bolus trial's response to each bolus.
pub fn course_chart(r: &crate::report::summary::BolusResponse) -> CourseChart {
    use std::fmt::Write as _;
    let spasticity = r.measure == crate::report::summary::MEASURE_SPASTICITY;
    let top = if r.scale_top > 0.0 { r.scale_top } else { 10.0 };
    let longest = r
        .boluses
        .iter()
        .flat_map(|b| b.points.iter().map(|p| p.0))
        .chain(r.boluses.iter().map(|b| b.duration_h))
        .fold(1.0_f64, f64::max);
    // Whole hours, at least 4.
    let span = longest.ceil().max(4.0);
    let x_of = |h: f64| COURSE_LEFT + (COURSE_RIGHT - COURSE_LEFT) * h.clamp(0.0, span) / span;
    let y_of = |v: f64| COURSE_AXIS - (COURSE_AXIS - COURSE_TOP) * v.clamp(0.0, top) / top;
    let step = if spasticity { 1.0 } else { 2.0 };
    let mut grid = String::new();
    let mut levels = Vec::new();
    let mut v = 0.0;
    while v <= top + 1e-9 {
        let y = y_of(v);
        let _ = write!(grid, "M 0 {y:.1} L {COURSE_W} {y:.1} ");
        levels.push(((y / COURSE_H) as f32, course_score(v, r.measure)));
        v += step;
    }
    let tick_step = if span <= 12.0 {
        1.0
    } else {
        (span / 12.0).ceil()
    };
    // Whole hours; the last says what they are.
    let count = (span / tick_step + 1e-9).floor() as u32;
    let ticks = (0..=count)
        .map(|k| {
            let t = f64::from(k) * tick_step;
            let unit = if k == count { " h" } else { "" };
            ((x_of(t) / COURSE_W) as f32, format!("{t}{unit}"))
        })
        .collect();
    let mut baseline = String::new();
    if r.baseline >= 0.0 {
        let y = y_of(r.baseline);
        let mut x = COURSE_LEFT;
        while x < COURSE_RIGHT {
            let _ = write!(
                baseline,
                "M {x:.1} {y:.1} L {:.1} {y:.1} ",
                (x + 16.0).min(COURSE_RIGHT)
            );
            x += 26.0;
        }
    }
    let curves = r
        .boluses
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let mut line = String::new();
            let mut marks = String::new();
            let square = |marks: &mut String, x: f64, y: f64, half: f64| {
                let _ = write!(
                    marks,
                    "M {:.1} {:.1} L {:.1} {:.1} L {:.1} {:.1} L {:.1} {:.1} Z ",
                    x - half,
                    y - half,
                    x + half,
                    y - half,
                    x + half,
                    y + half,
                    x - half,
                    y + half
                );
            };
            for (k, &(h, v)) in b.points.iter().enumerate() {
                let (x, y) = (x_of(h), y_of(v));
                let _ = write!(line, "{} {x:.1} {y:.1} ", if k == 0 { "M" } else { "L" });
                square(&mut marks, x, y, 4.0);
            }
            if b.peak_h >= 0.0 && b.peak_score >= 0.0 {
                square(&mut marks, x_of(b.peak_h), y_of(b.peak_score), 8.0);
            }
            if b.onset_h >= 0.0 {
                let x = x_of(b.onset_h);
                let _ = write!(
                    marks,
                    "M {:.1} {:.1} L {x:.1} {:.1} L {:.1} {:.1} Z ",
                    x - 9.0,
                    COURSE_AXIS + 19.0,
                    COURSE_AXIS + 3.0,
                    x + 9.0,
                    COURSE_AXIS + 19.0
                );
            }
            if b.duration_h >= 0.0 {
                let x = x_of(b.duration_h);
                let _ = write!(line, "M {x:.1} {COURSE_TOP} L {x:.1} {COURSE_AXIS} ");
            }
            let peak = (b.peak_score >= 0.0 && b.peak_h >= 0.0).then(|| {
                format!(
                    "{} at {}",
                    course_score(b.peak_score, r.measure),
                    course_hours(b.peak_h)
                )
            });
            let effect = match (b.responded, peak) {
                (true, peak) => format!(
                    "onset {}, peak {}, duration {}",
                    if b.onset_h >= 0.0 {
                        course_hours(b.onset_h)
                    } else {
                        "none".to_owned()
                    },
                    peak.unwrap_or_else(|| "none".to_owned()),
                    if b.duration_h >= 0.0 {
                        course_hours(b.duration_h)
                    } else {
                        // Still a response at the last score: "more than 6 h (…)".
                        b.effect.clone()
                    }
                ),
                (false, Some(best)) => format!("no response, best {best}"),
                (false, None) => "no score after it yet".to_owned(),
            };
            let text = format!(
                "{}Bolus of {} at {}{}: {effect}",
                if b.effective { "Effective: " } else { "" },
                b.dose,
                course_hours(b.at_h),
                if b.complete { "" } else { " (not given whole)" },
            );
            CourseCurve {
                line: line.trim_end().to_owned(),
                marks: marks.trim_end().to_owned(),
                colour: COURSE_COLOURS[i % COURSE_COLOURS.len()],
                text,
                effective: b.effective,
            }
        })
        .collect::<Vec<_>>();
    let mut captions = vec![format!(
        "{} against hours after each bolus; dashed: {}",
        if spasticity {
            "Ashworth 0–4"
        } else {
            "Pain 0–10"
        },
        if r.baseline >= 0.0 {
            format!("before the trial, {}", course_score(r.baseline, r.measure))
        } else {
            "no score before the trial".to_owned()
        }
    )];
    if curves.is_empty() {
        captions.push("No bolus has been given yet.".to_owned());
    }
    CourseChart {
        grid: grid.trim_end().to_owned(),
        baseline: baseline.trim_end().to_owned(),
        curves,
        levels,
        ticks,
        captions,
    }
}

/// Shows a bolus trial's time course on the clinician's chart screen (instead of the bars).
pub fn show_course_chart(ui: &MainWindow, c: &CourseChart) {
    let pump = ui.global::<Pump>();
    pump.set_chart_bolus(true);
    pump.set_chart_dose(SharedString::new());
    pump.set_chart_pain(SharedString::new());
    pump.set_chart_grid(c.grid.clone().into());
    pump.set_chart_baseline(c.baseline.clone().into());
    pump.set_chart_curves(model(
        c.curves
            .iter()
            .map(|k| ChartCurve {
                line: k.line.clone().into(),
                marks: k.marks.clone().into(),
                colour: slint::Color::from_rgb_u8(k.colour.0, k.colour.1, k.colour.2),
                text: k.text.clone().into(),
                effective: k.effective,
            })
            .collect(),
    ));
    let ticks = |v: &[(f32, String)]| {
        model(
            v.iter()
                .map(|(at, label)| ChartTick {
                    at: *at,
                    label: label.clone().into(),
                })
                .collect(),
        )
    };
    pump.set_chart_levels(ticks(&c.levels));
    pump.set_chart_ticks(ticks(&c.ticks));
    pump.set_chart_captions(strings(c.captions.clone()));
}

/// The worksheet's lines as the export screen shows them: the ones that scroll, and the status
/// (the daemon's last line: confirmed, or what is still to do), which always shows.
pub fn export_parts(mut lines: Vec<String>) -> (Vec<String>, String) {
    let status = lines.pop().unwrap_or_default();
    (lines, status)
}

/// Shows the export screen's worksheet: its lines, whether it proposes a starting dose, and
/// whether a clinician confirmed one.
pub fn show_export(ui: &MainWindow, lines: Vec<String>, has_proposal: bool, confirmed: bool) {
    let pump = ui.global::<Pump>();
    let (lines, status) = export_parts(lines);
    pump.set_export_lines(strings(lines));
    pump.set_export_status(status.into());
    pump.set_export_has_proposal(has_proposal);
    pump.set_export_confirmed(confirmed);
}

/// Shows the chart on the clinician's screen.
pub fn show_chart(ui: &MainWindow, c: &Chart) {
    let pump = ui.global::<Pump>();
    pump.set_chart_bolus(false);
    pump.set_chart_curves(model(Vec::new()));
    pump.set_chart_dose(c.dose_path.clone().into());
    pump.set_chart_pain(c.pain_path.clone().into());
    pump.set_chart_captions(strings(vec![
        c.dose_caption.clone(),
        c.pain_caption.clone(),
        c.span.clone(),
    ]));
}

fn strings(lines: Vec<String>) -> ModelRc<SharedString> {
    let lines: Vec<SharedString> = lines.into_iter().map(Into::into).collect();
    ModelRc::new(VecModel::from(lines))
}

fn model<T: Clone + 'static>(items: Vec<T>) -> ModelRc<T> {
    ModelRc::new(VecModel::from(items))
}

// ---- the start-trial wizard ------------------------------------------------------------------

/// The wizard's state, shared by the window's callbacks and the task that talks to the daemon.
pub type SharedWizard = Arc<Mutex<Wizard>>;

/// The daemon's answer to a wizard [`Request`].
#[derive(Debug, Clone)]
pub enum Reply {
    Library(Vec<LibraryChoice>),
    Findings {
        generation: u64,
        class: String,
        findings: Vec<WireFinding>,
    },
    /// The program could not be read (the daemon's words).
    Invalid {
        generation: u64,
        message: String,
    },
    /// Programmed, primed or started.
    Done,
    /// Refused, with the daemon's words.
    Failed(String),
}

fn lock(w: &SharedWizard) -> MutexGuard<'_, Wizard> {
    // A panic while holding the lock leaves a wizard that is still consistent enough to show.
    w.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Copies the wizard's view into the window.
pub fn show_wizard(ui: &MainWindow, v: &WizardView) {
    let w = ui.global::<WizardState>();
    w.set_step(i32::try_from(v.step).unwrap_or(0));
    w.set_steps(i32::try_from(v.steps).unwrap_or(0));
    w.set_title(v.title.clone().into());
    w.set_layout(v.layout.clone().into());
    w.set_text(v.text.clone().into());
    w.set_groups(model(
        v.groups
            .iter()
            .map(|g| WGroup {
                key: g.key.clone().into(),
                title: g.title.clone().into(),
                value: g.value.clone().into(),
                options: model(
                    g.options
                        .iter()
                        .map(|o| WOption {
                            key: o.key.clone().into(),
                            label: o.label.clone().into(),
                            selected: o.selected,
                        })
                        .collect(),
                ),
            })
            .collect(),
    ));
    w.set_fields(model(
        v.fields
            .iter()
            .map(|f| WField {
                key: f.key.clone().into(),
                label: f.label.clone().into(),
                value: f.value.clone().into(),
                unit: f.unit.clone().into(),
                mark: f.mark.clone().into(),
                selected: f.selected,
            })
            .collect(),
    ));
    w.set_notes(model(
        v.notes
            .iter()
            .map(|n| WNote {
                kind: n.class.clone().into(),
                text: n.text.clone().into(),
            })
            .collect(),
    ));
    w.set_lines(strings(v.lines.clone()));
    w.set_can_next(v.can_next);
    w.set_next_label(v.next_label.clone().into());
    w.set_can_back(v.can_back);
    w.set_busy(v.busy);
}

/// Shows the wizard after a change and passes its request on; closing goes back to the staff
/// screen.
fn after(ui: &MainWindow, wizard: &SharedWizard, request: Option<Request>, send: &dyn Fn(Request)) {
    let view = lock(wizard).view();
    show_wizard(ui, &view);
    match request {
        Some(Request::Close) => {
            ui.global::<Nav>().invoke_go("staff".into());
            ui.global::<Pump>().set_message("Delivery started.".into());
        }
        Some(r) => send(r),
        None => {}
    }
}

/// Hands a daemon's answer to the wizard and shows the result.
pub fn wizard_reply(ui: &MainWindow, wizard: &SharedWizard, reply: Reply, send: &dyn Fn(Request)) {
    let request = {
        let mut w = lock(wizard);
        match reply {
            Reply::Library(choices) => {
                w.set_library(choices);
                None
            }
            Reply::Findings {
                generation,
                class,
                findings,
            } => {
                w.set_findings(generation, &class, findings);
                None
            }
            Reply::Invalid {
                generation,
                message,
            } => {
                w.set_invalid(generation, &message);
                None
            }
            Reply::Done => w.done(),
            Reply::Failed(message) => {
                w.failed(&message);
                None
            }
        }
    };
    after(ui, wizard, request, send);
}

/// Answers a wizard's request from a pump service in the same process (the UI tests and the
/// screenshots; the real UI goes through D-Bus, whose methods call the same service functions).
pub fn answer_directly(
    service: &mut crate::service::pump::PumpService,
    token: &str,
    now: crate::core::units::Timestamp,
    request: &Request,
) -> Reply {
    let done = |r: Result<(), crate::service::pump::ServiceError>| {
        r.map_or_else(|e| Reply::Failed(e.to_string()), |()| Reply::Done)
    };
    match request {
        Request::Library => Reply::Library(service.library_choices()),
        Request::Validate {
            generation,
            program,
        } => match service.validate(program) {
            Ok(report) => {
                let (class, findings) = crate::service::wire::verdict_wire(&report.verdict);
                Reply::Findings {
                    generation: *generation,
                    class,
                    findings,
                }
            }
            Err(e) => Reply::Invalid {
                generation: *generation,
                message: e.to_string(),
            },
        },
        Request::StartTrial {
            program,
            confirm,
            verifier_pin,
        } => done(service.start_trial(token, program, *confirm, verifier_pin, now)),
        Request::Prime => done(service.prime(token, now)),
        Request::Start => done(service.start(token, now)),
        Request::Close => Reply::Done,
    }
}

/// Connects the wizard's buttons; `send` carries its requests to the daemon (whose answers come
/// back through [`wizard_reply`]).
pub fn wire_wizard(
    ui: &MainWindow,
    wizard: SharedWizard,
    send: impl Fn(Request) + Clone + 'static,
) {
    let w = ui.global::<WizardState>();
    // Each callback: change the wizard (lock released before anything is sent, as an answer
    // may come back at once), show it, send what it asks.
    macro_rules! on {
        ($set:ident, |$wz:ident $(, $arg:ident)*| $body:expr) => {{
            let wizard = wizard.clone();
            let send = send.clone();
            let weak = ui.as_weak();
            w.$set(move |$($arg),*| {
                let Some(ui) = weak.upgrade() else { return };
                let request = {
                    let mut $wz = lock(&wizard);
                    $body
                };
                after(&ui, &wizard, request, &send);
            });
        }};
    }
    on!(on_key, |wz, k| wz.key(&k));
    on!(on_choose, |wz, group, key| wz.choose(&group, &key));
    on!(on_stepper, |wz, group, delta| wz.stepper(&group, delta));
    on!(on_select_field, |wz, key| {
        wz.select_field(&key);
        None
    });
    on!(on_next, |wz| wz.go_on());
    on!(on_back, |wz| {
        wz.back();
        None
    });
    on!(on_verify, |wz, pin| wz.verify(&pin));
    {
        let weak = ui.as_weak();
        w.on_cancel(move || {
            if let Some(ui) = weak.upgrade() {
                ui.global::<Nav>().invoke_go("staff".into());
            }
        });
    }
    let weak = ui.as_weak();
    ui.global::<Pump>().on_open_wizard(move || {
        let Some(ui) = weak.upgrade() else { return };
        let pump = ui.global::<Pump>();
        let state = pump.get_state();
        *lock(&wizard) = match state.as_str() {
            "programmed" | "verified" | "priming" => Wizard::resume(&state, &pump.get_setup()),
            _ => Wizard::new(),
        };
        ui.global::<Nav>().invoke_go("wizard".into());
        after(&ui, &wizard, Some(Request::Library), &send);
    });
}

/// Shows who is logged in (empty to log out) and switches to the staff or patient screen.
pub fn set_staff(ui: &MainWindow, name: &str, role: &str) {
    let pump = ui.global::<Pump>();
    pump.set_staff_name(name.into());
    pump.set_staff_role(role.into());
    pump.set_pin_message("".into());
    pump.set_message("".into());
    refresh_tasks(ui);
    let nav = ui.global::<Nav>();
    nav.invoke_go(if name.is_empty() { "patient" } else { "staff" }.into());
}

/// Copies a view into the window.
pub fn apply(ui: &MainWindow, view: &PatientView, simulated: bool, connected: bool) {
    let pump = ui.global::<Pump>();
    pump.set_headline(view.headline.clone().into());
    pump.set_delivered_today(view.delivered_today.clone().into());
    pump.set_reservoir(view.reservoir.clone().into());
    pump.set_bolus_line(view.bolus_line.clone().into());
    pump.set_bolus_allowed(view.bolus_allowed);
    pump.set_alarm_priority(view.alarm_priority.clone().into());
    pump.set_alarm_text(view.alarm_text.clone().into());
    pump.set_call_nurse(view.call_nurse);
    pump.set_simulated(simulated);
    pump.set_connected(connected);
}

/// Shows the pump's answer to the last press or entry.
pub fn show_message(ui: &MainWindow, message: &str) {
    ui.global::<Pump>().set_message(message.into());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::units::Timestamp;
    use crate::service::wire::AlarmStatus;

    fn status(state: State, next: i64) -> Status {
        let mut s = Status::empty(Timestamp::ORIGIN);
        s.state = state;
        s.drug = "morphine".to_owned();
        s.basal_per_day = "0.5 mg/day".to_owned();
        s.patient_bolus = "0.05 mg every 1h at most".to_owned();
        s.next_bolus_in_s = next;
        s
    }

    #[test]
    fn the_headline_says_what_the_pump_does_in_words() {
        assert_eq!(
            patient_view(&status(State::Running, 0)).headline,
            "Running — morphine 0.5 mg/day"
        );
        assert_eq!(
            patient_view(&status(State::Paused, -1)).headline,
            "Paused by your nurse"
        );
    }

    #[test]
    fn the_bolus_button_follows_the_lockout() {
        let v = patient_view(&status(State::Running, 0));
        assert!(v.bolus_allowed);
        assert_eq!(v.bolus_line, "You can press for a dose now.");
        let v = patient_view(&status(State::Running, 25 * 60));
        assert!(!v.bolus_allowed);
        assert_eq!(v.bolus_line, "Next dose available in 25min.");
        let v = patient_view(&status(State::Paused, -1));
        assert!(!v.bolus_allowed);
        assert_eq!(v.bolus_line, "A dose cannot be given now.");
    }

    #[test]
    fn the_staff_overview_writes_dose_per_day_first() {
        let mut s = status(State::Running, 0);
        s.patient = "MRN-1".to_owned();
        s.concentration = "1 mg/mL".to_owned();
        s.basal_per_hour = "0.0208 mg/h".to_owned();
        s.basal_ml_per_hour = "0.0208 mL/h".to_owned();
        let lines = staff_overview(&s);
        assert_eq!(lines[0], "Pump running — patient MRN-1");
        assert_eq!(
            lines[1],
            "morphine 1 mg/mL: basal 0.5 mg/day (0.0208 mg/h, 0.0208 mL/h)"
        );
        assert_eq!(
            staff_overview(&Status::empty(Timestamp::ORIGIN))[0],
            "Pump idle: no trial programmed."
        );
    }

    #[test]
    fn the_highest_alarm_is_shown_and_asks_for_the_nurse() {
        let mut s = status(State::Alarm, -1);
        for (kind, priority) in [
            (AlarmKind::ReservoirLow, Priority::Medium),
            (AlarmKind::Occlusion, Priority::High),
        ] {
            s.alarms.push(AlarmStatus {
                kind,
                priority,
                message: format!("{kind:?} message"),
                since_ms: 0,
                silenced_until_ms: -1,
            });
        }
        let v = patient_view(&s);
        assert_eq!(v.alarm_priority, "high");
        assert_eq!(v.alarm_text, "Occlusion message");
        assert!(v.call_nurse);
        assert_eq!(v.headline, "Stopped — your nurse is needed");
    }

    #[test]
    fn the_audio_paused_countdown_rounds_up_and_ends() {
        let mut s = status(State::Alarm, -1);
        s.now_ms = 10_000;
        let alarm = |until: i64| AlarmStatus {
            kind: AlarmKind::Occlusion,
            priority: Priority::High,
            message: String::new(),
            since_ms: 0,
            silenced_until_ms: until,
        };
        s.alarms = vec![alarm(-1)];
        assert_eq!(silenced_seconds(&s), 0, "not silenced");
        s.alarms = vec![alarm(-1), alarm(10_000 + 119_001)];
        assert_eq!(silenced_seconds(&s), 120, "a part second counts as one");
        s.alarms = vec![alarm(10_000)];
        assert_eq!(silenced_seconds(&s), 0, "the pause is over");
    }

    #[test]
    fn the_chart_scales_dose_bars_to_the_highest_and_pain_to_ten() {
        let h = crate::report::summary::History {
            bucket_ms: 3_600_000,
            doses_ng: vec![20_000, 0, 40_000, 10_000],
            pain: vec![(0, 8), (2 * 3_600_000, 3)],
        };
        let c = chart(&h, "mg");
        assert_eq!(
            c.dose_path,
            "M 25.0 250 L 25.0 125.0 L 225.0 125.0 L 225.0 250 Z \
             M 525.0 250 L 525.0 0.0 L 725.0 0.0 L 725.0 250 Z \
             M 775.0 250 L 775.0 187.5 L 975.0 187.5 L 975.0 250 Z"
        );
        assert_eq!(c.pain_path, "M 0.0 50.0 L 500.0 175.0");
        assert_eq!(c.dose_caption, "Dose per 1h (bars), highest 0.04 mg");
        assert_eq!(c.pain_caption, "Pain 0–10 (line): 2 scores, last 3");
        assert_eq!(c.span, "Start … 4h");
        let none = chart(
            &crate::report::summary::History {
                bucket_ms: 3_600_000,
                doses_ng: vec![0],
                pain: vec![(1_800_000, 5)],
            },
            "mg",
        );
        assert_eq!(none.dose_path, "", "no dose, no bars");
        assert_eq!(
            none.pain_path, "M 500.0 125.0 L 515.0 125.0",
            "one score is a tick"
        );
    }

    fn course(at_h: f64, points: Vec<(f64, f64)>) -> crate::report::summary::BolusCourse {
        crate::report::summary::BolusCourse {
            at_h,
            dose: "50 mcg".to_owned(),
            by: "scheduled".to_owned(),
            effective: false,
            complete: true,
            responded: false,
            onset_h: -1.0,
            peak_h: -1.0,
            peak_score: -1.0,
            duration_h: -1.0,
            effect: "no response".to_owned(),
            points,
        }
    }

    #[test]
    fn the_bolus_chart_draws_each_bolus_against_the_hours_after_it() {
        use crate::report::summary::{BolusResponse, MEASURE_PAIN, MEASURE_SPASTICITY};
        let mut first = course(0.0, vec![(2.0, 3.0), (4.0, 3.0)]);
        (first.peak_h, first.peak_score) = (2.0, 3.0);
        let mut second = course(24.0, vec![(2.0, 2.0), (4.0, 1.5), (8.0, 3.0)]);
        second.effective = true;
        second.responded = true;
        second.complete = false;
        (second.onset_h, second.peak_h, second.peak_score) = (2.0, 4.0, 1.5);
        second.duration_h = 8.0;
        let r = BolusResponse {
            bolus_trial: true,
            measure: MEASURE_SPASTICITY,
            baseline: 3.0,
            scale_top: 4.0,
            boluses: vec![first, second, course(48.0, Vec::new())],
        };
        let c = course_chart(&r);
        // 8 h across (the longest), 0 to 4 up: x = 12 + 976 h / 8, y = 176 - 42 score.
        assert_eq!(
            c.curves[1].line,
            "M 256.0 92.0 L 500.0 113.0 L 988.0 50.0 M 988.0 8 L 988.0 176"
        );
        assert!(
            c.curves[1]
                .marks
                .ends_with("M 492.0 105.0 L 508.0 105.0 L 508.0 121.0 L 492.0 121.0 Z M 247.0 195.0 L 256.0 179.0 L 265.0 195.0 Z"),
            "the peak a square, the onset a triangle under the axis: {}",
            c.curves[1].marks
        );
        assert!(c.curves[0].line.starts_with("M 256.0 50.0 L 500.0 50.0"));
        assert!(
            c.baseline
                .starts_with("M 12.0 50.0 L 28.0 50.0 M 38.0 50.0")
        );
        assert_eq!(
            c.curves.iter().map(|k| k.text.as_str()).collect::<Vec<_>>(),
            [
                "Bolus of 50 mcg at 0 h: no response, best 3 at 2 h",
                "Effective: Bolus of 50 mcg at 24 h (not given whole): onset 2 h, peak 1+ at 4 h, duration 8 h",
                "Bolus of 50 mcg at 48 h: no score after it yet",
            ]
        );
        assert_eq!(
            c.curves.iter().map(|k| k.colour).collect::<Vec<_>>(),
            [COURSE_COLOURS[0], COURSE_COLOURS[1], COURSE_COLOURS[2]]
        );
        assert_eq!(
            c.levels.iter().map(|l| l.1.as_str()).collect::<Vec<_>>(),
            ["0", "1", "2", "3", "4"]
        );
        assert_eq!(c.ticks.len(), 9);
        assert_eq!(c.ticks[8], (0.988, "8 h".to_owned()));
        assert_eq!(
            c.captions,
            ["Ashworth 0–4 against hours after each bolus; dashed: before the trial, 3"]
        );

        // Pain, still a response at the last score, no baseline, a long observation.
        let mut still = course(0.0, vec![(0.5, 2.0), (30.0, 3.0)]);
        still.responded = true;
        (still.onset_h, still.peak_h, still.peak_score) = (0.5, 0.5, 2.0);
        still.effect = "more than 30 h (still a response at the last score)".to_owned();
        let c = course_chart(&BolusResponse {
            bolus_trial: true,
            measure: MEASURE_PAIN,
            baseline: -1.0,
            scale_top: 10.0,
            boluses: vec![still],
        });
        assert_eq!(
            c.curves[0].text,
            "Bolus of 50 mcg at 0 h: onset 30 min, peak 2 at 30 min, duration more than 30 h (still a response at the last score)"
        );
        assert_eq!(c.baseline, "", "no score before the trial, no dashes");
        assert_eq!(
            c.ticks.iter().map(|t| t.1.as_str()).collect::<Vec<_>>(),
            [
                "0", "3", "6", "9", "12", "15", "18", "21", "24", "27", "30 h"
            ]
        );
        assert_eq!(
            c.levels.iter().map(|l| l.1.as_str()).collect::<Vec<_>>(),
            ["0", "2", "4", "6", "8", "10"]
        );
        assert!(c.captions[0].ends_with("dashed: no score before the trial"));
        let none = course_chart(&BolusResponse {
            bolus_trial: true,
            measure: MEASURE_PAIN,
            baseline: 7.0,
            scale_top: 10.0,
            boluses: Vec::new(),
        });
        assert_eq!(none.captions[1], "No bolus has been given yet.");
    }

    #[test]
    fn the_patient_is_asked_pain_then_function_and_pgic_after_the_end() {
        let mut s = status(State::Running, 0);
        s.outcome_measure = Some(OutcomeMeasure::Pain);
        assert_eq!(next_prompt(&s, ""), "", "nothing due");
        s.pain_prompt = true;
        assert_eq!(next_prompt(&s, ""), "pain");
        // The score was given: the function question follows, and stays while the daemon no
        // longer asks for pain, until answered or left.
        assert_eq!(after_answer("pain", true), "function");
        assert_eq!(
            after_answer("pain", false),
            "",
            "no question in the protocol"
        );
        s.pain_prompt = false;
        assert_eq!(next_prompt(&s, "function"), "function");
        assert_eq!(after_answer("function", true), "");
        assert_eq!(after_answer("skip", true), "");
        assert_eq!(next_prompt(&s, ""), "");
        // A spasticity trial never prompts for pain.
        s.pain_prompt = true;
        s.outcome_measure = Some(OutcomeMeasure::Spasticity);
        assert_eq!(next_prompt(&s, ""), "");
        // Once ended: the impression of change, whatever was on the screen.
        s.state = State::Ended;
        s.pain_prompt = false;
        s.pgic_prompt = true;
        assert_eq!(next_prompt(&s, "function"), "pgic");
        assert_eq!(after_answer("pgic", true), "");
        s.pgic_prompt = false;
        assert_eq!(
            next_prompt(&s, "function"),
            "",
            "no function question after the end"
        );
    }

    #[test]
    fn a_typed_temperature_is_checked_before_it_is_sent() {
        assert_eq!(temperature_entry(""), Ok(None));
        assert_eq!(temperature_entry("37.8"), Ok(Some(37.8)));
        assert_eq!(temperature_entry("38"), Ok(Some(38.0)));
        assert_eq!(temperature_entry("25"), Ok(Some(25.0)));
        assert_eq!(temperature_entry("45.0"), Ok(Some(45.0)));
        for wrong in ["3.7.8", ".", "37.", ".5", "abc"] {
            assert_eq!(
                temperature_entry(wrong),
                Err("Type the temperature like this: 37.8".to_owned()),
                "{wrong}"
            );
        }
        assert_eq!(
            temperature_entry("37.85"),
            Err("Give the temperature to a tenth of a degree (37.8).".to_owned())
        );
        for out in ["378", "24.9", "45.1", "98.6"] {
            assert!(
                temperature_entry(out)
                    .unwrap_err()
                    .starts_with("A body temperature is between 25 and 45"),
                "{out}"
            );
        }
    }

    #[test]
    fn choices_toggle_in_a_list() {
        let l = toggle_item("", "redness");
        assert_eq!(l, "redness");
        let l = toggle_item(&l, "leak");
        assert_eq!(l, "redness; leak");
        assert!(has_item(&l, "leak"));
        assert!(!has_item(&l, "lea"), "whole items only");
        assert_eq!(toggle_item(&l, "redness"), "leak");
        assert_eq!(toggle_item("leak", "leak"), "");
        assert_eq!(toggle_item("leak", ""), "leak");
        assert_eq!(
            split_items("redness; headache_upright").collect::<Vec<_>>(),
            ["redness", "headache_upright"]
        );
        assert_eq!(split_items("").count(), 0);
    }

    #[test]
    fn the_text_keyboard_types_a_note() {
        let mut t = String::new();
        for k in [
            "space", "t", "i", "p", "space", "space", "o", "k", "back", "back", "x",
        ] {
            t = type_note(&t, k);
        }
        assert_eq!(t, "Tip x", "capitalised, no leading or double space");
        let long = "a".repeat(MAX_TYPED);
        assert_eq!(type_note(&long, "b"), long, "full");
        assert_eq!(type_note("", "back"), "");
    }

    #[test]
    fn the_worksheet_status_shows_apart_from_the_lines_that_scroll() {
        let (lines, status) = export_parts(vec![
            "Effective trial dose 1 mg per day: …".to_owned(),
            "The trial has not ended: the dose is confirmed after the end.".to_owned(),
        ]);
        assert_eq!(lines, ["Effective trial dose 1 mg per day: …"]);
        assert_eq!(
            status,
            "The trial has not ended: the dose is confirmed after the end."
        );
        assert_eq!(export_parts(Vec::new()), (Vec::new(), String::new()));
    }

    #[test]
    fn systemic_opioids_are_sent_as_oral_morphine_equivalents_per_day() {
        assert_eq!(opioids_entry("60"), "60 mg/day");
        assert_eq!(opioids_entry(" 7.5 "), "7.5 mg/day");
        assert_eq!(
            opioids_recorded("60"),
            "Recorded: 60 mg/day oral morphine equivalents."
        );
    }

    #[test]
    fn the_site_check_line_says_when_the_next_is_due() {
        assert_eq!(
            site_check_line("in 3h 20min", Some(12_000)),
            ("Site check due in 3h 20min".to_owned(), false)
        );
        assert_eq!(
            site_check_line("overdue", Some(-60)),
            ("Site check overdue".to_owned(), true)
        );
        assert_eq!(
            site_check_line("now", Some(0)),
            ("Site check due now".to_owned(), true)
        );
        assert_eq!(site_check_line("", None), (String::new(), false));
        assert_eq!(
            site_check_recorded(38.6, &["redness".to_owned(), "headache_upright".to_owned()]),
            "Site check recorded: 38.6 °C; redness, headache when upright. Tell the clinician."
        );
        assert_eq!(
            site_check_recorded(36.8, &[]),
            "Site check recorded: 36.8 °C, site clean."
        );
    }

    fn keys_of(t: &TaskInputs) -> Vec<&'static str> {
        staff_tasks(t).iter().map(|t| t.key).collect()
    }

    #[test]
    fn the_staff_buttons_follow_the_state_and_the_role() {
        let mut t = TaskInputs {
            state: "running".to_owned(),
            role: "nurse".to_owned(),
            outcome_measure: "pain".to_owned(),
            ..TaskInputs::default()
        };
        assert_eq!(
            keys_of(&t),
            [
                "pause",
                "reservoir",
                "observation",
                "site-check",
                "opioids",
                "chart",
                "end",
                "logout"
            ]
        );
        t.role = "clinician".to_owned();
        t.alarm = true;
        t.sedation_hold = true;
        t.state = "alarm".to_owned();
        assert_eq!(
            keys_of(&t),
            [
                "resume",
                "acknowledge",
                "silence",
                "reservoir",
                "observation",
                "site-check",
                "opioids",
                "review",
                "basal",
                "chart",
                "export",
                "end",
                "logout"
            ]
        );
        // Spasticity trials offer the Ashworth score, before, during and after delivery.
        t = TaskInputs {
            state: "verified".to_owned(),
            role: "nurse".to_owned(),
            outcome_measure: "spasticity".to_owned(),
            ..TaskInputs::default()
        };
        assert_eq!(
            keys_of(&t),
            ["wizard", "checklist", "spasticity", "end", "logout"]
        );
        // After the end: the decision for a clinician, the removal for both.
        t.state = "ended".to_owned();
        t.outcome_measure = "pain".to_owned();
        assert_eq!(
            keys_of(&t),
            ["wizard", "opioids", "chart", "removal", "logout"]
        );
        t.role = "clinician".to_owned();
        assert_eq!(
            keys_of(&t),
            [
                "wizard", "opioids", "chart", "export", "decision", "removal", "logout"
            ]
        );
        let rows = task_rows(&staff_tasks(&t), 4);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].len(), 4, "the last row keeps its places");
        assert_eq!(rows[1][2].name, "Log out");
        assert_eq!(rows[1][3].key, "", "an empty place");
        // The most buttons at once (a clinician, an alarm, the sedation hold, a spasticity
        // trial): three a row beside the overview, so that they fit in height.
        t = TaskInputs {
            state: "alarm".to_owned(),
            role: "clinician".to_owned(),
            alarm: true,
            sedation_hold: true,
            outcome_measure: "spasticity".to_owned(),
        };
        let n = staff_tasks(&t).len();
        assert_eq!(n, 14);
        assert_eq!(wide_columns(n), 3);
        assert!(task_rows(&staff_tasks(&t), wide_columns(n)).len() <= MAX_WIDE_ROWS);
        assert_eq!(wide_columns(12), 2);
    }
}
