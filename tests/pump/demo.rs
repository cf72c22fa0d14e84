//! The desktop demonstration's scenario player (`titra demo --scenario`): a scenario's events
//! played live on the daemon's service, as the simulator plays them in virtual time. The demo
//! runs them on a faster real clock; here the same service is driven by hand through the same
//! moments, so that the test does not depend on the machine's speed.

use titra::cli::simulate;
use titra::core::supervisor::{AlarmKind, State};
use titra::core::units::{Duration, Timestamp};
use titra::engine::play::{Played, Player};
use titra::input::check;
use titra::input::hardware::HardwareConfig;
use titra::input::scenario::{Event, Scenario};
use titra::journal::Record;
use titra::service::auth::Peer;
use titra::service::pump::PumpService;

use crate::common::{example, scenario_path};

/// The demo's pump with the scenario's program started at the origin, as `titra demo` starts
/// it, and everything the player did, to the scenario's end.
fn play_on_demo_pump(scenario: &Scenario, text: &str) -> (PumpService, Vec<Played>) {
    let start = Timestamp::ORIGIN;
    let mut service = PumpService::simulated_demo(start).unwrap();
    let (token, _) = service
        .login("nurse", "123456", Peer::Local, start)
        .unwrap();
    service
        .start_trial(&token, text, true, ("nurse2", "567890"), start)
        .unwrap();
    service.prime(&token, start).unwrap();
    service.start(&token, start).unwrap();
    service.logout(&token, start);
    let mut player = Player::new(scenario, start);
    let end = start + scenario.trial.duration;
    let mut now = start;
    let mut played = Vec::new();
    while now < end && service.state() != State::Ended {
        let next = [
            player.next_at(service.check_due()),
            service.next_wake(),
            Some(end),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(end);
        // As the demo's player: at least a second on between passes.
        now = next.max(now + Duration::from_secs(1)).min(end);
        service.tick(now).unwrap();
        played.extend(service.play(&mut player, now).unwrap());
    }
    (service, played)
}

fn pain_scores(journal: &[Record]) -> Vec<(Timestamp, u8)> {
    journal
        .iter()
        .filter_map(|r| match *r {
            Record::PainScore { at, value } => Some((at, value)),
            _ => None,
        })
        .collect()
}

fn presses(journal: &[Record]) -> Vec<(Timestamp, bool)> {
    journal
        .iter()
        .filter_map(|r| match *r {
            Record::PcaRequest { at, granted, .. } => Some((at, granted)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_scenario_played_live_records_what_the_simulator_records() {
    let path = scenario_path("continuous-morphine-pca.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let scenario = example("continuous-morphine-pca.toml");
    let (library, source) = check::load_library(None).unwrap();
    let simulated = simulate::run(
        &scenario,
        &library,
        source,
        &HardwareConfig::built_in().unwrap(),
    )
    .unwrap();

    let (service, played) = play_on_demo_pump(&scenario, &text);
    let engine = service.engine().unwrap();
    let journal = engine.journal();

    // The patient's presses and scores, at the same moments and with the same answers.
    assert_eq!(presses(journal), presses(&simulated.journal));
    assert_eq!(presses(journal).len(), 3);
    assert_eq!(pain_scores(journal), pain_scores(&simulated.journal));
    assert_eq!(
        pain_scores(journal),
        vec![
            (Timestamp::ORIGIN + Duration::from_hours(4), 6),
            (Timestamp::ORIGIN + Duration::from_hours(36), 4),
            (Timestamp::ORIGIN + Duration::from_hours(68), 3),
        ]
    );
    // The clinician's titration took: 1 mg/day from day 2.
    assert_eq!(engine.basal_rate().to_string(), "1 mg/day");
    // The blocked line raised the occlusion alarm between its block (30 h) and its clearing.
    let occlusion = journal.iter().find_map(|r| match *r {
        Record::AlarmRaised {
            at,
            kind: AlarmKind::Occlusion,
            ..
        } => Some(at),
        _ => None,
    });
    let at = occlusion.expect("an occlusion alarm");
    assert!(at > Timestamp::ORIGIN + Duration::from_hours(30));
    assert!(at < Timestamp::ORIGIN + Duration::from_hours(31));
    // The side effect is recorded as the scenario wrote it.
    assert!(
        journal
            .iter()
            .any(|r| matches!(r, Record::SideEffect { at, .. } if *at == Timestamp::ORIGIN + Duration::from_hours(40)))
    );
    // The power cut is not played live (the demo would have to switch itself off), and says so.
    let skipped: Vec<&Played> = played
        .iter()
        .filter(|p| matches!(p, Played::Skipped(Event::PowerLoss { .. }, _)))
        .collect();
    assert_eq!(skipped.len(), 1, "{played:?}");
    let applied = played
        .iter()
        .filter(|p| matches!(p, Played::Applied(_)))
        .count();
    assert_eq!(applied, scenario.events.len() - 1);
}

#[test]
fn a_scenario_that_stops_the_trial_ends_it_and_plays_nothing_after() {
    let text = "[trial]\npatient = \"MRN-DEMO\"\nroute = \"intrathecal\"\nkind = \"continuous\"\nduration = \"1d\"\n[program]\ndrug = \"morphine\"\nconcentration = \"1 mg/mL\"\nreservoir = \"20 mL\"\nbasal = \"0.5 mg/day\"\n[[events]]\nat = \"1h\"\nkind = \"pain_score\"\nvalue = 5\n[[events]]\nat = \"2h\"\nkind = \"stop\"\n[[events]]\nat = \"3h\"\nkind = \"pain_score\"\nvalue = 2\n";
    let scenario = Scenario::from_toml_str(text, "inline").unwrap();
    let (service, played) = play_on_demo_pump(&scenario, text);
    assert_eq!(service.state(), State::Ended);
    assert_eq!(played.last(), Some(&Played::Ended));
    let journal = service.engine().unwrap().journal();
    assert_eq!(
        pain_scores(journal),
        vec![(Timestamp::ORIGIN + Duration::from_hours(1), 5)]
    );
    let ended = journal.iter().find_map(|r| match *r {
        Record::StateChanged {
            at,
            to: State::Ended,
            ..
        } => Some(at),
        _ => None,
    });
    assert_eq!(ended, Some(Timestamp::ORIGIN + Duration::from_hours(2)));
}

#[test]
fn a_press_on_the_cord_is_played_as_the_cords_press() {
    let text = "[trial]\npatient = \"MRN-CORD\"\nroute = \"intrathecal\"\nkind = \"continuous\"\nduration = \"1d\"\n[program]\ndrug = \"morphine\"\nconcentration = \"1 mg/mL\"\nreservoir = \"20 mL\"\nbasal = \"0.5 mg/day\"\npca = { dose = \"0.05 mg\", lockout = \"1h\", max_per_hour = 1 }\n[[events]]\nat = \"1h\"\nkind = \"controller_press\"\n";
    let scenario = Scenario::from_toml_str(text, "inline").unwrap();
    let (service, _) = play_on_demo_pump(&scenario, text);
    let journal = service.engine().unwrap().journal();
    let cord: Vec<(Timestamp, bool, bool)> = journal
        .iter()
        .filter_map(|r| match *r {
            Record::PcaRequest {
                at, granted, cord, ..
            } => Some((at, granted, cord)),
            _ => None,
        })
        .collect();
    assert_eq!(
        cord,
        vec![(Timestamp::ORIGIN + Duration::from_hours(1), true, true)]
    );
}
