//! The clinician's chart as SVG path commands and words: for a continuous trial the dose per
//! bucket (bars) and the pain scores (a line) since the start; for a bolus trial the response
//! to each bolus (the score against the hours after it), as the PDF draws it.

use std::fmt::Write as _;

use crate::core::readable::{self, Round};
use crate::core::tr;
use crate::core::units::{Amount, Duration, MassUnit};
use crate::report::summary::{BolusCourse, BolusResponse, History, MEASURE_SPASTICITY};

/// The continuous trial's chart is drawn in a [`CHART_W`]×[`CHART_H`] box (y down; the screen
/// keeps that aspect, since a slint path scales uniformly): dose bars per bucket and the pain
/// scores joined by a line (0 at the bottom, 10 at the top), with the words around it.
pub const CHART_W: f64 = 1000.0;
pub const CHART_H: f64 = 250.0;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chart {
    pub dose_path: String,
    pub pain_path: String,
    /// A small triangle along the top edge where each bolus began.
    pub bolus_marks: String,
    /// The dose axis (left): where each label goes, as a fraction of the height from the top,
    /// and its words ("100 mcg", "50 mcg", "0").
    pub dose_levels: Vec<(f32, String)>,
    /// The pain axis (right): "10", "5", "0".
    pub pain_levels: Vec<(f32, String)>,
    /// The time since the start (under the chart): where, as a fraction of the width, and its
    /// words ("0", "12 h", "1 day").
    pub ticks: Vec<(f32, String)>,
    /// "Dose per 1 h (bars), highest 40 mcg"
    pub dose_caption: String,
    /// "Pain 0–10: 6 scores, last 3"
    pub pain_caption: String,
    /// "Start … 2d 4h"
    pub span: String,
}

/// Ticks for the time since the start: a round step (1, 2, 4, 6 or 12 h, then days) giving at
/// most 8 of them over `span_ms`.
fn time_ticks(span_ms: u64) -> Vec<(f32, String)> {
    const HOUR: u64 = 3_600_000;
    const DAY: u64 = 24 * HOUR;
    let step = [
        HOUR,
        2 * HOUR,
        4 * HOUR,
        6 * HOUR,
        12 * HOUR,
        DAY,
        2 * DAY,
        7 * DAY,
    ]
    .into_iter()
    .find(|&s| span_ms / s <= 8)
    .unwrap_or(7 * DAY);
    let mut ticks = Vec::new();
    let mut t = 0;
    while t <= span_ms {
        let label = if t == 0 {
            "0".to_owned()
        } else if step >= DAY {
            days(t / DAY)
        } else {
            format!("{} h", t / HOUR)
        };
        ticks.push(((t as f64 / span_ms as f64) as f32, label));
        t += step;
    }
    ticks
}

/// A number of days in words: "1 day", "3 days".
pub(crate) fn days(days: u64) -> String {
    match days {
        1 => tr!("1 day").to_owned(),
        days => tr!("{days} days", days),
    }
}

