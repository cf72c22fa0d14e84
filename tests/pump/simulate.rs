//! `titra simulate` on the example scenarios, checked against figures worked out by hand.
//!
//! Mechanism: 14 400 steps per mL; morphine 1 mg/mL, so one step carries 69.4 ng and 1 mg is
//! exactly 14 400 steps. Amounts below are exact where the step count is, and within one step
//! (70 ng) where a stop or an alarm falls between steps.

use titra::cli::simulate::{self, Outcome};
use titra::core::supervisor::{AlarmKind, Priority};
use titra::input::check;
use titra::input::hardware::HardwareConfig;
use titra::input::scenario::Scenario;
use titra::journal::Record;

use crate::common::{TempDir, example, repository_path, scenario_arg, scenario_path, titra};

const STEP_MG: f64 = 1.0 / 14_400.0;

fn run(scenario: &Scenario) -> Outcome {
    let (library, source) = check::load_library(None).unwrap();
    simulate::run(
        scenario,
        &library,
        source,
        &HardwareConfig::built_in().unwrap(),
    )
    .unwrap()
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance
}

#[test]
fn continuous_morphine_with_pca_occlusion_and_power_cut() {
    let out = run(&example("continuous-morphine-pca.toml"));
    let s = &out.summary;
    assert!(s.simulated);
    assert_eq!(s.schema, "titra.trial-summary/1");
    assert_eq!(s.trial.duration_h, 72.0);

    // The program sets no checks: intrathecal morphine is checked by the library's default,
    // hourly from the start, and the design's scenario records none. The 1 h check is missed
    // (MEDIUM from just after 1 h), the 2 h one too (HIGH from just after 2 h), and the alarm
    // stands to the end: no one records a check.
    let missed = s
        .alarms
        .iter()
        .find(|a| a.kind == AlarmKind::ObservationMissed)
        .expect("checks by the library's default");
    assert_eq!((missed.at_h, missed.priority), (1.0, Priority::High));
    assert_eq!(missed.cleared_at_h, None);
    // Presses at 2h (granted: one check missed, not yet two), 2h10 and 3h05 (refused: two
    // checks missed; patient boluses wait for a check).
    assert_eq!((s.pca.requested, s.pca.granted, s.pca.denied), (3, 1, 2));
    assert_eq!(s.delivered.pca_mg, 0.05);
    let denials: Vec<_> = out
        .journal
        .iter()
        .filter_map(|r| match r {
            Record::PcaRequest {
                at,
                granted: false,
                denial,
                ..
            } => Some((at.ms(), *denial)),
            _ => None,
        })
        .collect();
    let overdue = Some(titra::core::dose::Denial::ObservationOverdue);
    assert_eq!(
        denials,
        [(7_800_000, overdue), (11_100_000, overdue)],
        "2h10 and 3h05"
    );

    // The program as it was started: 0.5 mg/day (the rate change at 1 d came after).
    assert_eq!(s.program.basal_mg_per_day, 0.5);
    // Day 1: 0.5 mg/day basal for 24 h (7200 steps exactly) and one 0.05 mg bolus.
    assert_eq!(s.delivered.per_day_mg[0], 0.55);

    // The occlusion from 30 h: a HIGH alarm well within the hour it lasted, cleared when the
    // nurse resumed at 31h05.
    let occlusion = s
        .alarms
        .iter()
        .find(|a| a.kind == AlarmKind::Occlusion)
        .unwrap();
    assert_eq!(occlusion.priority, Priority::High);
    assert!(
        occlusion.at_h > 30.0 && occlusion.at_h < 30.75,
        "{}",
        occlusion.at_h
    );
    assert!(close(
        occlusion.cleared_at_h.unwrap(),
        31.0 + 5.0 / 60.0,
        1e-3
    ));
    assert!(occlusion.pressure_mmhg.unwrap() < 40.0);
    // Day 2: 1 mg/day, less the time stopped from the alarm to the resume.
    let stopped_h = 31.0 + 5.0 / 60.0 - occlusion.at_h;
    assert!(
        close(
            s.delivered.per_day_mg[1],
            1.0 - stopped_h / 24.0,
            2.0 * STEP_MG + 1e-4
        ),
        "{:?}",
        s.delivered.per_day_mg
    );

    // Power cut at 48 h for 10 min: back up stopped, HIGH, until the nurse resumes at 49 h.
    let power = s
        .alarms
        .iter()
        .find(|a| a.kind == AlarmKind::PowerRestored)
        .unwrap();
    assert_eq!(power.priority, Priority::High);
    assert!(close(power.at_h, 48.0 + 10.0 / 60.0, 1e-3));
    assert_eq!(power.cleared_at_h, Some(49.0));
    // Day 3: 23 h of 1 mg/day.
    assert!(
        close(s.delivered.per_day_mg[2], 23.0 / 24.0, STEP_MG),
        "{:?}",
        s.delivered.per_day_mg
    );

    let total: f64 = s.delivered.per_day_mg.iter().sum();
    assert!(close(s.delivered.total_mg, total, 1e-9));
    assert!(close(
        s.delivered.basal_mg + s.delivered.pca_mg,
        s.delivered.total_mg,
        1e-9
    ));
    // 1 mg/mL: mg and mL agree within rounding of one step.
    assert!(close(s.delivered.total_mg, s.delivered.total_ml, STEP_MG));

    assert_eq!(s.pain.baseline, Some(8));
    assert_eq!(s.pain.last, Some(3));
    assert_eq!(s.pain.reduction_pct, Some(62.5));
    assert_eq!(s.pain.responder, Some(true));
    assert_eq!(s.side_effects.len(), 1);
    assert_eq!(s.side_effects[0].at_h, 40.0);
    // The effective dose: the last stable period is 1 mg/day from 24 h to the end (48 h, at
    // least the protocol's 24 h), with no patient boluses in it: 1 mg/day (the occlusion and
    // the power cut do not lower it; they are listed). The last 24 h's average is shown for
    // information only: 23 h of 1 mg/day.
    assert_eq!(s.effective_dose_mg_per_day, Some(1.0));
    assert_eq!(s.effective_dose.basis, "stable_period");
    assert!(close(
        s.effective_dose.last_24h_mg_per_day,
        23.0 / 24.0,
        STEP_MG
    ));
    // Intrathecal morphine, opioid status not recorded: 50 % of 1 mg/day = 0.5 mg/day, within
    // the label's opioid-naive starting range of 0.2-1 mg/day.
    assert_eq!(s.implant.proposed_mg_per_day, Some(0.5));

    // What the patient really got matches what the pump counted, less what the back-off took
    // back and what was still in the line at the end.
    let backed_off: u64 = out
        .journal
        .iter()
        .filter_map(|r| match r {
            Record::BackedOff { steps, .. } => Some(*steps),
            _ => None,
        })
        .sum();
    assert!(backed_off > 0, "the plunger backed off after the occlusion");
    // The reservoir's count is net of the back-off; the dose count never goes down.
    let backed_off_ml = backed_off as f64 / 14_400.0;
    assert!(close(
        s.reservoir.remaining_ml,
        20.0 - s.delivered.total_ml + backed_off_ml,
        1e-5
    ));
    let counted_ul = s.delivered.total_ml * 1000.0;
    // Within the simulated lead-screw error: 2 % over a part turn of 3200 steps is at most
    // 0.02 × 3200 / π steps ≈ 1.4 µL.
    assert!(close(
        out.truth.pushed_ul,
        counted_ul - backed_off as f64 * 1000.0 / 14_400.0,
        1.5
    ));
    assert!(
        out.truth.delivered_ul <= out.truth.pushed_ul + 1e-3,
        "{:?}",
        out.truth
    );
    // Still in the syringe at the end: the steady-state pressure of 1 mL/day through the
    // catheter (Q·R ≈ 0.83 mmHg) times the compliance (2 µL/mmHg) ≈ 1.7 µL.
    let in_line = out.truth.pushed_ul - out.truth.delivered_ul;
    assert!(in_line > 1.0 && in_line < 2.5, "{:?}", out.truth);
}

