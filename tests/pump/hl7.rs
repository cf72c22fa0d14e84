//! The IHE PCD device messages (issue 23) read by software no one here wrote: hl7apy (PyPI,
//! which .ci/run installs) parses each strictly against HL7 v2.6's structures and validates it;
//! then tests/hl7/check_pcd.py checks the IHE PCD rules hl7apy does not know (the profile, the
//! acknowledgement flags, the containment tree's order, the EUI-64s, result statuses, units).

use std::process::Command;

use titra::core::units::{Concentration, MassUnit, Volume, VolumeRate};
use titra::report::pcd::{Device, Observation, PumpStatus, pcd_01};

use crate::common::{TempDir, repository_path};

fn device() -> Device {
    Device {
        application: "TITRA".to_owned(),
        eui64: "0012A3FFFE4B5C6D".to_owned(),
        facility: "Ward 7".to_owned(),
    }
}

/// The observation a minute into each hour of a 3-day morphine trial (1 mg/mL at 0.5 mL a
/// day), paused on the second day's noon, and one of a microgram drug.
fn observations() -> Vec<Observation> {
    let start = 1_796_481_000_000u64;
    let mut all: Vec<Observation> = (0..72u64)
        .map(|h| Observation {
            control_id: h + 1,
            unix_ms: start + h * 3_600_000 + 60_000,
            patient: "MRN-00042".to_owned(),
            status: if h == 36 {
                PumpStatus::Paused
            } else {
                PumpStatus::Infusing
            },
            drug: "morphine".to_owned(),
            concentration: Concentration::from_ng_per_ml(1_000_000).unwrap(),
            unit: MassUnit::Mg,
            rate: VolumeRate::from_nl_per_day(500_000),
            delivered: VolumeRate::from_nl_per_day(500_000)
                .over(titra::core::units::Duration::from_mins(h * 60 + 1)),
        })
        .collect();
    all.push(Observation {
        control_id: 100,
        unix_ms: start,
        patient: "MRN|00043".to_owned(),
        status: PumpStatus::Standby,
        drug: "ziconotide".to_owned(),
        concentration: Concentration::from_ng_per_ml(25_000).unwrap(),
        unit: MassUnit::Mcg,
        rate: VolumeRate::ZERO,
        delivered: Volume::ZERO,
    });
    all
}

/// Runs the checker on `messages` (one a line); whether it passed, and what it said.
fn checked(name: &str, messages: &[String]) -> (bool, String) {
    let dir = TempDir::new(&format!("hl7-{name}"));
    let file = dir.join("messages.hl7");
    std::fs::write(&file, messages.join("\n") + "\n").unwrap();
    let out = Command::new("python3")
        .arg(repository_path("tests/hl7/check_pcd.py"))
        .arg(&file)
        .output()
        .expect("python3 runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !said.contains("No module named 'hl7apy'"),
        "hl7apy is missing: python3 -m pip install hl7apy==1.3.5 (.ci/run does)"
    );
    (out.status.success(), said)
}

#[test]
fn every_observation_of_a_trial_passes_hl7apy_strictly_and_the_ihe_rules() {
    let messages: Vec<String> = observations()
        .iter()
        .map(|o| pcd_01(&device(), o).unwrap())
        .collect();
    let (ok, said) = checked("trial", &messages);
    assert!(ok, "{said}");
    assert_eq!(said.matches("read by hl7apy, valid").count(), 73, "{said}");
}

/// The checker is not a formality: a message that breaks a rule is refused, each for its
/// reason.
#[test]
fn a_message_that_breaks_a_rule_is_refused() {
    let good = pcd_01(&device(), &observations()[0]).unwrap();
    // Each change, and what the refusal must say.
    let broken = [
        // A metric without its result status (OBX-11): hl7apy's own refusal.
        (
            "status",
            good.replacen("mL/h^UCUM|||||R", "mL/h^UCUM|||||", 1),
            "Missing required child OBX.OBX_11",
        ),
        // Another profile.
        (
            "profile",
            good.replace("1.3.6.1.4.1.19376.1.6.1.1.1", "1.3.6.1.4.1.19376.1.6.1.4.1"),
            "does not name the profile",
        ),
        // The acknowledgement flags the wrong way round.
        ("flags", good.replace("|AL|NE|", "|NE|AL|"), "not AL/NE"),
        // The containment tree out of order.
        (
            "order",
            good.replace("|1.1.1.4|", "|1.1.1.9|"),
            "OBX-4 not unique and in order",
        ),
        // A time without its offset.
        (
            "time",
            good.replacen("+0000|", "|", 1),
            "not a time to the second with its offset",
        ),
    ];
    for (name, message, why) in broken {
        assert_ne!(message, good, "{name}: the change was made");
        let (ok, said) = checked(name, &[message]);
        assert!(!ok && said.contains(why), "{name}: {said}");
    }
}

