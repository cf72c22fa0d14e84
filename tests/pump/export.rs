//! The summary export from a trial log: the files and their manifest, the PDF's text (read back
//! with pdftotext), the JSON against its schema (docs/trial-summary.schema.json), the CSV read
//! back and added up, and the log left as it was but for the record of the export.

use std::path::{Path, PathBuf};
use std::process::Command;

use titra::cli::simulate::{self, LogTarget};
use titra::input::check;
use titra::input::hardware::HardwareConfig;
use titra::input::protocol::Protocol;
use titra::input::scenario::Scenario;
use titra::journal::Record;
use titra::report::export::{Format, LogExport, LogExportError, Paper, export_from_log};
use titra::store::TrialLog;

use crate::common::{
    TempDir, assert_valid_summary, example, outcome, scenario_path, text as text_of, titra,
};

fn dir(name: &str) -> TempDir {
    TempDir::new(&format!("export-{name}"))
}

/// Runs an example scenario into a trial log file.
fn simulated_log(scenario: &str, at: &Path) -> PathBuf {
    log_of(&example(scenario), at)
}

/// Runs `sc` into a trial log file in `at`; the file.
fn log_of(sc: &Scenario, at: &Path) -> PathBuf {
    let (library, source) = check::load_library(None).unwrap();
    let db = at.join("trial.db");
    simulate::run_with_log(
        sc,
        &library,
        source,
        &HardwareConfig::built_in().unwrap(),
        LogTarget::File(&db),
        &mut |_| {},
    )
    .unwrap();
    db
}

