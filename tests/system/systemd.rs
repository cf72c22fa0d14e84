//! The files under systemd/ as systemd itself reads them: the units verify and score "OK" or
//! better in `systemd-analyze security`, the daemon's limits and system-call filter let the
//! step-pulse thread take real-time priority and lock its memory, and the users and groups are
//! created as the units expect. (Debian's systemd package; `.ci/run` installs it.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{TempDir, outcome, repository_path};

/// The services: the daemon, the touchscreen, and the alarm that sounds when the daemon cannot
/// run.
const UNITS: [&str; 5] = [
    "titra-pumpd.service",
    "titra-ui.service",
    "titra-alarm.service",
    // The network the site configured (address, firewall, time servers), before it comes up.
    "titra-network.service",
    // The messages to the hospital, from the outbox: the only Titra process with a network.
    "titra-outbound.service",
];

fn unit_text(name: &str) -> String {
    let path = repository_path("systemd").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A private copy of the unit with ExecStart pointing at the binary cargo built (verify checks
/// that the program exists), in a directory of its own.
fn unit_copy(name: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new(&format!("units-{}", name.replace('.', "-")));
    let text = unit_text(name)
        .replace("/usr/bin/titra-pumpd", env!("CARGO_BIN_EXE_titra-pumpd"))
        .replace("/usr/bin/titra-alarm", env!("CARGO_BIN_EXE_titra-alarm"))
        .replace("/usr/bin/titra-ui", env!("CARGO_BIN_EXE_titra-ui"))
        .replace(
            "/usr/bin/titra-outbound",
            env!("CARGO_BIN_EXE_titra-outbound"),
        )
        .replace(
            "/usr/bin/titra ",
            &format!("{} ", env!("CARGO_BIN_EXE_titra")),
        );
    let copy = dir.file(name, &text);
    (dir, copy)
}

fn analyze(args: &[&str], unit: &Path) -> (bool, String) {
    let out = Command::new("systemd-analyze")
        .args(args)
        .arg(unit)
        .output()
        .expect("systemd-analyze is installed (Debian's systemd package)");
    outcome(&out)
}

/// The values of every `Key=` line of a unit, in order.
fn values(text: &str, key: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
        .map(|v| v.trim().to_owned())
        .collect()
}

#[test]
fn the_units_verify_without_a_word() {
    for name in UNITS {
        let (_dir, copy) = unit_copy(name);
        let (ok, text) = analyze(&["verify"], &copy);
        // systemd-analyze exits 0 on some invalid values with only a warning: any output fails.
        assert!(ok && text.trim().is_empty(), "{name}: {text}");
    }
}

/// The overall exposure figure of `systemd-analyze security`, and its word.
fn exposure(name: &str) -> (f64, String) {
    let (dir, copy) = unit_copy(name);
    let (_, text) = analyze(&["security", "--offline=true", "--no-pager"], &copy);
    drop(dir);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("{name}: no exposure figure in\n{text}"));
    let tail = line.rsplit(':').next().unwrap().trim();
    let mut words = tail.split_whitespace();
    let figure: f64 = words.next().unwrap().parse().unwrap();
    (figure, words.next().unwrap_or("").to_owned())
}

#[test]
fn the_units_score_ok_or_better() {
    for name in UNITS {
        let (figure, word) = exposure(name);
        // systemd's scale: SAFE below 1.0... OK up to 4.9, then MEDIUM, EXPOSED and UNSAFE.
        assert!(
            (word == "SAFE" || word == "OK") && figure < 2.0,
            "{name}: exposure {figure} {word}"
        );
    }
}

/// The system calls a unit's SystemCallFilter= lines allow, applied in order as systemd does:
/// the first line sets an allow list, `~` lines take calls away, later plain lines add them back.
fn allowed_calls(text: &str) -> BTreeSet<String> {
    let mut allowed = BTreeSet::new();
    for line in values(text, "SystemCallFilter") {
        let (deny, list) = match line.strip_prefix('~') {
            Some(rest) => (true, rest),
            None => (false, line.as_str()),
        };
        for item in list.split_whitespace() {
            for call in expand(item) {
                if deny {
                    allowed.remove(&call);
                } else {
                    allowed.insert(call);
                }
            }
        }
    }
    allowed
}

/// A call or a `@group`, expanded by systemd-analyze (groups nest).
fn expand(item: &str) -> Vec<String> {
    if !item.starts_with('@') {
        return vec![item.to_owned()];
    }
    let out = Command::new("systemd-analyze")
        .args(["syscall-filter", "--no-pager", item])
        .output()
        .expect("systemd-analyze");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut calls = Vec::new();
    for line in text.lines().skip(1) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('@') {
            calls.extend(expand(line));
        } else {
            calls.push(line.to_owned());
        }
    }
    assert!(!calls.is_empty(), "{item} expanded to nothing:\n{text}");
    calls
}

