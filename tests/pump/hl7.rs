//! The IHE PCD device messages (issue 23) read by software no one here wrote: hl7apy (PyPI,
//! which .ci/run installs) parses each strictly against HL7 v2.6's structures and validates it;
//! then tests/hl7/check_pcd.py checks the IHE PCD rules hl7apy does not know (the profile, the
//! acknowledgement flags, the containment tree's order, the EUI-64s, result statuses, units,
//! an alarm's seven facets, a delivery event's place).

use std::process::Command;

use titra::core::units::{Concentration, MassUnit, Volume, VolumeRate};
use titra::report::pcd::{Device, Observation, PumpStatus, pcd_01};

use crate::common::{TempDir, repository_path};

fn device() -> Device {
    Device {
        application: "TITRA".to_owned(),
        eui64: "0012A3FFFE4B5C6D".to_owned(),
        facility: "Ward 7".to_owned(),
        simulated: false,
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

/// A reporter of the example morphine program (1 mg/mL at 0.5 mg a day), dated from 0 ms.
fn reporter(every: titra::core::units::Duration) -> titra::report::pcd::Reporter {
    let scenario = crate::common::example("continuous-morphine-pca.toml");
    titra::report::pcd::Reporter::new(
        device(),
        "MRN-1",
        &scenario.program,
        MassUnit::Mg,
        (titra::core::units::Timestamp::ORIGIN, 0),
        every,
    )
    .unwrap()
}

/// The value of the OBX at `at` (OBX-4) in `message`.
fn value_at<'a>(message: &'a str, at: &str) -> Option<&'a str> {
    message
        .split('\r')
        .map(|s| s.split('|').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&"OBX") && f.get(4) == Some(&at))
        .and_then(|f| f.get(5).copied())
}

/// The example 3-day morphine trial, simulated, replayed into every message the pump sends
/// (its periodic observation every hour here, to keep it short): every one passes hl7apy and
/// the IHE rules, they are numbered 1, 2, 3 … in time order, each alarm in the log has its
/// ACM start, and the trial's completion reports the volume the log's deliveries add up to.
#[test]
fn a_simulated_trial_replays_into_messages_that_pass() {
    use titra::core::units::Duration;
    use titra::journal::Record;
    use titra::report::pcd::Kind;

    let scenario = crate::common::example("continuous-morphine-pca.toml");
    let (library, source) = titra::input::check::load_library(None).unwrap();
    let hw = titra::input::hardware::HardwareConfig::built_in().unwrap();
    let outcome = titra::cli::simulate::run(&scenario, &library, source, &hw).unwrap();
    let journal = &outcome.journal;
    let all = reporter(Duration::from_hours(1)).replay(journal);
    let count = |k: Kind| all.iter().filter(|m| m.kind == k).count();
    assert!(count(Kind::Dec) >= 72, "{} DEC", count(Kind::Dec));
    let ids: Vec<u64> = all.iter().map(|m| m.id).collect();
    assert_eq!(ids, (1..=all.len() as u64).collect::<Vec<_>>());
    assert!(all.windows(2).all(|w| w[0].at <= w[1].at));
    let raised = journal
        .iter()
        .filter(|r| matches!(r, Record::AlarmRaised { .. }))
        .count();
    let started = all
        .iter()
        .filter(|m| {
            m.kind == Kind::Acm
                && value_at(&m.text, "1.1.1.0.3").or(value_at(&m.text, "1.0.0.0.3"))
                    == Some("start")
        })
        .count();
    assert_eq!(started, raised, "an ACM start for each alarm raised");
    assert!(raised > 0, "the scenario has alarms");
    let total: u64 = journal
        .iter()
        .map(|r| match r {
            Record::Delivery { volume, .. } => volume.nl(),
            _ => 0,
        })
        .sum();
    let complete = all.last().unwrap();
    assert_eq!(complete.kind, Kind::Ipec);
    assert!(complete.text.contains("MDC_EVT_PUMP_DELIV_COMP"));
    let ml = value_at(&complete.text, "1.1.1.5").unwrap();
    assert_eq!(
        ml,
        format!("{}", total as f64 / 1e6),
        "the volume delivered, to the nanolitre"
    );
    let texts: Vec<String> = all.into_iter().map(|m| m.text).collect();
    let (ok, said) = checked("replay", &texts);
    assert!(ok, "{said}");
}

