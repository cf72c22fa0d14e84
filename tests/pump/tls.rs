//! TLS to the hospital (issue 23): the pump trusts the CA the site names and no other. A test
//! hospital CA and a server certificate for 127.0.0.1 are made with openssl; the MLLP listener
//! (Python's ssl) and the FHIR server (Node's https) present it. With the site's CA the messages
//! go through; with another CA nothing is sent, the message stays owed, and the outbox says
//! why.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use titra::core::supervisor::State;
use titra::core::units::{Duration, MassUnit, Timestamp};
use titra::input::hardware::{FhirEndpoint, MllpEndpoint};
use titra::journal::Record;
use titra::report::pcd::{Device, Reporter};
use titra::service::outbound::{Deliver, Sender, Timing, fhir::Fhir, mllp::Mllp};
use titra::store::TrialLog;
use titra::store::outbox::{Channel, Endpoint, Outbox, OutboxReader};

use crate::common::{TempDir, morphine, repository_path};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {out:?}");
}

/// A CA named `name` in `dir` (`name.pem`, `name.key`).
fn ca(dir: &Path, name: &str) -> PathBuf {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
        ],
    );
    dir.join(format!("{name}.pem"))
}

/// A server certificate for 127.0.0.1 signed by CA `ca` (`server.pem`, `server.key`).
fn server_cert(dir: &Path, ca: &str) -> (PathBuf, PathBuf) {
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
    (dir.join("server.pem"), dir.join("server.key"))
}

fn timing() -> Timing {
    Timing {
        retry_first: std::time::Duration::from_millis(20),
        retry_most: std::time::Duration::from_millis(100),
        idle: std::time::Duration::from_millis(20),
        ..Timing::default()
    }
}

/// Runs a sender until its endpoint owes nothing (or, with `until_refused`, until the oldest
/// message was refused once), for at most two minutes; what it still owes.
fn send(db: &Path, name: &str, deliver: Box<dyn Deliver>, until_refused: bool) -> u64 {
    let stop = Arc::new(AtomicBool::new(false));
    let thread = Sender::new(name, db.to_path_buf(), timing(), deliver)
        .spawn(stop.clone())
        .unwrap();
    let reader = OutboxReader::open(db).unwrap();
    let started = std::time::Instant::now();
    let done = || match reader.oldest(name).unwrap() {
        None => true,
        Some(p) => until_refused && p.attempts > 0,
    };
    while !done() && started.elapsed() < std::time::Duration::from_secs(120) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    stop.store(true, Ordering::Release);
    thread.join().unwrap();
    reader.backlog(name).unwrap().messages
}

