//! The hostile-client soak, small: several connections calling every method with random and
//! oversized arguments while a trial runs in virtual time; no limit crossed, every
//! acknowledged event on disk once (`benches/soak/harness.rs` checks; `cargo bench --bench
//! soak` gives the figures).

#[path = "../../benches/soak/harness.rs"]
mod harness;

/// Set in the child process the test runs itself in.
const CHILD: &str = "TITRA_SOAK_CHILD";

#[test]
fn hostile_clients_cross_no_limit_and_lose_no_acknowledged_event() {
    // The harness checks the daemon's resident memory against its MemoryMax, and the daemon
    // here is this process: with the binary's other tests running beside it their memory
    // counted too (it once read 150 MB of the 128 allowed). So the test runs itself alone in a
    // child process, and the child does the work.
    if std::env::var_os(CHILD).is_none() {
        let name = "soak::hostile_clients_cross_no_limit_and_lose_no_acknowledged_event";
        let out = std::process::Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--exact", name, "--test-threads=1", "--nocapture"])
            .env(CHILD, "1")
            .output()
            .expect("the child runs");
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "the soak in its own process failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let figures = harness::run(harness::Soak {
        connections: 3,
        calls: 120,
        trial: titra::core::units::Duration::from_days(1),
        pace: std::time::Duration::ZERO,
        seed: 7,
    });
    assert_eq!(figures.calls, 3 * 120, "every call answered");
    assert!(figures.refused > 0, "the hostile calls were refused");
    assert!(figures.pains_acknowledged > 0, "some pain scores went in");
}
