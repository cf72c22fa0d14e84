//! Issue 19, part 3, "every input bounded", tried as a new user would on a peer-to-peer link in
//! virtual time: a huge program, floods of presses and diary entries, oversize arguments to
//! every method, and Stop delivery during a flood. No wall-clock timing: the rate limits run on
//! the pump's clock, which the tests set.

use std::future::Future;
use std::pin::Pin;

use titra::core::units::{Duration, Timestamp};
use titra::journal::Record;
use titra::limits::{MAX_BOLUSES, MAX_TEXT_BYTES, MAX_WORD_BYTES};
use titra::service::dbus::PumpError;
use titra::time::Clock as _;

use crate::common::daemon::logged_service;
use crate::common::p2p::{error_of, pump, pump_with};
use crate::common::{CLINICIAN, NURSE, TempDir, h};

async fn journal(p: &crate::common::p2p::Pump) -> Vec<Record> {
    let s = p.shared.service.lock().await;
    s.engine().map(|e| e.journal().to_vec()).unwrap_or_default()
}

/// A multiple-bolus morphine trial with `n` boluses of 0.1 mg an hour apart.
fn bolus_program(n: usize) -> String {
    let boluses: Vec<String> = (0..n)
        .map(|i| format!("{{at=\"{}h\",dose=\"0.1 mg\"}}", i + 1))
        .collect();
    format!(
        "[trial]\npatient = \"MRN-LIMITS\"\nroute = \"intrathecal\"\nkind = \"multiple_bolus\"\nduration = \"{}h\"\n\n[program]\ndrug = \"morphine\"\nconcentration = \"1 mg/mL\"\nreservoir = \"20 mL\"\nboluses = [{}]\n",
        n + 2,
        boluses.join(",")
    )
}

