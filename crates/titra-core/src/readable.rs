//! Numbers for people (issue 22): every amount, volume, rate and duration a nurse, a patient or
//! a clinician reads, in one place, so the screens, `titra status`, the PDF and the text
//! summary say the same thing the same way.
//!
//! - **Amounts** to 3 significant digits, in mg from 0.1 mg and in mcg below (written "mcg", never
//!   "µg", which can be misread as "mg"), with a leading zero and no trailing zero ("0.5 mg",
//!   never ".5 mg" or "0.50 mg", which can be misread as 5 mg or 50 mg): ISMP's List of
//!   Error-Prone Abbreviations, Symbols, and Dose Designations (2021).
//! - **Settings** of the program (a bolus dose, a limit) in the drug's own unit, as the order
//!   has them, to 3 significant digits.
//! - **Volumes** to 0.01 mL, no trailing zero; a volume under that is "less than 0.01 mL", never
//!   "0 mL".
//! - **Durations** in words at the precision that matters: seconds under a minute, minutes under
//!   a day, hours under three days, days from then on ("38 days", "4 h 20 min", "12 min"), never
//!   seconds past a minute or milliseconds. The caller says which way to round: a time until
//!   something may be given rounds up (never says sooner than it is), a time until the syringe
//!   is empty rounds down (never says later).
//!
//! These are for reading only: the log, the exports' data and the wire keep the exact values.

use crate::tr;
use crate::units::{
    Amount, AmountRate, Duration, MS_PER_DAY as DAY, MS_PER_H as HOUR, MS_PER_MIN as MINUTE,
    MS_PER_S as SECOND, MassUnit, NG_PER_MG, NL_PER_ML, Volume,
};

/// A hundredth of a millilitre, in nL.
const NL_PER_CENTI_ML: u64 = NL_PER_ML / 100;

/// Which way a duration is rounded to its precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// Never more than it is (a time until the syringe is empty, until an alarm).
    Down,
    /// Never less than it is (a time until a dose may be given, a lockout).
    Up,
    /// To the nearest (a time since something, how long something took).
    Nearest,
}

/// `value` rounded half up to three significant digits.
fn three_digits(value: u64) -> u64 {
    let mut scale = 1u64;
    while value / scale >= 1_000 {
        scale *= 10;
    }
    if scale == 1 {
        return value;
    }
    (value / scale + u64::from(value % scale >= scale / 2)) * scale
}

