//! Changing the program during a trial (issue 24, part 1), each setting worked by hand: the
//! patient bolus, the basal, the scheduled boluses still to come, the window limit and the KVO.
//! A change is checked like a new program and against what each window already holds, is
//! recorded with both names, and takes effect at once without resetting the lockout or any
//! window. The ward records each sedation and breathing check as it falls due (the library's
//! default after intrathecal morphine), so the checks do not hold the patient's presses here.

use titra::core::change::ProgramChange;
use titra::core::dose::{Denial, PcaDecision, Source};
use titra::core::units::{Amount, Duration, Timestamp};
use titra::engine::{ChangedBy, Engine, EngineError};
use titra::input::check;
use titra::journal::{Record, Role};
use titra::sim::SimPump;

use crate::common::{MORPHINE, h};
use crate::engine::{engine, hw, program, run_to, trial};

const BY: ChangedBy<'static> = ChangedBy {
    role: Role::Clinician,
    name: "Dr Demo",
    verified_by: "Nurse Two",
};

fn mg(text: &str) -> Amount {
    text.parse().unwrap()
}

fn change(text: &str) -> ProgramChange {
    ProgramChange::from_toml_str(text).unwrap()
}

/// Runs to `until`, the ward recording each check as it falls due (POSS 1, 16/min).
fn run_checked(e: &mut Engine<SimPump>, until: Timestamp) {
    loop {
        match e.check_due().filter(|&d| d <= until) {
            Some(due) => {
                run_to(e, due.max(e.hardware().now()));
                let now = e.hardware().now();
                e.record_sedation(now, 1);
                e.record_vitals(now, Some(16), None, None, None);
            }
            None => return run_to(e, until),
        }
    }
}

fn granted(d: PcaDecision) -> Amount {
    match d {
        PcaDecision::Granted { dose } => dose,
        PcaDecision::Denied { denial, .. } => panic!("denied: {}", denial.explain()),
    }
}

fn denial(d: PcaDecision) -> Denial {
    match d {
        PcaDecision::Denied { denial, .. } => denial,
        PcaDecision::Granted { dose } => panic!("granted {dose}"),
    }
}

#[test]
fn the_patient_bolus_changes_and_the_lockout_runs_on_from_the_last_bolus() {
    // 0.05 mg, lockout 1 h, 1 an hour. A bolus at 1 h. At 1 h 5 min the clinician makes it
    // 0.1 mg, lockout 20 min (below the library's usual 30 min: confirmed), 2 an hour. The
    // lockout counts from the bolus at 1 h, not from the change: a press at 1 h 15 min is
    // refused, one at 1 h 20 min granted, 0.1 mg. The hour then holds 2 grants (1 h, 1 h 20 min):
    // a press at 1 h 45 min is refused by the count, one at 2 h granted (the 1 h grant has left
    // the hour).
    let mut e = engine(MORPHINE);
    run_checked(&mut e, h(1.0));
    assert_eq!(granted(e.request_pca(h(1.0))), mg("0.05 mg"));
    let at = |m: u64| h(1.0) + Duration::from_mins(m);
    run_checked(&mut e, at(5));
    let pca = change("pca = { dose = \"0.1 mg\", lockout = \"20min\", max_per_hour = 2 }");
    let err = e.change_program(at(5), &pca, false, BY).unwrap_err();
    assert!(
        err.to_string().contains("program.pca.lockout"),
        "needs confirming: {err}"
    );
    let changes = e.change_program(at(5), &pca, true, BY).unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].setting, "pca");
    assert_eq!(changes[0].old, "0.05 mg, lockout 1h, at most 1 an hour");
    assert_eq!(changes[0].new, "0.1 mg, lockout 20min, at most 2 an hour");
    run_checked(&mut e, at(15));
    assert!(matches!(
        denial(e.request_pca(at(15))),
        Denial::Lockout { .. }
    ));
    run_checked(&mut e, at(20));
    assert_eq!(granted(e.request_pca(at(20))), mg("0.1 mg"));
    run_checked(&mut e, at(45));
    assert!(matches!(
        denial(e.request_pca(at(45))),
        Denial::HourlyCount { max_per_hour: 2 }
    ));
    run_checked(&mut e, h(2.0));
    assert_eq!(granted(e.request_pca(h(2.0))), mg("0.1 mg"));
    // Recorded with both names, old beside new, and an increase: the checks close up again.
    let (at, increases, name, verified_by) = e
        .journal()
        .iter()
        .find_map(|r| match r {
            Record::ProgramChanged {
                at,
                increases,
                name,
                verified_by,
                ..
            } => Some((*at, *increases, name.clone(), verified_by.clone())),
            _ => None,
        })
        .expect("the change is logged");
    assert_eq!(at, h(1.0) + Duration::from_mins(5));
    assert!(increases);
    assert_eq!(
        (name.as_str(), verified_by.as_str()),
        ("Dr Demo", "Nurse Two")
    );
}

