//! The patient's diary and the trial's outcome measures.
//!
//! - **Pain** (NRS 0–10): the patient screen asks for it every `pain_every` (4 h as shipped)
//!   while the patient is awake — between `awake_from` and `awake_until` by the pump's local
//!   clock — counting from the last score recorded. Each prompt also asks one function question
//!   (the site protocol's, e.g. how far the patient could walk), answered from a fixed list.
//! - **Global impression of change** (PGIC 1–7) once the trial has ended: how the patient's
//!   condition has changed since the trial began.
//! - **Spasticity** (Modified Ashworth Scale 0, 1, 1+, 2, 3, 4), recorded by a nurse or a
//!   clinician, is the outcome measure instead of pain for the drugs the library marks so
//!   (baclofen): the summary then judges the trial on it.
//!
//! Everything here is pure: the service gives it the time of day.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::units::{Duration, Timestamp};
use crate::tr;

/// What a drug's trial is judged on (the drug library's `outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeMeasure {
    /// The patient's pain, NRS 0–10.
    #[default]
    Pain,
    /// Spasticity on the Modified Ashworth Scale, assessed by a nurse or clinician.
    Spasticity,
}

impl OutcomeMeasure {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeMeasure::Pain => "pain",
            OutcomeMeasure::Spasticity => "spasticity",
        }
    }
}

impl fmt::Display for OutcomeMeasure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A score on the Modified Ashworth Scale (Bohannon and Smith, 1987).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ashworth {
    /// No increase in muscle tone.
    Zero,
    /// Slight increase: a catch and release, or minimal resistance at the end of the range.
    One,
    /// Slight increase: a catch, then minimal resistance through less than half the range.
    OnePlus,
    /// More marked increase through most of the range; the part still moves easily.
    Two,
    /// Considerable increase; passive movement difficult.
    Three,
    /// The part is rigid in flexion or extension.
    Four,
}

impl Ashworth {
    pub const ALL: [Ashworth; 6] = [
        Ashworth::Zero,
        Ashworth::One,
        Ashworth::OnePlus,
        Ashworth::Two,
        Ashworth::Three,
        Ashworth::Four,
    ];

    /// As written on the scale.
    pub fn as_str(self) -> &'static str {
        match self {
            Ashworth::Zero => "0",
            Ashworth::One => "1",
            Ashworth::OnePlus => "1+",
            Ashworth::Two => "2",
            Ashworth::Three => "3",
            Ashworth::Four => "4",
        }
    }

    /// The usual numeric coding for averages and changes: 1+ counts as 1.5.
    pub fn value(self) -> f64 {
        match self {
            Ashworth::Zero => 0.0,
            Ashworth::One => 1.0,
            Ashworth::OnePlus => 1.5,
            Ashworth::Two => 2.0,
            Ashworth::Three => 3.0,
            Ashworth::Four => 4.0,
        }
    }
}

impl std::str::FromStr for Ashworth {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ashworth::ALL
            .into_iter()
            .find(|a| a.as_str() == s.trim())
            .ok_or_else(|| {
                format!("ashworth: \"{s}\" is not a Modified Ashworth score (0, 1, 1+, 2, 3 or 4)")
            })
    }
}

impl fmt::Display for Ashworth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Ashworth {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Ashworth {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The Patient Global Impression of Change, 1 (very much improved) to 7 (very much worse), in
/// English (the words of the log and the exports' data); [`pgic_label`] gives them in the
/// language in use.
pub const PGIC: [&str; 7] = [
    "Very much improved",
    "Much improved",
    "A little improved",
    "No change",
    "A little worse",
    "Much worse",
    "Very much worse",
];

/// The words of a PGIC score in the language in use (for the patient and the summary), None
/// outside 1 to 7.
pub fn pgic_label(value: u8) -> Option<&'static str> {
    Some(match value {
        1 => tr!("Very much improved"),
        2 => tr!("Much improved"),
        3 => tr!("A little improved"),
        4 => tr!("No change"),
        5 => tr!("A little worse"),
        6 => tr!("Much worse"),
        7 => tr!("Very much worse"),
        _ => return None,
    })
}

/// A time of day, minutes after midnight, written "HH:MM".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeOfDay(u16);

impl TimeOfDay {
    pub const fn from_hm(h: u16, m: u16) -> TimeOfDay {
        TimeOfDay(h * 60 + m)
    }

