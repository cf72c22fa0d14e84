//! The summary as a clinician reads it in a terminal (`titra simulate`).

use super::*;
use crate::core::lang::{self, Language};
use crate::core::tr;
use crate::report::words;

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
        let _ = writeln!(
            out,
            "{}",
            tr!("SIMULATED TRIAL (simulated hardware, virtual time)")
        );
    }
    let _ = writeln!(
        out,
        "{}",
        tr!(
            "Trial summary: patient {patient}, {route} {drug} {concentration} mg/mL, {trial}, {hours} h ({start} to {end})",
            patient = t.patient,
            route = words::route(&t.route),
            drug = t.drug,
            concentration = t.concentration_mg_per_ml,
            trial = words::trial(&t.kind),
            hours = t.duration_h,
            start = t.started_at,
            end = t.ended_at
        )
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
        "\n{}",
        tr!(
            "Delivered {total} ({ml} mL): basal {basal}, patient boluses {patient}, scheduled boluses {scheduled}, clinician boluses {clinician}",
            total = amount(d.total_mg),
            ml = (d.total_ml * 100.0).round() / 100.0,
            basal = amount(d.basal_mg),
            patient = amount(d.pca_mg),
            scheduled = amount(d.scheduled_bolus_mg),
            clinician = amount(d.clinician_bolus_mg)
        )
    );
    for (day, v) in d.per_day_mg.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {}",
            tr!(
                "day {day}: {amount}   patient boluses granted {granted}, denied {denied}",
                day = day + 1,
                amount = amount(*v),
                granted = s.pca.granted_per_day.get(day).unwrap_or(&0),
                denied = s.pca.denied_per_day.get(day).unwrap_or(&0)
            )
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
            "{}",
            tr!(
                "Program changed at {at} h by {by}, checked by {checker}: {what}",
                at = c.at_h,
                by = c.by,
                checker = c.verified_by,
                what
            )
        );
    }
    for h in &s.held_boluses {
        let decision = match (h.given, h.decided_at_h, h.by.as_deref()) {
            (Some(true), Some(at), Some(by)) => tr!("given at {at} h on {by}'s word", at, by),
            (Some(false), Some(at), Some(by)) => tr!("skipped at {at} h by {by}", at, by),
            _ => tr!("not yet decided").to_owned(),
        };
        let _ = writeln!(
            out,
            "{}",
            tr!(
                "Scheduled bolus {dose} due at {due} h, while delivery was stopped: held, {decision}",
                dose = prescribed(h.dose_mg),
                due = h.due_h,
                decision
            )
        );
    }
    let _ = writeln!(
        out,
        "{}",
        tr!(
            "Patient bolus requests: {requested} ({granted} granted, {denied} denied)",
            requested = s.pca.requested,
            granted = s.pca.granted,
            denied = s.pca.denied
        )
    );
    if !s.pca.denied_by_reason.is_empty() {
        let reasons: Vec<String> = s
            .pca
            .denied_by_reason
            .iter()
            .map(|(reason, n)| format!("{} {n}", words::denial(reason)))
            .collect();
        let _ = writeln!(
            out,
            "  {}",
            tr!("denied: {reasons}", reasons = reasons.join(", "))
        );
    }
}

