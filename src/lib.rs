//! Titra: the software of a bedside trial pump for intrathecal and epidural drug delivery.
//!
//! Prototype software for research and bench use, not a cleared medical device.
//!
//! - [`core`]: the pure dosing core (units, drug library, program, dose accounting).
//! - [`scenario`]: scenario and program files, as `titra check` and `titra simulate` read them.
//! - [`check`]: `titra check`, the program check written out for a nurse.
//! - [`hw`]: the hardware the engine drives, and its embedded-hal drivers.
//! - [`sim`]: simulated hardware under virtual time.
//! - [`engine`]: the pump engine (core + hardware, time injected).
//! - [`simulate`]: `titra simulate`, a whole scenario through the engine.
//! - [`summary`]: the trial summary.

pub mod digest;
pub use titra_core as core;
pub mod cli;
pub mod engine;
pub mod hw;
pub mod input;
pub mod journal;
pub mod report;
pub mod service;
pub mod sim;
pub mod store;
pub mod time;
#[cfg(feature = "ui")]
pub mod ui;

/// Logs to standard error (journald picks it up under systemd), at the level `TITRA_LOG` sets
/// (`warn`, `info`, `debug`, or a tracing filter), else `default`.
pub fn init_logging(default: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TITRA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default)),
        )
        .with_writer(std::io::stderr)
        .init();
}
