//! The unit parser: any text is either refused with a message or read to a value that prints
//! back to text reading to the same value (no float, no rounding on the way).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::fmt::Display;
use std::str::FromStr;
use titra_core::units::{Amount, AmountRate, Concentration, Duration, Volume, VolumeRate};

fn round_trip<T>(text: &str)
where
    T: FromStr + Display + PartialEq + std::fmt::Debug,
    T::Err: Display,
{
    match text.parse::<T>() {
        Ok(v) => {
            let shown = v.to_string();
            let again: T = shown
                .parse()
                .unwrap_or_else(|e| panic!("{text:?} read as {v:?}, shown {shown:?}, refused: {e}"));
            assert_eq!(again, v, "{text:?} -> {shown:?}");
        }
        Err(e) => assert!(!e.to_string().is_empty(), "a refusal says why"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    round_trip::<Amount>(text);
    round_trip::<Volume>(text);
    round_trip::<Concentration>(text);
    round_trip::<AmountRate>(text);
    round_trip::<VolumeRate>(text);
    round_trip::<Duration>(text);
});