fn export(
    db: &Path,
    out: &Path,
    formats: &str,
    paper: Paper,
    draft: bool,
) -> Result<Vec<PathBuf>, LogExportError> {
    let (library, _) = check::load_library(None).unwrap();
    export_from_log(&LogExport {
        db,
        trial: None,
        out,
        formats: &Format::parse_list(formats).unwrap(),
        paper,
        protocol: &Protocol::built_in().unwrap(),
        library: &library,
        hardware: &HardwareConfig::built_in().unwrap(),
        draft,
        by: "test",
        now_ms: 1_796_481_000_000,
    })
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn an_exported_trial_reads_back_in_every_format() {
    let d = dir("all");
    let db = simulated_log("continuous-morphine-pca.toml", &d);
    let before = {
        let log = TrialLog::open(&db).unwrap();
        log.records(1).unwrap()
    };
    let out = d.join("out");

    // Without a clinician's confirmed implant dose, only a draft.
    let refused = export(&db, &out, "pdf,json,csv", Paper::A4, false);
    assert!(
        matches!(refused, Err(LogExportError::NotConfirmed)),
        "{refused:?}"
    );
    assert!(!out.exists(), "nothing written");

    let written = export(&db, &out, "csv,pdf,json", Paper::A4, true).unwrap();
    let names: Vec<String> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "MRN-00042_2000-01-01_summary.pdf",
            "MRN-00042_2000-01-01_summary.json",
            "MRN-00042_2000-01-01_timeseries.csv",
            "MRN-00042_2000-01-01_manifest.sha256",
        ]
    );

    // The manifest holds each file's SHA-256, in sha256sum's format (after the comment lines of
    // the trial log's chain head and check, which sha256sum skips).
    let manifest = std::fs::read_to_string(&written[3]).unwrap();
    let lines: Vec<&str> = manifest.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(lines.len(), 3);
    for (line, path) in lines.iter().zip(&written) {
        let name = path.file_name().unwrap().to_string_lossy();
        assert_eq!(*line, format!("{}  {name}", sha256(path)));
    }

    // The JSON validates against the documented schema and holds the hand-checked figures:
    // 0.5 mg/day for a day, then 1 mg/day to the end (48 h, a stable period): the effective
    // dose is 1 mg/day.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&written[1]).unwrap()).unwrap();
    let validator = assert_valid_summary(&json);
    let mut broken = json.clone();
    broken["pain"]["baseline"] = serde_json::json!(11);
    assert!(
        !validator.is_valid(&broken),
        "the schema checks the pain scale"
    );
    assert_eq!(json["schema"], "titra.trial-summary/1");
    assert_eq!(json["pain"]["baseline"], 8);
    assert_eq!(json["pain"]["final"], 3);
    assert_eq!(json["pain"]["reduction_pct"], 62.5);
    assert_eq!(json["pain"]["responder"], true);
    assert_eq!(json["days"][0]["basal_mg"], 0.5);
    // One press granted; two refused while two missed checks stood (the design's scenario
    // records none of the checks the library asks for after intrathecal morphine).
    assert_eq!(json["days"][0]["pca_mg"], 0.05);
    assert_eq!(json["days"][0]["pca_granted"], 1);
    assert_eq!(json["days"][0]["pca_denied"], 2);
    assert_eq!(json["titration"][0]["to_mg_per_day"], 1.0);
    let effective = &json["effective_dose"];
    assert_eq!(json["effective_dose_mg_per_day"], 1.0);
    assert_eq!(effective["mg_per_day"], 1.0);
    assert_eq!(effective["basis"], "stable_period");
    assert_eq!(effective["from_h"], 24.0);
    assert_eq!(effective["to_h"], 72.0);
    assert_eq!(effective["stable_period"]["hours"], 48.0);
    assert_eq!(effective["stable_period"]["reaches_end"], true);
    assert_eq!(effective["in_force_at_end_mg_per_day"], 1.0);
    // Information only: day 3 ran at 1 mg/day but for the 10 min power cut and the 50 min until
    // the nurse resumed: 23 h of 24, give or take a motor step.
    let last_24h = effective["last_24h_mg_per_day"].as_f64().unwrap();
    assert!((last_24h - 23.0 / 24.0).abs() < 0.002, "{last_24h}");
    // The built-in protocol: the site's 50 % for morphine, at the implant's 10 mg/mL.
    let implant = &json["implant"];
    assert_eq!(implant["confirmed"], false);
    assert_eq!(implant["route"], "intrathecal");
    assert_eq!(implant["method"], "percent");
    assert_eq!(implant["proposed_mg_per_day"], 0.5);
    assert_eq!(implant["mg_per_day"], 0.5);
    assert_eq!(implant["concentration_mg_per_ml"], 10.0);
    assert_eq!(implant["ml_per_day"], 0.05);
    assert_eq!(json["response_criterion"]["responder"], true);
    assert_eq!(json["opioids"]["status"], serde_json::Value::Null);

    // The CSV reads back: its deliveries add up to the summary's total, its pain rows are the
    // scores.
    let mut reader = csv::Reader::from_path(&written[2]).unwrap();
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        titra::report::csv::HEADER
    );
    let (mut delivered, mut pain, mut rows) = (0.0, Vec::new(), 0);
    for row in reader.records() {
        let row = row.unwrap();
        rows += 1;
        match &row[2] {
            "delivery" | "uncertain_delivery" => delivered += row[4].parse::<f64>().unwrap(),
            "pain" => pain.push(row[6].parse::<u8>().unwrap()),
            _ => {}
        }
        assert!(
            row[1].starts_with("2000-01-0"),
            "a time on every row: {row:?}"
        );
    }
    assert!(rows > 4000, "every delivery piece of three days: {rows}");
    assert!((delivered - json["delivered"]["total_mg"].as_f64().unwrap()).abs() < 1e-6);
    assert_eq!(pain, [6, 4, 3]);

    // The PDF's text holds the key figures.
    let text = pdftotext(&written[0]);
    for needle in [
        "Trial summary (DRAFT) — patient MRN-00042",
        "Intrathecal morphine 1 mg/mL",
        "Effective trial dose: 1 mg per day",
        "last stable period 48 h (from 24 h to 72 h after the start)",
        "the last 24 h gave 0.958 mg per day",
        "last 3 (reduction 62.5 %)",
        "RESPONDER",
        "Proposed starting dose 0.5 mg per day",
        "1 mg/day × 50 % = 0.5 mg/day",
        "NOT CONFIRMED",
        "occlusion (high)",
        "no power",
        "pruritus, mild",
        "page 2 of 2",
        "SIMULATED",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }

    // The log is as it was, but for one record saying what was exported.
    let log = TrialLog::open(&db).unwrap();
    let after = log.records(1).unwrap();
    assert_eq!(after[..before.len()], before[..]);
    assert_eq!(after.len(), before.len() + 1);
    let Some(Record::Exported { files, .. }) = after.last() else {
        panic!("no export record: {:?}", after.last());
    };
    assert_eq!(files.len(), 4);
    assert_eq!(files[0].1, sha256(&written[0]));
    assert!(log.verify().unwrap().is_intact());
}