/// The alarms.
fn alarms(out: &mut String, s: &Summary) {
    let _ = writeln!(
        out,
        "\n{}",
        if s.alarms.is_empty() {
            tr!("Alarms: none")
        } else {
            tr!("Alarms:")
        }
    );
    for a in &s.alarms {
        let _ = write!(
            out,
            "  {}",
            tr!(
                "{priority} {alarm} at {at} h",
                priority = a.priority.words().to_uppercase(),
                alarm = words::alarm(a.kind),
                at = a.at_h
            )
        );
        if let Some(c) = a.cleared_at_h {
            let _ = write!(out, "{}", tr!(", cleared at {at} h", at = c));
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
        let (poss, rate) = o.extremes("-");
        let _ = writeln!(
            out,
            "\n{}",
            tr!(
                "Sedation and breathing: {scores} sedation scores (highest POSS {poss}), {sets} sets of vital signs (lowest respiratory rate {rate})",
                scores = o.sedation.len(),
                poss,
                sets = o.vitals.len(),
                rate
            )
        );
        if let Some(schedule) = &o.schedule {
            let _ = writeln!(
                out,
                "  {}",
                tr!(
                    "checks: {schedule}; {missed} missed, {escalated} escalated",
                    schedule,
                    missed = o.missed_checks,
                    escalated = o.escalated_checks
                )
            );
        }
        for hold in &o.holds {
            let review = match (&hold.reviewed_at_h, &hold.reviewed_by, &hold.note) {
                (Some(at), Some(by), Some(note)) => {
                    tr!("reviewed by {by} at {at} h: {note}", by, at, note)
                }
                _ => tr!("not reviewed by a clinician").to_owned(),
            };
            let _ = writeln!(
                out,
                "  {}",
                tr!(
                    "delivery stopped at {at} h for {reason}; {refused} patient requests refused; {review}",
                    at = hold.at_h,
                    reason = hold.reason,
                    refused = hold.patient_requests_denied,
                    review
                )
            );
        }
    }
}

/// Pain, spasticity and the impression of change.
fn outcomes(out: &mut String, s: &Summary) {
    let p = &s.pain;
    let _ = writeln!(
        out,
        "\n{}",
        tr!(
            "Pain (0-10): baseline {baseline}, final {last}, reduction {reduction}{verdict}",
            baseline = p.baseline.map_or("-".to_owned(), |v| v.to_string()),
            last = p.last.map_or("-".to_owned(), |v| v.to_string()),
            reduction = p.reduction_pct.map_or("-".to_owned(), |v| format!("{v} %")),
            verdict = match p.responder {
                Some(true) => tr!(" (responder: at least 50 % less pain)"),
                Some(false) => tr!(" (not a responder: less than 50 %)"),
                None => "",
            }
        )
    );
    let sp = &s.spasticity;
    if s.outcome_measure == OutcomeMeasure::Spasticity || !sp.scores.is_empty() {
        let score = |v: Option<Ashworth>| v.map_or("-".to_owned(), |v| v.to_string());
        let figures = tr!(
            "baseline {baseline}, final {last}, lowest {lowest}, fall {fall}{verdict}",
            baseline = score(sp.baseline),
            last = score(sp.last),
            lowest = score(sp.lowest),
            fall = sp.reduction.map_or("-".to_owned(), |r| format!("{r}")),
            verdict = match sp.responder {
                Some(true) => tr!(" (responder: at least 1 point)"),
                Some(false) => tr!(" (not a responder: less than 1 point)"),
                None => "",
            }
        );
        let _ = writeln!(
            out,
            "{}",
            if s.outcome_measure == OutcomeMeasure::Spasticity {
                tr!(
                    "Spasticity (Modified Ashworth), the outcome measure: {figures}",
                    figures
                )
            } else {
                tr!("Spasticity (Modified Ashworth): {figures}", figures)
            }
        );
    }
    let (answered, skipped) = (s.diary.function.len(), s.diary.function_skipped_h.len());
    if answered + skipped > 0 {
        let _ = writeln!(
            out,
            "{}",
            tr!(
                "Function question: {answered} answered, {skipped} left for now (\"Not now\")",
                answered,
                skipped
            )
        );
    }
    if let (Some(v), Some(label)) = (s.diary.pgic, s.diary.pgic_label) {
        let _ = writeln!(
            out,
            "{}",
            tr!(
                "Impression of change (PGIC): {value}, {label}",
                value = v,
                label
            )
        );
    }
}

/// The catheter site and the side effects.
fn catheter(out: &mut String, s: &Summary) {
    let c = &s.catheter;
    if let Some(every) = c.site_check_every_h {
        let _ = writeln!(
            out,
            "\n{}",
            tr!(
                "Catheter site: checks every {every} h, {recorded} recorded, {missed} missed; possible-infection alarms: {alarms}",
                every,
                recorded = c.site_checks.len(),
                missed = c.missed_site_checks,
                alarms = c.possible_infection_alarms
            )
        );
    }
    for e in &s.side_effects {
        // In English the log's names as the text summary has always shown them
        // ("UrinaryRetention, Mild"); in another language the words.
        let (effect, severity) = if lang::current() == Language::English {
            (format!("{:?}", e.effect), format!("{:?}", e.severity))
        } else {
            (
                words::side_effect(e.effect).to_owned(),
                words::severity(e.severity).to_owned(),
            )
        };
        let _ = writeln!(
            out,
            "  {}",
            tr!(
                "side effect at {at} h: {effect}, {severity}",
                at = e.at_h,
                effect,
                severity
            )
        );
    }
}

/// The reservoir, the effective dose, the response, opioids and the implant worksheet.
fn dose(out: &mut String, s: &Summary, amount: &dyn Fn(f64) -> String) {
    let _ = writeln!(
        out,
        "\n{}",
        tr!(
            "Reservoir: {loaded} mL loaded, {left} mL left",
            loaded = s.reservoir.loaded_ml,
            left = s.reservoir.remaining_ml
        )
    );
    let _ = writeln!(
        out,
        "{}",
        match s.effective_dose_mg_per_day {
            Some(d) => tr!(
                "Effective trial dose: {dose} per day ({basis})",
                dose = amount(d),
                basis = s.effective_dose_rule
            ),
            None => tr!(
                "Effective trial dose: {basis}",
                basis = s.effective_dose_rule
            ),
        }
    );
    let _ = writeln!(
        out,
        "{}",
        tr!(
            "Response criterion: {criterion}; {judged}",
            criterion = s.response_criterion.criterion,
            judged = match (
                s.response_criterion.responder,
                &s.response_criterion.why_unjudged
            ) {
                (Some(true), _) => tr!("met").to_owned(),
                (Some(false), _) => tr!("not met").to_owned(),
                (None, Some(why)) => tr!("not judged: {why}", why),
                (None, None) => tr!("not judged").to_owned(),
            }
        )
    );
    let o = &s.opioids;
    let _ = writeln!(
        out,
        "{}",
        tr!(
            "Opioid status: {status}; systemic opioids before the trial: {before}",
            status = o.status_text,
            before = o
                .before_mg_per_day
                .map_or(tr!("not recorded").to_owned(), |v| tr!(
                    "{dose} mg/day oral morphine equivalents",
                    dose = v
                ))
        )
    );
    let w = &s.implant;
    if let Some(c) = &w.conversion {
        let _ = writeln!(
            out,
            "{}",
            tr!("Conversion: {conversion}", conversion = c.text)
        );
    }
    let _ = writeln!(
        out,
        "{}",
        tr!(
            "Implant ({route}): {proposal}",
            route = words::route(&w.route.to_string()),
            proposal = match (w.proposed_mg_per_day, &w.no_proposal_reason) {
                (Some(d), _) => tr!(
                    "proposed {dose} per day by {rule}",
                    dose = amount(d),
                    rule = w.rule.as_deref().unwrap_or(tr!("the rule"))
                ),
                (None, Some(why)) => tr!("no proposal: {why}", why),
                (None, None) => tr!("no proposal").to_owned(),
            }
        )
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
            "  {}",
            tr!(
                "Limits: {message} (needs a written reason to confirm)",
                message = f.message
            )
        );
    }
}

