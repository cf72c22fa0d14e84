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

/// Speaks `language` on the screens from now on: slint's bundled translations (ui/*.slint's
/// `@tr`). Called on the UI's thread (slint's translations are its event loop's); does nothing
/// when the language is already in use. The Rust side's `tr!` follows the process's language,
/// which the client sets from the same status.
pub fn speak(language: crate::core::lang::Language) {
    thread_local! {
        // The language this thread's slint was last told.
        static SPOKEN: std::cell::Cell<Option<crate::core::lang::Language>> =
            const { std::cell::Cell::new(None) };
    }
    if SPOKEN.with(|s| s.replace(Some(language))) == Some(language) {
        return;
    }
    if let Err(e) = slint::select_bundled_translation(language.code()) {
        tracing::warn!("the screens cannot speak {}: {e}", language.code());
    }
}
