//! The staff screen: who is logged in, the overview of the pump, and the buttons for what a
//! nurse or a clinician may do now.

use crate::core::diary::OutcomeMeasure;
use crate::core::supervisor::State;
use crate::core::tr;
use crate::service::auth::UserRole;
use crate::service::wire::Status;

/// A staff role as the daemon writes it on D-Bus ("nurse", "clinician"), read once where it
/// arrives; None for anything else.
pub fn role_of(word: &str) -> Option<UserRole> {
    serde_json::from_value(serde_json::Value::String(word.to_owned())).ok()
}

/// The overview's first line: "Demo Nurse (nurse)".
pub fn logged_in_as(name: &str, role: UserRole) -> String {
    format!("{name} ({})", role.words())
}

/// The staff screen's overview lines.
pub fn staff_overview(s: &Status) -> Vec<String> {
    let state = s.state.words();
    if s.patient.is_empty() {
        return vec![tr!("Pump {state}: no trial programmed.", state)];
    }
    let mut lines = vec![
        tr!(
            "Pump {state} — patient {patient}",
            state,
            patient = s.patient
        ),
        tr!(
            "{drug} {concentration}: basal {per_day} ({per_hour}, {ml_per_hour})",
            drug = s.drug,
            concentration = s.concentration,
            per_day = s.basal_per_day,
            per_hour = s.basal_per_hour,
            ml_per_hour = s.basal_ml_per_hour
        ),
        tr!(
            "Given since midnight {today}, in total {total}",
            today = s.delivered_today,
            total = s.delivered_total
        ),
        if s.time_to_empty.is_empty() {
            tr!("Reservoir {remaining}", remaining = s.reservoir_remaining)
        } else {
            tr!(
                "Reservoir {remaining}, empty in {time}",
                remaining = s.reservoir_remaining,
                time = s.time_to_empty
            )
        },
    ];
    if !s.patient_bolus.is_empty() {
        lines.push(tr!("Patient bolus {bolus}", bolus = s.patient_bolus));
    }
    if !s.held_bolus.is_empty() {
        lines.push(tr!(
            "Scheduled dose held while stopped: {dose}. Give it or skip it.",
            dose = s.held_bolus
        ));
    }
    for a in &s.alarms {
        lines.push(tr!(
            "ALARM ({priority}): {message}",
            priority = a.priority.words(),
            message = a.message
        ));
    }
    lines
}

/// The overview's line about the next catheter site check, from the status's words for it
/// (`site_check_due`, "in 3 h 20 min") and its seconds from now (`site_check_due_in_s`: None when
/// none is scheduled, 0 due now, negative overdue), and whether it is due now or late.
pub fn site_check_line(words: &str, in_s: Option<i64>) -> (String, bool) {
    match in_s {
        None => (String::new(), false),
        Some(s) if s < 0 => (tr!("Site check overdue").to_owned(), true),
        Some(0) => (tr!("Site check due now").to_owned(), true),
        Some(_) => (tr!("Site check due {when}", when = words), false),
    }
}

/// What the pump was loaded with ("morphine 1 mg/mL, 19.68 mL"; "" with no drug), which the
/// wizard names when it goes on with a trial being set up.
pub fn setup(s: &Status) -> String {
    if s.drug.is_empty() {
        String::new()
    } else {
        format!("{} {}, {}", s.drug, s.concentration, s.reservoir_remaining)
    }
}

/// What a staff screen button does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Start a trial with the wizard, or go on with one being set up.
    Wizard,
    Checklist,
    Pause,
    Resume,
    Acknowledge,
    Silence,
    /// The syringe change.
    Reservoir,
    /// Sedation and vital signs.
    Observation,
    SiteCheck,
    Spasticity,
    /// The day's systemic opioids.
    Opioids,
    /// The clinician's review after the sedation interlock.
    Review,
    /// The clinician's basal dose change.
    Basal,
    /// The clinician's change of the patient bolus (dose, lockout, boluses per hour).
    PatientBolus,
    Chart,
    Export,
    Decision,
    /// The catheter's removal.
    Removal,
    /// Give the scheduled bolus held while delivery was stopped.
    GiveHeld,
    /// Skip it.
    SkipHeld,
    /// End the trial.
    End,
    Logout,
}