#[test]
fn the_daemon_may_make_its_pulse_thread_real_time() {
    let text = unit_text("titra-pumpd.service");
    // The filter: what hw::pulse calls is allowed, and the filter still means something.
    let allowed = allowed_calls(&text);
    // The storage check and its reserve: statfs and fallocate.
    for call in [
        "sched_setscheduler",
        "mlockall",
        "clock_nanosleep",
        "write",
        "statfs",
        "fallocate",
    ] {
        assert!(allowed.contains(call), "SystemCallFilter denies {call}");
    }
    for call in ["reboot", "init_module", "setuid", "setpriority"] {
        assert!(!allowed.contains(call), "SystemCallFilter allows {call}");
    }
    // The limits: the priority the thread asks for, and memory it can lock without bound (with
    // MCL_FUTURE every later allocation counts against the limit).
    let rtprio: i32 = values(&text, "LimitRTPRIO")
        .last()
        .expect("LimitRTPRIO=")
        .parse()
        .unwrap();
    assert!(
        rtprio >= titra::hw::PULSE_PRIORITY,
        "LimitRTPRIO={rtprio} is below the pulse thread's priority {}",
        titra::hw::PULSE_PRIORITY
    );
    assert_eq!(values(&text, "LimitMEMLOCK"), ["infinity"]);
    // Every page locked: MemoryMax is what bounds the daemon's memory (issue 19, part 4).
    assert_eq!(values(&text, "MemoryMax"), ["128M"]);
    assert!(
        values(&text, "MemoryHigh").is_empty(),
        "locked pages: no throttling"
    );
    assert!(!text.contains("RestrictRealtime=yes"));
    // The daemon reaches the GPIO through its group, which the udev rule gives the devices.
    assert_eq!(values(&text, "SupplementaryGroups"), ["gpio"]);
    let rules = unit_text("60-titra-gpio.rules");
    for device in ["gpiomem", "gpiochip"] {
        assert!(
            rules
                .lines()
                .any(|l| !l.starts_with('#') && l.contains(device) && l.contains("GROUP=\"gpio\"")),
            "no udev rule gives {device} to the gpio group"
        );
    }
}

#[test]
fn the_daemon_restarts_whatever_ended_it_within_a_start_limit() {
    let text = unit_text("titra-pumpd.service");
    assert_eq!(values(&text, "Type"), ["notify"]);
    // The daemon's own clean stop (SIGTERM, SIGINT) exits 0: with on-failure a stray kill
    // would leave the pump stopped and the alarm unit never started.
    assert_eq!(values(&text, "Restart"), ["always"]);
    assert!(!values(&text, "WatchdogSec").is_empty());
    let burst: u32 = values(&text, "StartLimitBurst")[0].parse().unwrap();
    assert!((2..=10).contains(&burst), "StartLimitBurst={burst}");
    assert_eq!(values(&text, "OnFailure"), ["titra-alarm.service"]);
    // Starts that hang fail only after TimeoutStartSec, then wait RestartSec: the limit's window
    // must hold `burst` of them, or systemd never sees the limit reached, never starts
    // OnFailure=, and the daemon cycles with nothing sounding.
    let seconds = |key: &str| seconds_of(&values(&text, key)[0]);
    let hung_starts = u64::from(burst) * (seconds("TimeoutStartSec") + seconds("RestartSec"));
    let window = seconds("StartLimitIntervalSec");
    assert!(
        window > hung_starts,
        "StartLimitIntervalSec is {window} s; {burst} hung starts take {hung_starts} s"
    );
}

/// A systemd time span ("30s", "10min", "1h", "120") in seconds.
fn seconds_of(span: &str) -> u64 {
    let digits: String = span.chars().take_while(char::is_ascii_digit).collect();
    let n: u64 = digits
        .parse()
        .unwrap_or_else(|_| panic!("time span {span}"));
    match &span[digits.len()..] {
        "" | "s" | "sec" => n,
        "min" | "m" => n * 60,
        "h" => n * 3600,
        unit => panic!("time span {span}: unit {unit}"),
    }
}

/// A unit's ExecStart as words, `/usr/bin/X` made the binary cargo built and the site's files
/// (`/etc/titra/X`, `/var/lib/titra/X`) made paths under `dir` or the repository's config/.
fn exec_start(unit: &str, dir: &Path) -> Vec<String> {
    let text = unit_text(unit);
    let line = values(&text, "ExecStart").pop().expect("ExecStart=");
    line.split_whitespace()
        .map(|word| match word {
            "/usr/bin/titra-pumpd" => env!("CARGO_BIN_EXE_titra-pumpd").to_owned(),
            "/usr/bin/titra-alarm" => env!("CARGO_BIN_EXE_titra-alarm").to_owned(),
            w if w.starts_with("/etc/titra/") => {
                let name = w.trim_start_matches("/etc/titra/");
                let shipped = repository_path("config").join(name);
                if shipped.exists() {
                    shipped.display().to_string()
                } else {
                    dir.join(name).display().to_string()
                }
            }
            w if w.starts_with("/var/lib/titra/") => dir
                .join(w.trim_start_matches("/var/lib/titra/"))
                .display()
                .to_string(),
            w => w.to_owned(),
        })
        .collect()
}

