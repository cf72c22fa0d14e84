//! The D-Bus methods' arguments: a sequence of calls, each with arguments of any value, made
//! on the handlers' bodies (`PumpService`, what `org.titra.Pump1` calls) of a simulated pump
//! in virtual time. Nothing may panic, a refusal always says why, and whatever was called, no
//! delivery crosses the drug library's hard limits or happens while a HIGH alarm stands.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use titra::core::units::{Duration, Timestamp};
use titra::service::auth::Peer;
use titra::service::pump::{PumpService, ServiceError, Vitals};

#[path = "invariants.rs"]
mod invariants;
use invariants::check_journal;

const PROGRAM: &str = r#"
[trial]
patient = "MRN-FUZZ"
route = "intrathecal"
kind = "continuous"
duration = "1d"
[program]
drug = "morphine"
concentration = "1 mg/mL"
reservoir = "20 mL"
basal = "1 mg/day"
pca = { dose = "0.05 mg", lockout = "30min", max_per_hour = 1 }
"#;

#[derive(Debug, Arbitrary)]
enum Call {
    Login(String, String),
    StopDelivery,
    LoginNurse,
    LoginClinician,
    StartTrial {
        text: String,
        confirm: bool,
        user: String,
        pin: String,
    },
    StartExample,
    Validate(String),
    CheckBasal(String),
    CheckProgramChange(String),
    ChangeProgram {
        changes: String,
        confirm: bool,
    },
    ChangeBasal {
        basal: String,
        confirm: bool,
        user: String,
        pin: String,
    },
    ClinicianBolus {
        dose: String,
        confirm: bool,
    },
    RequestBolus,
    Prime,
    Start,
    Pause,
    Resume,
    Acknowledge,
    Silence(u32),
    ChangeReservoir(String),
    RecordPain(u8),
    RecordSideEffect(String, String),
    RecordSedation(u8),
    RecordVitals(Option<u16>, u16, u8, f64),
    RecordSiteCheck(f64, Vec<String>),
    RecordFunction(u8),
    RecordPgic(u8),
    RecordSpasticity(String, String),
    ReviewSedation(String),
    ConfirmChecklistItem(String),
    OverrideChecklist(String),
    RecordDecision(String, String, String, String),
    RecordCatheterRemoval(String),
    ConfirmImplant(String),
    InjectFault(String, bool),
    EndTrial,
    /// Lets time pass, up to a day.
    Wait(u32),
}

fn said(r: Result<impl Sized, ServiceError>) {
    if let Err(e) = r {
        assert!(!e.to_string().is_empty(), "a refusal says why");
    }
}

fuzz_target!(|calls: Vec<Call>| {
    let mut now = Timestamp::ORIGIN;
    let Ok(mut s) = PumpService::simulated_demo(now) else {
        panic!("the demo pump starts");
    };
    let mut token = String::new();
    for call in calls.into_iter().take(64) {
        let t = token.clone();
        match call {
            Call::Login(user, pin) => {
                if let Ok((tok, _)) = s.login(&user, &pin, Peer::Local, now) {
                    token = tok;
                }
            }
            Call::StopDelivery => said(s.stop_delivery(&Peer::Local, now)),
            Call::LoginNurse => {
                token = s
                    .login("nurse", "123456", Peer::Local, now)
                    .map(|x| x.0)
                    .unwrap_or_default()
            }
            Call::LoginClinician => {
                token = s
                    .login("clinician", "246810", Peer::Local, now)
                    .map(|x| x.0)
                    .unwrap_or_default()
            }
            Call::StartTrial {
                text,
                confirm,
                user,
                pin,
            } => said(s.start_trial(&t, &text, confirm, (&user, &pin), now)),
            Call::StartExample => {
                said(s.start_trial(&t, PROGRAM, false, ("nurse2", "567890"), now))
            }
            Call::Validate(text) => said(s.validate(&text)),
            Call::CheckBasal(b) => said(s.check_basal(&b, now)),
            Call::CheckProgramChange(c) => said(s.check_program_change(&c, now)),
            Call::ChangeProgram { changes, confirm } => said(s.change_program(
                &t,
                &changes,
                confirm,
                ("nurse2", "567890"),
                now,
            )),
            Call::ChangeBasal {
                basal,
                confirm,
                user,
                pin,
            } => said(s.change_basal(&t, &basal, confirm, (&user, &pin), now)),
            Call::ClinicianBolus { dose, confirm } => {
                said(s.clinician_bolus(&t, &dose, confirm, ("nurse", "123456"), now))
            }
            Call::RequestBolus => said(s.request_bolus(now)),
            Call::Prime => said(s.prime(&t, now)),
            Call::Start => said(s.start(&t, now)),
            Call::Pause => said(s.pause(&t, now)),
            Call::Resume => said(s.resume(&t, now)),
            Call::Acknowledge => said(s.acknowledge(&t, now)),
            Call::Silence(secs) => said(s.silence(&t, secs, now)),
            Call::ChangeReservoir(v) => said(s.change_reservoir(&t, &v, now)),
            Call::RecordPain(v) => said(s.record_pain(v, now)),
            Call::RecordSideEffect(e, sev) => said(s.record_side_effect(&e, &sev, now)),
            Call::RecordSedation(p) => said(s.record_sedation(&t, p, now)),
            Call::RecordVitals(rr, hr, spo2, temperature_c) => said(s.record_vitals(
                &t,
                Vitals {
                    respiratory_rate: rr,
                    heart_rate: hr,
                    spo2,
                    temperature_c,
                },
                now,
            )),
            Call::RecordSiteCheck(temp, findings) => {
                said(s.record_site_check(&t, temp, &findings, now))
            }
            Call::RecordFunction(a) => said(s.record_function(a, now)),
            Call::RecordPgic(v) => said(s.record_pgic(v, now)),
            Call::RecordSpasticity(score, muscles) => {
                said(s.record_spasticity(&t, &score, &muscles, now))
            }
            Call::ReviewSedation(note) => said(s.review_sedation(&t, &note, now)),
            Call::ConfirmChecklistItem(id) => said(s.confirm_checklist_item(&t, &id, now)),
            Call::OverrideChecklist(reason) => said(s.override_checklist(&t, &reason, now)),
            Call::RecordDecision(o, r, w, i) => said(s.record_decision(&t, &o, &r, &w, &i, now)),
            Call::RecordCatheterRemoval(note) => said(s.record_catheter_removal(&t, &note, now)),
            Call::ConfirmImplant(dose) => said(s.confirm_implant(&t, &dose, "", now)),
            Call::InjectFault(f, on) => said(s.inject_fault(&f, on)),
            Call::EndTrial => said(s.end_trial(&t, now)),
            Call::Wait(secs) => {
                let until = now + Duration::from_secs(u64::from(secs % 86_400));
                while let Some(next) = s.next_wake().filter(|&w| w <= until) {
                    now = next.max(now);
                    let _ = s.tick(now);
                    if next <= now && s.next_wake() == Some(next) {
                        break;
                    }
                }
                now = until.max(now);
                let _ = s.tick(now);
            }
        }
    }
    // Whatever was called: every rolling window within the library's hard caps, and no
    // delivery after a HIGH alarm before a resume.
    if let Some(e) = s.engine() {
        check_journal(e.journal(), &e.entry().cumulative);
    }
});
