//! The pump's states and alarms.
//!
//! The state machine is a table ([`TRANSITIONS`]) that can be reviewed on its own: any pair of
//! state and trigger not in it is refused. Alarms carry their priority per IEC 60601-1-8 as
//! CLINICAL.md gives it; HIGH alarms stop delivery; every alarm latches until a nurse
//! acknowledges it, except information signals, which clear themselves.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::units::{Duration, Timestamp};
use crate::tr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// No program.
    Idle,
    /// A program was entered and checked against the library.
    Programmed,
    /// A second nurse verified the program.
    Verified,
    /// The line is being filled.
    Priming,
    /// Delivering.
    Running,
    /// Delivery paused by a nurse.
    Paused,
    /// Delivery stopped by a HIGH alarm.
    Alarm,
    /// The trial is over; the motor never moves again.
    Ended,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Idle => "idle",
            State::Programmed => "programmed",
            State::Verified => "verified",
            State::Priming => "priming",
            State::Running => "running",
            State::Paused => "paused",
            State::Alarm => "alarm",
            State::Ended => "ended",
        })
    }
}

impl State {
    /// The state in words, in the language in use ("running"; in English as Display writes
    /// it, which is what the log and the wire carry).
    pub fn words(self) -> &'static str {
        match self {
            State::Idle => crate::tr!("idle"),
            State::Programmed => crate::tr!("programmed"),
            State::Verified => crate::tr!("verified"),
            State::Priming => crate::tr!("priming"),
            State::Running => crate::tr!("running"),
            State::Paused => crate::tr!("paused"),
            State::Alarm => crate::tr!("alarm"),
            State::Ended => crate::tr!("ended"),
        }
    }

    /// Whether the motor may move forward in this state.
    pub fn delivers(self) -> bool {
        matches!(self, State::Running | State::Priming)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A program is entered (or changed before starting).
    Program,
    /// A second person verifies it.
    Verify,
    /// Priming starts.
    Prime,
    /// Delivery starts (after priming).
    Start,
    Pause,
    /// A nurse resumes delivery (after a pause, or after acknowledging an alarm whose cause has
    /// cleared).
    Resume,
    /// A HIGH alarm stops delivery.
    HighAlarm,
    /// The trial ends.
    End,
}

use State::*;
use Trigger::*;

/// Every allowed transition. Reading it is reviewing the state machine.
pub const TRANSITIONS: &[(State, Trigger, State)] = &[
    (Idle, Program, Programmed),
    (Programmed, Program, Programmed),
    (Programmed, Verify, Verified),
    // Any change after verification needs verifying again.
    (Verified, Program, Programmed),
    (Verified, Prime, Priming),
    (Priming, Start, Running),
    (Priming, Pause, Paused),
    (Running, Pause, Paused),
    (Paused, Resume, Running),
    (Priming, HighAlarm, Alarm),
    (Running, HighAlarm, Alarm),
    (Paused, HighAlarm, Alarm),
    (Alarm, HighAlarm, Alarm),
    (Alarm, Resume, Running),
    (Alarm, Pause, Paused),
    (Programmed, End, Ended),
    (Verified, End, Ended),
    (Priming, End, Ended),
    (Running, End, Ended),
    (Paused, End, Ended),
    (Alarm, End, Ended),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the pump cannot {trigger:?} while {state}")]
pub struct TransitionRefused {
    pub state: State,
    pub trigger: Trigger,
}

/// The state after `trigger`, if the table allows it.
pub fn next(state: State, trigger: Trigger) -> Result<State, TransitionRefused> {
    TRANSITIONS
        .iter()
        .find(|(from, t, _)| *from == state && *t == trigger)
        .map(|&(_, _, to)| to)
        .ok_or(TransitionRefused { state, trigger })
}

/// Alarm priority per IEC 60601-1-8: HIGH red flashing 1.4–2.8 Hz, MEDIUM yellow 0.4–0.8 Hz,
/// LOW cyan steady (CLINICAL.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// An information signal, not an alarm condition: shown, never sounded, clears itself.
    Info,
    Low,
    Medium,
    High,
}

