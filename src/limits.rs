//! The sizes every input may have: a program's text, its scheduled boluses, titration steps and
//! events, and every string and array a D-Bus method takes. They are checked before anything
//! else is done with the input (on D-Bus before the service lock is taken), so that no input can
//! make the pump work for long or write much: a client that sends more is refused at once, with
//! a message that names the field, its size and the limit.
//!
//! The limits are far above what a trial needs (the reasoning is at each constant) and far below
//! what would hold the service for a noticeable time: the program check is linear in the number
//! of boluses (a sliding window), so a program at every limit at once is checked in well under
//! a millisecond on the pump (the `program check` row of `cargo bench --bench dosing`).
//!
//! The D-Bus message itself: zbus 6 refuses a message larger than 128 MiB (its fixed
//! `MAX_MESSAGE_SIZE`, the D-Bus specification's maximum) before it is parsed, and offers no
//! way to set a smaller one; on the system bus dbus-daemon applies its own `max_message_size`
//! (32 MiB by default on the system bus). A message is read whole before these limits apply.

use std::fmt;

/// The longest program text (TOML: `[trial]` and `[program]`), bytes: 64 KiB. The largest
/// shipped scenario is under 2 KiB; a program at every count limit below fits in about 40 KiB.
pub const MAX_PROGRAM_BYTES: usize = 65_536;

/// The most scheduled boluses in one program. A 14-day trial (the longest the library allows
/// without a confirmation) with a bolus every hour has 336; 500 leaves room and keeps the check
/// of a program quick.
pub const MAX_BOLUSES: usize = 500;

/// The most titration steps in one program: as for boluses, a step every hour for 14 days is
/// 336.
pub const MAX_TITRATION_STEPS: usize = 500;

/// The most events in one scenario file or program (presses, scores, faults to simulate): a
/// simulated 14-day trial with a few events a day needs well under 100.
pub const MAX_EVENTS: usize = 500;

/// The longest free text (a note, a reason, a side effect, the muscles assessed, the planned
/// implant), bytes: the 500 characters a note may have (`journal::MAX_NOTE`, which this module,
/// below the journal's layer, does not use: a test holds them together), each up to 4 bytes in
/// UTF-8. The character counts are checked after this by each call.
pub const MAX_TEXT_BYTES: usize = 500 * 4;

/// The longest short string, bytes: a user ID, a PIN, a session token, a dose, volume or rate
/// ("0.5 mg/day"), a choice ("success", "1+", "pdf,json,csv", "letter") or an item's id. The
/// longest of these in use is a session token (32 hexadecimal digits).
pub const MAX_WORD_BYTES: usize = 64;

/// The most findings of one catheter site check (there are fewer kinds than this; a finding
/// named twice is refused by the call).
pub const MAX_SITE_FINDINGS: usize = 16;

/// An input larger than its limit: the field, and what is wrong with it ("80 000 bytes, more
/// than the 65 536 a program may have").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {detail}")]
pub struct LimitError {
    pub field: String,
    pub detail: String,
}

/// What a string argument is, for its limit and its refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A program's text.
    Program,
    /// A short string: an ID, a PIN, a token, a quantity, a choice.
    Word,
    /// A note, a reason or a description.
    Text,
}

impl Kind {
    pub const fn max(self) -> usize {
        match self {
            Kind::Program => MAX_PROGRAM_BYTES,
            Kind::Word => MAX_WORD_BYTES,
            Kind::Text => MAX_TEXT_BYTES,
        }
    }

    const fn what(self) -> &'static str {
        match self {
            Kind::Program => "a program",
            Kind::Word => "this field",
            Kind::Text => "a note or reason",
        }
    }
}

/// Refuses `value` when it is longer than `kind` allows, naming `field`.
pub fn check(field: &str, value: &str, kind: Kind) -> Result<(), LimitError> {
    if value.len() > kind.max() {
        return Err(LimitError {
            field: field.to_owned(),
            detail: format!(
                "{} bytes, more than the {} {} may have",
                grouped(value.len()),
                grouped(kind.max()),
                kind.what()
            ),
        });
    }
    Ok(())
}

/// Refuses each of `fields` that is longer than its kind allows (the first, in order).
pub fn check_all(fields: &[(&str, &str, Kind)]) -> Result<(), LimitError> {
    fields
        .iter()
        .try_for_each(|&(field, value, kind)| check(field, value, kind))
}

/// Refuses a list of more than `max` items, naming `field`.
pub fn count(
    field: &str,
    count: usize,
    max: usize,
    items: &'static str,
    what: &'static str,
) -> Result<(), LimitError> {
    if count > max {
        return Err(LimitError {
            field: field.to_owned(),
            detail: format!(
                "{} {items}, more than the {} {what} may have",
                grouped(count),
                grouped(max)
            ),
        });
    }
    Ok(())
}

/// A count as people read it: digits in groups of three ("65 536").
pub fn grouped(n: usize) -> Grouped {
    Grouped(n)
}

pub struct Grouped(usize);

impl fmt::Display for Grouped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(' ');
            }
            out.push(c);
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_the_field_its_size_and_the_limit() {
        let program = "x".repeat(80_000);
        assert_eq!(
            check("program", &program, Kind::Program)
                .unwrap_err()
                .to_string(),
            "program: 80 000 bytes, more than the 65 536 a program may have"
        );
        assert!(check("program", &program[..MAX_PROGRAM_BYTES], Kind::Program).is_ok());
        assert_eq!(
            count(
                "program.boluses",
                20_000,
                MAX_BOLUSES,
                "scheduled boluses",
                "a program"
            )
            .unwrap_err()
            .to_string(),
            "program.boluses: 20 000 scheduled boluses, more than the 500 a program may have"
        );
        assert!(
            count(
                "program.boluses",
                500,
                MAX_BOLUSES,
                "scheduled boluses",
                "a program"
            )
            .is_ok()
        );
    }

    #[test]
    fn a_note_of_the_most_characters_fits_in_the_most_bytes() {
        assert_eq!(MAX_TEXT_BYTES, crate::journal::MAX_NOTE * 4);
    }

    #[test]
    fn counts_are_grouped_in_threes() {
        for (n, s) in [
            (0, "0"),
            (999, "999"),
            (1_000, "1 000"),
            (65_536, "65 536"),
            (1_234_567, "1 234 567"),
        ] {
            assert_eq!(grouped(n).to_string(), s);
        }
    }
}