/// The example 3-day morphine trial, simulated, replayed into what the pump reports every hour
/// and at each change: the volume delivered grows with the log's deliveries and ends at their
/// sum, a pause is reported as paused, and every message passes the checks.
#[test]
fn a_simulated_trial_replays_into_observations_that_pass() {
    use titra::core::supervisor::State;
    use titra::core::units::{Duration, Timestamp};
    use titra::journal::Record;
    use titra::report::pcd::{Replay, observations};

    let scenario = crate::common::example("continuous-morphine-pca.toml");
    let (library, source) = titra::input::check::load_library(None).unwrap();
    let hw = titra::input::hardware::HardwareConfig::built_in().unwrap();
    let outcome = titra::cli::simulate::run(&scenario, &library, source, &hw).unwrap();
    let journal = &outcome.journal;
    let started = journal
        .iter()
        .find_map(|r| match r {
            Record::StateChanged {
                at,
                to: State::Running,
                ..
            } => Some(*at),
            _ => None,
        })
        .unwrap();
    let ended = journal.iter().find_map(|r| match r {
        Record::StateChanged {
            at,
            to: State::Ended,
            ..
        } => Some(*at),
        _ => None,
    });
    let wall = |t: Timestamp| 1_796_481_000_000 + t.ms();
    let all = observations(&Replay {
        journal,
        program: &scenario.program,
        unit: titra::core::units::MassUnit::Mg,
        patient: &scenario.trial.patient,
        started,
        ended,
        wall: &wall,
        every: Duration::from_hours(1),
    });
    // Every hour of 3 days, and the changes between.
    assert!(all.len() >= 73, "{} observations", all.len());
    let total: u64 = journal
        .iter()
        .map(|r| match r {
            Record::Delivery { volume, .. } => volume.nl(),
            _ => 0,
        })
        .sum();
    let last = all.last().unwrap();
    assert_eq!(last.delivered.nl(), total);
    assert!(
        all.windows(2)
            .all(|w| w[0].delivered <= w[1].delivered && w[0].unix_ms <= w[1].unix_ms)
    );
    assert_eq!(all[0].status, PumpStatus::Infusing);
    // What the scenario pauses or stops for (its occlusion) is reported as paused.
    let stopped = journal.iter().any(|r| {
        matches!(
            r,
            Record::StateChanged {
                to: State::Paused | State::Alarm,
                ..
            }
        )
    });
    assert_eq!(
        stopped,
        all.iter().any(|o| o.status == PumpStatus::Paused),
        "a stop in the log is reported"
    );
    let ids: Vec<u64> = all.iter().map(|o| o.control_id).collect();
    assert_eq!(ids, (1..=all.len() as u64).collect::<Vec<_>>());
    let messages: Vec<String> = all.iter().map(|o| pcd_01(&device(), o).unwrap()).collect();
    let (ok, said) = checked("replay", &messages);
    assert!(ok, "{said}");
}

/// A log written by hand, replayed every hour: worked out by hand what each observation says.
#[test]
fn a_replay_reports_what_the_log_says_at_each_moment() {
    use titra::core::dose::Source;
    use titra::core::supervisor::State;
    use titra::core::units::{Amount, AmountRate, Duration, Timestamp};
    use titra::journal::{Record, Role};
    use titra::report::pcd::{Replay, observations};

    let scenario = crate::common::example("continuous-morphine-pca.toml");
    // 1 mg/mL at 0.5 mg/day: 0.5 mL a day.
    assert_eq!(scenario.program.concentration.ng_per_ml(), 1_000_000);
    assert_eq!(scenario.program.basal.ng_per_day(), 500_000);
    let min = |m: u64| Timestamp::from_ms(m * 60_000);
    let state = |m, from, to| Record::StateChanged {
        at: min(m),
        from,
        to,
    };
    let given = |m, nl| Record::Delivery {
        at: min(m),
        source: Source::Basal,
        steps: 0,
        amount: Amount::from_ng(nl),
        volume: titra::core::units::Volume::from_nl(nl),
    };
    let journal = vec![
        state(0, State::Verified, State::Running),
        given(30, 1_000),
        given(60, 1_000),
        state(90, State::Running, State::Paused),
        Record::RateChanged {
            at: min(100),
            old: AmountRate::from_ng_per_day(500_000),
            new: AmountRate::from_ng_per_day(1_000_000),
            by: Role::Clinician,
        },
        state(120, State::Paused, State::Running),
        given(150, 2_000),
        state(180, State::Running, State::Ended),
    ];
    let wall = |t: Timestamp| t.ms();
    let all = observations(&Replay {
        journal: &journal,
        program: &scenario.program,
        unit: titra::core::units::MassUnit::Mg,
        patient: "MRN-1",
        started: min(0),
        ended: Some(min(180)),
        wall: &wall,
        every: Duration::from_hours(1),
    });
    let seen: Vec<(u64, u64, PumpStatus, u64)> = all
        .iter()
        .map(|o| {
            (
                o.unix_ms / 60_000,
                o.delivered.nl(),
                o.status,
                o.rate.nl_per_day(),
            )
        })
        .collect();
    use PumpStatus::{Infusing, Paused, Standby};
    assert_eq!(
        seen,
        [
            (0, 0, Infusing, 500_000),
            (60, 2_000, Infusing, 500_000),
            (90, 2_000, Paused, 500_000),
            (100, 2_000, Paused, 1_000_000),
            (120, 2_000, Infusing, 1_000_000),
            (180, 4_000, Standby, 1_000_000),
        ]
    );
}
