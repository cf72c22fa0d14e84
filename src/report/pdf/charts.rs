//! The charts and the day table: dose and pain per day, or the response to each bolus.

use super::*;
use crate::journal::Severity;
use crate::report::words;

/// Colours for the boluses of a time-course chart, in turn.
pub(super) const BOLUS_COLOURS: [(f32, f32, f32); 3] = [PATIENT, CLINICIAN, SCHEDULED];

/// The line of the `i`th bolus, by its colour: "blue line".
pub(super) fn bolus_line(i: usize) -> &'static str {
    match i % BOLUS_COLOURS.len() {
        0 => tr!("blue line"),
        1 => tr!("orange line"),
        _ => tr!("purple line"),
    }
}

/// Hours after a bolus, for reading: "45 min", "4 h", "6.5 h".
pub(super) fn after_words(h: f64) -> String {
    if h < 1.0 {
        format!("{} min", (h * 60.0).round())
    } else {
        format!("{} h", (h * 10.0).round() / 10.0)
    }
}

/// A bolus trial's chart: each bolus's scores against the hours after it (pain 0–10 or
/// Ashworth 0–4), the baseline dashed, and for each bolus its onset (a triangle below the
/// axis), peak (a square on the line) and the end of its effect (a vertical bar); then a line
/// per bolus with the same in words.
pub(super) fn time_course(p: &mut Page, s: &Summary, unit: MassUnit) {
    let e = &s.effective_dose;
    let spasticity = s.outcome_measure == OutcomeMeasure::Spasticity;
    let top_score = if spasticity { 4.0 } else { 10.0 };
    let baseline = if spasticity {
        s.spasticity.baseline.map(|b| b.value())
    } else {
        s.pain.baseline.map(f64::from)
    };
    let height = 120.0;
    let left = MARGIN + 40.0;
    let right = p.width - MARGIN - 30.0;
    let top = p.y - 6.0;
    let bottom = top - height;
    let longest = e
        .boluses
        .iter()
        .flat_map(|b| b.scores.iter().map(|(h, _)| *h))
        .chain(e.boluses.iter().filter_map(|b| b.duration_h))
        .fold(1.0_f64, f64::max);
    // Whole hours, at least 4.
    let span = longest.ceil().max(4.0);
    let x_of = |h: f64| left + ((h / span) as f32) * (right - left);
    let y_of = |v: f64| bottom + ((v / top_score) as f32) * height;
    p.line(GREY, 0.5, &[(left, top), (left, bottom), (right, bottom)]);
    p.text_at(
        MARGIN,
        top - 8.0,
        7.0,
        false,
        if spasticity {
            tr!("Ashworth 4")
        } else {
            tr!("pain 10")
        },
    );
    p.text_at(MARGIN, bottom, 7.0, false, "0");
    let ticks = if span <= 12.0 {
        1.0
    } else {
        (span / 12.0).ceil()
    };
    let mut t = 0.0;
    while t <= span + 1e-9 {
        p.text_at(x_of(t) - 3.0, bottom - 9.0, 7.0, false, &format!("{t}"));
        t += ticks;
    }
    let hours_after = tr!("hours after the bolus");
    p.text_at(
        (right - 90.0).min(right - width(hours_after, 7.0, false)),
        bottom - 18.0,
        7.0,
        false,
        hours_after,
    );
    if let Some(b) = baseline {
        let y = y_of(b);
        let mut x = left;
        while x < right {
            p.line(GREY, 0.6, &[(x, y), ((x + 4.0).min(right), y)]);
            x += 8.0;
        }
    }
    for (i, b) in e.boluses.iter().enumerate() {
        let colour = BOLUS_COLOURS[i % BOLUS_COLOURS.len()];
        let points: Vec<(f32, f32)> = b.scores.iter().map(|&(h, v)| (x_of(h), y_of(v))).collect();
        if points.len() > 1 {
            p.line(colour, 1.5, &points);
        }
        for &(x, y) in &points {
            p.fill(colour, x - 1.5, y - 1.5, 3.0, 3.0);
        }
        if let Some(h) = b.onset_h {
            let x = x_of(h);
            p.line(
                colour,
                1.0,
                &[
                    (x - 3.0, bottom - 4.0),
                    (x, bottom),
                    (x + 3.0, bottom - 4.0),
                    (x - 3.0, bottom - 4.0),
                ],
            );
        }
        if let (Some(h), Some(v)) = (b.peak_h, b.peak_score) {
            p.fill(colour, x_of(h) - 3.5, y_of(v) - 3.5, 7.0, 7.0);
        }
        if let Some(h) = b.duration_h {
            let x = x_of(h);
            p.line(colour, 1.2, &[(x, bottom), (x, top)]);
        }
    }
    p.y = bottom - 22.0;
    for (i, b) in e.boluses.iter().enumerate() {
        let line = tr!(
            "Bolus of {dose} at {at} after the start, {line} ({by}{partial}): onset {onset}, peak {peak}, duration {effect}.",
            dose = show_given(b.dose_mg, unit),
            at = hours_words(b.at_h),
            line = bolus_line(i),
            by = words::bolus_by(b.by),
            partial = if b.complete {
                ""
            } else {
                tr!(", NOT GIVEN WHOLE")
            },
            onset = b.onset_h.map_or(tr!("none").to_owned(), after_words),
            peak = match (b.peak_h, b.peak_score) {
                (Some(h), Some(v)) => tr!("score {score} at {at}", score = v, at = after_words(h)),
                _ => tr!("none").to_owned(),
            },
            effect = b.effect
        );
        p.para(
            8.0,
            e.bolus_index == Some(i),
            &if e.bolus_index == Some(i) {
                tr!("EFFECTIVE: {bolus}", bolus = line)
            } else {
                line
            },
        );
    }
    p.para(
        7.5,
        false,
        tr!("Triangle: onset (the first response); square: peak (the best score); bar: the effect has ended (the first score that was no longer a response); dashed: before the trial."),
    );
}