/// `value / per` as a decimal with as many places as `per` has zeros, trailing zeros dropped.
fn decimal(value: u64, per: u64) -> String {
    let whole = value / per;
    let frac = value % per;
    if frac == 0 {
        return whole.to_string();
    }
    let places = per.ilog10() as usize;
    let digits = format!("{frac:0places$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// An amount already rounded, `ng`, written in `unit`.
fn in_unit(ng: u64, unit: MassUnit) -> String {
    format!("{} {unit}", decimal(ng, unit.ng()))
}

/// An amount of drug: "0.15 mg", "50 mcg", "12.3 mg"; none at all is "0 mg".
pub fn amount(a: Amount) -> String {
    let ng = three_digits(a.ng());
    let unit = if ng >= NG_PER_MG / 10 || ng == 0 {
        MassUnit::Mg
    } else {
        MassUnit::Mcg
    };
    in_unit(ng, unit)
}

/// An amount of a drug whose doses are written in `unit`: a drug dosed in mcg (ziconotide,
/// clonidine) always in mcg, as its prescription is; one dosed in mg as [`amount`] has it.
pub fn amount_for(a: Amount, unit: MassUnit) -> String {
    match unit {
        MassUnit::Mg => amount(a),
        MassUnit::Mcg => as_prescribed(a, unit),
    }
}

/// A setting of the program (a bolus dose, a limit) in the drug's own unit, as the clinician's
/// order has it, to 3 significant digits: "0.05 mg" stays "0.05 mg" (a nurse checks the pump
/// against the written order), where an amount given reads "50 mcg".
pub fn as_prescribed(a: Amount, unit: MassUnit) -> String {
    in_unit(three_digits(a.ng()), unit)
}

/// The top of a chart's amount axis for values up to `ng`: the smallest of 1, 2, 2.5 and 5
/// times a power of ten at or above it, so that the axis's labels (its top and half of it) are
/// round figures.
pub fn axis_top(ng: u64) -> u64 {
    let mut power = 1u64;
    while power.saturating_mul(10) < ng {
        power = power.saturating_mul(10);
    }
    [
        power,
        power.saturating_mul(2),
        power.saturating_mul(5) / 2,
        power.saturating_mul(5),
        power.saturating_mul(10),
    ]
    .into_iter()
    .filter(|&v| v >= ng)
    .min()
    .unwrap_or(ng)
    .max(1)
}

/// A daily dose: "0.5 mg/day".
pub fn per_day(r: AmountRate) -> String {
    format!("{}/day", amount(Amount::from_ng(r.ng_per_day())))
}

/// A volume of solution: "19.8 mL", "0.05 mL", "less than 0.01 mL".
pub fn volume(v: Volume) -> String {
    let nl = v.nl();
    let rounded = (nl + NL_PER_CENTI_ML / 2) / NL_PER_CENTI_ML * NL_PER_CENTI_ML;
    if nl > 0 && rounded == 0 {
        return tr!("less than 0.01 mL").to_owned();
    }
    format!("{} mL", decimal(rounded, NL_PER_ML))
}

/// A duration in words: "12 min", "4 h 20 min", "1 day 6 h", "38 days", "40 s".
pub fn duration(d: Duration, round: Round) -> String {
    let ms = d.ms();
    let unit = if ms < MINUTE {
        SECOND
    } else if ms < DAY {
        MINUTE
    } else if ms < 3 * DAY {
        HOUR
    } else {
        DAY
    };
    let n = match round {
        Round::Down => ms / unit,
        Round::Up => ms.div_ceil(unit),
        Round::Nearest => (ms + unit / 2) / unit,
    } * unit;
    words(n)
}

/// A whole number of its unit (see [`duration`]) in words.
fn words(ms: u64) -> String {
    let days = |n: u64| {
        if n == 1 {
            tr!("1 day").to_owned()
        } else {
            tr!("{n} days", n)
        }
    };
    if ms < MINUTE {
        format!("{} s", ms / SECOND)
    } else if ms < HOUR {
        format!("{} min", ms / MINUTE)
    } else if ms < DAY {
        let (h, m) = (ms / HOUR, ms % HOUR / MINUTE);
        if m == 0 {
            format!("{h} h")
        } else {
            format!("{h} h {m} min")
        }
    } else if ms < 3 * DAY {
        let (d, h) = (ms / DAY, ms % DAY / HOUR);
        let days = days(d);
        if h == 0 {
            days
        } else {
            format!("{days} {h} h")
        }
    } else {
        days(ms / DAY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn mg(text: &str) -> Amount {
        text.parse().expect("an amount")
    }

    #[test]
    fn amounts_read_as_a_nurse_writes_them() {
        // Worked by hand.
        assert_eq!(amount(mg("0.15 mg")), "0.15 mg");
        assert_eq!(amount(mg("0.5 mg")), "0.5 mg");
        assert_eq!(amount(mg("1 mg")), "1 mg");
        assert_eq!(amount(mg("12.34 mg")), "12.3 mg");
        assert_eq!(amount(mg("12.35 mg")), "12.4 mg");
        // The "highest 0.141597 mg" and "0.003473 mg" given in total.
        assert_eq!(amount(mg("0.141597 mg")), "0.142 mg");
        assert_eq!(amount(mg("0.003473 mg")), "3.47 mcg");
        // Below 0.1 mg in mcg; rounding up to 0.1 mg goes over to mg.
        assert_eq!(amount(mg("0.05 mg")), "50 mcg");
        assert_eq!(amount(mg("0.09996 mg")), "0.1 mg");
        assert_eq!(amount(mg("0.0005 mg")), "0.5 mcg");
        // None at all in mg: "0 mcg" in an mg trial reads as a unit changed for nothing.
        assert_eq!(amount(Amount::ZERO), "0 mg");
        assert_eq!(amount(mg("1234 mg")), "1230 mg");
        assert_eq!(per_day("0.5 mg/day".parse().expect("a rate")), "0.5 mg/day");
        // A drug dosed in mcg stays in mcg, however large.
        assert_eq!(amount_for(mg("0.1234 mg"), MassUnit::Mcg), "123 mcg");
        assert_eq!(amount_for(mg("1.5 mg"), MassUnit::Mcg), "1500 mcg");
        assert_eq!(amount_for(mg("0.05 mg"), MassUnit::Mg), "50 mcg");
        // A setting stays in the order's unit.
        assert_eq!(as_prescribed(mg("0.05 mg"), MassUnit::Mg), "0.05 mg");
        assert_eq!(as_prescribed(mg("0.0125 mg"), MassUnit::Mg), "0.0125 mg");
        assert_eq!(as_prescribed(mg("0.12345 mg"), MassUnit::Mcg), "123 mcg");
    }

    #[test]
    fn volumes_are_to_the_hundredth_of_a_millilitre() {
        let ml = |t: &str| -> Volume { t.parse().expect("a volume") };
        // The "19.796527 mL" and "19.799513 mL".
        assert_eq!(volume(ml("19.796527 mL")), "19.8 mL");
        assert_eq!(volume(ml("19.799513 mL")), "19.8 mL");
        assert_eq!(volume(ml("20 mL")), "20 mL");
        assert_eq!(volume(ml("0.05 mL")), "0.05 mL");
        assert_eq!(volume(ml("4 µL")), "less than 0.01 mL");
        assert_eq!(volume(ml("5 µL")), "0.01 mL");
        assert_eq!(volume(Volume::ZERO), "0 mL");
    }

    #[test]
    fn durations_are_words_at_the_precision_that_matters() {
        let d = |t: &str| -> Duration { t.parse().expect("a duration") };
        // The "38d 14h 13min 59s 865ms": days from three days on, rounded down for a
        // time until the syringe is empty.
        let empty_in = Duration::from_ms(38 * DAY + 14 * HOUR + 13 * MINUTE + 59 * SECOND + 865);
        assert_eq!(duration(empty_in, Round::Down), "38 days");
        assert_eq!(duration(empty_in, Round::Up), "39 days");
        assert_eq!(duration(d("4h 20min"), Round::Down), "4 h 20 min");
        assert_eq!(duration(d("4h"), Round::Down), "4 h");
        // A lockout with 11 min 10 s to go says 12 min: never sooner than it is.
        let lockout = Duration::from_ms(11 * MINUTE + 10 * SECOND);
        assert_eq!(duration(lockout, Round::Up), "12 min");
        assert_eq!(duration(lockout, Round::Down), "11 min");
        assert_eq!(duration(lockout, Round::Nearest), "11 min");
        assert_eq!(duration(Duration::from_ms(40 * SECOND), Round::Up), "40 s");
        assert_eq!(
            duration(Duration::from_ms(59 * MINUTE + 1), Round::Up),
            "1 h"
        );
        assert_eq!(duration(d("30h"), Round::Down), "1 day 6 h");
        assert_eq!(duration(d("48h"), Round::Down), "2 days");
        assert_eq!(duration(Duration::from_ms(0), Round::Up), "0 s");
    }

    #[test]
    fn durations_and_volumes_read_in_german() {
        use crate::lang::{self, Language};
        let d = |t: &str| -> Duration { t.parse().expect("a duration") };
        let empty_in = Duration::from_ms(38 * DAY + 14 * HOUR + 13 * MINUTE);
        lang::with(Language::German, || {
            assert_eq!(duration(empty_in, Round::Down), "38 Tage");
            assert_eq!(duration(d("30h"), Round::Down), "1 Tag 6 h");
            assert_eq!(duration(d("24h"), Round::Down), "1 Tag");
            assert_eq!(duration(d("48h"), Round::Down), "2 Tage");
            assert_eq!(duration(d("4h 20min"), Round::Down), "4 h 20 min");
            let lockout = Duration::from_ms(11 * MINUTE + 10 * SECOND);
            assert_eq!(duration(lockout, Round::Up), "12 min");
            assert_eq!(duration(Duration::from_ms(40 * SECOND), Round::Up), "40 s");
            let ml = |t: &str| -> Volume { t.parse().expect("a volume") };
            assert_eq!(volume(ml("4 µL")), "weniger als 0.01 mL");
            assert_eq!(volume(ml("19.8 mL")), "19.8 mL", "the decimal point stays");
            assert_eq!(per_day("0.5 mg/day".parse().expect("a rate")), "0.5 mg/day");
        });
    }

    /// The significant digits of a number as written ("0.0345" has 3, "1230" has 3).
    fn significant(number: &str) -> usize {
        let digits: String = number.chars().filter(char::is_ascii_digit).collect();
        let digits = digits.trim_start_matches('0');
        if number.contains('.') {
            digits.len()
        } else {
            digits.trim_end_matches('0').len()
        }
    }

    /// A duration read back from [`duration`]'s words, ms.
    fn read_back(words: &str) -> u64 {
        let parts: Vec<&str> = words.split(' ').collect();
        parts
            .chunks(2)
            .map(|pair| {
                let n: u64 = pair[0].parse().expect("a number");
                n * match pair[1] {
                    "s" => SECOND,
                    "min" => MINUTE,
                    "h" => HOUR,
                    "day" | "days" => DAY,
                    other => panic!("unit {other}"),
                }
            })
            .sum()
    }

    proptest! {
        #[test]
        fn an_amount_has_three_significant_digits_and_reads_back_within_them(
            ng in 0u64..=10_000 * NG_PER_MG,
        ) {
            let text = amount(Amount::from_ng(ng));
            prop_assert!(text.len() <= 10, "{}", text);
            let number = text.split(' ').next().unwrap_or_default();
            prop_assert!(significant(number) <= 3, "{}", text);
            // A leading zero, and no trailing zero after the point.
            let trailing_zero = number.contains('.') && number.ends_with('0');
            prop_assert!(!number.starts_with('.') && !trailing_zero, "{}", text);
            let back: Amount = text.parse().expect("reads back");
            let scale = 10u64.pow(ng.max(1).ilog10().saturating_sub(2));
            prop_assert!(back.ng().abs_diff(ng) <= scale / 2 + scale % 2, "{} from {} ng", text, ng);
        }

        #[test]
        fn a_volume_reads_back_within_a_hundredth_of_a_millilitre(nl in 0u64..=100 * NL_PER_ML) {
            let text = volume(Volume::from_nl(nl));
            prop_assert!(text.len() <= 17, "{}", text);
            if text == "less than 0.01 mL" {
                prop_assert!(nl > 0 && nl < NL_PER_CENTI_ML / 2);
            } else {
                let back: Volume = text.parse().expect("reads back");
                prop_assert!(back.nl().abs_diff(nl) <= NL_PER_CENTI_ML / 2, "{} from {} nL", text, nl);
            }
        }

        #[test]
        fn a_duration_rounds_the_way_asked_within_its_precision(ms in 0u64..=60 * DAY) {
            let d = Duration::from_ms(ms);
            let down = duration(d, Round::Down);
            let up = duration(d, Round::Up);
            for text in [&down, &up, &duration(d, Round::Nearest)] {
                prop_assert!(text.len() <= 16, "{}", text);
                prop_assert!(!text.contains("ms"), "{}", text);
                if ms >= MINUTE {
                    prop_assert!(!text.ends_with(" s"), "{}", text);
                }
            }
            let unit = if ms < MINUTE { SECOND } else if ms < DAY { MINUTE } else if ms < 3 * DAY { HOUR } else { DAY };
            let (low, high) = (read_back(&down), read_back(&up));
            prop_assert!(low <= ms && ms - low < unit, "{} for {} ms", down, ms);
            prop_assert!(high >= ms && high - ms < unit, "{} for {} ms", up, ms);
        }
    }
}
