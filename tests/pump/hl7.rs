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
    assert_eq!(said.matches(": valid").count(), 73, "{said}");
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
