//! The summary as a clinician reads it in a terminal (`titra simulate`).

use super::*;

/// The summary as a clinician reads it in a terminal.
pub fn render(s: &Summary, unit: MassUnit) -> String {
    let mut out = String::new();
    // What was given by the screens' rules; the dose-setting figures (the effective dose, the
    // implant's) to the microgram, as the PDF has them.
    let given = |mg_value: f64| crate::report::pdf::show_given(mg_value, unit);
    let prescribed = |mg_value: f64| crate::report::pdf::show_prescribed(mg_value, unit);
    let exact = |mg_value: f64| crate::report::pdf::show_mg(mg_value, unit);
    trial(&mut out, s);
    delivery(&mut out, s, &given, &prescribed);
    alarms(&mut out, s);
    observations(&mut out, s);
    outcomes(&mut out, s);
    catheter(&mut out, s);
    dose(&mut out, s, &exact);
    decision(&mut out, s);
    out
}

/// The heading: patient, drug, trial and dates.
fn trial(out: &mut String, s: &Summary) {
    let t = &s.trial;
    if s.simulated {
        let _ = writeln!(out, "SIMULATED TRIAL (simulated hardware, virtual time)");
    }
    let _ = writeln!(
        out,
        "Trial summary: patient {}, {} {} {} mg/mL, {} trial, {} h ({} to {})",
        t.patient,
        t.route,
        t.drug,
        t.concentration_mg_per_ml,
        t.kind.replace('_', " "),
        t.duration_h,
        t.started_at,
        t.ended_at
    );
}

/// What was delivered, per day, and the patient's requests.
fn delivery(
    out: &mut String,
    s: &Summary,
    amount: &dyn Fn(f64) -> String,
    prescribed: &dyn Fn(f64) -> String,
) {
    let d = &s.delivered;
    let _ = writeln!(
        out,
        "\nDelivered {} ({} mL): basal {}, patient boluses {}, scheduled boluses {}, clinician boluses {}",
        amount(d.total_mg),
        (d.total_ml * 100.0).round() / 100.0,
        amount(d.basal_mg),
        amount(d.pca_mg),
        amount(d.scheduled_bolus_mg),
        amount(d.clinician_bolus_mg)
    );
    for (day, v) in d.per_day_mg.iter().enumerate() {
        let _ = writeln!(
            out,
            "  day {}: {}   patient boluses granted {}, denied {}",
            day + 1,
            amount(*v),
            s.pca.granted_per_day.get(day).unwrap_or(&0),
            s.pca.denied_per_day.get(day).unwrap_or(&0)
        );
    }
    for c in &s.program_changes {
        let what = c
            .changes
            .iter()
            .map(|c| format!("{} {} → {}", c.setting, c.old, c.new))
            .collect::<Vec<_>>()
            .join("; ");
        let _ = writeln!(
            out,
            "Program changed at {} h by {}, checked by {}: {what}",
            c.at_h, c.by, c.verified_by
        );
    }
    for h in &s.held_boluses {
        let decision = match (h.given, h.decided_at_h, h.by.as_deref()) {
            (Some(true), Some(at), Some(by)) => format!("given at {at} h on {by}'s word"),
            (Some(false), Some(at), Some(by)) => format!("skipped at {at} h by {by}"),
            _ => "not yet decided".to_owned(),
        };
        let _ = writeln!(
            out,
            "Scheduled bolus {} due at {} h, while delivery was stopped: held, {decision}",
            prescribed(h.dose_mg),
            h.due_h
        );
    }
    let _ = writeln!(
        out,
        "Patient bolus requests: {} ({} granted, {} denied)",
        s.pca.requested, s.pca.granted, s.pca.denied
    );
    if !s.pca.denied_by_reason.is_empty() {
        let reasons: Vec<String> = s
            .pca
            .denied_by_reason
            .iter()
            .map(|(reason, n)| format!("{} {n}", reason.replace('_', " ")))
            .collect();
        let _ = writeln!(out, "  denied: {}", reasons.join(", "));
    }
}