impl Priority {
    /// The priority in words, lower case, in the language in use ("high").
    pub fn words(self) -> &'static str {
        match self {
            Priority::Info => crate::tr!("info"),
            Priority::Low => crate::tr!("low"),
            Priority::Medium => crate::tr!("medium"),
            Priority::High => crate::tr!("high"),
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Priority::Info => "info",
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmKind {
    /// The line downstream of the pump is blocked.
    Occlusion,
    /// Less than the low volume, or the low time at the current program, is left.
    ReservoirLow,
    /// The reservoir is empty (or the plunger reached its end of travel).
    ReservoirEmpty,
    /// The reservoir (syringe) is not in place.
    ReservoirMissing,
    /// The plunger did not move as commanded.
    MotorStall,
    /// The occlusion sensor gives no sensible reading.
    SensorFault,
    /// A delivery was held because a dose limit was reached.
    DoseLimit,
    /// A screening bolus's observation period is running.
    Observation,
    /// Delivery has been paused for long.
    PausedTooLong,
    /// Power came back after a loss: the patient must be checked before resuming.
    PowerRestored,
    /// The trial log cannot be written.
    LogFailure,
    /// A recorded sedation score or respiratory rate crossed the sedation interlock: delivery
    /// and patient boluses are held until a clinician reviews the patient.
    Sedation,
    /// A scheduled sedation and breathing check was not recorded in time (escalates to HIGH
    /// when the next one is missed too).
    ObservationMissed,
    /// The patient's bolus button on its cord is held down or chattering: its presses are not
    /// counted until it is released and quiet.
    StuckButton,
    /// A catheter site check was not recorded in time.
    SiteCheckMissed,
    /// A site check or a temperature showed fever or a finding at the catheter site: the
    /// clinician must be told (delivery goes on).
    PossibleInfection,
    /// Wrong PINs locked a member of staff's login: someone may be guessing (delivery goes on;
    /// other staff can still log in).
    LoginLocked,
    /// At start-up the trial log failed its check (a row or a trial's own row changed, added or
    /// removed): the trial in hand never delivers again, a clinician ends it, and no new trial
    /// is programmed on this log.
    LogCheckFailed,
    /// At start-up the drug library in force was not the one the trial in hand was programmed
    /// with (their SHA-256 differ): that trial never delivers again; a clinician ends it.
    LibraryChanged,
    /// The trial log's storage is running short: the log grew past 80 % of the size computed
    /// for this trial at its start, or the free space on its filesystem fell under the site's
    /// threshold. Delivery goes on; a technician must make space before it runs out.
    StorageLow,
    /// The free space on the trial log's filesystem fell under the reserve kept for the last
    /// records: delivery stopped cleanly (the stop and this alarm written into the reserve),
    /// and the pump stays stopped until space is made.
    StorageFull,
    /// Messages for the hospital's systems are waiting: more than the site allows are queued
    /// for one of its interface engines (issue 23; the network or the engine is down). Delivery
    /// goes on; the messages are kept and sent when the engine answers again.
    OutboxBacklog,
}

impl AlarmKind {
    /// Every alarm, in the order they are declared (what the screens must have room for).
    pub const ALL: [AlarmKind; 22] = [
        AlarmKind::Occlusion,
        AlarmKind::ReservoirLow,
        AlarmKind::ReservoirEmpty,
        AlarmKind::ReservoirMissing,
        AlarmKind::MotorStall,
        AlarmKind::SensorFault,
        AlarmKind::DoseLimit,
        AlarmKind::Observation,
        AlarmKind::PausedTooLong,
        AlarmKind::PowerRestored,
        AlarmKind::LogFailure,
        AlarmKind::Sedation,
        AlarmKind::ObservationMissed,
        AlarmKind::StuckButton,
        AlarmKind::SiteCheckMissed,
        AlarmKind::PossibleInfection,
        AlarmKind::LoginLocked,
        AlarmKind::LogCheckFailed,
        AlarmKind::LibraryChanged,
        AlarmKind::StorageLow,
        AlarmKind::StorageFull,
        AlarmKind::OutboxBacklog,
    ];

    /// Its place in [`AlarmKind::ALL`]: a new alarm must be given one here, and the test of
    /// `ALL` then fails until it is listed there too.
    pub fn index(self) -> usize {
        match self {
            AlarmKind::Occlusion => 0,
            AlarmKind::ReservoirLow => 1,
            AlarmKind::ReservoirEmpty => 2,
            AlarmKind::ReservoirMissing => 3,
            AlarmKind::MotorStall => 4,
            AlarmKind::SensorFault => 5,
            AlarmKind::DoseLimit => 6,
            AlarmKind::Observation => 7,
            AlarmKind::PausedTooLong => 8,
            AlarmKind::PowerRestored => 9,
            AlarmKind::LogFailure => 10,
            AlarmKind::Sedation => 11,
            AlarmKind::ObservationMissed => 12,
            AlarmKind::StuckButton => 13,
            AlarmKind::SiteCheckMissed => 14,
            AlarmKind::PossibleInfection => 15,
            AlarmKind::LoginLocked => 16,
            AlarmKind::LogCheckFailed => 17,
            AlarmKind::LibraryChanged => 18,
            AlarmKind::StorageLow => 19,
            AlarmKind::StorageFull => 20,
            AlarmKind::OutboxBacklog => 21,
        }
    }

    /// The priority the alarm is raised with.
    pub fn priority(self) -> Priority {
        match self {
            AlarmKind::Occlusion
            | AlarmKind::ReservoirEmpty
            | AlarmKind::ReservoirMissing
            | AlarmKind::MotorStall
            | AlarmKind::SensorFault
            | AlarmKind::PowerRestored
            | AlarmKind::LogFailure
            | AlarmKind::Sedation
            | AlarmKind::LogCheckFailed
            | AlarmKind::LibraryChanged
            | AlarmKind::StorageFull => Priority::High,
            AlarmKind::ReservoirLow
            | AlarmKind::DoseLimit
            | AlarmKind::ObservationMissed
            | AlarmKind::StuckButton
            | AlarmKind::PossibleInfection
            | AlarmKind::StorageLow => Priority::Medium,
            AlarmKind::PausedTooLong
            | AlarmKind::SiteCheckMissed
            | AlarmKind::LoginLocked
            | AlarmKind::OutboxBacklog => Priority::Low,
            AlarmKind::Observation => Priority::Info,
        }
    }

    /// What the nurse reads.
    pub fn message(self) -> &'static str {
        match self {
            AlarmKind::Occlusion => {
                tr!(
                    "Line blocked — delivery stopped. Check the catheter and line for kinks or clamps."
                )
            }
            AlarmKind::ReservoirLow => tr!("Reservoir low — prepare a new syringe."),
            AlarmKind::ReservoirEmpty => {
                tr!("Reservoir empty — delivery stopped. Change the syringe.")
            }
            AlarmKind::ReservoirMissing => {
                tr!("Syringe not in place — delivery stopped. Seat the syringe.")
            }
            AlarmKind::MotorStall => {
                tr!("Pump mechanism fault — delivery stopped. Take the pump out of use.")
            }
            AlarmKind::SensorFault => {
                tr!("Pressure sensor fault — delivery stopped. Take the pump out of use.")
            }
            AlarmKind::DoseLimit => {
                tr!("Dose limit reached — delivery held until the limit allows it.")
            }
            AlarmKind::Observation => tr!("Observation period after the screening dose."),
            AlarmKind::PausedTooLong => {
                tr!("Delivery has been paused for a long time — resume or end the trial.")
            }
            AlarmKind::PowerRestored => tr!("Power restored — check the patient, then resume."),
            AlarmKind::LogFailure => {
                tr!("The trial log cannot be written — delivery stopped. Take the pump out of use.")
            }
            AlarmKind::Sedation => {
                tr!(
                    "Sedation or slow breathing — delivery stopped. Call the clinician to review the patient."
                )
            }
            AlarmKind::ObservationMissed => {
                tr!(
                    "Sedation and breathing check overdue — record the sedation score and breathing rate."
                )
            }
            AlarmKind::StuckButton => {
                tr!(
                    "The bolus button on the cord is stuck or faulty — free or replace it; the patient can use the screen meanwhile."
                )
            }
            AlarmKind::SiteCheckMissed => {
                tr!(
                    "Catheter site check due — check the site and record the temperature and findings."
                )
            }
            AlarmKind::PossibleInfection => {
                tr!(
                    "Possible infection — tell the clinician. Fever or a finding at the catheter site."
                )
            }
            AlarmKind::LoginLocked => {
                tr!(
                    "A staff login is locked after wrong PINs — check who has been trying to log in."
                )
            }
            AlarmKind::LogCheckFailed => {
                tr!(
                    "The trial log failed its integrity check — delivery stopped. Call the clinician, then take the pump out of use."
                )
            }
            AlarmKind::LibraryChanged => {
                tr!(
                    "The drug library changed since this trial was programmed — delivery stopped. Call the clinician to end the trial."
                )
            }
            AlarmKind::StorageLow => {
                tr!(
                    "The pump's memory card is almost full — delivery goes on. Call a technician today, before it fills and the pump stops."
                )
            }
            AlarmKind::StorageFull => {
                tr!(
                    "The pump's memory card is full — delivery stopped. Call a technician and the clinician; the pump stays stopped until space is made."
                )
            }
            AlarmKind::OutboxBacklog => {
                tr!(
                    "The pump cannot reach the hospital's systems — delivery goes on. Tell IT; the pump keeps its messages and sends them later."
                )
            }
        }
    }

    /// A failed start-up check's alarm: the trial it holds never delivers again; a clinician
    /// ends it with a written reason.
    pub fn holds_for_good(self) -> bool {
        matches!(self, AlarmKind::LogCheckFailed | AlarmKind::LibraryChanged)
    }

    /// Information signals clear themselves; alarm conditions latch until acknowledged.
    pub fn latches(self) -> bool {
        self.priority() != Priority::Info
    }
}

/// An alarm as the pump holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    pub kind: AlarmKind,
    /// May be raised above the kind's priority by escalation.
    pub priority: Priority,
    pub raised_at: Timestamp,
    /// When the cause went away (the alarm may still be latched).
    pub cleared_at: Option<Timestamp>,
    pub acknowledged_at: Option<Timestamp>,
    /// Audio paused until then.
    pub silenced_until: Option<Timestamp>,
    /// Pressure when raised (occlusion).
    pub pressure_mmhg: Option<f64>,
    /// From the cause's start to the alarm, where the cause's start is known (occlusion).
    pub time_to_alarm: Option<Duration>,
}