/// Draws a history (doses in ng, shown in `unit`).
pub fn chart(h: &History, unit: MassUnit) -> Chart {
    let n = h.doses_ng.len().max(1);
    let span_ms = h.bucket_ms.saturating_mul(n as u64).max(1);
    let max = h.doses_ng.iter().copied().max().unwrap_or(0);
    let top = readable::axis_top(max);
    // One unit along the axis, its top's: "0.1 mg, 0.05 mg, 0", not "0.1 mg, 50 mcg".
    let axis_unit = match unit {
        MassUnit::Mg if top >= 100_000 => MassUnit::Mg,
        _ => MassUnit::Mcg,
    };
    let dose_label = |ng: u64| {
        if ng == 0 {
            "0".to_owned()
        } else {
            readable::as_prescribed(Amount::from_ng(ng), axis_unit)
        }
    };
    Chart {
        dose_path: dose_bars(&h.doses_ng, top),
        pain_path: pain_line(&h.pain, span_ms),
        bolus_marks: bolus_marks(&h.boluses, span_ms),
        dose_levels: if max == 0 {
            Vec::new()
        } else {
            vec![
                (0.0, dose_label(top)),
                (0.5, dose_label(top / 2)),
                (1.0, dose_label(0)),
            ]
        },
        pain_levels: vec![
            (0.0, "10".to_owned()),
            (0.5, "5".to_owned()),
            (1.0, "0".to_owned()),
        ],
        ticks: time_ticks(span_ms),
        dose_caption: {
            let bucket = readable::duration(Duration::from_ms(h.bucket_ms), Round::Nearest);
            let highest = readable::amount_for(Amount::from_ng(max), unit);
            if h.boluses.is_empty() {
                tr!(
                    "Dose per {bucket} (bars), highest {highest}",
                    bucket,
                    highest
                )
            } else {
                tr!(
                    "Dose per {bucket} (bars), highest {highest}; ▼ a bolus ({count})",
                    bucket,
                    highest,
                    count = h.boluses.len()
                )
            }
        },
        pain_caption: match h.pain.last() {
            None => tr!("Pain 0–10 (line): no scores yet").to_owned(),
            Some((_, last)) => tr!(
                "Pain 0–10 (line): {count} scores, last {last}",
                count = h.pain.len(),
                last
            ),
        },
        span: tr!(
            "Hours since the start, to {span}",
            span = readable::duration(Duration::from_ms(span_ms), Round::Nearest)
        ),
    }
}

/// A downward triangle at the top edge where each bolus began.
fn bolus_marks(boluses: &[u64], span_ms: u64) -> String {
    let mut path = String::new();
    for &t in boluses {
        let x = CHART_W * t.min(span_ms) as f64 / span_ms as f64;
        let _ = write!(
            path,
            "M {:.1} 0 L {:.1} 0 L {x:.1} 22 Z ",
            (x - 10.0).max(0.0),
            (x + 10.0).min(CHART_W)
        );
    }
    path.trim_end().to_owned()
}

/// A bar per bucket with a dose, the highest reaching the top.
fn dose_bars(doses_ng: &[u64], max: u64) -> String {
    let mut path = String::new();
    if max > 0 {
        let w = CHART_W / doses_ng.len().max(1) as f64;
        for (i, &ng) in doses_ng.iter().enumerate().filter(|(_, ng)| **ng > 0) {
            let x0 = i as f64 * w + w * 0.1;
            let x1 = x0 + w * 0.8;
            let y = CHART_H - CHART_H * ng as f64 / max as f64;
            let _ = write!(
                path,
                "M {x0:.1} {CHART_H} L {x0:.1} {y:.1} L {x1:.1} {y:.1} L {x1:.1} {CHART_H} Z "
            );
        }
    }
    path.trim_end().to_owned()
}

/// The pain scores (ms from the start, 0–10) joined; a single score is a short tick.
fn pain_line(pain: &[(u64, u8)], span_ms: u64) -> String {
    let mut path = String::new();
    let at = |t: u64, p: u8| {
        (
            CHART_W * t as f64 / span_ms as f64,
            CHART_H - CHART_H / 10.0 * f64::from(p),
        )
    };
    for (i, &(t, p)) in pain.iter().enumerate() {
        let (x, y) = at(t, p);
        let _ = write!(path, "{} {x:.1} {y:.1} ", if i == 0 { "M" } else { "L" });
    }
    if let [(t, p)] = pain {
        let (x, y) = at(*t, *p);
        let _ = write!(path, "L {:.1} {y:.1}", (x + 15.0).min(CHART_W));
    }
    path.trim_end().to_owned()
}

/// A bolus trial's chart: the time course of the response to each bolus, in a
/// [`COURSE_W`]×[`COURSE_H`] box (y down; the screen keeps that aspect). Across, the hours after
/// each bolus; up, the score (0 at the axis, the scale's top at the top). One line per bolus
/// through its scores, the baseline dashed, and for each bolus its onset (a triangle under the
/// axis), peak (a square) and the end of its effect (a bar the height of the chart) — as the
/// PDF draws it.
pub const COURSE_W: f64 = 1000.0;
pub const COURSE_H: f64 = 200.0;
const COURSE_LEFT: f64 = 12.0;
const COURSE_RIGHT: f64 = 988.0;
const COURSE_TOP: f64 = 8.0;
const COURSE_AXIS: f64 = 176.0;

