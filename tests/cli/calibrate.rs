//! `titra calibrate --sim`: the gravimetric run on the simulator, its figures, and the profile
//! updated in place with its comments kept.

use crate::common::{TempDir, text};

/// `titra` run with `args`: its exit code, standard output and standard error.
fn titra(args: &[&str]) -> (i32, String, String) {
    let out = crate::common::titra(args);
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

#[test]
fn a_simulated_calibration_measures_and_writes_steps_per_ml() {
    let dir = TempDir::new("calibrate");
    let profile = dir.file("hardware.toml", titra::input::hardware::BUILT_IN_HARDWARE);
    let path = profile.to_str().unwrap();

    let (code, _, err) = titra(&["calibrate", "--sim", "--write"]);
    assert_eq!(code, 2);
    assert!(err.contains("--write needs --hardware FILE"), "{err}");
    let (code, _, err) = titra(&["calibrate", "--sim", "--settle", "3h"]);
    assert_eq!(code, 2);
    assert!(err.contains("leaves nothing"), "{err}");

    let (code, out, err) = titra(&["calibrate", "--sim", "--hardware", path, "--write"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("SIMULATED calibration run"), "{out}");
    // The model's lead screw: 14 410 steps per mL measured against 14 400 configured, and the
    // trumpet curve of the README at 1 mL/h.
    assert!(
        out.contains("Steps per mL: 14410 (the profile has 14400, +0.07 %)"),
        "{out}"
    );
    assert!(out.contains("| 2 min | +1.28 % | -1.28 % |"), "{out}");
    let written = std::fs::read_to_string(&profile).unwrap();
    assert!(written.contains("\nsteps_per_ml = 14410\n"));
    assert!(
        written.contains("# Motor (micro)steps per mL pushed"),
        "comments kept"
    );
    let cfg = titra::input::hardware::HardwareConfig::from_file(&profile).unwrap();
    assert_eq!(cfg.mechanism.steps_per_ml, 14410);
}
