//! What a nurse records at the bedside: a temperature checked as it is typed, the catheter site
//! check, the spasticity score and the day's systemic opioids, and what each screen says once
//! it is recorded.

use crate::core::tr;

/// A temperature as typed on the keypad: None when empty, the value in °C when it is one the
/// pump records (25 to 45 °C, to a tenth), or what is wrong, in words for the nurse.
pub fn temperature_entry(text: &str) -> Result<Option<f64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let decimals = text.split_once('.').map_or(0, |(_, frac)| frac.len());
    let value = text
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && !text.starts_with('.') && !text.ends_with('.'));
    let Some(value) = value else {
        return Err(tr!("Type the temperature like this: 37.8").to_owned());
    };
    if decimals > 1 {
        return Err(tr!("Give the temperature to a tenth of a degree (37.8).").to_owned());
    }
    if !(25.0..=45.0).contains(&value) {
        return Err(
            tr!("A body temperature is between 25 and 45 °C: check the number.").to_owned(),
        );
    }
    Ok(Some(value))
}

/// A site finding the screen offers (the daemon's word: "redness", "swelling", "drainage",
/// "leak", "headache_upright") in the nurse's words; any other word as it is.
pub fn site_finding_words(finding: &str) -> &str {
    match finding {
        "redness" => tr!("redness"),
        "swelling" => tr!("swelling or tenderness"),
        "drainage" => tr!("drainage"),
        "leak" => tr!("leak"),
        "headache_upright" => tr!("headache when upright"),
        other => other,
    }
}

/// What the site check screen says once the check is recorded.
pub fn site_check_recorded(celsius: f64, findings: &[String]) -> String {
    let celsius = format!("{celsius:.1}");
    if findings.is_empty() {
        return tr!("Site check recorded: {celsius} °C, site clean.", celsius);
    }
    let found: Vec<&str> = findings.iter().map(|f| site_finding_words(f)).collect();
    tr!(
        "Site check recorded: {celsius} °C; {found}. Tell the clinician.",
        celsius,
        found = found.join(", ")
    )
}

/// The systemic opioids as typed on the keypad ("60"), as the daemon takes them: oral morphine
/// equivalents per day ("60 mg/day").
pub fn opioids_entry(typed: &str) -> String {
    format!("{} mg/day", typed.trim())
}

/// What the systemic opioids screen says once the day's figure is recorded.
pub fn opioids_recorded(typed: &str) -> String {
    tr!(
        "Recorded: {amount} oral morphine equivalents.",
        amount = opioids_entry(typed)
    )
}

/// What the spasticity screen says once a score is recorded.
pub fn spasticity_recorded(score: &str, muscles: &str) -> String {
    if muscles.trim().is_empty() {
        tr!("Ashworth {score} recorded.", score)
    } else {
        tr!("Ashworth {score} recorded ({muscles}).", score, muscles)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_temperature_is_checked_before_it_is_sent() {
        assert_eq!(temperature_entry(""), Ok(None));
        assert_eq!(temperature_entry("37.8"), Ok(Some(37.8)));
        assert_eq!(temperature_entry("38"), Ok(Some(38.0)));
        assert_eq!(temperature_entry("25"), Ok(Some(25.0)));
        assert_eq!(temperature_entry("45.0"), Ok(Some(45.0)));
        for wrong in ["3.7.8", ".", "37.", ".5", "abc"] {
            assert_eq!(
                temperature_entry(wrong),
                Err("Type the temperature like this: 37.8".to_owned()),
                "{wrong}"
            );
        }
        assert_eq!(
            temperature_entry("37.85"),
            Err("Give the temperature to a tenth of a degree (37.8).".to_owned())
        );
        for out in ["378", "24.9", "45.1", "98.6"] {
            assert!(
                temperature_entry(out)
                    .unwrap_err()
                    .starts_with("A body temperature is between 25 and 45"),
                "{out}"
            );
        }
    }

    #[test]
    fn systemic_opioids_are_sent_as_oral_morphine_equivalents_per_day() {
        assert_eq!(opioids_entry("60"), "60 mg/day");
        assert_eq!(opioids_entry(" 7.5 "), "7.5 mg/day");
        assert_eq!(
            opioids_recorded("60"),
            "Recorded: 60 mg/day oral morphine equivalents."
        );
    }

    #[test]
    fn the_site_check_says_what_was_recorded() {
        assert_eq!(
            site_check_recorded(38.6, &["redness".to_owned(), "headache_upright".to_owned()]),
            "Site check recorded: 38.6 °C; redness, headache when upright. Tell the clinician."
        );
        assert_eq!(
            site_check_recorded(36.8, &[]),
            "Site check recorded: 36.8 °C, site clean."
        );
    }

    #[test]
    fn what_is_recorded_is_said_in_german() {
        use crate::core::lang::{Language, with};
        with(Language::German, || {
            assert_eq!(
                site_check_recorded(38.6, &["redness".to_owned(), "headache_upright".to_owned()]),
                "Kontrolle der Eintrittsstelle erfasst: 38.6 °C; Rötung, Kopfschmerz in \
                 aufrechter Haltung. Ärztin/Arzt informieren."
            );
            assert_eq!(
                temperature_entry("37.85"),
                Err("Temperatur auf ein Zehntel Grad genau angeben (37.8).".to_owned())
            );
            assert_eq!(
                opioids_recorded("60"),
                "Erfasst: 60 mg/day orale Morphin-Äquivalente."
            );
        });
    }

    #[test]
    fn the_spasticity_score_says_the_muscles_when_there_are_some() {
        assert_eq!(spasticity_recorded("1+", ""), "Ashworth 1+ recorded.");
        assert_eq!(
            spasticity_recorded("2", "Knee extensors"),
            "Ashworth 2 recorded (Knee extensors)."
        );
    }
}
