//! A new trial on the same pump (issue 18): a syringe change and a fresh prime with no false
//! stall; for the same patient within the longest dose window, a clinician starts it and it
//! takes over the doses in every window, the lockout and any sedation hold.

use crate::common::p2p::{PROGRAM, Pump, error_of, pump};
use crate::common::{CLINICIAN, NURSE, h};

/// A clinician programs `program` again for the same patient (the nurse checks), primes and
/// starts it; the clinician's token.
async fn restart(p: &Pump, program: &str) -> String {
    let clinician = p.login(CLINICIAN).await;
    p.proxy
        .start_trial(&clinician, program, false, NURSE.id, NURSE.pin)
        .await
        .unwrap();
    p.proxy.prime(&clinician).await.unwrap();
    p.proxy.start(&clinician).await.unwrap();
    clinician
}

#[tokio::test]
async fn a_new_trial_for_the_same_patient_needs_a_clinician_and_primes_without_a_false_stall() {
    let p = pump().await;
    p.running().await;
    p.run_to(h(2.0)).await;
    let nurse = p.login(NURSE).await;
    p.proxy.end_trial(&nurse).await.unwrap();
    let (name, message) = error_of(
        p.proxy
            .start_trial(&nurse, PROGRAM, false, CLINICIAN.id, CLINICIAN.pin)
            .await,
    );
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
    assert!(message.contains("a clinician must start"), "{message}");
    restart(&p, PROGRAM).await;
    p.run_to(h(3.0)).await;
    assert_eq!(p.proxy.pump_state().await.unwrap(), "running");
    let alarms = p.proxy.active_alarms().await.unwrap();
    assert!(alarms.is_empty(), "{alarms:?}");
    // Another patient's trial carries nothing and needs no clinician.
    let nurse = p.login(NURSE).await;
    p.proxy.end_trial(&nurse).await.unwrap();
    p.proxy
        .start_trial(
            &nurse,
            &PROGRAM.replace("MRN-DBUS", "MRN-OTHER"),
            false,
            CLINICIAN.id,
            CLINICIAN.pin,
        )
        .await
        .unwrap();
    p.proxy.prime(&nurse).await.unwrap();
    p.proxy.start(&nurse).await.unwrap();
    assert!(p.proxy.active_alarms().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_patient_bolus_lockout_carries_into_the_new_trial() {
    let p = pump().await;
    p.running().await;
    p.run_to(h(1.0)).await;
    p.proxy.request_bolus().await.unwrap();
    p.run_to(h(1.2)).await;
    let nurse = p.login(NURSE).await;
    p.proxy.end_trial(&nurse).await.unwrap();
    restart(&p, PROGRAM).await;
    // The lockout of 1 h from the bolus at 1 h still runs in the new trial.
    let (name, message) = error_of(p.proxy.request_bolus().await);
    assert_eq!(name, "org.titra.Pump1.Error.LockoutActive");
    assert!(
        message.contains("Next dose available in 48 min."),
        "{message}"
    );
    p.run_to(h(2.0)).await;
    p.proxy.request_bolus().await.unwrap();
}

#[tokio::test]
async fn a_window_near_its_cap_carries_into_the_new_trial() {
    // Worked by hand. 1 mg/day is 0.04167 mg/h; the program's own limit is 0.25 mg in 4 h.
    // A bolus of 0.05 mg at 3 h, the trial ended and restarted at 3 h 10 min. At 4 h 10 min
    // the last 4 h hold 3 h of the old basal (0.125 mg), its bolus (0.05 mg) and 1 h of the new
    // basal (0.0417 mg): 0.2167 mg, and a 0.05 mg bolus would make 0.2667 mg > 0.25 mg.
    // Without the carried doses the new trial would count 0.0417 + 0.05 + the basal to come
    // (3 h, 0.125 mg) = 0.2167 mg, and grant it.
    let program = PROGRAM.replace(
        "max_per_hour = 1 }",
        "max_per_hour = 1 }\nlimit = { window = \"4h\", max = \"0.25 mg\" }",
    );
    let p = pump().await;
    let nurse = p.primed(&program).await;
    p.proxy.start(&nurse).await.unwrap();
    p.run_to_with_checks(h(3.0)).await;
    p.proxy.request_bolus().await.unwrap();
    p.run_to_with_checks(h(3.0) + titra::core::units::Duration::from_mins(10))
        .await;
    let nurse = p.login(NURSE).await;
    p.proxy.end_trial(&nurse).await.unwrap();
    restart(&p, &program).await;
    p.run_to_with_checks(h(4.0) + titra::core::units::Duration::from_mins(10))
        .await;
    let (name, message) = error_of(p.proxy.request_bolus().await);
    assert_eq!(name, "org.titra.Pump1.Error.LimitExceeded");
    assert!(message.contains("0.25 mg in 4 h"), "{message}");
}

#[tokio::test]
async fn a_sedation_hold_carries_into_the_new_trial_until_a_clinician_reviews() {
    let p = pump().await;
    let nurse = p.running().await;
    p.proxy.record_sedation(&nurse, 3).await.unwrap();
    assert_eq!(p.proxy.pump_state().await.unwrap(), "alarm");
    p.proxy.end_trial(&nurse).await.unwrap();
    let clinician = p.login(CLINICIAN).await;
    p.proxy
        .start_trial(&clinician, PROGRAM, false, NURSE.id, NURSE.pin)
        .await
        .unwrap();
    let alarms = p.proxy.active_alarms().await.unwrap();
    assert!(
        alarms.iter().any(|(kind, ..)| kind == "sedation"),
        "{alarms:?}"
    );
    let refused = match p.proxy.prime(&clinician).await {
        Err(e) => Some(e),
        Ok(()) => p.proxy.start(&clinician).await.err(),
    };
    assert!(refused.is_some(), "delivery must wait for the review");
    p.proxy
        .review_sedation(&clinician, "Awake, breathing 14")
        .await
        .unwrap();
    p.proxy.acknowledge_alarms(&clinician).await.unwrap();
    let state = p.proxy.pump_state().await.unwrap();
    if state == "verified" {
        p.proxy.prime(&clinician).await.unwrap();
    }
    p.proxy.start(&clinician).await.unwrap();
    assert_eq!(p.proxy.pump_state().await.unwrap(), "running");
}