#[test]
fn the_basal_changes_from_the_moment_of_the_change() {
    // 1 mg/day for 12 h (0.5 mg), then 2 mg/day for 12 h (1 mg): 1.5 mg on day 1, to a motor
    // step (0.2 mg = 2880 steps: 69.4 ng a step).
    let mut e = engine(MORPHINE);
    run_checked(&mut e, h(12.0));
    e.change_program(h(12.0), &change("basal = \"2 mg/day\""), false, BY)
        .unwrap();
    assert_eq!(e.program().basal, "2 mg/day".parse().unwrap());
    run_checked(&mut e, h(24.0));
    let basal = e.delivered_from(Source::Basal);
    let want = mg("1.5 mg");
    assert!(
        basal.ng().abs_diff(want.ng()) <= 2 * 69_445,
        "{basal} against {want}"
    );
    // Also a rate change (the summary's titration reads it), by the clinician.
    assert!(e.journal().iter().any(|r| matches!(
        r,
        Record::RateChanged { at, by: Role::Clinician, .. } if *at == h(12.0)
    )));
    // Above the library's hard maximum (20 mg/day): refused, naming the field and the limit,
    // and nothing changes.
    let err = e
        .change_program(h(24.0), &change("basal = \"25 mg/day\""), true, BY)
        .unwrap_err();
    let EngineError::Refused(why) = err else {
        panic!("{err:?}")
    };
    assert!(why.contains("program.basal"), "{why}");
    assert!(why.contains("hard maximum of 20 mg/day"), "{why}");
    assert_eq!(e.program().basal, "2 mg/day".parse().unwrap());
}

#[test]
fn the_scheduled_boluses_to_come_are_replaced_and_those_given_stay() {
    // 0.1 mg at 2 h and at 26 h. At 3 h (the first given) the clinician plans 0.2 mg at 6 h
    // instead of the one at 26 h: by 30 h the scheduled boluses gave 0.1 + 0.2 = 0.3 mg.
    let text = format!(
        "{MORPHINE}boluses = [{{ at = \"2h\", dose = \"0.1 mg\" }}, {{ at = \"26h\", dose = \"0.1 mg\" }}]\n"
    );
    let mut e = engine(&text);
    run_checked(&mut e, h(3.0));
    assert_eq!(e.delivered_from(Source::ScheduledBolus), mg("0.1 mg"));
    // A bolus in the past is refused, naming it.
    let err = e
        .change_program(
            h(3.0),
            &change("boluses = [{ at = \"1h\", dose = \"0.2 mg\" }]"),
            true,
            BY,
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("boluses[0].at: This bolus would be due 1h after the start, but the trial is already 3h in"),
        "{err}"
    );
    let changes = e
        .change_program(
            h(3.0),
            &change("boluses = [{ at = \"6h\", dose = \"0.2 mg\" }]"),
            false,
            BY,
        )
        .unwrap();
    assert_eq!(changes[0].old, "0.1 mg at 2h, 0.1 mg at 1d 2h");
    assert_eq!(changes[0].new, "0.1 mg at 2h, 0.2 mg at 6h");
    run_checked(&mut e, h(30.0));
    assert_eq!(e.delivered_from(Source::ScheduledBolus), mg("0.3 mg"));
}

