//! titra-pumpd without --sim: the pump's own hardware or a clear refusal, never a silent switch
//! to simulation.

use std::process::Command;

fn pumpd(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_titra-pumpd"))
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn without_sim_the_daemon_opens_the_pumps_hardware_or_says_why_not() {
    let dir = std::env::temp_dir().join(format!("titra-pumpd-hw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("t.db");
    let db = db.to_str().unwrap();
    // Real hardware never runs with the demo users.
    let (code, err) = pumpd(&["--bus", "session", "--db", db]);
    assert_ne!(code, 0);
    assert!(
        err.contains("--users FILE is needed with real hardware"),
        "{err}"
    );

    let hash = titra::service::auth::hash_pin("999999").unwrap();
    let users = dir.join("users.toml");
    std::fs::write(
        &users,
        format!(
            "[[user]]\nid = \"sam\"\nname = \"Sam\"\nrole = \"nurse\"\npin_hash = \"{hash}\"\n"
        ),
    )
    .unwrap();
    let (code, err) = pumpd(&[
        "--bus",
        "session",
        "--db",
        db,
        "--users",
        users.to_str().unwrap(),
    ]);
    assert_ne!(code, 0, "{err}");
    if cfg!(feature = "rpi") {
        assert!(
            err.contains("the pump's hardware cannot be used: GPIO"),
            "{err}"
        );
    } else {
        assert!(
            err.contains("built without the Raspberry Pi backend"),
            "{err}"
        );
    }
    assert!(
        !err.contains("SIMULATED"),
        "never a silent switch to simulation: {err}"
    );
}

#[test]
fn the_hardware_test_needs_the_pumps_hardware_and_says_so() {
    let out = Command::new(env!("CARGO_BIN_EXE_titra"))
        .args(["hwtest"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    if cfg!(feature = "rpi") {
        // The built-in profile reaches the pins through /dev/gpiochip0, which this machine
        // does not have: the refusal names the first pin taken (EN) and the way to simulate.
        assert!(
            err.contains("GPIO 22 (motor enable): there is no GPIO chip /dev/gpiochip0"),
            "{err}"
        );
        assert!(err.contains("--sim"), "{err}");
    } else {
        assert!(
            err.contains("built without the Raspberry Pi backend"),
            "{err}"
        );
    }
}