/// The bolus lines' colours in turn (the PDF's): blue, orange, purple.
pub const COURSE_COLOURS: [(u8, u8, u8); 3] = [(26, 117, 209), (242, 140, 26), (120, 84, 184)];

/// One bolus on the chart.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CourseCurve {
    /// Stroked: its scores joined, and the bar where its effect ended.
    pub line: String,
    /// Filled: a dot at each score, a square at the peak, a triangle under the axis at the onset.
    pub marks: String,
    pub colour: (u8, u8, u8),
    /// "Bolus of 0.2 mg at 0 h: onset 4 h, peak 3 at 4 h, duration 24 h"; the effective one's
    /// begins "Effective: ".
    pub text: String,
    pub effective: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CourseChart {
    /// A light line at each labelled score, the axis included.
    pub grid: String,
    /// The score before the trial, dashed ("" when there is none).
    pub baseline: String,
    pub curves: Vec<CourseCurve>,
    /// The score labels: (height from the top as a fraction of the box's, label).
    pub levels: Vec<(f32, String)>,
    /// The hours across: (width from the left as a fraction of the box's, label).
    pub ticks: Vec<(f32, String)>,
    pub captions: Vec<String>,
}

/// Hours for reading: "0 h", "45 min", "4 h", "6.5 h".
fn course_hours(h: f64) -> String {
    if h > 0.0 && h < 1.0 {
        format!("{} min", (h * 60.0).round())
    } else {
        format!("{} h", (h * 10.0).round() / 10.0)
    }
}

/// A score for reading: pain as a whole number, Ashworth with 1+ for 1.5.
fn course_score(v: f64, measure: u8) -> String {
    if measure == MEASURE_SPASTICITY && (v - 1.5).abs() < 1e-9 {
        "1+".to_owned()
    } else {
        format!("{}", (v * 10.0).round() / 10.0)
    }
}

/// Where hours and scores fall in the box.
struct CourseScale {
    measure: u8,
    /// The scale's top score.
    top: f64,
    /// Whole hours across, at least 4.
    span: f64,
}

impl CourseScale {
    fn of(r: &BolusResponse) -> CourseScale {
        let longest = r
            .boluses
            .iter()
            .flat_map(|b| b.points.iter().map(|p| p.0))
            .chain(r.boluses.iter().map(|b| b.duration_h))
            .fold(1.0_f64, f64::max);
        CourseScale {
            measure: r.measure,
            top: if r.scale_top > 0.0 { r.scale_top } else { 10.0 },
            span: longest.ceil().max(4.0),
        }
    }

    fn x(&self, h: f64) -> f64 {
        COURSE_LEFT + (COURSE_RIGHT - COURSE_LEFT) * h.clamp(0.0, self.span) / self.span
    }

    fn y(&self, v: f64) -> f64 {
        COURSE_AXIS - (COURSE_AXIS - COURSE_TOP) * v.clamp(0.0, self.top) / self.top
    }

    fn spasticity(&self) -> bool {
        self.measure == MEASURE_SPASTICITY
    }

    /// A light line at each labelled score, and the labels.
    fn grid(&self) -> (String, Vec<(f32, String)>) {
        let step = if self.spasticity() { 1.0 } else { 2.0 };
        let mut grid = String::new();
        let mut levels = Vec::new();
        let mut v = 0.0;
        while v <= self.top + 1e-9 {
            let y = self.y(v);
            let _ = write!(grid, "M 0 {y:.1} L {COURSE_W} {y:.1} ");
            levels.push(((y / COURSE_H) as f32, course_score(v, self.measure)));
            v += step;
        }
        (grid.trim_end().to_owned(), levels)
    }

