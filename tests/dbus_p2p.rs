//! `org.titra.Pump1` between the interface and the shared proxy over a peer-to-peer
//! `UnixStream::pair()` link (no bus daemon), in virtual time: methods, properties, signals and
//! every typed error; refused calls change nothing.

use std::sync::Arc;

use futures_util::StreamExt;
use titra::check;
use titra::config::HardwareConfig;
use titra::core::units::{Duration, Timestamp};
use titra::service::auth::Auth;
use titra::service::dbus::{ManualClock, OBJECT_PATH, Pump1Proxy, PumpIface, Shared, run_until};
use titra::service::pump::{Hardware, PumpService};
use titra::sim::SimPump;
use zbus::Connection;
use zbus::connection::Builder;

const PROGRAM: &str = r#"
[trial]
patient = "MRN-DBUS"
route = "intrathecal"
kind = "continuous"
duration = "3d"
baseline_pain = 7

[program]
drug = "morphine"
concentration = "1 mg/mL"
reservoir = "20 mL"
basal = "1 mg/day"
pca = { dose = "0.05 mg", lockout = "1h", max_per_hour = 1 }
"#;

struct Pump {
    shared: Arc<Shared>,
    clock: ManualClock,
    server: Connection,
    proxy: Pump1Proxy<'static>,
    _client: Connection,
}

async fn pump() -> Pump {
    let cfg = HardwareConfig::built_in().unwrap();
    let (library, source) = check::load_library(None).unwrap();
    let hw: Hardware = Box::new(SimPump::new(
        &cfg.mechanism,
        &cfg.simulation,
        cfg.mechanism.syringe,
    ));
    let service = PumpService::new(
        cfg,
        library,
        source,
        Auth::demo().unwrap(),
        hw,
        None,
        Timestamp::ORIGIN,
    )
    .unwrap();
    let clock = ManualClock::default();
    let shared = Shared::new(service, Arc::new(clock.clone()));
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let guid = zbus::Guid::generate();
    let (server, client) = tokio::join!(
        Builder::unix_stream(a)
            .server(guid)
            .p2p()
            .serve_at(OBJECT_PATH, PumpIface::new(shared.clone()))
            .build(),
        Builder::unix_stream(b).p2p().build(),
    );
    let client = client.unwrap();
    let proxy = Pump1Proxy::new(&client).await.unwrap();
    Pump {
        shared,
        clock,
        server: server.unwrap(),
        proxy,
        _client: client,
    }
}

impl Pump {
    async fn run_to(&self, t: Timestamp) {
        run_until(&self.shared, &self.server, &self.clock, t)
            .await
            .unwrap();
    }

    async fn login(&self, pin: &str) -> String {
        self.proxy.login(pin).await.unwrap().0
    }

    async fn running(&self) -> String {
        let nurse = self.login("1234").await;
        self.proxy
            .start_trial(&nurse, PROGRAM, false, "5678")
            .await
            .unwrap();
        self.proxy.prime(&nurse).await.unwrap();
        self.proxy.start(&nurse).await.unwrap();
        nurse
    }
}

fn h(hours: f64) -> Timestamp {
    Timestamp::from_ms((hours * 3_600_000.0) as u64)
}

