//! `StaffAdapter` (ui/pages/staff.slint): the overview and the buttons of the staff screen.

use slint::{ComponentHandle, Model as _, ModelRc};

use super::{app, model, strings};
use crate::core::diary::OutcomeMeasure;
use crate::core::supervisor::State;
use crate::service::wire::Status;
use crate::ui::command::{Commands, UiCommand};
use crate::ui::present::staff::{
    Task, TaskInputs, TaskView, setup, site_check_line, staff_overview, staff_tasks, task_rows,
    wide_columns,
};
use crate::ui::{MainWindow, Measure, PumpState, StaffAdapter, StaffTask, TaskKind};

/// The overview for a status, and the buttons for it.
pub fn show_status(ui: &MainWindow, s: &Status) {
    let staff = ui.global::<StaffAdapter>();
    staff.set_overview(strings(staff_overview(s)));
    let (line, late) = site_check_line(&s.site_check_due, s.site_check_due_in_s);
    staff.set_site_check_line(line.into());
    staff.set_site_check_late(late);
    let inputs = TaskInputs::of(s, app::role(ui));
    staff.set_state(pump_state(inputs.state));
    staff.set_alarm(inputs.alarm);
    staff.set_sedation_hold(inputs.sedation_hold);
    staff.set_catheter_removed(inputs.catheter_removed);
    staff.set_held_bolus(inputs.held_bolus);
    staff.set_patient_bolus(inputs.patient_bolus);
    staff.set_measure(match inputs.measure {
        None => Measure::None,
        Some(OutcomeMeasure::Pain) => Measure::Pain,
        Some(OutcomeMeasure::Spasticity) => Measure::Spasticity,
    });
    staff.set_setup(setup(s).into());
    refresh_tasks(ui);
}

/// The pump's state as the staff screen last showed it.
pub fn state(ui: &MainWindow) -> State {
    match ui.global::<StaffAdapter>().get_state() {
        PumpState::Idle => State::Idle,
        PumpState::Programmed => State::Programmed,
        PumpState::Verified => State::Verified,
        PumpState::Priming => State::Priming,
        PumpState::Running => State::Running,
        PumpState::Paused => State::Paused,
        PumpState::Alarm => State::Alarm,
        PumpState::Ended => State::Ended,
    }
}

fn pump_state(state: State) -> PumpState {
    match state {
        State::Idle => PumpState::Idle,
        State::Programmed => PumpState::Programmed,
        State::Verified => PumpState::Verified,
        State::Priming => PumpState::Priming,
        State::Running => PumpState::Running,
        State::Paused => PumpState::Paused,
        State::Alarm => PumpState::Alarm,
        State::Ended => PumpState::Ended,
    }
}

/// What the staff screen's buttons were last laid out from: what the window shows.
fn inputs(ui: &MainWindow) -> TaskInputs {
    let staff = ui.global::<StaffAdapter>();
    TaskInputs {
        state: state(ui),
        role: app::role(ui),
        alarm: staff.get_alarm(),
        sedation_hold: staff.get_sedation_hold(),
        catheter_removed: staff.get_catheter_removed(),
        held_bolus: staff.get_held_bolus(),
        patient_bolus: staff.get_patient_bolus(),
        measure: match staff.get_measure() {
            Measure::None => None,
            Measure::Pain => Some(OutcomeMeasure::Pain),
            Measure::Spasticity => Some(OutcomeMeasure::Spasticity),
        },
    }
}

fn task_kind(task: Task) -> TaskKind {
    match task {
        Task::Wizard => TaskKind::Wizard,
        Task::Checklist => TaskKind::Checklist,
        Task::Pause => TaskKind::Pause,
        Task::Resume => TaskKind::Resume,
        Task::Acknowledge => TaskKind::Acknowledge,
        Task::Silence => TaskKind::Silence,
        Task::Reservoir => TaskKind::Reservoir,
        Task::Observation => TaskKind::Observation,
        Task::SiteCheck => TaskKind::SiteCheck,
        Task::Spasticity => TaskKind::Spasticity,
        Task::Opioids => TaskKind::Opioids,
        Task::Review => TaskKind::Review,
        Task::Basal => TaskKind::Basal,
        Task::PatientBolus => TaskKind::PatientBolus,
        Task::Chart => TaskKind::Chart,
        Task::Export => TaskKind::ExportSummary,
        Task::Decision => TaskKind::Decision,
        Task::Removal => TaskKind::Removal,
        Task::GiveHeld => TaskKind::GiveHeld,
        Task::SkipHeld => TaskKind::SkipHeld,
        Task::End => TaskKind::End,
        Task::Logout => TaskKind::Logout,
    }
}

fn staff_task(task: Option<TaskView>) -> StaffTask {
    task.map_or_else(StaffTask::default, |t| StaffTask {
        task: task_kind(t.task),
        label: t.label.into(),
        name: t.name.into(),
    })
}

/// Lays out the staff screen's buttons again from what the window shows (state, role, alarm,
/// hold, outcome measure); models are replaced only when the buttons changed, so that a
/// refresh never swaps a button from under a finger.
pub fn refresh_tasks(ui: &MainWindow) {
    let staff = ui.global::<StaffAdapter>();
    let tasks = staff_tasks(&inputs(ui));
    let shown: Vec<(TaskKind, String)> = staff
        .get_tasks_wide()
        .iter()
        .flat_map(|row| {
            row.iter()
                .map(|t| (t.task, t.label.to_string()))
                .collect::<Vec<_>>()
        })
        .filter(|(task, _)| *task != TaskKind::None)
        .collect();
    let wanted: Vec<(TaskKind, String)> = tasks
        .iter()
        .map(|t| (task_kind(t.task), t.label.to_owned()))
        .collect();
    if shown == wanted {
        return;
    }
    let rows = |columns| {
        let rows: Vec<ModelRc<StaffTask>> = task_rows(&tasks, columns)
            .into_iter()
            .map(|row| model(row.into_iter().map(staff_task).collect()))
            .collect();
        model(rows)
    };
    let wide = wide_columns(tasks.len());
    staff.set_tasks_wide(rows(wide));
    staff.set_tasks_wide_columns(i32::try_from(wide).unwrap_or(2));
    staff.set_tasks_tall(rows(3));
}

/// Connects the buttons the staff screen carries out itself (the wizard's is connected with the
/// wizard).
pub fn wire(ui: &MainWindow, commands: &Commands) {
    let staff = ui.global::<StaffAdapter>();
    staff.on_pause(commands.sender(UiCommand::Pause));
    staff.on_resume(commands.sender(UiCommand::Resume));
    staff.on_acknowledge(commands.sender(UiCommand::Acknowledge));
    staff.on_silence(commands.sender(UiCommand::Silence));
    staff.on_give_held(commands.sender(UiCommand::DecideHeld(true)));
    staff.on_skip_held(commands.sender(UiCommand::DecideHeld(false)));
}