/// A log written by hand, replayed with an observation every hour: each message worked out by
/// hand (its minute, kind, and what it says).
#[test]
fn a_replay_reports_what_the_log_says_at_each_moment() {
    use titra::core::dose::Source;
    use titra::core::supervisor::{AlarmKind, Priority, State};
    use titra::core::units::{Amount, AmountRate, Duration, Timestamp};
    use titra::journal::{Record, Role};
    use titra::report::pcd::Kind;

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
        state(0, State::Priming, State::Running),
        given(30, 1_000),
        Record::BolusStarted {
            at: min(40),
            source: Source::PatientBolus,
            requested: Amount::from_ng(100_000),
            steps: 10,
        },
        Record::BolusEnded {
            at: min(41),
            source: Source::PatientBolus,
            requested: Amount::from_ng(100_000),
            delivered: Amount::from_ng(100_000),
            complete: true,
        },
        given(60, 101_000),
        Record::AlarmRaised {
            at: min(90),
            kind: AlarmKind::Occlusion,
            priority: Priority::High,
            pressure_mmhg: Some(600.0),
            time_to_alarm: None,
        },
        state(90, State::Running, State::Alarm),
        Record::AlarmCleared {
            at: min(95),
            kind: AlarmKind::Occlusion,
        },
        Record::AlarmAcknowledged {
            at: min(96),
            kind: AlarmKind::Occlusion,
            by: Role::Nurse,
        },
        Record::RateChanged {
            at: min(100),
            old: AmountRate::from_ng_per_day(500_000),
            new: AmountRate::from_ng_per_day(1_000_000),
            by: Role::Clinician,
        },
        state(120, State::Alarm, State::Running),
        given(150, 2_000),
        state(180, State::Running, State::Ended),
    ];
    let all = reporter(Duration::from_hours(1)).replay(&journal);
    let seen: Vec<(u64, Kind, String)> = all
        .iter()
        .map(|m| {
            let what = match m.kind {
                // The status, the rate (mL/h) and the volume (mL).
                Kind::Dec => format!(
                    "{} {} {}",
                    value_at(&m.text, "1.1.1.1").unwrap(),
                    value_at(&m.text, "1.1.1.4").unwrap(),
                    value_at(&m.text, "1.1.1.5").unwrap()
                ),
                // The event, and the volume after it.
                Kind::Ipec => format!(
                    "{} {}",
                    value_at(&m.text, "1.0.0.1").unwrap(),
                    value_at(&m.text, "1.1.1.5").unwrap()
                ),
                // The phase, the state, the inactivation.
                Kind::Acm => format!(
                    "{} {} {}",
                    value_at(&m.text, "1.1.1.0.3").unwrap(),
                    value_at(&m.text, "1.1.1.0.4").unwrap(),
                    value_at(&m.text, "1.1.1.0.5").unwrap()
                ),
            };
            (m.at.ms() / 60_000, m.kind, what)
        })
        .collect();
    let ipec = |m: u64, what: &str| (m, Kind::Ipec, what.to_owned());
    let dec = |m: u64, what: &str| (m, Kind::Dec, what.to_owned());
    let acm = |m: u64, what: &str| (m, Kind::Acm, what.to_owned());
    // 0.5 mL a day is 0.020833 mL/h; 1 mL a day 0.041667 mL/h. The bolus's 0.1 mL reaches the
    // volume with the minute's delivery record at 60.
    let expected = vec![
        ipec(
            0,
            "197288^MDC_EVT_PUMP_DELIV_START^MDC^^^^^^Delivery started 0",
        ),
        dec(0, "^pump-status-infusing 0.020833 0"),
        ipec(
            40,
            "bolus_start^Patient bolus started^99TTR^^^^^^Patient bolus started 0.001",
        ),
        ipec(
            41,
            "bolus_end^Patient bolus ended^99TTR^^^^^^Patient bolus ended 0.001",
        ),
        dec(60, "^pump-status-infusing 0.020833 0.102"),
        acm(90, "start active enabled"),
        ipec(
            90,
            "0^MDC_EVT_PUMP_DELIV_STOP^MDC^^^^^^Delivery stopped by an alarm 0.102",
        ),
        acm(95, "update latched enabled"),
        acm(96, "end inactive alert-acknowledged"),
        ipec(
            100,
            "rate_change^Basal rate changed^99TTR^^^^^^Basal rate changed 0.102",
        ),
        ipec(
            120,
            "197288^MDC_EVT_PUMP_DELIV_START^MDC^^^^^^Delivery resumed 0.102",
        ),
        dec(120, "^pump-status-infusing 0.041667 0.102"),
        ipec(180, "0^MDC_EVT_PUMP_DELIV_COMP^MDC^^^^^^Trial ended 0.104"),
    ];
    assert_eq!(seen, expected);
    // Each phase of the alarm names it the same way (OBR-29): its kind and when it was
    // raised (minute 90, the wall clock being the pump's here).
    for m in all.iter().filter(|m| m.kind == Kind::Acm) {
        assert!(m.text.contains("|^occlusion-5400000&TITRA&"), "{}", m.text);
    }
    let texts: Vec<String> = all.into_iter().map(|m| m.text).collect();
    let (ok, said) = checked("hand", &texts);
    assert!(ok, "{said}");
}

