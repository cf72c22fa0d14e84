//! The daemon in German (issue 22): what a nurse, a clinician or the patient reads in the pump's
//! answers is in the site's language, while the trial log keeps the same event in English.

use titra::core::lang::{self, Language};
use titra::core::supervisor::State;
use titra::core::units::{Duration, Timestamp};
use titra::journal::Record;
use titra::service::auth::Peer;
use titra::service::pump::PumpService;

use crate::common::daemon::logged_service;
use crate::common::{CLINICIAN, NURSE, SECOND_NURSE, Staff, TempDir};

fn token(svc: &mut PumpService, who: Staff, now: Timestamp) -> String {
    svc.login(who.id, who.pin, Peer::Local, now).unwrap().0
}

fn run_to(svc: &mut PumpService, from: Timestamp, until: Timestamp) {
    let mut now = from;
    loop {
        now = svc.next_wake().unwrap_or(until).min(until).max(now);
        svc.tick(now).unwrap();
        if now >= until {
            return;
        }
    }
}

#[test]
fn the_answers_read_in_german_and_the_trial_log_keeps_them_in_english() {
    let dir = TempDir::new("german-answers");
    let log = dir.trial_log();
    lang::with(Language::German, || {
        let t0 = Timestamp::ORIGIN;
        let mut svc = logged_service(&dir, t0);
        svc.confirm_checklist_as_demo(true);
        let nurse = token(&mut svc, NURSE, t0);
        svc.start_trial(
            &nurse,
            &crate::common::continuous_morphine("MRN-GERMAN"),
            false,
            (SECOND_NURSE.id, SECOND_NURSE.pin),
            t0,
        )
        .unwrap();
        svc.prime(&nurse, t0).unwrap();
        let t = t0 + Duration::from_mins(2);
        run_to(&mut svc, t0, t);
        svc.start(&nurse, t).unwrap();
        let now = t + Duration::from_hours(1);
        run_to(&mut svc, t, now);
        assert_eq!(svc.state(), State::Running);

        // The patient's bolus, given and then refused, in German.
        assert_eq!(
            svc.request_bolus(now).unwrap(),
            "Bolus von 0.05 mg gestartet."
        );
        let (given, now) = (now, now + Duration::from_mins(10));
        run_to(&mut svc, given, now);
        let again = svc.request_bolus(now).unwrap_err().to_string();
        assert!(again.contains(" Nächste Dosis in "), "{again}");

        // A syringe change while delivering: refused in German.
        let nurse = token(&mut svc, NURSE, now);
        assert_eq!(
            svc.change_reservoir(&nurse, "20 mL", now)
                .unwrap_err()
                .to_string(),
            "Reservoirwechsel: zuerst die Abgabe pausieren"
        );

        // A clinician's bolus outside the usual range, not confirmed: refused in German.
        let clinician = token(&mut svc, CLINICIAN, now);
        let refused = svc
            .clinician_bolus(&clinician, "0.5 mg", false, (NURSE.id, NURSE.pin), now)
            .unwrap_err()
            .to_string();
        assert_eq!(
            refused,
            "ärztlicher Bolus von 0.5 mg: die Dosis liegt außerhalb des üblichen Bereichs und \
             wurde nicht bestätigt"
        );

        // Three wrong PINs lock the second nurse's login, said in German.
        for _ in 0..2 {
            let wrong = svc
                .login(SECOND_NURSE.id, "000000", Peer::Local, now)
                .unwrap_err()
                .to_string();
            assert!(
                wrong.starts_with("falsche PIN für Demo Nurse 2: nach "),
                "{wrong}"
            );
        }
        let locked = svc
            .login(SECOND_NURSE.id, "000000", Peer::Local, now)
            .unwrap_err()
            .to_string();
        assert!(
            locked.starts_with(
                "zu viele falsche PINs für Demo Nurse 2: die Anmeldung von Demo Nurse 2 ist für "
            ),
            "{locked}"
        );
        assert!(
            locked.ends_with(
                " gesperrt. Anderes Personal kann sich anmelden, und „Abgabe stoppen“ braucht \
                 keine Anmeldung"
            ),
            "{locked}"
        );
    });

    // The trial log, as an export reads it: the same events in English.
    let mut store = titra::store::TrialLog::open(&log).unwrap();
    let stored = store.latest_trial().unwrap();
    let records = store.records(stored.id).unwrap();
    let refusals: Vec<(&str, &str)> = records
        .iter()
        .filter_map(|r| match r {
            Record::Refused { what, reason, .. } => Some((what.as_str(), reason.as_str())),
            _ => None,
        })
        .collect();
    assert!(
        refusals.contains(&("reservoir change", "pause delivery first")),
        "{refusals:?}"
    );
    assert!(
        refusals.contains(&(
            "clinician bolus of 0.5 mg",
            "the dose is outside the usual range and was not confirmed"
        )),
        "{refusals:?}"
    );
    // The lock is logged (who and when, no text), and every login as its English action.
    assert!(
        records
            .iter()
            .any(|r| matches!(r, Record::LoginLocked { name, .. } if name == "Demo Nurse 2"))
    );
    let actions: Vec<&str> = records
        .iter()
        .filter_map(|r| match r {
            Record::UserAction { action, .. } => Some(action.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        actions.contains(&"log in (the pump's own screen)"),
        "{actions:?}"
    );
    // Nothing the log holds was written in German.
    let text = format!("{records:?}");
    for german in ["Reservoirwechsel", "ärztlicher", "Abgabe", "gesperrt"] {
        assert!(!text.contains(german), "the log holds {german:?}");
    }
}
