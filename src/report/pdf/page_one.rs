//! The first page: the key figures, the implant worksheet, the chart and the day table.

use super::*;

pub(super) fn page_one(s: &Summary, unit: MassUnit, paper: Paper) -> Page {
    let mut p = Page::new(paper);
    let t = &s.trial;
    if s.simulated {
        p.para(
            11.0,
            true,
            "SIMULATED TRIAL — simulated hardware in virtual time; not patient data.",
        );
    }
    p.para(
        18.0,
        true,
        &format!(
            "Trial summary{} — patient {}",
            if s.implant.confirmed { "" } else { " (DRAFT)" },
            t.patient
        ),
    );
    p.gap(2.0);
    p.para(
        10.0,
        false,
        &format!(
            "{} {} {} mg/mL · {} trial · catheter tip {} · from {} to {} ({})",
            capitalise(&t.route),
            t.drug,
            t.concentration_mg_per_ml,
            t.kind.replace('_', " "),
            t.catheter_tip.as_deref().unwrap_or("not recorded"),
            t.started_at.replace('T', " ").replace('Z', " UTC"),
            t.ended_at.replace('T', " ").replace('Z', " UTC"),
            duration_words(t.duration_h)
        ),
    );

    key_figures(&mut p, s, unit);
    worksheet(&mut p, s, unit);
    charts(&mut p, s, unit);
    p
}

/// The key figures: the effective dose and its basis, the response, opioids, pain or spasticity, what was delivered.
pub(super) fn key_figures(p: &mut Page, s: &Summary, unit: MassUnit) {
    p.heading("Key figures");
    let e = &s.effective_dose;
    p.para(
        11.0,
        true,
        &match e.mg_per_day {
            Some(d) => format!("Effective trial dose: {} per day", show_mg(d, unit)),
            None => "Effective trial dose: none".to_owned(),
        },
    );
    p.para(9.0, false, &format!("Basis: {}.", s.effective_dose_rule));
    if e.in_force_at_end_mg_per_day.is_some() {
        let stable = match &e.stable_period {
            Some(st) => format!(
                "last stable period {} (from {} to {} after the start) at a basal of {} per day with patient boluses of {} per day: {} per day{}; the log shows {} per day given in it, interruptions included",
                after_words(st.hours),
                after_words(st.from_h),
                after_words(st.to_h),
                show_mg(st.basal_mg_per_day, unit),
                show_mg(st.patient_bolus_mg_per_day, unit),
                show_mg(st.mg_per_day, unit),
                if st.reaches_end {
                    ""
                } else {
                    " (not at the end: not a basis)"
                },
                show_given(st.given_mg_per_day, unit)
            ),
            None => format!(
                "no stable period of {} at one rate",
                after_words(e.stable_period_required_h)
            ),
        };
        p.para(
            9.0,
            false,
            &format!(
                "At the end: basal {} per day; {}. For information only: the last 24 h gave {} per day.",
                show_mg(e.in_force_at_end_mg_per_day.unwrap_or(0.0), unit),
                stable,
                show_given(e.last_24h_mg_per_day, unit)
            ),
        );
    }
    let r = &s.response_criterion;
    p.para(
        9.0,
        false,
        &format!(
            "Response criterion: {} (source: {}).",
            r.criterion, r.source
        ),
    );
    let o = &s.opioids;
    let during: Vec<String> = o
        .per_day_mg
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "day {} {}",
                i + 1,
                v.map_or("not recorded".to_owned(), |v| format!("{v} mg"))
            )
        })
        .collect();
    p.para(
        9.0,
        false,
        &format!(
            "Opioid status: {}. Systemic opioids (oral morphine equivalents per day): before the trial {}; {}.",
            o.status_text,
            o.before_mg_per_day
                .map_or("not recorded".to_owned(), |v| format!("{v} mg")),
            during.join(", ")
        ),
    );
    let pain = &s.pain;
    let pct = |v: Option<f64>| v.map_or("not known".to_owned(), |v| format!("{v} %"));
    p.para(
        10.0,
        false,
        &format!(
            "Pain (0–10): before the trial {}, last {} (reduction {}), lowest {} (reduction {}){}",
            pain.baseline
                .map_or("not recorded".to_owned(), |v| v.to_string()),
            pain.last.map_or("none".to_owned(), |v| v.to_string()),
            pct(pain.reduction_pct),
            pain.lowest.map_or("none".to_owned(), |v| v.to_string()),
            pct(pain.reduction_lowest_pct),
            match pain.responder {
                Some(true) => " — RESPONDER",
                Some(false) => " — NOT A RESPONDER",
                None => "",
            }
        ),
    );
    if s.outcome_measure == OutcomeMeasure::Spasticity {
        p.para(
            9.0,
            false,
            "This drug's trial is judged on spasticity, not pain (drug library).",
        );
        let sp = &s.spasticity;
        let score = |v: Option<Ashworth>| v.map_or("none".to_owned(), |v| v.to_string());
        p.para(
            10.0,
            false,
            &format!(
                "Spasticity (Modified Ashworth 0–4): before the trial {}, last {}, lowest {}, fall {}{}",
                score(sp.baseline),
                score(sp.last),
                score(sp.lowest),
                sp.reduction
                    .map_or("not known".to_owned(), |r| format!("{r} points")),
                match sp.responder {
                    Some(true) => " — RESPONDER",
                    Some(false) => " — NOT A RESPONDER",
                    None => "",
                }
            ),
        );
        p.para(9.0, false, &format!("Responder: {}.", sp.responder_rule));
    } else {
        p.para(9.0, false, &format!("Responder: {}.", pain.responder_rule));
    }
    if let (Some(v), Some(label)) = (s.diary.pgic, s.diary.pgic_label) {
        p.para(
            10.0,
            false,
            &format!("The patient's impression of change at the end: {v} of 7, \"{label}\"."),
        );
    }
    let d = &s.delivered;
    p.para(
        10.0,
        false,
        &format!(
            "Delivered {} ({} mL): basal {}, patient boluses {}, scheduled boluses {}, clinician boluses {}. Patient requests {}: {} granted, {} denied.",
            show_given(d.total_mg, unit),
            (d.total_ml * 100.0).round() / 100.0,
            show_given(d.basal_mg, unit),
            show_given(d.pca_mg, unit),
            show_given(d.scheduled_bolus_mg, unit),
            show_given(d.clinician_bolus_mg, unit),
            s.pca.requested,
            s.pca.granted,
            s.pca.denied
        ),
    );
}

