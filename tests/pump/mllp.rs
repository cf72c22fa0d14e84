//! A simulated 3-day trial sends its IHE PCD messages over MLLP (issue 23) to a listener no one
//! here wrote the checks of (tests/hl7/mllp_listener.py: hl7apy's strict parse, then the IHE
//! rules), with the network pulled away for hours on the second day: delivery goes on, the
//! messages wait in the trial log's outbox, the LOW alarm sounds, and once the listener is back
//! every message arrives, in order, none lost. When the clinician confirms the implant's dose,
//! the trial summary's FHIR Bundle goes through the same outbox to a real FHIR server
//! (tests/fhir/server.js, Medplum's), which gives it back by search.

use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use titra::core::supervisor::{AlarmKind, State};
use titra::core::units::{Duration, Timestamp};
use titra::input::hardware::{FhirEndpoint, IntegrationConfig, MllpEndpoint};
use titra::service::auth::Peer;
use titra::service::outbound::{Sender, Timing, fhir::Fhir, mllp::Mllp};
use titra::service::pump::PumpService;

use crate::common::daemon::FakeWall;
use crate::common::{CLINICIAN, NURSE, SECOND_NURSE, Staff, TempDir, repository_path};

/// The listener, started on `port` (0: any free one), writing what it accepts to `out`; and
/// the port it listens on.
fn listener(port: u16, out: &std::path::Path) -> (Child, u16) {
    let mut cmd = Command::new("python3");
    cmd.arg(repository_path("tests/hl7/mllp_listener.py"))
        .args([
            "--port",
            &port.to_string(),
            "--hl7apy-every",
            "250",
            "--out",
        ])
        .arg(out);
    crate::common::listening(cmd)
}

struct Pump {
    svc: PumpService,
    now: Timestamp,
}

