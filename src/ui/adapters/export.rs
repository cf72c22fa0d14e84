//! `ExportAdapter` (ui/pages/export.slint): the implant worksheet, the starting dose confirmed,
//! and the export.

use slint::ComponentHandle;

use super::strings;
use crate::core::supervisor::State;
use crate::service::wire::Status;
use crate::ui::command::{Commands, UiCommand};
use crate::ui::present::export::export_parts;
use crate::ui::{ExportAdapter, MainWindow};

/// Whether the trial has ended (a dose is confirmed only then), and the unit of the drug's
/// doses.
pub fn show_status(ui: &MainWindow, s: &Status) {
    let e = ui.global::<ExportAdapter>();
    e.set_ended(s.state == State::Ended);
    e.set_dose_unit(
        s.dose_unit
            .map_or_else(String::new, |u| u.to_string())
            .into(),
    );
}

/// Shows the export screen's worksheet: its lines, whether it proposes a starting dose, and
/// whether a clinician confirmed one.
pub fn show_export(ui: &MainWindow, lines: Vec<String>, has_proposal: bool, confirmed: bool) {
    let e = ui.global::<ExportAdapter>();
    let (lines, status) = export_parts(lines);
    e.set_lines(strings(lines));
    e.set_status(status.into());
    e.set_has_proposal(has_proposal);
    e.set_confirmed(confirmed);
}

/// Connects the worksheet's loading, the dose's confirmation and the export.
pub fn wire(ui: &MainWindow, commands: &Commands) {
    let e = ui.global::<ExportAdapter>();
    e.on_load(commands.sender(UiCommand::LoadExport));
    let c = commands.clone();
    e.on_confirm_implant(move |dose, reason| {
        c.send(UiCommand::ConfirmImplant(
            dose.to_string(),
            reason.to_string(),
        ));
    });
    e.on_export(commands.sender(UiCommand::Export));
}
