//! `titra outbox`: what each endpoint is owed, read from a trial log made with the library's
//! own calls, and `--forget` for an endpoint the site no longer names (refused for one it names,
//! and without the site's profile).

use titra::store::TrialLog;
use titra::store::outbox::{Channel, Endpoint, Message, OutboxReader};

use crate::common::{TempDir, example, outcome, titra};

/// A trial log with three messages owed to "engine" and "old", the first sent twice by
/// "engine" and refused (AE).
fn log_with_messages(dir: &TempDir) -> std::path::PathBuf {
    let db = dir.trial_log();
    let scenario = example("continuous-morphine-pca.toml");
    let mut log = TrialLog::open(&db).unwrap();
    let trial = log
        .begin_trial(&scenario.trial, &scenario.program, 0, "abc", true, None)
        .unwrap();
    let endpoints = ["engine", "old"].map(|name| Endpoint {
        name: name.to_owned(),
        channel: Channel::Hl7,
    });
    log.queue(trial, &endpoints, |first| {
        (0..3)
            .map(|i| Message {
                id: first + i,
                channel: Channel::Hl7,
                kind: "pcd-01",
                at: titra::core::units::Timestamp::from_ms(60_000 * i),
                body: format!("MSH|^~\\&|message {i}"),
            })
            .collect()
    })
    .unwrap();
    drop(log);
    let mut reader = OutboxReader::open(&db).unwrap();
    for _ in 0..2 {
        reader
            .failed("engine", 1, "the engine answered AE: unknown patient")
            .unwrap();
    }
    db
}

/// The built-in profile with an [integration] naming the interface engine "engine" only.
fn site(dir: &TempDir) -> std::path::PathBuf {
    let built_in =
        std::fs::read_to_string(crate::common::repository_path("config/hardware.toml")).unwrap();
    dir.file(
        "hardware.toml",
        &format!(
            "{built_in}\n[integration]\neui64 = \"B827EBFFFE123456\"\nfacility = \"WARD7\"\n[[integration.mllp]]\nname = \"engine\"\nhost = \"10.20.30.40\"\nport = 2575\n"
        ),
    )
}

#[test]
fn the_outbox_says_what_each_endpoint_is_owed_and_forgets_only_one_no_longer_named() {
    let dir = TempDir::new("cli-outbox");
    let db = log_with_messages(&dir);
    let profile = site(&dir);
    let (db_arg, hw_arg) = (db.display().to_string(), profile.display().to_string());

    let (ok, said) = outcome(&titra(&["outbox", "--db", &db_arg, "--hardware", &hw_arg]));
    assert!(ok, "{said}");
    assert!(
        said.contains("engine: 3 messages waiting; the oldest, number 1 (pcd-01), sent 2 times; the last try: the engine answered AE: unknown patient"),
        "{said}"
    );
    assert!(
        said.contains("old (not named by the hardware profile: no sender takes these; titra outbox --hardware FILE --forget old drops them): 3 messages waiting; the oldest, number 1 (pcd-01), not sent yet"),
        "{said}"
    );

    // An endpoint the profile names is not forgotten: its sender takes what it is owed.
    let refused = titra(&[
        "outbox",
        "--db",
        &db_arg,
        "--hardware",
        &hw_arg,
        "--forget",
        "engine",
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        crate::common::text(&refused.stderr)
            .contains("the hardware profile still names \"engine\""),
        "{}",
        crate::common::text(&refused.stderr)
    );

    // Not without the profile the pump's services read: the built-in one names no endpoint.
    let blind = titra(&["outbox", "--db", &db_arg, "--forget", "old"]);
    assert_eq!(blind.status.code(), Some(2));
    assert!(
        crate::common::text(&blind.stderr).contains("--hardware"),
        "{}",
        crate::common::text(&blind.stderr)
    );
    let (ok, said) = outcome(&titra(&[
        "outbox",
        "--db",
        &db_arg,
        "--hardware",
        &hw_arg,
        "--forget",
        "old",
    ]));
    assert!(ok, "{said}");
    assert!(
        said.contains("Dropped 3 messages owed to \"old\""),
        "{said}"
    );
    // What "engine" is owed is untouched, messages and all; "old" is gone.
    let reader = OutboxReader::open(&db).unwrap();
    let owed = reader.owed().unwrap();
    assert_eq!(owed.len(), 1);
    assert_eq!((owed[0].endpoint.as_str(), owed[0].messages), ("engine", 3));
    assert_eq!(
        reader.oldest("engine").unwrap().unwrap().body,
        "MSH|^~\\&|message 0"
    );
    // The trial log's records are untouched: the chain verifies.
    let (ok, said) = outcome(&titra(&["verify-log", "--db", &db_arg]));
    assert!(ok, "{said}");

    // Once "engine" acknowledges all three, the messages themselves are gone.
    let mut reader = OutboxReader::open(&db).unwrap();
    for id in 1..=3 {
        reader.acknowledged("engine", id).unwrap();
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    let left: i64 = conn
        .query_row("SELECT COUNT(*) FROM outbox_message", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
}