/// Stacked bars of dose per day by source, and the day's mean pain as a line (scale 0–10 on the
/// right), with the pain before the trial dashed.
pub(super) fn chart(p: &mut Page, s: &Summary, unit: MassUnit) {
    let height = 130.0;
    let left = MARGIN + 40.0;
    let right = p.width - MARGIN - 30.0;
    let top = p.y - 6.0;
    let bottom = top - height;
    let days = s.days.len().max(1);
    let slot = (right - left) / days as f32;
    let highest = s.days.iter().map(|d| d.total_mg).fold(0.0_f64, f64::max);
    // The axis's top at a round figure (readable::axis_top), labelled with its half.
    let top_ng = crate::core::readable::axis_top((highest * 1e6).round().max(1.0) as u64);
    let max = top_ng as f64 / 1e6;
    // Axes and labels.
    p.line(
        GREY,
        0.5,
        &[(left, top), (left, bottom), (right, bottom), (right, top)],
    );
    p.text_at(MARGIN, top - 8.0, 7.0, false, &show_given(max, unit));
    p.text_at(
        MARGIN,
        bottom + height / 2.0 - 4.0,
        7.0,
        false,
        &show_given(max / 2.0, unit),
    );
    p.text_at(MARGIN, bottom, 7.0, false, "0");
    p.text_at(right + 4.0, bottom + height / 2.0 - 4.0, 7.0, false, "5");
    p.text_at(right + 4.0, top - 8.0, 7.0, false, tr!("pain 10"));
    p.text_at(right + 4.0, bottom, 7.0, false, "0");
    for (i, d) in s.days.iter().enumerate() {
        let x = left + slot * i as f32 + slot * 0.15;
        let w = slot * 0.7;
        let mut y = bottom;
        for (v, colour) in [
            (d.basal_mg, BASAL),
            (d.pca_mg, PATIENT),
            (d.scheduled_bolus_mg, SCHEDULED),
            (d.clinician_bolus_mg, CLINICIAN),
        ] {
            let hgt = (v / max) as f32 * height;
            if hgt > 0.0 {
                p.fill(colour, x, y, w, hgt);
                y += hgt;
            }
        }
        if days <= 16 {
            p.text_at(x, bottom - 9.0, 7.0, false, &tr!("day {day}", day = d.day));
        }
    }
    let pain_y = |v: f64| bottom + (v / 10.0) as f32 * height;
    if let Some(b) = s.pain.baseline {
        let y = pain_y(f64::from(b));
        let mut x = left;
        while x < right {
            p.line(PAIN, 0.6, &[(x, y), ((x + 4.0).min(right), y)]);
            x += 8.0;
        }
    }
    let points: Vec<(f32, f32)> = s
        .days
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            d.pain_mean
                .map(|m| (left + slot * (i as f32 + 0.5), pain_y(m)))
        })
        .collect();
    if points.len() > 1 {
        p.line(PAIN, 1.5, &points);
    }
    for &(x, y) in &points {
        p.fill(PAIN, x - 2.0, y - 2.0, 4.0, 4.0);
    }
    // Legend: a row, or two when its words are longer than the page is wide.
    let mut ly = bottom - 22.0;
    let mut lx = left;
    for (label, colour) in [
        (tr!("basal"), BASAL),
        (tr!("patient boluses"), PATIENT),
        (tr!("scheduled boluses"), SCHEDULED),
        (tr!("clinician boluses"), CLINICIAN),
        (tr!("mean pain per day (dashed: before the trial)"), PAIN),
    ] {
        let needed = 10.0 + width(label, 7.5, false);
        if lx > left && lx + needed > p.width - MARGIN {
            lx = left;
            ly -= 11.0;
        }
        p.fill(colour, lx, ly, 7.0, 7.0);
        p.text_at(lx + 10.0, ly, 7.5, false, label);
        lx += 8.0 + needed;
    }
    p.y = ly - 6.0;
}

