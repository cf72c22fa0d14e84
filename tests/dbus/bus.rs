//! The daemon for real: a private `dbus-daemon`, `titra-pumpd --sim` on it, driven through the
//! Rust proxy and through `busctl` and `gdbus` (clients we did not write). Also its systemd
//! notifications (READY after recovery, the watchdog) and the unit file's verification.

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use titra::service::dbus::Pump1Proxy;

use crate::common::p2p::confirm_checklist;
use crate::common::{NURSE, SECOND_NURSE, TempDir, morphine_trial, outcome, titra};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Bus {
    address: String,
    _daemon: Killed,
    dir: TempDir,
}

fn private_bus(name: &str) -> Bus {
    let dir = TempDir::new(&format!("bus-{name}"));
    let mut child = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
        .arg(format!("--address=unix:dir={}", dir.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dbus-daemon is installed (.ci/run installs Debian's dbus-daemon)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    Bus {
        address: line.trim().to_owned(),
        _daemon: Killed(child),
        dir,
    }
}

/// Starts the daemon with a notification socket, as systemd would give it.
fn start_pumpd(bus: &Bus) -> (Killed, UnixDatagram) {
    let socket_path = bus.dir.join("notify.sock");
    let notify = UnixDatagram::bind(&socket_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_titra-pumpd"))
        .args(["--sim", "--bus", &bus.address, "--db"])
        .arg(bus.dir.trial_log())
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "1000000")
        .env("TITRA_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (Killed(child), notify)
}

/// Reads notifications until one contains `what`.
fn wait_for(notify: &UnixDatagram, what: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        let Ok(n) = notify.recv(&mut buf) else { break };
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        let found = text.contains(what);
        seen.push(text);
        if found {
            return seen;
        }
    }
    panic!("no {what} notification; saw {seen:?}");
}

fn busctl(bus: &Bus, args: &[&str]) -> (bool, String) {
    // Blocking here must not starve the test's own D-Bus connection of its runtime.
    let out = tokio::task::block_in_place(|| {
        Command::new("busctl")
            .arg(format!("--address={}", bus.address))
            .args(args)
            .output()
    })
    .expect("busctl is installed (Debian's systemd package)");
    outcome(&out)
}

fn call(bus: &Bus, method: &str, signature_and_args: &[&str]) -> (bool, String) {
    let mut args = vec![
        "call",
        "org.titra.Pump1",
        "/org/titra/Pump1",
        "org.titra.Pump1",
        method,
    ];
    args.extend_from_slice(signature_and_args);
    busctl(bus, &args)
}

fn state(bus: &Bus) -> String {
    busctl(
        bus,
        &[
            "get-property",
            "org.titra.Pump1",
            "/org/titra/Pump1",
            "org.titra.Pump1",
            "PumpState",
        ],
    )
    .1
}

/// The pump's state, read fresh (a proxy's cached properties follow by signal, a moment later).
async fn fresh_state(proxy: &Pump1Proxy<'_>) -> String {
    let status: serde_json::Value =
        serde_json::from_str(&proxy.status_json().await.unwrap()).unwrap();
    status["state"].as_str().unwrap_or_default().to_owned()
}

const PROGRAM: &str = morphine_trial!("MRN-BUS");

/// A client's connection to the bus.
async fn connect(bus: &Bus) -> zbus::Connection {
    zbus::connection::Builder::address(bus.address.as_str())
        .build()
        .await
        .unwrap()
}

/// The nurse programs, checks, primes and starts a trial.
async fn start_a_trial(proxy: &Pump1Proxy<'_>) {
    let (token, _, _) = proxy.login(NURSE.id, NURSE.pin).await.unwrap();
    proxy
        .start_trial(&token, PROGRAM, false, SECOND_NURSE.id, SECOND_NURSE.pin)
        .await
        .unwrap();
    confirm_checklist(proxy, &token).await;
    proxy.prime(&token).await.unwrap();
    proxy.start(&token).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trial_through_a_real_bus_with_busctl_and_gdbus() {
    let bus = private_bus("trial");
    let (_pumpd, notify) = start_pumpd(&bus);
    let seen = wait_for(&notify, "READY=1");
    assert!(seen.iter().any(|s| s.contains("READY=1")));
    // The watchdog is petted from the control loop, again and again.
    wait_for(&notify, "WATCHDOG=1");
    wait_for(&notify, "WATCHDOG=1");
    // From here on nobody reads the notifications (a stuck systemd): the pump must not care.

    let conn = connect(&bus).await;
    let proxy = Pump1Proxy::new(&conn).await.unwrap();
    assert_eq!(fresh_state(&proxy).await, "idle");
    assert!(proxy.simulated().await.unwrap());

    // Unauthorised and malformed calls are refused and change nothing.
    let (ok, text) = call(
        &bus,
        "StartTrial",
        &[
            "ssbss",
            "bogus-token",
            PROGRAM,
            "false",
            SECOND_NURSE.id,
            SECOND_NURSE.pin,
        ],
    );
    assert!(!ok && text.contains("not logged in"), "{text}");
    let (ok, text) = call(&bus, "RecordPain", &["s", "five"]);
    assert!(!ok, "{text}");
    assert!(state(&bus).contains("\"idle\""));

    let (token, role, _) = proxy.login(NURSE.id, NURSE.pin).await.unwrap();
    assert_eq!(role, "nurse");
    proxy
        .start_trial(&token, PROGRAM, false, SECOND_NURSE.id, SECOND_NURSE.pin)
        .await
        .unwrap();
    confirm_checklist(&proxy, &token).await;
    // busctl is another connection: the nurse's token is not its to use.
    let (ok, text) = call(&bus, "Prime", &["s", &token]);
    assert!(!ok && text.contains("another screen or program"), "{text}");
    assert!(state(&bus).contains("\"verified\""), "{}", state(&bus));
    proxy.prime(&token).await.unwrap();
    proxy.start(&token).await.unwrap();
    assert!(state(&bus).contains("\"running\""), "{}", state(&bus));

    // The patient presses through gdbus: granted; again at once: refused, the bolus is still
    // being given (3 minutes at 1 mL/h).
    let gdbus = |method: &str| {
        let out = Command::new("gdbus")
            .args([
                "call",
                "--address",
                &bus.address,
                "--dest",
                "org.titra.Pump1",
                "--object-path",
                "/org/titra/Pump1",
                "--method",
            ])
            .arg(format!("org.titra.Pump1.{method}"))
            .output()
            .expect("gdbus is installed (Debian's libglib2.0-bin)");
        outcome(&out)
    };
    let (ok, text) = gdbus("RequestBolus");
    assert!(ok && text.contains("Bolus of 0.05 mg started"), "{text}");
    let (ok, text) = gdbus("RequestBolus");
    assert!(
        !ok && text.contains("org.titra.Pump1.Error.WrongState")
            && text.contains("A bolus is being given now"),
        "{text}"
    );

    let (ok, text) = call(&bus, "RecordPain", &["y", "5"]);
    assert!(ok, "{text}");
    let (ok, text) = call(&bus, "RecordPain", &["y", "12"]);
    assert!(!ok && text.contains("outside 0 to 10"), "{text}");
    let status: serde_json::Value =
        serde_json::from_str(&proxy.status_json().await.unwrap()).unwrap();
    assert_eq!(status["drug"], "morphine");
    assert_eq!(status["state"], "running");

    // `titra status` reads the same through the shared proxy.
    let out = titra(&["status", "--bus", &bus.address]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("SIMULATED HARDWARE") && text.contains("Pump: running"),
        "{text}"
    );
    assert!(text.contains("Patient MRN-BUS: morphine 1 mg/mL"), "{text}");
}

/// The pump's status, read fresh.
async fn status(proxy: &Pump1Proxy<'_>) -> serde_json::Value {
    serde_json::from_str(&proxy.status_json().await.unwrap()).unwrap()
}

/// Counts the watchdog's pets until `n` have come (each notification read, in turn, for at
/// most 30 s in all: a daemon that stops petting fails here).
fn pets(notify: &UnixDatagram, n: usize) {
    for _ in 0..n {
        wait_for(notify, "WATCHDOG=1");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_health_check_sounds_while_the_watchdog_goes_on() {
    // The case: an SD card gone read-only, then an unplugged load cell. Before, the daemon stopped
    // petting the watchdog, systemd killed it every 5 s, and after five starts nothing drove the
    // buzzer. Now each is a HIGH alarm that the running daemon keeps sounding.
    for (fault, alarm, health) in [
        (
            "log_write_error",
            "log_failure",
            "the trial log cannot be written",
        ),
        ("sensor_unplugged", "sensor_fault", ""),
    ] {
        let bus = private_bus(&format!("health-{fault}"));
        let (mut pumpd, notify) = start_pumpd(&bus);
        wait_for(&notify, "READY=1");
        let conn = connect(&bus).await;
        let proxy = Pump1Proxy::new(&conn).await.unwrap();
        start_a_trial(&proxy).await;
        proxy.inject_fault(fault, true).await.unwrap();
        if fault == "log_write_error" {
            // The next write finds the card full (a pain score: the minute's delivery piece
            // would do it too, later).
            let _ = proxy.record_pain(4).await;
        }
        // The next passes of the control loop find it; the pump stops and sounds.
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut s = status(&proxy).await;
        while s["sounding"] != "high" && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
            s = status(&proxy).await;
        }
        assert_eq!(s["sounding"], "high", "{fault}: {s}");
        assert_eq!(s["state"], "alarm", "{fault}: {s}");
        assert!(
            s["alarms"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["kind"] == alarm && a["priority"] == "high"),
            "{fault}: {s}"
        );
        assert!(
            s["health_failure"].as_str().unwrap().contains(health),
            "{fault}: {s}"
        );
        // Three more seconds of petting (WATCHDOG_USEC is 1 s here), and the daemon still up.
        tokio::task::block_in_place(|| pets(&notify, 3));
        assert!(pumpd.0.try_wait().unwrap().is_none(), "{fault}: it exited");
        let s = status(&proxy).await;
        assert_eq!(s["sounding"], "high", "{fault}: still sounding: {s}");
        assert_eq!(s["state"], "alarm", "{fault}: {s}");
        // The status line systemd shows says why.
        if fault == "log_write_error" {
            tokio::task::block_in_place(|| wait_for(&notify, "HEALTH CHECK FAILED"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_daemon_comes_back_stopped_with_the_trial() {
    let bus = private_bus("restart");
    let (pumpd, notify) = start_pumpd(&bus);
    wait_for(&notify, "READY=1");
    let conn = connect(&bus).await;
    let proxy = Pump1Proxy::new(&conn).await.unwrap();
    start_a_trial(&proxy).await;
    drop(notify);
    drop(pumpd); // SIGKILL
    let _ = std::fs::remove_file(bus.dir.join("notify.sock"));
    let (_pumpd, notify) = start_pumpd(&bus);
    wait_for(&notify, "READY=1");
    let proxy = Pump1Proxy::new(&conn).await.unwrap();
    // Read fresh: the proxy's cached ActiveAlarms may hold what the daemon said before the
    // restart's alarm, until its change arrives by signal.
    let status: serde_json::Value =
        serde_json::from_str(&proxy.status_json().await.unwrap()).unwrap();
    assert_eq!(status["state"], "alarm", "{status}");
    assert!(
        status["alarms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "power_restored" && a["priority"] == "high"),
        "{status}"
    );
    let (token, _, _) = proxy.login(NURSE.id, NURSE.pin).await.unwrap();
    proxy.resume(&token).await.unwrap();
    // Read fresh (the cached PumpState follows by signal, a moment later).
    let status: serde_json::Value =
        serde_json::from_str(&proxy.status_json().await.unwrap()).unwrap();
    assert_eq!(status["state"], "running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_stopped_by_sigterm_writes_the_presses_it_was_counting() {
    // Denied presses are counted and written together (at most a minute later). A technician's
    // `systemctl stop` (SIGTERM) or an interrupt must not lose the count: the summary's
    // requested and denied figures come from it.
    let bus = private_bus("sigterm");
    let (mut pumpd, notify) = start_pumpd(&bus);
    wait_for(&notify, "READY=1");
    // Nothing reads the watchdog's notifications from here on (systemd would): closed, so the
    // daemon's sends fail at once instead of waiting on a full socket.
    drop(notify);
    let conn = connect(&bus).await;
    let proxy = Pump1Proxy::new(&conn).await.unwrap();
    start_a_trial(&proxy).await;
    let presses = 6;
    for _ in 0..presses {
        let _ = proxy.request_bolus().await;
    }
    let pid = pumpd.0.id().to_string();
    let sent = tokio::task::block_in_place(|| Command::new("kill").args(["-TERM", &pid]).status());
    assert!(sent.unwrap().success());
    let exit = tokio::task::block_in_place(|| pumpd.0.wait()).unwrap();
    assert!(exit.success(), "the clean stop exits 0: {exit:?}");
    let mut log = titra::store::TrialLog::open(&bus.dir.trial_log()).unwrap();
    let trial = log.latest_trial().unwrap();
    let written: u32 = log
        .records(trial.id)
        .unwrap()
        .iter()
        .filter_map(|r| match r {
            titra::journal::Record::PcaRequest { presses, .. } => Some(*presses),
            _ => None,
        })
        .sum();
    assert_eq!(
        written, presses,
        "every press is on disk, counted ones included"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_runs_on_when_its_screen_goes_away() {
    // The fault matrix's "UI disconnect": the screen's connection to the bus is cut in the
    // middle of a trial. The daemon keeps no client state; delivery and the watchdog go on.
    let bus = private_bus("ui-gone");
    let (_pumpd, notify) = start_pumpd(&bus);
    wait_for(&notify, "READY=1");
    let screen = connect(&bus).await;
    let proxy = Pump1Proxy::new(&screen).await.unwrap();
    start_a_trial(&proxy).await;
    assert_eq!(fresh_state(&proxy).await, "running");
    let elapsed = |json: String| {
        serde_json::from_str::<serde_json::Value>(&json).unwrap()["elapsed_s"]
            .as_u64()
            .unwrap()
    };
    let before = elapsed(proxy.status_json().await.unwrap());
    // The screen goes away without a word (its process killed, its socket closed).
    drop(proxy);
    drop(screen);
    // The daemon stays healthy: the watchdog is still petted.
    wait_for(&notify, "WATCHDOG=1");
    tokio::time::sleep(Duration::from_secs(2)).await;
    wait_for(&notify, "WATCHDOG=1");
    let again = connect(&bus).await;
    let proxy = Pump1Proxy::new(&again).await.unwrap();
    assert_eq!(fresh_state(&proxy).await, "running");
    assert!(proxy.active_alarms().await.unwrap().is_empty());
    assert!(elapsed(proxy.status_json().await.unwrap()) >= before + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_answers_only_its_own_connection_and_ends_with_it() {
    let bus = private_bus("sessions");
    let (_pumpd, notify) = start_pumpd(&bus);
    wait_for(&notify, "READY=1");
    let screen = connect(&bus).await;
    let proxy = Pump1Proxy::new(&screen).await.unwrap();
    start_a_trial(&proxy).await;
    let (token, _, _) = proxy.login(NURSE.id, NURSE.pin).await.unwrap();
    // Another program on the bus that learns the token cannot act with it: not through zbus,
    // not through busctl.
    let other = connect(&bus).await;
    let thief = Pump1Proxy::new(&other).await.unwrap();
    let (name, message) = crate::common::p2p::error_of(thief.pause(&token).await);
    assert_eq!(name, "org.titra.Pump1.Error.NotAuthorised");
    assert!(message.contains("another screen or program"), "{message}");
    let (ok, text) = call(&bus, "Pause", &["s", &token]);
    assert!(!ok && text.contains("another screen or program"), "{text}");
    assert_eq!(fresh_state(&thief).await, "running");
    // The screen that logged in can.
    proxy.pause(&token).await.unwrap();
    proxy.resume(&token).await.unwrap();
    // The screen goes away: its session ends with it, and the log says so.
    drop(proxy);
    drop(screen);
    let log = bus.dir.trial_log();
    let ended = |records: &[titra::journal::Record]| {
        records.iter().any(|r| {
            matches!(r, titra::journal::Record::UserAction { action, name, .. }
                if action.starts_with("session ended") && name == "Demo Nurse")
        })
    };
    let start = std::time::Instant::now();
    loop {
        let mut store = titra::store::TrialLog::open(&log).unwrap();
        let trial = store.latest_trial().unwrap();
        if ended(&store.records(trial.id).unwrap()) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the session did not end with its connection"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
