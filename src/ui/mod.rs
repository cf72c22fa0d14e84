//! The touchscreen UI's Rust side (ui/*.slint is the UI itself): turns what the daemon reports
//! into the words the screens show, and carries the buttons' calls to the daemon. The formatting
//! is plain Rust, tested without a window; `apply` only copies it into the `Pump` global.

use crate::core::units::Duration;
use crate::service::pump::Status;

slint::include_modules!();

pub mod client;

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
    let lines: Vec<slint::SharedString> = staff_overview(s).into_iter().map(Into::into).collect();
    ui.global::<Pump>()
        .set_overview(slint::ModelRc::new(slint::VecModel::from(lines)));
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
}
