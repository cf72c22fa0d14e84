//! `titra demo`: its input is checked before any window opens, and a wrong value is refused
//! with the option, the value and the limit.

use crate::common::titra;

fn refused(args: &[&str]) -> String {
    let out = titra(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_speed_outside_1_to_600_is_refused_with_the_limit() {
    for speed in ["0", "601", "-5", "fast"] {
        let text = refused(&["demo", &format!("--speed={speed}")]);
        assert!(text.contains("--speed"), "{text}");
        assert!(text.contains(speed), "{text}");
        if speed.parse::<i64>().is_ok() {
            assert!(text.contains("1..=600"), "{text}");
        }
    }
}

#[test]
fn a_scenario_that_cannot_be_read_or_is_wrong_is_refused_before_a_window_opens() {
    let text = refused(&["demo", "--scenario", "/nonexistent/trial.toml"]);
    assert!(
        text.contains("cannot read the scenario /nonexistent/trial.toml"),
        "{text}"
    );
    let dir = crate::common::TempDir::new("demo-scenario");
    let file = dir.join("wrong.toml");
    std::fs::write(
        &file,
        "[trial]\npatient = \"MRN-1\"\nroute = \"intrathecal\"\nkind = \"continuous\"\nduration = \"3d\"\n[program]\ndrug = \"morphine\"\nconcentration = \"1 mg/mL\"\nreservoir = \"20 mL\"\nbasal = \"0.5 mg/day\"\n[[events]]\nat = \"1h\"\nkind = \"pain_score\"\nvalue = \"high\"\n",
    )
    .unwrap();
    let text = refused(&["demo", "--scenario", file.to_str().unwrap()]);
    assert!(text.contains("value"), "{text}");
    assert!(text.contains("wrong.toml"), "{text}");
}