/// The checklist, the decision and the catheter's removal.
fn decision(out: &mut String, s: &Summary) {
    if let Some(c) = &s.checklist {
        let confirmed = c.items.iter().filter(|i| i.confirmed).count();
        let _ = write!(
            out,
            "{}",
            tr!(
                "Pre-trial checklist: {confirmed} of {items} items confirmed",
                confirmed,
                items = c.items.len()
            )
        );
        let _ = match &c.overridden {
            Some(o) => writeln!(
                out,
                "; {}",
                tr!(
                    "{open} overridden by {by}: {reason}",
                    open = o.open.join(", "),
                    by = o.by,
                    reason = o.reason
                )
            ),
            None => writeln!(out),
        };
    }
    if let Some(a) = &s.assessment {
        let _ = writeln!(
            out,
            "{}",
            tr!(
                "Decision: {outcome} ({note}) by {by}; patient wishes to proceed: {wish}; planned implant: {implant}",
                outcome = words::outcome(a.outcome),
                note = a.note,
                by = a.by,
                wish = a.patient_wish.map_or("-", words::wish),
                implant = a.planned_implant.as_deref().unwrap_or(tr!("none"))
            )
        );
    }
    if let Some(r) = &s.catheter_removal {
        let _ = writeln!(
            out,
            "{}",
            tr!("Catheter removed at {at} by {by}", at = r.at, by = r.by)
        );
    }
}
