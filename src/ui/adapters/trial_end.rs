//! `TrialEndAdapter` (ui/pages/trial_end.slint): ending the trial, the decision after it, and
//! the catheter's removal.

use slint::ComponentHandle;

use crate::core::supervisor::State;
use crate::service::wire::Status;
use crate::ui::command::{Commands, UiCommand};
use crate::ui::{MainWindow, TrialEndAdapter};

/// Whether the trial has ended.
pub fn show_status(ui: &MainWindow, s: &Status) {
    ui.global::<TrialEndAdapter>()
        .set_ended(s.state == State::Ended);
}

/// Connects the end of the trial, the decision and the removal.
pub fn wire(ui: &MainWindow, commands: &Commands) {
    let t = ui.global::<TrialEndAdapter>();
    let c = commands.clone();
    t.on_end_trial(move |outcome| c.send(UiCommand::EndTrial(outcome.to_string())));
    let c = commands.clone();
    t.on_record_decision(move |outcome, reasons, wish, implant| {
        c.send(UiCommand::Decision {
            outcome: outcome.to_string(),
            reasons: reasons.to_string(),
            wish: wish.to_string(),
            implant: implant.to_string(),
        });
    });
    let c = commands.clone();
    t.on_record_removal(move |note| c.send(UiCommand::CatheterRemoval(note.to_string())));
}