/// Why the oldest message owed to `endpoint` was last refused.
fn last_error(db: &Path, endpoint: &str) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT COALESCE(last_error, '') FROM outbox WHERE endpoint = ?1 ORDER BY message_id LIMIT 1",
        [endpoint],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn mllp_over_tls_trusts_the_sites_ca_and_no_other() {
    let dir = TempDir::new("tls-mllp");
    ca(&dir, "hospital");
    let other = ca(&dir, "elsewhere");
    let (cert, key) = server_cert(&dir, "hospital");
    let received = dir.join("received.hl7");
    let mut cmd = Command::new("python3");
    cmd.arg(repository_path("tests/hl7/mllp_listener.py"))
        .args(["--port", "0", "--out"])
        .arg(&received)
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key);
    let (mut listener, port) = crate::common::listening(cmd);

    // Real messages: the pump's reporter on a trial's first records.
    let db = dir.trial_log();
    let mut log = TrialLog::open(&db).unwrap();
    let scenario = crate::common::example("continuous-morphine-pca.toml");
    log.begin_trial(&scenario.trial, &morphine(), 0, "abc", true, None)
        .unwrap();
    let device = Device {
        application: "TITRA".to_owned(),
        eui64: "0012A3FFFE4B5C6D".to_owned(),
        facility: "WARD7".to_owned(),
        simulated: true,
    };
    let reporter = Reporter::new(
        device,
        "MRN-TLS",
        &morphine(),
        MassUnit::Mg,
        (Timestamp::ORIGIN, 1_796_481_000_000),
        Duration::from_mins(1),
    )
    .unwrap();
    let endpoint = Endpoint {
        name: "engine".to_owned(),
        channel: Channel::Hl7,
    };
    log.set_outbox(Outbox::new(Box::new(reporter), vec![endpoint]));
    log.append(&[Record::StateChanged {
        at: Timestamp::ORIGIN,
        from: State::Priming,
        to: State::Running,
    }])
    .unwrap();
    log.outbox_tick(Timestamp::ORIGIN).unwrap();

    let engine = |ca: PathBuf| {
        let e = MllpEndpoint {
            name: "engine".to_owned(),
            host: "127.0.0.1".to_owned(),
            port,
            tls_ca: Some(ca),
        };
        Box::new(Mllp::new(e, timing()).unwrap())
    };
    // Another CA: the handshake fails, nothing is acknowledged, the outbox says why.
    let owed = send(&db, "engine", engine(other), true);
    assert_eq!(owed, 2);
    let why = last_error(&db, "engine");
    assert!(
        why.starts_with("TLS:") && why.contains("certificate"),
        "{why}"
    );
    // The site's CA: both messages go through.
    let owed = send(&db, "engine", engine(dir.join("hospital.pem")), false);
    assert_eq!(owed, 0);
    listener.kill().unwrap();
    listener.wait().unwrap();
    let text = std::fs::read_to_string(&received).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("|ORU^R42^ORU_R01|") && text.contains("|ORU^R01^ORU_R01|"));
}

#[test]
fn fhir_over_https_trusts_the_sites_ca_and_no_other() {
    crate::fhir::node_modules();
    let dir = TempDir::new("tls-fhir");
    ca(&dir, "hospital");
    let other = ca(&dir, "elsewhere");
    let (cert, key) = server_cert(&dir, "hospital");
    let mut cmd = Command::new("node");
    cmd.arg(repository_path("tests/fhir/server.js"))
        .args(["0", "--stdin-watch", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key);
    let (mut server, port) = crate::common::listening(cmd);

    let db = dir.trial_log();
    let mut log = TrialLog::open(&db).unwrap();
    let scenario = crate::common::example("continuous-morphine-pca.toml");
    let trial = log
        .begin_trial(&scenario.trial, &morphine(), 0, "abc", true, None)
        .unwrap();
    let bundle = serde_json::json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{
            "fullUrl": "urn:uuid:0b7c4a63-9a4e-4b1e-a0a5-1c2d3e4f5a6b",
            "resource": {
                "resourceType": "Patient",
                "identifier": [{ "system": "urn:oid:1.2.3.4.5.6", "value": "MRN-TLS" }]
            },
            "request": { "method": "POST", "url": "Patient" }
        }]
    });
    let servers = [Endpoint {
        name: "records".to_owned(),
        channel: Channel::Fhir,
    }];
    log.queue(trial, &servers, |id| {
        vec![titra::store::outbox::Message {
            id,
            channel: Channel::Fhir,
            kind: "fhir-bundle",
            at: Timestamp::ORIGIN,
            body: bundle.to_string(),
        }]
    })
    .unwrap();
    let records = |ca: PathBuf| {
        let e = FhirEndpoint {
            name: "records".to_owned(),
            url: format!("https://127.0.0.1:{port}/"),
            tls_ca: Some(ca),
        };
        Box::new(Fhir::new(&e, timing()).unwrap())
    };
    let owed = send(&db, "records", records(other), true);
    assert_eq!(owed, 1);
    let why = last_error(&db, "records");
    assert!(
        why.contains("certificate") || why.contains("UnknownIssuer"),
        "{why}"
    );
    let owed = send(&db, "records", records(dir.join("hospital.pem")), false);
    assert_eq!(owed, 0);
    server.kill().unwrap();
    server.wait().unwrap();
}
