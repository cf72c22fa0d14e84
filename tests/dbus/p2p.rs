//! `org.titra.Pump1` between the interface and the shared proxy over a peer-to-peer
//! `UnixStream::pair()` link (no bus daemon), in virtual time: methods, properties, signals and
//! every typed error; refused calls change nothing.

use futures_util::StreamExt;
use titra::core::units::{Duration, Timestamp};
use titra::service::pump::PumpService;

use crate::common::daemon::{FakeWall, logged_service, logged_service_with_library};
use crate::common::p2p::{PROGRAM, Pump, error_of, pump, pump_with};
use crate::common::{
    CLINICIAN, NURSE, SECOND_NURSE, TempDir, assert_valid_summary, change_concentration, h, sqlite3,
};

#[tokio::test]
async fn a_trial_through_the_proxy_with_signals_and_properties() {
    let p = pump().await;
    assert_eq!(p.proxy.pump_state().await.unwrap(), "idle");
    assert!(p.proxy.simulated().await.unwrap());
    let mut decisions = p.proxy.receive_bolus_decision().await.unwrap();
    let mut raised = p.proxy.receive_alarm_raised().await.unwrap();
    let mut states = p.proxy.receive_state_changed().await.unwrap();

    p.running().await;
    // Programmed → verified → priming → running, each announced.
    let mut seen = Vec::new();
    for _ in 0..4 {
        let s = states.next().await.unwrap();
        seen.push(s.args().unwrap().to().to_string());
    }
    assert_eq!(seen, ["programmed", "verified", "priming", "running"]);
    p.run_to_with_checks(h(1.0)).await;
    assert_eq!(p.proxy.pump_state().await.unwrap(), "running");
    assert_eq!(p.proxy.drug().await.unwrap(), "morphine");
    assert_eq!(p.proxy.basal_per_day().await.unwrap(), "1 mg/day");
    assert_eq!(p.proxy.next_bolus().await.unwrap(), "now");

    // The patient's press needs no login.
    assert_eq!(
        p.proxy.request_bolus().await.unwrap(),
        "Bolus of 0.05 mg started."
    );
    let d = decisions.next().await.unwrap();
    assert!(d.args().unwrap().granted);
    // A minute in, the dose is under way and the status says how far (the patient screen's
    // "Your dose is being given").
    p.run_to(h(1.0) + Duration::from_mins(1)).await;
    let under_way = p.status().await.bolus_under_way.expect("under way");
    assert!(under_way.patient);
    assert_eq!(under_way.dose, "50 mcg");
    assert!((1..100).contains(&under_way.percent), "{under_way:?}");
    p.run_to_with_checks(h(1.5)).await;
    assert_eq!(p.status().await.bolus_under_way, None, "given by now");
    let (name, message) = error_of(p.proxy.request_bolus().await);
    assert_eq!(name, "org.titra.Pump1.Error.LockoutActive");
    assert!(
        message.contains("Next dose available in 30 min."),
        "{message}"
    );
    let d = decisions.next().await.unwrap();
    let args = d.args().unwrap();
    assert!(!args.granted);
    assert_eq!(args.available_at_ms, 2 * 3_600_000);

    // A blocked line: HIGH alarm, signalled and shown.
    p.proxy.inject_fault("occlusion", true).await.unwrap();
    p.run_to_with_checks(h(3.0)).await;
    let a = raised.next().await.unwrap();
    let args = a.args().unwrap();
    assert_eq!((args.kind(), args.priority()), (&"occlusion", &"high"));
    assert_eq!(p.proxy.pump_state().await.unwrap(), "alarm");
    // Hours passed: the nurse's session ended long ago (3 minutes idle); she logs in again.
    let nurse = p.login(NURSE).await;
    let alarms = p.proxy.active_alarms().await.unwrap();
    assert_eq!(alarms[0].0, "occlusion");
    assert_eq!(p.proxy.silence_alarms(&nurse, 0).await.unwrap(), 120);
    assert_eq!(
        p.proxy.silence_alarms(&nurse, 3600).await.unwrap(),
        600,
        "at most 10 minutes"
    );
    p.proxy.inject_fault("occlusion", false).await.unwrap();
    p.proxy.acknowledge_alarms(&nurse).await.unwrap();
    p.proxy.resume(&nurse).await.unwrap();
    assert_eq!(p.proxy.pump_state().await.unwrap(), "running");

    // Titration by a clinician with a second person's check: old and new side by side.
    let clinician = p.login(CLINICIAN).await;
    let (old, new) = p
        .proxy
        .change_basal(&clinician, "2 mg/day", false, NURSE.id, NURSE.pin)
        .await
        .unwrap();
    assert_eq!((old.as_str(), new.as_str()), ("1 mg/day", "2 mg/day"));
    p.proxy.record_pain(4).await.unwrap();
    p.proxy
        .record_side_effect("pruritus", "mild")
        .await
        .unwrap();
    p.proxy.record_sedation(&nurse, 1).await.unwrap();
    p.proxy
        .record_vitals(&nurse, 14, 72, 97, 0.0)
        .await
        .unwrap();
    p.run_to_with_checks(h(6.0)).await;
    let clinician = p.login(CLINICIAN).await;
    p.proxy.end_trial(&clinician).await.unwrap();
    let summary: serde_json::Value =
        serde_json::from_str(&p.proxy.export_summary(&clinician).await.unwrap()).unwrap();
    assert_eq!(summary["pca"]["granted"], 1);
    assert_eq!(summary["pca"]["denied"], 1);
    assert_eq!(summary["pain"]["final"], 4);
    assert_eq!(summary["alarms"][0]["kind"], "occlusion");
    assert_eq!(summary["simulated"], true);
}

#[tokio::test]
async fn calls_without_the_right_login_are_refused_and_change_nothing() {
    let p = pump().await;
    let (name, message) = error_of(
        p.proxy
            .start_trial(
                "no-token",
                PROGRAM,
                false,
                SECOND_NURSE.id,
                SECOND_NURSE.pin,
            )
            .await,
    );
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
    assert!(message.contains("log in"), "{message}");
    assert_eq!(p.proxy.pump_state().await.unwrap(), "idle");
    let nurse = p.login(NURSE).await;
    // The second check must be another person.
    let (name, message) = error_of(
        p.proxy
            .start_trial(&nurse, PROGRAM, false, NURSE.id, NURSE.pin)
            .await,
    );
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
    assert!(message.contains("another nurse or clinician"), "{message}");
    assert_eq!(p.proxy.pump_state().await.unwrap(), "idle");
    p.proxy
        .start_trial(&nurse, PROGRAM, false, SECOND_NURSE.id, SECOND_NURSE.pin)
        .await
        .unwrap();
    // Only a clinician titrates or gives a clinician bolus.
    let (name, _) = error_of(
        p.proxy
            .clinician_bolus(&nurse, "0.1 mg", false, CLINICIAN.id, CLINICIAN.pin)
            .await,
    );
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
    let (name, _) = error_of(
        p.proxy
            .change_basal(&nurse, "2 mg/day", false, CLINICIAN.id, CLINICIAN.pin)
            .await,
    );
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
    // A wrong PIN counts toward that user's lock.
    let (name, message) = error_of(p.proxy.login(NURSE.id, "000000").await);
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
    assert!(message.contains("2 more wrong PIN(s)"), "{message}");
    // Sessions end after 3 minutes idle.
    p.clock.set(Timestamp::ORIGIN + Duration::from_mins(4));
    let (name, _) = error_of(p.proxy.prime(&nurse).await);
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
    assert_eq!(p.proxy.pump_state().await.unwrap(), "verified");
}

