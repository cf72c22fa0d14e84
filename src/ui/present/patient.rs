//! The patient's screen: what the pump is doing in words for patients, the dose button, and the
//! diary's questions when they are due.

use crate::core::diary::OutcomeMeasure;
use crate::core::readable::{self, Round};
use crate::core::supervisor::State;
use crate::core::tr;
use crate::core::units::Duration;
use crate::service::wire::Status;

use super::alarm::{calls_nurse, sedation_hold};

/// What the patient screen shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatientView {
    pub headline: String,
    pub delivered_today: String,
    pub reservoir: String,
    pub bolus_line: String,
    pub bolus_allowed: bool,
    /// The dose button's words.
    pub bolus_button: String,
    /// The alarm asks for the nurse ("Please call your nurse.").
    pub call_nurse: bool,
    /// A trial is programmed: with none, the figures and the pain question have nothing to
    /// say (a score is refused then) and are not shown.
    pub trial: bool,
}

/// The patient screen for a status, in words for patients.
pub fn patient_view(s: &Status) -> PatientView {
    let headline = match s.state {
        State::Running => tr!(
            "Running — {drug} {dose}",
            drug = s.drug,
            dose = s.basal_per_day
        ),
        State::Paused => tr!("Paused by your nurse").to_owned(),
        // The alarm banner above carries the alarm's own words; the headline stays short so that
        // nothing the patient needs is pushed off a small screen.
        State::Alarm => tr!("Stopped — your nurse is needed").to_owned(),
        State::Idle => tr!("No treatment programmed").to_owned(),
        State::Programmed | State::Verified | State::Priming => {
            tr!("Your nurse is setting up the pump").to_owned()
        }
        State::Ended => tr!("The trial has ended").to_owned(),
    };
    let bolus_allowed = s.state == State::Running && s.next_bolus_in_s == 0;
    let under_way = s
        .bolus_under_way
        .as_ref()
        .filter(|_| s.state == State::Running);
    let bolus_line = if let Some(b) = under_way.filter(|b| b.patient) {
        tr!(
            "{given} of {dose} given so far ({percent} %).",
            given = b.given,
            dose = b.dose,
            percent = b.percent
        )
    } else if under_way.is_some() {
        tr!("Your nurse's dose is being given.").to_owned()
    } else if s.patient_bolus.is_empty() {
        String::new()
    } else if sedation_hold(s) {
        tr!("Your nurse must check on you first.").to_owned()
    } else if bolus_allowed {
        tr!("You can press for a dose now.").to_owned()
    } else if s.next_bolus_in_s > 0 {
        // Rounded up: never sooner than it will be.
        let wait = Duration::from_secs(u64::try_from(s.next_bolus_in_s).unwrap_or(0));
        tr!(
            "Next dose available in {wait}.",
            wait = readable::duration(wait, Round::Up)
        )
    } else {
        tr!("A dose cannot be given now.").to_owned()
    };
    let bolus_button = if under_way.is_some_and(|b| b.patient) {
        tr!("Your dose is being given")
    } else if bolus_allowed {
        tr!("Press for a dose")
    } else {
        tr!("Dose not available yet")
    }
    .to_owned();
    PatientView {
        headline,
        bolus_button,
        delivered_today: s.delivered_today.clone(),
        reservoir: s.reservoir_remaining.clone(),
        bolus_line,
        bolus_allowed,
        call_nurse: calls_nurse(s),
        trial: s.state != State::Idle,
    }
}

/// A question the patient screen asks (silently).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// A pain score 0–10, when the daemon asks for one.
    Pain,
    /// The site protocol's function question, after a prompted pain score.
    Function,
    /// The patient's global impression of change, once the trial has ended.
    Pgic,
}

