//! `AppState` and `Checks` (ui/app.slint): the link to the pump, the alarm banner, the staff to
//! pick from and who is logged in, the pump's last answer, and the checks the screens ask while
//! they draw.

use slint::ComponentHandle;

use super::{patient, staff};
use crate::core::supervisor::Priority;
use crate::service::auth::{Staff, UserRole};
use crate::service::wire::Status;
use crate::ui::command::{Commands, Pin, UiCommand};
use crate::ui::present::alarm::alarm_banner;
use crate::ui::present::login::staff_to_pick;
use crate::ui::present::observation::temperature_entry;
use crate::ui::present::staff::logged_in_as;
use crate::ui::present::typing::{has_item, toggle_item, type_note};
use crate::ui::{
    AlarmLevel, AppState, Checks, MainWindow, Nav, StaffAdapter, StaffMember, StaffRole,
};

/// The link to the pump and the alarm banner, from a status.
pub fn show_status(ui: &MainWindow, s: &Status, connected: bool) {
    let app = ui.global::<AppState>();
    let banner = alarm_banner(s);
    app.set_alarm_level(alarm_level(banner.level));
    app.set_alarm_text(banner.text.into());
    app.set_silenced_s(banner.silenced_s);
    app.set_simulated(s.simulated);
    app.set_simulated_text(crate::service::wire::simulation_banner(s).into());
    app.set_connected(connected);
    if connected {
        app.set_daemon_gone(false);
    }
}

/// Whether the pump daemon answers (the "not connected" banner when it does not).
pub fn show_connected(ui: &MainWindow, connected: bool) {
    ui.global::<AppState>().set_connected(connected);
}

/// The daemon has been out of reach for longer than [`GONE_AFTER`](crate::ui::client::GONE_AFTER):
/// "Pump stopped — not running. Call a technician." over every screen.
pub fn show_daemon_gone(ui: &MainWindow) {
    let app = ui.global::<AppState>();
    app.set_connected(false);
    app.set_daemon_gone(true);
}

fn alarm_level(priority: Option<Priority>) -> AlarmLevel {
    match priority {
        None => AlarmLevel::None,
        Some(Priority::Info) => AlarmLevel::Info,
        Some(Priority::Low) => AlarmLevel::Low,
        Some(Priority::Medium) => AlarmLevel::Medium,
        Some(Priority::High) => AlarmLevel::High,
    }
}

/// Shows the pump's answer to the last press or entry.
pub fn show_message(ui: &MainWindow, message: &str) {
    ui.global::<AppState>().set_message(message.into());
}

/// The staff the PIN pads offer to pick from (the daemon's `ListStaff`, or
/// `PumpService::staff` in the same process), by name.
pub fn show_staff(ui: &MainWindow, staff: &[Staff]) {
    let members: Vec<StaffMember> = staff_to_pick(staff)
        .into_iter()
        .map(|(id, name)| StaffMember {
            id: id.into(),
            name: name.into(),
        })
        .collect();
    ui.global::<AppState>().set_staff(super::model(members));
}

/// Shows the answer to a PIN that did not log in ("wrong PIN for Demo Nurse: …"), or to Stop
/// delivery, on the login screen.
pub fn show_pin_answer(ui: &MainWindow, answer: &str) {
    ui.global::<AppState>().set_pin_message(answer.into());
}

/// Shows who logged in and goes to the staff screen.
pub fn log_in(ui: &MainWindow, name: &str, role: UserRole) {
    ui.global::<StaffAdapter>()
        .set_logged_in_as(logged_in_as(name, role).into());
    set_staff(ui, name, Some(role));
}

/// Forgets who was logged in and goes back to the patient screen.
pub fn log_out(ui: &MainWindow) {
    ui.global::<StaffAdapter>().set_logged_in_as("".into());
    set_staff(ui, "", None);
}

fn set_staff(ui: &MainWindow, name: &str, role: Option<UserRole>) {
    let app = ui.global::<AppState>();
    app.set_staff_name(name.into());
    app.set_role(match role {
        None => StaffRole::None,
        Some(UserRole::Nurse) => StaffRole::Nurse,
        Some(UserRole::Clinician) => StaffRole::Clinician,
    });
    app.set_pin_message("".into());
    app.set_message("".into());
    staff::refresh_tasks(ui);
    let screen = if role.is_some() { "staff" } else { "patient" };
    ui.global::<Nav>().invoke_go(screen.into());
}

/// Who is logged in, as the window shows it.
pub fn role(ui: &MainWindow) -> Option<UserRole> {
    match ui.global::<AppState>().get_role() {
        StaffRole::None => None,
        StaffRole::Nurse => Some(UserRole::Nurse),
        StaffRole::Clinician => Some(UserRole::Clinician),
    }
}

/// Connects the login, the logout and Stop delivery.
pub fn wire(ui: &MainWindow, commands: &Commands) {
    let app = ui.global::<AppState>();
    let c = commands.clone();
    app.on_login(move |user, pin| {
        c.send(UiCommand::Login(user.to_string(), Pin::new(pin.as_str())));
    });
    app.on_logout(commands.sender(UiCommand::Logout));
    app.on_stop_delivery(commands.sender(UiCommand::StopDelivery));
}

/// Connects the checks the screens ask of Rust while they draw (a typed temperature, a toggled
/// choice, a key of the text keyboard) and gives the patient screen the impression of change's
/// answers. Every window calls this once.
pub fn wire_checks(ui: &MainWindow) {
    let checks = ui.global::<Checks>();
    checks.on_check_temperature(|text| temperature_entry(&text).err().unwrap_or_default().into());
    checks.on_toggle(|list, item| toggle_item(&list, &item).into());
    checks.on_has(|list, item| has_item(&list, &item));
    checks.on_typed(|text, key| type_note(&text, &key).into());
    patient::show_pgic_answers(ui);
}
