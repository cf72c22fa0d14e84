//! The hostile-client soak, small: several connections calling every method with random and
//! oversized arguments while a trial runs in virtual time; no limit crossed, every
//! acknowledged event on disk once (`benches/soak/harness.rs` checks; `cargo bench --bench
//! soak` gives the figures).

#[path = "../../benches/soak/harness.rs"]
mod harness;

#[test]
fn hostile_clients_cross_no_limit_and_lose_no_acknowledged_event() {
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
