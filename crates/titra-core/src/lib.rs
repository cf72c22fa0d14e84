//! The dosing core: pure, with no I/O and no clock of its own. Feed it time and events, read its
//! decisions. Everything the pump decides about a dose is decided here, and tested here.

pub mod change;
pub mod checklist;
pub mod diary;
pub mod dose;
pub mod finding;
pub mod implant;
pub mod lang;
pub mod library;
pub mod observation;
pub mod occlusion;
pub mod program;
pub mod readable;
pub mod scheduler;
pub mod site;
pub mod supervisor;
pub mod units;

/// The 1-based line of a byte offset in a text (for messages about files). Counts bytes, so an
/// offset inside a multi-byte character cannot panic.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Reads TOML into `T`; a refusal is written "line N: message" for the file's reader.
pub fn from_toml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    toml::from_str(text).map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .map(|s| format!("line {}: ", line_of(text, s.start)))
            .unwrap_or_default();
        format!("{line}{}", e.message())
    })
}
