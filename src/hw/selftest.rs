//! The power-on self-test: run once when the daemon starts, before it serves anyone.
//!
//! It checks what can be checked without a patient connected:
//!
//! - **configuration**: the hardware configuration, the drug library and the site protocol were
//!   read and checked (the daemon refuses to start otherwise); their SHA-256 checksums are
//!   logged here and written into every trial's log when it is programmed, so a summary can be
//!   traced to the exact library in force;
//! - **pressure sensor**: it answers with a finite reading (the load cell's HX711 is ready; a
//!   pressure switch reads open or tripped);
//! - **syringe switches**: the syringe-present and end-of-travel inputs can be read;
//! - **motor enable**: the driver's enable line is switched on and off and, where it is wired
//!   back to an input (`[pins] enable_sense`), read back each time;
//! - **alarm light and tone**: the LED and buzzer are driven through each priority's pattern
//!   briefly and switched off; a driver that refuses fails the test. (Whether the tone is heard
//!   is for the nurse at the bedside: the screen asks them to listen.)
//!
//! A failure keeps the pump from programming, priming, starting or resuming a trial, with a clear
//! message, logged.

use crate::core::supervisor::Priority;
use crate::hw::PumpHardware;
use crate::journal::{Check, Checksums, SelfTest};

/// Runs every check on `hw` (the motor is left disabled and the indicators quiet).
pub fn run(hw: &mut dyn PumpHardware, checksums: Checksums) -> SelfTest {
    let mut checks = vec![Check {
        name: "configuration".to_owned(),
        passed: true,
        detail: format!(
            "drug library {}, hardware {}, protocol {}",
            short(&checksums.drug_library),
            short(&checksums.hardware),
            short(&checksums.protocol)
        ),
    }];
    checks.push(match hw.read_pressure_mmhg() {
        Ok(p) if p.is_finite() || p == f64::INFINITY => Check {
            name: "pressure sensor".to_owned(),
            passed: true,
            detail: if p.is_finite() {
                format!("reads {p:.1} mmHg")
            } else {
                "pressure switch reads tripped".to_owned()
            },
        },
        Ok(p) => fail("pressure sensor", format!("reads {p}, not a pressure")),
        Err(e) => fail("pressure sensor", e.to_string()),
    });
    checks.push(match (hw.reservoir_present(), hw.end_of_travel()) {
        (Ok(present), Ok(end)) => Check {
            name: "syringe switches".to_owned(),
            passed: true,
            detail: format!(
                "syringe {}, plunger {}",
                if present { "in place" } else { "not in place" },
                if end { "at its end" } else { "not at its end" }
            ),
        },
        (Err(e), _) | (_, Err(e)) => fail("syringe switches", e.to_string()),
    });
    checks.push(motor_enable(hw));
    checks.push(indicators(hw));
    let test = SelfTest { checks, checksums };
    for c in &test.checks {
        if c.passed {
            tracing::info!(check = %c.name, detail = %c.detail, "self-test");
        } else {
            tracing::error!(check = %c.name, detail = %c.detail, "self-test FAILED");
        }
    }
    test
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

fn fail(name: &str, detail: String) -> Check {
    Check {
        name: name.to_owned(),
        passed: false,
        detail,
    }
}

/// On, read back, off, read back. Always left off, even when a step fails.
fn motor_enable(hw: &mut dyn PumpHardware) -> Check {
    let name = "motor enable";
    let mut result = || -> Result<String, String> {
        hw.set_motor_enabled(true).map_err(|e| e.to_string())?;
        let on = hw.motor_enabled_readback().map_err(|e| e.to_string())?;
        hw.set_motor_enabled(false).map_err(|e| e.to_string())?;
        let off = hw.motor_enabled_readback().map_err(|e| e.to_string())?;
        match (on, off) {
            (None, None) => Ok("switched on and off (no read-back wired)".to_owned()),
            (Some(true), Some(false)) => Ok("switched on and off, read back both".to_owned()),
            (_, Some(true)) => Err(
                "the motor driver stays enabled when switched off: take the pump out of use"
                    .to_owned(),
            ),
            _ => Err("the motor driver does not enable when switched on".to_owned()),
        }
    };
    let outcome = result();
    let _ = hw.set_motor_enabled(false);
    match outcome {
        Ok(detail) => Check {
            name: name.to_owned(),
            passed: true,
            detail,
        },
        Err(detail) => fail(name, detail),
    }
}

/// Each priority's light and tone pattern briefly, then quiet.
fn indicators(hw: &mut dyn PumpHardware) -> Check {
    let name = "alarm light and tone";
    let mut result = || -> Result<(), String> {
        for (priority, phase) in [
            (Priority::High, 0),
            (Priority::Medium, 0),
            (Priority::Low, 0),
        ] {
            hw.annunciate(Some(priority), phase)
                .map_err(|e| e.to_string())?;
        }
        hw.annunciate(None, 0).map_err(|e| e.to_string())
    };
    let outcome = result();
    let _ = hw.annunciate(None, 0);
    match outcome {
        Ok(()) => Check {
            name: name.to_owned(),
            passed: true,
            detail: "driven through each priority and switched off".to_owned(),
        },
        Err(e) => fail(
            name,
            format!("the alarm light or tone does not answer ({e})"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::hardware::HardwareConfig;
    use crate::sim::SimPump;

    fn sim() -> SimPump {
        let cfg = HardwareConfig::built_in().unwrap();
        SimPump::new(&cfg.mechanism, &cfg.simulation, cfg.mechanism.syringe)
    }

    fn sums() -> Checksums {
        Checksums {
            drug_library: "a".repeat(64),
            hardware: "b".repeat(64),
            protocol: "c".repeat(64),
        }
    }

    #[test]
    fn a_sound_pump_passes_every_check_and_is_left_disabled_and_quiet() {
        let mut hw = sim();
        let t = run(&mut hw, sums());
        assert!(t.passed(), "{}", t.failures());
        let names: Vec<&str> = t.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "configuration",
                "pressure sensor",
                "syringe switches",
                "motor enable",
                "alarm light and tone"
            ]
        );
        assert_eq!(t.checks[3].detail, "switched on and off, read back both");
        assert_eq!(hw.motor_enabled_readback().unwrap(), Some(false));
        assert_eq!(hw.annunciated, None);
        assert!(t.checks[0].detail.contains("aaaaaaaaaaaa"));
    }

    #[test]
    fn each_injected_fault_fails_its_own_check_by_name() {
        for (fault, check, words) in [
            ("enable_stuck", "motor enable", "stays enabled"),
            (
                "indicator_failed",
                "alarm light and tone",
                "does not answer",
            ),
            (
                "sensor_out_of_range",
                "pressure sensor",
                "outside its range",
            ),
        ] {
            let mut hw = sim();
            hw.inject_fault(fault, true).unwrap();
            let t = run(&mut hw, sums());
            assert!(!t.passed(), "{fault}");
            let failed: Vec<&Check> = t.checks.iter().filter(|c| !c.passed).collect();
            assert_eq!(failed.len(), 1, "{fault}: {failed:?}");
            assert_eq!(failed[0].name, check, "{fault}");
            assert!(t.failures().contains(words), "{fault}: {}", t.failures());
        }
    }

    #[test]
    fn checksums_follow_the_content() {
        use crate::digest::checksum;
        let a = checksum(&serde_json::json!({"x": 1}));
        assert_eq!(a.len(), 64);
        assert_eq!(a, checksum(&serde_json::json!({"x": 1})));
        assert_ne!(a, checksum(&serde_json::json!({"x": 2})));
    }
}
