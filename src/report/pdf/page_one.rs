//! The first page: the key figures, the implant worksheet, the chart and the day table.

use super::*;
use crate::report::words;

pub(super) fn page_one(s: &Summary, unit: MassUnit, paper: Paper) -> Page {
    let mut p = Page::new(paper);
    let t = &s.trial;
    if s.simulated {
        p.para(
            11.0,
            true,
            tr!("SIMULATED TRIAL — simulated hardware in virtual time; not patient data."),
        );
    }
    p.para(
        18.0,
        true,
        &if s.implant.confirmed {
            tr!("Trial summary — patient {patient}", patient = t.patient)
        } else {
            tr!(
                "Trial summary (DRAFT) — patient {patient}",
                patient = t.patient
            )
        },
    );
    p.gap(2.0);
    p.para(
        10.0,
        false,
        &capitalise(&tr!(
            "{route} {drug} {concentration} mg/mL · {trial} · catheter tip {tip} · from {start} to {end} ({duration})",
            route = words::route(&t.route),
            drug = t.drug,
            concentration = t.concentration_mg_per_ml,
            trial = words::trial(&t.kind),
            tip = t.catheter_tip.as_deref().unwrap_or(tr!("not recorded")),
            start = t.started_at.replace('T', " ").replace('Z', " UTC"),
            end = t.ended_at.replace('T', " ").replace('Z', " UTC"),
            duration = duration_words(t.duration_h)
        )),
    );

    key_figures(&mut p, s, unit);
    worksheet(&mut p, s, unit);
    charts(&mut p, s, unit);
    p
}

/// A figure that may not have been recorded: the figure, or "not recorded".
fn or_not_recorded(v: Option<String>) -> String {
    v.unwrap_or_else(|| tr!("not recorded").to_owned())
}

/// The key figures: the effective dose and its basis, the response, opioids, pain or spasticity, what was delivered.
pub(super) fn key_figures(p: &mut Page, s: &Summary, unit: MassUnit) {
    p.heading(tr!("Key figures"));
    let e = &s.effective_dose;
    p.para(
        11.0,
        true,
        &match e.mg_per_day {
            Some(d) => tr!(
                "Effective trial dose: {dose} per day",
                dose = show_mg(d, unit)
            ),
            None => tr!("Effective trial dose: none").to_owned(),
        },
    );
    p.para(
        9.0,
        false,
        &tr!("Basis: {basis}.", basis = s.effective_dose_rule),
    );
    if e.in_force_at_end_mg_per_day.is_some() {
        let stable = match &e.stable_period {
            Some(st) => tr!(
                "last stable period {length} (from {from} to {to} after the start) at a basal of {basal} per day with patient boluses of {boluses} per day: {dose} per day{note}; the log shows {given} per day given in it, interruptions included",
                length = after_words(st.hours),
                from = after_words(st.from_h),
                to = after_words(st.to_h),
                basal = show_mg(st.basal_mg_per_day, unit),
                boluses = show_mg(st.patient_bolus_mg_per_day, unit),
                dose = show_mg(st.mg_per_day, unit),
                note = if st.reaches_end {
                    ""
                } else {
                    tr!(" (not at the end: not a basis)")
                },
                given = show_given(st.given_mg_per_day, unit)
            ),
            None => tr!(
                "no stable period of {length} at one rate",
                length = after_words(e.stable_period_required_h)
            ),
        };
        p.para(
            9.0,
            false,
            &tr!(
                "At the end: basal {basal} per day; {stable}. For information only: the last 24 h gave {last} per day.",
                basal = show_mg(e.in_force_at_end_mg_per_day.unwrap_or(0.0), unit),
                stable,
                last = show_given(e.last_24h_mg_per_day, unit)
            ),
        );
    }
    let r = &s.response_criterion;
    p.para(
        9.0,
        false,
        &tr!(
            "Response criterion: {criterion} (source: {source}).",
            criterion = r.criterion,
            source = r.source
        ),
    );
    let o = &s.opioids;
    let during: Vec<String> = o
        .per_day_mg
        .iter()
        .enumerate()
        .map(|(i, v)| {
            tr!(
                "day {day} {value}",
                day = i + 1,
                value = or_not_recorded(v.map(|v| format!("{v} mg")))
            )
        })
        .collect();
    p.para(
        9.0,
        false,
        &tr!(
            "Opioid status: {status}. Systemic opioids (oral morphine equivalents per day): before the trial {before}; {during}.",
            status = o.status_text,
            before = or_not_recorded(o.before_mg_per_day.map(|v| format!("{v} mg"))),
            during = during.join(", ")
        ),
    );
    outcome_figures(p, s);
    let d = &s.delivered;
    p.para(
        10.0,
        false,
        &tr!(
            "Delivered {total} ({ml} mL): basal {basal}, patient boluses {patient}, scheduled boluses {scheduled}, clinician boluses {clinician}. Patient requests {requested}: {granted} granted, {denied} denied.",
            total = show_given(d.total_mg, unit),
            ml = (d.total_ml * 100.0).round() / 100.0,
            basal = show_given(d.basal_mg, unit),
            patient = show_given(d.pca_mg, unit),
            scheduled = show_given(d.scheduled_bolus_mg, unit),
            clinician = show_given(d.clinician_bolus_mg, unit),
            requested = s.pca.requested,
            granted = s.pca.granted,
            denied = s.pca.denied
        ),
    );
}

