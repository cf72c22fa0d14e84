//! `ChecklistAdapter` (ui/pages/checklist.slint): the pre-trial checklist.

use slint::ComponentHandle;

use super::model;
use crate::service::wire::ChecklistView;
use crate::ui::command::{Commands, UiCommand};
use crate::ui::present::checklist::{columns, override_note};
use crate::ui::{CheckItem, ChecklistAdapter, MainWindow};

/// Shows the pre-trial checklist: each item, who confirmed it, and the override if any.
pub fn show_checklist(ui: &MainWindow, view: &ChecklistView) {
    let (items, by, reason) = view;
    let c = ui.global::<ChecklistAdapter>();
    let items: Vec<CheckItem> = items
        .iter()
        .map(|i| CheckItem {
            id: i.id.clone().into(),
            text: i.text.clone().into(),
            done: i.confirmed,
            by: i.confirmed_by.clone().into(),
        })
        .collect();
    let (left, right) = columns(&items);
    c.set_left_column(model(left));
    c.set_right_column(model(right));
    c.set_items(model(items));
    c.set_override_note(override_note(by, reason).into());
}

/// Connects the checklist's loading and each item's confirmation.
pub fn wire(ui: &MainWindow, commands: &Commands) {
    let c = ui.global::<ChecklistAdapter>();
    c.on_load(commands.sender(UiCommand::LoadChecklist));
    let commands = commands.clone();
    c.on_confirm_item(move |id| commands.send(UiCommand::ConfirmItem(id.to_string())));
}