    /// The hours across: whole hours, at most about a dozen; the last says what they are.
    fn ticks(&self) -> Vec<(f32, String)> {
        let step = if self.span <= 12.0 {
            1.0
        } else {
            (self.span / 12.0).ceil()
        };
        let count = (self.span / step + 1e-9).floor() as u32;
        (0..=count)
            .map(|k| {
                let t = f64::from(k) * step;
                let unit = if k == count { " h" } else { "" };
                ((self.x(t) / COURSE_W) as f32, format!("{t}{unit}"))
            })
            .collect()
    }

    /// The score before the trial, dashed ("" when there is none: negative).
    fn baseline(&self, score: f64) -> String {
        let mut path = String::new();
        if score >= 0.0 {
            let y = self.y(score);
            let mut x = COURSE_LEFT;
            while x < COURSE_RIGHT {
                let _ = write!(
                    path,
                    "M {x:.1} {y:.1} L {:.1} {y:.1} ",
                    (x + 16.0).min(COURSE_RIGHT)
                );
                x += 26.0;
            }
        }
        path.trim_end().to_owned()
    }

    /// A bolus's line (its scores, and the bar where its effect ended) and marks (a dot at each
    /// score, a square at the peak, a triangle under the axis at the onset).
    fn paths(&self, b: &BolusCourse) -> (String, String) {
        let mut line = String::new();
        let mut marks = String::new();
        for (k, &(h, v)) in b.points.iter().enumerate() {
            let (x, y) = (self.x(h), self.y(v));
            let _ = write!(line, "{} {x:.1} {y:.1} ", if k == 0 { "M" } else { "L" });
            square(&mut marks, x, y, 4.0);
        }
        if b.peak_h >= 0.0 && b.peak_score >= 0.0 {
            square(&mut marks, self.x(b.peak_h), self.y(b.peak_score), 8.0);
        }
        if b.onset_h >= 0.0 {
            let x = self.x(b.onset_h);
            let _ = write!(
                marks,
                "M {:.1} {:.1} L {x:.1} {:.1} L {:.1} {:.1} Z ",
                x - 9.0,
                COURSE_AXIS + 19.0,
                COURSE_AXIS + 3.0,
                x + 9.0,
                COURSE_AXIS + 19.0
            );
        }
        if b.duration_h >= 0.0 {
            let x = self.x(b.duration_h);
            let _ = write!(line, "M {x:.1} {COURSE_TOP} L {x:.1} {COURSE_AXIS} ");
        }
        (line.trim_end().to_owned(), marks.trim_end().to_owned())
    }
}

/// A filled square of half-width `half` centred on (x, y).
fn square(marks: &mut String, x: f64, y: f64, half: f64) {
    let _ = write!(
        marks,
        "M {:.1} {:.1} L {:.1} {:.1} L {:.1} {:.1} L {:.1} {:.1} Z ",
        x - half,
        y - half,
        x + half,
        y - half,
        x + half,
        y + half,
        x - half,
        y + half
    );
}

/// A bolus's line of words: when, how much, and its effect.
fn course_text(b: &BolusCourse, measure: u8) -> String {
    let peak = (b.peak_score >= 0.0 && b.peak_h >= 0.0).then(|| {
        tr!(
            "{score} at {hours}",
            score = course_score(b.peak_score, measure),
            hours = course_hours(b.peak_h)
        )
    });
    let effect = match (b.responded, peak) {
        (true, peak) => tr!(
            "onset {onset}, peak {peak}, duration {duration}",
            onset = if b.onset_h >= 0.0 {
                course_hours(b.onset_h)
            } else {
                tr!("none").to_owned()
            },
            peak = peak.unwrap_or_else(|| tr!("none").to_owned()),
            duration = if b.duration_h >= 0.0 {
                course_hours(b.duration_h)
            } else {
                // Still a response at the last score: "more than 6 h (…)".
                b.effect.clone()
            }
        ),
        (false, Some(best)) => tr!("no response, best {best}", best),
        (false, None) => tr!("no score after it yet").to_owned(),
    };
    let (dose, at) = (&b.dose, course_hours(b.at_h));
    let text = if b.complete {
        tr!("Bolus of {dose} at {at}: {effect}", dose, at, effect)
    } else {
        tr!(
            "Bolus of {dose} at {at} (not given whole): {effect}",
            dose,
            at,
            effect
        )
    };
    if b.effective {
        tr!("Effective: {text}", text)
    } else {
        text
    }
}