impl Pump {
    fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        loop {
            let next = self
                .svc
                .next_wake()
                .unwrap_or(until)
                .min(until)
                .max(self.now);
            self.now = next;
            self.svc.tick(next).unwrap();
            if next >= until {
                return;
            }
        }
    }

    fn as_nurse(
        &mut self,
        f: impl FnOnce(
            &mut PumpService,
            &str,
            Timestamp,
        ) -> Result<(), titra::service::pump::ServiceError>,
    ) {
        self.as_user(NURSE, f);
    }

    fn as_user(
        &mut self,
        who: Staff,
        f: impl FnOnce(
            &mut PumpService,
            &str,
            Timestamp,
        ) -> Result<(), titra::service::pump::ServiceError>,
    ) {
        let now = self.now;
        let token = self.svc.login(who.id, who.pin, Peer::Local, now).unwrap().0;
        f(&mut self.svc, &token, now).unwrap();
    }

    fn waiting(&self) -> u64 {
        self.svc
            .outbox_backlog()
            .iter()
            .map(|(_, b)| b.messages)
            .sum()
    }

    fn alarm(&self) -> bool {
        self.svc.engine().is_some_and(|e| {
            e.active_alarms()
                .any(|a| a.kind == AlarmKind::OutboxBacklog)
        })
    }

    /// Waits (real time, at most two minutes) until the sender has sent everything.
    fn until_sent(&self) {
        for _ in 0..12_000 {
            if self.waiting() == 0 {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("{} messages still waiting", self.waiting());
    }

    /// Runs for `d` two hours at a time, letting the sender catch up after each: the virtual
    /// clock runs days in seconds, far faster than any network, and the messages of two hours
    /// (about 120) stay under the alarm's threshold as a minute's do on a real pump.
    fn run_sending(&mut self, d: Duration) {
        let until = self.now + d;
        while self.now < until {
            let step = Duration::from_hours(2).min(Duration::from_ms(until.ms() - self.now.ms()));
            self.run_for(step);
            self.until_sent();
        }
    }
}

/// A pump on simulated hardware whose site names the MLLP listener on `port` and the FHIR
/// server on `fhir_port`, its trial log at `db`; and those two endpoints.
fn integrated_pump(
    db: &std::path::Path,
    port: u16,
    fhir_port: u16,
) -> (Pump, MllpEndpoint, FhirEndpoint) {
    let mut cfg = titra::input::hardware::HardwareConfig::built_in().unwrap();
    cfg.integration = Some(IntegrationConfig {
        eui64: "0012A3FFFE4B5C6D".to_owned(),
        facility: "WARD7".to_owned(),
        mllp: vec![MllpEndpoint {
            name: "engine".to_owned(),
            host: "127.0.0.1".to_owned(),
            port,
            tls_ca: None,
        }],
        // Two hours of messages (the virtual clock's steps, below) never sound it; six hours
        // of an outage do.
        backlog_alarm: 200,
        patient_system: Some("urn:oid:1.2.3.4.5.6".to_owned()),
        fhir: vec![FhirEndpoint {
            name: "records".to_owned(),
            url: format!("http://127.0.0.1:{fhir_port}/"),
            tls_ca: None,
        }],
    });
    let (library, source) = titra::input::check::load_library(None).unwrap();
    let sim = titra::sim::SimPump::new(&cfg.mechanism, &cfg.simulation, cfg.mechanism.syringe);
    let endpoint = cfg.integration.as_ref().unwrap().mllp[0].clone();
    let records = cfg.integration.as_ref().unwrap().fhir[0].clone();
    let mut svc = PumpService::new(
        cfg,
        library,
        source,
        titra::service::auth::Auth::demo().unwrap(),
        Box::new(sim),
        Some(db.to_path_buf()),
        Timestamp::ORIGIN,
    )
    .unwrap();
    svc.confirm_checklist_as_demo(true);
    svc.set_wall_clock(Box::new(FakeWall::at(1_796_481_000_000)));
    let p = Pump {
        svc,
        now: Timestamp::ORIGIN,
    };
    (p, endpoint, records)
}

#[test]
fn a_three_day_trial_reaches_the_listener_in_order_through_a_network_outage() {
    crate::fhir::node_modules();
    let dir = TempDir::in_memory("mllp-trial");
    let received = dir.join("received.hl7");
    let (mut engine, port) = listener(0, &received);
    let (mut fhir_server, fhir_port) = crate::fhir::server();

    let db = dir.trial_log();
    let (mut p, endpoint, records) = integrated_pump(&db, port, fhir_port);
    let stop = Arc::new(AtomicBool::new(false));
    let timing = Timing {
        retry_first: std::time::Duration::from_millis(20),
        retry_most: std::time::Duration::from_millis(200),
        idle: std::time::Duration::from_millis(20),
        ..Timing::default()
    };
    let mllp = Mllp::new(endpoint, timing).unwrap();
    let sender = Sender::new("engine", db.clone(), timing, Box::new(mllp))
        .spawn(stop.clone())
        .unwrap();
    let fhir = Fhir::new(&records, timing).unwrap();
    let poster = Sender::new("records", db.clone(), timing, Box::new(fhir))
        .spawn(stop.clone())
        .unwrap();

    p.as_nurse(|s, t, now| {
        let program = crate::common::continuous_morphine("MRN-MLLP");
        s.start_trial(t, &program, false, (SECOND_NURSE.id, SECOND_NURSE.pin), now)
    });
    p.as_nurse(|s, t, now| s.prime(t, now));
    p.run_for(Duration::from_mins(2));
    p.as_nurse(|s, t, now| s.start(t, now));

    // Day 1, the network up.
    p.run_sending(Duration::from_days(1));
    assert!(!p.alarm());

    // Day 2: the network pulled for six hours. Delivery goes on; the messages wait; the LOW
    // alarm sounds once more than 200 wait.
    let pulled = p.now;
    engine.kill().unwrap();
    engine.wait().unwrap();
    p.run_for(Duration::from_hours(6));
    assert_eq!(p.svc.state(), State::Running, "delivery never waits");
    assert!(p.waiting() > 300, "{} waiting", p.waiting());
    let oldest = p.svc.outbox_backlog()[0].1.oldest.unwrap();
    assert!(
        oldest > pulled && oldest <= pulled + Duration::from_mins(1),
        "waiting since the network went: {oldest:?}, pulled at {pulled:?}"
    );
    assert!(p.alarm(), "the LOW alarm sounds");
    assert_eq!(
        AlarmKind::OutboxBacklog.priority(),
        titra::core::supervisor::Priority::Low
    );

    // The network back: the outbox catches up; the next check lifts the alarm's cause.
    let (mut engine, _) = listener(port, &received);
    p.until_sent();
    p.run_for(Duration::from_mins(2));
    let cleared = p.svc.engine().unwrap().journal().iter().any(|r| {
        matches!(
            r,
            titra::journal::Record::AlarmCleared {
                kind: AlarmKind::OutboxBacklog,
                ..
            }
        )
    });
    assert!(
        cleared,
        "the outbox's alarm is cleared once the messages are sent"
    );

    p.as_nurse(|s, t, now| s.acknowledge(t, now));
    assert!(!p.alarm());

    // The rest of the 3 days, and the end.
    p.run_sending(Duration::from_hours(42));
    p.as_nurse(|s, t, now| s.end_trial(t, now));
    p.run_for(Duration::from_mins(1));
    // The trial had no baseline pain score, so the pump proposes no dose (it never guesses);
    // the clinician confirms one with a written reason: the summary's Bundle goes to the FHIR
    // server.
    p.as_user(CLINICIAN, |s, t, now| {
        s.confirm_implant(
            t,
            "0.5 mg/day",
            "half the trial's basal, by the clinician",
            now,
        )
        .map(|_| ())
    });
    p.until_sent();
    stop.store(true, Ordering::Release);
    sender.join().unwrap();
    poster.join().unwrap();
    let (status, patients) = crate::fhir::http(
        fhir_port,
        "GET",
        "/Patient?identifier=urn:oid:1.2.3.4.5.6|MRN-MLLP",
        None,
    );
    assert_eq!(status, 200);
    let patient = patients["entry"][0]["resource"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, dose) = crate::fhir::http(
        fhir_port,
        "GET",
        &format!(
            "/Observation?subject=Patient/{patient}&code=urn:titra:codes|implant-starting-dose"
        ),
        None,
    );
    assert_eq!(dose["entry"][0]["resource"]["status"], "final", "{dose}");
    assert_eq!(
        dose["entry"][0]["resource"]["valueQuantity"]["value"], 0.5,
        "{dose}"
    );
    fhir_server.kill().unwrap();
    fhir_server.wait().unwrap();
    engine.kill().unwrap();
    engine.wait().unwrap();

    // Every message, in order, none lost: a message sent just as the network went may have
    // come twice (sent, then its acknowledgement lost), never out of order.
    let text = std::fs::read_to_string(&received).unwrap();
    let messages: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    let mut ids: Vec<u64> = messages
        .iter()
        .map(|m| m.split('|').nth(9).unwrap().parse().unwrap())
        .collect();
    ids.dedup();
    let made = titra::store::TrialLog::open(&db)
        .unwrap()
        .outbox_next_id()
        .unwrap()
        - 1;
    // The last number went to the FHIR Bundle, queued once the trial had ended.
    let hl7_made = made - 1;
    let gaps: Vec<(u64, u64)> = ids
        .windows(2)
        .filter(|w| w[1] != w[0] + 1)
        .map(|w| (w[0], w[1]))
        .take(5)
        .collect();
    assert!(
        ids.first() == Some(&1) && ids.last() == Some(&hl7_made) && gaps.is_empty(),
        "messages {:?} to {:?} of 1 to {hl7_made}, first gaps or reorderings {gaps:?}",
        ids.first(),
        ids.last()
    );
    assert!(
        made > 3 * 1440,
        "{made} messages: one a minute for 3 days and the events"
    );
    let kinds = |t: &str| messages.iter().filter(|m| m.contains(t)).count();
    assert!(kinds("|ORU^R01^ORU_R01|") > 3 * 1440);
    assert!(kinds("|ORU^R42^ORU_R01|") >= 2, "the start and the end");
    assert!(
        kinds("|ORU^R40^ORU_R40|") >= 2,
        "the outbox's own alarm, raised and cleared"
    );
    assert!(messages.last().unwrap().contains("MDC_EVT_PUMP_DELIV_COMP"));
    // Simulated hardware says so in every message (MSH-11 D).
    assert!(messages.iter().all(|m| m.split('|').nth(10) == Some("D")));
}