#[test]
fn a_new_window_limit_counts_what_was_given_and_one_below_it_is_refused() {
    // 1 mg/day (0.041667 mg/h) under 0.25 mg in 4 h; a patient bolus of 0.05 mg at 1 h. At 3 h
    // the window holds 3 h of basal (0.125 mg) and the bolus: 0.175 mg.
    let text = format!("{MORPHINE}limit = {{ window = \"4h\", max = \"0.25 mg\" }}\n");
    let mut e = engine(&text);
    run_checked(&mut e, h(1.0));
    granted(e.request_pca(h(1.0)));
    run_checked(&mut e, h(3.0));
    let held = e.ledger().in_window(
        h(3.0),
        Duration::from_hours(4),
        titra::core::dose::Counts::AllButClinician,
    );
    assert!(held.ng().abs_diff(mg("0.175 mg").ng()) <= 69_445, "{held}");
    // 0.15 mg in 4 h is less than the window already holds: refused, naming both.
    let (_, v) = e.program_change_verdict(
        h(3.0),
        &change("limit = { window = \"4h\", max = \"0.15 mg\" }"),
    );
    let f = v
        .problems()
        .find(|f| f.field == "program.limit.max" && f.message.contains("was given in the last 4h"))
        .unwrap_or_else(|| panic!("{v:?}"));
    assert!(
        f.message
            .contains("more than the program's new limit of 0.15 mg in 4h"),
        "{}",
        f.message
    );
    assert!(
        e.change_program(
            h(3.0),
            &change("limit = { window = \"4h\", max = \"0.15 mg\" }"),
            true,
            BY
        )
        .is_err()
    );
    // 0.22 mg is above what it holds (and leaves room for a bolus over the basal's 0.1667 mg in
    // 4 h): accepted, and the window is not emptied: a bolus now (0.175 + 0.05 = 0.225 mg) is
    // refused by the limit.
    e.change_program(
        h(3.0),
        &change("limit = { window = \"4h\", max = \"0.22 mg\" }"),
        false,
        BY,
    )
    .unwrap();
    assert!(matches!(denial(e.request_pca(h(3.0))), Denial::Cap { .. }));
    // Raised to 0.5 mg in 4 h: the same press is granted.
    e.change_program(
        h(3.0),
        &change("limit = { window = \"4h\", max = \"0.5 mg\" }"),
        false,
        BY,
    )
    .unwrap();
    assert_eq!(granted(e.request_pca(h(3.0))), mg("0.05 mg"));
}

#[test]
fn a_kvo_runs_on_top_of_the_basal_from_the_change() {
    // KVO 0.01 mL/h at 1 mg/mL adds 0.24 mg/day. From 12 h: day 1 gives 1 mg of basal and
    // 12 h of KVO, 0.12 mg: 1.12 mg in all. A KVO needs confirming (0 is usual intrathecally).
    let mut e = engine(MORPHINE);
    run_checked(&mut e, h(12.0));
    let err = e
        .change_program(h(12.0), &change("kvo = \"0.01 mL/h\""), false, BY)
        .unwrap_err();
    assert!(err.to_string().contains("program.kvo"), "{err}");
    e.change_program(h(12.0), &change("kvo = \"0.01 mL/h\""), true, BY)
        .unwrap();
    run_checked(&mut e, h(24.0));
    let total = e.delivered_total();
    let want = mg("1.12 mg");
    assert!(
        total.ng().abs_diff(want.ng()) <= 2 * 69_445,
        "{total} against {want}"
    );
}

