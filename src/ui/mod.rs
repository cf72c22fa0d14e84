//! The touchscreen UI's Rust side (ui/*.slint is the UI itself), in three layers:
//!
//! - [`present`]: what each page shows and decides, in plain Rust without slint types, tested
//!   without a window;
//! - [`adapters`]: copies those models into each page's adapter global (ui/pages/*.slint) and
//!   connects the pages' callbacks to [`command::UiCommand`]s;
//! - [`client`]: carries the commands to the daemon over D-Bus and its answers back.

slint::include_modules!();

pub mod adapters;
pub mod client;
pub mod command;
pub mod present;