/// The D-Bus error name and message of a failed call.
fn error_of<T: std::fmt::Debug>(r: zbus::Result<T>) -> (String, String) {
    match r {
        Err(zbus::Error::MethodError(name, message, _)) => {
            (name.to_string(), message.unwrap_or_default())
        }
        other => panic!("expected a D-Bus error, got {other:?}"),
    }
}

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
    p.run_to(h(1.0)).await;
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
    p.run_to(h(1.5)).await;
    let (name, message) = error_of(p.proxy.request_bolus().await);
    assert_eq!(name, "org.titra.Pump1.Error.LockoutActive");
    assert!(
        message.contains("Next dose available in 30min"),
        "{message}"
    );
    let d = decisions.next().await.unwrap();
    let args = d.args().unwrap();
    assert!(!args.granted);
    assert_eq!(args.available_at_ms, 2 * 3_600_000);

    // A blocked line: HIGH alarm, signalled and shown.
    p.proxy.inject_fault("occlusion", true).await.unwrap();
    p.run_to(h(3.0)).await;
    let a = raised.next().await.unwrap();
    let args = a.args().unwrap();
    assert_eq!((args.kind(), args.priority()), (&"occlusion", &"high"));
    assert_eq!(p.proxy.pump_state().await.unwrap(), "alarm");
    // Hours passed: the nurse's session ended long ago (3 minutes idle); she logs in again.
    let nurse = p.login("1234").await;
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
    let clinician = p.login("2468").await;
    let (old, new) = p
        .proxy
        .change_basal(&clinician, "2 mg/day", false, "1234")
        .await
        .unwrap();
    assert_eq!((old.as_str(), new.as_str()), ("1 mg/day", "2 mg/day"));
    p.proxy.record_pain(4).await.unwrap();
    p.proxy
        .record_side_effect("pruritus", "mild")
        .await
        .unwrap();
    p.proxy.record_sedation(&nurse, 1).await.unwrap();
    p.proxy.record_vitals(&nurse, 14, 72, 97).await.unwrap();
    p.run_to(h(6.0)).await;
    let clinician = p.login("2468").await;
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
            .start_trial("no-token", PROGRAM, false, "5678")
            .await,
    );
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
    assert!(message.contains("log in"), "{message}");
    assert_eq!(p.proxy.pump_state().await.unwrap(), "idle");
    let nurse = p.login("1234").await;
    // The second check must be another person.
    let (name, message) = error_of(p.proxy.start_trial(&nurse, PROGRAM, false, "1234").await);
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
    assert!(message.contains("another nurse or clinician"), "{message}");
    assert_eq!(p.proxy.pump_state().await.unwrap(), "idle");
    p.proxy
        .start_trial(&nurse, PROGRAM, false, "5678")
        .await
        .unwrap();
    // Only a clinician titrates or gives a clinician bolus.
    let (name, _) = error_of(p.proxy.clinician_bolus(&nurse, "0.1 mg", false).await);
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
    let (name, _) = error_of(
        p.proxy
            .change_basal(&nurse, "2 mg/day", false, "2468")
            .await,
    );
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
    // A wrong PIN counts toward the lock.
    let (name, message) = error_of(p.proxy.login("0000").await);
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
    assert!(message.contains("4 tries left"), "{message}");
    // Sessions end after 3 minutes idle.
    p.clock.set(Timestamp::ORIGIN + Duration::from_mins(4));
    let (name, _) = error_of(p.proxy.prime(&nurse).await);
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
    assert_eq!(p.proxy.pump_state().await.unwrap(), "verified");
}

#[tokio::test]
async fn limits_bad_input_and_wrong_states_are_typed_errors() {
    let p = pump().await;
    let nurse = p.login("1234").await;
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
                "5678",
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
                "5678",
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
                "5678",
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
            .any(|f| f.0 == "program.basal" && f.3 == "soft")
    );

    p.running().await;
    let (name, message) = error_of(p.proxy.record_pain(11).await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    assert!(message.contains("11 is outside 0 to 10"), "{message}");
    let (name, _) = error_of(p.proxy.record_side_effect("hiccups", "mild").await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");
    let clinician = p.login("2468").await;
    let (name, message) = error_of(
        p.proxy
            .change_basal(&clinician, "25 mg/day", true, "1234")
            .await,
    );
    assert_eq!(name, "org.titra.Pump1.Error.LimitExceeded");
    assert!(message.contains("hard maximum"), "{message}");
    assert_eq!(p.proxy.basal_per_day().await.unwrap(), "1 mg/day");
    let (name, _) = error_of(p.proxy.clinician_bolus(&clinician, "5 mg", true).await);
    assert_eq!(name, "org.titra.Pump1.Error.LimitExceeded");
    let (name, _) = error_of(p.proxy.inject_fault("gremlins", true).await);
    assert_eq!(name, "org.titra.Pump1.Error.InvalidInput");

    // A reservoir is changed only while paused.
    let nurse = p.login("1234").await;
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