pub(super) fn day_table(p: &mut Page, s: &Summary, unit: MassUnit) {
    let cols: [(&str, f32); 8] = [
        (tr!("Day"), 0.0),
        (tr!("Total"), 34.0),
        (tr!("Basal"), 100.0),
        (tr!("Patient"), 166.0),
        (tr!("Other boluses"), 232.0),
        (tr!("Requests (granted/denied)"), 302.0),
        (tr!("Pain mean (lowest)"), 408.0),
        (tr!("Side effects"), 480.0),
    ];
    p.y -= 14.0;
    let y = p.y;
    for (name, x) in cols {
        p.text_at(MARGIN + x, y, 7.5, true, name);
    }
    for d in &s.days {
        if p.y < MARGIN + 20.0 {
            p.text_at(
                MARGIN,
                p.y - 10.0,
                7.5,
                false,
                tr!("(more days in the CSV export)"),
            );
            break;
        }
        p.y -= 10.5;
        let side = d.side_effects_mild + d.side_effects_moderate + d.side_effects_severe;
        let cells = [
            d.day.to_string(),
            show_given(d.total_mg, unit),
            show_given(d.basal_mg, unit),
            show_given(d.pca_mg, unit),
            show_given(d.scheduled_bolus_mg + d.clinician_bolus_mg, unit),
            format!("{} / {}", d.pca_granted, d.pca_denied),
            match (d.pain_mean, d.pain_lowest) {
                (Some(m), Some(l)) => format!("{m} ({l})"),
                _ => "—".to_owned(),
            },
            if side == 0 {
                tr!("none").to_owned()
            } else {
                [
                    (d.side_effects_mild, Severity::Mild),
                    (d.side_effects_moderate, Severity::Moderate),
                    (d.side_effects_severe, Severity::Severe),
                ]
                .iter()
                .filter(|(n, _)| *n > 0)
                .map(|(n, w)| format!("{n} {}", words::severity(*w)))
                .collect::<Vec<_>>()
                .join(", ")
            },
        ];
        let y = p.y;
        for ((_, x), cell) in cols.iter().zip(cells) {
            p.text_at(MARGIN + x, y, 7.5, false, &cell);
        }
    }
}