/// The alarm and event checks are not a formality either.
#[test]
fn an_alarm_or_event_message_that_breaks_a_rule_is_refused() {
    use titra::core::supervisor::{AlarmKind, Priority, State};
    use titra::core::units::{Duration, Timestamp};
    use titra::journal::Record;
    use titra::report::pcd::Kind;

    let mut r = reporter(Duration::from_hours(1));
    let mut out = Vec::new();
    r.record(
        &Record::StateChanged {
            at: Timestamp::ORIGIN,
            from: State::Priming,
            to: State::Running,
        },
        &mut out,
    );
    r.record(
        &Record::AlarmRaised {
            at: Timestamp::ORIGIN,
            kind: AlarmKind::Occlusion,
            priority: Priority::High,
            pressure_mmhg: None,
            time_to_alarm: None,
        },
        &mut out,
    );
    let ipec = out
        .iter()
        .find(|m| m.kind == Kind::Ipec)
        .unwrap()
        .text
        .clone();
    let acm = out
        .iter()
        .find(|m| m.kind == Kind::Acm)
        .unwrap()
        .text
        .clone();
    let (ok, said) = checked("good", &[ipec.clone(), acm.clone()]);
    assert!(ok, "{said}");
    let broken = [
        (
            "priority",
            acm.replace("|PH|", "|high|"),
            "is not one of PN, PL, PM, PH",
        ),
        (
            "facet-status",
            acm.replacen("|active||||||F", "|active||||||R", 1),
            "not F",
        ),
        // The alert type's facet left out.
        (
            "facets",
            acm.split_terminator('\r')
                .filter(|s| !s.starts_with("OBX|7|"))
                .map(|s| format!("{s}\r"))
                .collect::<String>(),
            "not the 7 facets",
        ),
        (
            "source",
            ipec.replace("|1.0.0.2|1.1.1.0|", "|1.0.0.2|1.1.2.0|"),
            "event source",
        ),
        (
            "acm-profile",
            acm.replace("1.3.6.1.4.1.19376.1.6.1.4.1", "1.3.6.1.4.1.19376.1.6.1.1.1"),
            "does not name the profile",
        ),
    ];
    for (name, message, why) in broken {
        let (ok, said) = checked(name, &[message]);
        assert!(!ok && said.contains(why), "{name}: {said}");
    }
}

/// After a restart the pump follows the trial's records again without sending them: an alarm
/// standing across the restart is ended under the identity its start was sent with, the
/// numbering goes on where the outbox is, and nothing is sent twice.
#[test]
fn after_a_restart_an_alarm_standing_keeps_its_identity() {
    use titra::core::supervisor::{AlarmKind, Priority, State};
    use titra::core::units::{Duration, Timestamp};
    use titra::journal::{Record, Role};
    use titra::report::pcd::Kind;

    let min = |m: u64| Timestamp::from_ms(m * 60_000);
    let before = vec![
        Record::StateChanged {
            at: min(0),
            from: State::Priming,
            to: State::Running,
        },
        Record::AlarmRaised {
            at: min(10),
            kind: AlarmKind::ReservoirLow,
            priority: Priority::Medium,
            pressure_mmhg: None,
            time_to_alarm: None,
        },
    ];
    let sent = reporter(Duration::from_hours(1)).replay(&before);
    let start = sent.iter().find(|m| m.kind == Kind::Acm).unwrap();
    let identity = |text: &str| text.split('|').nth(29).map(str::to_owned);
    let obr = |m: &titra::report::pcd::Outgoing| {
        m.text
            .split('\r')
            .find(|s| s.starts_with("OBR|"))
            .and_then(identity)
    };
    // The restarted pump: the records so far followed, not sent; numbering from the outbox.
    let mut again = reporter(Duration::from_hours(1));
    again.catch_up(&before);
    again.set_next_id(100);
    let mut out = Vec::new();
    again.record(
        &Record::AlarmCleared {
            at: min(20),
            kind: AlarmKind::ReservoirLow,
        },
        &mut out,
    );
    again.record(
        &Record::AlarmAcknowledged {
            at: min(21),
            kind: AlarmKind::ReservoirLow,
            by: Role::Nurse,
        },
        &mut out,
    );
    assert_eq!(out.len(), 2, "an update and the end, nothing sent again");
    assert_eq!(out.iter().map(|m| m.id).collect::<Vec<_>>(), [100, 101]);
    for m in &out {
        assert_eq!(obr(m), obr(start), "{}", m.text);
    }
    assert!(out[1].text.contains("|end|"));
}