/// What decides the staff screen's buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskInputs {
    pub state: State,
    /// Who is logged in (None: nobody, which the screen never shows).
    pub role: Option<UserRole>,
    /// An alarm is active.
    pub alarm: bool,
    /// The sedation interlock holds delivery.
    pub sedation_hold: bool,
    /// The catheter's removal is recorded: its button goes (it is recorded once).
    pub catheter_removed: bool,
    /// A scheduled bolus is held, waiting for a nurse's answer.
    pub held_bolus: bool,
    /// The program has a patient bolus (a clinician may change it).
    pub patient_bolus: bool,
    /// What the trial is judged on (None: no trial).
    pub measure: Option<OutcomeMeasure>,
}

impl TaskInputs {
    /// The inputs of a status for someone in `role`.
    pub fn of(s: &Status, role: Option<UserRole>) -> TaskInputs {
        TaskInputs {
            state: s.state,
            role,
            alarm: !s.alarms.is_empty(),
            sedation_hold: super::alarm::sedation_hold(s),
            catheter_removed: s.catheter_removed,
            held_bolus: !s.held_bolus.is_empty(),
            patient_bolus: !s.patient_bolus.is_empty(),
            measure: s.outcome_measure,
        }
    }
}

/// A staff screen button: what it does, its words, and its name for screen readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskView {
    pub task: Task,
    pub label: &'static str,
    pub name: &'static str,
}

