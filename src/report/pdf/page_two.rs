//! The second page: the checklist, the program and its changes, alarms and interruptions,
//! sedation and side effects, the catheter, and the decision.

use super::*;
use crate::report::words;

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
    p.heading(tr!("Pre-trial checklist"));
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
            &tr!(
                "All {n} items confirmed before the start: {items}.",
                n = c.items.len(),
                items = done.join("; ")
            ),
        );
        return;
    }
    if !done.is_empty() {
        p.para(
            9.0,
            false,
            &tr!("Confirmed: {items}.", items = done.join("; ")),
        );
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
        &tr!("NOT CONFIRMED at the start: {open}", open = open.join(" ")),
    );
    match &c.overridden {
        Some(o) => p.para(
            9.0,
            false,
            &tr!(
                "Started on a clinician's override: {by} at {at}: {reason}",
                by = o.by,
                at = clock_words(&o.at),
                reason = o.reason
            ),
        ),
        None => p.para(9.0, false, tr!("Not overridden: delivery has not started.")),
    }
}

/// The clinician's decision: outcome and reasons, the patient's wish, the implant planned with
/// its starting dose from the worksheet, and the catheter's removal.
pub(super) fn decision(p: &mut Page, s: &Summary, unit: MassUnit) {
    p.heading(tr!("Decision"));
    match &s.assessment {
        Some(a) => {
            p.para(
                10.0,
                true,
                &if a.note.is_empty() {
                    tr!(
                        "Outcome: {outcome} — by {by} at {at}.",
                        outcome = words::outcome(a.outcome),
                        by = a.by,
                        at = hours_words(a.at_h)
                    )
                } else {
                    tr!(
                        "Outcome: {outcome} — by {by} at {at}. Reasons: {note}",
                        outcome = words::outcome(a.outcome),
                        by = a.by,
                        at = hours_words(a.at_h),
                        note = a.note
                    )
                },
            );
            let wish = a.patient_wish.map_or(tr!("not recorded"), words::wish);
            p.para(
                10.0,
                false,
                &tr!("The patient wishes to proceed to an implant: {wish}.", wish),
            );
            let implant = match (&a.planned_implant, a.planned_starting_dose_mg_per_day) {
                (Some(device), Some(dose)) => tr!(
                    "Planned implant: {device}, starting at {dose} per day of {drug} {concentration} mg/mL (the worksheet's dose, confirmed by {by}).",
                    device,
                    dose = show_mg(dose, unit),
                    drug = s.implant.drug,
                    concentration = s.implant.concentration_mg_per_ml,
                    by = s.implant.confirmed_by.as_deref().unwrap_or("?")
                ),
                (Some(device), None) => tr!(
                    "Planned implant: {device}; starting dose NOT CONFIRMED on the worksheet.",
                    device
                ),
                (None, _) => tr!("No implant planned.").to_owned(),
            };
            p.para(10.0, false, &implant);
        }
        None => p.para(10.0, false, tr!("Not recorded yet.")),
    }
    match &s.catheter_removal {
        Some(r) => p.para(
            10.0,
            false,
            &if r.note.is_empty() {
                tr!(
                    "Catheter removed at {at} ({after}) by {by}.",
                    at = clock_words(&r.at),
                    after = hours_words(r.at_h),
                    by = r.by
                )
            } else {
                tr!(
                    "Catheter removed at {at} ({after}) by {by}: {note}",
                    at = clock_words(&r.at),
                    after = hours_words(r.at_h),
                    by = r.by,
                    note = r.note
                )
            },
        ),
        None => p.para(10.0, false, tr!("Catheter removal: not recorded yet.")),
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
    p.heading(tr!("Program at the start"));
    let mut program = tr!(
        "Syringe {ml} mL. Basal {basal} per day.",
        ml = pr.reservoir_ml,
        basal = show_prescribed(pr.basal_mg_per_day, unit)
    );
    if let Some(pca) = &pr.pca {
        program.push(' ');
        program.push_str(&tr!(
            "Patient bolus {dose}, lockout {lockout} min, at most {max} per hour.",
            dose = show_prescribed(pca.dose_mg, unit),
            lockout = pca.lockout_min,
            max = pca.max_per_hour
        ));
    }
    for b in &pr.scheduled_boluses {
        program.push(' ');
        program.push_str(&tr!(
            "Bolus {dose} at {at}.",
            dose = show_prescribed(b.dose_mg, unit),
            at = hours_words(b.at_h)
        ));
    }
    p.para(10.0, false, &program);

    p.heading(tr!("Dose changes"));
    if s.titration.is_empty() && s.program_changes.is_empty() {
        p.para(10.0, false, tr!("None."));
    }
    for c in &s.titration {
        p.para(
            10.0,
            false,
            &tr!(
                "{at}: basal {from} → {to} per day (by {by}).",
                at = hours_words(c.at_h),
                from = show_prescribed(c.from_mg_per_day, unit),
                to = show_prescribed(c.to_mg_per_day, unit),
                by = words::role(&c.by)
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
            &tr!(
                "{at}: {changes} (by {by}, checked by {checker}).",
                at = hours_words(c.at_h),
                changes = what.join("; "),
                by = c.by,
                checker = c.verified_by
            ),
        );
    }
}

/// A program setting's name in the PDF.
fn setting_words(setting: &str) -> &str {
    match setting {
        "titration" => tr!("planned dose steps"),
        "pca" => tr!("patient bolus"),
        "boluses" => tr!("scheduled boluses"),
        "limit" => tr!("dose limit"),
        "kvo" => tr!("KVO"),
        other => other,
    }
}

/// The alarms and the interruptions of delivery.
pub(super) fn alarms_and_interruptions(p: &mut Page, s: &Summary) {
    p.heading(tr!("Alarms"));
    if s.alarms.is_empty() {
        p.para(10.0, false, tr!("None."));
    }
    for a in &s.alarms {
        p.para(
            10.0,
            false,
            &format!(
                "{}: {} ({}){}{}.",
                hours_words(a.at_h),
                words::alarm(a.kind),
                a.priority.words(),
                a.cleared_at_h.map_or(String::new(), |c| tr!(
                    ", cleared at {at}",
                    at = hours_words(c)
                )),
                a.pressure_mmhg
                    .map_or(String::new(), |m| format!(", {m} mmHg"))
            ),
        );
    }

    p.heading(tr!("Interruptions of delivery"));
    if s.interruptions.is_empty() {
        p.para(10.0, false, tr!("None."));
    }
    for x in &s.interruptions {
        let why = match x.reason {
            "paused" => tr!("paused by a nurse"),
            "alarm" => tr!("stopped by an alarm"),
            "power" => tr!("no power"),
            other => other,
        };
        let from = hours_words(x.from_h);
        p.para(
            10.0,
            false,
            &match x.to_h {
                Some(to) => tr!("{from} to {to}: {why}.", from, to = hours_words(to), why),
                None => tr!("{from} to the end: {why}.", from, why),
            },
        );
    }
}

/// Sedation and breathing, side effects, and earlier exports.
pub(super) fn observations_and_side_effects(p: &mut Page, s: &Summary, unit: MassUnit) {
    p.heading(tr!("Sedation and breathing"));
    let o = &s.observations;
    if o.sedation.is_empty() && o.vitals.is_empty() && o.holds.is_empty() {
        p.para(10.0, false, tr!("None recorded."));
    } else {
        let (poss, rate) = o.extremes("—");
        p.para(
            10.0,
            false,
            &tr!(
                "{scores} sedation scores (highest POSS {poss}); {sets} sets of vital signs (lowest respiratory rate {rate}).",
                scores = o.sedation.len(),
                poss,
                sets = o.vitals.len(),
                rate
            ),
        );
    }
    if let Some(schedule) = &o.schedule {
        p.para(
            10.0,
            false,
            &tr!(
                "Checks: {schedule}. Missed: {missed}; escalated (the next one missed too): {escalated}.",
                schedule,
                missed = o.missed_checks,
                escalated = o.escalated_checks
            ),
        );
    }
    for hold in &o.holds {
        let review = match (hold.reviewed_at_h, &hold.reviewed_by, &hold.note) {
            (Some(at), Some(by), Some(note)) => {
                tr!(
                    "reviewed by {by} at {at}: {note}",
                    by,
                    at = hours_words(at),
                    note
                )
            }
            _ => tr!("not reviewed by a clinician").to_owned(),
        };
        let text = tr!(
            "{at}: delivery stopped for {reason} (sedation interlock); {refused} patient requests refused; {review}",
            at = hours_words(hold.at_h),
            reason = hold.reason,
            refused = hold.patient_requests_denied,
            review
        );
        let end = if text.ends_with(['.', '!', '?']) {
            ""
        } else {
            "."
        };
        p.para(10.0, false, &format!("{text}{end}"));
    }

    catheter(p, s);

    p.heading(tr!("Side effects"));
    if s.side_effects.is_empty() {
        p.para(10.0, false, tr!("None reported."));
    }
    for e in &s.side_effects {
        p.para(
            10.0,
            false,
            &format!(
                "{}: {}, {}.",
                hours_words(e.at_h),
                words::side_effect(e.effect),
                words::severity(e.severity)
            ),
        );
    }

    decision(p, s, unit);
    if !s.exports.is_empty() {
        p.heading(tr!("Earlier exports"));
        for x in &s.exports {
            p.para(
                9.0,
                false,
                &tr!(
                    "{at} by {by} to {destination}: {files}",
                    at = hours_words(x.at_h),
                    by = x.by,
                    destination = x.destination,
                    files = x.files.join(", ")
                ),
            );
        }
    }
    p.gap(10.0);
    p.para(
        8.0,
        false,
        tr!("Times are from the start of the trial. Amounts are rounded here to 0.001 mg (0.1 mcg); the JSON export holds them to the nanogram and the CSV export every delivery. This document is generated from the pump's hash-chained trial log."),
    );
}

/// The catheter, its site checks (those with a sign listed), and the function answers.
pub(super) fn catheter(p: &mut Page, s: &Summary) {
    let c = &s.catheter;
    p.heading(tr!("Catheter and site"));
    let kind = c
        .kind
        .as_deref()
        .unwrap_or(tr!("Catheter type not recorded"));
    let placed = c.placed_h_before_start.map_or(String::new(), |h| {
        tr!(
            ", placed {duration} before the start",
            duration = duration_words(h)
        )
    });
    p.para(
        10.0,
        false,
        &match c.tip.as_deref() {
            Some(tip) => tr!("{kind}, tip at {tip}{placed}.", kind, tip, placed),
            None => tr!("{kind}, tip at a level not recorded{placed}.", kind, placed),
        },
    );
    match c.site_check_every_h {
        Some(every) => p.para(
            10.0,
            false,
            &tr!(
                "Site checks every {every}: {recorded} recorded, {missed} missed; possible infection raised {alarms} times (fever from {fever} °C or a finding).",
                every = duration_words(every),
                recorded = c.site_checks.len(),
                missed = c.missed_site_checks,
                alarms = c.possible_infection_alarms,
                fever = c.fever_c
            ),
        ),
        None => p.para(10.0, false, tr!("No site checks were scheduled.")),
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
            &tr!(
                "{at}: {temperature} °C{findings} (by {by}).",
                at = hours_words(check.at_h),
                temperature = check.temp_c,
                findings = if found.is_empty() {
                    String::new()
                } else {
                    format!(", {}", found.join(", "))
                },
                by = check.by
            ),
        );
    }
    if !s.diary.function_skipped_h.is_empty() {
        p.para(
            10.0,
            false,
            &tr!(
                "The function question was left for now {n} time(s).",
                n = s.diary.function_skipped_h.len()
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
            &tr!(
                "Function (\"{question}\"): answers {answers} in order (1 = the least function).",
                question = s.diary.function[0].question,
                answers = levels.join(", ")
            ),
        );
    }
}