    /// From minutes after midnight (taken modulo a day).
    pub fn from_minutes(m: u64) -> TimeOfDay {
        TimeOfDay((m % (24 * 60)) as u16)
    }

    pub fn minutes(self) -> u16 {
        self.0
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl std::str::FromStr for TimeOfDay {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("\"{s}\" is not a time of day written HH:MM (00:00 to 23:59)");
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: u16 = h.parse().map_err(|_| bad())?;
        let m: u16 = m.parse().map_err(|_| bad())?;
        if h > 23 || m > 59 {
            return Err(bad());
        }
        Ok(TimeOfDay::from_hm(h, m))
    }
}

impl Serialize for TimeOfDay {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TimeOfDay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The patient diary's settings: the site protocol's `[diary]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiaryRule {
    /// How often the patient is asked for a pain score while awake.
    pub pain_every: Duration,
    /// The patient is asked only from this time of day ...
    pub awake_from: TimeOfDay,
    /// ... until this one (may be past midnight: "22:00" to "06:00" is a night shift's day).
    pub awake_until: TimeOfDay,
    /// The function question asked with each pain score.
    pub function_question: String,
    /// Its answers, from least to most function.
    pub function_answers: Vec<String>,
}

impl Default for DiaryRule {
    fn default() -> Self {
        DiaryRule {
            pain_every: Duration::from_hours(4),
            awake_from: TimeOfDay::from_hm(7, 0),
            awake_until: TimeOfDay::from_hm(22, 0),
            function_question: "How far could you walk since you last answered?".to_owned(),
            function_answers: [
                "I could not walk",
                "Only in my room",
                "On the ward or around the house",
                "Outside, a short way",
                "As far as I wanted",
            ]
            .map(str::to_owned)
            .to_vec(),
        }
    }
}

impl DiaryRule {
    /// The shortest and longest interval between prompts.
    pub const EVERY_RANGE: (Duration, Duration) =
        (Duration::from_hours(1), Duration::from_hours(12));

    /// A text of the diary's question for the patient, in the language in use: the default
    /// question and answers (kept in English in the protocol and the log) translated, a site's
    /// own as its protocol writes them.
    pub fn shown(text: &str) -> &str {
        match text {
            "How far could you walk since you last answered?" => {
                tr!("How far could you walk since you last answered?")
            }
            "I could not walk" => tr!("I could not walk"),
            "Only in my room" => tr!("Only in my room"),
            "On the ward or around the house" => tr!("On the ward or around the house"),
            "Outside, a short way" => tr!("Outside, a short way"),
            "As far as I wanted" => tr!("As far as I wanted"),
            other => other,
        }
    }

    /// Why these settings cannot be used, naming the field, the value and the limit.
    pub fn check(&self) -> Result<(), String> {
        let (lo, hi) = Self::EVERY_RANGE;
        if self.pain_every < lo || self.pain_every > hi {
            return Err(format!(
                "diary.pain_every: {} is outside {lo} to {hi}",
                self.pain_every
            ));
        }
        if self.awake_from == self.awake_until {
            return Err(format!(
                "diary.awake_until: {} is the same as awake_from; give the hours the patient is awake",
                self.awake_until
            ));
        }
        let q = self.function_question.trim();
        if q.is_empty() || q.chars().count() > 120 {
            return Err(
                "diary.function_question: write the question, at most 120 characters".to_owned(),
            );
        }
        if !(2..=7).contains(&self.function_answers.len()) {
            return Err(format!(
                "diary.function_answers: {} answers; give 2 to 7",
                self.function_answers.len()
            ));
        }
        if let Some(a) = self
            .function_answers
            .iter()
            .find(|a| a.trim().is_empty() || a.chars().count() > 60)
        {
            return Err(format!(
                "diary.function_answers: \"{a}\" must be 1 to 60 characters"
            ));
        }
        Ok(())
    }

    /// Whether the patient is awake by the diary's hours at `time`. Equal hours would read as
    /// awake all day; [`DiaryRule::check`] refuses them as ambiguous.
    pub fn awake_at(&self, time: TimeOfDay) -> bool {
        if self.awake_from < self.awake_until {
            self.awake_from <= time && time < self.awake_until
        } else {
            time >= self.awake_from || time < self.awake_until
        }
    }

    /// Whether the patient screen should ask for a pain score at `now`: the interval has passed
    /// since the last score (or since delivery started, when none was recorded since), and it
    /// is waking hours at `time_of_day` (the pump's local clock; None when the pump has no wall
    /// clock, as in a simulation: then every hour counts as awake).
    pub fn pain_due(
        &self,
        since: Timestamp,
        now: Timestamp,
        time_of_day: Option<TimeOfDay>,
    ) -> bool {
        now >= since + self.pain_every && time_of_day.is_none_or(|t| self.awake_at(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(hours: u64) -> Timestamp {
        Timestamp::ORIGIN + Duration::from_hours(hours)
    }

    #[test]
    fn the_default_question_and_the_pgic_read_in_german_and_a_sites_own_as_written() {
        use crate::lang::{self, Language};
        let d = DiaryRule::default();
        lang::with(Language::German, || {
            for text in std::iter::once(&d.function_question).chain(&d.function_answers) {
                assert_ne!(DiaryRule::shown(text), text, "{text} has its German");
            }
            assert_eq!(
                DiaryRule::shown(&d.function_question),
                "Wie weit konnten Sie seit Ihrer letzten Antwort gehen?"
            );
            assert_eq!(DiaryRule::shown("Wie geht es Ihnen?"), "Wie geht es Ihnen?");
            assert_eq!(pgic_label(1), Some("Sehr viel besser"));
            assert_eq!(pgic_label(8), None);
        });
        // In English, the words of the log.
        for (i, words) in PGIC.iter().enumerate() {
            assert_eq!(pgic_label(u8::try_from(i + 1).unwrap()), Some(*words));
        }
        assert_eq!(DiaryRule::shown(&d.function_question), d.function_question);
    }

    #[test]
    fn pain_is_asked_every_4_hours_only_while_awake() {
        let r = DiaryRule::default();
        let day = Some(TimeOfDay::from_hm(14, 0));
        assert!(!r.pain_due(h(0), h(3), day));
        assert!(r.pain_due(h(0), h(4), day));
        assert!(!r.pain_due(h(0), h(5), Some(TimeOfDay::from_hm(23, 30))));
        assert!(!r.pain_due(h(0), h(5), Some(TimeOfDay::from_hm(6, 59))));
        assert!(r.pain_due(h(0), h(5), Some(TimeOfDay::from_hm(7, 0))));
        assert!(r.pain_due(h(0), h(5), None), "no clock: always awake");
        assert!(r.awake_at(TimeOfDay::from_hm(21, 59)));
        assert!(
            !r.awake_at(TimeOfDay::from_hm(22, 0)),
            "until is not included"
        );
        let all_day = DiaryRule {
            awake_until: r.awake_from,
            ..DiaryRule::default()
        };
        assert!(all_day.awake_at(TimeOfDay::from_hm(3, 0)));
        assert!(all_day.check().is_err(), "but refused as ambiguous");
    }

    #[test]
    fn waking_hours_may_run_past_midnight() {
        let r = DiaryRule {
            awake_from: TimeOfDay::from_hm(20, 0),
            awake_until: TimeOfDay::from_hm(8, 0),
            ..DiaryRule::default()
        };
        assert!(r.awake_at(TimeOfDay::from_hm(23, 0)));
        assert!(r.awake_at(TimeOfDay::from_hm(3, 0)));
        assert!(!r.awake_at(TimeOfDay::from_hm(12, 0)));
        assert!(!r.awake_at(TimeOfDay::from_hm(8, 0)));
    }

    #[test]
    fn settings_outside_their_range_are_refused_naming_the_field() {
        assert!(DiaryRule::default().check().is_ok());
        let e = DiaryRule {
            pain_every: Duration::from_mins(30),
            ..DiaryRule::default()
        }
        .check()
        .unwrap_err();
        assert_eq!(e, "diary.pain_every: 30min is outside 1h to 12h");
        let e = DiaryRule {
            function_answers: vec!["Yes".to_owned()],
            ..DiaryRule::default()
        }
        .check()
        .unwrap_err();
        assert!(e.starts_with("diary.function_answers: 1 answers"), "{e}");
        let e = DiaryRule {
            awake_until: TimeOfDay::from_hm(7, 0),
            ..DiaryRule::default()
        }
        .check()
        .unwrap_err();
        assert!(e.starts_with("diary.awake_until: 07:00"), "{e}");
    }

    #[test]
    fn every_setting_is_allowed_up_to_its_limit_and_refused_past_it() {
        let check = |r: DiaryRule| {
            r.check()
                .map_err(|e| e.split(':').next().unwrap().to_owned())
        };
        let d = DiaryRule::default;
        for hours in [1, 12] {
            let r = DiaryRule {
                pain_every: Duration::from_hours(hours),
                ..d()
            };
            assert_eq!(check(r), Ok(()), "{hours} h");
        }
        for every in [Duration::from_mins(59), Duration::from_mins(12 * 60 + 1)] {
            let r = DiaryRule {
                pain_every: every,
                ..d()
            };
            assert_eq!(check(r), Err("diary.pain_every".to_owned()), "{every}");
        }
        let question = |q: String| {
            check(DiaryRule {
                function_question: q,
                ..d()
            })
        };
        assert_eq!(question("é".repeat(120)), Ok(()));
        for bad in ["é".repeat(121), "  ".to_owned(), String::new()] {
            assert_eq!(question(bad), Err("diary.function_question".to_owned()));
        }
        let answers = |a: Vec<String>| {
            check(DiaryRule {
                function_answers: a,
                ..d()
            })
        };
        let n = |k: usize| (1..=k).map(|i| format!("answer {i}")).collect::<Vec<_>>();
        assert_eq!(answers(n(2)), Ok(()));
        assert_eq!(answers(n(7)), Ok(()));
        assert_eq!(answers(vec!["No".to_owned(), "é".repeat(60)]), Ok(()));
        for bad in [
            n(1),
            n(8),
            vec!["No".to_owned(), "é".repeat(61)],
            vec!["No".to_owned(), " ".to_owned()],
        ] {
            assert_eq!(answers(bad), Err("diary.function_answers".to_owned()));
        }
    }

    #[test]
    fn times_of_day_count_minutes_after_midnight() {
        assert_eq!(TimeOfDay::from_hm(7, 30).minutes(), 450);
        assert_eq!(TimeOfDay::from_hm(0, 0).minutes(), 0);
        assert_eq!(
            "23:59".parse::<TimeOfDay>().map(TimeOfDay::minutes),
            Ok(1439)
        );
        assert_eq!("00:59".parse::<TimeOfDay>().map(TimeOfDay::minutes), Ok(59));
        assert_eq!(TimeOfDay::from_hm(9, 5).to_string(), "09:05");
    }

    #[test]
    fn outcome_measures_and_scores_are_written_as_in_the_files() {
        assert_eq!(OutcomeMeasure::Pain.to_string(), "pain");
        assert_eq!(OutcomeMeasure::Spasticity.to_string(), "spasticity");
        let written: Vec<String> = Ashworth::ALL.iter().map(|a| a.to_string()).collect();
        assert_eq!(written, ["0", "1", "1+", "2", "3", "4"]);
    }

    #[test]
    fn times_of_day_are_read_strictly() {
        assert_eq!("07:30".parse::<TimeOfDay>(), Ok(TimeOfDay::from_hm(7, 30)));
        for bad in ["7:30", "24:00", "12:60", "noon", "12-00"] {
            assert!(bad.parse::<TimeOfDay>().is_err(), "{bad}");
        }
        assert_eq!(TimeOfDay::from_minutes(25 * 60 + 5).to_string(), "01:05");
    }

    #[test]
    fn ashworth_scores_read_and_count_one_plus_as_one_and_a_half() {
        assert_eq!("1+".parse::<Ashworth>(), Ok(Ashworth::OnePlus));
        assert_eq!(Ashworth::OnePlus.value(), 1.5);
        assert!(Ashworth::OnePlus > Ashworth::One && Ashworth::OnePlus < Ashworth::Two);
        let e = "5".parse::<Ashworth>().unwrap_err();
        assert!(e.contains("0, 1, 1+, 2, 3 or 4"), "{e}");
        assert_eq!(serde_json::to_string(&Ashworth::OnePlus).unwrap(), "\"1+\"");
        assert_eq!(
            serde_json::from_str::<Ashworth>("\"3\"").unwrap(),
            Ashworth::Three
        );
    }

    #[test]
    fn pgic_has_seven_labels() {
        assert_eq!(pgic_label(1), Some("Very much improved"));
        assert_eq!(pgic_label(4), Some("No change"));
        assert_eq!(pgic_label(7), Some("Very much worse"));
        assert_eq!(pgic_label(0), None);
        assert_eq!(pgic_label(8), None);
    }
}