/// Rewrites the whole hash chain from the first pain score on, as someone who knows how it is
/// computed could: the score changed to 0, every later row's hash recomputed, the head moved.
fn rewrite_the_chain(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch("DROP TRIGGER event_no_update;").unwrap();
    let first: i64 = conn
        .query_row(
            "SELECT MIN(seq) FROM event WHERE kind = 'pain_score'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute(
        "UPDATE event SET body = json_set(body, '$.value', 0) WHERE seq = ?1",
        [first],
    )
    .unwrap();
    let mut prev: String = conn
        .query_row("SELECT hash FROM event WHERE seq = ?1", [first - 1], |r| {
            r.get(0)
        })
        .unwrap();
    let rows: Vec<(i64, i64, i64, String, String)> = conn
        .prepare("SELECT seq, trial_id, at_ms, kind, body FROM event WHERE seq >= ?1 ORDER BY seq")
        .unwrap()
        .query_map([first], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (seq, trial, at, kind, body) in rows {
        let hash = titra::digest::sha256_lines(&[
            &prev,
            &seq.to_string(),
            &trial.to_string(),
            &at.to_string(),
            &kind,
            &body,
        ]);
        conn.execute(
            "UPDATE event SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![prev, hash, seq],
        )
        .unwrap();
        prev = hash;
    }
    conn.execute("UPDATE chain_head SET hash = ?1", [&prev])
        .unwrap();
}

#[test]
fn the_manifest_carries_the_chain_head_and_a_later_rewrite_shows_against_it() {
    let d = dir("chain-head");
    let db = simulated_log("single-shot-morphine.toml", &d);
    let head = TrialLog::open(&db).unwrap().verify().unwrap().head;
    let out = d.join("out");
    let written = export(&db, &out, "json", Paper::A4, true).unwrap();
    let manifest = written.last().unwrap();
    let text = std::fs::read_to_string(manifest).unwrap();
    assert!(
        text.starts_with(&format!(
            "# trial log chain head: row {} sha256 {}\n# trial log check: intact\n",
            head.0, head.1
        )),
        "{text}"
    );
    // sha256sum checks the files all the same.
    let checked = Command::new("sha256sum")
        .args(["-c", "--strict"])
        .arg(manifest.file_name().unwrap())
        .current_dir(&out)
        .output()
        .unwrap();
    assert!(checked.status.success(), "{checked:?}");

    // verify-log compares the log with the manifest (a copy kept elsewhere).
    let verify = || {
        titra(&[
            "verify-log",
            "--db",
            db.to_str().unwrap(),
            "--manifest",
            manifest.to_str().unwrap(),
        ])
    };
    let (ok, said) = outcome(&verify());
    assert!(ok, "{said}");
    assert!(
        said.contains(&format!(
            "The export's chain head (row {}) is in the log with the same hash",
            head.0
        )),
        "{said}"
    );

    // The whole chain rewritten after the export: the chain alone cannot tell, the manifest can.
    rewrite_the_chain(&db);
    let alone = titra(&["verify-log", "--db", db.to_str().unwrap()]);
    assert_eq!(alone.status.code(), Some(0), "{}", text_of(&alone.stdout));
    let against = verify();
    assert_eq!(against.status.code(), Some(2));
    assert!(
        text_of(&against.stdout).contains(&format!(
            "THE LOG WAS REWRITTEN AFTER THE EXPORT: row {} has the hash ",
            head.0
        )),
        "{}",
        text_of(&against.stdout)
    );
}

#[test]
fn letter_paper_and_one_format_at_a_time() {
    let d = dir("letter");
    let db = simulated_log("single-shot-morphine.toml", &d);
    let out = d.join("out");
    let written = export(&db, &out, "pdf", Paper::Letter, true).unwrap();
    assert_eq!(written.len(), 2, "the PDF and its manifest");
    let pdf = std::fs::read(&written[0]).unwrap();
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("/MediaBox [0 0 612 792]"), "Letter size");
    let words = pdftotext(&written[0]);
    // A screening bolus: 0.2 mg, pain 7 before and 3 at its lowest: a responder by its peak.
    assert!(
        words.contains("Effective trial dose: 0.2 mg per day"),
        "{words}"
    );
    assert!(words.contains("lowest 3 (reduction 57.1 %)"), "{words}");
    assert!(words.contains("Response to each bolus"), "{words}");
    assert!(
        words.contains("EFFECTIVE: Bolus of 0.2 mg at 0 min after the start"),
        "{words}"
    );
    assert!(words.contains("nausea, mild"), "{words}");
    assert!(Format::parse_list("pdf,xls").is_err());
    assert!(Format::parse_list("").is_err());
}

