//! The language people read: English, or German, chosen by the site (the protocol's `language`).
//!
//! Every sentence a nurse, a patient or a clinician reads is written in English in the code and
//! looked up, through [`tr!`](crate::tr), in the catalogue of the language in use
//! (lang/de/LC_MESSAGES/titra.po, gettext's format, compiled in by build.rs). A sentence with no
//! translation is shown in English: `cargo test --test system translations` lists every one.
//! What is written to the trial log, to tracing's log and to D-Bus as data stays in English, so
//! that a log reads the same whatever the screens' language.
//!
//! The language is the process's (set once, at start-up, from the site's configuration); a test
//! may read another on its own thread with [`with`].

use std::cell::Cell;
use std::fmt::Display;
use std::sync::atomic::{AtomicU8, Ordering};

use serde::{Deserialize, Serialize};

include!(concat!(env!("OUT_DIR"), "/catalogues.rs"));

/// A language the pump speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Language {
    /// The language the texts are written in.
    #[default]
    #[serde(rename = "en")]
    English,
    #[serde(rename = "de")]
    German,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::English, Language::German];

    /// Its code, as in the site's configuration and the catalogues' folders: "en", "de".
    pub fn code(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::German => "de",
        }
    }

    /// The language of a code ("en", "de"), or none.
    pub fn from_code(code: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.code() == code)
    }

    /// Its translations, sorted by the English text (none for English).
    pub fn catalogue(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Language::English => &[],
            Language::German => GERMAN,
        }
    }

    /// The translation of `english`, if the catalogue has one.
    pub fn lookup(self, english: &str) -> Option<&'static str> {
        let catalogue = self.catalogue();
        catalogue
            .binary_search_by(|(id, _)| (*id).cmp(english))
            .ok()
            .map(|i| catalogue[i].1)
    }
}

static PROCESS: AtomicU8 = AtomicU8::new(0);

thread_local! {
    static THREAD: Cell<Option<Language>> = const { Cell::new(None) };
}

/// Sets the process's language (at start-up, from the site's configuration).
pub fn set(language: Language) {
    let index = Language::ALL
        .iter()
        .position(|l| *l == language)
        .unwrap_or(0);
    PROCESS.store(u8::try_from(index).unwrap_or(0), Ordering::Relaxed);
}

/// The language in use on this thread: its own (see [`with`]), else the process's.
pub fn current() -> Language {
    THREAD.with(Cell::get).unwrap_or_else(|| {
        Language::ALL
            .get(usize::from(PROCESS.load(Ordering::Relaxed)))
            .copied()
            .unwrap_or_default()
    })
}

/// Runs `f` with `language` on this thread only (tests, and the screenshots of each language).
pub fn with<R>(language: Language, f: impl FnOnce() -> R) -> R {
    let before = THREAD.with(|t| t.replace(Some(language)));
    let result = f();
    THREAD.with(|t| t.set(before));
    result
}

/// `english` in the language in use; itself when it has no translation.
pub fn translate(english: &'static str) -> &'static str {
    current().lookup(english).unwrap_or(english)
}

/// A translated template with its `{name}` placeholders filled (`{{` and `}}` are braces).
/// A placeholder with no value is left as it is; tests (debug builds) fail on it and on a value
/// the template does not use.
pub fn fill(template: &str, values: &[(&str, &dyn Display)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut used = [false; 16];
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        let close = if tail.starts_with('{') {
            tail.find('}')
        } else {
            None
        };
        let Some(close) = close else {
            out.push_str(&tail[..1]);
            rest = &tail[1..];
            continue;
        };
        let name = &tail[1..close];
        match values.iter().position(|(n, _)| *n == name) {
            Some(k) => {
                use std::fmt::Write as _;
                let _ = write!(out, "{}", values[k].1);
                if let Some(u) = used.get_mut(k) {
                    *u = true;
                }
            }
            None => {
                debug_assert!(false, "no value for {{{name}}} in \"{template}\"");
                out.push_str(&tail[..=close]);
            }
        }
        rest = &tail[close + 1..];
    }
    out.push_str(rest);
    debug_assert!(
        values.len() > 16 || used[..values.len()].iter().all(|u| *u),
        "a value not used by \"{template}\""
    );
    out
}

/// The names of a text's placeholders (`{name}`, and `{}` for slint's), in order.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("{{") {
            rest = after;
            continue;
        }
        match tail.find('}') {
            Some(close) => {
                names.push(&tail[1..close]);
                rest = &tail[close + 1..];
            }
            None => break,
        }
    }
    names
}

/// A sentence in the language in use: `tr!("Reservoir empty")`, or with values,
/// `tr!("Bolus of {dose} started.", dose)` / `tr!("… {dose} …", dose = a.dose())`. The English
/// text is the catalogue's key; its `{name}`s are filled from the values named after it.
#[macro_export]
macro_rules! tr {
    ($text:literal $(,)?) => {
        $crate::lang::translate($text)
    };
    ($text:literal, $($rest:tt)+) => {
        $crate::tr!(@fill $text, [] $($rest)+)
    };
    (@fill $text:literal, [$($done:tt)*] $name:ident = $value:expr, $($rest:tt)+) => {
        $crate::tr!(@fill $text, [$($done)* (stringify!($name), &$value),] $($rest)+)
    };
    (@fill $text:literal, [$($done:tt)*] $name:ident = $value:expr $(,)?) => {
        $crate::lang::fill(
            $crate::lang::translate($text),
            &[$($done)* (stringify!($name), &$value)],
        )
    };
    (@fill $text:literal, [$($done:tt)*] $name:ident, $($rest:tt)+) => {
        $crate::tr!(@fill $text, [$($done)* (stringify!($name), &$name),] $($rest)+)
    };
    (@fill $text:literal, [$($done:tt)*] $name:ident $(,)?) => {
        $crate::lang::fill(
            $crate::lang::translate($text),
            &[$($done)* (stringify!($name), &$name)],
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_is_english_until_a_language_is_chosen() {
        assert_eq!(crate::tr!("now"), "now");
        assert_eq!(with(Language::German, || crate::tr!("now")), "jetzt");
        assert_eq!(crate::tr!("now"), "now", "with() is undone");
    }

    #[test]
    fn a_missing_translation_reads_in_english() {
        let text = with(Language::German, || {
            crate::tr!("No such sentence {x}", x = 3)
        });
        assert_eq!(text, "No such sentence 3");
    }

    #[test]
    fn values_fill_their_placeholders_by_name() {
        let dose = "0.05 mg";
        let at = 3;
        assert_eq!(
            crate::tr!("{dose} at {at} and {dose} again, {{braces}}", dose, at = at),
            "0.05 mg at 3 and 0.05 mg again, {braces}"
        );
        assert_eq!(fill("a } b {", &[]), "a } b {");
    }

    #[test]
    fn placeholders_are_listed_in_order() {
        assert_eq!(placeholders("{a} and {} and {{x}} {b}"), ["a", "", "b"]);
    }

    #[test]
    fn codes_round_trip() {
        for l in Language::ALL {
            assert_eq!(Language::from_code(l.code()), Some(l));
        }
        assert_eq!(Language::from_code("fr"), None);
    }

    #[test]
    fn the_catalogue_is_sorted_for_lookup() {
        let c = Language::German.catalogue();
        assert!(c.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(Language::German.lookup("now"), Some("jetzt"));
        assert_eq!(Language::English.lookup("now"), None);
    }
}
