//! The second page: the checklist, the program and its changes, alarms and interruptions,
//! sedation and side effects, the catheter, and the decision.

use super::*;

/// A time of the summary's clock, for reading ("2000-01-01 08:00 UTC").
pub(super) fn clock_words(rfc3339: &str) -> String {
    let t = rfc3339.replace('T', " ").replace('Z', " UTC");
    // Seconds say nothing here: "…08:00:00 UTC" → "…08:00 UTC".
    match (t.len(), t.rfind(':')) {
        (len, Some(i)) if len >= 20 && i + 7 == len => format!("{}{}", &t[..i], &t[i + 3..]),
        _ => t,
    }
}

/// The pre-trial checklist: each item and who confirmed it, what was open and the override.
pub(super) fn checklist(p: &mut Page, s: &Summary) {
    let Some(c) = &s.checklist else {
        return;
    };
    p.heading("Pre-trial checklist");
    let done: Vec<String> = c
        .items
        .iter()
        .filter(|i| i.confirmed)
        .map(|i| {
            format!(
                "{} ({}, {})",
                i.id.replace('_', " "),
                i.confirmed_by.as_deref().unwrap_or("?"),
                i.confirmed_at
                    .as_deref()
                    .map(clock_words)
                    .unwrap_or_default()
            )
        })
        .collect();
    if c.complete {
        p.para(
            9.0,
            false,
            &format!(
                "All {} items confirmed before the start: {}.",
                c.items.len(),
                done.join("; ")
            ),
        );
        return;
    }
    if !done.is_empty() {
        p.para(9.0, false, &format!("Confirmed: {}.", done.join("; ")));
    }
    let open: Vec<&str> = c
        .items
        .iter()
        .filter(|i| !i.confirmed)
        .map(|i| i.text.as_str())
        .collect();
    p.para(
        9.0,
        true,
        &format!("NOT CONFIRMED at the start: {}", open.join(" ")),
    );
    match &c.overridden {
        Some(o) => p.para(
            9.0,
            false,
            &format!(
                "Started on a clinician's override: {} at {}: {}",
                o.by,
                clock_words(&o.at),
                o.reason
            ),
        ),
        None => p.para(9.0, false, "Not overridden: delivery has not started."),
    }
}

/// The clinician's decision: outcome and reasons, the patient's wish, the implant planned with
/// its starting dose from the worksheet, and the catheter's removal.
pub(super) fn decision(p: &mut Page, s: &Summary, unit: MassUnit) {
    p.heading("Decision");
    match &s.assessment {
        Some(a) => {
            p.para(
                10.0,
                true,
                &format!(
                    "Outcome: {} — by {} at {}{}",
                    a.outcome,
                    a.by,
                    hours_words(a.at_h),
                    if a.note.is_empty() {
                        ".".to_owned()
                    } else {
                        format!(". Reasons: {}", a.note)
                    }
                ),
            );
            let wish = match a.patient_wish {
                Some(crate::journal::Wish::Yes) => "yes",
                Some(crate::journal::Wish::No) => "no",
                Some(crate::journal::Wish::Undecided) => "undecided",
                None => "not recorded",
            };
            p.para(
                10.0,
                false,
                &format!("The patient wishes to proceed to an implant: {wish}."),
            );
            let implant = match (&a.planned_implant, a.planned_starting_dose_mg_per_day) {
                (Some(device), Some(dose)) => format!(
                    "Planned implant: {device}, starting at {} per day of {} {} mg/mL (the worksheet's dose, confirmed by {}).",
                    show_mg(dose, unit),
                    s.implant.drug,
                    s.implant.concentration_mg_per_ml,
                    s.implant.confirmed_by.as_deref().unwrap_or("?")
                ),
                (Some(device), None) => format!(
                    "Planned implant: {device}; starting dose NOT CONFIRMED on the worksheet."
                ),
                (None, _) => "No implant planned.".to_owned(),
            };
            p.para(10.0, false, &implant);
        }
        None => p.para(10.0, false, "Not recorded yet."),
    }
    match &s.catheter_removal {
        Some(r) => p.para(
            10.0,
            false,
            &format!(
                "Catheter removed at {} ({}) by {}{}",
                clock_words(&r.at),
                hours_words(r.at_h),
                r.by,
                if r.note.is_empty() {
                    ".".to_owned()
                } else {
                    format!(": {}", r.note)
                }
            ),
        ),
        None => p.para(10.0, false, "Catheter removal: not recorded yet."),
    }
}