#[test]
fn a_sedation_hold_is_in_every_format_with_its_review() {
    let d = dir("sedation");
    let db = simulated_log("sedation-hold.toml", &d);
    let out = d.join("out");
    let written = export(&db, &out, "pdf,json,csv", Paper::A4, true).unwrap();

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&written[1]).unwrap()).unwrap();
    let validator = assert_valid_summary(&json);
    let mut broken = json.clone();
    broken["observations"]["sedation"][0]["poss"] = serde_json::json!(5);
    assert!(!validator.is_valid(&broken), "the schema checks POSS 1-4");
    // The sedation alarm is among the alarms; the refused presses carry their reason.
    let alarms = json["alarms"].as_array().unwrap();
    assert!(
        alarms
            .iter()
            .any(|a| a["kind"] == "sedation" && a["priority"] == "high" && a["at_h"] == 4.0),
        "{alarms:?}"
    );
    assert_eq!(json["pca"]["denied_by_reason"]["sedation_hold"], 2);
    let hold = &json["observations"]["holds"][0];
    assert_eq!(hold["reason"], "POSS 3");
    assert_eq!(hold["reviewed_by"], "clinician (scenario)");
    assert_eq!(json["observations"]["vitals"][1]["at_h"], 2.0);
    assert_eq!(json["observations"]["vitals"][1]["temp_c"], 36.9);

    // The CSV has the scores, the review and the refused presses with their reason.
    let mut reader = csv::Reader::from_path(&written[2]).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let review = rows
        .iter()
        .find(|r| &r[2] == "sedation_reviewed")
        .expect("the review has its row");
    assert_eq!(&review[0], "5");
    assert_eq!(&review[7], "clinician (scenario)");
    assert!(review[8].starts_with("POSS 3 after a patient bolus"));
    assert!(rows.iter().any(|r| &r[2] == "sedation" && &r[6] == "3"));
    assert!(
        rows.iter()
            .any(|r| &r[2] == "vitals" && r[8].contains("temperature 36.9 °C"))
    );
    assert_eq!(
        rows.iter()
            .filter(|r| &r[2] == "patient_request" && r[8].contains("sedation_hold"))
            .count(),
        2
    );

    // The PDF says it in words.
    let text = pdftotext(&written[0]);
    for needle in [
        "sedation (high)",
        "observation missed (high)",
        "Sedation and breathing",
        "highest POSS 3",
        "delivery stopped for POSS 3",
        "reviewed by clinician (scenario)",
        "escalated (the next one missed too): 1.",
        "page 2 of 2",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
    assert!(
        !text.contains(".."),
        "a note ending a sentence gets no second stop"
    );
}

