//! Titra: the software of a bedside trial pump for intrathecal and epidural drug delivery.
//!
//! Prototype software for research and bench use, not a cleared medical device.
//!
//! The modules, lowest first; each uses only those above it in this list (tests/system's
//! architecture check holds the code to it):
//!
//! - [`core`]: the pure dosing core (units, drug library, program check, dose ledger, scheduler,
//!   supervisor, occlusion detection, clinical rules and the implant worksheet): no I/O, no
//!   clock of its own.
//! - [`journal`], [`time`], [`digest`], [`limits`]: what the trial log stores (the engine's
//!   records), the clocks and dates, SHA-256, and the sizes every input may have.
//! - [`input`]: the files the pump reads: hardware configuration, drug library, site protocol,
//!   scenario files, and the program check of a scenario.
//! - [`hw`]: the hardware the engine drives (embedded-hal drivers, the Pi's backends), the
//!   power-on self-test and the bench calibration.
//! - [`sim`]: simulated hardware under virtual time.
//! - [`engine`]: the pump engine: the core driving the hardware, on an injected clock.
//! - [`store`]: the trial log (SQLite, hash-chained).
//! - [`report`]: the trial summary and its exports (PDF, JSON, CSV, USB).
//! - [`service`]: the pump daemon's service, its typed wire contract and its D-Bus interface.
//! - [`ui`]: the touchscreen UI (feature `ui`).
//! - [`cli`]: the `titra` command line, one module per subcommand.

pub use titra_core as core;

pub mod cli;
pub mod digest;
pub mod engine;
pub mod hw;
pub mod input;
pub mod journal;
pub mod limits;
pub mod report;
#[cfg(test)]
mod scratch;
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
