//! The alarm banner above every screen: the highest active alarm, and how long its tones stay
//! paused; and the sedation interlock's hold, which the patient and staff screens both follow.

use crate::core::supervisor::{AlarmKind, Priority};
use crate::service::wire::{AlarmStatus, Status};

/// What the alarm banner shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlarmBanner {
    /// The highest active alarm's priority (its colour and flashing); None: no banner.
    pub level: Option<Priority>,
    /// Its words, as the daemon wrote them.
    pub text: String,
    /// Seconds the alarm tones stay paused (0: not paused).
    pub silenced_s: i32,
}

/// The highest active alarm.
pub fn top_alarm(s: &Status) -> Option<&AlarmStatus> {
    s.alarms.iter().max_by_key(|a| a.priority)
}

/// The banner for a status.
pub fn alarm_banner(s: &Status) -> AlarmBanner {
    let top = top_alarm(s);
    AlarmBanner {
        level: top.map(|a| a.priority),
        text: top.map(|a| a.message.clone()).unwrap_or_default(),
        silenced_s: silenced_seconds(s),
    }
}

/// Whether the alarm asks for the nurse (medium or high).
pub fn calls_nurse(s: &Status) -> bool {
    top_alarm(s).is_some_and(|a| a.priority >= Priority::Medium)
}

/// Whether the sedation interlock holds delivery (its alarm stands until a clinician reviews).
pub fn sedation_hold(s: &Status) -> bool {
    s.alarms.iter().any(|a| a.kind == AlarmKind::Sedation)
}

/// Seconds the alarm tones stay paused: the longest pause among the sounding alarms (0 when
/// none is paused).
pub fn silenced_seconds(s: &Status) -> i32 {
    let now = i64::try_from(s.now_ms).unwrap_or(i64::MAX);
    let left = s
        .alarms
        .iter()
        .filter(|a| a.silenced_until_ms > now)
        .map(|a| (a.silenced_until_ms - now + 999) / 1000)
        .max()
        .unwrap_or(0);
    i32::try_from(left).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::supervisor::State;
    use crate::core::units::Timestamp;

    fn alarmed() -> Status {
        let mut s = Status::empty(Timestamp::ORIGIN);
        s.state = State::Alarm;
        s
    }

    #[test]
    fn no_alarm_shows_no_banner() {
        assert_eq!(alarm_banner(&alarmed()), AlarmBanner::default());
        assert!(!calls_nurse(&alarmed()));
    }

    #[test]
    fn the_audio_paused_countdown_rounds_up_and_ends() {
        let mut s = alarmed();
        s.now_ms = 10_000;
        let alarm = |until: i64| AlarmStatus {
            kind: AlarmKind::Occlusion,
            priority: Priority::High,
            message: String::new(),
            since_ms: 0,
            silenced_until_ms: until,
        };
        s.alarms = vec![alarm(-1)];
        assert_eq!(silenced_seconds(&s), 0, "not silenced");
        s.alarms = vec![alarm(-1), alarm(10_000 + 119_001)];
        assert_eq!(silenced_seconds(&s), 120, "a part second counts as one");
        s.alarms = vec![alarm(10_000)];
        assert_eq!(silenced_seconds(&s), 0, "the pause is over");
    }

    #[test]
    fn the_start_up_checks_alarms_name_what_failed_on_the_banner() {
        for (kind, words) in [
            (
                AlarmKind::LogCheckFailed,
                "The trial log failed its integrity check — delivery stopped.",
            ),
            (
                AlarmKind::LibraryChanged,
                "The drug library changed since this trial was programmed — delivery stopped.",
            ),
        ] {
            let mut s = alarmed();
            s.alarms.push(AlarmStatus {
                kind,
                priority: kind.priority(),
                message: kind.message().to_owned(),
                since_ms: 0,
                silenced_until_ms: -1,
            });
            let banner = alarm_banner(&s);
            assert_eq!(banner.level, Some(Priority::High), "{kind:?}");
            assert!(banner.text.starts_with(words), "{kind:?}: {}", banner.text);
            assert!(calls_nurse(&s));
            assert!(!sedation_hold(&s), "not the sedation interlock's hold");
        }
    }

    #[test]
    fn only_the_sedation_alarm_holds_delivery() {
        let mut s = alarmed();
        assert!(!sedation_hold(&s));
        s.alarms.push(AlarmStatus {
            kind: AlarmKind::Sedation,
            priority: Priority::High,
            message: String::new(),
            since_ms: 0,
            silenced_until_ms: -1,
        });
        assert!(sedation_hold(&s));
    }
}
