//! The touchscreen UI's Rust side (ui/*.slint is the UI itself): turns what the daemon reports
//! into the words the screens show, and carries the buttons' calls to the daemon. The formatting
//! is plain Rust, tested without a window; `apply` only copies it into the `Pump` global.

use std::sync::{Arc, Mutex, MutexGuard};

use slint::{ModelRc, SharedString, VecModel};

use crate::core::units::Duration;
use crate::service::pump::{Finding5, LibraryChoice, Status};
use wizard::{Request, Wizard, WizardView};

slint::include_modules!();

pub mod client;
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

fn rank(priority: &str) -> u8 {
    match priority {
        "high" => 4,
        "medium" => 3,
        "low" => 2,
        "info" => 1,
        _ => 0,
    }
}

/// The patient screen for a status, in words for patients.
pub fn patient_view(s: &Status) -> PatientView {
    let top = s.alarms.iter().max_by_key(|a| rank(&a.priority));
    let headline = match s.state.as_str() {
        "running" => format!("Running — {} {}", s.drug, s.basal_per_day),
        "paused" => "Paused by your nurse".to_owned(),
        // The alarm banner above carries the alarm's own words; the headline stays short so that
        // nothing the patient needs is pushed off a small screen.
        "alarm" => "Stopped — your nurse is needed".to_owned(),
        "idle" => "No treatment programmed".to_owned(),
        "programmed" | "verified" | "priming" => "Your nurse is setting up the pump".to_owned(),
        "ended" => "The trial has ended".to_owned(),
        other => other.to_owned(),
    };
    let bolus_allowed = s.state == "running" && s.next_bolus_in_s == 0;
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
        alarm_priority: top.map(|a| a.priority.clone()).unwrap_or_default(),
        alarm_text: top.map(|a| a.message.clone()).unwrap_or_default(),
        call_nurse: top.is_some_and(|a| rank(&a.priority) >= rank("medium")),
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

/// Copies a status into the window.
pub fn apply_status(ui: &MainWindow, s: &Status, connected: bool) {
    apply(ui, &patient_view(s), s.simulated, connected);
    let pump = ui.global::<Pump>();
    pump.set_overview(strings(staff_overview(s)));
    pump.set_state(s.state.clone().into());
    pump.set_sedation_hold(sedation_hold(s));
    pump.set_silenced_s(silenced_seconds(s));
    pump.set_dose_unit(s.dose_unit.clone().into());
    pump.set_setup(
        if s.drug.is_empty() {
            String::new()
        } else {
            format!("{} {}, {}", s.drug, s.concentration, s.reservoir_remaining)
        }
        .into(),
    );
}

/// Shows the pre-trial checklist: each item, who confirmed it, and the override if any.
pub fn show_checklist(ui: &MainWindow, view: &crate::service::pump::ChecklistView) {
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
    s.alarms.iter().any(|a| a.kind == "sedation")
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
pub fn show_basal_check(ui: &MainWindow, class: &str, findings: &[Finding5], old: &str, new: &str) {
    let pump = ui.global::<Pump>();
    pump.set_change_class(class.into());
    pump.set_change_old(old.into());
    pump.set_change_new(new.into());
    pump.set_change_notes(strings(
        findings
            .iter()
            .filter(|f| f.3 != "ok")
            .map(|f| format!("{} {}", if f.3 == "hard" { "✕" } else { "!" }, f.4))
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
pub fn chart(h: &crate::summary::History, unit: &str) -> Chart {
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

/// Shows the export screen's worksheet.
pub fn show_export(ui: &MainWindow, lines: Vec<String>, has_rule: bool, confirmed: bool) {
    let pump = ui.global::<Pump>();
    pump.set_export_lines(strings(lines));
    pump.set_export_has_rule(has_rule);
    pump.set_export_confirmed(confirmed);
}

/// Shows the chart on the clinician's screen.
pub fn show_chart(ui: &MainWindow, c: &Chart) {
    let pump = ui.global::<Pump>();
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
        findings: Vec<Finding5>,
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
                let (class, findings) = crate::service::pump::verdict_tuple(&report.verdict);
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
    use crate::service::pump::AlarmStatus;

    fn status(state: &str, next: i64) -> Status {
        let mut s = Status::empty(Timestamp::ORIGIN);
        s.state = state.to_owned();
        s.drug = "morphine".to_owned();
        s.basal_per_day = "0.5 mg/day".to_owned();
        s.patient_bolus = "0.05 mg every 1h at most".to_owned();
        s.next_bolus_in_s = next;
        s
    }

    #[test]
    fn the_headline_says_what_the_pump_does_in_words() {
        assert_eq!(
            patient_view(&status("running", 0)).headline,
            "Running — morphine 0.5 mg/day"
        );
        assert_eq!(
            patient_view(&status("paused", -1)).headline,
            "Paused by your nurse"
        );
    }

    #[test]
    fn the_bolus_button_follows_the_lockout() {
        let v = patient_view(&status("running", 0));
        assert!(v.bolus_allowed);
        assert_eq!(v.bolus_line, "You can press for a dose now.");
        let v = patient_view(&status("running", 25 * 60));
        assert!(!v.bolus_allowed);
        assert_eq!(v.bolus_line, "Next dose available in 25min.");
        let v = patient_view(&status("paused", -1));
        assert!(!v.bolus_allowed);
        assert_eq!(v.bolus_line, "A dose cannot be given now.");
    }

    #[test]
    fn the_staff_overview_writes_dose_per_day_first() {
        let mut s = status("running", 0);
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
            "Pump : no trial programmed."
        );
    }

    #[test]
    fn the_highest_alarm_is_shown_and_asks_for_the_nurse() {
        let mut s = status("alarm", -1);
        for (kind, priority) in [("reservoir_low", "medium"), ("occlusion", "high")] {
            s.alarms.push(AlarmStatus {
                kind: kind.to_owned(),
                priority: priority.to_owned(),
                message: format!("{kind} message"),
                since_ms: 0,
                silenced_until_ms: -1,
            });
        }
        let v = patient_view(&s);
        assert_eq!(v.alarm_priority, "high");
        assert_eq!(v.alarm_text, "occlusion message");
        assert!(v.call_nurse);
        assert_eq!(v.headline, "Stopped — your nurse is needed");
    }

    #[test]
    fn the_audio_paused_countdown_rounds_up_and_ends() {
        let mut s = status("alarm", -1);
        s.now_ms = 10_000;
        let alarm = |until: i64| AlarmStatus {
            kind: "occlusion".to_owned(),
            priority: "high".to_owned(),
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
        let h = crate::summary::History {
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
            &crate::summary::History {
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
}
