//! The files under systemd/ as systemd itself reads them: the units verify and score "OK" or
//! better in `systemd-analyze security`, the daemon's limits and system-call filter let the
//! step-pulse thread take real-time priority and lock its memory, and the users and groups are
//! created as the units expect. (Debian's systemd package; `.ci/run` installs it.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{TempDir, outcome, repository_path};

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
        .replace("/usr/bin/titra-ui", env!("CARGO_BIN_EXE_titra-ui"));
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
fn both_units_verify_without_a_word() {
    for name in ["titra-pumpd.service", "titra-ui.service"] {
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
fn both_units_score_ok_or_better() {
    for name in ["titra-pumpd.service", "titra-ui.service"] {
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
fn the_daemon_restarts_on_failure_within_a_start_limit() {
    let text = unit_text("titra-pumpd.service");
    assert_eq!(values(&text, "Type"), ["notify"]);
    assert_eq!(values(&text, "Restart"), ["on-failure"]);
    assert!(!values(&text, "WatchdogSec").is_empty());
    let burst: u32 = values(&text, "StartLimitBurst")[0].parse().unwrap();
    assert!((2..=10).contains(&burst), "StartLimitBurst={burst}");
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
    for unit in ["titra-pumpd.service", "titra-ui.service"] {
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