#[test]
fn a_daemon_that_cannot_start_leaves_the_alarm_sounding_until_it_is_started_again() {
    // Followed the way systemd reads the units, running their commands (the tests have no
    // systemd of their own to start them): titra-pumpd cannot start, here because the site's
    // users file is missing; systemd restarts it up to its start limit, then starts its
    // OnFailure= unit, titra-alarm; starting titra-pumpd again stops that (Conflicts=) with
    // SIGTERM.
    use std::io::{BufRead, BufReader};
    use std::os::unix::net::UnixDatagram;
    use std::process::Stdio;
    let dir = TempDir::new("cannot-start");
    let pumpd = unit_text("titra-pumpd.service");
    let burst: usize = values(&pumpd, "StartLimitBurst")[0].parse().unwrap();
    let words = exec_start("titra-pumpd.service", &dir);
    assert!(words.iter().any(|w| w.ends_with("users.toml")), "{words:?}");
    let socket_path = dir.join("notify.sock");
    let notify = UnixDatagram::bind(&socket_path).unwrap();
    notify.set_nonblocking(true).unwrap();
    for start in 1..=burst {
        let out = Command::new(&words[0])
            .args(&words[1..])
            .env("NOTIFY_SOCKET", &socket_path)
            .output()
            .unwrap();
        // Not 0 (Restart= applies; systemd counts it against the limit), and it said why.
        assert!(!out.status.success(), "start {start} succeeded");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains("users.toml"), "start {start}: {said}");
    }
    // It never said READY: systemd saw every start fail.
    let mut buf = [0u8; 4096];
    while let Ok(n) = notify.recv(&mut buf) {
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(!text.contains("READY=1"), "{text}");
    }

    // The start limit is hit: the unit fails, and OnFailure= starts titra-alarm.
    let on_failure = &values(&pumpd, "OnFailure")[0];
    let alarm_unit = unit_text(on_failure);
    assert_eq!(values(&alarm_unit, "Conflicts"), ["titra-pumpd.service"]);
    assert_eq!(values(&alarm_unit, "Restart"), ["always"]);
    // This machine has no alarm lines: the simulated ones, which write each change.
    let mut words = exec_start(on_failure, &dir);
    words.push("--sim".to_owned());
    let mut alarm = Command::new(&words[0])
        .args(&words[1..])
        .env("TITRA_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(alarm.stdout.take().unwrap()).lines();
    // The HIGH pattern: the tone's pulses and the light's flashes, from the start.
    let mut seen = Vec::new();
    for line in stdout.by_ref() {
        let line = line.unwrap();
        seen.push(line);
        if seen.iter().filter(|l| l.ends_with("tone on")).count() >= 3 {
            break;
        }
    }
    assert!(
        seen.iter()
            .all(|l| l.starts_with("SIMULATED alarm lines: ")),
        "{seen:?}"
    );
    assert!(seen.iter().any(|l| l.contains("LED on")), "{seen:?}");
    assert!(seen.iter().any(|l| l.contains("LED off")), "{seen:?}");

    // titra-pumpd is started again: systemd stops titra-alarm with SIGTERM (KillSignal's
    // default). It switches the lines off and ends cleanly.
    assert!(values(&alarm_unit, "KillSignal").is_empty());
    let pid = alarm.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let rest: Vec<String> = stdout.map(Result::unwrap).collect();
    let out = alarm.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    // The lines' last state (said again only if it changed: they may have been off already).
    assert_eq!(
        rest.last().or(seen.last()).map(String::as_str),
        Some("SIMULATED alarm lines: LED off, tone off"),
        "{rest:?}"
    );
    let journal = String::from_utf8_lossy(&out.stderr);
    assert!(
        journal.contains("titra-pumpd is not running") && journal.contains("Call a technician"),
        "{journal}"
    );
}

#[test]
fn sysusers_creates_the_users_the_units_run_as() {
    let root = TempDir::new("sysusers");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    let conf = repository_path("systemd/titra.sysusers.conf");
    // Read from standard input: with --root, a named file would be looked for under the root.
    let out = Command::new("systemd-sysusers")
        .arg(format!("--root={}", root.display()))
        .arg("-")
        .stdin(std::fs::File::open(&conf).unwrap())
        .output()
        .expect("systemd-sysusers (Debian's systemd package)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    let group = std::fs::read_to_string(root.join("etc/group")).unwrap();
    // A unit with a dynamic user (titra-network) has it made when it starts.
    for unit in UNITS
        .into_iter()
        .filter(|u| !values(&unit_text(u), "DynamicUser").contains(&"yes".to_owned()))
    {
        let user = &values(&unit_text(unit), "User")[0];
        assert!(
            passwd.lines().any(|l| l.starts_with(&format!("{user}:"))),
            "{unit} runs as {user}, which sysusers does not create:\n{passwd}"
        );
        let home_or_shell = passwd
            .lines()
            .find(|l| l.starts_with(&format!("{user}:")))
            .unwrap();
        assert!(
            home_or_shell.ends_with("/usr/sbin/nologin"),
            "{home_or_shell}"
        );
    }
    let gpio = group
        .lines()
        .find(|l| l.starts_with("gpio:"))
        .expect("group gpio");
    assert!(gpio.ends_with(":titra"), "{gpio}");
}
