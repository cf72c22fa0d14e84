//! `ObservationAdapter` (ui/pages/observation.slint): what a nurse records at the bedside.

use slint::ComponentHandle;

use super::small;
use crate::ui::command::{Commands, UiCommand};
use crate::ui::present::typing::split_items;
use crate::ui::{MainWindow, ObservationAdapter};

/// Connects the observation, the site check, the spasticity score and the systemic opioids.
pub fn wire(ui: &MainWindow, commands: &Commands) {
    let o = ui.global::<ObservationAdapter>();
    let c = commands.clone();
    o.on_record_observation(move |poss, rr, hr, spo2, temperature| {
        c.send(UiCommand::Observation(
            small(poss),
            // -1: not taken (0 is apnoea).
            u16::try_from(rr).ok(),
            small(hr),
            small(spo2),
            temperature.to_string(),
        ));
    });
    let c = commands.clone();
    o.on_record_site_check(move |temperature, findings| {
        let findings = split_items(&findings).map(str::to_owned).collect();
        c.send(UiCommand::SiteCheck(temperature.to_string(), findings));
    });
    let c = commands.clone();
    o.on_record_spasticity(move |score, muscles| {
        c.send(UiCommand::Spasticity(
            score.to_string(),
            muscles.to_string(),
        ));
    });
    let c = commands.clone();
    o.on_record_systemic_opioids(move |typed| {
        c.send(UiCommand::SystemicOpioids(typed.to_string()));
    });
}