/// The alarms.
fn alarms(out: &mut String, s: &Summary) {
    let _ = writeln!(
        out,
        "\nAlarms:{}",
        if s.alarms.is_empty() { " none" } else { "" }
    );
    for a in &s.alarms {
        let _ = write!(
            out,
            "  {} {} at {} h",
            a.priority.to_string().to_uppercase(),
            kind_name(a.kind),
            a.at_h
        );
        if let Some(c) = a.cleared_at_h {
            let _ = write!(out, ", cleared at {c} h");
        }
        if let Some(p) = a.pressure_mmhg {
            let _ = write!(out, ", {p} mmHg");
        }
        let _ = writeln!(out, ": {}", a.kind.message());
    }
}

/// Sedation and breathing, and the holds of the sedation interlock.
fn observations(out: &mut String, s: &Summary) {
    let o = &s.observations;
    if o.schedule.is_some() || !o.sedation.is_empty() || !o.vitals.is_empty() {
        let _ = writeln!(
            out,
            "\nSedation and breathing: {} sedation scores (highest POSS {}), {} sets of vital signs (lowest respiratory rate {})",
            o.sedation.len(),
            o.sedation
                .iter()
                .map(|x| x.poss)
                .max()
                .map_or("-".to_owned(), |v| v.to_string()),
            o.vitals.len(),
            o.vitals
                .iter()
                .filter_map(|x| x.resp_rate)
                .min()
                .map_or("-".to_owned(), |v| format!("{v}/min"))
        );
        if let Some(schedule) = &o.schedule {
            let _ = writeln!(
                out,
                "  checks: {schedule}; {} missed, {} escalated",
                o.missed_checks, o.escalated_checks
            );
        }
        for hold in &o.holds {
            let _ = write!(
                out,
                "  delivery stopped at {} h for {}; {} patient requests refused; ",
                hold.at_h, hold.reason, hold.patient_requests_denied
            );
            let _ = match (&hold.reviewed_at_h, &hold.reviewed_by, &hold.note) {
                (Some(at), Some(by), Some(note)) => {
                    writeln!(out, "reviewed by {by} at {at} h: {note}")
                }
                _ => writeln!(out, "not reviewed by a clinician"),
            };
        }
    }
}

/// Pain, spasticity and the impression of change.
fn outcomes(out: &mut String, s: &Summary) {
    let p = &s.pain;
    let _ = writeln!(
        out,
        "\nPain (0-10): baseline {}, final {}, reduction {}{}",
        p.baseline.map_or("-".to_owned(), |v| v.to_string()),
        p.last.map_or("-".to_owned(), |v| v.to_string()),
        p.reduction_pct.map_or("-".to_owned(), |v| format!("{v} %")),
        match p.responder {
            Some(true) => " (responder: at least 50 % less pain)",
            Some(false) => " (not a responder: less than 50 %)",
            None => "",
        }
    );
    let sp = &s.spasticity;
    if s.outcome_measure == OutcomeMeasure::Spasticity || !sp.scores.is_empty() {
        let score = |v: Option<Ashworth>| v.map_or("-".to_owned(), |v| v.to_string());
        let _ = writeln!(
            out,
            "Spasticity (Modified Ashworth){}: baseline {}, final {}, lowest {}, fall {}{}",
            if s.outcome_measure == OutcomeMeasure::Spasticity {
                ", the outcome measure"
            } else {
                ""
            },
            score(sp.baseline),
            score(sp.last),
            score(sp.lowest),
            sp.reduction.map_or("-".to_owned(), |r| format!("{r}")),
            match sp.responder {
                Some(true) => " (responder: at least 1 point)",
                Some(false) => " (not a responder: less than 1 point)",
                None => "",
            }
        );
    }
    let (answered, skipped) = (s.diary.function.len(), s.diary.function_skipped_h.len());
    if answered + skipped > 0 {
        let _ = writeln!(
            out,
            "Function question: {answered} answered, {skipped} left for now (\"Not now\")"
        );
    }
    if let (Some(v), Some(label)) = (s.diary.pgic, s.diary.pgic_label) {
        let _ = writeln!(out, "Impression of change (PGIC): {v}, {label}");
    }
}

