//! The raw time series of a trial as CSV: one row per delivery piece, request, score, side
//! effect, alarm, change and action, in the order the log holds them.

use crate::core::units::Timestamp;
use crate::journal::Record;

/// The columns, in order.
pub const HEADER: [&str; 9] = [
    "at_h",
    "time",
    "event",
    "source",
    "amount_mg",
    "volume_ml",
    "value",
    "by",
    "detail",
];

fn name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// One row: (event, source, amount mg, volume mL, value, by, detail); None for records that
/// are bookkeeping only (the intent written before the motor moves).
#[expect(
    clippy::too_many_lines,
    reason = "one arm per kind of record: the CSV's columns for every record, read as one table"
)]
fn row(r: &Record) -> Option<[String; 7]> {
    let mg = |a: crate::core::units::Amount| format!("{}", a.as_mg_f64());
    let e = String::new;
    Some(match r {
        Record::Delivery {
            source,
            amount,
            volume,
            ..
        } => [
            "delivery".into(),
            name(source),
            mg(*amount),
            format!("{}", volume.as_ml_f64()),
            e(),
            e(),
            e(),
        ],
        Record::UncertainDelivery {
            source,
            amount,
            measured,
            ..
        } => [
            "uncertain_delivery".into(),
            name(source),
            mg(*amount),
            e(),
            e(),
            e(),
            if *measured {
                "counted as given (measured at the plunger)".into()
            } else {
                "counted as given (from the last intent)".into()
            },
        ],
        // Denied presses counted together: their number in `value`, the first in `detail`.
        Record::PcaRequest {
            granted: false,
            denial,
            presses,
            since,
            ..
        } if *presses != 1 || since.is_some() => [
            "patient_requests_denied".into(),
            e(),
            e(),
            e(),
            presses.to_string(),
            "patient".into(),
            format!(
                "{}{}",
                denial
                    .as_ref()
                    .and_then(|d| serde_json::to_string(d).ok())
                    .unwrap_or_default(),
                since
                    .map(|t| format!(" from {} ms", t.ms()))
                    .unwrap_or_default()
            ),
        ],
        Record::PcaRequest {
            granted, denial, ..
        } => [
            "patient_request".into(),
            e(),
            e(),
            e(),
            if *granted { "granted" } else { "denied" }.into(),
            "patient".into(),
            denial
                .as_ref()
                .and_then(|d| serde_json::to_string(d).ok())
                .unwrap_or_default(),
        ],
        Record::BolusStarted {
            source, requested, ..
        } => [
            "bolus_started".into(),
            name(source),
            mg(*requested),
            e(),
            e(),
            e(),
            e(),
        ],
        Record::BolusEnded {
            source,
            delivered,
            complete,
            ..
        } => [
            "bolus_ended".into(),
            name(source),
            mg(*delivered),
            e(),
            if *complete { "complete" } else { "stopped" }.into(),
            e(),
            e(),
        ],
        Record::ScheduledBolusHeld { due, dose, .. } => [
            "scheduled_bolus_held".into(),
            "scheduled_bolus".into(),
            mg(*dose),
            e(),
            e(),
            "pump".into(),
            format!("due at {due}, while delivery was stopped"),
        ],
        Record::HeldBolusDecided {
            due,
            dose,
            give,
            by,
            name: who,
            ..
        } => [
            "held_bolus_decided".into(),
            "scheduled_bolus".into(),
            mg(*dose),
            e(),
            if *give { "given" } else { "skipped" }.into(),
            name(by),
            format!("{who}; the bolus due at {due}"),
        ],
        Record::PainScore { value, .. } => [
            "pain".into(),
            e(),
            e(),
            e(),
            value.to_string(),
            "patient".into(),
            e(),
        ],
        Record::SideEffect {
            effect, severity, ..
        } => [
            "side_effect".into(),
            e(),
            e(),
            e(),
            name(severity),
            "patient".into(),
            name(effect),
        ],
        Record::Sedation { poss, .. } => [
            "sedation".into(),
            e(),
            e(),
            e(),
            poss.to_string(),
            "nurse".into(),
            "POSS".into(),
        ],
        Record::Vitals {
            respiratory_rate,
            heart_rate,
            spo2,
            temperature,
            ..
        } => [
            "vitals".into(),
            e(),
            e(),
            e(),
            respiratory_rate.map(|v| v.to_string()).unwrap_or_default(),
            "nurse".into(),
            format!(
                "respiratory rate /min; heart rate {}; SpO2 {}{}",
                heart_rate.map_or("-".to_owned(), |v| v.to_string()),
                spo2.map_or("-".to_owned(), |v| v.to_string()),
                temperature.map_or(String::new(), |t| format!("; temperature {t}"))
            ),
        ],
        Record::SedationReviewed {
            note, name: who, ..
        } => [
            "sedation_reviewed".into(),
            e(),
            e(),
            e(),
            e(),
            who.clone(),
            note.clone(),
        ],
        Record::AlarmRaised { kind, priority, .. } => [
            "alarm_raised".into(),
            e(),
            e(),
            e(),
            name(priority),
            e(),
            name(kind),
        ],
        Record::AlarmCleared { kind, .. } => {
            ["alarm_cleared".into(), e(), e(), e(), e(), e(), name(kind)]
        }
        Record::AlarmAcknowledged { kind, by, .. } => [
            "alarm_acknowledged".into(),
            e(),
            e(),
            e(),
            e(),
            name(by),
            name(kind),
        ],
        Record::AlarmSilenced { by, until, .. } => [
            "alarm_silenced".into(),
            e(),
            e(),
            e(),
            e(),
            name(by),
            format!("until T+{}", until.ms() / 1000),
        ],
        Record::StateChanged { from, to, .. } => [
            "state".into(),
            e(),
            e(),
            e(),
            to.to_string(),
            e(),
            format!("from {from}"),
        ],
        Record::RateChanged { old, new, by, .. } => [
            "basal_changed".into(),
            e(),
            format!("{}", new.per_day().as_mg_f64()),
            e(),
            e(),
            name(by),
            format!("mg/day, was {} mg/day", old.per_day().as_mg_f64()),
        ],
        Record::ProgramChanged {
            changes,
            by,
            name: who,
            verified_by,
            ..
        } => [
            "program_changed".into(),
            e(),
            e(),
            e(),
            changes
                .iter()
                .map(|c| format!("{}: {} -> {}", c.setting, c.old, c.new))
                .collect::<Vec<_>>()
                .join("; "),
            name(by),
            format!("{who}, checked by {verified_by}"),
        ],
        Record::ReservoirChanged { volume, by, .. } => [
            "syringe_changed".into(),
            e(),
            e(),
            format!("{}", volume.as_ml_f64()),
            e(),
            name(by),
            e(),
        ],
        Record::Primed { steps, .. } => [
            "primed".into(),
            e(),
            e(),
            e(),
            steps.to_string(),
            e(),
            "motor steps (not dose)".into(),
        ],
        Record::PowerRestored { .. } => ["power_restored".into(), e(), e(), e(), e(), e(), e()],
        Record::Refused {
            what, reason, by, ..
        } => [
            "refused".into(),
            e(),
            e(),
            e(),
            e(),
            name(by),
            format!("{what}: {reason}"),
        ],
        Record::Confirmed { .. } => [
            "confirmed".into(),
            e(),
            e(),
            e(),
            e(),
            e(),
            serde_json::to_string(r).ok()?,
        ],
        Record::CarriedOver {
            doses,
            pca_grants,
            sedation_hold,
            previous_ended,
            ..
        } => [
            // The amount stays out of the amount column: this trial did not give it, and a
            // reader summing that column must not count it.
            "carried_over".into(),
            e(),
            e(),
            e(),
            e(),
            e(),
            format!(
                "from the trial ended at {previous_ended}: {} doses ({} mg, counted toward this trial's limits only), {} patient boluses{}",
                doses.len(),
                doses
                    .iter()
                    .map(|d| d.amount)
                    .sum::<crate::core::units::Amount>()
                    .as_mg_f64(),
                pca_grants.len(),
                if *sedation_hold {
                    ", the sedation hold"
                } else {
                    ""
                }
            ),
        ],
        Record::LoginFailed {
            user,
            name: who,
            locked,
            ..
        } => [
            "login_failed".into(),
            e(),
            e(),
            e(),
            e(),
            format!("{who} ({user})"),
            if *locked {
                "refused: the login was locked".to_owned()
            } else {
                "wrong PIN".to_owned()
            },
        ],
        Record::LoginLocked {
            user,
            name: who,
            until,
            ..
        } => [
            "login_locked".into(),
            e(),
            e(),
            e(),
            e(),
            format!("{who} ({user})"),
            format!("locked until {until}"),
        ],
        Record::UserAction {
            action,
            by,
            name: who,
            ..
        } => [
            "user_action".into(),
            e(),
            e(),
            e(),
            e(),
            format!("{who} ({})", name(by)),
            action.clone(),
        ],
        Record::Assessment {
            outcome,
            note,
            name: who,
            wish,
            implant,
            ..
        } => [
            "assessment".into(),
            e(),
            e(),
            e(),
            outcome.to_string(),
            who.clone(),
            {
                let mut detail = note.clone();
                if let Some(w) = wish {
                    detail.push_str(&format!("; patient wishes to proceed: {w}"));
                }
                if let Some(i) = implant {
                    detail.push_str(&format!("; planned implant: {i}"));
                }
                detail
            },
        ],
        Record::ChecklistRequired { items, .. } => [
            "checklist_required".into(),
            e(),
            e(),
            e(),
            e(),
            e(),
            items
                .iter()
                .map(|i| i.id.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ],
        Record::ChecklistConfirmed {
            item,
            by,
            name: who,
            ..
        } => [
            "checklist_confirmed".into(),
            e(),
            e(),
            e(),
            item.clone(),
            format!("{who} ({})", name(by)),
            e(),
        ],
        Record::ChecklistOverridden {
            open,
            reason,
            name: who,
            ..
        } => [
            "checklist_overridden".into(),
            e(),
            e(),
            e(),
            open.join(" "),
            who.clone(),
            reason.clone(),
        ],
        Record::SiteChecksRequired { rule, .. } => [
            "site_checks_required".into(),
            e(),
            e(),
            e(),
            format!("{}", rule.every.as_hours_f64()),
            e(),
            format!("site check every value h; fever from {}", rule.fever),
        ],
        Record::SiteCheck {
            temperature,
            findings,
            by,
            name: who,
            ..
        } => [
            "site_check".into(),
            e(),
            e(),
            e(),
            format!("{}", temperature.as_celsius_f64()),
            format!("{who} ({})", name(by)),
            if findings.is_empty() {
                "clean".into()
            } else {
                findings
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            },
        ],
        Record::LogBudget {
            duration,
            rows,
            bytes,
            ..
        } => [
            "log_budget".into(),
            e(),
            e(),
            e(),
            bytes.to_string(),
            "pump".into(),
            format!("the trial log's expected growth over {duration}: {rows} rows, {bytes} bytes"),
        ],
        Record::SelfTest { test, .. } => [
            "self_test".into(),
            e(),
            e(),
            e(),
            if test.passed() { "passed" } else { "failed" }.into(),
            "pump".into(),
            format!(
                "{}drug library sha256 {}; hardware {}; protocol {}",
                if test.passed() {
                    String::new()
                } else {
                    format!("{}; ", test.failures())
                },
                test.checksums.drug_library,
                test.checksums.hardware,
                test.checksums.protocol
            ),
        ],
        Record::FunctionAnswer {
            question,
            answer,
            level,
            ..
        } => [
            "function".into(),
            e(),
            e(),
            e(),
            level.to_string(),
            "patient".into(),
            format!("{question} {answer}"),
        ],
        Record::FunctionSkipped { question, .. } => [
            "function_skipped".into(),
            e(),
            e(),
            e(),
            e(),
            "patient".into(),
            format!("{question} (left for now)"),
        ],
        Record::Pgic { value, .. } => [
            "pgic".into(),
            e(),
            e(),
            e(),
            value.to_string(),
            "patient".into(),
            crate::core::diary::pgic_label(*value).unwrap_or("").into(),
        ],
        Record::Spasticity {
            score,
            muscles,
            by,
            name: who,
            ..
        } => [
            "spasticity".into(),
            e(),
            e(),
            e(),
            score.to_string(),
            format!("{who} ({})", name(by)),
            muscles.clone(),
        ],
        Record::CatheterRemoved {
            by,
            name: who,
            note,
            ..
        } => [
            "catheter_removed".into(),
            e(),
            e(),
            e(),
            e(),
            format!("{who} ({})", name(by)),
            note.clone(),
        ],
        Record::ImplantPlan {
            per_day,
            concentration,
            rule,
            name: who,
            route,
            reason,
            ..
        } => [
            "implant_plan".into(),
            e(),
            format!("{}", per_day.per_day().as_mg_f64()),
            e(),
            format!("{}", concentration.as_mg_per_ml_f64()),
            who.clone(),
            format!(
                "mg/day at value mg/mL{}; {}{}",
                route.map_or(String::new(), |r| format!(", {r}")),
                rule.as_deref().unwrap_or("entered by the clinician"),
                reason
                    .as_ref()
                    .map_or(String::new(), |r| format!("; reason: {r}"))
            ),
        ],
        Record::SystemicOpioids {
            ome_per_day,
            by,
            name: who,
            ..
        } => [
            "systemic_opioids".into(),
            e(),
            format!("{}", ome_per_day.per_day().as_mg_f64()),
            e(),
            e(),
            format!("{who} ({})", name(by)),
            "oral morphine equivalents, mg per day".into(),
        ],
        Record::StartupCheckFailed { failures, .. } => [
            "startup_check_failed".into(),
            e(),
            e(),
            e(),
            e(),
            "pump".into(),
            failures.join("; "),
        ],
        Record::UnverifiedTrialEnded {
            reason, name: who, ..
        } => [
            "unverified_trial_ended".into(),
            e(),
            e(),
            e(),
            e(),
            who.clone(),
            reason.clone(),
        ],
        Record::Exported {
            destination,
            files,
            name: who,
            ..
        } => [
            "exported".into(),
            e(),
            e(),
            e(),
            e(),
            who.clone(),
            format!(
                "{destination}: {}",
                files
                    .iter()
                    .map(|(f, _)| f.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        ],
        Record::UncertainConfirmed { by, .. } => [
            "uncertain_confirmed".into(),
            e(),
            e(),
            e(),
            e(),
            name(by),
            e(),
        ],
        Record::AlarmEscalated { kind, .. } => [
            "alarm_escalated".into(),
            e(),
            e(),
            e(),
            e(),
            e(),
            name(kind),
        ],
        Record::BackedOff { .. } | Record::Intent { .. } => return None,
    })
}

/// The CSV of a journal; times are hours from `started` and, in `time`, RFC 3339 from
/// `time_of`.
pub fn render(
    journal: &[Record],
    started: Timestamp,
    time_of: &dyn Fn(Timestamp) -> String,
) -> Result<Vec<u8>, ::csv::Error> {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record(HEADER)?;
    for r in journal {
        let Some(cells) = row(r) else { continue };
        let at = r.at();
        let at_h = if at >= started {
            format!("{}", (at.since(started).as_hours_f64() * 1e6).round() / 1e6)
        } else {
            format!(
                "-{}",
                (started.since(at).as_hours_f64() * 1e6).round() / 1e6
            )
        };
        w.write_record(
            [at_h, time_of(at)]
                .into_iter()
                .chain(cells)
                .collect::<Vec<String>>(),
        )?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}