#[test]
fn what_cannot_change_is_refused_by_name_and_a_change_survives_a_restart() {
    let e = ProgramChange::from_toml_str("drug = \"hydromorphone\"").unwrap_err();
    assert!(
        e.to_string().starts_with(
            "drug: cannot be changed during a trial (only basal, pca, boluses, limit, kvo can)"
        ),
        "{e}"
    );
    assert!(ProgramChange::from_toml_str("").is_err());
    // A change, then a power cut: the program and its limits come back from the log.
    let mut e = engine(MORPHINE);
    run_checked(&mut e, h(1.0));
    granted(e.request_pca(h(1.0)));
    e.change_program(
        h(1.2),
        &change("pca = { dose = \"0.1 mg\", lockout = \"30min\", max_per_hour = 2 }\nbasal = \"2 mg/day\""),
        true,
        BY,
    )
    .unwrap();
    run_checked(&mut e, h(1.3));
    let (sim, records) = e.crash();
    let (library, _) = check::load_library(None).unwrap();
    let mut back = Engine::recover(
        sim,
        &hw(),
        &library,
        trial(),
        program(MORPHINE),
        records,
        h(1.4),
        None,
    )
    .unwrap();
    assert_eq!(back.program().basal, "2 mg/day".parse().unwrap());
    assert_eq!(back.program().pca.unwrap().dose, mg("0.1 mg"));
    assert_eq!(back.ledger().limits().pca.unwrap().max_per_hour, 2);
    back.acknowledge(h(1.4));
    back.resume(h(1.4)).unwrap();
    // The new lockout (30 min from the bolus at 1 h) is over: granted, the new dose.
    assert_eq!(granted(back.request_pca(h(1.5))), mg("0.1 mg"));
}

#[test]
fn a_kvo_counts_in_the_titration_rule_and_restarts_its_interval() {
    // Ziconotide 25 mcg/mL at 1.2 mcg/day: steps of at most 2.4 mcg/day, 24 h apart (the
    // label). At 25 h a KVO of 0.01 mL/h would add 6 mcg/day: refused as a step. 0.004 mL/h
    // adds 2.4 mcg/day: a step the rule allows. A basal step an hour later is then refused:
    // the KVO's step was the last change.
    let mut e = engine(
        "drug = \"ziconotide\"\nconcentration = \"25 mcg/mL\"\nreservoir = \"20 mL\"\nbasal = \"1.2 mcg/day\"\n",
    );
    run_to(&mut e, h(25.0));
    let err = e
        .change_program(h(25.0), &change("kvo = \"0.01 mL/h\""), true, BY)
        .unwrap_err();
    assert!(err.to_string().contains("program.kvo"), "{err}");
    assert!(err.to_string().contains("2.4 mcg/day"), "{err}");
    e.change_program(h(25.0), &change("kvo = \"0.004 mL/h\""), true, BY)
        .unwrap();
    run_to(&mut e, h(26.0));
    let err = e
        .change_program(h(26.0), &change("basal = \"2.4 mcg/day\""), true, BY)
        .unwrap_err();
    assert!(
        err.to_string().contains("only 1d after the last change"),
        "{err}"
    );
}

#[test]
fn nothing_changes_before_delivery_starts() {
    let cfg = hw();
    let (library, _) = check::load_library(None).unwrap();
    let p = program(MORPHINE);
    let sim = SimPump::new(&cfg.mechanism, &cfg.simulation, p.reservoir);
    let mut e = Engine::new(
        sim,
        &cfg,
        trial(),
        p,
        &library,
        Timestamp::ORIGIN,
        Some(Role::Nurse),
    )
    .unwrap();
    e.verify(Timestamp::ORIGIN).unwrap();
    let err = e
        .change_program(
            Timestamp::ORIGIN,
            &change("basal = \"0.5 mg/day\""),
            true,
            BY,
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("Delivery has not started"),
        "{err}"
    );
}

