//! `ChartAdapter` (ui/pages/chart.slint): the clinician's chart, the dose and pain since the
//! start or the response to each bolus.

use slint::{Color, ComponentHandle, SharedString};

use super::{model, strings};
use crate::ui::command::{Commands, UiCommand};
use crate::ui::present::chart::{Chart, CourseChart};
use crate::ui::{ChartAdapter, ChartCurve, ChartTick, MainWindow};

/// A chart's axis labels for the window.
fn ticks(v: &[(f32, String)]) -> slint::ModelRc<ChartTick> {
    model(
        v.iter()
            .map(|(at, label)| ChartTick {
                at: *at,
                label: label.clone().into(),
            })
            .collect(),
    )
}

/// Shows a continuous trial's chart: the dose bars and the pain line.
pub fn show_chart(ui: &MainWindow, c: &Chart) {
    let chart = ui.global::<ChartAdapter>();
    chart.set_bolus(false);
    chart.set_curves(model(Vec::new()));
    chart.set_dose(c.dose_path.clone().into());
    chart.set_pain(c.pain_path.clone().into());
    chart.set_bolus_marks(c.bolus_marks.clone().into());
    chart.set_levels(ticks(&c.dose_levels));
    chart.set_pain_levels(ticks(&c.pain_levels));
    chart.set_ticks(ticks(&c.ticks));
    chart.set_captions(strings(vec![
        c.dose_caption.clone(),
        c.pain_caption.clone(),
        c.span.clone(),
    ]));
}

/// Shows a bolus trial's time course instead of the bars.
pub fn show_course_chart(ui: &MainWindow, c: &CourseChart) {
    let chart = ui.global::<ChartAdapter>();
    chart.set_bolus(true);
    chart.set_dose(SharedString::new());
    chart.set_pain(SharedString::new());
    chart.set_grid(c.grid.clone().into());
    chart.set_baseline(c.baseline.clone().into());
    chart.set_curves(model(
        c.curves
            .iter()
            .map(|k| ChartCurve {
                line: k.line.clone().into(),
                marks: k.marks.clone().into(),
                colour: Color::from_rgb_u8(k.colour.0, k.colour.1, k.colour.2),
                text: k.text.clone().into(),
                effective: k.effective,
            })
            .collect(),
    ));
    chart.set_bolus_marks(SharedString::new());
    chart.set_pain_levels(model(Vec::new()));
    chart.set_levels(ticks(&c.levels));
    chart.set_ticks(ticks(&c.ticks));
    chart.set_captions(strings(c.captions.clone()));
}

/// Connects the chart's loading.
pub fn wire(ui: &MainWindow, commands: &Commands) {
    ui.global::<ChartAdapter>()
        .on_load(commands.sender(UiCommand::Chart));
}