/// What the patient screen asks next, given the status and what it shows now: the impression of
/// change once the trial has ended and it is not yet given; the function question stays until
/// the patient answers it or leaves it (it follows a prompted pain score, which ends the
/// daemon's `pain_prompt`); a pain score when the daemon asks for one — never in a trial judged
/// on spasticity; otherwise nothing.
pub fn next_prompt(s: &Status, shown: Option<Prompt>) -> Option<Prompt> {
    if s.pgic_prompt {
        Some(Prompt::Pgic)
    } else if shown == Some(Prompt::Function) && s.state != State::Ended {
        Some(Prompt::Function)
    } else if s.pain_prompt && s.outcome_measure != Some(OutcomeMeasure::Spasticity) {
        Some(Prompt::Pain)
    } else {
        None
    }
}

/// What the patient screen asks after the patient answered the question `answered` (None: left
/// it with "Not now"): the function question after a prompted pain score (when the site
/// protocol has one), nothing after the rest (the next status brings back whatever is still
/// due).
pub fn after_answer(answered: Option<Prompt>, has_question: bool) -> Option<Prompt> {
    (answered == Some(Prompt::Pain) && has_question).then_some(Prompt::Function)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::supervisor::{AlarmKind, Priority};
    use crate::core::units::Timestamp;
    use crate::service::wire::AlarmStatus;
    use crate::ui::present::alarm::alarm_banner;

    fn status(state: State, next: i64) -> Status {
        let mut s = Status::empty(Timestamp::ORIGIN);
        s.state = state;
        s.drug = "morphine".to_owned();
        s.basal_per_day = "0.5 mg/day".to_owned();
        s.patient_bolus = "0.05 mg every 1 h at most".to_owned();
        s.next_bolus_in_s = next;
        s
    }

    #[test]
    fn the_headline_says_what_the_pump_does_in_words() {
        assert_eq!(
            patient_view(&status(State::Running, 0)).headline,
            "Running — morphine 0.5 mg/day"
        );
        assert_eq!(
            patient_view(&status(State::Paused, -1)).headline,
            "Paused by your nurse"
        );
        // No trial: no figures and no pain question (a score is refused then).
        assert!(!patient_view(&status(State::Idle, -1)).trial);
        assert!(patient_view(&status(State::Running, 0)).trial);
        assert!(patient_view(&status(State::Ended, -1)).trial);
    }

    #[test]
    fn the_bolus_button_follows_the_lockout() {
        let v = patient_view(&status(State::Running, 0));
        assert!(v.bolus_allowed);
        assert_eq!(v.bolus_line, "You can press for a dose now.");
        let v = patient_view(&status(State::Running, 25 * 60));
        assert!(!v.bolus_allowed);
        assert_eq!(v.bolus_line, "Next dose available in 25 min.");
        // 11 min 10 s to go says 12 min: never sooner than it is.
        let v = patient_view(&status(State::Running, 11 * 60 + 10));
        assert_eq!(v.bolus_line, "Next dose available in 12 min.");
        let v = patient_view(&status(State::Paused, -1));
        assert!(!v.bolus_allowed);
        assert_eq!(v.bolus_line, "A dose cannot be given now.");
    }

    #[test]
    fn while_the_patients_dose_is_given_the_screen_says_so_with_its_progress() {
        // The complaint: "Dose not available yet" and "A dose cannot be given now"
        // while the patient's own dose was running.
        let mut s = status(State::Running, -1);
        s.bolus_under_way = Some(crate::service::wire::BolusUnderWay {
            patient: true,
            dose: "50 mcg".to_owned(),
            given: "20 mcg".to_owned(),
            percent: 40,
        });
        let v = patient_view(&s);
        assert!(!v.bolus_allowed);
        assert_eq!(v.bolus_button, "Your dose is being given");
        assert_eq!(v.bolus_line, "20 mcg of 50 mcg given so far (40 %).");
        // The nurse's dose is not the patient's.
        if let Some(b) = &mut s.bolus_under_way {
            b.patient = false;
        }
        assert_eq!(
            patient_view(&s).bolus_line,
            "Your nurse's dose is being given."
        );
        // Stopped by an alarm mid-dose: nothing is being given.
        s.state = State::Alarm;
        assert_eq!(patient_view(&s).bolus_line, "A dose cannot be given now.");
    }

    #[test]
    fn the_patient_screen_speaks_german() {
        use crate::core::lang::{Language, with};
        let mut s = status(State::Running, -1);
        s.bolus_under_way = Some(crate::service::wire::BolusUnderWay {
            patient: true,
            dose: "50 mcg".to_owned(),
            given: "20 mcg".to_owned(),
            percent: 40,
        });
        let v = with(Language::German, || patient_view(&s));
        assert_eq!(v.headline, "Läuft — morphine 0.5 mg/day");
        assert_eq!(v.bolus_button, "Ihre Dosis wird gegeben");
        assert_eq!(v.bolus_line, "Bisher 20 mcg von 50 mcg gegeben (40 %).");
        let v = with(Language::German, || {
            patient_view(&status(State::Running, 0))
        });
        assert_eq!(v.bolus_button, "Für eine Dosis drücken");
        assert_eq!(v.bolus_line, "Sie können jetzt eine Dosis anfordern.");
        // The lockout's countdown: the words around core's readable duration.
        let v = with(Language::German, || {
            patient_view(&status(State::Running, 25 * 60))
        });
        assert_eq!(v.bolus_button, "Dosis noch nicht verfügbar");
        assert!(
            v.bolus_line.starts_with("Nächste Dosis verfügbar in 25 "),
            "{}",
            v.bolus_line
        );
        let v = with(Language::German, || patient_view(&status(State::Alarm, -1)));
        assert_eq!(v.headline, "Gestoppt — Ihre Pflegekraft wird benötigt");
        assert_eq!(v.bolus_line, "Eine Dosis ist jetzt nicht möglich.");
        // English again outside.
        assert_eq!(patient_view(&s).bolus_button, "Your dose is being given");
    }

    #[test]
    fn the_highest_alarm_is_shown_and_asks_for_the_nurse() {
        let mut s = status(State::Alarm, -1);
        for (kind, priority) in [
            (AlarmKind::ReservoirLow, Priority::Medium),
            (AlarmKind::Occlusion, Priority::High),
        ] {
            s.alarms.push(AlarmStatus {
                kind,
                priority,
                message: format!("{kind:?} message"),
                since_ms: 0,
                silenced_until_ms: -1,
            });
        }
        let v = patient_view(&s);
        let banner = alarm_banner(&s);
        assert_eq!(banner.level, Some(Priority::High));
        assert_eq!(banner.text, "Occlusion message");
        assert!(v.call_nurse);
        assert_eq!(v.headline, "Stopped — your nurse is needed");
    }

    #[test]
    fn the_patient_is_asked_pain_then_function_and_pgic_after_the_end() {
        use Prompt::{Function, Pain, Pgic};
        let mut s = status(State::Running, 0);
        s.outcome_measure = Some(OutcomeMeasure::Pain);
        assert_eq!(next_prompt(&s, None), None, "nothing due");
        s.pain_prompt = true;
        assert_eq!(next_prompt(&s, None), Some(Pain));
        // The score was given: the function question follows, and stays while the daemon no
        // longer asks for pain, until answered or left.
        assert_eq!(after_answer(Some(Pain), true), Some(Function));
        assert_eq!(
            after_answer(Some(Pain), false),
            None,
            "no question in the protocol"
        );
        s.pain_prompt = false;
        assert_eq!(next_prompt(&s, Some(Function)), Some(Function));
        assert_eq!(after_answer(Some(Function), true), None);
        assert_eq!(after_answer(None, true), None, "Not now");
        assert_eq!(next_prompt(&s, None), None);
        // A spasticity trial never prompts for pain.
        s.pain_prompt = true;
        s.outcome_measure = Some(OutcomeMeasure::Spasticity);
        assert_eq!(next_prompt(&s, None), None);
        // Once ended: the impression of change, whatever was on the screen.
        s.state = State::Ended;
        s.pain_prompt = false;
        s.pgic_prompt = true;
        assert_eq!(next_prompt(&s, Some(Function)), Some(Pgic));
        assert_eq!(after_answer(Some(Pgic), true), None);
        s.pgic_prompt = false;
        assert_eq!(
            next_prompt(&s, Some(Function)),
            None,
            "no function question after the end"
        );
    }
}