#[test]
fn single_shot_screening_bolus() {
    let out = run(&example("single-shot-morphine.toml"));
    let s = &out.summary;
    // 0.2 mg at 1 mg/mL = 2880 steps exactly, given at 1 mL/h (12 minutes).
    assert_eq!(s.delivered.scheduled_bolus_mg, 0.2);
    assert_eq!(s.delivered.total_mg, 0.2);
    assert_eq!(s.delivered.basal_mg, 0.0);
    assert_eq!(s.delivered.per_day_mg, vec![0.2]);
    assert_eq!(s.pca.requested, 0);
    // The only alarm: the sedation and breathing checks the library asks for after intrathecal
    // morphine (hourly for 24 h after the bolus), which the design's scenario does not record.
    let kinds: Vec<_> = s.alarms.iter().map(|a| (a.kind, a.at_h)).collect();
    assert_eq!(kinds, [(AlarmKind::ObservationMissed, 1.0)]);
    let ended = out
        .journal
        .iter()
        .find_map(|r| match r {
            Record::BolusEnded {
                at,
                complete: true,
                delivered,
                ..
            } => Some((*at, *delivered)),
            _ => None,
        })
        .unwrap();
    assert_eq!(ended.0.ms(), 12 * 60_000);
    assert_eq!(ended.1.to_string(), "0.2 mg");
    // The observation period is shown as an information signal from the bolus's end.
    assert!(out.journal.iter().any(|r| matches!(
        r,
        Record::AlarmRaised {
            kind: AlarmKind::Observation,
            priority: Priority::Info,
            ..
        }
    )));
    // Pain 7 before, 3 at its lowest (4 h), 6 at the end: a screening bolus is judged by its
    // peak effect, (7 - 3) / 7 = 57.1 %.
    assert_eq!(s.pain.reduction_pct, Some(14.3));
    assert_eq!(s.pain.lowest, Some(3));
    assert_eq!(s.pain.reduction_lowest_pct, Some(57.1));
    assert_eq!(s.pain.responder, Some(true));
    assert_eq!(s.side_effects[0].at_h, 12.0);
    assert!(close(s.reservoir.remaining_ml, 1.8, 1e-9));
    // The effective bolus, 0.2 mg, as a dose per day; 50 % of it proposed.
    assert_eq!(s.effective_dose_mg_per_day, Some(0.2));
    assert_eq!(s.implant.proposed_mg_per_day, Some(0.1));
}