/// The implant worksheet: routes, each step with its source, the proposal or why there is none, the confirmation.
pub(super) fn worksheet(p: &mut Page, s: &Summary, unit: MassUnit) {
    p.heading("Implant worksheet");
    let w = &s.implant;
    p.para(
        9.0,
        false,
        &format!(
            "Implant route: {}; trial route: {}{}.",
            w.route,
            w.trial_route,
            w.conversion
                .as_ref()
                .map_or(String::new(), |c| format!("; conversion {}", c.text))
        ),
    );
    for step in &w.steps {
        p.para(9.0, false, step);
    }
    match (&w.no_proposal_reason, w.proposed_mg_per_day) {
        (Some(why), _) => p.para(10.0, true, &format!("NO PROPOSAL: {why}")),
        (None, Some(dose)) => p.para(
            10.0,
            true,
            &format!(
                "Proposed starting dose {} per day{}.",
                show_mg(dose, unit),
                w.rule_source
                    .as_ref()
                    .map_or(String::new(), |src| format!(" (source: {src})"))
            ),
        ),
        (None, None) => {}
    }
    for f in w
        .findings
        .iter()
        .filter(|f| f.class != crate::core::finding::Class::Ok)
    {
        p.para(9.0, false, &format!("Limits: {}", f.message));
    }
    if let (Some(dose), true) = (w.mg_per_day, w.confirmed) {
        p.para(
            11.0,
            true,
            &format!(
                "Starting dose {} per day of {} {} mg/mL = {} mL/day",
                show_mg(dose, unit),
                w.drug,
                w.concentration_mg_per_ml,
                w.ml_per_day.map_or("?".to_owned(), |v| format!(
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
            format!(
                "Confirmed by {} after the trial ended{}.",
                w.confirmed_by.as_deref().unwrap_or("a clinician"),
                w.reason
                    .as_ref()
                    .map_or(String::new(), |r| format!(", with the reason: {r}"))
            )
        } else {
            "NOT CONFIRMED — draft: a clinician confirms the starting dose, after the trial ends, before the summary is final."
                .to_owned()
        },
    );
}

/// The chart (dose and pain per day, or the response to each bolus) and the day table.
pub(super) fn charts(p: &mut Page, s: &Summary, unit: MassUnit) {
    if s.effective_dose.boluses.is_empty() {
        p.heading("Dose and pain per day");
        chart(p, s, unit);
    } else {
        p.heading("Response to each bolus");
        time_course(p, s, unit);
    }
    day_table(p, s, unit);
}
