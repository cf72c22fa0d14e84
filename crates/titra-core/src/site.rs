//! The catheter site: checks at a set interval, and the signs of infection they may show.
//!
//! A trial catheter is a path from the skin to the spinal canal; an infection there can become
//! meningitis or an epidural abscess, and a leak of spinal fluid gives the post-dural-puncture
//! headache (worse when upright). Nurses look at the site at a set interval — every 8 h by
//! default — and record the temperature and what they found:
//!
//! - a check not recorded by its time is *missed*: a LOW alarm until one is recorded;
//! - a temperature at or above the fever threshold (38 °C by default) or any finding raises the
//!   MEDIUM alarm "possible infection — tell the clinician". Delivery goes on: stopping the drug
//!   does not treat an infection and would leave the patient in pain; the clinician decides
//!   whether the catheter comes out. The alarm's cause stands until a clean check is recorded.
//!
//! [`SiteRule`] comes from the site's protocol; [`SiteClock`] keeps the schedule, pure, fed by
//! the engine with what it records.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::observation::BodyTemp;
use super::units::{Duration, Timestamp};
use crate::lang::{self, Language};
use crate::tr;

/// What a nurse may find at the catheter site (besides a temperature).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteFinding {
    /// Redness around the entry point.
    Redness,
    /// Swelling or tenderness around the entry point.
    Swelling,
    /// Pus or cloudy fluid from the entry point.
    Drainage,
    /// Clear fluid at the site or a wet dressing: the drug or spinal fluid leaking.
    Leak,
    /// A headache when upright that eases lying down (post-dural puncture).
    HeadacheUpright,
}

impl SiteFinding {
    pub const ALL: [SiteFinding; 5] = [
        SiteFinding::Redness,
        SiteFinding::Swelling,
        SiteFinding::Drainage,
        SiteFinding::Leak,
        SiteFinding::HeadacheUpright,
    ];

    /// The word in the log, on D-Bus and in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            SiteFinding::Redness => "redness",
            SiteFinding::Swelling => "swelling",
            SiteFinding::Drainage => "drainage",
            SiteFinding::Leak => "leak",
            SiteFinding::HeadacheUpright => "headache_upright",
        }
    }

    /// For the nurse and the summary, in the language in use.
    pub fn label(self) -> &'static str {
        match self {
            SiteFinding::Redness => tr!("redness"),
            SiteFinding::Swelling => tr!("swelling or tenderness"),
            SiteFinding::Drainage => tr!("drainage (pus or cloudy fluid)"),
            SiteFinding::Leak => tr!("leak (clear fluid, wet dressing)"),
            SiteFinding::HeadacheUpright => tr!("headache when upright"),
        }
    }
}

impl std::str::FromStr for SiteFinding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SiteFinding::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                let words: Vec<&str> = SiteFinding::ALL.iter().map(|f| f.as_str()).collect();
                format!(
                    "findings: \"{s}\" is not one of {}; leave the list empty when the site is clean",
                    words.join(", ")
                )
            })
    }
}

impl fmt::Display for SiteFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How often the site is checked and what temperature counts as fever: the site protocol's
/// `[site_checks]` table, [`SiteRule::DEFAULT`] without it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SiteRule {
    /// A check is due this long after delivery first starts and after each check.
    pub every: Duration,
    /// A temperature at or above this is a sign of infection.
    pub fever: BodyTemp,
}

impl SiteRule {
    /// Every 8 h (once a nursing shift) and 38.0 °C.
    pub const DEFAULT: SiteRule = SiteRule {
        every: Duration::from_hours(8),
        fever: BodyTemp::from_deci_celsius(380),
    };

    /// The shortest and longest interval a protocol may set (hourly is the closest any
    /// protocol watches a site; a day is the longest a catheter should go unseen).
    pub const EVERY_RANGE: (Duration, Duration) =
        (Duration::from_hours(1), Duration::from_hours(24));
    /// The fever threshold's range, tenths of °C (below 37.5 every healthy evening would
    /// alarm; above 39.0 an infection would be missed).
    pub const FEVER_RANGE: (u16, u16) = (375, 390);

    /// Why these values cannot be used, naming the field, the value and the limit.
    pub fn check(&self) -> Result<(), String> {
        let (lo, hi) = Self::EVERY_RANGE;
        if self.every < lo || self.every > hi {
            return Err(format!(
                "site_checks.every: {} is outside {lo} to {hi}",
                self.every
            ));
        }
        let (lo, hi) = Self::FEVER_RANGE;
        if !(lo..=hi).contains(&self.fever.deci_celsius()) {
            return Err(format!(
                "site_checks.fever: {} is outside {}.{} to {}.{} °C",
                self.fever,
                lo / 10,
                lo % 10,
                hi / 10,
                hi % 10
            ));
        }
        Ok(())
    }

    /// What points to an infection (or a leak) in a check or a temperature, in words (English:
    /// for the engineers' log); None when nothing does.
    pub fn signs(&self, temperature: Option<BodyTemp>, findings: &[SiteFinding]) -> Option<String> {
        let mut signs: Vec<String> = Vec::new();
        if let Some(t) = temperature.filter(|&t| t >= self.fever) {
            signs.push(format!("temperature {t} (fever from {})", self.fever));
        }
        signs.extend(lang::with(Language::English, || {
            findings
                .iter()
                .map(|f| f.label().to_owned())
                .collect::<Vec<_>>()
        }));
        (!signs.is_empty()).then(|| signs.join(", "))
    }
}

impl Default for SiteRule {
    fn default() -> Self {
        SiteRule::DEFAULT
    }
}

/// The schedule of site checks as it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiteClock {
    every: Duration,
    next_due: Option<Timestamp>,
}