impl Alarm {
    pub fn new(kind: AlarmKind, at: Timestamp) -> Alarm {
        Alarm {
            kind,
            priority: kind.priority(),
            raised_at: at,
            cleared_at: None,
            acknowledged_at: None,
            silenced_until: None,
            pressure_mmhg: None,
            time_to_alarm: None,
        }
    }

    /// Still shown: its cause persists, or it latched and no one acknowledged it.
    pub fn is_active(&self) -> bool {
        self.cleared_at.is_none() || (self.kind.latches() && self.acknowledged_at.is_none())
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn every_alarm_is_listed_once_in_its_place() {
        for (i, kind) in AlarmKind::ALL.iter().enumerate() {
            assert_eq!(kind.index(), i, "{kind:?}");
        }
        let mut seen = std::collections::HashSet::new();
        assert!(AlarmKind::ALL.iter().all(|k| seen.insert(*k)));
    }

    use super::*;

    #[test]
    fn the_happy_path() {
        let mut s = Idle;
        for t in [
            Program, Verify, Prime, Start, Pause, Resume, HighAlarm, Resume, End,
        ] {
            s = next(s, t).unwrap();
        }
        assert_eq!(s, Ended);
    }

    #[test]
    fn forbidden_transitions_are_refused() {
        assert_eq!(
            next(Idle, Start),
            Err(TransitionRefused {
                state: Idle,
                trigger: Start
            })
        );
        // Starting needs verification and priming first.
        assert!(next(Programmed, Start).is_err());
        assert!(next(Programmed, Prime).is_err());
        // Nothing leaves Ended.
        for t in [Program, Verify, Prime, Start, Pause, Resume, HighAlarm, End] {
            assert!(next(Ended, t).is_err());
        }
        // A change while running is not a new program: it goes through its own checks.
        assert!(next(Running, Program).is_err());
    }

    #[test]
    fn every_transition_is_listed_once() {
        for (i, a) in TRANSITIONS.iter().enumerate() {
            for b in &TRANSITIONS[i + 1..] {
                assert!(!(a.0 == b.0 && a.1 == b.1), "{a:?} and {b:?}");
            }
        }
    }

    /// Every alarm kind (a new one fails to compile here until it is listed).
    fn all_kinds() -> Vec<AlarmKind> {
        use AlarmKind::*;
        let all = vec![
            Occlusion,
            ReservoirLow,
            ReservoirEmpty,
            ReservoirMissing,
            MotorStall,
            SensorFault,
            DoseLimit,
            Observation,
            PausedTooLong,
            PowerRestored,
            LogFailure,
            Sedation,
            ObservationMissed,
            StuckButton,
            SiteCheckMissed,
            PossibleInfection,
            LoginLocked,
            LogCheckFailed,
            LibraryChanged,
            StorageLow,
            StorageFull,
            OutboxBacklog,
        ];
        for k in &all {
            match k {
                Occlusion | ReservoirLow | ReservoirEmpty | ReservoirMissing | MotorStall
                | SensorFault | DoseLimit | Observation | PausedTooLong | PowerRestored
                | LogFailure | Sedation | ObservationMissed | StuckButton | SiteCheckMissed
                | PossibleInfection | LoginLocked | LogCheckFailed | LibraryChanged
                | StorageLow | StorageFull | OutboxBacklog => {}
            }
        }
        all
    }

    #[test]
    fn every_alarm_tells_the_nurse_what_happened_in_its_own_words() {
        let kinds = all_kinds();
        let mut seen = std::collections::HashSet::new();
        for k in &kinds {
            let m = k.message();
            assert!(m.len() > 20 && m.ends_with('.'), "{k:?}: {m:?}");
            assert!(seen.insert(m), "{k:?} shares its message");
            // A HIGH alarm says delivery stopped (or what the nurse must do about the patient).
            if k.priority() == Priority::High {
                assert!(
                    m.contains("delivery stopped") || m.contains("check the patient"),
                    "{k:?}: {m:?}"
                );
            }
        }
        assert_eq!(
            AlarmKind::Occlusion.message(),
            "Line blocked — delivery stopped. Check the catheter and line for kinks or clamps."
        );
    }

    #[test]
    fn states_and_priorities_are_written_as_one_word() {
        let words: Vec<String> = [
            Idle, Programmed, Verified, Priming, Running, Paused, Alarm, Ended,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            words,
            [
                "idle",
                "programmed",
                "verified",
                "priming",
                "running",
                "paused",
                "alarm",
                "ended"
            ]
        );
        let words: Vec<String> = [
            Priority::Info,
            Priority::Low,
            Priority::Medium,
            Priority::High,
        ]
        .iter()
        .map(|p| p.to_string())
        .collect();
        assert_eq!(words, ["info", "low", "medium", "high"]);
    }

    #[test]
    fn only_priming_and_running_move_the_motor_forward() {
        for s in [
            Idle, Programmed, Verified, Priming, Running, Paused, Alarm, Ended,
        ] {
            assert_eq!(s.delivers(), matches!(s, Priming | Running), "{s}");
        }
    }

    #[test]
    fn high_alarms_are_the_ones_that_stop_delivery() {
        assert_eq!(AlarmKind::Occlusion.priority(), Priority::High);
        assert_eq!(AlarmKind::ReservoirLow.priority(), Priority::Medium);
        assert_eq!(AlarmKind::Sedation.priority(), Priority::High);
        assert_eq!(AlarmKind::ObservationMissed.priority(), Priority::Medium);
        assert_eq!(AlarmKind::PossibleInfection.priority(), Priority::Medium);
        assert_eq!(AlarmKind::SiteCheckMissed.priority(), Priority::Low);
        assert_eq!(AlarmKind::LogCheckFailed.priority(), Priority::High);
        assert_eq!(AlarmKind::LibraryChanged.priority(), Priority::High);
        assert!(!AlarmKind::Observation.latches());
        let mut a = Alarm::new(AlarmKind::Occlusion, Timestamp::ORIGIN);
        a.cleared_at = Some(Timestamp::from_ms(5));
        assert!(a.is_active(), "latched until acknowledged");
        a.acknowledged_at = Some(Timestamp::from_ms(6));
        assert!(!a.is_active());
    }
}