pub(crate) fn pdftotext(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout", &pdf.display().to_string(), "-"])
        .output()
        .expect("pdftotext (Debian: poppler-utils) is installed by .ci/run");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_checklist_override_and_the_decision_are_in_every_format() {
    let d = dir("decision");
    let text = std::fs::read_to_string(scenario_path("single-shot-morphine.toml")).unwrap();
    let sc = Scenario::from_toml_str(
        &format!(
            "{text}\n[checklist]\nconfirmed = [\"medical_clearance\", \"consent\"]\noverride = \"Screening results phoned through by the lab.\"\n"
        ),
        "decision.toml",
    )
    .unwrap();
    let db = log_of(&sc, &d);
    // After the trial: the clinician's dose, decision and the catheter's removal, as the daemon
    // records them.
    {
        let mut log = TrialLog::open(&db).unwrap();
        let stored = log.latest_trial().unwrap();
        let records = log.records(stored.id).unwrap();
        let end = records.iter().map(Record::at).max().unwrap();
        let later = |mins: u64| end + titra::core::units::Duration::from_mins(mins);
        log.append(&[
            Record::ImplantPlan {
                at: later(5),
                per_day: "0.1 mg/day".parse().unwrap(),
                concentration: "10 mg/mL".parse().unwrap(),
                rule: Some("50 % of the effective trial dose (test)".to_owned()),
                name: "Dr Test".to_owned(),
                route: Some(titra::core::library::Route::Intrathecal),
                proposed: Some("0.1 mg/day".parse().unwrap()),
                // Below the label's opioid-naive starting range (0.2 mg/day): a reason is needed.
                reason: Some("Frail, 84 years old: start at the low end.".to_owned()),
                findings: Vec::new(),
            },
            Record::Assessment {
                at: later(6),
                outcome: titra::journal::Outcome::Success,
                note: "Pain 7 to 3 at the peak.".to_owned(),
                name: "Dr Test".to_owned(),
                wish: Some(titra::journal::Wish::Yes),
                implant: Some("SynchroMed II 20 mL".to_owned()),
            },
            Record::CatheterRemoved {
                at: later(30),
                by: titra::journal::Role::Nurse,
                name: "Nurse Test".to_owned(),
                note: "Tip intact".to_owned(),
            },
        ])
        .unwrap();
    }
    let out = d.join("out");
    let written = export(&db, &out, "pdf,json,csv", Paper::A4, false).unwrap();

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&written[1]).unwrap()).unwrap();
    let validator = assert_valid_summary(&json);
    let c = &json["checklist"];
    assert_eq!(c["complete"], false);
    assert_eq!(c["items"].as_array().unwrap().len(), 7);
    assert_eq!(c["override"]["by"], "clinician (scenario)");
    assert_eq!(c["override"]["open"].as_array().unwrap().len(), 5);
    let a = &json["assessment"];
    assert_eq!(a["patient_wish"], "yes");
    assert_eq!(a["planned_implant"], "SynchroMed II 20 mL");
    assert_eq!(a["planned_starting_dose_mg_per_day"], 0.1);
    assert_eq!(json["catheter_removal"]["by"], "Nurse Test");
    let mut broken = json.clone();
    broken["assessment"]["patient_wish"] = serde_json::json!("perhaps");
    assert!(!validator.is_valid(&broken), "the schema knows the wishes");

    let mut reader = csv::Reader::from_path(&written[2]).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert!(
        rows.iter()
            .any(|r| &r[2] == "checklist_overridden" && r[8].contains("phoned through"))
    );
    assert_eq!(
        rows.iter()
            .filter(|r| &r[2] == "checklist_confirmed")
            .count(),
        2
    );
    assert!(rows.iter().any(|r| &r[2] == "assessment"
        && r[8].contains("patient wishes to proceed: yes")
        && r[8].contains("SynchroMed II")));
    assert!(
        rows.iter()
            .any(|r| &r[2] == "catheter_removed" && &r[8] == "Tip intact")
    );

    let text = pdftotext(&written[0]);
    for needle in [
        "Pre-trial checklist",
        "NOT CONFIRMED at the start",
        "Started on a clinician's override: clinician (scenario)",
        "Screening results phoned through by the lab.",
        "Outcome: success — by Dr Test",
        "Reasons: Pain 7 to 3 at the peak.",
        "The patient wishes to proceed to an implant: yes.",
        "Planned implant: SynchroMed II 20 mL, starting at 0.1 mg per day",
        "Catheter removed at",
        "by Nurse Test: Tip intact",
        "page 2 of 2",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
}

