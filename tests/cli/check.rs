//! `titra check` as a nurse and other tools use it: the exit codes of the contract, and messages
//! that name the field, the value and the limit. Every example scenario behaves as its comments say.

use crate::common::{TempDir, repository_path, scenario_arg as scenario, text, titra};

#[test]
fn the_continuous_example_is_acceptable() {
    let out = titra(&["check", &scenario("continuous-morphine-pca.toml")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Result: ACCEPTABLE"), "{stdout}");
    assert!(stdout.contains("program.pca.lockout"), "{stdout}");
    // The rate change at day 1 is checked too.
    assert!(stdout.contains("Basal rate 1 mg/day"), "{stdout}");
}

#[test]
fn the_single_shot_example_is_acceptable() {
    let out = titra(&["check", &scenario("single-shot-morphine.toml")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Observation period 1d"));
}

#[test]
fn the_hard_limit_example_is_rejected_naming_field_value_and_limit() {
    let out = titra(&["check", &scenario("hard-limit-rejected.toml")]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("REJECT  program.basal: Basal rate 50 mg/day"),
        "{stdout}"
    );
    assert!(stdout.contains("hard maximum of 20 mg/day"), "{stdout}");
    assert!(stdout.contains("Result: REJECTED"), "{stdout}");
}

#[test]
fn json_output_carries_every_finding() {
    let out = titra(&["check", "--json", &scenario("hard-limit-rejected.toml")]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["class"], "hard");
    let findings = v["verdict"]["findings"].as_array().unwrap();
    let basal = findings
        .iter()
        .find(|f| f["field"] == "program.basal" && f["class"] == "hard")
        .unwrap();
    assert!(basal["limit"].as_str().unwrap().contains("20 mg/day"));
    assert_eq!(v["program"]["basal"], "50 mg/day");
}

#[test]
fn a_program_file_without_events_is_accepted() {
    let dir = TempDir::new("check");
    let path = dir.file(
        "program.toml",
        r#"
[trial]
patient = "MRN-7"
route = "intrathecal"
kind = "continuous"
duration = "7d"

[program]
drug = "hydromorphone"
concentration = "1 mg/mL"
reservoir = "10 mL"
basal = "0.2 mg/day"
pca = { dose = "0.02 mg", lockout = "2h", max_per_hour = 1 }
limit = { window = "4h", max = "0.1 mg" }
"#,
    );
    let out = titra(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn invalid_input_exits_2_naming_the_field_and_value() {
    let dir = TempDir::new("check");
    let path = dir.file(
        "bad-unit.toml",
        "[trial]\npatient = \"MRN-1\"\nroute = \"intrathecal\"\nkind = \"continuous\"\nduration = \"1d\"\n\n[program]\ndrug = \"morphine\"\nconcentration = \"1 mg/mL\"\nreservoir = \"20 mL\"\nbasal = \"0.5 mg/kg\"\n",
    );
    let out = titra(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("line 11: program.basal: \"0.5 mg/kg\": unknown unit \"mg/kg\""),
        "{stderr}"
    );

    let out = titra(&["check", "/nonexistent/program.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read /nonexistent/program.toml"));
}

#[test]
fn an_unknown_drug_is_rejected_with_the_library_list() {
    let dir = TempDir::new("check");
    let path = dir.file(
        "unknown-drug.toml",
        "[trial]\npatient = \"MRN-1\"\nroute = \"epidural\"\nkind = \"continuous\"\nduration = \"1d\"\n\n[program]\ndrug = \"ziconotide\"\nconcentration = \"25 mcg/mL\"\nreservoir = \"20 mL\"\nbasal = \"2.4 mcg/day\"\n",
    );
    let out = titra(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("trial.route: Ziconotide is not in the drug library for epidural use"),
        "{stdout}"
    );
}

#[test]
fn an_inconsistent_library_is_refused_whole_with_its_line() {
    let dir = TempDir::new("check");
    let shipped = std::fs::read_to_string(repository_path("config/drug-library.toml")).unwrap();
    let broken = shipped.replacen("soft_max = \"15 mg/day\"", "soft_max = \"25 mg/day\"", 1);
    assert_ne!(broken, shipped);
    let lib = dir.file("library.toml", &broken);
    let out = titra(&[
        "check",
        "--library",
        lib.to_str().unwrap(),
        &scenario("single-shot-morphine.toml"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("basal_per_day: soft_max 25 mg/day is above hard_max 20 mg/day"),
        "{stderr}"
    );
    assert!(stderr.contains(", line "), "{stderr}");
}

#[test]
fn the_example_scenarios_match_the_design_notes() {
    // The scenarios are part of the product's contract; the copies here must not drift from
    // the design notes when those are beside the repository.
    let shared = repository_path("../shared/scenarios");
    let Ok(entries) = std::fs::read_dir(&shared) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let ours = repository_path("examples/scenarios").join(&name);
        assert_eq!(
            std::fs::read(entry.path()).unwrap(),
            std::fs::read(&ours).unwrap_or_default(),
            "{} differs from the design notes' copy",
            name.to_string_lossy()
        );
    }
}

/// What the labels forbid is refused, naming the field, the value, the limit and its source
/// (the drug library entry's `source`).
#[test]
fn what_the_labels_forbid_is_refused_with_the_limit_and_its_source() {
    let dir = TempDir::new("check");
    let cases: [(&str, &str, &[&str]); 4] = [
        (
            "ziconotide-start.toml",
            "[trial]\npatient = \"P\"\nroute = \"intrathecal\"\nkind = \"continuous\"\nduration = \"3d\"\n[program]\ndrug = \"ziconotide\"\nconcentration = \"25 mcg/mL\"\nreservoir = \"2 mL\"\nbasal = \"3 mcg/day\"\n",
            &[
                "REJECT  program.basal: The first basal rate of a trial 3 mcg/day is above the hard maximum of 2.4 mcg/day.",
                "limit: hard maximum of 2.4 mcg/day; source: Prialt label [V]: start at no more than 2.4 mcg/day",
            ],
        ),
        (
            "baclofen-150.toml",
            "[trial]\npatient = \"P\"\nroute = \"intrathecal\"\nkind = \"single_bolus\"\nduration = \"1d\"\n[program]\ndrug = \"baclofen\"\nconcentration = \"50 mcg/mL\"\nreservoir = \"10 mL\"\nboluses = [ { at = \"0h\", dose = \"150 mcg\" } ]\nobserve = \"8h\"\n",
            &[
                "REJECT  program.boluses[0].dose: Bolus dose 150 mcg is above the hard maximum of 100 mcg.",
                "source: Lioresal/Gablofen intrathecal labels [V]",
            ],
        ),
        (
            "epidural-morphine-100.toml",
            "[trial]\npatient = \"P\"\nroute = \"epidural\"\nkind = \"continuous\"\nduration = \"1d\"\n[program]\ndrug = \"morphine\"\nconcentration = \"2 mg/mL\"\nreservoir = \"20 mL\"\nbasal = \"50 mg/day\"\n",
            &[
                "is above the hard maximum of 30 mg/day",
                "source: Infumorph label [V]: continuous epidural start",
            ],
        ),
        (
            "clonidine-500.toml",
            "[trial]\npatient = \"P\"\nroute = \"epidural\"\nkind = \"continuous\"\nduration = \"1d\"\n[program]\ndrug = \"clonidine\"\nconcentration = \"500 mcg/mL\"\nreservoir = \"20 mL\"\nbasal = \"600 mcg/day\"\n",
            &[
                "REJECT  program.concentration: 500 mcg/mL is not a concentration the drug library lists for epidural clonidine (it lists: 100 mcg/mL)",
            ],
        ),
    ];
    for (name, toml, needles) in cases {
        let out = titra(&["check", dir.file(name, toml).to_str().unwrap()]);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{name}: {stdout}");
        for needle in needles {
            assert!(
                stdout.contains(needle),
                "{name}: {needle:?} not in:\n{stdout}"
            );
        }
    }
    // The JSON form carries the source with each finding.
    let out = titra(&[
        "check",
        "--json",
        dir.file("ziconotide-start.toml", cases[0].1)
            .to_str()
            .unwrap(),
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let finding = json["verdict"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["class"] == "hard")
        .unwrap();
    assert!(
        finding["source"]
            .as_str()
            .unwrap()
            .starts_with("Prialt label")
    );
}