pub(super) fn page_two(s: &Summary, unit: MassUnit, paper: Paper) -> Page {
    let mut p = Page::new(paper);
    checklist(&mut p, s);
    program_and_changes(&mut p, s, unit);
    alarms_and_interruptions(&mut p, s);
    observations_and_side_effects(&mut p, s, unit);
    p
}

/// The program at the start and the dose changes.
pub(super) fn program_and_changes(p: &mut Page, s: &Summary, unit: MassUnit) {
    let pr = &s.program;
    p.heading("Program at the start");
    let mut program = format!(
        "Syringe {} mL. Basal {} per day.",
        pr.reservoir_ml,
        show_prescribed(pr.basal_mg_per_day, unit)
    );
    if let Some(pca) = &pr.pca {
        program.push_str(&format!(
            " Patient bolus {}, lockout {} min, at most {} per hour.",
            show_prescribed(pca.dose_mg, unit),
            pca.lockout_min,
            pca.max_per_hour
        ));
    }
    for b in &pr.scheduled_boluses {
        program.push_str(&format!(
            " Bolus {} at {}.",
            show_prescribed(b.dose_mg, unit),
            hours_words(b.at_h)
        ));
    }
    p.para(10.0, false, &program);

    p.heading("Dose changes");
    if s.titration.is_empty() && s.program_changes.is_empty() {
        p.para(10.0, false, "None.");
    }
    for c in &s.titration {
        p.para(
            10.0,
            false,
            &format!(
                "{}: basal {} → {} per day (by {}).",
                hours_words(c.at_h),
                show_prescribed(c.from_mg_per_day, unit),
                show_prescribed(c.to_mg_per_day, unit),
                c.by
            ),
        );
    }
    // The program's other settings changed during the trial (a new basal is among the rate
    // changes above), each with who made it and who checked it.
    for c in &s.program_changes {
        let what: Vec<String> = c
            .changes
            .iter()
            .filter(|x| x.setting != "basal")
            .map(|x| format!("{} {} → {}", setting_words(&x.setting), x.old, x.new))
            .collect();
        if what.is_empty() {
            continue;
        }
        p.para(
            10.0,
            false,
            &format!(
                "{}: {} (by {}, checked by {}).",
                hours_words(c.at_h),
                what.join("; "),
                c.by,
                c.verified_by
            ),
        );
    }
}

/// A program setting's name in the PDF.
fn setting_words(setting: &str) -> &str {
    match setting {
        "titration" => "planned dose steps",
        "pca" => "patient bolus",
        "boluses" => "scheduled boluses",
        "limit" => "dose limit",
        "kvo" => "KVO",
        other => other,
    }
}

/// The alarms and the interruptions of delivery.
pub(super) fn alarms_and_interruptions(p: &mut Page, s: &Summary) {
    p.heading("Alarms");
    if s.alarms.is_empty() {
        p.para(10.0, false, "None.");
    }
    for a in &s.alarms {
        let kind = serde_json::to_value(a.kind)
            .ok()
            .and_then(|v| v.as_str().map(|k| k.replace('_', " ")))
            .unwrap_or_default();
        p.para(
            10.0,
            false,
            &format!(
                "{}: {} ({}){}{}.",
                hours_words(a.at_h),
                kind,
                a.priority,
                a.cleared_at_h.map_or(String::new(), |c| format!(
                    ", cleared at {}",
                    hours_words(c)
                )),
                a.pressure_mmhg
                    .map_or(String::new(), |m| format!(", {m} mmHg"))
            ),
        );
    }

    p.heading("Interruptions of delivery");
    if s.interruptions.is_empty() {
        p.para(10.0, false, "None.");
    }
    for x in &s.interruptions {
        let why = match x.reason {
            "paused" => "paused by a nurse",
            "alarm" => "stopped by an alarm",
            "power" => "no power",
            other => other,
        };
        p.para(
            10.0,
            false,
            &format!(
                "{} to {}: {why}.",
                hours_words(x.from_h),
                x.to_h.map_or("the end".to_owned(), hours_words)
            ),
        );
    }
}