#[test]
fn the_same_scenario_gives_the_same_summary() {
    let a = run(&example("continuous-morphine-pca.toml"));
    let b = run(&example("continuous-morphine-pca.toml"));
    assert_eq!(
        serde_json::to_string(&a.summary).unwrap(),
        serde_json::to_string(&b.summary).unwrap()
    );
}

#[test]
fn json_output_carries_the_contract_keys() {
    let out = titra(&[
        "simulate",
        "--json",
        &scenario_arg("continuous-morphine-pca.toml"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "titra.trial-summary/1");
    for (section, keys) in [
        (
            "trial",
            &[
                "patient",
                "route",
                "kind",
                "drug",
                "concentration_mg_per_ml",
                "started_at",
                "ended_at",
                "duration_h",
            ][..],
        ),
        (
            "delivered",
            &[
                "total_mg",
                "total_ml",
                "basal_mg",
                "pca_mg",
                "clinician_bolus_mg",
                "per_day_mg",
            ][..],
        ),
        ("pca", &["requested", "granted", "denied"][..]),
        (
            "pain",
            &["baseline", "final", "reduction_pct", "responder"][..],
        ),
        ("reservoir", &["loaded_ml", "remaining_ml"][..]),
    ] {
        for key in keys {
            assert!(!v[section][key].is_null(), "{section}.{key}");
        }
    }
    assert!(v["alarms"][0]["at_h"].is_number());
    // The missed checks' alarm stands to the end (null); the occlusion's cleared.
    assert!(v["alarms"][0]["cleared_at_h"].is_null());
    assert!(v["alarms"][1]["cleared_at_h"].is_number());
    assert!(v["side_effects"][0]["effect"] == "pruritus");
    assert!(v["effective_dose_mg_per_day"].is_number());
    assert_eq!(v["delivered"]["per_day_mg"].as_array().unwrap().len(), 3);
}

#[test]
fn a_rejected_program_exits_2_before_anything_runs() {
    let out = titra(&["simulate", &scenario_arg("hard-limit-rejected.toml")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("program.basal"), "{stderr}");
    assert!(stderr.contains("hard maximum of 20 mg/day"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn invalid_scenarios_exit_2_naming_the_field() {
    let dir = TempDir::new("sim");
    let base = std::fs::read_to_string(scenario_path("single-shot-morphine.toml")).unwrap();
    for (name, text, expected) in [
        (
            "late.toml",
            format!("{base}\n[[events]]\nat = \"30h\"\nkind = \"pain_score\"\nvalue = 2\n"),
            "events[4].at: 1d 6h is after the trial's end",
        ),
        (
            "kind.toml",
            format!("{base}\n[[events]]\nat = \"3h\"\nkind = \"explode\"\n"),
            "unknown variant `explode`",
        ),
        (
            "time.toml",
            base.replace("at = \"4h\"", "at = \"4 hours\""),
            "unknown unit \"hours\"",
        ),
        (
            "drug.toml",
            base.replace("drug = \"morphine\"", "drug = \"unobtainium\""),
            "\"unobtainium\" is not in the drug library",
        ),
        (
            "checklist.toml",
            format!("{base}\n[checklist]\nconfirmed = [\"consent\"]\n"),
            "checklist: start: the pre-trial checklist is not complete; still open:",
        ),
        (
            "outpatient.toml",
            format!("{base}\n[checklist]\nconfirmed = [\"responsible_adult\"]\n"),
            "checklist.confirmed: item: \"responsible_adult\" is not on this trial's checklist",
        ),
    ] {
        let path = dir.file(name, &text);
        let out = titra(&["simulate", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{name}: {stderr}");
    }
}

#[test]
fn the_button_on_the_cord_asks_like_the_screen_and_a_stuck_one_raises_an_alarm_instead() {
    use titra::core::units::{Duration, Timestamp};
    let out = run(&example("patient-controller.toml"));
    let at =
        |h: u64, min: u64| Timestamp::ORIGIN + Duration::from_hours(h) + Duration::from_mins(min);
    // Every request with where it came from: the stuck cord's press at 3h30 is not one.
    let requests: Vec<(Timestamp, bool, bool)> = out
        .journal
        .iter()
        .filter_map(|r| match r {
            Record::PcaRequest {
                at, granted, cord, ..
            } => Some((*at, *granted, *cord)),
            _ => None,
        })
        .collect();
    assert_eq!(
        requests,
        [
            (at(1, 0), true, true),
            (at(1, 10), false, false),
            (at(4, 0), true, false),
            (at(6, 0), true, true),
        ]
    );
    let stuck = out
        .summary
        .alarms
        .iter()
        .find(|a| a.kind == AlarmKind::StuckButton)
        .expect("the stuck-button alarm is listed");
    assert_eq!(stuck.priority, Priority::Medium);
    assert_eq!(stuck.at_h, 3.0);
    assert_eq!(stuck.cleared_at_h, Some(5.0));
    // A stuck button stops no delivery: three boluses given, the basal ran throughout.
    assert_eq!(out.summary.pca.granted, 3);
}

#[test]
fn a_sedation_score_of_3_stops_delivery_and_the_patient_until_a_clinician_reviews() {
    use titra::core::dose::Denial;
    use titra::core::units::{Duration, Timestamp};
    let out = run(&example("sedation-hold.toml"));
    let s = &out.summary;
    let at =
        |h: u64, min: u64| Timestamp::ORIGIN + Duration::from_hours(h) + Duration::from_mins(min);

    // POSS 3 at 4 h: a HIGH alarm in the summary's alarms, its cause cleared by the review at 5 h.
    let sedation = s
        .alarms
        .iter()
        .find(|a| a.kind == AlarmKind::Sedation)
        .expect("the sedation alarm is listed");
    assert_eq!(sedation.priority, Priority::High);
    assert_eq!(sedation.at_h, 4.0);
    assert_eq!(sedation.cleared_at_h, Some(5.0));
    // Presses: 2h30 granted; 4h15 and 4h30 refused (the hold); 9h15 refused (two checks
    // missed); 10h granted.
    assert_eq!((s.pca.requested, s.pca.granted, s.pca.denied), (5, 2, 3));
    let denials: Vec<(Timestamp, Option<Denial>)> = out
        .journal
        .iter()
        .filter_map(|r| match r {
            Record::PcaRequest {
                at,
                granted: false,
                denial,
                ..
            } => Some((*at, *denial)),
            _ => None,
        })
        .collect();
    assert_eq!(
        denials,
        [
            (at(4, 15), Some(Denial::SedationHold)),
            (at(4, 30), Some(Denial::SedationHold)),
            (at(9, 15), Some(Denial::ObservationOverdue)),
        ]
    );
    assert!(
        Denial::SedationHold
            .explain()
            .starts_with("Not now: your nurse must check on you first."),
        "{}",
        Denial::SedationHold.explain()
    );
    assert_eq!(s.pca.denied_by_reason.get("sedation_hold"), Some(&2));
    assert_eq!(s.pca.denied_by_reason.get("observation_overdue"), Some(&1));

    // The nurse's resume at 4h20 was refused and recorded; the one after the review worked.
    let refused: Vec<(Timestamp, &str)> = out
        .journal
        .iter()
        .filter_map(|r| match r {
            Record::Refused {
                at, what, reason, ..
            } if what == "resume" => Some((*at, reason.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0, at(4, 20));
    assert!(
        refused[0].1.contains("a clinician must review"),
        "{}",
        refused[0].1
    );

    // Nothing left the syringe from 4 h until the resume at 5h05.
    assert!(
        !out.journal.iter().any(|r| matches!(
            r,
            Record::Delivery { at: t, .. } if *t > at(4, 0) && *t <= at(5, 5)
        )),
        "delivery stopped while held"
    );
    // 4 h at 1 mg/day, then 6h55 at 0.5 mg/day; two patient boluses of 0.05 mg.
    let basal = 4.0 / 24.0 + (6.0 + 55.0 / 60.0) / 48.0;
    assert!(
        close(s.delivered.basal_mg, basal, 2.0 * STEP_MG),
        "{} vs {basal}",
        s.delivered.basal_mg
    );
    assert!(close(s.delivered.pca_mg, 0.1, 1e-9));

    // The hold and its review, for the clinician reading the summary.
    let o = &s.observations;
    assert_eq!(o.holds.len(), 1);
    let hold = &o.holds[0];
    assert_eq!(hold.reason, "POSS 3");
    assert_eq!(hold.patient_requests_denied, 2);
    assert_eq!(hold.reviewed_at_h, Some(5.0));
    assert_eq!(hold.reviewed_by.as_deref(), Some("clinician (scenario)"));
    assert!(
        hold.note
            .as_deref()
            .unwrap()
            .starts_with("POSS 3 after a patient bolus")
    );
    // Hourly by the library's default: the routine checks at 1, 2 (with the temperature), 3, 5
    // and 7 h, the nurse's at 4 h (POSS 3), 6 h and 9h30, and the routine ones at 10h30 and
    // 11h30 after the bolus at 10 h.
    assert_eq!(o.sedation.len(), 10);
    // The temperature was taken with the 2 h check (the routine one at 1 h has none).
    assert_eq!(o.vitals[1].at_h, 2.0);
    assert_eq!(o.vitals[1].temp_c, Some(36.9));

    // The 8 h check missed: MEDIUM; the 9 h one missed too: HIGH, until the check at 9h30.
    let missed = s
        .alarms
        .iter()
        .find(|a| a.kind == AlarmKind::ObservationMissed)
        .expect("a missed check is listed");
    assert_eq!(missed.at_h, 8.0);
    assert_eq!(missed.priority, Priority::High, "the highest it reached");
    assert_eq!(missed.cleared_at_h, Some(9.5));
    assert!(out.journal.iter().any(|r| matches!(
        r,
        Record::AlarmRaised {
            kind: AlarmKind::ObservationMissed,
            priority: Priority::Medium,
            ..
        }
    )));
    let escalated = out
        .journal
        .iter()
        .find_map(|r| match r {
            Record::AlarmEscalated {
                at: t,
                kind: AlarmKind::ObservationMissed,
                priority: Priority::High,
            } => Some(*t),
            _ => None,
        })
        .expect("escalated");
    assert_eq!(escalated, at(9, 0) + Duration::from_ms(1));
    assert_eq!((o.missed_checks, o.escalated_checks), (1, 1));
    assert_eq!(s.alarms.len(), 2, "{:?}", s.alarms);

    // `titra simulate` shows the HIGH alarm and why the presses were refused.
    let cli = titra(&["simulate", &scenario_arg("sedation-hold.toml")]);
    assert_eq!(cli.status.code(), Some(0));
    let text = String::from_utf8_lossy(&cli.stdout);
    assert!(
        text.contains(
            "HIGH sedation at 4 h, cleared at 5 h: Sedation or slow breathing — delivery stopped."
        ),
        "{text}"
    );
    assert!(
        text.contains("denied: observation overdue 1, sedation hold 2"),
        "{text}"
    );
    assert!(
        text.contains("delivery stopped at 4 h for POSS 3; 2 patient requests refused; reviewed by clinician (scenario) at 5 h"),
        "{text}"
    );
}

#[test]
fn a_scenario_carries_the_pre_trial_checklist_as_done() {
    // Without a [checklist] table every item counts as confirmed by the scenario's nurse.
    let out = run(&example("single-shot-morphine.toml"));
    let c = out
        .summary
        .checklist
        .as_ref()
        .expect("the built-in checklist");
    assert!(c.complete && c.overridden.is_none());
    assert_eq!(
        c.items.len(),
        7,
        "an inpatient single shot: no responsible adult"
    );
    assert!(
        c.items
            .iter()
            .all(|i| i.confirmed_by.as_deref() == Some(simulate::SCENARIO_NURSE))
    );

    // An outpatient single shot asks for the responsible adult too; a clinician overrides it.
    let text = std::fs::read_to_string(scenario_path("single-shot-morphine.toml"))
        .unwrap()
        .replace(
            "kind = \"single_bolus\"",
            "kind = \"single_bolus\"\noutpatient = true",
        );
    let all_but_adult = [
        "medical_clearance",
        "psychological_evaluation",
        "bloodwork_infection_screen",
        "anticoagulants_held",
        "allergies_medication_reviewed",
        "consent",
        "insurance_confirmed",
    ]
    .map(|id| format!("\"{id}\""))
    .join(", ");
    let text = format!(
        "{text}\n[checklist]\nconfirmed = [{all_but_adult}]\noverride = \"Daughter collects her at 18:00.\"\n"
    );
    let sc = Scenario::from_toml_str(&text, "outpatient.toml").unwrap();
    assert!(sc.trial.outpatient);
    let out = run(&sc);
    let c = out.summary.checklist.as_ref().unwrap();
    assert!(!c.complete);
    assert_eq!(c.items.len(), 8);
    assert!(!c.items[7].confirmed && c.items[7].id == "responsible_adult");
    let o = c.overridden.as_ref().unwrap();
    assert_eq!(o.open, ["responsible_adult"]);
    assert_eq!(o.by, simulate::SCENARIO_CLINICIAN);
    assert_eq!(o.reason, "Daughter collects her at 18:00.");
    assert!(
        out.summary.delivered.scheduled_bolus_mg > 0.19,
        "the bolus was given"
    );
}

#[test]
fn site_checks_a_missed_one_is_low_and_fever_with_redness_is_possible_infection() {
    let out = run(&example("catheter-site.toml"));
    let s = &out.summary;
    let alarm = |kind: AlarmKind| s.alarms.iter().find(|a| a.kind == kind).unwrap();
    // Checks at 0 h and 8 h; the 16 h one missed until the late check at 18 h.
    let missed = alarm(AlarmKind::SiteCheckMissed);
    assert_eq!(missed.priority, Priority::Low);
    assert!(close(missed.at_h, 16.0, 1e-3), "{}", missed.at_h);
    assert_eq!(missed.cleared_at_h, Some(18.0));
    // 38.4 °C and redness at 26 h: MEDIUM until the clean check at 34 h.
    let infection = alarm(AlarmKind::PossibleInfection);
    assert_eq!(infection.priority, Priority::Medium);
    assert_eq!(infection.at_h, 26.0);
    assert_eq!(infection.cleared_at_h, Some(34.0));
    assert_eq!(s.alarms.len(), 2, "{:?}", s.alarms);
    // Delivery went on throughout: 0.5 mg/day for 2 days, to within a step.
    assert!(
        close(s.delivered.total_mg, 1.0, 2.0 * STEP_MG),
        "{}",
        s.delivered.total_mg
    );
    let c = &s.catheter;
    assert_eq!(
        c.kind.as_deref(),
        Some("Closed-tip intrathecal catheter, 20 G")
    );
    assert_eq!(c.tip.as_deref(), Some("T10"));
    assert_eq!(c.placed_h_before_start, Some(1.5));
    assert_eq!(c.site_check_every_h, Some(8.0));
    assert_eq!(c.site_checks.len(), 6);
    assert_eq!(c.missed_site_checks, 1);
    assert_eq!(c.possible_infection_alarms, 1);
    assert_eq!(c.site_checks[3].temp_c, 38.4);
    assert_eq!(
        c.site_checks[3].findings,
        [titra::core::site::SiteFinding::Redness]
    );
    // The diary: two function answers, and the impression of change at the end.
    let levels: Vec<u8> = s.diary.function.iter().map(|f| f.level).collect();
    assert_eq!(levels, [2, 4]);
    assert_eq!(s.diary.pgic, Some(2));
    assert_eq!(s.diary.pgic_label, Some("Much improved"));
}

#[test]
fn a_scenario_without_site_checks_has_none_scheduled_and_says_so() {
    let out = run(&example("continuous-morphine-pca.toml"));
    assert_eq!(out.summary.catheter.site_check_every_h, None);
    assert!(
        !out.summary
            .alarms
            .iter()
            .any(|a| a.kind == AlarmKind::SiteCheckMissed)
    );
}

#[test]
fn a_baclofen_bolus_is_judged_on_spasticity() {
    use titra::core::diary::{Ashworth, OutcomeMeasure};
    let out = run(&example("baclofen-bolus.toml"));
    let s = &out.summary;
    assert_eq!(s.outcome_measure, OutcomeMeasure::Spasticity);
    assert_eq!(s.delivered.scheduled_bolus_mg, 0.05);
    let sp = &s.spasticity;
    assert_eq!(sp.baseline, Some(Ashworth::Three));
    assert_eq!(sp.lowest, Some(Ashworth::OnePlus));
    assert_eq!(sp.last, Some(Ashworth::Three));
    assert_eq!(sp.reduction, Some(1.5));
    assert_eq!(sp.responder, Some(true));
    assert_eq!(sp.scores.len(), 5);
    // The bolus's effect: onset at 2 h (3 → 2), peak 1+ at 4 h, no longer a response at 8 h
    // (back to 3): 8 h or less, so the label's twice 50 mcg: 100 mcg/day.
    let b = &s.effective_dose.boluses[0];
    assert_eq!(
        (b.onset_h, b.peak_h, b.peak_score),
        (Some(2.0), Some(4.0), Some(1.5))
    );
    assert_eq!((b.last_response_h, b.duration_h), (Some(6.0), Some(8.0)));
    assert_eq!(s.effective_dose_mg_per_day, Some(0.05));
    assert_eq!(s.implant.proposed_mg_per_day, Some(0.1));
    assert_eq!(
        s.implant.method,
        Some(titra::core::implant::Method::EffectDuration)
    );
    assert_eq!(sp.scores[0].muscles, "knee extensors, both legs");
    // Pain was recorded but does not judge this trial.
    assert_eq!(s.pain.last, Some(4));
    assert_eq!(s.pain.responder, None);
    assert_eq!(s.diary.pgic, Some(3));
}

#[test]
fn new_scenario_events_refuse_bad_values_naming_the_field() {
    let base = r#"
[trial]
patient = "MRN-1"
route = "intrathecal"
kind = "continuous"
duration = "1d"
[program]
drug = "morphine"
concentration = "1 mg/mL"
reservoir = "20 mL"
basal = "0.5 mg/day"
"#;
    let refused = |event: &str| {
        let text = format!("{base}\n[[events]]\nat = \"1h\"\n{event}\n");
        Scenario::from_toml_str(&text, "test.toml")
            .unwrap_err()
            .to_string()
    };
    let e = refused("kind = \"site_check\"\ntemp_c = 37.0\nfindings = [\"pus\"]");
    assert!(e.contains("`pus`") && e.contains("headache_upright"), "{e}");
    let e = refused("kind = \"site_check\"\ntemp_c = 101.0");
    assert!(e.contains("101 °C is outside 25 to 45 °C"), "{e}");
    let e = refused("kind = \"spasticity\"\nvalue = \"5\"");
    assert!(e.contains("0, 1, 1+, 2, 3 or 4"), "{e}");
    let e = refused("kind = \"pgic\"\nvalue = 8");
    assert!(e.contains("events[0].value"), "{e}");
    let e = refused("kind = \"function\"\nanswer = 0");
    assert!(e.contains("events[0].answer"), "{e}");
    let e = Scenario::from_toml_str(
        &base.replace(
            "duration = \"1d\"",
            "duration = \"1d\"\ncatheter_placed_before = \"40d\"",
        ),
        "test.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("trial.catheter_placed_before"), "{e}");
}

/// Every example scenario through the simulator and the built-in protocol: the effective dose,
/// the implant proposal and the rule (or why there is none). The table is
/// docs/implant-examples.md; the test fails when it differs (`TITRA_BLESS=1 cargo test --test
/// pump simulate::` rewrites it). Each figure is also checked against the hand-worked value
/// below.
#[test]
fn every_example_gives_the_implant_dose_its_rule_says() {
    use std::fmt::Write as _;
    // (scenario, effective dose in the drug's unit per day or "none", proposal or "none"),
    // worked by hand from each file's comments and config/protocol.toml.
    let expected: [(&str, &str, &str); 10] = [
        // 0.2 mg bolus, pain 7 → 3 (57 %): 0.2 mg/day; the site's 50 %.
        ("single-shot-morphine.toml", "0.2 mg/day", "0.1 mg/day"),
        // Stable 1 mg/day for the last 48 h, no patient boluses in it; 50 %.
        ("continuous-morphine-pca.toml", "1 mg/day", "0.5 mg/day"),
        // 10 mg/day epidural ÷ 10 = 1 mg/day intrathecal; 50 %.
        ("epidural-morphine.toml", "10 mg/day", "0.5 mg/day"),
        // 37.5 % at best: not a response.
        ("morphine-non-responder.toml", "none", "none"),
        // 50 mcg, effect gone by 8 h: twice.
        ("baclofen-bolus.toml", "50 mcg/day", "100 mcg/day"),
        // 50 mcg no response; 75 mcg lasting more than 8 h: the same.
        ("baclofen-screening.toml", "75 mcg/day", "75 mcg/day"),
        // Ziconotide: the protocol's fixed start.
        ("ziconotide-bolus.toml", "5 mcg/day", "1.2 mcg/day"),
        // Sedation-hold, catheter-site and patient-controller: shorter or with changes at the
        // end; checked as the table says.
        ("catheter-site.toml", "", ""),
        ("sedation-hold.toml", "", ""),
        ("patient-controller.toml", "", ""),
    ];
    let (library, _) = check::load_library(None).unwrap();
    let mut table = String::new();
    let _ = writeln!(
        table,
        "# The implant worksheet on the example scenarios\n\n\
Generated by `tests/pump/simulate.rs` (`TITRA_BLESS=1 cargo test --test pump simulate::`\n\
rewrites it; the test fails when the worksheet no longer gives this). Each example in\n\
examples/scenarios/ runs on the simulated pump in virtual time, and its summary applies the\n\
built-in site protocol (config/protocol.toml) and drug library (config/drug-library.toml).\n\n\
| Example | Drug, route, trial | Effective trial dose (basis) | Implant proposal | Rule, or why there is none |\n\
|---|---|---|---|---|"
    );
    for (file, effective, proposal) in expected {
        let out = run(&example(file));
        let s = &out.summary;
        let unit = titra::report::summary::unit_of(&library, &s.trial.drug);
        let per_day = |mg: Option<f64>| {
            mg.map_or("none".to_owned(), |v| {
                titra::core::units::AmountRate::from_ng_per_day((v * 1e6).round() as u64)
                    .per_day_in(unit)
                    .to_string()
            })
        };
        let got = (
            per_day(s.effective_dose_mg_per_day),
            per_day(s.implant.proposed_mg_per_day),
        );
        if !effective.is_empty() {
            assert_eq!(
                (got.0.as_str(), got.1.as_str()),
                (effective, proposal),
                "{file}: {:?}",
                s.implant
            );
        }
        let w = &s.implant;
        let rule = match (&w.no_proposal_reason, &w.rule, &w.rule_source) {
            (Some(why), _, _) => format!("no proposal: {why}"),
            (None, Some(rule), Some(source)) => format!(
                "{rule}{} ({source})",
                w.conversion
                    .as_ref()
                    .map_or(String::new(), |c| format!(", after {}", c.text))
            ),
            _ => String::new(),
        };
        let _ = writeln!(
            table,
            "| {file} | {} {}, {} | {} ({}) | {} | {} |",
            s.trial.route,
            s.trial.drug,
            s.trial.kind.replace('_', " "),
            got.0,
            s.effective_dose.basis.replace('_', " "),
            got.1,
            rule.replace('|', "/")
        );
    }
    let path = repository_path("docs/implant-examples.md");
    if std::env::var_os("TITRA_BLESS").is_some() {
        std::fs::write(&path, &table).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        committed, table,
        "docs/implant-examples.md is out of date: TITRA_BLESS=1 cargo test --test pump simulate::, then review the diff"
    );
}

/// A bolus trial's proposal does not depend on how long the patient was observed: the same
/// single shot run for 8 h, 24 h and 3 days (no scores after 24 h) gives the same worksheet.
#[test]
fn a_bolus_trials_proposal_is_the_same_however_long_it_was_watched() {
    let mut sc = example("single-shot-morphine.toml");
    let mut seen = Vec::new();
    for hours in [8u64, 24, 72] {
        sc.trial.duration = titra::core::units::Duration::from_hours(hours);
        sc.program.observe = Some(titra::core::units::Duration::from_hours(hours.min(24)));
        sc.events.retain(|e| e.at() <= sc.trial.duration);
        let s = run(&sc).summary;
        seen.push((
            s.effective_dose_mg_per_day,
            s.implant.proposed_mg_per_day,
            s.effective_dose.boluses[0].onset_h,
            s.effective_dose.boluses[0].peak_h,
        ));
    }
    assert_eq!(seen[0], (Some(0.2), Some(0.1), Some(4.0), Some(4.0)));
    assert!(seen.iter().all(|x| *x == seen[0]), "{seen:?}");
}

#[test]
fn a_titration_scenario_changes_every_setting_with_both_names_and_the_windows_intact() {
    use titra::core::dose::{CapOrigin, Denial};
    use titra::core::units::{Duration, Timestamp};
    let out = run(&example("titration.toml"));
    let s = &out.summary;
    let at =
        |h: u64, min: u64| Timestamp::ORIGIN + Duration::from_hours(h) + Duration::from_mins(min);

    // Each change, with both names, old beside new, in time order.
    let changes: Vec<(f64, &str, &str, &str)> = s
        .program_changes
        .iter()
        .flat_map(|c| {
            assert_eq!(c.by, simulate::SCENARIO_CLINICIAN);
            assert_eq!(c.verified_by, simulate::SCENARIO_NURSE);
            c.changes
                .iter()
                .map(|x| (c.at_h, x.setting.as_str(), x.old.as_str(), x.new.as_str()))
        })
        .collect();
    assert_eq!(
        changes,
        [
            (24.0, "basal", "0.5 mg/day", "1 mg/day"),
            (
                48.0,
                "pca",
                "0.05 mg, lockout 1h, at most 1 an hour",
                "0.1 mg, lockout 30min, at most 2 an hour"
            ),
            (60.0, "limit", "0.3 mg in 4h", "0.5 mg in 4h"),
            (72.0, "boluses", "none", "0.1 mg at 3d 12h"),
            (80.0, "kvo", "0 mL/h", "0.01 mL/h"),
            (92.0, "kvo", "0.01 mL/h", "0 mL/h"),
        ]
    );

    // The presses. 47h50: granted (0.05 mg). 48h10: refused, the lockout of 30 min runs on
    // from the bolus at 47h50 (the change at 48 h did not reset it). 48h20: refused by the
    // program's 0.3 mg in 4 h: the window still holds 4 h of 1 mg/day from 44h20 (0.1667 mg)
    // and the bolus (0.05 mg): 0.2167 + 0.1 = 0.3167 mg. 60h10: granted (0.1 mg) under the new
    // 0.5 mg.
    let requests: Vec<(Timestamp, Option<Denial>)> = out
        .journal
        .iter()
        .filter_map(|r| match r {
            Record::PcaRequest { at, denial, .. } => Some((*at, *denial)),
            _ => None,
        })
        .collect();
    assert_eq!(requests.len(), 4, "{requests:?}");
    assert_eq!(requests[0], (at(47, 50), None));
    assert!(matches!(
        requests[1],
        (t, Some(Denial::Lockout { .. })) if t == at(48, 10)
    ));
    let (t, Some(Denial::Cap { cap, in_window })) = requests[2] else {
        panic!("{:?}", requests[2]);
    };
    assert_eq!(t, at(48, 20));
    assert_eq!(cap.origin, CapOrigin::Program);
    assert_eq!(cap.max.to_string(), "0.3 mg");
    assert!(
        close(in_window.as_mg_f64(), 1.0 / 6.0 + 0.05, 2.0 * STEP_MG),
        "{in_window}"
    );
    assert_eq!(requests[3], (at(60, 10), None));
    assert_eq!((s.pca.requested, s.pca.granted, s.pca.denied), (4, 2, 2));
    assert!(close(s.delivered.pca_mg, 0.15, 1e-9));

    // The day's doses. Day 1: 0.5 mg/day. Day 2: 1 mg/day and the 0.05 mg bolus. Day 3:
    // 1 mg/day and the 0.1 mg bolus at 60h10. Day 4: 1 mg/day, the scheduled 0.1 mg at 84 h and
    // 12 h of KVO at 0.01 mL/h (0.12 mL, 0.12 mg). Day 5: 1 mg/day.
    let want = [0.5, 1.05, 1.1, 1.22, 1.0];
    assert_eq!(s.delivered.per_day_mg.len(), 5);
    for (day, (got, want)) in s.delivered.per_day_mg.iter().zip(want).enumerate() {
        assert!(
            close(*got, want, 2.0 * STEP_MG),
            "day {}: {got} against {want}",
            day + 1
        );
    }
    assert!(close(s.delivered.scheduled_bolus_mg, 0.1, 1e-9));

    // The change at 100 h (0.1 mg in 4 h, below what the basal alone gives and below the
    // 0.2067 mg the window holds with the KVO) was refused and changed nothing.
    let refused = out
        .journal
        .iter()
        .find_map(|r| match r {
            Record::Refused {
                at, what, reason, ..
            } if what == "program change" => Some((*at, reason.clone())),
            _ => None,
        })
        .expect("the change at 100 h is refused");
    assert_eq!(refused.0, at(100, 0));
    assert!(
        refused
            .1
            .contains("more than the program's new limit of 0.1 mg in 4h"),
        "{}",
        refused.1
    );
    assert_eq!(s.program_changes.len(), 6);

    // The program as it was started, whatever came after.
    assert_eq!(s.program.basal_mg_per_day, 0.5);
    let pca = s.program.pca.as_ref().unwrap();
    assert_eq!(
        (pca.dose_mg, pca.lockout_min, pca.max_per_hour),
        (0.05, 60.0, 1)
    );
    assert!(s.program.scheduled_boluses.is_empty());

    // The KVO ended the stable period: 28 h at 1 mg/day to the end; half of it proposed.
    assert_eq!(s.effective_dose_mg_per_day, Some(1.0));
    assert_eq!(s.implant.proposed_mg_per_day, Some(0.5));
    assert!(s.alarms.is_empty(), "{:?}", s.alarms);
    assert_eq!(s.observations.missed_checks, 0);

    // The JSON is valid against the documented schema, and the text summary says each change.
    let json = serde_json::to_value(s).unwrap();
    crate::common::assert_valid_summary(&json);
    let cli = titra(&["simulate", &scenario_arg("titration.toml")]);
    let text = String::from_utf8_lossy(&cli.stdout);
    assert!(
        text.contains("Program changed at 48 h by clinician (scenario), checked by nurse (scenario): pca 0.05 mg, lockout 1h, at most 1 an hour → 0.1 mg, lockout 30min, at most 2 an hour"),
        "{text}"
    );
}