/// `titra export` checks the confirmed dose in the log again: a plan recorded before the trial
/// ended is no confirmation, one beyond the implant route's hard limit is refused naming the
/// limit and its source, and one outside the usual range without a written reason is refused.
#[test]
fn the_export_checks_the_confirmed_dose_against_the_implant_routes_limits() {
    let d = dir("recheck");
    let db = simulated_log("continuous-morphine-pca.toml", &d);
    let plan = |at, per_day: &str, reason: Option<&str>| Record::ImplantPlan {
        at,
        per_day: per_day.parse().unwrap(),
        concentration: "10 mg/mL".parse().unwrap(),
        rule: None,
        name: "Dr Test".to_owned(),
        route: Some(titra::core::library::Route::Intrathecal),
        proposed: Some("0.5 mg/day".parse().unwrap()),
        reason: reason.map(str::to_owned),
        findings: Vec::new(),
    };
    let append = |r: Record| {
        let mut log = TrialLog::open(&db).unwrap();
        log.latest_trial().unwrap();
        log.append(&[r]).unwrap();
    };
    let (started, end) = {
        let log = TrialLog::open(&db).unwrap();
        titra::report::summary::span_of(&log.records(1).unwrap())
    };
    let out = d.join("out");
    // Recorded (by an older version) while the trial ran: not a confirmation.
    append(plan(
        started + titra::core::units::Duration::from_hours(1),
        "0.5 mg/day",
        None,
    ));
    assert!(matches!(
        export(&db, &out, "json", Paper::A4, false),
        Err(LogExportError::NotConfirmed)
    ));
    let after = |mins| end + titra::core::units::Duration::from_mins(mins);
    // Above the intrathecal morphine hard maximum of 20 mg/day.
    append(plan(after(1), "25 mg/day", Some("insisted")));
    let e = export(&db, &out, "json", Paper::A4, false).unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(e, LogExportError::ConfirmedDoseRefused(_)),
        "{text}"
    );
    assert!(
        text.contains("implant.dose: 25 mg/day") && text.contains("source: Infumorph label"),
        "{text}"
    );
    // Above the opioid-naive starting range (1 mg/day) without a reason.
    append(plan(after(2), "2 mg/day", None));
    let text = export(&db, &out, "json", Paper::A4, false)
        .unwrap_err()
        .to_string();
    assert!(text.contains("without a written reason"), "{text}");
    assert!(!out.exists(), "nothing written");
    // With a reason it goes.
    append(plan(
        after(3),
        "2 mg/day",
        Some("Took 90 mg oral morphine a day until last week."),
    ));
    let written = export(&db, &out, "json", Paper::A4, false).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&written[0]).unwrap()).unwrap();
    assert_eq!(json["implant"]["mg_per_day"], 2.0);
    assert_eq!(
        json["implant"]["reason"],
        "Took 90 mg oral morphine a day until last week."
    );
}

#[test]
fn the_programs_changes_are_in_every_format_with_both_names() {
    // The 5-day titration scenario, exported from its log (the engine rebuilt from the
    // records, program changes included).
    let d = dir("titration");
    let db = simulated_log("titration.toml", &d);
    let written = export(&db, &d.join("out"), "pdf,json,csv", Paper::A4, true).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&written[1]).unwrap()).unwrap();
    assert_valid_summary(&json);
    assert_eq!(json["program"]["basal_mg_per_day"], 0.5, "as started");
    let changes = json["program_changes"].as_array().unwrap();
    assert_eq!(changes.len(), 6);
    assert_eq!(changes[1]["at_h"], 48.0);
    assert_eq!(changes[1]["by"], "clinician (scenario)");
    assert_eq!(changes[1]["verified_by"], "nurse (scenario)");
    assert_eq!(
        changes[1]["changes"][0]["new"],
        "0.1 mg, lockout 30min, at most 2 an hour"
    );
    // The PDF: the program at the start, then each change with both names (a new basal among
    // the rate changes).
    let text = pdftotext(&written[0])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    // (The PDF's font has no arrow: "->".)
    for needle in [
        "Basal 0.5 mg per day. Patient bolus 0.05 mg, lockout 60 min, at most 1 per hour.",
        "day 2 00:00: basal 0.5 mg -> 1 mg per day",
        "day 3 00:00: patient bolus 0.05 mg, lockout 1h, at most 1 an hour -> 0.1 mg, lockout 30min, at most 2 an hour (by clinician (scenario), checked by nurse (scenario))",
        "dose limit 0.3 mg in 4h -> 0.5 mg in 4h",
        "scheduled boluses none -> 0.1 mg at 3d 12h",
        "KVO 0 mL/h -> 0.01 mL/h",
    ] {
        assert!(text.contains(needle), "{needle:?} not in {text}");
    }
    // The CSV: a row per change.
    let mut reader = csv::Reader::from_path(&written[2]).unwrap();
    let rows = reader
        .records()
        .filter(|r| r.as_ref().is_ok_and(|r| &r[2] == "program_changed"))
        .count();
    assert_eq!(rows, 6);
}