#[tokio::test]
async fn limits_bad_input_and_wrong_states_are_typed_errors() {
    let p = pump().await;
    let nurse = p.login(NURSE).await;
    let (name, _) = error_of(p.proxy.start(&nurse).await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    let (name, _) = error_of(p.proxy.request_bolus().await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");

    let (name, message) = error_of(
        p.proxy
            .start_trial(
                &nurse,
                &PROGRAM.replace("1 mg/day", "50 mg/day"),
                true,
                SECOND_NURSE.id,
                SECOND_NURSE.pin,
            )
            .await,
    );
    assert_eq!(name, "org.titra.Pump1.Error.LimitExceeded");
    assert!(
        message.starts_with("program.basal: Basal rate 50 mg/day"),
        "{message}"
    );
    assert!(message.contains("hard maximum of 20 mg/day"), "{message}");
    assert_eq!(p.proxy.pump_state().await.unwrap(), "idle");

    let (name, message) = error_of(
        p.proxy
            .start_trial(
                &nurse,
                &PROGRAM.replace("1 mg/day", "1 mg/kg"),
                false,
                SECOND_NURSE.id,
                SECOND_NURSE.pin,
            )
            .await,
    );
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert!(
        message.contains("program.basal: \"1 mg/kg\": unknown unit"),
        "{message}"
    );

    let (name, message) = error_of(
        p.proxy
            .start_trial(
                &nurse,
                &PROGRAM.replace("1 mg/day", "16 mg/day"),
                false,
                SECOND_NURSE.id,
                SECOND_NURSE.pin,
            )
            .await,
    );
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert!(message.contains("need confirmation"), "{message}");

    let (class, findings) = p
        .proxy
        .validate_program(&PROGRAM.replace("1 mg/day", "16 mg/day"))
        .await
        .unwrap();
    assert_eq!(class, "soft");
    assert!(
        findings
            .iter()
            .any(|f| f.field == "program.basal" && f.class == "soft")
    );

    p.running().await;
    let (name, message) = error_of(p.proxy.record_pain(11).await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert!(message.contains("11 is outside 0 to 10"), "{message}");
    let (name, _) = error_of(p.proxy.record_side_effect("hiccups", "mild").await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    let clinician = p.login(CLINICIAN).await;
    let (name, message) = error_of(
        p.proxy
            .change_basal(&clinician, "25 mg/day", true, NURSE.id, NURSE.pin)
            .await,
    );
    assert_eq!(name, "org.titra.Pump1.Error.LimitExceeded");
    assert!(message.contains("hard maximum"), "{message}");
    assert_eq!(p.proxy.basal_per_day().await.unwrap(), "1 mg/day");
    let (name, _) = error_of(
        p.proxy
            .clinician_bolus(&clinician, "5 mg", true, NURSE.id, NURSE.pin)
            .await,
    );
    assert_eq!(name, "org.titra.Pump1.Error.LimitExceeded");
    let (name, _) = error_of(p.proxy.inject_fault("gremlins", true).await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");

    // A reservoir is changed only while paused.
    let nurse = p.login(NURSE).await;
    let (name, message) = error_of(p.proxy.change_reservoir(&nurse, "10 mL").await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    assert!(message.contains("pause delivery first"), "{message}");
    p.proxy.pause(&nurse).await.unwrap();
    let (name, _) = error_of(p.proxy.change_reservoir(&nurse, "10 mg").await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    p.proxy.change_reservoir(&nurse, "10 mL").await.unwrap();
    p.proxy.resume(&nurse).await.unwrap();
    let status: serde_json::Value =
        serde_json::from_str(&p.proxy.status_json().await.unwrap()).unwrap();
    assert_eq!(status["reservoir_remaining"], "10 mL");
    // After logging out, the token is worthless.
    p.proxy.logout(&nurse).await.unwrap();
    let (name, _) = error_of(p.proxy.pause(&nurse).await);
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
}

#[tokio::test]
async fn the_wizard_and_the_clinician_screens_get_what_they_show() {
    let p = pump().await;
    // The library in force, as the wizard offers it.
    let choices = p.proxy.library_choices().await.unwrap();
    assert!(choices.iter().any(|c| c.drug == "morphine"
        && c.route == "intrathecal"
        && c.concentration == "1 mg/mL"
        && c.unit == "mg"));
    assert!(
        choices.iter().all(|c| c.route != "intravenous"),
        "only what the library lists"
    );
    // Validation includes the pump's own limits: a syringe larger than the mechanism's.
    let (class, findings) = p
        .proxy
        .validate_program(&PROGRAM.replace("20 mL", "500 mL"))
        .await
        .unwrap();
    assert_eq!(class, "hard");
    assert!(
        findings.iter().any(|f| f.field == "program.reservoir"
            && f.class == "hard"
            && f.message.contains("syringe holds")),
        "{findings:?}"
    );

    let nurse = p.running().await;
    // The clinician sees old and new side by side before confirming; nothing changes yet.
    let (class, findings, old, new) = p.proxy.check_basal("2 mg/day").await.unwrap();
    assert_eq!(class, "ok", "{findings:?}");
    assert_eq!(old, "1 mg/day (0.0417 mg/h, 0.0417 mL/h)");
    assert_eq!(new, "2 mg/day (0.0833 mg/h, 0.0833 mL/h)");
    assert_eq!(p.proxy.basal_per_day().await.unwrap(), "1 mg/day");
    let (class, findings, ..) = p.proxy.check_basal("16 mg/day").await.unwrap();
    assert_eq!(class, "soft");
    assert!(findings.iter().any(|f| f.class == "soft"));
    let (class, ..) = p.proxy.check_basal("30 mg/day").await.unwrap();
    assert_eq!(class, "hard");
    let (name, message) = error_of(p.proxy.check_basal("2 mg").await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert!(message.contains("basal"), "{message}");

    // The assessment is the clinician's, with a known outcome and a bounded note.
    let (name, _) = error_of(p.proxy.record_assessment(&nurse, "success", "").await);
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
    let clinician = p.login(CLINICIAN).await;
    let (name, message) = error_of(p.proxy.record_assessment(&clinician, "great", "").await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert!(message.contains("\"great\""), "{message}");
    let (name, message) = error_of(
        p.proxy
            .record_assessment(&clinician, "success", &"x".repeat(501))
            .await,
    );
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert!(message.contains("501 characters"), "{message}");
    p.proxy
        .record_assessment(&clinician, "success", "Pain 8 → 3 at 1 mg/day")
        .await
        .unwrap();
    p.proxy.end_trial(&clinician).await.unwrap();
    let service = p.shared.service.lock().await;
    let journal = service.engine().unwrap().journal();
    assert!(journal.iter().any(|r| matches!(
        r,
        titra::journal::Record::Assessment { outcome: titra::journal::Outcome::Success, note, name, .. }
            if note == "Pain 8 → 3 at 1 mg/day" && name == "Demo Clinician"
    )));
}

#[tokio::test]
async fn the_clinician_confirms_the_implant_dose_then_exports() {
    let p = pump().await;
    p.running().await;
    p.run_to(h(26.0)).await;
    let clinician = p.login(CLINICIAN).await;
    // Nothing leaves before a clinician confirmed the implant's starting dose.
    let (name, message) = error_of(p.proxy.export(&clinician, "pdf,json,csv", "a4").await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    assert!(
        message.contains("confirm the implant's starting dose"),
        "{message}"
    );
    // Pain 7 before the trial, 3 now: a response (at least 50 % less).
    p.proxy.record_pain(3).await.unwrap();
    let (lines, has_proposal, confirmed) = p.proxy.export_preview(&clinician).await.unwrap();
    assert!(has_proposal && !confirmed);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Rule: 50 % of the effective trial dose")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("The trial has not ended")),
        "{lines:?}"
    );
    // Not while the trial runs: the proposal of a running trial is not the trial's result.
    let (name, message) = error_of(p.proxy.confirm_implant_dose(&clinician, "").await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    assert!(message.contains("the trial has not ended"), "{message}");
    let nurse = p.login(NURSE).await;
    p.proxy.end_trial(&nurse).await.unwrap();
    // A nurse may not confirm it; a dose above the library's hard maximum is refused, naming
    // the field, the value, the limit and its source.
    let (name, _) = error_of(p.proxy.confirm_implant_dose(&nurse, "").await);
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
    let (name, message) = error_of(p.proxy.confirm_implant_dose(&clinician, "25 mg/day").await);
    assert_eq!(name, "org.titra.Pump1.Error.LimitExceeded");
    assert!(
        message.starts_with("implant.dose: 25 mg/day is refused")
            && message.contains("limit: hard maximum of 20 mg/day; source: Infumorph label"),
        "{message}"
    );
    // Another dose than the proposal needs a written reason.
    let (name, message) = error_of(p.proxy.confirm_implant_dose(&clinician, "0.4 mg/day").await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert!(
        message.starts_with("reason: 0.4 mg/day is not the proposal of 0.5 mg/day"),
        "{message}"
    );
    // The rule's dose: half of the stable 1 mg/day, at the implant's 10 mg/mL.
    let (per_day, ml) = p.proxy.confirm_implant_dose(&clinician, "").await.unwrap();
    assert_eq!(per_day, "0.5 mg/day");
    assert_eq!(ml, "0.05 mL/day");
    let (lines, _, confirmed) = p.proxy.export_preview(&clinician).await.unwrap();
    assert!(confirmed);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Confirmed by Demo Clinician")),
        "{lines:?}"
    );
    let (name, _) = error_of(p.proxy.export(&clinician, "pdf,doc", "a4").await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    let (to, files) = p
        .proxy
        .export(&clinician, "pdf,json", "letter")
        .await
        .unwrap();
    assert_eq!(
        files,
        [
            "MRN-DBUS_2000-01-01_summary.pdf",
            "MRN-DBUS_2000-01-01_summary.json",
            "MRN-DBUS_2000-01-01_manifest.sha256"
        ]
    );
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(std::path::Path::new(&to).join(&files[1])).unwrap(),
    )
    .unwrap();
    assert_eq!(json["implant"]["confirmed"], true);
    assert_eq!(json["implant"]["mg_per_day"], 0.5);
    assert_eq!(json["implant"]["confirmed_by"], "Demo Clinician");
    let service = p.shared.service.lock().await;
    assert!(service.engine().unwrap().journal().iter().any(|r| matches!(
        r,
        titra::journal::Record::Exported { files, .. } if files.len() == 3
    )));
}

/// `p`'s trial run half an hour, ended by the nurse, and its implant's dose confirmed by the
/// clinician (another dose than the proposal, with a reason); the clinician's token.
async fn ended_and_confirmed(p: Pump) -> (Pump, String) {
    p.running().await;
    p.run_to(h(0.5)).await;
    let nurse = p.login(NURSE).await;
    p.proxy.end_trial(&nurse).await.unwrap();
    let clinician = p.login(CLINICIAN).await;
    p.proxy
        .confirm_implant_dose_with_reason(&clinician, "0.5 mg/day", "a short bench trial")
        .await
        .unwrap();
    (p, clinician)
}

#[tokio::test]
async fn each_export_goes_to_a_new_folder_and_never_through_a_link() {
    let dir = TempDir::new("p2p-export-fresh");
    let mut service = logged_service(&dir, Timestamp::ORIGIN);
    // 2026-11-30T14:05:09Z.
    let wall = FakeWall::at(1_796_047_509_000);
    service.set_wall_clock(Box::new(wall.clone()));
    let (p, clinician) = ended_and_confirmed(pump_with(service, Timestamp::ORIGIN).await).await;
    let exports = || async {
        let service = p.shared.service.lock().await;
        service
            .engine()
            .unwrap()
            .journal()
            .iter()
            .filter(|r| matches!(r, titra::journal::Record::Exported { .. }))
            .count()
    };

    // The files go to a folder of their own, named by patient, the trial's first day and the
    // time of the export.
    let (to, files) = p.proxy.export(&clinician, "json", "a4").await.unwrap();
    let to = std::path::PathBuf::from(to);
    let base = crate::common::p2p::export_dir();
    assert_eq!(to.parent(), Some(base.as_path()));
    let name = to.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("MRN-DBUS_"), "{name}");
    assert!(name.ends_with("_export_20261130T140509Z"), "{name}");
    assert!(to.join(&files[0]).is_file());
    assert_eq!(exports().await, 1);

    // Again at the same second: the folder is there, so nothing is written and nothing logged.
    let (error, message) = error_of(p.proxy.export(&clinician, "json", "a4").await);
    assert_eq!(error, "org.titra.Pump1.Error.WrongState");
    assert_eq!(
        message,
        format!(
            "The USB stick already has a folder named \"{name}\" where the export writes, so nothing was written there. Press Export again, or use another stick."
        )
    );
    assert_eq!(exports().await, 1);

    // A link where the next export's folder goes, to the pump's own data (its trial log):
    // refused, and nothing there is touched.
    wall.go_back(60_000);
    let next = name.replace("T140509Z", "T140409Z");
    std::os::unix::fs::symlink(&*dir, base.join(&next)).unwrap();
    let listing = || {
        let mut names: Vec<_> = std::fs::read_dir(&*dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let (before, log_before) = (listing(), std::fs::read(dir.trial_log()).unwrap());
    let (error, message) = error_of(p.proxy.export(&clinician, "pdf,json,csv", "a4").await);
    assert_eq!(error, "org.titra.Pump1.Error.WrongState");
    assert_eq!(
        message,
        format!(
            "The USB stick has a link named \"{next}\" where the export writes. The pump never writes through a link on a stick, so nothing was written. Use another stick."
        )
    );
    assert_eq!(listing(), before);
    assert_eq!(std::fs::read(dir.trial_log()).unwrap(), log_before);
    assert_eq!(exports().await, 1);
}

/// The Export screen asks the pump which formats to write: the FHIR Bundle is among them when
/// the site names its patients' identifier system, and not otherwise (asked for by name, it is
/// refused, naming what the profile lacks, and nothing is written or logged).
#[tokio::test]
async fn the_export_screen_writes_the_fhir_bundle_when_the_site_names_its_patients() {
    use titra::input::hardware::{HardwareConfig, IntegrationConfig};

    // A site with no [integration]: PDF, JSON and CSV.
    let plain = TempDir::new("p2p-export-plain");
    let (p, clinician) = ended_and_confirmed(
        pump_with(logged_service(&plain, Timestamp::ORIGIN), Timestamp::ORIGIN).await,
    )
    .await;
    assert_eq!(
        p.proxy.export_formats().await.unwrap(),
        ["pdf", "json", "csv"]
    );
    let (error, message) = error_of(p.proxy.export(&clinician, "pdf,fhir", "a4").await);
    assert_eq!(error, "org.titra.Pump1.Error.InvalidInput");
    assert!(message.contains("no [integration] table"), "{message}");
    let exported = p
        .shared
        .service
        .lock()
        .await
        .engine()
        .unwrap()
        .journal()
        .iter()
        .filter(|r| matches!(r, titra::journal::Record::Exported { .. }))
        .count();
    assert_eq!(exported, 0);
    drop(p);

    // A site naming its patient identifiers: the screen's formats include FHIR, and the Bundle
    // written says whose record it is.
    let site = TempDir::new("p2p-export-fhir");
    let mut cfg = HardwareConfig::built_in().unwrap();
    cfg.integration = Some(IntegrationConfig {
        eui64: "0012A3FFFE4B5C6D".to_owned(),
        facility: "WARD7".to_owned(),
        mllp: Vec::new(),
        backlog_alarm: 30,
        patient_system: Some("urn:oid:1.2.3.4.5.6".to_owned()),
        fhir: Vec::new(),
    });
    let (library, _) = titra::input::check::load_library(None).unwrap();
    let service =
        crate::common::daemon::logged_service_with_config(&site, Timestamp::ORIGIN, library, cfg);
    let (p, clinician) = ended_and_confirmed(pump_with(service, Timestamp::ORIGIN).await).await;
    let formats = p.proxy.export_formats().await.unwrap();
    assert_eq!(formats, ["pdf", "json", "csv", "fhir"]);
    let (to, files) = p
        .proxy
        .export(&clinician, &formats.join(","), "a4")
        .await
        .unwrap();
    let fhir = files
        .iter()
        .find(|f| f.ends_with("_fhir.json"))
        .unwrap_or_else(|| panic!("no FHIR file in {files:?}"));
    let bundle: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(std::path::Path::new(&to).join(fhir)).unwrap(),
    )
    .unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "transaction");
    let patient = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Patient")
        .unwrap();
    assert_eq!(
        patient["resource"]["identifier"][0]["system"],
        "urn:oid:1.2.3.4.5.6"
    );
    assert_eq!(patient["resource"]["identifier"][0]["value"], "MRN-DBUS");
    // The manifest lists it with the other files.
    let manifest = files
        .iter()
        .find(|f| f.ends_with("_manifest.sha256"))
        .unwrap();
    let manifest = std::fs::read_to_string(std::path::Path::new(&to).join(manifest)).unwrap();
    assert!(manifest.contains(fhir.as_str()), "{manifest}");
}

// ---- the sedation interlock and missed checks -------------------------------------------------

const NOT_NOW: &str = "Not now: your nurse must check on you first.";

impl Pump {
    /// What the screens show, read fresh (not from the proxy's cache).
    async fn status(&self) -> titra::service::wire::Status {
        serde_json::from_str(&self.proxy.status_json().await.unwrap()).unwrap()
    }

    async fn alarms(&self) -> Vec<(String, String)> {
        self.status()
            .await
            .alarms
            .into_iter()
            .map(|a| (alarm_name(a.kind), a.priority.to_string()))
            .collect()
    }

    async fn summary(&self) -> serde_json::Value {
        let clinician = self.login(CLINICIAN).await;
        serde_json::from_str(&self.proxy.export_summary(&clinician).await.unwrap()).unwrap()
    }
}

/// Delivery is held and the patient refused with the reason (the state after a breach).
async fn assert_held(p: &Pump, from: Timestamp, to: Timestamp) {
    let before = p.status().await.delivered_total;
    p.run_to(to).await;
    let s = p.status().await;
    assert_eq!(s.state.to_string(), "alarm", "from {from} to {to}");
    assert_eq!(s.delivered_total, before, "nothing delivered while held");
    assert_eq!(s.next_bolus, "", "no patient bolus offered");
    assert!(
        s.alarms
            .iter()
            .any(|a| alarm_name(a.kind) == "sedation" && a.priority.to_string() == "high"),
        "{:?}",
        s.alarms
    );
    let (name, message) = error_of(p.proxy.request_bolus().await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    assert!(message.starts_with(NOT_NOW), "{message}");
}

#[tokio::test]
async fn a_stuck_button_on_the_cord_raises_a_medium_alarm_and_delivery_goes_on() {
    let p = pump().await;
    let mut raised = p.proxy.receive_alarm_raised().await.unwrap();
    p.running().await;
    p.run_to_with_checks(h(1.0)).await;
    p.proxy
        .inject_fault("controller_stuck", true)
        .await
        .unwrap();
    p.run_to_with_checks(h(1.5)).await;
    // Bounded: a signal that never comes fails the test instead of hanging it.
    let a = tokio::time::timeout(std::time::Duration::from_secs(60), raised.next())
        .await
        .expect("the stuck-button alarm is signalled")
        .unwrap();
    let args = a.args().unwrap();
    assert_eq!((args.kind(), args.priority()), (&"stuck_button", &"medium"));
    assert!(
        args.message()
            .starts_with("The bolus button on the cord is stuck")
    );
    // Delivery goes on, and the screen's button still works.
    assert_eq!(p.proxy.pump_state().await.unwrap(), "running");
    assert!(
        p.proxy
            .request_bolus()
            .await
            .unwrap()
            .starts_with("Bolus of")
    );
    // Acknowledging does not clear it while the button is stuck; freeing it does.
    let nurse = p.login(NURSE).await;
    p.proxy.acknowledge_alarms(&nurse).await.unwrap();
    let status: serde_json::Value =
        serde_json::from_str(&p.proxy.status_json().await.unwrap()).unwrap();
    assert!(
        status["alarms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "stuck_button"),
        "{status}"
    );
    p.proxy
        .inject_fault("controller_stuck", false)
        .await
        .unwrap();
    p.run_to_with_checks(h(2.0)).await;
    let status: serde_json::Value =
        serde_json::from_str(&p.proxy.status_json().await.unwrap()).unwrap();
    assert!(
        !status["alarms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "stuck_button"),
        "{status}"
    );
    let summary = p.summary().await;
    assert_eq!(summary["alarms"][0]["kind"], "stuck_button");
}

#[tokio::test]
async fn a_poss_of_3_stops_delivery_with_a_high_alarm_and_refuses_the_patient_with_the_reason() {
    let p = pump().await;
    let mut raised = p.proxy.receive_alarm_raised().await.unwrap();
    let mut decisions = p.proxy.receive_bolus_decision().await.unwrap();
    p.running().await;
    p.run_to(h(1.0)).await;
    let nurse = p.login(NURSE).await;
    p.proxy.record_sedation(&nurse, 3).await.unwrap();
    let a = raised.next().await.unwrap();
    let args = a.args().unwrap();
    assert_eq!((args.kind(), args.priority()), (&"sedation", &"high"));
    assert_eq!(
        *args.message(),
        "Sedation or slow breathing — delivery stopped. Call the clinician to review the patient."
    );
    assert_held(&p, h(1.0), h(3.0)).await;
    let d = decisions.next().await.unwrap();
    let args = d.args().unwrap();
    assert!(!args.granted);
    assert!(args.message.starts_with(NOT_NOW), "{}", args.message);
    // Logged as a denied request with its reason, and the alarm is in the summary.
    let summary = p.summary().await;
    assert_eq!(summary["pca"]["denied"], 1);
    assert_eq!(summary["pca"]["denied_by_reason"]["sedation_hold"], 1);
    assert_eq!(summary["alarms"][0]["kind"], "sedation");
    assert_eq!(summary["alarms"][0]["priority"], "high");
    assert_eq!(summary["observations"]["holds"][0]["reason"], "POSS 3");
}

#[tokio::test]
async fn a_respiratory_rate_of_9_stops_delivery_and_refuses_the_patient_too() {
    let p = pump().await;
    p.running().await;
    p.run_to(h(1.0)).await;
    let nurse = p.login(NURSE).await;
    p.proxy.record_vitals(&nurse, 9, 70, 95, 0.0).await.unwrap();
    assert_held(&p, h(1.0), h(3.0)).await;
    let summary = p.summary().await;
    assert_eq!(
        summary["observations"]["holds"][0]["reason"],
        "respiratory rate 9/min"
    );
    assert_eq!(summary["pca"]["denied_by_reason"]["sedation_hold"], 1);
}

#[tokio::test]
async fn a_poss_of_2_and_a_respiratory_rate_of_10_change_nothing() {
    let p = pump().await;
    p.running().await;
    p.run_to(h(1.0)).await;
    let nurse = p.login(NURSE).await;
    p.proxy.record_sedation(&nurse, 2).await.unwrap();
    p.proxy
        .record_vitals(&nurse, 10, 70, 95, 0.0)
        .await
        .unwrap();
    let before = p.status().await.delivered_total;
    p.run_to(h(2.0)).await;
    let s = p.status().await;
    assert_eq!(s.state.to_string(), "running");
    assert!(s.alarms.is_empty(), "{:?}", s.alarms);
    assert_ne!(s.delivered_total, before, "the basal runs on");
    assert_eq!(
        p.proxy.request_bolus().await.unwrap(),
        "Bolus of 0.05 mg started."
    );
}

#[tokio::test]
async fn acknowledging_the_alarm_does_not_lift_the_hold() {
    let p = pump().await;
    p.running().await;
    p.run_to(h(1.0)).await;
    let nurse = p.login(NURSE).await;
    p.proxy.record_sedation(&nurse, 4).await.unwrap();
    p.proxy.acknowledge_alarms(&nurse).await.unwrap();
    assert_held(&p, h(1.0), h(1.5)).await;
    let nurse = p.login(NURSE).await;
    p.proxy.acknowledge_alarms(&nurse).await.unwrap();
    let (name, message) = error_of(p.proxy.resume(&nurse).await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    assert!(
        message.contains("a clinician must review the patient"),
        "{message}"
    );
    // Pausing and resuming is no way around it either.
    p.proxy.pause(&nurse).await.unwrap();
    let (name, _) = error_of(p.proxy.resume(&nurse).await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    let s = p.status().await;
    assert_eq!(s.state.to_string(), "paused");
    assert!(s.alarms.iter().any(|a| alarm_name(a.kind) == "sedation"));
    let (_, message) = error_of(p.proxy.request_bolus().await);
    assert!(message.starts_with(NOT_NOW), "{message}");
}

#[tokio::test]
async fn a_clinicians_review_lifts_the_hold_and_the_nurse_resumes() {
    let p = pump().await;
    p.running().await;
    p.run_to_with_checks(h(1.0)).await;
    let nurse = p.login(NURSE).await;
    p.proxy.record_sedation(&nurse, 3).await.unwrap();
    p.run_to_with_checks(h(1.5)).await;
    let nurse = p.login(NURSE).await;
    let clinician = p.login(CLINICIAN).await;
    // Only a clinician reviews, and writes what was found.
    let (name, _) = error_of(p.proxy.review_sedation(&nurse, "looked fine").await);
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
    let (name, message) = error_of(p.proxy.review_sedation(&clinician, "  ").await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert!(message.starts_with("note:"), "{message}");
    assert_eq!(p.status().await.state.to_string(), "alarm");
    p.proxy
        .review_sedation(&clinician, "Rouses to voice, RR 12. Basal halved.")
        .await
        .unwrap();
    p.proxy
        .change_basal(&clinician, "0.5 mg/day", false, NURSE.id, NURSE.pin)
        .await
        .unwrap();
    // The review lifts the hold; delivery waits for the nurse.
    assert_eq!(p.status().await.state.to_string(), "alarm");
    p.proxy.resume(&nurse).await.unwrap();
    let s = p.status().await;
    assert_eq!(s.state.to_string(), "running");
    assert!(s.alarms.is_empty(), "{:?}", s.alarms);
    let before = s.delivered_total;
    p.run_to_with_checks(h(2.5)).await;
    assert_ne!(p.status().await.delivered_total, before);
    assert_eq!(
        p.proxy.request_bolus().await.unwrap(),
        "Bolus of 0.05 mg started."
    );
    // Nothing is held now: another review is refused.
    let clinician = p.login(CLINICIAN).await;
    let (name, message) = error_of(p.proxy.review_sedation(&clinician, "again").await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    assert!(message.contains("no sedation"), "{message}");
    let summary = p.summary().await;
    let hold = &summary["observations"]["holds"][0];
    assert_eq!(hold["at_h"], 1.0);
    assert_eq!(hold["reviewed_at_h"], 1.5);
    assert_eq!(hold["reviewed_by"], "Demo Clinician");
    assert_eq!(hold["note"], "Rouses to voice, RR 12. Basal halved.");
    assert_eq!(summary["alarms"][0]["cleared_at_h"], 1.5);
    let service = p.shared.service.lock().await;
    assert!(service.engine().unwrap().journal().iter().any(|r| matches!(
        r,
        titra::journal::Record::UserAction { action, name, .. }
            if action == "review the sedation hold" && name == "Demo Clinician"
    )));
}

#[tokio::test]
async fn the_hold_survives_a_restart_of_the_daemon() {
    let dir = TempDir::new("sedation-restart");
    let p = pump_with(logged_service(&dir, Timestamp::ORIGIN), Timestamp::ORIGIN).await;
    p.running().await;
    p.run_to(h(1.0)).await;
    let nurse = p.login(NURSE).await;
    p.proxy.record_sedation(&nurse, 3).await.unwrap();
    p.proxy.acknowledge_alarms(&nurse).await.unwrap();
    p.run_to(h(1.2)).await;
    drop(p);

    // The daemon restarts: its clock continues from the log's last record.
    let back = PumpService::resume_time(&dir.trial_log()).unwrap();
    assert!(back >= h(1.0), "{back}");
    let p = pump_with(logged_service(&dir, back), back).await;
    let s = p.status().await;
    assert_eq!(s.state.to_string(), "alarm");
    let kinds: Vec<String> = s.alarms.iter().map(|a| alarm_name(a.kind)).collect();
    assert!(kinds.contains(&"sedation".to_owned()), "{kinds:?}");
    assert!(kinds.contains(&"power_restored".to_owned()), "{kinds:?}");
    // The nurse checks the patient after the power came back: not enough.
    let nurse = p.login(NURSE).await;
    p.proxy.acknowledge_alarms(&nurse).await.unwrap();
    let (name, message) = error_of(p.proxy.resume(&nurse).await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    assert!(message.contains("a clinician must review"), "{message}");
    assert_held(&p, back, back + Duration::from_hours(1)).await;
    let clinician = p.login(CLINICIAN).await;
    p.proxy
        .review_sedation(&clinician, "Reviewed after the restart; awake, RR 14.")
        .await
        .unwrap();
    let nurse = p.login(NURSE).await;
    p.proxy.resume(&nurse).await.unwrap();
    assert_eq!(p.status().await.state.to_string(), "running");
}

const CHECKED: &str = r#"
[trial]
patient = "MRN-CHECKS"
route = "intrathecal"
kind = "continuous"
duration = "3d"

[program]
drug = "morphine"
concentration = "1 mg/mL"
reservoir = "20 mL"
basal = "1 mg/day"
pca = { dose = "0.05 mg", lockout = "30min", max_per_hour = 2 }
observations = { every = "1h", for = "24h", then_every = "4h" }
"#;

/// A pump with the shipped drug library, which gives intrathecal morphine a default schedule of
/// checks (docs/clinical-sources.md), with its trial log in `dir`.
async fn pump_with_default_checks(dir: &TempDir) -> Pump {
    let text = std::fs::read_to_string(crate::common::repository_path("config/drug-library.toml"))
        .unwrap();
    let library = titra::core::library::DrugLibrary::from_toml_str(&text).unwrap();
    let mut service = logged_service_with_library(dir, Timestamp::ORIGIN, library);
    service.confirm_checklist_as_demo(true);
    pump_with(service, Timestamp::ORIGIN).await
}

/// `CHECKED` without a schedule of its own.
fn unchecked() -> String {
    CHECKED.replace("MRN-CHECKS", "MRN-DEFAULT-CHECKS").replace(
        "observations = { every = \"1h\", for = \"24h\", then_every = \"4h\" }\n",
        "",
    )
}

#[tokio::test]
async fn an_intrathecal_morphine_trial_without_a_schedule_asks_for_checks_by_the_librarys_default()
{
    // Delayed respiratory depression after neuraxial morphine: the labels ask for 24 h of
    // watching; the library's default (hourly for 24 h, then every 4 h) applies when the
    // program sets none, in the shipped library.
    let program = unchecked();
    assert!(!program.contains("observations"));
    let dir = TempDir::new("default-checks");
    let p = pump_with_default_checks(&dir).await;
    let nurse = p.primed(&program).await;
    p.proxy.start(&nurse).await.unwrap();
    p.run_to(h(1.0)).await;
    assert!(p.alarms().await.is_empty());
    p.run_to(h(1.0) + Duration::from_secs(1)).await;
    assert_eq!(
        p.alarms().await,
        [("observation_missed".to_owned(), "medium".to_owned())]
    );
    // A check (POSS and respiratory rate) clears it; the next is due an hour later.
    let nurse = p.login(NURSE).await;
    p.proxy.record_sedation(&nurse, 1).await.unwrap();
    p.proxy.record_vitals(&nurse, 14, 0, 0, 0.0).await.unwrap();
    assert!(p.alarms().await.is_empty());
    p.run_to(h(2.0)).await;
    assert!(p.alarms().await.is_empty());
    p.run_to(h(2.0) + Duration::from_secs(2)).await;
    assert_eq!(p.alarms().await.len(), 1);
    let summary = p.summary().await;
    assert_eq!(
        summary["observations"]["schedule"],
        "sedation and respiratory rate every 1h for 1d after the start, each bolus and each dose increase, then every 4h"
    );
}

#[tokio::test]
async fn fewer_checks_than_the_default_need_a_clinician_and_a_reason() {
    let looser = unchecked().replace(
        "max_per_hour = 2 }\n",
        "max_per_hour = 2 }\nobservations = { every = \"2h\", for = \"24h\", then_every = \"4h\" }\n",
    );
    let dir = TempDir::new("looser-checks");
    let p = pump_with_default_checks(&dir).await;
    let nurse = p.login(NURSE).await;
    let (name, message) = error_of(
        p.proxy
            .start_trial(&nurse, &looser, true, SECOND_NURSE.id, SECOND_NURSE.pin)
            .await,
    );
    assert_eq!(name, "org.titra.Pump1.Error.LimitExceeded");
    assert!(
        message.contains("need a clinician and a reason"),
        "{message}"
    );
    let with_reason = looser.replace(
        "then_every = \"4h\" }\n",
        "then_every = \"4h\" }\nobservations_reason = \"On a monitored bed with continuous oximetry\"\n",
    );
    let (name, message) = error_of(
        p.proxy
            .start_trial(
                &nurse,
                &with_reason,
                true,
                SECOND_NURSE.id,
                SECOND_NURSE.pin,
            )
            .await,
    );
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
    assert!(
        message.contains("only a clinician may start it"),
        "{message}"
    );
    let clinician = p.login(CLINICIAN).await;
    p.proxy
        .start_trial(&clinician, &with_reason, true, NURSE.id, NURSE.pin)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_missed_check_raises_an_alarm_and_escalates_when_the_next_is_missed_too() {
    let p = pump().await;
    let mut raised = p.proxy.receive_alarm_raised().await.unwrap();
    let nurse = p.primed(CHECKED).await;
    p.proxy.start(&nurse).await.unwrap();
    // Due at 1 h: on time until then.
    p.run_to(h(1.0)).await;
    assert!(p.alarms().await.is_empty());
    p.run_to(h(1.0) + Duration::from_secs(1)).await;
    assert_eq!(
        p.alarms().await,
        [("observation_missed".to_owned(), "medium".to_owned())]
    );
    let a = raised.next().await.unwrap();
    let args = a.args().unwrap();
    assert_eq!(
        (args.kind(), args.priority()),
        (&"observation_missed", &"medium")
    );
    // One missed check: the patient may still press.
    assert_eq!(
        p.proxy.request_bolus().await.unwrap(),
        "Bolus of 0.05 mg started."
    );
    // The 2 h check missed too: HIGH, announced again; the patient waits for a check; the basal
    // runs on.
    p.run_to(h(2.0)).await;
    assert_eq!(p.alarms().await[0].1, "medium");
    let before = p.status().await.delivered_total;
    p.run_to(h(2.0) + Duration::from_secs(1)).await;
    assert_eq!(
        p.alarms().await,
        [("observation_missed".to_owned(), "high".to_owned())]
    );
    let a = raised.next().await.unwrap();
    let args = a.args().unwrap();
    assert_eq!(
        (args.kind(), args.priority()),
        (&"observation_missed", &"high")
    );
    p.run_to(h(2.25)).await;
    let s = p.status().await;
    assert_eq!(s.state.to_string(), "running");
    assert_ne!(s.delivered_total, before, "the basal runs on");
    assert_eq!(s.next_bolus, "");
    let (name, message) = error_of(p.proxy.request_bolus().await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    assert!(message.starts_with(NOT_NOW), "{message}");
    assert!(message.contains("check is overdue"), "{message}");
    // A POSS alone is not a check; with the respiratory rate it is, and all is well again.
    let nurse = p.login(NURSE).await;
    p.proxy.record_sedation(&nurse, 1).await.unwrap();
    assert_eq!(p.alarms().await.len(), 1);
    p.proxy.record_vitals(&nurse, 14, 0, 0, 0.0).await.unwrap();
    assert!(p.alarms().await.is_empty());
    assert_eq!(
        p.proxy.request_bolus().await.unwrap(),
        "Bolus of 0.05 mg started."
    );
    // The next check is due an hour after this one.
    p.run_to(h(3.25)).await;
    assert!(p.alarms().await.is_empty());
    p.run_to(h(3.25) + Duration::from_secs(1)).await;
    assert_eq!(p.alarms().await.len(), 1);
    let summary = p.summary().await;
    assert_eq!(summary["observations"]["missed_checks"], 2);
    assert_eq!(summary["observations"]["escalated_checks"], 1);
    assert_eq!(summary["alarms"][0]["kind"], "observation_missed");
    assert_eq!(summary["alarms"][0]["priority"], "high");
    assert_eq!(summary["alarms"][0]["cleared_at_h"], 2.25);
    assert_eq!(summary["pca"]["denied_by_reason"]["observation_overdue"], 1);
}

/// The pump with the pre-trial checklist left to the nurses (the demo confirms it by itself).
async fn strict_pump() -> Pump {
    let mut service = PumpService::simulated_demo(Timestamp::ORIGIN).unwrap();
    service.confirm_checklist_as_demo(false);
    pump_with(service, Timestamp::ORIGIN).await
}

const SINGLE_SHOT: &str = r#"
[trial]
patient = "MRN-SHOT"
route = "intrathecal"
kind = "single_bolus"
duration = "24h"
outpatient = true

[program]
drug = "morphine"
concentration = "1 mg/mL"
reservoir = "2 mL"
boluses = [ { at = "0h", dose = "0.2 mg" } ]
observe = "24h"
"#;

#[tokio::test]
async fn the_start_waits_for_the_pre_trial_checklist_or_a_clinicians_override() {
    let p = strict_pump().await;
    let nurse = p.primed(PROGRAM).await;
    let (name, message) = error_of(p.proxy.start(&nurse).await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    assert!(
        message.starts_with("start: the pre-trial checklist is not complete; still open:"),
        "{message}"
    );
    for id in ["(medical_clearance)", "(consent)", "(insurance_confirmed)"] {
        assert!(message.contains(id), "{id} named in: {message}");
    }
    assert_ne!(p.proxy.pump_state().await.unwrap(), "running");

    // The list: the protocol's items for an inpatient continuous trial, none confirmed.
    let (items, by, reason) = p.proxy.checklist(&nurse).await.unwrap();
    let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids.len(), 7, "{ids:?}");
    assert!(!ids.contains(&"responsible_adult"), "an outpatient item");
    assert!(
        items
            .iter()
            .all(|i| !i.confirmed && i.confirmed_at_ms == -1)
    );
    assert_eq!((by.as_str(), reason.as_str()), ("", ""));
    let (name, message) = error_of(
        p.proxy
            .confirm_checklist_item(&nurse, "responsible_adult")
            .await,
    );
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert!(message.contains("\"responsible_adult\" is not on this trial's checklist"));

    // The nurse confirms all but the consent: the start still names what is open.
    p.clock.set(h(0.02));
    let mut open = Vec::new();
    for id in ids.iter().filter(|&&id| id != "consent") {
        open = p.proxy.confirm_checklist_item(&nurse, id).await.unwrap();
    }
    assert_eq!(open, ["consent"]);
    let (name, message) = error_of(p.proxy.start(&nurse).await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    assert!(message.contains("(consent)"), "{message}");
    assert!(!message.contains("(medical_clearance)"), "{message}");
    let (items, ..) = p.proxy.checklist(&nurse).await.unwrap();
    let first = &items[0];
    assert!(first.confirmed);
    assert_eq!(first.confirmed_by, "Demo Nurse");
    assert_eq!(first.confirmed_at_ms, 72_000);

    // Only a clinician overrides, and only with a written reason.
    let (name, _) = error_of(p.proxy.override_checklist(&nurse, "Signed on paper").await);
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
    let clinician = p.login(CLINICIAN).await;
    let (name, message) = error_of(p.proxy.override_checklist(&clinician, "  ").await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert!(message.starts_with("reason:"), "{message}");
    let reason = "Consent signed on paper on the ward; the scan follows.";
    let overridden = p
        .proxy
        .override_checklist(&clinician, reason)
        .await
        .unwrap();
    assert_eq!(overridden, ["consent"]);
    p.proxy.start(&nurse).await.unwrap();
    assert_eq!(p.proxy.pump_state().await.unwrap(), "running");

    // Once delivery runs the list is closed; the log and the summary keep who did what.
    let (name, message) = error_of(p.proxy.confirm_checklist_item(&nurse, "consent").await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    assert!(message.contains("closed"), "{message}");
    let (_, by, why) = p.proxy.checklist(&nurse).await.unwrap();
    assert_eq!((by.as_str(), why.as_str()), ("Demo Clinician", reason));
    {
        let service = p.shared.service.lock().await;
        let journal = service.engine().unwrap().journal();
        let confirmed = journal
            .iter()
            .filter(|r| matches!(r, titra::journal::Record::ChecklistConfirmed { name, by: titra::journal::Role::Nurse, .. } if name == "Demo Nurse"))
            .count();
        assert_eq!(confirmed, 6);
        assert!(journal.iter().any(|r| matches!(
            r,
            titra::journal::Record::ChecklistOverridden { open, reason: why, name, .. }
                if open == &["consent".to_owned()] && why == reason && name == "Demo Clinician"
        )));
        assert!(journal.iter().any(|r| matches!(
            r,
            titra::journal::Record::Refused { what, reason, .. }
                if what == "start" && reason.contains("(consent)")
        )));
    }
    let json: serde_json::Value =
        serde_json::from_str(&p.proxy.export_summary(&clinician).await.unwrap()).unwrap();
    let c = &json["checklist"];
    assert_eq!(c["complete"], false);
    assert_eq!(c["override"]["reason"], reason);
    assert_eq!(c["override"]["open"][0], "consent");
    assert_eq!(c["items"][0]["confirmed_by"], "Demo Nurse");
    assert_eq!(c["items"][0]["confirmed_at"], "2000-01-01T00:01:12Z");
}

#[tokio::test]
async fn an_outpatient_single_shot_also_needs_a_responsible_adult() {
    let p = strict_pump().await;
    let nurse = p.primed(SINGLE_SHOT).await;
    let (items, ..) = p.proxy.checklist(&nurse).await.unwrap();
    assert_eq!(items.len(), 8);
    assert_eq!(items[7].id, "responsible_adult");
    for item in &items[..7] {
        p.proxy
            .confirm_checklist_item(&nurse, &item.id)
            .await
            .unwrap();
    }
    let (_, message) = error_of(p.proxy.start(&nurse).await);
    assert!(
        message.contains("A responsible adult will take the patient home"),
        "{message}"
    );
    let open = p
        .proxy
        .confirm_checklist_item(&nurse, "responsible_adult")
        .await
        .unwrap();
    assert!(open.is_empty());
    // A second press changes nothing.
    p.proxy
        .confirm_checklist_item(&nurse, "responsible_adult")
        .await
        .unwrap();
    p.proxy.start(&nurse).await.unwrap();
    assert_eq!(p.proxy.pump_state().await.unwrap(), "running");
    let service = p.shared.service.lock().await;
    let journal = service.engine().unwrap().journal();
    assert_eq!(
        journal
            .iter()
            .filter(|r| matches!(r, titra::journal::Record::ChecklistConfirmed { .. }))
            .count(),
        8
    );
}

#[tokio::test]
async fn the_decision_after_the_trial_is_recorded_and_summarised() {
    let p = pump().await;
    p.running().await;
    p.run_to(h(26.0)).await;
    let nurse = p.login(NURSE).await;
    let clinician = p.login(CLINICIAN).await;
    let decide = |outcome: &'static str,
                  reasons: &'static str,
                  wish: &'static str,
                  implant: &'static str| {
        let proxy = p.proxy.clone();
        let token = clinician.clone();
        async move {
            proxy
                .record_decision(&token, outcome, reasons, wish, implant)
                .await
        }
    };
    p.proxy.record_pain(3).await.unwrap();
    // Not while the trial runs: the decision and the catheter's removal come after it.
    let (name, message) = error_of(decide("success", "Pain 7 → 3", "yes", "").await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    assert!(message.contains("end the trial"), "{message}");
    let (name, message) = error_of(p.proxy.record_catheter_removal(&nurse, "").await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    assert!(message.contains("end the trial"), "{message}");
    p.proxy.end_trial(&nurse).await.unwrap();

    let (name, _) = error_of(
        p.proxy
            .record_decision(&nurse, "success", "Pain 7 → 3", "yes", "")
            .await,
    );
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
    let (name, message) = error_of(decide("success", "Pain 7 → 3", "maybe", "").await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert!(message.contains("\"maybe\""), "{message}");
    let (name, message) = error_of(decide("success", " ", "yes", "").await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert!(message.starts_with("reasons:"), "{message}");
    let (name, message) = error_of(decide("failure", "No relief", "no", "SynchroMed II").await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert!(
        message.contains("a failed trial plans no implant"),
        "{message}"
    );
    let (name, message) = error_of(decide("success", "Pain 7 → 3", "no", "SynchroMed II").await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert!(message.contains("does not wish"), "{message}");
    // The implant's starting dose is the worksheet's: confirmed first. Pain 7 before, 3 at the
    // end: a response, so the worksheet proposes one.
    let (name, message) =
        error_of(decide("success", "Pain 7 → 3", "yes", "SynchroMed II 20 mL").await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    assert!(
        message.contains("confirm the implant's starting dose"),
        "{message}"
    );
    let (per_day, _) = p.proxy.confirm_implant_dose(&clinician, "").await.unwrap();
    assert!(per_day.starts_with("0.5"), "{per_day}");
    decide(
        "success",
        "Pain 7 → 3 at 1 mg/day, walking further; no side effects.",
        "yes",
        "SynchroMed II 20 mL",
    )
    .await
    .unwrap();

    p.clock.set(h(26.02));
    p.proxy
        .record_catheter_removal(&nurse, "Tip intact, site clean.")
        .await
        .unwrap();
    let (name, message) = error_of(p.proxy.record_catheter_removal(&nurse, "").await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    assert!(
        message.contains("already recorded (by Demo Nurse)"),
        "{message}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&p.proxy.export_summary(&clinician).await.unwrap()).unwrap();
    let a = &json["assessment"];
    assert_eq!(a["outcome"], "success");
    assert_eq!(
        a["note"],
        "Pain 7 → 3 at 1 mg/day, walking further; no side effects."
    );
    assert_eq!(a["patient_wish"], "yes");
    assert_eq!(a["planned_implant"], "SynchroMed II 20 mL");
    assert_eq!(
        a["planned_starting_dose_mg_per_day"],
        json["implant"]["mg_per_day"]
    );
    assert_eq!(json["implant"]["confirmed"], true);
    assert!(
        (a["planned_starting_dose_mg_per_day"].as_f64().unwrap() - 0.5).abs() < 1e-3,
        "{a}"
    );
    assert_eq!(a["by"], "Demo Clinician");
    let r = &json["catheter_removal"];
    assert_eq!(r["by"], "Demo Nurse");
    assert_eq!(r["at"], "2000-01-02T02:01:12Z");
    assert_eq!(r["at_h"], 26.02);
    assert_eq!(r["note"], "Tip intact, site clean.");
    // The demo confirmed the checklist as it programmed the trial.
    assert_eq!(json["checklist"]["complete"], true);
    assert_eq!(
        json["checklist"]["items"][0]["confirmed_by"],
        titra::service::pump::DEMO_CHECKLIST_BY
    );
    assert_valid_summary(&json);
}

/// The findings and alarm kinds as the status lists them.
fn kinds(alarms: &[(String, String)]) -> Vec<(&str, &str)> {
    alarms
        .iter()
        .map(|(k, p)| (k.as_str(), p.as_str()))
        .collect()
}

#[tokio::test]
async fn site_checks_are_due_every_8_hours_and_a_missed_one_raises_a_low_alarm() {
    let p = pump().await;
    let mut raised = p.proxy.receive_alarm_raised().await.unwrap();
    p.running().await;
    p.run_to_with_checks(h(8.0)).await;
    assert!(p.alarms().await.is_empty());
    assert_eq!(p.status().await.site_check_due, "now");
    p.run_to_with_checks(h(8.0) + Duration::from_secs(1)).await;
    assert_eq!(kinds(&p.alarms().await), [("site_check_missed", "low")]);
    let a = raised.next().await.unwrap();
    let args = a.args().unwrap();
    assert_eq!(
        (args.kind(), args.priority()),
        (&"site_check_missed", &"low")
    );
    assert_eq!(p.status().await.site_check_due, "overdue");
    // Bad input names the field and changes nothing.
    let nurse = p.login(NURSE).await;
    let (name, message) = error_of(p.proxy.record_site_check(&nurse, 98.6, Vec::new()).await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert_eq!(message, "temperature_c: 98.6 °C is outside 25 to 45 °C");
    let (name, message) = error_of(
        p.proxy
            .record_site_check(&nurse, 37.0, vec!["pus".to_owned()])
            .await,
    );
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert!(
        message.starts_with("findings: \"pus\" is not one of"),
        "{message}"
    );
    let (name, _) = error_of(p.proxy.record_site_check("", 37.0, Vec::new()).await);
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
    assert_eq!(kinds(&p.alarms().await), [("site_check_missed", "low")]);
    // The check, late: the alarm goes (it was what it asked for); the next is due 8 h later.
    p.run_to_with_checks(h(9.0)).await;
    let nurse = p.login(NURSE).await;
    p.proxy
        .record_site_check(&nurse, 37.0, Vec::new())
        .await
        .unwrap();
    assert!(p.alarms().await.is_empty());
    assert_eq!(p.status().await.site_check_due, "in 8 h");
    p.run_to_with_checks(h(17.0)).await;
    assert!(p.alarms().await.is_empty());
    p.run_to_with_checks(h(17.0) + Duration::from_secs(1)).await;
    assert_eq!(kinds(&p.alarms().await), [("site_check_missed", "low")]);
    let summary = p.summary().await;
    let c = &summary["catheter"];
    assert_eq!(c["site_check_every_h"], 8.0);
    assert_eq!(c["missed_site_checks"], 2);
    assert_eq!(c["site_checks"][0]["at_h"], 9.0);
    assert_eq!(c["site_checks"][0]["temp_c"], 37.0);
    assert_eq!(c["site_checks"][0]["by"], "Demo Nurse");
    assert_eq!(summary["alarms"][0]["kind"], "site_check_missed");
    assert_eq!(summary["alarms"][0]["priority"], "low");
    assert_eq!(summary["alarms"][0]["cleared_at_h"], 9.0);
}

#[tokio::test]
async fn fever_or_a_finding_at_the_site_raises_possible_infection_and_delivery_goes_on() {
    let p = pump().await;
    let mut raised = p.proxy.receive_alarm_raised().await.unwrap();
    p.running().await;
    p.run_to_with_checks(h(2.0)).await;
    let nurse = p.login(NURSE).await;
    // 37.9 °C and a clean site: nothing.
    p.proxy
        .record_site_check(&nurse, 37.9, Vec::new())
        .await
        .unwrap();
    assert!(p.alarms().await.is_empty());
    // A leak at the site: MEDIUM, with words for the nurse.
    p.proxy
        .record_site_check(
            &nurse,
            37.2,
            vec!["leak".to_owned(), "headache_upright".to_owned()],
        )
        .await
        .unwrap();
    assert_eq!(kinds(&p.alarms().await), [("possible_infection", "medium")]);
    let a = raised.next().await.unwrap();
    let args = a.args().unwrap();
    assert_eq!(
        *args.message(),
        "Possible infection — tell the clinician. Fever or a finding at the catheter site."
    );
    // Delivery and the patient's boluses go on; acknowledging keeps it listed (its cause stands).
    let before = p.status().await.delivered_total;
    p.run_to_with_checks(h(3.0)).await;
    let s = p.status().await;
    assert_eq!(s.state.to_string(), "running");
    assert_ne!(s.delivered_total, before);
    assert_eq!(
        p.proxy.request_bolus().await.unwrap(),
        "Bolus of 0.05 mg started."
    );
    let nurse = p.login(NURSE).await;
    p.proxy.acknowledge_alarms(&nurse).await.unwrap();
    assert_eq!(kinds(&p.alarms().await), [("possible_infection", "medium")]);
    // A clean check lifts it.
    p.run_to_with_checks(h(4.0)).await;
    let nurse = p.login(NURSE).await;
    p.proxy
        .record_site_check(&nurse, 36.9, Vec::new())
        .await
        .unwrap();
    assert!(p.alarms().await.is_empty());
    // A fever taken with the vital signs is a sign too.
    p.run_to_with_checks(h(5.0)).await;
    let nurse = p.login(NURSE).await;
    p.proxy
        .record_vitals(&nurse, 16, 88, 97, 38.0)
        .await
        .unwrap();
    assert_eq!(kinds(&p.alarms().await), [("possible_infection", "medium")]);
    let (name, message) = error_of(p.proxy.record_vitals(&nurse, 16, 88, 97, 46.0).await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert!(message.starts_with("temperature_c: 46"), "{message}");
    let summary = p.summary().await;
    let c = &summary["catheter"];
    assert_eq!(c["possible_infection_alarms"], 2);
    assert_eq!(c["site_checks"].as_array().unwrap().len(), 3);
    assert_eq!(
        c["site_checks"][1]["findings"],
        serde_json::json!(["leak", "headache_upright"])
    );
    // The fever among the vital signs (the ward's routine checks took no temperature).
    let temps: Vec<&serde_json::Value> = summary["observations"]["vitals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["temp_c"])
        .filter(|t| !t.is_null())
        .collect();
    assert_eq!(temps, [38.0]);
    let infections: Vec<&serde_json::Value> = summary["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "possible_infection")
        .collect();
    assert_eq!(infections.len(), 2);
    assert_eq!(infections[0]["at_h"], 2.0);
    assert_eq!(infections[0]["cleared_at_h"], 4.0);
    assert!(infections[1]["cleared_at_h"].is_null());
}

#[tokio::test]
async fn the_patient_is_asked_for_pain_every_4_hours_while_awake_and_pgic_at_the_end() {
    let p = pump().await;
    p.running().await;
    p.run_to(h(3.9)).await;
    assert!(!p.status().await.pain_prompt);
    p.run_to(h(4.0)).await;
    let s = p.status().await;
    assert!(s.pain_prompt);
    assert_eq!(
        s.outcome_measure,
        Some(titra::core::diary::OutcomeMeasure::Pain)
    );
    assert!(!s.pgic_prompt);
    // The score and the function question answer the prompt.
    let (question, answers) = p.proxy.diary_question().await.unwrap();
    assert_eq!(question, "How far could you walk since you last answered?");
    assert_eq!(answers.len(), 5);
    let (name, message) = error_of(p.proxy.record_function(6).await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert_eq!(message, "function: answer 6 is outside 1 to 5");
    p.proxy.record_pain(4).await.unwrap();
    p.proxy.record_function(3).await.unwrap();
    assert!(!p.status().await.pain_prompt);
    p.run_to(h(7.9)).await;
    assert!(!p.status().await.pain_prompt);
    p.run_to(h(8.0)).await;
    assert!(p.status().await.pain_prompt);
    // A score, and the function question left for now ("Not now"): recorded with its time.
    p.proxy.record_pain(5).await.unwrap();
    p.proxy.skip_function().await.unwrap();
    // Not yet: the impression of change is asked when the trial has ended.
    let nurse = p.login(NURSE).await;
    p.proxy.end_trial(&nurse).await.unwrap();
    let s = p.status().await;
    assert!(!s.pain_prompt);
    assert!(s.pgic_prompt);
    let (name, message) = error_of(p.proxy.record_pgic(0).await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert!(message.starts_with("pgic: 0 is outside 1"), "{message}");
    p.proxy.record_pgic(2).await.unwrap();
    assert!(!p.status().await.pgic_prompt);
    let (name, _) = error_of(p.proxy.record_pgic(3).await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    let summary = p.summary().await;
    assert_eq!(summary["diary"]["pgic"], 2);
    assert_eq!(summary["diary"]["pgic_label"], "Much improved");
    let f = &summary["diary"]["function"][0];
    assert_eq!(f["level"], 3);
    assert_eq!(f["answer"], "On the ward or around the house");
    assert_eq!(f["at_h"], 4.0);
    assert_eq!(summary["diary"]["function"].as_array().unwrap().len(), 1);
    assert_eq!(
        summary["diary"]["function_skipped_h"],
        serde_json::json!([8.0])
    );
}

#[tokio::test]
async fn no_pain_prompt_outside_the_waking_hours() {
    // 23:30 UTC (the fixed clock's zone): asleep by the built-in 07:00–22:00.
    let mut service = PumpService::simulated_demo(Timestamp::ORIGIN).unwrap();
    service.set_wall_clock(Box::new(FakeWall::at((23 * 60 + 30) * 60_000)));
    let p = pump_with(service, Timestamp::ORIGIN).await;
    p.running().await;
    p.run_to(h(5.0)).await;
    assert!(!p.status().await.pain_prompt);
    // 12:00: awake, and asked.
    let mut service = PumpService::simulated_demo(Timestamp::ORIGIN).unwrap();
    service.set_wall_clock(Box::new(FakeWall::at(12 * 3_600_000)));
    let p = pump_with(service, Timestamp::ORIGIN).await;
    p.running().await;
    p.run_to(h(5.0)).await;
    assert!(p.status().await.pain_prompt);
}

const BACLOFEN: &str = r#"
[trial]
patient = "MRN-BACLOFEN"
route = "intrathecal"
kind = "single_bolus"
duration = "8h"

[program]
drug = "baclofen"
concentration = "50 mcg/mL"
reservoir = "10 mL"
boluses = [ { at = "0h", dose = "50 mcg" } ]
observe = "8h"
"#;

#[tokio::test]
async fn a_baclofen_trial_is_judged_on_spasticity_scored_by_the_nurse() {
    let p = pump().await;
    let nurse = p.primed(BACLOFEN).await;
    // The score before the bolus is the baseline.
    p.proxy
        .record_spasticity(&nurse, "3", "knee extensors")
        .await
        .unwrap();
    p.proxy.start(&nurse).await.unwrap();
    let s = p.status().await;
    assert_eq!(
        s.outcome_measure,
        Some(titra::core::diary::OutcomeMeasure::Spasticity)
    );
    // The patient is not asked for pain on a spasticity trial.
    p.run_to(h(4.5)).await;
    assert!(!p.status().await.pain_prompt);
    let nurse = p.login(NURSE).await;
    let (name, message) = error_of(p.proxy.record_spasticity(&nurse, "2+", "").await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert!(message.contains("0, 1, 1+, 2, 3 or 4"), "{message}");
    let (name, _) = error_of(p.proxy.record_spasticity("", "1", "").await);
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
    p.proxy
        .record_spasticity(&nurse, "1+", "knee extensors")
        .await
        .unwrap();
    p.run_to(h(6.0)).await;
    let nurse = p.login(NURSE).await;
    p.proxy
        .record_spasticity(&nurse, "2", "knee extensors")
        .await
        .unwrap();
    let summary = p.summary().await;
    assert_eq!(summary["outcome_measure"], "spasticity");
    let sp = &summary["spasticity"];
    assert_eq!(sp["baseline"], "3");
    assert_eq!(sp["lowest"], "1+");
    assert_eq!(sp["final"], "2");
    assert_eq!(sp["reduction"], 1.5, "a bolus trial: at its lowest");
    assert_eq!(sp["responder"], true);
    assert_eq!(sp["scores"][1]["by"], "Demo Nurse");
    assert!(summary["pain"]["responder"].is_null());
    // The chart's time course is on the Ashworth scale, the dose in the drug's unit.
    let r = p.proxy.bolus_response().await.unwrap();
    assert!(r.bolus_trial);
    assert_eq!(r.measure, titra::report::summary::MEASURE_SPASTICITY);
    assert_eq!((r.baseline, r.scale_top), (3.0, 4.0));
    let b = &r.boluses[0];
    assert_eq!(b.dose, "50 mcg");
    assert!(b.effective);
    assert_eq!(b.points, [(4.5, 1.5), (6.0, 2.0)]);
    assert_eq!((b.peak_h, b.peak_score), (4.5, 1.5));
}

/// The single-shot screening of examples/scenarios/single-shot-morphine.toml.
const SCREENING: &str = r#"
[trial]
patient = "MRN-COURSE"
route = "intrathecal"
kind = "single_bolus"
duration = "24h"
baseline_pain = 7

[program]
drug = "morphine"
concentration = "1 mg/mL"
reservoir = "2 mL"
boluses = [ { at = "0h", dose = "0.2 mg" } ]
observe = "24h"
"#;

#[tokio::test]
async fn the_chart_gets_the_response_to_each_bolus_without_a_login() {
    let p = pump().await;
    let (name, _) = error_of(p.proxy.bolus_response().await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState", "no trial");
    let nurse = p.primed(SCREENING).await;
    p.confirm_checklist(&nurse).await;
    p.proxy.start(&nurse).await.unwrap();
    // Pain 7 before; 5 at 1 h (not yet half), 3 at 4 h (the onset and the peak), 6 at 24 h
    // (no longer a response: the effect lasted 24 h).
    for (at, pain) in [(1.0, 5), (4.0, 3), (24.0, 6)] {
        p.run_to(h(at)).await;
        p.proxy.record_pain(pain).await.unwrap();
    }
    let r = p.proxy.bolus_response().await.unwrap();
    assert!(r.bolus_trial);
    assert_eq!(r.measure, titra::report::summary::MEASURE_PAIN);
    assert_eq!((r.baseline, r.scale_top), (7.0, 10.0));
    assert_eq!(r.boluses.len(), 1);
    let b = &r.boluses[0];
    assert_eq!(b.at_h, 0.0);
    assert_eq!(b.dose, "0.2 mg");
    assert_eq!(b.by, "scheduled");
    assert!(b.effective && b.complete && b.responded);
    assert_eq!(b.points, [(1.0, 5.0), (4.0, 3.0), (24.0, 6.0)]);
    assert_eq!((b.onset_h, b.peak_h, b.peak_score), (4.0, 4.0, 3.0));
    assert_eq!(b.duration_h, 24.0);
    assert_eq!(b.effect, "24 h (a response at 4 h, no longer at 24 h)");
    // The same as the summary a nurse exports.
    let summary = p.summary().await;
    assert_eq!(summary["effective_dose"]["bolus_index"], 0);
    assert_eq!(summary["effective_dose"]["boluses"][0]["duration_h"], 24.0);

    // A continuous trial has no time course: its chart is the dose and pain of `History`.
    let p = pump().await;
    p.running().await;
    p.run_to(h(2.0)).await;
    p.proxy.record_pain(4).await.unwrap();
    let r = p.proxy.bolus_response().await.unwrap();
    assert!(!r.bolus_trial);
    assert!(r.boluses.is_empty());
    assert_eq!(
        (r.measure, r.baseline),
        (titra::report::summary::MEASURE_PAIN, 7.0)
    );
}

#[tokio::test]
async fn a_failed_power_on_self_test_keeps_the_pump_from_delivering() {
    for (fault, check) in [
        (
            "enable_stuck",
            "motor enable: the motor driver stays enabled",
        ),
        (
            "indicator_failed",
            "alarm light and tone: the alarm light or tone does not answer",
        ),
    ] {
        let mut service = PumpService::simulated_demo(Timestamp::ORIGIN).unwrap();
        service.inject_fault(fault, true).unwrap();
        assert!(!service.run_self_test(Timestamp::ORIGIN).passed());
        let p = pump_with(service, Timestamp::ORIGIN).await;
        let s = p.status().await;
        assert!(s.self_test_failure.starts_with(check), "{fault}: {s:?}");
        let nurse = p.login(NURSE).await;
        let (name, message) = error_of(
            p.proxy
                .start_trial(&nurse, PROGRAM, false, SECOND_NURSE.id, SECOND_NURSE.pin)
                .await,
        );
        assert_eq!(name, "org.titra.Pump1.Error.WrongState", "{fault}");
        assert!(
            message.starts_with("the pump failed its power-on self-test (")
                && message.contains(check)
                && message.ends_with("take it out of use and call technical support"),
            "{fault}: {message}"
        );
        assert_eq!(p.status().await.state.to_string(), "idle");
    }
}

#[tokio::test]
async fn every_program_is_logged_with_the_self_test_and_the_checksum_of_the_library_in_force() {
    let dir = TempDir::new("selftest");
    let service = logged_service(&dir, Timestamp::ORIGIN);
    let test = service.self_test().unwrap().clone();
    assert!(test.passed(), "{}", test.failures());
    let p = pump_with(service, Timestamp::ORIGIN).await;
    assert_eq!(p.status().await.self_test_failure, "");
    p.running().await;
    drop(p);
    let mut log = titra::store::TrialLog::open(&dir.trial_log()).unwrap();
    let stored = log.latest_trial().unwrap();
    let records = log.records(stored.id).unwrap();
    let logged: Vec<&titra::journal::SelfTest> = records
        .iter()
        .filter_map(|r| match r {
            titra::journal::Record::SelfTest { test, .. } => Some(test),
            _ => None,
        })
        .collect();
    assert_eq!(logged.len(), 1);
    assert_eq!(*logged[0], test);
    // The library's checksum is the trial's own record of the library it ran with.
    assert_eq!(logged[0].checksums.drug_library, stored.library_sha256);
    assert_eq!(logged[0].checksums.hardware.len(), 64);
    assert_eq!(logged[0].checksums.protocol.len(), 64);
}

#[tokio::test]
async fn a_pause_or_an_alarm_while_priming_is_no_way_around_the_checklist() {
    // Found by the fault-injection matrix: Priming -> Paused -> Resume reached Running without
    // Start, so without the pre-trial checklist.
    let p = strict_pump().await;
    let nurse = p.primed(PROGRAM).await;
    p.proxy.pause(&nurse).await.unwrap();
    let (name, message) = error_of(p.proxy.resume(&nurse).await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    assert!(
        message.contains("the pre-trial checklist is not complete"),
        "{message}"
    );
    assert_eq!(p.status().await.state.to_string(), "paused");
    // The same from an alarm raised while priming (the syringe taken out and put back).
    p.proxy
        .inject_fault("reservoir_removed", true)
        .await
        .unwrap();
    p.run_to(h(0.1)).await;
    assert_eq!(p.status().await.state.to_string(), "alarm");
    p.proxy
        .inject_fault("reservoir_removed", false)
        .await
        .unwrap();
    let nurse = p.login(NURSE).await;
    p.proxy.acknowledge_alarms(&nurse).await.unwrap();
    let (_, message) = error_of(p.proxy.resume(&nurse).await);
    assert!(
        message.contains("the pre-trial checklist is not complete"),
        "{message}"
    );
    assert_eq!(p.status().await.state.to_string(), "alarm");
    // With the checklist done, resuming starts delivery.
    p.confirm_checklist(&nurse).await;
    p.proxy.resume(&nurse).await.unwrap();
    assert_eq!(p.status().await.state.to_string(), "running");
}

#[tokio::test]
async fn a_syringe_changed_on_the_simulated_pump_is_seated_and_the_motor_is_not_taken_for_stalled()
{
    // Found by the fault-injection matrix: the simulator's plunger stayed where the old syringe
    // left it, and the pump then saw a stalled motor.
    let p = pump().await;
    p.running().await;
    p.run_to_with_checks(h(2.0)).await;
    let nurse = p.login(NURSE).await;
    p.proxy.pause(&nurse).await.unwrap();
    p.proxy.change_reservoir(&nurse, "20 mL").await.unwrap();
    p.proxy.resume(&nurse).await.unwrap();
    p.run_to_with_checks(h(4.0)).await;
    let s = p.status().await;
    assert_eq!(s.state.to_string(), "running");
    assert!(s.alarms.is_empty(), "{:?}", s.alarms);
}

// ---- the start-up check of the trial log and the drug library -------------------------------

/// A trial of `PROGRAM` running for an hour on a daemon keeping its log in `dir`, then the daemon
/// stopped; the time it starts again at.
async fn an_hour_then_stopped(dir: &TempDir) -> Timestamp {
    let p = pump_with(logged_service(dir, Timestamp::ORIGIN), Timestamp::ORIGIN).await;
    p.running().await;
    p.run_to(h(1.0)).await;
    drop(p);
    PumpService::resume_time(&dir.trial_log()).unwrap()
}

/// The held trial's pump: stopped with the HIGH alarm `kind`, resuming refused after the
/// nurse's acknowledgement, the patient's button refused, nothing delivered for an hour.
async fn assert_refuses_delivery(p: &Pump, kind: &str, from: Timestamp) {
    let s = p.status().await;
    assert_eq!(s.state.to_string(), "alarm");
    let alarm = s
        .alarms
        .iter()
        .find(|a| alarm_name(a.kind) == kind)
        .unwrap_or_else(|| panic!("no {kind} alarm: {:?}", s.alarms));
    assert_eq!(alarm.priority.to_string(), "high");
    assert!(
        alarm.message.contains("delivery stopped"),
        "{}",
        alarm.message
    );
    let nurse = p.login(NURSE).await;
    p.proxy.acknowledge_alarms(&nurse).await.unwrap();
    let (name, message) = error_of(p.proxy.resume(&nurse).await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    assert!(
        message.contains("This trial never delivers again"),
        "{message}"
    );
    let (name, _) = error_of(p.proxy.start(&nurse).await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    let (name, _) = error_of(p.proxy.request_bolus().await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    let before = p.status().await.delivered_total;
    p.run_to(from + Duration::from_hours(1)).await;
    let s = p.status().await;
    assert_eq!(s.state.to_string(), "alarm");
    assert_eq!(s.delivered_total, before, "nothing delivered while held");
    assert!(s.alarms.iter().any(|a| alarm_name(a.kind) == kind));
}

#[tokio::test]
async fn a_daemon_restarted_on_a_tampered_log_refuses_delivery_with_a_high_alarm() {
    let dir = TempDir::new("tampered-restart");
    let back = an_hour_then_stopped(&dir).await;
    // Someone with the SD card doubles the concentration the trial was programmed with (the
    // syringe still holds 1 mg/mL: the pump would give half the dose).
    sqlite3(&dir.trial_log(), &change_concentration("2 mg/mL"));
    let p = pump_with(logged_service(&dir, back), back).await;
    assert!(
        p.status().await.startup_check_failure.contains(
            "the trial log: trial 1 (patient MRN-DBUS) was changed after it was written: the program's concentration (1 mg/mL when written, 2 mg/mL now)"
        ),
        "{:?}",
        p.status().await
    );
    assert_refuses_delivery(&p, "log_check_failed", back).await;

    // The usual end is not enough: a clinician decides, with a written reason.
    let nurse = p.login(NURSE).await;
    let (name, message) = error_of(p.proxy.end_trial(&nurse).await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    assert!(message.contains("a clinician ends it"), "{message}");
    let (name, _) = error_of(p.proxy.end_unverified_trial(&nurse, "Ended.").await);
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
    let clinician = p.login(CLINICIAN).await;
    let (name, message) = error_of(p.proxy.end_unverified_trial(&clinician, "  ").await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert!(message.starts_with("reason: "), "{message}");
    let reason = "The log was changed on the card; trial stopped, patient reviewed, export kept.";
    p.proxy
        .end_unverified_trial(&clinician, reason)
        .await
        .unwrap();
    let s = p.status().await;
    assert_eq!(s.state.to_string(), "ended");
    assert!(
        s.alarms
            .iter()
            .any(|a| alarm_name(a.kind) == "log_check_failed"),
        "the log stays as it was found: {:?}",
        s.alarms
    );
    let (name, _) = error_of(p.proxy.resume(&nurse).await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");

    // Its export says so in the manifest, with the chain head.
    let clinician = p.login(CLINICIAN).await;
    p.proxy
        .confirm_implant_dose_with_reason(
            &clinician,
            "0.5 mg/day",
            "Set by hand: the trial was cut short.",
        )
        .await
        .unwrap();
    let (to, files) = p.proxy.export(&clinician, "json", "a4").await.unwrap();
    let manifest =
        std::fs::read_to_string(std::path::Path::new(&to).join(files.last().unwrap())).unwrap();
    assert!(
        manifest.starts_with("# trial log chain head: row "),
        "{manifest}"
    );
    assert!(
        manifest.contains(
            "# trial log check: FAILED: trial 1 (patient MRN-DBUS) was changed after it was written"
        ),
        "{manifest}"
    );
    drop(p);

    // The finding and the decision are in the log, with the clinician's name.
    let log = titra::store::TrialLog::open(&dir.trial_log()).unwrap();
    let records = log.records(1).unwrap();
    assert!(records.iter().any(|r| matches!(
        r,
        titra::journal::Record::StartupCheckFailed { failures, .. }
            if failures[0].contains("the program's concentration")
    )));
    assert!(records.iter().any(|r| matches!(
        r,
        titra::journal::Record::UnverifiedTrialEnded { reason: why, name, .. }
            if why == reason && name == "Demo Clinician"
    )));
    drop(log);

    // Started again with the trial ended, the pump still shows the alarm and programs no new
    // trial on this log.
    let later = back + Duration::from_hours(3);
    let p = pump_with(logged_service(&dir, later), later).await;
    let s = p.status().await;
    assert_eq!(s.state.to_string(), "idle");
    assert!(
        s.alarms
            .iter()
            .any(|a| alarm_name(a.kind) == "log_check_failed" && a.priority.to_string() == "high"),
        "{:?}",
        s.alarms
    );
    let nurse = p.login(NURSE).await;
    let (name, message) = error_of(
        p.proxy
            .start_trial(&nurse, PROGRAM, false, SECOND_NURSE.id, SECOND_NURSE.pin)
            .await,
    );
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    assert!(
        message.contains("no new trial is programmed on it"),
        "{message}"
    );
}

#[tokio::test]
async fn a_daemon_restarted_with_another_drug_library_refuses_delivery_with_a_high_alarm() {
    let dir = TempDir::new("library-restart");
    let back = an_hour_then_stopped(&dir).await;
    // The site's library is edited while the trial runs.
    let (mut library, _) = titra::input::check::load_library(None).unwrap();
    let entry = library
        .entries
        .iter_mut()
        .find(|e| e.drug == "morphine")
        .unwrap();
    entry.source.push_str(" Reviewed again.");
    let p = pump_with(
        logged_service_with_library(&dir, back, library.clone()),
        back,
    )
    .await;
    let s = p.status().await;
    assert!(
        s.startup_check_failure
            .starts_with("the drug library: the library in force (SHA-256 ")
            && s.startup_check_failure
                .contains("is not the one this trial was programmed with"),
        "{s:?}"
    );
    assert!(
        !s.alarms
            .iter()
            .any(|a| alarm_name(a.kind) == "log_check_failed")
    );
    assert_refuses_delivery(&p, "library_changed", back).await;

    // The clinician ends it; the library no longer matters, and a new trial is programmed
    // under the library in force.
    let clinician = p.login(CLINICIAN).await;
    p.proxy
        .end_unverified_trial(
            &clinician,
            "Library updated mid-trial; restart under the new one.",
        )
        .await
        .unwrap();
    let s = p.status().await;
    assert_eq!(s.state.to_string(), "ended");
    assert_eq!(s.startup_check_failure, "");
    assert!(
        !s.alarms
            .iter()
            .any(|a| alarm_name(a.kind) == "library_changed"),
        "{:?}",
        s.alarms
    );
    // The same patient again within the longest window: a clinician starts it (issue 18).
    let clinician = p.login(CLINICIAN).await;
    p.proxy
        .start_trial(
            &clinician,
            PROGRAM,
            false,
            SECOND_NURSE.id,
            SECOND_NURSE.pin,
        )
        .await
        .unwrap();
    assert_eq!(p.status().await.state.to_string(), "verified");
}

/// An alarm kind as the log and the screens name it ("sedation").
fn alarm_name(kind: titra::core::supervisor::AlarmKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `PROGRAM` with a scheduled bolus of 0.1 mg two hours after the start.
fn with_a_scheduled_bolus() -> String {
    PROGRAM.replace(
        "max_per_hour = 1 }\n",
        "max_per_hour = 1 }\nboluses = [ { at = \"2h\", dose = \"0.1 mg\" } ]\n",
    )
}

/// Milligrams delivered in total, from the status's words ("0.123 mg", "62.5 mcg"), to three
/// significant digits.
async fn delivered_mg(p: &Pump) -> f64 {
    let s = p.status().await.delivered_total;
    s.parse::<titra::core::units::Amount>()
        .unwrap_or_else(|_| panic!("{s}"))
        .as_mg_f64()
}

#[tokio::test]
async fn a_scheduled_bolus_due_while_paused_is_held_until_the_nurse_decides() {
    // The nurse pauses at 1 h 30 min and forgets to resume until 3 h: the 2 h bolus is held,
    // never given late on its own; on resuming she is asked, and gives it.
    let p = pump().await;
    let nurse = p.primed(&with_a_scheduled_bolus()).await;
    p.confirm_checklist(&nurse).await;
    p.proxy.start(&nurse).await.unwrap();
    p.run_to(h(1.5)).await;
    let nurse = p.login(NURSE).await;
    p.proxy.pause(&nurse).await.unwrap();
    p.run_to(h(3.0)).await;
    assert_eq!(
        p.status().await.held_bolus,
        "0.1 mg, due 2 h after the start"
    );
    let nurse = p.login(NURSE).await;
    p.proxy.resume(&nurse).await.unwrap();
    // Running again: the basal only. 1 mg/day for 1.5 h + 1 h = 0.1042 mg; no bolus.
    p.run_to(h(4.0)).await;
    let basal_only = delivered_mg(&p).await;
    assert!((basal_only - 2.5 / 24.0).abs() < 0.002, "{basal_only}");
    assert_eq!(
        p.status().await.held_bolus,
        "0.1 mg, due 2 h after the start"
    );
    // Given on the nurse's word: 0.1 mg more within the bolus's minutes.
    let nurse = p.login(NURSE).await;
    let answer = p.proxy.decide_held_bolus(&nurse, true).await.unwrap();
    assert_eq!(answer, "The held dose of 0.1 mg is being given.");
    assert_eq!(p.status().await.held_bolus, "");
    p.run_to(h(4.5)).await;
    let after = delivered_mg(&p).await;
    assert!(
        (after - basal_only - 0.1 - 0.5 / 24.0).abs() < 0.002,
        "{after}"
    );
    // Asked once: a second answer is refused.
    let nurse = p.login(NURSE).await;
    let (name, _) = error_of(p.proxy.decide_held_bolus(&nurse, true).await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    let summary = p.summary().await;
    let held = &summary["held_boluses"][0];
    assert_eq!(held["dose_mg"], 0.1);
    assert_eq!(held["due_h"], 2.0);
    assert_eq!(held["given"], true);
    assert_eq!(held["decided_at_h"], 4.0);
    assert_eq!(held["by"], "Demo Nurse");
}

#[tokio::test]
async fn a_held_bolus_can_be_skipped_and_is_not_given_while_delivery_is_stopped() {
    let p = pump().await;
    let nurse = p.primed(&with_a_scheduled_bolus()).await;
    p.confirm_checklist(&nurse).await;
    p.proxy.start(&nurse).await.unwrap();
    p.proxy.pause(&nurse).await.unwrap();
    p.run_to(h(2.5)).await;
    // Not while paused: resume first.
    let nurse = p.login(NURSE).await;
    let (name, message) = error_of(p.proxy.decide_held_bolus(&nurse, true).await);
    assert_eq!(name, "org.titra.Pump1.Error.WrongState");
    assert!(message.contains("resume it first"), "{message}");
    // Skipping needs no delivery.
    let answer = p.proxy.decide_held_bolus(&nurse, false).await.unwrap();
    assert_eq!(answer, "The held dose of 0.1 mg was skipped.");
    p.proxy.resume(&nurse).await.unwrap();
    p.run_to(h(4.0)).await;
    assert!(delivered_mg(&p).await < 0.1, "nothing but the basal");
    let summary = p.summary().await;
    assert_eq!(summary["held_boluses"][0]["given"], false);
    assert_eq!(summary["held_boluses"][0]["decided_at_h"], 2.5);
}

#[tokio::test]
async fn a_held_bolus_and_the_nurses_answer_survive_a_restart() {
    let dir = TempDir::new("held-restart");
    let p = pump_with(logged_service(&dir, Timestamp::ORIGIN), Timestamp::ORIGIN).await;
    let nurse = p.primed(&with_a_scheduled_bolus()).await;
    p.confirm_checklist(&nurse).await;
    p.proxy.start(&nurse).await.unwrap();
    p.proxy.pause(&nurse).await.unwrap();
    p.run_to(h(2.5)).await;
    let held = "0.1 mg, due 2 h after the start";
    assert_eq!(p.status().await.held_bolus, held);
    drop(p);

    // Back after a restart: stopped, the bolus still held and not given, held once.
    let back = PumpService::resume_time(&dir.trial_log()).unwrap();
    let p = pump_with(logged_service(&dir, back), back).await;
    assert_eq!(p.status().await.held_bolus, held);
    let nurse = p.login(NURSE).await;
    p.proxy.acknowledge_alarms(&nurse).await.unwrap();
    p.proxy.resume(&nurse).await.unwrap();
    p.run_to(back + Duration::from_hours(1)).await;
    assert_eq!(p.status().await.held_bolus, held);
    assert!(delivered_mg(&p).await < 0.1, "the held bolus was not given");
    let nurse = p.login(NURSE).await;
    p.proxy.decide_held_bolus(&nurse, false).await.unwrap();
    let summary = p.summary().await;
    assert_eq!(summary["held_boluses"].as_array().unwrap().len(), 1);
    drop(p);

    // The answer is kept too: nothing is held after the next restart.
    let back = PumpService::resume_time(&dir.trial_log()).unwrap();
    let p = pump_with(logged_service(&dir, back), back).await;
    assert_eq!(p.status().await.held_bolus, "");
    let summary = p.summary().await;
    assert_eq!(summary["held_boluses"][0]["given"], false);
}

// ---- changing the program during the trial ----------------------------------------------------

#[tokio::test]
async fn a_clinician_changes_the_patient_bolus_with_a_second_persons_check_and_a_nurse_cannot() {
    let p = pump().await;
    p.running().await;
    p.run_to_with_checks(h(1.0)).await;
    p.proxy.request_bolus().await.unwrap();
    p.run_to_with_checks(h(1.25)).await;
    let change = "pca = { dose = \"0.1 mg\", lockout = \"30min\", max_per_hour = 2 }";
    // Only a clinician changes the program.
    let nurse = p.login(NURSE).await;
    let (name, message) = error_of(
        p.proxy
            .change_program(&nurse, change, true, SECOND_NURSE.id, SECOND_NURSE.pin)
            .await,
    );
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised", "{message}");
    // Before confirming, anyone may see it old beside new, with every finding: what the 1 h,
    // 4 h and 24 h windows already hold (the 0.05 mg bolus and 1 h 15 min of 1 mg/day) counts.
    let (class, findings, side) = p.proxy.check_program_change(change).await.unwrap();
    assert_eq!(side.len(), 1);
    assert_eq!(
        (
            side[0].setting.as_str(),
            side[0].old.as_str(),
            side[0].new.as_str()
        ),
        (
            "pca",
            "0.05 mg, lockout 1h, at most 1 an hour",
            "0.1 mg, lockout 30min, at most 2 an hour"
        )
    );
    assert_ne!(class, "hard");
    let windows: Vec<&str> = findings
        .iter()
        .filter(|f| f.field == "library.cumulative" && f.class == "ok")
        .map(|f| f.limit.as_str())
        .collect();
    assert_eq!(windows, ["1 mg in 1h", "3 mg in 4h", "25 mg in 1d"]);
    // 4 h: 1 h 15 min of 1 mg/day (0.052083 mg) and the bolus, as recorded (the minute under
    // way is recorded when it ends: within a motor step of 69.4 ng).
    let in_4h: f64 = findings
        .iter()
        .find(|f| f.limit == "3 mg in 4h")
        .and_then(|f| f.value.strip_suffix(" mg"))
        .unwrap()
        .parse()
        .unwrap();
    assert!((in_4h - 0.102_083).abs() < 0.000_07, "{in_4h}");
    assert!(
        findings
            .iter()
            .all(|f| f.field != "library.cumulative" || f.source.starts_with("Infumorph label")),
        "the library's windows cite its source"
    );
    // A setting that belongs to the trial as started: refused, naming it.
    let clinician = p.login(CLINICIAN).await;
    let (name, message) = error_of(
        p.proxy
            .change_program(&clinician, "drug = \"fentanyl\"", true, NURSE.id, NURSE.pin)
            .await,
    );
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert!(
        message.starts_with("changes: drug: cannot be changed during a trial"),
        "{message}"
    );
    // Above the library's hard maximum (1 mg a bolus): refused naming it, and the refusal is
    // in the trial log with who asked, though the service decided it before the engine.
    let (name, message) = error_of(
        p.proxy
            .change_program(
                &clinician,
                "pca = { dose = \"5 mg\", lockout = \"30min\", max_per_hour = 2 }",
                true,
                NURSE.id,
                NURSE.pin,
            )
            .await,
    );
    assert_eq!(name, "org.titra.Pump1.Error.LimitExceeded");
    assert!(message.contains("hard maximum of 1 mg"), "{message}");
    {
        let service = p.shared.service.lock().await;
        assert!(service.engine().unwrap().journal().iter().any(|r| matches!(
            r,
            titra::journal::Record::Refused { what, by: titra::journal::Role::Clinician, .. }
                if what == "program change"
        )));
    }
    // More scheduled boluses than a program may have: refused naming the limit.
    let many = format!(
        "boluses = [{}]",
        (0..501)
            .map(|i| format!("{{ at = \"{}h\", dose = \"0.1 mg\" }}", 100 + i))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let (name, message) = error_of(p.proxy.check_program_change(&many).await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert!(
        message.contains("changes.boluses: 501 scheduled boluses, more than the 500"),
        "{message}"
    );
    // The second person's wrong PIN: refused, nothing changes.
    let (name, _) = error_of(
        p.proxy
            .change_program(&clinician, change, true, NURSE.id, "000000")
            .await,
    );
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
    assert_eq!(
        p.proxy.patient_bolus().await.unwrap(),
        "0.05 mg every 1 h at most, 1 per hour at most"
    );
    // With the check: in force at once. The lockout runs on from the bolus at 1 h: 30 min.
    let changed = p
        .proxy
        .change_program(&clinician, change, true, NURSE.id, NURSE.pin)
        .await
        .unwrap();
    assert_eq!(changed, side);
    assert_eq!(
        p.status().await.patient_bolus,
        "0.1 mg every 30 min at most, 2 per hour at most"
    );
    p.run_to_with_checks(h(1.5)).await;
    assert_eq!(
        p.proxy.request_bolus().await.unwrap(),
        "Bolus of 0.1 mg started."
    );
    // The summary lists it with both names; the audit names the clinician and the checker.
    let summary = p.summary().await;
    let c = &summary["program_changes"][0];
    assert_eq!(c["at_h"], 1.25);
    assert_eq!(c["by"], "Demo Clinician");
    assert_eq!(c["verified_by"], "Demo Nurse");
    assert_eq!(c["changes"][0]["setting"], "pca");
    assert_valid_summary(&summary);
    let service = p.shared.service.lock().await;
    let audit = service
        .engine()
        .unwrap()
        .journal()
        .iter()
        .find_map(|r| match r {
            titra::journal::Record::UserAction { action, name, .. }
                if action.starts_with("change the program") =>
            {
                Some((action.clone(), name.clone()))
            }
            _ => None,
        })
        .expect("audited");
    assert_eq!(audit.1, "Demo Clinician");
    assert!(audit.0.ends_with("verified by Demo Nurse"), "{}", audit.0);
}