#[test]
fn a_basal_named_at_its_own_rate_keeps_the_plan_and_a_new_one_shows_the_steps_cancelled() {
    let text = format!("{MORPHINE}titration = [{{ at = \"2d\", basal = \"1.5 mg/day\" }}]\n");
    let mut e = engine(&text);
    run_checked(&mut e, h(2.0));
    let changes = e
        .change_program(
            h(2.0),
            &change("basal = \"1 mg/day\"\npca = { dose = \"0.05 mg\", lockout = \"1h\", max_per_hour = 2 }"),
            true,
            BY,
        )
        .unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(e.program().titration.len(), 1, "the plan stays");
    let changes = e
        .change_program(h(2.0), &change("basal = \"0.8 mg/day\""), true, BY)
        .unwrap();
    let settings: Vec<(&str, &str, &str)> = changes
        .iter()
        .map(|c| (c.setting.as_str(), c.old.as_str(), c.new.as_str()))
        .collect();
    assert_eq!(
        settings,
        [
            ("titration", "1.5 mg/day at 2d", "none"),
            ("basal", "1 mg/day", "0.8 mg/day")
        ]
    );
}

#[test]
fn a_limit_below_a_window_with_a_bolus_under_way_is_refused() {
    // Patient boluses of 0.3 mg, 30 min apart, under 1 mg in 4 h; boluses at 1 h and 1 h 30 min.
    // Two minutes into the second, the window holds less than 0.5 mg as recorded, but the rest
    // of the bolus under way will take it past 0.5 mg: a limit of 0.5 mg is refused.
    let text = "drug = \"morphine\"\nconcentration = \"1 mg/mL\"\nreservoir = \"20 mL\"\nbasal = \"1 mg/day\"\npca = { dose = \"0.3 mg\", lockout = \"30min\", max_per_hour = 2 }\nlimit = { window = \"4h\", max = \"1 mg\" }\n";
    let mut e = engine(text);
    run_checked(&mut e, h(1.0));
    granted(e.request_pca(h(1.0)));
    run_checked(&mut e, h(1.5));
    granted(e.request_pca(h(1.5)));
    let now = h(1.5) + Duration::from_mins(2);
    run_checked(&mut e, now);
    let cap = e.ledger().limits().caps[0];
    let recorded = e.ledger().in_window(now, cap.window, cap.counts);
    let pending = e.ledger().pending_for(&cap);
    assert!(
        recorded < mg("0.5 mg") && recorded + pending > mg("0.5 mg"),
        "{recorded} + {pending}"
    );
    let err = e
        .change_program(
            now,
            &change("limit = { window = \"4h\", max = \"0.5 mg\" }"),
            true,
            BY,
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("a bolus under way counted whole"),
        "{err}"
    );
}

#[test]
fn a_scheduled_bolus_to_come_keeps_the_least_time_after_the_last_bolus_given() {
    // Morphine: at least 10 min between boluses (the library's hard minimum), 30 min usually.
    // A patient bolus at 1 h; a scheduled bolus planned at 1 h 5 min is refused, one at
    // 1 h 20 min needs confirming, one at 2 h is fine.
    let mut e = engine(MORPHINE);
    run_checked(&mut e, h(1.0));
    granted(e.request_pca(h(1.0)));
    let verdict = |e: &Engine<SimPump>, at: &str| {
        e.program_change_verdict(
            h(1.0),
            &change(&format!(
                "boluses = [{{ at = \"{at}\", dose = \"0.1 mg\" }}]"
            )),
        )
        .1
        .problems()
        .filter(|f| f.field == "program.boluses[0].at")
        .map(|f| f.class)
        .collect::<Vec<_>>()
    };
    use titra::core::finding::Class;
    assert_eq!(verdict(&e, "1h 5min"), [Class::Hard]);
    assert_eq!(verdict(&e, "1h 20min"), [Class::Soft]);
    assert!(verdict(&e, "2h").is_empty());
}