/// Sedation and breathing, side effects, and earlier exports.
pub(super) fn observations_and_side_effects(p: &mut Page, s: &Summary, unit: MassUnit) {
    p.heading("Sedation and breathing");
    let o = &s.observations;
    if o.sedation.is_empty() && o.vitals.is_empty() && o.holds.is_empty() {
        p.para(10.0, false, "None recorded.");
    } else {
        p.para(
            10.0,
            false,
            &format!(
                "{} sedation scores (highest POSS {}); {} sets of vital signs (lowest respiratory rate {}).",
                o.sedation.len(),
                o.sedation
                    .iter()
                    .map(|x| x.poss)
                    .max()
                    .map_or("—".to_owned(), |v| v.to_string()),
                o.vitals.len(),
                o.vitals
                    .iter()
                    .filter_map(|x| x.resp_rate)
                    .min()
                    .map_or("—".to_owned(), |v| format!("{v}/min"))
            ),
        );
    }
    if let Some(schedule) = &o.schedule {
        p.para(
            10.0,
            false,
            &format!(
                "Checks: {schedule}. Missed: {}; escalated (the next one missed too): {}.",
                o.missed_checks, o.escalated_checks
            ),
        );
    }
    for hold in &o.holds {
        let review = match (hold.reviewed_at_h, &hold.reviewed_by, &hold.note) {
            (Some(at), Some(by), Some(note)) => {
                format!("reviewed by {by} at {}: {note}", hours_words(at))
            }
            _ => "not reviewed by a clinician".to_owned(),
        };
        let text = format!(
            "{}: delivery stopped for {} (sedation interlock); {} patient requests refused; {review}",
            hours_words(hold.at_h),
            hold.reason,
            hold.patient_requests_denied
        );
        let end = if text.ends_with(['.', '!', '?']) {
            ""
        } else {
            "."
        };
        p.para(10.0, false, &format!("{text}{end}"));
    }

    catheter(p, s);

    p.heading("Side effects");
    if s.side_effects.is_empty() {
        p.para(10.0, false, "None reported.");
    }
    for e in &s.side_effects {
        let what = serde_json::to_value(e.effect)
            .ok()
            .and_then(|v| v.as_str().map(|k| k.replace('_', " ")))
            .unwrap_or_default();
        let how = serde_json::to_value(e.severity)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        p.para(
            10.0,
            false,
            &format!("{}: {what}, {how}.", hours_words(e.at_h)),
        );
    }

    decision(p, s, unit);
    if !s.exports.is_empty() {
        p.heading("Earlier exports");
        for x in &s.exports {
            p.para(
                9.0,
                false,
                &format!(
                    "{} by {} to {}: {}",
                    hours_words(x.at_h),
                    x.by,
                    x.destination,
                    x.files.join(", ")
                ),
            );
        }
    }
    p.gap(10.0);
    p.para(
        8.0,
        false,
        "Times are from the start of the trial. Amounts are rounded here to 0.001 mg (0.1 mcg); the JSON export holds them to the nanogram and the CSV export every delivery. This document is generated from the pump's hash-chained trial log.",
    );
}

/// The catheter, its site checks (those with a sign listed), and the function answers.
pub(super) fn catheter(p: &mut Page, s: &Summary) {
    let c = &s.catheter;
    p.heading("Catheter and site");
    p.para(
        10.0,
        false,
        &format!(
            "{}, tip at {}{}.",
            c.kind.as_deref().unwrap_or("Catheter type not recorded"),
            c.tip.as_deref().unwrap_or("a level not recorded"),
            c.placed_h_before_start.map_or(String::new(), |h| format!(
                ", placed {} before the start",
                duration_words(h)
            ))
        ),
    );
    match c.site_check_every_h {
        Some(every) => p.para(
            10.0,
            false,
            &format!(
                "Site checks every {}: {} recorded, {} missed; possible infection raised {} times (fever from {} °C or a finding).",
                duration_words(every),
                c.site_checks.len(),
                c.missed_site_checks,
                c.possible_infection_alarms,
                c.fever_c
            ),
        ),
        None => p.para(10.0, false, "No site checks were scheduled."),
    }
    for check in c
        .site_checks
        .iter()
        .filter(|x| !x.findings.is_empty() || x.temp_c >= c.fever_c)
    {
        let found: Vec<&str> = check.findings.iter().map(|f| f.label()).collect();
        p.para(
            10.0,
            false,
            &format!(
                "{}: {} °C{}{} (by {}).",
                hours_words(check.at_h),
                check.temp_c,
                if found.is_empty() { "" } else { ", " },
                found.join(", "),
                check.by
            ),
        );
    }
    if !s.diary.function_skipped_h.is_empty() {
        p.para(
            10.0,
            false,
            &format!(
                "The function question was left for now {} time(s).",
                s.diary.function_skipped_h.len()
            ),
        );
    }
    if !s.diary.function.is_empty() {
        let levels: Vec<String> = s
            .diary
            .function
            .iter()
            .map(|f| f.level.to_string())
            .collect();
        p.para(
            10.0,
            false,
            &format!(
                "Function (\"{}\"): answers {} in order (1 = the least function).",
                s.diary.function[0].question,
                levels.join(", ")
            ),
        );
    }
}
