//! The real D-Bus interface: `org.titra.Pump1` (`PumpIface`, with its input limits and rate
//! limits) served on a zbus peer-to-peer link to a simulated pump in virtual time, and a
//! sequence of calls through the clients' proxy — and raw calls of any method with any body —
//! with arguments of any value and size (up to 256 KiB). Nothing may panic, the link must stay
//! up, every refusal is a D-Bus error with a message, and whatever was called, no delivery
//! crosses the drug library's hard limits or happens while a HIGH alarm stands.
#![no_main]

use std::sync::{Arc, OnceLock};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use titra::core::units::{Duration, Timestamp};
use titra::service::dbus::{OBJECT_PATH, Pump1Proxy, PumpError, PumpIface, Shared, run_until};
use titra::service::pump::PumpService;
use titra::time::{Clock as _, ManualClock};
use zbus::connection::Builder;

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

/// A string argument: as the fuzzer wrote it, or one repeated to a size of its choosing (to
/// reach and pass every limit).
#[derive(Debug, Arbitrary)]
enum Text {
    Given(String),
    Repeated(String, u16),
    Token,
    Nurse,
    Pin,
    Program,
}

impl Text {
    fn get(&self, token: &str) -> String {
        match self {
            Text::Given(s) => s.clone(),
            // At most 256 KiB: four times the largest limit.
            Text::Repeated(s, n) => {
                let unit = if s.is_empty() { "x" } else { s.as_str() };
                let times = (usize::from(*n) * 4).min(262_144 / unit.len().max(1));
                unit.repeat(times)
            }
            Text::Token => token.to_owned(),
            Text::Nurse => "nurse2".to_owned(),
            Text::Pin => "567890".to_owned(),
            Text::Program => PROGRAM.to_owned(),
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Call {
    ListStaff,
    Login(Text, Text),
    LoginNurse,
    LoginClinician,
    Logout(Text),
    StopDelivery,
    ValidateProgram(Text),
    StartTrial(Text, bool, Text, Text),
    Prime,
    Start,
    Pause,
    Resume,
    EndTrial,
    ChangeBasal(Text, bool, Text, Text),
    CheckBasal(Text),
    ChangeProgram(Text, bool, Text, Text),
    CheckProgramChange(Text),
    ConfirmChecklistItem(Text),
    OverrideChecklist(Text),
    RecordDecision(Text, Text, Text, Text),
    RecordAssessment(Text, Text),
    ClinicianBolus(Text, bool),
    RequestBolus,
    RecordPain(u8),
    RecordFunction(u8),
    RecordPgic(u8),
    RecordSpasticity(Text, Text),
    RecordSideEffect(Text, Text),
    RecordSedation(u8),
    RecordVitals(i32, u16, u8, f64),
    RecordSiteCheck(f64, Vec<Text>),
    ReviewSedation(Text),
    AcknowledgeAlarms,
    SilenceAlarms(u32),
    ChangeReservoir(Text),
    ConfirmImplantDose(Text),
    RecordSystemicOpioids(Text),
    ExportSummary,
    InjectFault(Text, bool),
    /// Any method, by name, with a body of one string (most methods refuse its signature).
    Raw(Text, Text),
    /// Lets time pass, up to a day, as the daemon's loop runs the pump.
    Wait(u32),
}

/// Every refusal is a D-Bus error with a message; the link never fails.
fn said<T>(r: Result<T, PumpError>) {
    use zbus::DBusError as _;
    match r {
        Ok(_) => {}
        Err(PumpError::ZBus(zbus::Error::MethodError(name, message, _))) => {
            assert!(
                message.is_some_and(|m| !m.is_empty()),
                "{name} without a message"
            );
        }
        // zbus's own standard errors (an unknown method, arguments of the wrong signature or
        // not valid D-Bus: a string with a NUL in it is refused by zbus with InvalidArgs and no
        // message, before the interface sees it): a D-Bus error, named.
        Err(PumpError::ZBus(zbus::Error::FDO(e))) => {
            assert!(e.name().starts_with("org.freedesktop.DBus.Error."), "{e}")
        }
        Err(PumpError::ZBus(other)) => panic!("the link failed: {other}"),
        Err(e) => assert!(
            e.description().is_some_and(|m| !m.is_empty()),
            "{} without a message",
            e.name()
        ),
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

fuzz_target!(|calls: Vec<Call>| {
    runtime().block_on(run(calls));
});

async fn run(calls: Vec<Call>) {
    let clock = ManualClock::default();
    clock.set(Timestamp::ORIGIN);
    let Ok(service) = PumpService::simulated_demo(Timestamp::ORIGIN) else {
        panic!("the demo pump starts");
    };
    let shared = Shared::new(service, Arc::new(clock.clone()));
    let iface = PumpIface::new(shared.clone());
    let (a, b) = std::os::unix::net::UnixStream::pair().expect("a socket pair");
    let server = Builder::unix_stream(a)
        .server(zbus::Guid::generate())
        .p2p()
        .serve_at(OBJECT_PATH, iface);
    let (server, client) = tokio::join!(server.build(), Builder::unix_stream(b).p2p().build());
    let (server, client) = (server.expect("the server"), client.expect("the client"));
    let px = Pump1Proxy::new(&client).await.expect("the proxy");
    let mut token = String::new();
    for call in calls.into_iter().take(48) {
        let t = token.clone();
        let g = |x: &Text| x.get(&t);
        match call {
            Call::ListStaff => said(px.list_staff().await),
            Call::Login(u, p) => match px.login(&g(&u), &g(&p)).await {
                Ok((tok, ..)) => token = tok,
                r => said(r),
            },
            Call::LoginNurse => match px.login("nurse", "123456").await {
                Ok((tok, ..)) => token = tok,
                r => said(r),
            },
            Call::LoginClinician => match px.login("clinician", "246810").await {
                Ok((tok, ..)) => token = tok,
                r => said(r),
            },
            Call::Logout(x) => said(px.logout(&g(&x)).await),
            Call::StopDelivery => said(px.stop_delivery().await),
            Call::ValidateProgram(p) => said(px.validate_program(&g(&p)).await),
            Call::StartTrial(p, c, u, pin) => {
                said(px.start_trial(&t, &g(&p), c, &g(&u), &g(&pin)).await)
            }
            Call::Prime => said(px.prime(&t).await),
            Call::Start => said(px.start(&t).await),
            Call::Pause => said(px.pause(&t).await),
            Call::Resume => said(px.resume(&t).await),
            Call::EndTrial => said(px.end_trial(&t).await),
            Call::ChangeBasal(b, c, u, pin) => {
                said(px.change_basal(&t, &g(&b), c, &g(&u), &g(&pin)).await)
            }
            Call::CheckBasal(b) => said(px.check_basal(&g(&b)).await),
            Call::ChangeProgram(c, confirm, u, pin) => {
                said(px.change_program(&t, &g(&c), confirm, &g(&u), &g(&pin)).await)
            }
            Call::CheckProgramChange(c) => said(px.check_program_change(&g(&c)).await),
            Call::ConfirmChecklistItem(id) => said(px.confirm_checklist_item(&t, &g(&id)).await),
            Call::OverrideChecklist(r) => said(px.override_checklist(&t, &g(&r)).await),
            Call::RecordDecision(o, r, w, i) => {
                said(px.record_decision(&t, &g(&o), &g(&r), &g(&w), &g(&i)).await)
            }
            Call::RecordAssessment(o, n) => said(px.record_assessment(&t, &g(&o), &g(&n)).await),
            Call::ClinicianBolus(d, c) => {
                said(px.clinician_bolus(&t, &g(&d), c, "nurse2", "567890").await)
            }
            Call::RequestBolus => said(px.request_bolus().await),
            Call::RecordPain(v) => said(px.record_pain(v).await),
            Call::RecordFunction(v) => said(px.record_function(v).await),
            Call::RecordPgic(v) => said(px.record_pgic(v).await),
            Call::RecordSpasticity(s, m) => said(px.record_spasticity(&t, &g(&s), &g(&m)).await),
            Call::RecordSideEffect(e, s) => said(px.record_side_effect(&g(&e), &g(&s)).await),
            Call::RecordSedation(p) => said(px.record_sedation(&t, p).await),
            Call::RecordVitals(rr, hr, spo2, temp) => {
                said(px.record_vitals(&t, rr, hr, spo2, temp).await)
            }
            Call::RecordSiteCheck(temp, findings) => {
                let findings: Vec<String> = findings.iter().take(64).map(g).collect();
                said(px.record_site_check(&t, temp, findings).await)
            }
            Call::ReviewSedation(n) => said(px.review_sedation(&t, &g(&n)).await),
            Call::AcknowledgeAlarms => said(px.acknowledge_alarms(&t).await),
            Call::SilenceAlarms(s) => said(px.silence_alarms(&t, s).await),
            Call::ChangeReservoir(v) => said(px.change_reservoir(&t, &g(&v)).await),
            Call::ConfirmImplantDose(d) => said(px.confirm_implant_dose(&t, &g(&d)).await),
            Call::RecordSystemicOpioids(o) => said(px.record_systemic_opioids(&t, &g(&o)).await),
            Call::ExportSummary => said(px.export_summary(&t).await),
            Call::InjectFault(f, on) => said(px.inject_fault(&g(&f), on).await),
            Call::Raw(method, arg) => {
                let method = g(&method);
                let Ok(member) = zbus::names::MemberName::try_from(method.as_str()) else {
                    continue;
                };
                let r = client
                    .call_method(
                        None::<&str>,
                        OBJECT_PATH,
                        Some("org.titra.Pump1"),
                        member,
                        &(g(&arg),),
                    )
                    .await;
                said::<zbus::message::Message>(r.map_err(PumpError::ZBus));
            }
            Call::Wait(secs) => {
                let until = clock.now() + Duration::from_secs(u64::from(secs % 86_400));
                run_until(&shared, &server, &clock, until)
                    .await
                    .expect("the pump runs");
            }
        }
    }
    let s = shared.service.lock().await;
    if let Some(e) = s.engine() {
        check_journal(e.journal(), &e.entry().cumulative);
    }
}