/// Pain (or spasticity, for a drug judged on it) against the baseline, the responder rule, and
/// the patient's impression of change.
fn outcome_figures(p: &mut Page, s: &Summary) {
    let pain = &s.pain;
    let pct = |v: Option<f64>| v.map_or(tr!("not known").to_owned(), |v| format!("{v} %"));
    let none = |v: Option<u8>| v.map_or(tr!("none").to_owned(), |v| v.to_string());
    let verdict = |responder: Option<bool>| match responder {
        Some(true) => tr!(" — RESPONDER"),
        Some(false) => tr!(" — NOT A RESPONDER"),
        None => "",
    };
    p.para(
        10.0,
        false,
        &tr!(
            "Pain (0–10): before the trial {baseline}, last {last} (reduction {reduction}), lowest {lowest} (reduction {lowest_reduction}){verdict}",
            baseline = or_not_recorded(pain.baseline.map(|v| v.to_string())),
            last = none(pain.last),
            reduction = pct(pain.reduction_pct),
            lowest = none(pain.lowest),
            lowest_reduction = pct(pain.reduction_lowest_pct),
            verdict = verdict(pain.responder)
        ),
    );
    if s.outcome_measure == OutcomeMeasure::Spasticity {
        p.para(
            9.0,
            false,
            tr!("This drug's trial is judged on spasticity, not pain (drug library)."),
        );
        let sp = &s.spasticity;
        let score = |v: Option<Ashworth>| v.map_or(tr!("none").to_owned(), |v| v.to_string());
        p.para(
            10.0,
            false,
            &tr!(
                "Spasticity (Modified Ashworth 0–4): before the trial {baseline}, last {last}, lowest {lowest}, fall {fall}{verdict}",
                baseline = score(sp.baseline),
                last = score(sp.last),
                lowest = score(sp.lowest),
                fall = sp.reduction.map_or(tr!("not known").to_owned(), |r| tr!(
                    "{points} points",
                    points = r
                )),
                verdict = verdict(sp.responder)
            ),
        );
        p.para(
            9.0,
            false,
            &tr!("Responder: {rule}.", rule = sp.responder_rule),
        );
    } else {
        p.para(
            9.0,
            false,
            &tr!("Responder: {rule}.", rule = pain.responder_rule),
        );
    }
    if let (Some(v), Some(label)) = (s.diary.pgic, s.diary.pgic_label) {
        p.para(
            10.0,
            false,
            &tr!(
                "The patient's impression of change at the end: {value} of 7, \"{label}\".",
                value = v,
                label
            ),
        );
    }
}

/// The implant worksheet: routes, each step with its source, the proposal or why there is none, the confirmation.
pub(super) fn worksheet(p: &mut Page, s: &Summary, unit: MassUnit) {
    p.heading(tr!("Implant worksheet"));
    let w = &s.implant;
    p.para(
        9.0,
        false,
        &tr!(
            "Implant route: {route}; trial route: {trial_route}{conversion}.",
            route = words::route(&w.route.to_string()),
            trial_route = words::route(&w.trial_route.to_string()),
            conversion = w.conversion.as_ref().map_or(String::new(), |c| tr!(
                "; conversion {conversion}",
                conversion = c.text
            ))
        ),
    );
    for step in &w.steps {
        p.para(9.0, false, step);
    }
    match (&w.no_proposal_reason, w.proposed_mg_per_day) {
        (Some(why), _) => p.para(10.0, true, &tr!("NO PROPOSAL: {why}", why)),
        (None, Some(dose)) => p.para(
            10.0,
            true,
            &tr!(
                "Proposed starting dose {dose} per day{source}.",
                dose = show_mg(dose, unit),
                source = w.rule_source.as_ref().map_or(String::new(), |src| tr!(
                    " (source: {source})",
                    source = src
                ))
            ),
        ),
        (None, None) => {}
    }
    for f in w
        .findings
        .iter()
        .filter(|f| f.class != crate::core::finding::Class::Ok)
    {
        p.para(9.0, false, &tr!("Limits: {message}", message = f.message));
    }
    if let (Some(dose), true) = (w.mg_per_day, w.confirmed) {
        p.para(
            11.0,
            true,
            &tr!(
                "Starting dose {dose} per day of {drug} {concentration} mg/mL = {ml} mL/day",
                dose = show_mg(dose, unit),
                drug = w.drug,
                concentration = w.concentration_mg_per_ml,
                ml = w.ml_per_day.map_or("?".to_owned(), |v| format!(
                    "{}",
                    (v * 10_000.0).round() / 10_000.0
                ))
            ),
        );
    }
    p.para(
        10.0,
        true,
        &if w.confirmed {
            tr!(
                "Confirmed by {name} after the trial ended{reason}.",
                name = w.confirmed_by.as_deref().unwrap_or(tr!("a clinician")),
                reason = w.reason.as_ref().map_or(String::new(), |r| tr!(
                    ", with the reason: {reason}",
                    reason = r
                ))
            )
        } else {
            tr!("NOT CONFIRMED — draft: a clinician confirms the starting dose, after the trial ends, before the summary is final.")
                .to_owned()
        },
    );
}

/// The chart (dose and pain per day, or the response to each bolus) and the day table.
pub(super) fn charts(p: &mut Page, s: &Summary, unit: MassUnit) {
    if s.effective_dose.boluses.is_empty() {
        p.heading(tr!("Dose and pain per day"));
        chart(p, s, unit);
    } else {
        p.heading(tr!("Response to each bolus"));
        time_course(p, s, unit);
    }
    day_table(p, s, unit);
}