/// The summary exported in German (issue 22): the PDF's headings, sentences and the log's names
/// read back in German with their German letters intact (WinAnsi, read back by pdftotext), and
/// its figures as the English PDF has them.
#[test]
fn a_summary_exported_in_german_reads_back_in_german() {
    use titra::core::lang::{self, Language};
    let d = dir("german");
    let db = simulated_log("continuous-morphine-pca.toml", &d);
    // A copy of the log for the English export, which must not list the German one as earlier.
    let copy = d.join("copy.db");
    std::fs::copy(&db, &copy).unwrap();
    let written = lang::with(Language::German, || {
        export(&db, &d.join("de"), "pdf", Paper::A4, true)
    })
    .unwrap();
    let text = pdftotext(&written[0]);
    for needle in [
        "Zusammenfassung der Testphase (ENTWURF) —",
        "Patient/in MRN-00042",
        "Morphine 1 mg/mL intrathekal · kontinuierliche Testphase",
        "Schmerz Ø (Min.)",
        "Kennzahlen",
        "Wirksame Testdosis: 1 mg pro Tag",
        "letzte stabile Phase 48 h (von 24 h bis 72 h nach dem Start)",
        "letzter Wert 3 (Reduktion 62.5 %)",
        "RESPONDER",
        "Berechnungsblatt für das Implantat",
        "Vorgeschlagene Anfangsdosis 0.5 mg pro Tag",
        "NICHT BESTÄTIGT",
        "Programm beim Start",
        "Dosisänderungen",
        "Okklusion (hoch)",
        "Unterbrechungen der Abgabe",
        "keine Stromversorgung",
        "Juckreiz, leicht",
        "Nebenwirkungen",
        "Entscheidung",
        "Seite 2 von 2",
        "SIMULIERTE TESTPHASE",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
    // Words with umlauts and ß, whole: no letter lost or replaced.
    for word in ["gewährt", "Dosisänderungen", "BESTÄTIGT", "für"] {
        assert!(text.contains(word), "{word:?} not in:\n{text}");
    }
    assert!(!text.contains('?'), "a character WinAnsi lacks:\n{text}");
    for english in ["Key figures", "Dose changes", "page 2 of 2", "per day"] {
        assert!(
            !text.contains(english),
            "{english:?} left in English:\n{text}"
        );
    }

    // The same figures as in English.
    let english = pdftotext(&export(&copy, &d.join("en"), "pdf", Paper::A4, true).unwrap()[0]);
    let figures = |t: &str| -> Vec<String> {
        t.split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
            .map(str::to_owned)
            .collect()
    };
    let (mut de, mut en) = (figures(&text), figures(&english));
    de.sort();
    en.sort();
    assert_eq!(de, en, "the German PDF has the English one's figures");
}

/// `titra export --draft` of the newest trial in `db` into `out` as `format`, with one more
/// option and its file (`--protocol`, `--hardware`) if given.
fn export_command(
    db: &Path,
    out: &Path,
    format: &str,
    option: Option<(&str, &Path)>,
) -> std::process::Output {
    let mut args = vec![
        "export",
        "--db",
        db.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--format",
        format,
        "--draft",
    ];
    if let Some((name, file)) = option {
        args.extend([name, file.to_str().unwrap()]);
    }
    titra(&args)
}

/// The site chooses the summary's language: `titra export` with a protocol that says
/// `language = "de"` writes the German PDF; with the built-in one (English) the English one.
#[test]
fn the_sites_protocol_chooses_the_language_of_the_exported_summary() {
    let d = dir("site-language");
    let db = simulated_log("continuous-morphine-pca.toml", &d);
    let protocol = d.join("protocol-de.toml");
    let built_in = include_str!("../../config/protocol.toml");
    assert!(built_in.contains("\nlanguage = \"en\"\n"));
    std::fs::write(
        &protocol,
        built_in.replace("\nlanguage = \"en\"\n", "\nlanguage = \"de\"\n"),
    )
    .unwrap();
    let run = |out: &Path, site: Option<&Path>| {
        let o = export_command(&db, out, "pdf", site.map(|p| ("--protocol", p)));
        assert!(o.status.success(), "{o:?}");
        let pdf = std::fs::read_dir(out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "pdf"))
            .unwrap();
        pdftotext(&pdf)
    };
    let german = run(&d.join("de"), Some(&protocol));
    assert!(german.contains("Zusammenfassung der Testphase"), "{german}");
    assert!(
        german.contains("Berechnungsblatt für das Implantat"),
        "{german}"
    );
    let english = run(&d.join("en"), None);
    assert!(
        !english.contains("Zusammenfassung der Testphase"),
        "{english}"
    );
    assert!(english.contains("Trial summary"), "{english}");
}