/// Draws a bolus trial's response to each bolus.
pub fn course_chart(r: &BolusResponse) -> CourseChart {
    let scale = CourseScale::of(r);
    let (grid, levels) = scale.grid();
    let curves: Vec<CourseCurve> = r
        .boluses
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let (line, marks) = scale.paths(b);
            CourseCurve {
                line,
                marks,
                colour: COURSE_COLOURS[i % COURSE_COLOURS.len()],
                text: course_text(b, r.measure),
                effective: b.effective,
            }
        })
        .collect();
    let mut captions = vec![tr!(
        "{scale} against hours after each bolus; dashed: {baseline}",
        scale = if scale.spasticity() {
            "Ashworth 0–4"
        } else {
            tr!("Pain 0–10")
        },
        baseline = if r.baseline >= 0.0 {
            tr!(
                "before the trial, {score}",
                score = course_score(r.baseline, r.measure)
            )
        } else {
            tr!("no score before the trial").to_owned()
        }
    )];
    if curves.is_empty() {
        captions.push(tr!("No bolus has been given yet.").to_owned());
    }
    CourseChart {
        grid,
        baseline: scale.baseline(r.baseline),
        curves,
        levels,
        ticks: scale.ticks(),
        captions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn the_chart_scales_dose_bars_to_the_highest_and_pain_to_ten() {
        let h = crate::report::summary::History {
            bucket_ms: 3_600_000,
            doses_ng: vec![20_000, 0, 40_000, 10_000],
            pain: vec![(0, 8), (2 * 3_600_000, 3)],
            boluses: vec![2 * 3_600_000],
        };
        let c = chart(&h, MassUnit::Mg);
        // The highest, 40 mcg, under the axis's round top of 50 mcg: 20 mcg reaches 0.4 of
        // the height (y 150 of 250).
        assert_eq!(
            c.dose_path,
            "M 25.0 250 L 25.0 150.0 L 225.0 150.0 L 225.0 250 Z \
             M 525.0 250 L 525.0 50.0 L 725.0 50.0 L 725.0 250 Z \
             M 775.0 250 L 775.0 200.0 L 975.0 200.0 L 975.0 250 Z"
        );
        let labels =
            |v: &[(f32, String)]| v.iter().map(|(at, l)| (*at, l.clone())).collect::<Vec<_>>();
        assert_eq!(
            labels(&c.dose_levels),
            vec![
                (0.0, "50 mcg".to_owned()),
                (0.5, "25 mcg".to_owned()),
                (1.0, "0".to_owned())
            ]
        );
        assert_eq!(c.pain_levels[0], (0.0, "10".to_owned()));
        // An axis up to 0.1 mg keeps mg all along it.
        let mut big = h.clone();
        big.doses_ng = vec![91_600];
        let levels: Vec<String> = chart(&big, MassUnit::Mg)
            .dose_levels
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        assert_eq!(levels, ["0.1 mg", "0.05 mg", "0"]);
        // Four hours: a tick each hour, from 0.
        assert_eq!(
            c.ticks,
            vec![
                (0.0, "0".to_owned()),
                (0.25, "1 h".to_owned()),
                (0.5, "2 h".to_owned()),
                (0.75, "3 h".to_owned()),
                (1.0, "4 h".to_owned())
            ]
        );
        // The bolus at 2 h: a triangle pointing down at the middle of the top edge.
        assert_eq!(c.bolus_marks, "M 490.0 0 L 510.0 0 L 500.0 22 Z");
        assert_eq!(c.pain_path, "M 0.0 50.0 L 500.0 175.0");
        assert_eq!(
            c.dose_caption,
            "Dose per 1 h (bars), highest 40 mcg; ▼ a bolus (1)"
        );
        assert_eq!(c.pain_caption, "Pain 0–10 (line): 2 scores, last 3");
        assert_eq!(c.span, "Hours since the start, to 4 h");
        let none = chart(
            &crate::report::summary::History {
                bucket_ms: 3_600_000,
                doses_ng: vec![0],
                pain: vec![(1_800_000, 5)],
                boluses: Vec::new(),
            },
            MassUnit::Mg,
        );
        assert_eq!(none.dose_path, "", "no dose, no bars");
        assert_eq!(
            none.pain_path, "M 500.0 125.0 L 515.0 125.0",
            "one score is a tick"
        );
    }

    #[test]
    fn the_axes_have_round_figures_and_the_time_in_hours_then_days() {
        assert_eq!(readable::axis_top(91_600), 100_000);
        assert_eq!(readable::axis_top(40_000), 50_000);
        assert_eq!(readable::axis_top(21_000), 25_000);
        assert_eq!(readable::axis_top(20_000), 20_000);
        assert_eq!(readable::axis_top(1_500_000), 2_000_000);
        assert_eq!(readable::axis_top(1), 1);
        // Three days: a tick every 12 h; fourteen: every two days.
        let three: Vec<String> = time_ticks(72 * 3_600_000)
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        assert_eq!(three, ["0", "12 h", "24 h", "36 h", "48 h", "60 h", "72 h"]);
        let fourteen: Vec<String> = time_ticks(14 * 24 * 3_600_000)
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        assert_eq!(
            fourteen,
            [
                "0", "2 days", "4 days", "6 days", "8 days", "10 days", "12 days", "14 days"
            ]
        );
    }

    #[test]
    fn the_bolus_chart_draws_each_bolus_against_the_hours_after_it() {
        use crate::report::summary::{BolusResponse, MEASURE_PAIN, MEASURE_SPASTICITY};
        let mut first = course(0.0, vec![(2.0, 3.0), (4.0, 3.0)]);
        (first.peak_h, first.peak_score) = (2.0, 3.0);
        let mut second = course(24.0, vec![(2.0, 2.0), (4.0, 1.5), (8.0, 3.0)]);
        second.effective = true;
        second.responded = true;
        second.complete = false;
        (second.onset_h, second.peak_h, second.peak_score) = (2.0, 4.0, 1.5);
        second.duration_h = 8.0;
        let r = BolusResponse {
            bolus_trial: true,
            measure: MEASURE_SPASTICITY,
            baseline: 3.0,
            scale_top: 4.0,
            boluses: vec![first, second, course(48.0, Vec::new())],
        };
        let c = course_chart(&r);
        // 8 h across (the longest), 0 to 4 up: x = 12 + 976 h / 8, y = 176 - 42 score.
        assert_eq!(
            c.curves[1].line,
            "M 256.0 92.0 L 500.0 113.0 L 988.0 50.0 M 988.0 8 L 988.0 176"
        );
        assert!(
            c.curves[1]
                .marks
                .ends_with("M 492.0 105.0 L 508.0 105.0 L 508.0 121.0 L 492.0 121.0 Z M 247.0 195.0 L 256.0 179.0 L 265.0 195.0 Z"),
            "the peak a square, the onset a triangle under the axis: {}",
            c.curves[1].marks
        );
        assert!(c.curves[0].line.starts_with("M 256.0 50.0 L 500.0 50.0"));
        assert!(
            c.baseline
                .starts_with("M 12.0 50.0 L 28.0 50.0 M 38.0 50.0")
        );
        assert_eq!(
            c.curves.iter().map(|k| k.text.as_str()).collect::<Vec<_>>(),
            [
                "Bolus of 50 mcg at 0 h: no response, best 3 at 2 h",
                "Effective: Bolus of 50 mcg at 24 h (not given whole): onset 2 h, peak 1+ at 4 h, duration 8 h",
                "Bolus of 50 mcg at 48 h: no score after it yet",
            ]
        );
        assert_eq!(
            c.curves.iter().map(|k| k.colour).collect::<Vec<_>>(),
            [COURSE_COLOURS[0], COURSE_COLOURS[1], COURSE_COLOURS[2]]
        );
        assert_eq!(
            c.levels.iter().map(|l| l.1.as_str()).collect::<Vec<_>>(),
            ["0", "1", "2", "3", "4"]
        );
        assert_eq!(c.ticks.len(), 9);
        assert_eq!(c.ticks[8], (0.988, "8 h".to_owned()));
        assert_eq!(
            c.captions,
            ["Ashworth 0–4 against hours after each bolus; dashed: before the trial, 3"]
        );

        // Pain, still a response at the last score, no baseline, a long observation.
        let mut still = course(0.0, vec![(0.5, 2.0), (30.0, 3.0)]);
        still.responded = true;
        (still.onset_h, still.peak_h, still.peak_score) = (0.5, 0.5, 2.0);
        still.effect = "more than 30 h (still a response at the last score)".to_owned();
        let c = course_chart(&BolusResponse {
            bolus_trial: true,
            measure: MEASURE_PAIN,
            baseline: -1.0,
            scale_top: 10.0,
            boluses: vec![still],
        });
        assert_eq!(
            c.curves[0].text,
            "Bolus of 50 mcg at 0 h: onset 30 min, peak 2 at 30 min, duration more than 30 h (still a response at the last score)"
        );
        assert_eq!(c.baseline, "", "no score before the trial, no dashes");
        assert_eq!(
            c.ticks.iter().map(|t| t.1.as_str()).collect::<Vec<_>>(),
            [
                "0", "3", "6", "9", "12", "15", "18", "21", "24", "27", "30 h"
            ]
        );
        assert_eq!(
            c.levels.iter().map(|l| l.1.as_str()).collect::<Vec<_>>(),
            ["0", "2", "4", "6", "8", "10"]
        );
        assert!(c.captions[0].ends_with("dashed: no score before the trial"));
        let none = course_chart(&BolusResponse {
            bolus_trial: true,
            measure: MEASURE_PAIN,
            baseline: 7.0,
            scale_top: 10.0,
            boluses: Vec::new(),
        });
        assert_eq!(none.captions[1], "No bolus has been given yet.");
    }

    #[test]
    fn the_charts_words_are_german() {
        use crate::core::lang::{Language, with};
        use crate::report::summary::{BolusResponse, MEASURE_SPASTICITY};
        let mut b = course(24.0, vec![(2.0, 2.0), (4.0, 1.5), (8.0, 3.0)]);
        b.effective = true;
        b.responded = true;
        b.complete = false;
        (b.onset_h, b.peak_h, b.peak_score, b.duration_h) = (2.0, 4.0, 1.5, 8.0);
        let r = BolusResponse {
            bolus_trial: true,
            measure: MEASURE_SPASTICITY,
            baseline: 3.0,
            scale_top: 4.0,
            boluses: vec![b, course(48.0, Vec::new())],
        };
        with(Language::German, || {
            let c = course_chart(&r);
            assert_eq!(
                c.curves[0].text,
                "Wirksam: Bolus von 50 mcg bei 24 h (nicht vollständig gegeben): \
                 Wirkungseintritt 2 h, Maximum 1+ nach 4 h, Dauer 8 h"
            );
            assert_eq!(
                c.curves[1].text,
                "Bolus von 50 mcg bei 48 h: noch kein Wert danach"
            );
            assert_eq!(
                c.captions[0],
                "Ashworth 0–4 über den Stunden nach jedem Bolus; gestrichelt: vor der \
                 Testphase, 3"
            );
            let days: Vec<String> = time_ticks(8 * 24 * 3_600_000)
                .into_iter()
                .map(|(_, l)| l)
                .collect();
            assert_eq!(
                days,
                [
                    "0", "1 Tag", "2 Tage", "3 Tage", "4 Tage", "5 Tage", "6 Tage", "7 Tage",
                    "8 Tage"
                ]
            );
        });
    }

    fn course(at_h: f64, points: Vec<(f64, f64)>) -> crate::report::summary::BolusCourse {
        crate::report::summary::BolusCourse {
            at_h,
            dose: "50 mcg".to_owned(),
            by: "scheduled".to_owned(),
            effective: false,
            complete: true,
            responded: false,
            onset_h: -1.0,
            peak_h: -1.0,
            peak_score: -1.0,
            duration_h: -1.0,
            effect: "no response".to_owned(),
            points,
        }
    }
}