/// The staff screen's buttons for who is logged in and what the pump is doing, in the order
/// they show: what the pump needs now, then the records, then the trial's, then Log out.
pub fn staff_tasks(t: &TaskInputs) -> Vec<TaskView> {
    let task = |task, label, name| TaskView { task, label, name };
    let same = |kind: Task, words| task(kind, words, words);
    let clinician = t.role == Some(UserRole::Clinician);
    let delivering = matches!(t.state, State::Running | State::Paused | State::Alarm);
    let setting_up = matches!(
        t.state,
        State::Programmed | State::Verified | State::Priming
    );
    let ended = t.state == State::Ended;
    let mut tasks = Vec::new();
    if matches!(t.state, State::Idle | State::Ended) {
        tasks.push(same(Task::Wizard, tr!("Start a trial")));
    }
    if setting_up {
        tasks.push(same(Task::Wizard, tr!("Continue setup")));
        tasks.push(same(Task::Checklist, tr!("Pre-trial checklist")));
    }
    // A scheduled dose held while delivery was stopped: given once delivery runs, or skipped.
    if t.held_bolus && t.state == State::Running {
        tasks.push(task(
            Task::GiveHeld,
            tr!("Give held dose"),
            tr!("Give the held scheduled dose"),
        ));
    }
    if t.held_bolus {
        tasks.push(task(
            Task::SkipHeld,
            tr!("Skip held dose"),
            tr!("Skip the held scheduled dose"),
        ));
    }
    if t.state == State::Running {
        tasks.push(same(Task::Pause, tr!("Pause")));
    }
    if matches!(t.state, State::Paused | State::Alarm) {
        tasks.push(same(Task::Resume, tr!("Resume")));
    }
    if t.alarm {
        tasks.push(same(Task::Acknowledge, tr!("Acknowledge")));
        tasks.push(same(Task::Silence, tr!("Silence alarms")));
    }
    if delivering {
        tasks.push(same(Task::Reservoir, tr!("Syringe change")));
        tasks.push(same(Task::Observation, tr!("Sedation and vitals")));
        tasks.push(task(
            Task::SiteCheck,
            tr!("Site check"),
            tr!("Catheter site check"),
        ));
    }
    if t.measure == Some(OutcomeMeasure::Spasticity) && (delivering || setting_up || ended) {
        tasks.push(same(Task::Spasticity, tr!("Spasticity (Ashworth)")));
    }
    if delivering || ended {
        tasks.push(same(Task::Opioids, tr!("Systemic opioids")));
    }
    if t.sedation_hold && clinician {
        tasks.push(same(Task::Review, tr!("Sedation review")));
    }
    if delivering && clinician {
        tasks.push(same(Task::Basal, tr!("Change dose")));
        if t.patient_bolus {
            tasks.push(task(
                Task::PatientBolus,
                tr!("Patient bolus"),
                tr!("Change the patient bolus"),
            ));
        }
    }
    if delivering || ended {
        tasks.push(task(Task::Chart, tr!("Chart"), tr!("Dose and pain chart")));
    }
    if (delivering || ended) && clinician {
        tasks.push(task(Task::Export, tr!("Export"), tr!("Export the summary")));
    }
    if ended && clinician {
        tasks.push(task(
            Task::Decision,
            tr!("Decision"),
            tr!("Record the decision"),
        ));
    }
    if ended && !t.catheter_removed {
        tasks.push(same(Task::Removal, tr!("Catheter removed")));
    }
    if delivering || setting_up {
        tasks.push(same(Task::End, tr!("End trial")));
    }
    tasks.push(same(Task::Logout, tr!("Log out")));
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

/// Tasks in rows of `columns`, the last row filled with empty places (None) so that every
/// button keeps the same width.
pub fn task_rows(tasks: &[TaskView], columns: usize) -> Vec<Vec<Option<TaskView>>> {
    let columns = columns.max(1);
    tasks
        .chunks(columns)
        .map(|chunk| {
            let mut row: Vec<Option<TaskView>> = chunk.iter().copied().map(Some).collect();
            row.resize(columns, None);
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::units::Timestamp;

    fn status(state: State) -> Status {
        let mut s = Status::empty(Timestamp::ORIGIN);
        s.state = state;
        s.drug = "morphine".to_owned();
        s.basal_per_day = "0.5 mg/day".to_owned();
        s.patient_bolus = "0.05 mg every 1 h at most".to_owned();
        s
    }

    #[test]
    fn the_staff_overview_writes_dose_per_day_first() {
        let mut s = status(State::Running);
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
    fn the_site_check_line_says_when_the_next_is_due() {
        assert_eq!(
            site_check_line("in 3 h 20 min", Some(12_000)),
            ("Site check due in 3 h 20 min".to_owned(), false)
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
    }

    #[test]
    fn who_is_logged_in_is_read_from_the_daemons_word() {
        assert_eq!(role_of("nurse"), Some(UserRole::Nurse));
        assert_eq!(role_of("clinician"), Some(UserRole::Clinician));
        assert_eq!(role_of(""), None);
        assert_eq!(
            logged_in_as("Demo Nurse", UserRole::Nurse),
            "Demo Nurse (nurse)"
        );
        let mut s = status(State::Running);
        s.concentration = "1 mg/mL".to_owned();
        s.reservoir_remaining = "19.68 mL".to_owned();
        assert_eq!(setup(&s), "morphine 1 mg/mL, 19.68 mL");
        assert_eq!(setup(&Status::empty(Timestamp::ORIGIN)), "");
    }

    #[test]
    fn the_staff_screen_speaks_german() {
        use crate::core::lang::{Language, with};
        let mut s = status(State::Running);
        s.patient = "MRN-1".to_owned();
        s.concentration = "1 mg/mL".to_owned();
        s.basal_per_hour = "0.0208 mg/h".to_owned();
        s.basal_ml_per_hour = "0.0208 mL/h".to_owned();
        s.reservoir_remaining = "19.68 mL".to_owned();
        s.alarms.push(crate::service::wire::AlarmStatus {
            kind: crate::core::supervisor::AlarmKind::Occlusion,
            priority: crate::core::supervisor::Priority::High,
            message: "…".to_owned(),
            since_ms: 0,
            silenced_until_ms: -1,
        });
        let t = TaskInputs {
            state: State::Running,
            role: Some(UserRole::Nurse),
            alarm: false,
            sedation_hold: false,
            catheter_removed: false,
            held_bolus: false,
            patient_bolus: true,
            measure: Some(OutcomeMeasure::Pain),
        };
        with(Language::German, || {
            let lines = staff_overview(&s);
            assert_eq!(lines[0], "Pumpe läuft — Patient/in MRN-1");
            assert_eq!(
                lines[1],
                "morphine 1 mg/mL: Basalrate 0.5 mg/day (0.0208 mg/h, 0.0208 mL/h)"
            );
            assert_eq!(lines[3], "Reservoir 19.68 mL");
            assert_eq!(lines[4], "PCA-Bolus 0.05 mg every 1 h at most");
            assert_eq!(lines[5], "ALARM (hoch): …");
            assert_eq!(
                staff_overview(&Status::empty(Timestamp::ORIGIN))[0],
                "Pumpe im Leerlauf: keine Testphase programmiert."
            );
            assert_eq!(
                logged_in_as("Demo Nurse", UserRole::Nurse),
                "Demo Nurse (Pflegekraft)"
            );
            assert_eq!(
                site_check_line("overdue", Some(-60)).0,
                "Kontrolle der Eintrittsstelle überfällig"
            );
            let labels: Vec<&str> = staff_tasks(&t).iter().map(|t| t.label).collect();
            assert_eq!(
                labels,
                [
                    "Pausieren",
                    "Spritze wechseln",
                    "Sedierung und Vitalzeichen",
                    "Eintrittsstelle prüfen",
                    "Systemische Opioide",
                    "Verlauf",
                    "Testphase beenden",
                    "Abmelden"
                ]
            );
        });
    }

    fn tasks_of(t: &TaskInputs) -> Vec<Task> {
        staff_tasks(t).iter().map(|t| t.task).collect()
    }

    #[test]
    fn the_staff_buttons_follow_the_state_and_the_role() {
        use Task::*;
        let mut t = TaskInputs {
            state: State::Running,
            role: Some(UserRole::Nurse),
            alarm: false,
            sedation_hold: false,
            catheter_removed: false,
            held_bolus: false,
            patient_bolus: true,
            measure: Some(OutcomeMeasure::Pain),
        };
        assert_eq!(
            tasks_of(&t),
            [
                Pause,
                Reservoir,
                Observation,
                SiteCheck,
                Opioids,
                Chart,
                End,
                Logout
            ]
        );
        t.role = Some(UserRole::Clinician);
        t.alarm = true;
        t.sedation_hold = true;
        t.state = State::Alarm;
        assert_eq!(
            tasks_of(&t),
            [
                Resume,
                Acknowledge,
                Silence,
                Reservoir,
                Observation,
                SiteCheck,
                Opioids,
                Review,
                Basal,
                PatientBolus,
                Chart,
                Export,
                End,
                Logout
            ]
        );
        // A program without a patient bolus has none to change.
        t.patient_bolus = false;
        assert!(!tasks_of(&t).contains(&PatientBolus));
        // Spasticity trials offer the Ashworth score, before, during and after delivery.
        t = TaskInputs {
            state: State::Verified,
            role: Some(UserRole::Nurse),
            alarm: false,
            sedation_hold: false,
            catheter_removed: false,
            held_bolus: false,
            patient_bolus: true,
            measure: Some(OutcomeMeasure::Spasticity),
        };
        assert_eq!(tasks_of(&t), [Wizard, Checklist, Spasticity, End, Logout]);
        // After the end: the decision for a clinician, the removal for both.
        t.state = State::Ended;
        t.measure = Some(OutcomeMeasure::Pain);
        assert_eq!(tasks_of(&t), [Wizard, Opioids, Chart, Removal, Logout]);
        t.role = Some(UserRole::Clinician);
        assert_eq!(
            tasks_of(&t),
            [Wizard, Opioids, Chart, Export, Decision, Removal, Logout]
        );
        // Once the removal is recorded its button goes (a second record is refused anyway).
        t.catheter_removed = true;
        assert_eq!(
            tasks_of(&t),
            [Wizard, Opioids, Chart, Export, Decision, Logout]
        );
        t.catheter_removed = false;
        // A scheduled dose held while stopped: skipped at any time, given once delivery runs.
        let mut held = TaskInputs {
            state: State::Paused,
            role: Some(UserRole::Nurse),
            alarm: false,
            sedation_hold: false,
            catheter_removed: false,
            held_bolus: true,
            patient_bolus: true,
            measure: Some(OutcomeMeasure::Pain),
        };
        assert_eq!(tasks_of(&held)[..2], [SkipHeld, Resume]);
        held.state = State::Running;
        assert_eq!(tasks_of(&held)[..3], [GiveHeld, SkipHeld, Pause]);
        let rows = task_rows(&staff_tasks(&t), 4);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].len(), 4, "the last row keeps its places");
        assert_eq!(rows[1][2].map(|t| t.name), Some("Log out"));
        assert_eq!(rows[1][3], None, "an empty place");
        // The most buttons at once (a clinician, an alarm, the sedation hold, a spasticity
        // trial): three a row beside the overview, so that they fit in height.
        t = TaskInputs {
            state: State::Alarm,
            role: Some(UserRole::Clinician),
            alarm: true,
            sedation_hold: true,
            catheter_removed: false,
            held_bolus: true,
            patient_bolus: true,
            measure: Some(OutcomeMeasure::Spasticity),
        };
        let n = staff_tasks(&t).len();
        assert_eq!(n, 16);
        assert_eq!(wide_columns(n), 3);
        assert!(task_rows(&staff_tasks(&t), wide_columns(n)).len() <= MAX_WIDE_ROWS);
        assert_eq!(wide_columns(12), 2);
    }
}