/// `titra export --format hl7` (issue 23): the trial's DEC observations, one a minute and at each
/// change, named by the hardware profile's `[integration]`, read by hl7apy strictly and the IHE
/// rules (tests/hl7/check_pcd.py); without the table the export says what is missing.
#[test]
fn the_hl7_export_writes_the_trials_observations_that_hl7apy_reads() {
    let d = dir("hl7");
    let db = simulated_log("single-shot-morphine.toml", &d);
    let run = |hardware: Option<&Path>, out: &Path| {
        export_command(&db, out, "hl7", hardware.map(|h| ("--hardware", h)))
    };
    // Without [integration]: refused, by name.
    let refused = run(None, &d.join("none"));
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(
        text_of(&refused.stderr).contains("no [integration] table"),
        "{}",
        text_of(&refused.stderr)
    );
    let hardware = d.join("hardware.toml");
    std::fs::write(
        &hardware,
        format!(
            "{}\n[integration]\neui64 = \"b827ebfffe123456\"\nfacility = \"WARD7\"\n",
            titra::input::hardware::BUILT_IN_HARDWARE
        ),
    )
    .unwrap();
    let out = d.join("out");
    let done = run(Some(&hardware), &out);
    assert!(done.status.success(), "{done:?}");
    let file = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("_pcd.hl7"))
        .unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    let messages = text.lines().count();
    // A minute apart from the start of delivery to the end of the trial, and the changes.
    assert!(messages > 60, "{messages} messages");
    assert!(text.starts_with("MSH|^~\\&|TITRA^B827EBFFFE123456^EUI-64|WARD7|"));
    let checked = Command::new("python3")
        .arg(crate::common::repository_path("tests/hl7/check_pcd.py"))
        // hl7apy reads one message in 20 and the last (each takes it about 30 ms); the IHE
        // rules are checked on every one.
        .args(["--hl7apy-every", "20"])
        .arg(&file)
        .output()
        .unwrap();
    let said = text_of(&checked.stdout);
    assert!(
        checked.status.success(),
        "{said}{}",
        text_of(&checked.stderr)
    );
    assert_eq!(said.matches(" valid").count(), messages, "{said}");
    assert!(
        said.matches("read by hl7apy").count() >= messages / 20,
        "{said}"
    );
    // A facility the messages cannot carry is refused when the profile is read.
    std::fs::write(
        &hardware,
        format!(
            "{}\n[integration]\neui64 = \"b827ebfffe123456\"\nfacility = \"WARD|7\"\n",
            titra::input::hardware::BUILT_IN_HARDWARE
        ),
    )
    .unwrap();
    let bad = run(Some(&hardware), &d.join("bad"));
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text_of(&bad.stderr).contains("integration.facility is \"WARD|7\""),
        "{}",
        text_of(&bad.stderr)
    );
}

/// The CSV is data (its words the trial log's): byte for byte the same whatever the site's
/// language, the patient's impression of change (PGIC) included.
#[test]
fn the_csv_is_the_same_in_every_language() {
    use titra::core::lang::{self, Language};
    let d = dir("csv-language");
    let db = simulated_log("baclofen-bolus.toml", &d);
    let copy = d.join("copy.db");
    std::fs::copy(&db, &copy).unwrap();
    let csv_of = |written: Vec<PathBuf>| {
        let path = written
            .into_iter()
            .find(|p| p.extension().is_some_and(|x| x == "csv"))
            .unwrap();
        std::fs::read_to_string(path).unwrap()
    };
    let german = csv_of(
        lang::with(Language::German, || {
            export(&db, &d.join("de"), "csv", Paper::A4, true)
        })
        .unwrap(),
    );
    let english = csv_of(export(&copy, &d.join("en"), "csv", Paper::A4, true).unwrap());
    assert!(
        english.contains(",pgic,"),
        "the scenario records a PGIC:\n{english}"
    );
    assert_eq!(german, english);
}
