//! The thin layer between the present models (src/ui/present/) and the pages' globals
//! (ui/pages/*.slint): each module copies its page's model into the page's adapter global and
//! connects the page's callbacks to [`UiCommand`]s for the client. Nothing is decided here.
//!
//! [`UiCommand`]: super::command::UiCommand

pub mod app;
pub mod chart;
pub mod checklist;
pub mod delivery;
pub mod export;
pub mod observation;
pub mod patient;
pub mod staff;
pub mod trial_end;
pub mod wizard;

use slint::{ModelRc, SharedString, VecModel};
use tokio::sync::mpsc::UnboundedSender;

use crate::core::finding::Class;
use crate::service::wire::Status;
use crate::ui::command::{Commands, UiCommand};
use crate::ui::{MainWindow, Mark};

/// Copies a status into every page it concerns.
pub fn apply_status(ui: &MainWindow, s: &Status, connected: bool) {
    if let Some(language) = s.language {
        crate::ui::speak(language);
    }
    app::show_status(ui, s, connected);
    patient::show_status(ui, s);
    delivery::show_status(ui, s);
    export::show_status(ui, s);
    trial_end::show_status(ui, s);
    // Last: the staff's buttons follow the rest (the role, the state).
    staff::show_status(ui, s);
}

/// Connects every page's callbacks to a command channel (whose commands the client carries
/// out), and the checks the screens ask while they draw.
pub fn wire(ui: &MainWindow, tx: UnboundedSender<UiCommand>) {
    let commands = Commands::new(tx);
    app::wire(ui, &commands);
    app::wire_checks(ui);
    patient::wire(ui, &commands);
    staff::wire(ui, &commands);
    checklist::wire(ui, &commands);
    observation::wire(ui, &commands);
    delivery::wire(ui, &commands);
    chart::wire(ui, &commands);
    export::wire(ui, &commands);
    trial_end::wire(ui, &commands);
    wizard::wire(ui, &commands);
}

/// A finding's class as a page marks it (not checked: none).
fn mark(class: Option<Class>) -> Mark {
    match class {
        None => Mark::None,
        Some(Class::Ok) => Mark::Ok,
        Some(Class::Soft) => Mark::Soft,
        Some(Class::Hard) => Mark::Hard,
    }
}

fn strings(lines: Vec<String>) -> ModelRc<SharedString> {
    let lines: Vec<SharedString> = lines.into_iter().map(Into::into).collect();
    ModelRc::new(VecModel::from(lines))
}

fn model<T: Clone + 'static>(items: Vec<T>) -> ModelRc<T> {
    ModelRc::new(VecModel::from(items))
}

/// A number from a screen as the daemon takes it (0 when it does not fit: not taken).
fn small<T: TryFrom<i32> + Default>(n: i32) -> T {
    T::try_from(n).unwrap_or_default()
}
