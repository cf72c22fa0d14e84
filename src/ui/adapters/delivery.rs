//! `DeliveryAdapter` (ui/pages/delivery.slint): the syringe change, the clinician's basal dose
//! and patient bolus changes, and the review after the sedation interlock.

use slint::ComponentHandle;

use super::{mark, strings};
use crate::core::supervisor::State;
use crate::service::wire::Status;
use crate::ui::command::{Commands, Pin, UiCommand};
use crate::ui::present::delivery::BasalCheck;
use crate::ui::{DeliveryAdapter, MainWindow};

/// Whether the pump delivers (a syringe is changed only while it does not), and the unit of
/// the drug's doses.
pub fn show_status(ui: &MainWindow, s: &Status) {
    let d = ui.global::<DeliveryAdapter>();
    d.set_running(s.state == State::Running);
    d.set_dose_unit(
        s.dose_unit
            .map_or_else(String::new, |u| u.to_string())
            .into(),
    );
}

/// Shows what a basal change would mean (old and new side by side, and the findings).
pub fn show_basal_check(ui: &MainWindow, check: &BasalCheck) {
    let d = ui.global::<DeliveryAdapter>();
    d.set_change_class(mark(check.class));
    d.set_change_old(check.old.clone().into());
    d.set_change_new(check.new.clone().into());
    d.set_change_notes(strings(check.notes.clone()));
}

/// Connects the syringe change, the basal and patient bolus changes and the sedation review.
pub fn wire(ui: &MainWindow, commands: &Commands) {
    let d = ui.global::<DeliveryAdapter>();
    let c = commands.clone();
    d.on_change_reservoir(move |ml| c.send(UiCommand::ChangeReservoir(ml.to_string())));
    let c = commands.clone();
    d.on_check_basal(move |dose| c.send(UiCommand::CheckBasal(dose.to_string())));
    let c = commands.clone();
    d.on_change_basal(move |dose, verifier, pin, confirm| {
        c.send(UiCommand::ChangeBasal {
            dose: dose.to_string(),
            verifier: verifier.to_string(),
            pin: Pin::new(pin.as_str()),
            confirm,
        });
    });
    let c = commands.clone();
    d.on_check_program_change(move |changes| {
        c.send(UiCommand::CheckProgramChange(changes.to_string()));
    });
    let c = commands.clone();
    d.on_change_program(move |changes, verifier, pin, confirm| {
        c.send(UiCommand::ChangeProgram {
            changes: changes.to_string(),
            verifier: verifier.to_string(),
            pin: Pin::new(pin.as_str()),
            confirm,
        });
    });
    let c = commands.clone();
    d.on_review_sedation(move |note| c.send(UiCommand::ReviewSedation(note.to_string())));
}