impl SiteClock {
    pub fn new(rule: SiteRule) -> SiteClock {
        SiteClock {
            every: rule.every,
            next_due: None,
        }
    }

    /// Delivery ran for the first time at `at`: the first check is due an interval later
    /// (a check recorded before that, while setting up, counts from its own time).
    pub fn delivery_started(&mut self, at: Timestamp) {
        if self.next_due.is_none() {
            self.next_due = Some(at + self.every);
        }
    }

    /// A check was recorded at `at`: the next is due an interval later.
    pub fn checked(&mut self, at: Timestamp) {
        self.next_due = Some(at + self.every);
    }

    pub fn next_due(&self) -> Option<Timestamp> {
        self.next_due
    }

    /// When the check missed by `now` was due, if one is.
    pub fn overdue(&self, now: Timestamp) -> Option<Timestamp> {
        self.next_due.filter(|&d| now > d)
    }

    /// The moment the engine must look again: just after the next check's time.
    pub fn wake(&self) -> Option<Timestamp> {
        self.next_due.map(|d| d + Duration::from_ms(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(hours: u64) -> Timestamp {
        Timestamp::ORIGIN + Duration::from_hours(hours)
    }

    fn temp(c: f64) -> Option<BodyTemp> {
        Some(BodyTemp::from_celsius(c).unwrap())
    }

    #[test]
    fn fever_starts_at_38_and_every_finding_is_a_sign() {
        let r = SiteRule::DEFAULT;
        assert_eq!(r.signs(temp(37.9), &[]), None);
        assert_eq!(r.signs(None, &[]), None);
        assert_eq!(
            r.signs(temp(38.0), &[]).as_deref(),
            Some("temperature 38.0 °C (fever from 38.0 °C)")
        );
        assert_eq!(
            r.signs(
                temp(37.0),
                &[SiteFinding::Redness, SiteFinding::HeadacheUpright]
            )
            .as_deref(),
            Some("redness, headache when upright")
        );
    }

    #[test]
    fn a_check_is_due_every_interval_from_the_start_and_from_each_check() {
        let mut c = SiteClock::new(SiteRule::DEFAULT);
        assert_eq!(c.overdue(h(100)), None, "nothing due before delivery");
        c.delivery_started(h(1));
        assert_eq!(c.next_due(), Some(h(9)));
        assert_eq!(c.overdue(h(9)), None, "on time at its time");
        assert_eq!(c.overdue(h(9) + Duration::from_ms(1)), Some(h(9)));
        assert_eq!(c.wake(), Some(h(9) + Duration::from_ms(1)));
        c.checked(h(10));
        assert_eq!(c.overdue(h(11)), None);
        assert_eq!(c.next_due(), Some(h(18)));
        c.delivery_started(h(12));
        assert_eq!(c.next_due(), Some(h(18)), "a resume is not a new start");
    }

    #[test]
    fn a_check_while_setting_up_counts() {
        let mut c = SiteClock::new(SiteRule::DEFAULT);
        c.checked(h(0));
        c.delivery_started(h(2));
        assert_eq!(c.next_due(), Some(h(8)));
    }

    #[test]
    fn a_rule_outside_its_range_is_refused_naming_the_field() {
        assert!(SiteRule::DEFAULT.check().is_ok());
        let e = SiteRule {
            every: Duration::from_hours(48),
            ..SiteRule::DEFAULT
        }
        .check()
        .unwrap_err();
        assert!(e.starts_with("site_checks.every: 2d is outside 1h"), "{e}");
        let e = SiteRule {
            fever: BodyTemp::from_celsius(40.0).unwrap(),
            ..SiteRule::DEFAULT
        }
        .check()
        .unwrap_err();
        assert_eq!(e, "site_checks.fever: 40.0 °C is outside 37.5 to 39.0 °C");
        // Each range's ends are allowed; a minute or a tenth beyond is not.
        let rule = |every: Duration, deci: u16| {
            SiteRule {
                every,
                fever: BodyTemp::from_deci_celsius(deci),
            }
            .check()
            .map_err(|e| e.split(':').next().unwrap_or_default().to_owned())
        };
        let h = Duration::from_hours;
        let m = Duration::from_mins;
        assert_eq!(rule(h(1), 375), Ok(()));
        assert_eq!(rule(h(24), 390), Ok(()));
        assert_eq!(rule(m(59), 380), Err("site_checks.every".to_owned()));
        assert_eq!(
            rule(m(24 * 60 + 1), 380),
            Err("site_checks.every".to_owned())
        );
        assert_eq!(rule(h(8), 374), Err("site_checks.fever".to_owned()));
        assert_eq!(rule(h(8), 391), Err("site_checks.fever".to_owned()));
    }

    #[test]
    fn findings_are_written_as_in_the_files() {
        let written: Vec<String> = SiteFinding::ALL.iter().map(|f| f.to_string()).collect();
        let parsed: Vec<SiteFinding> = written.iter().map(|w| w.parse().unwrap()).collect();
        assert_eq!(parsed, SiteFinding::ALL);
        assert_eq!(SiteFinding::HeadacheUpright.to_string(), "headache_upright");
    }

    #[test]
    fn findings_are_read_as_words_and_anything_else_is_refused() {
        assert_eq!(
            "headache_upright".parse::<SiteFinding>(),
            Ok(SiteFinding::HeadacheUpright)
        );
        let e = "pus".parse::<SiteFinding>().unwrap_err();
        assert!(
            e.starts_with("findings: \"pus\" is not one of redness, swelling"),
            "{e}"
        );
        let json = serde_json::to_string(&SiteFinding::HeadacheUpright).unwrap();
        assert_eq!(json, "\"headache_upright\"");
    }
}