/// The catheter site and the side effects.
fn catheter(out: &mut String, s: &Summary) {
    let c = &s.catheter;
    if let Some(every) = c.site_check_every_h {
        let _ = writeln!(
            out,
            "\nCatheter site: checks every {every} h, {} recorded, {} missed; possible-infection alarms: {}",
            c.site_checks.len(),
            c.missed_site_checks,
            c.possible_infection_alarms
        );
    }
    for e in &s.side_effects {
        let _ = writeln!(
            out,
            "  side effect at {} h: {:?}, {:?}",
            e.at_h, e.effect, e.severity
        );
    }
}

/// The reservoir, the effective dose, the response, opioids and the implant worksheet.
fn dose(out: &mut String, s: &Summary, amount: &dyn Fn(f64) -> String) {
    let _ = writeln!(
        out,
        "\nReservoir: {} mL loaded, {} mL left",
        s.reservoir.loaded_ml, s.reservoir.remaining_ml
    );
    let _ = match s.effective_dose_mg_per_day {
        Some(d) => writeln!(
            out,
            "Effective trial dose: {} per day ({})",
            amount(d),
            s.effective_dose_rule
        ),
        None => writeln!(out, "Effective trial dose: {}", s.effective_dose_rule),
    };
    let _ = writeln!(
        out,
        "Response criterion: {}; {}",
        s.response_criterion.criterion,
        match (
            s.response_criterion.responder,
            &s.response_criterion.why_unjudged
        ) {
            (Some(true), _) => "met".to_owned(),
            (Some(false), _) => "not met".to_owned(),
            (None, Some(why)) => format!("not judged: {why}"),
            (None, None) => "not judged".to_owned(),
        }
    );
    let o = &s.opioids;
    let _ = writeln!(
        out,
        "Opioid status: {}; systemic opioids before the trial: {}",
        o.status_text,
        o.before_mg_per_day
            .map_or("not recorded".to_owned(), |v| format!(
                "{v} mg/day oral morphine equivalents"
            ))
    );
    let w = &s.implant;
    if let Some(c) = &w.conversion {
        let _ = writeln!(out, "Conversion: {}", c.text);
    }
    let _ = writeln!(
        out,
        "Implant ({}): {}",
        w.route,
        match (w.proposed_mg_per_day, &w.no_proposal_reason) {
            (Some(d), _) => format!(
                "proposed {} per day by {}",
                amount(d),
                w.rule.as_deref().unwrap_or("the rule")
            ),
            (None, Some(why)) => format!("no proposal: {why}"),
            (None, None) => "no proposal".to_owned(),
        }
    );
    for step in &w.steps {
        let _ = writeln!(out, "  {step}");
    }
    for f in w
        .findings
        .iter()
        .filter(|f| f.class != crate::core::finding::Class::Ok)
    {
        let _ = writeln!(
            out,
            "  Limits: {} (needs a written reason to confirm)",
            f.message
        );
    }
}

/// The checklist, the decision and the catheter's removal.
fn decision(out: &mut String, s: &Summary) {
    if let Some(c) = &s.checklist {
        let confirmed = c.items.iter().filter(|i| i.confirmed).count();
        let _ = write!(
            out,
            "Pre-trial checklist: {confirmed} of {} items confirmed",
            c.items.len()
        );
        let _ = match &c.overridden {
            Some(o) => writeln!(
                out,
                "; {} overridden by {}: {}",
                o.open.join(", "),
                o.by,
                o.reason
            ),
            None => writeln!(out),
        };
    }
    if let Some(a) = &s.assessment {
        let _ = writeln!(
            out,
            "Decision: {} ({}) by {}; patient wishes to proceed: {}; planned implant: {}",
            a.outcome,
            a.note,
            a.by,
            a.patient_wish.map_or("-".to_owned(), |w| w.to_string()),
            a.planned_implant.as_deref().unwrap_or("none")
        );
    }
    if let Some(r) = &s.catheter_removal {
        let _ = writeln!(out, "Catheter removed at {} by {}", r.at, r.by);
    }
}

/// An alarm kind as the log names it ("observation_missed"), for reading.
fn kind_name(kind: AlarmKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(|k| k.replace('_', " ")))
        .unwrap_or_default()
}