#[tokio::test]
async fn a_program_of_20000_boluses_is_refused_naming_the_size_limit() {
    let p = pump().await;
    let program = bolus_program(20_000);
    assert!(program.len() > 65_536);
    let (name, message) = error_of(p.proxy.validate_program(&program).await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    let bytes = titra::limits::grouped(program.len());
    assert_eq!(
        message,
        format!("program: {bytes} bytes, more than the 65 536 a program may have")
    );
    // StartTrial refuses it the same way, before anything else.
    let nurse = p.login(NURSE).await;
    let (_, message) = error_of(
        p.proxy
            .start_trial(&nurse, &program, true, "nurse2", "567890")
            .await,
    );
    assert!(message.starts_with("program: "), "{message}");
}

#[tokio::test]
async fn a_program_over_the_bolus_limit_is_refused_naming_it_and_one_at_it_is_checked() {
    let p = pump().await;
    let over = bolus_program(MAX_BOLUSES + 1);
    assert!(over.len() < 65_536);
    let (name, message) = error_of(p.proxy.validate_program(&over).await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert!(
        message.contains(
            "program.boluses: 501 scheduled boluses, more than the 500 a program may have"
        ),
        "{message}"
    );
    // At the limit the program is checked, every bolus of it.
    let (class, findings) = p
        .proxy
        .validate_program(&bolus_program(MAX_BOLUSES))
        .await
        .unwrap();
    assert!(["ok", "soft", "hard"].contains(&class.as_str()), "{class}");
    let bolus_findings = findings
        .iter()
        .filter(|f| f.field.starts_with("program.boluses["))
        .count();
    assert!(bolus_findings >= MAX_BOLUSES, "{bolus_findings}");
}

/// Calls the patient's bolus button `n` times, `every` apart on the pump's clock from `from`;
/// (granted, refused by the rate limit, other refusals).
async fn press(
    p: &crate::common::p2p::Pump,
    from: Timestamp,
    n: u64,
    every: Duration,
) -> (u64, u64, u64) {
    let mut counts = (0, 0, 0);
    for i in 0..n {
        p.clock.set(from + Duration::from_ms(every.ms() * i));
        match p.proxy.request_bolus().await {
            Ok(_) => counts.0 += 1,
            Err(e) => {
                let (name, message) = error_of::<()>(Err(e));
                if name == "org.titra.Pump1.Error.TooManyRequests" {
                    counts.1 += 1;
                } else {
                    assert!(!message.is_empty());
                    counts.2 += 1;
                }
            }
        }
    }
    counts
}

#[tokio::test]
async fn a_flood_of_presses_is_a_few_log_rows_and_every_press_is_counted() {
    let dir = TempDir::new("limits-presses");
    let p = pump_with(logged_service(&dir, Timestamp::ORIGIN), Timestamp::ORIGIN).await;
    p.running().await;
    p.run_to(h(1.0)).await;
    let rows_before = journal(&p).await.len();
    // 2 000 presses, one every 100 ms (within the button's rate limit): the first is granted,
    // the others fall in its hour of lockout.
    let (granted, limited, denied) = press(&p, h(1.0), 2_000, Duration::from_ms(100)).await;
    assert_eq!((granted, limited, denied), (1, 0, 1_999));
    // The last presses counted are written within the minute.
    p.run_to(h(1.1)).await;
    let records = journal(&p).await;
    let press_rows: Vec<&Record> = records[rows_before..]
        .iter()
        .filter(|r| matches!(r, Record::PcaRequest { .. }))
        .collect();
    // 200 s of presses: the grant, the first press of each run of denials (the bolus in
    // progress, then the lockout), and the count written with the log's other records or
    // after a minute (10 rows when this was written).
    assert!(
        (4..=16).contains(&press_rows.len()),
        "{} rows: {press_rows:?}",
        press_rows.len()
    );
    let counted: u32 = press_rows
        .iter()
        .map(|r| match r {
            Record::PcaRequest { presses, .. } => *presses,
            _ => 0,
        })
        .sum();
    assert_eq!(counted, 2_000);
    // The summary counts every press.
    let clinician = p.login(CLINICIAN).await;
    let summary: serde_json::Value =
        serde_json::from_str(&p.proxy.export_summary(&clinician).await.unwrap()).unwrap();
    assert_eq!(summary["pca"]["requested"], 2_000);
    assert_eq!(summary["pca"]["granted"], 1);
    assert_eq!(summary["pca"]["denied"], 1_999);
    // And so does the log on disk, whose chain still verifies.
    drop(p);
    let back = titra::service::pump::PumpService::resume_time(&dir.trial_log()).unwrap();
    let p = pump_with(logged_service(&dir, back), back).await;
    let status: titra::service::wire::Status =
        serde_json::from_str(&p.proxy.status_json().await.unwrap()).unwrap();
    assert_eq!(status.startup_check_failure, "", "the log verifies");
    let on_disk: u32 = journal(&p)
        .await
        .iter()
        .map(|r| match r {
            Record::PcaRequest { presses, .. } => *presses,
            _ => 0,
        })
        .sum();
    assert_eq!(on_disk, 2_000);
}

#[tokio::test]
async fn presses_faster_than_the_limit_are_refused_saying_so_and_not_counted() {
    let p = pump().await;
    p.running().await;
    p.run_to(h(1.0)).await;
    // 2 000 presses in 4 s: 50 at once, then 10 a second.
    let (granted, limited, denied) = press(&p, h(1.0), 2_000, Duration::from_ms(2)).await;
    assert_eq!(granted + denied, 50 + 4 * 10 - 1, "{granted} {denied}");
    assert_eq!(limited, 2_000 - granted - denied);
    let (name, message) = error_of(p.proxy.request_bolus().await);
    assert_eq!(name, "org.titra.Pump1.Error.TooManyRequests");
    assert_eq!(
        message,
        "RequestBolus: too many requests: at most 50 per 5 s; try again in a few seconds"
    );
    // The presses counted are written within the minute.
    p.run_to(h(1.0) + Duration::from_mins(2)).await;
    let records = journal(&p).await;
    let counted: u32 = records
        .iter()
        .map(|r| match r {
            Record::PcaRequest { presses, .. } => *presses,
            _ => 0,
        })
        .sum();
    assert_eq!(u64::from(counted), granted + denied);
}

#[tokio::test]
async fn a_flood_of_pain_scores_is_held_to_the_diary_limit_and_stop_delivery_still_works() {
    let p = pump().await;
    p.running().await;
    p.run_to(h(1.0)).await;
    let before = journal(&p).await.len();
    let mut accepted = 0;
    let mut refused = 0;
    for i in 0..2_000u64 {
        p.clock.set(h(1.0) + Duration::from_ms(2 * i));
        match p.proxy.record_pain(5).await {
            Ok(()) => accepted += 1,
            Err(e) => {
                let (name, message) = error_of::<()>(Err(e));
                assert_eq!(name, "org.titra.Pump1.Error.TooManyRequests");
                assert_eq!(
                    message,
                    "RecordPain: too many requests: at most 12 per 60 s; try again in a few seconds"
                );
                refused += 1;
            }
        }
    }
    assert_eq!((accepted, refused), (12, 1_988));
    let pain_rows = journal(&p).await[before..]
        .iter()
        .filter(|r| matches!(r, Record::PainScore { .. }))
        .count();
    assert_eq!(pain_rows, 12);
    // During the flood, the patient's other calls wait too, but stopping never does.
    let (name, _) = error_of(p.proxy.record_pgic(2).await);
    assert_eq!(name, "org.titra.Pump1.Error.TooManyRequests");
    for _ in 0..200 {
        let _ = p.proxy.request_bolus().await;
    }
    p.proxy.stop_delivery().await.unwrap();
    assert_eq!(p.proxy.pump_state().await.unwrap(), "paused");
    // A minute later the diary takes a score again.
    p.clock.set(p.clock.now() + Duration::from_secs(5));
    p.proxy.record_pain(4).await.unwrap();
}

type Call<'a> = Pin<Box<dyn Future<Output = Result<(), PumpError>> + 'a>>;

#[allow(
    clippy::too_many_lines,
    reason = "a row per argument of every method: the table is the test"
)]
#[tokio::test]
async fn every_string_argument_over_its_limit_is_refused_naming_it() {
    let p = pump().await;
    let nurse = p.running().await;
    let t = nurse.as_str();
    let word = "w".repeat(MAX_WORD_BYTES + 1);
    let text = "t".repeat(MAX_TEXT_BYTES + 1);
    let (w, x) = (word.as_str(), text.as_str());
    let px = &p.proxy;
    let findings = vec!["redness".to_owned(); 17];
    let long_finding = vec![word.clone()];
    macro_rules! call {
        ($e:expr) => {
            Box::pin(async { $e.await.map(|_| ()) }) as Call<'_>
        };
    }
    let table: Vec<(&str, &str, Call<'_>)> = vec![
        ("Login", "user", call!(px.login(w, "123456"))),
        ("Login", "pin", call!(px.login("nurse", w))),
        ("Logout", "token", call!(px.logout(w))),
        (
            "ValidateProgram",
            "program",
            call!(px.validate_program(&"p".repeat(65_537))),
        ),
        (
            "StartTrial",
            "verifier",
            call!(px.start_trial(t, "x", false, w, "1")),
        ),
        (
            "StartTrial",
            "verifier_pin",
            call!(px.start_trial(t, "x", false, "nurse2", w)),
        ),
        ("Prime", "token", call!(px.prime(w))),
        ("Start", "token", call!(px.start(w))),
        ("Pause", "token", call!(px.pause(w))),
        ("Resume", "token", call!(px.resume(w))),
        ("EndTrial", "token", call!(px.end_trial(w))),
        (
            "ChangeBasal",
            "basal",
            call!(px.change_basal(t, w, false, "", "")),
        ),
        ("CheckBasal", "basal", call!(px.check_basal(w))),
        (
            "ChangeProgram",
            "changes",
            call!(px.change_program(t, &"c".repeat(65_537), false, "", "")),
        ),
        (
            "ChangeProgram",
            "verifier",
            call!(px.change_program(t, "basal = \"1 mg/day\"", false, w, "1")),
        ),
        (
            "CheckProgramChange",
            "changes",
            call!(px.check_program_change(&"c".repeat(65_537))),
        ),
        ("Checklist", "token", call!(px.checklist(w))),
        (
            "ConfirmChecklistItem",
            "id",
            call!(px.confirm_checklist_item(t, w)),
        ),
        (
            "OverrideChecklist",
            "reason",
            call!(px.override_checklist(t, x)),
        ),
        (
            "RecordDecision",
            "outcome",
            call!(px.record_decision(t, w, "", "yes", "")),
        ),
        (
            "RecordDecision",
            "reasons",
            call!(px.record_decision(t, "success", x, "yes", "")),
        ),
        (
            "RecordDecision",
            "wish",
            call!(px.record_decision(t, "success", "", w, "")),
        ),
        (
            "RecordDecision",
            "implant",
            call!(px.record_decision(t, "success", "", "yes", x)),
        ),
        (
            "RecordCatheterRemoval",
            "note",
            call!(px.record_catheter_removal(t, x)),
        ),
        (
            "RecordAssessment",
            "note",
            call!(px.record_assessment(t, "success", x)),
        ),
        (
            "ClinicianBolus",
            "dose",
            call!(px.clinician_bolus(t, w, false, "", "")),
        ),
        (
            "RecordSpasticity",
            "score",
            call!(px.record_spasticity(t, w, "")),
        ),
        (
            "RecordSpasticity",
            "muscles",
            call!(px.record_spasticity(t, "1", x)),
        ),
        (
            "RecordSideEffect",
            "effect",
            call!(px.record_side_effect(x, "mild")),
        ),
        (
            "RecordSideEffect",
            "severity",
            call!(px.record_side_effect("nausea", w)),
        ),
        ("RecordSedation", "token", call!(px.record_sedation(w, 1))),
        (
            "RecordVitals",
            "token",
            call!(px.record_vitals(w, 12, 70, 98, 36.8)),
        ),
        (
            "RecordSiteCheck",
            "findings",
            call!(px.record_site_check(t, 36.8, findings.clone())),
        ),
        (
            "RecordSiteCheck",
            "findings[0]",
            call!(px.record_site_check(t, 36.8, long_finding.clone())),
        ),
        ("ReviewSedation", "note", call!(px.review_sedation(t, x))),
        (
            "EndUnverifiedTrial",
            "reason",
            call!(px.end_unverified_trial(t, x)),
        ),
        (
            "AcknowledgeAlarms",
            "token",
            call!(px.acknowledge_alarms(w)),
        ),
        ("SilenceAlarms", "token", call!(px.silence_alarms(w, 0))),
        (
            "ChangeReservoir",
            "volume",
            call!(px.change_reservoir(t, w)),
        ),
        (
            "ConfirmImplantDose",
            "dose",
            call!(px.confirm_implant_dose(t, w)),
        ),
        (
            "ConfirmImplantDoseWithReason",
            "reason",
            call!(px.confirm_implant_dose_with_reason(t, "", x)),
        ),
        (
            "RecordSystemicOpioids",
            "ome_per_day",
            call!(px.record_systemic_opioids(t, w)),
        ),
        ("ExportPreview", "token", call!(px.export_preview(w))),
        ("Export", "formats", call!(px.export(t, w, "a4"))),
        ("Export", "paper", call!(px.export(t, "pdf", w))),
        ("ExportSummary", "token", call!(px.export_summary(w))),
        ("InjectFault", "fault", call!(px.inject_fault(w, true))),
    ];
    for (method, field, call) in table {
        let (name, message) = error_of(call.await);
        assert_eq!(
            name, "org.titra.Pump1.Error.InvalidInput",
            "{method}: {message}"
        );
        assert!(
            message.starts_with(&format!("{field}: ")) && message.contains(", more than the "),
            "{method}: {message}"
        );
    }
    // Nothing of them reached the trial log, and the trial runs on.
    assert_eq!(p.proxy.pump_state().await.unwrap(), "running");
}
