//! The engine on simulated hardware: every alarm, what it stops, what it records, and what a
//! nurse must do to resume.

use titra::core::dose::{Denial, PcaDecision};
use titra::core::library::Route;
use titra::core::program::{Program, Trial, TrialKind};
use titra::core::supervisor::{AlarmKind, Priority, State};
use titra::core::units::{Duration, Timestamp};
use titra::engine::{Engine, EngineError};
use titra::hw::PumpHardware;
use titra::input::check;
use titra::input::hardware::HardwareConfig;
use titra::journal::{Record, Role};
use titra::sim::{Faults, SimPump};

use crate::common::{MORPHINE, h};

pub(crate) fn hw() -> HardwareConfig {
    HardwareConfig::built_in().unwrap()
}

pub(crate) fn program(text: &str) -> Program {
    toml::from_str(text).unwrap()
}

pub(crate) fn trial() -> Trial {
    Trial {
        patient: "MRN-T".to_owned(),
        route: Route::Intrathecal,
        kind: TrialKind::Continuous,
        duration: Duration::from_days(14),
        catheter_tip: None,
        catheter: None,
        catheter_placed_before: None,
        baseline_pain: None,
        outpatient: false,
        opioid_status: None,
        ome_before: None,
    }
}

/// An engine on simulated hardware programmed with `t` and `p` at the start of virtual time, as a
/// nurse confirmed it; or why it refused.
fn programmed(cfg: &HardwareConfig, t: Trial, p: Program) -> Result<Engine<SimPump>, EngineError> {
    let (library, _) = check::load_library(None).unwrap();
    let sim = SimPump::new(&cfg.mechanism, &cfg.simulation, p.reservoir);
    Engine::new(
        sim,
        cfg,
        t,
        p,
        &library,
        Timestamp::ORIGIN,
        Some(Role::Nurse),
    )
}

fn engine_with(cfg: &HardwareConfig, p: Program) -> Engine<SimPump> {
    let t0 = Timestamp::ORIGIN;
    let mut e = programmed(cfg, trial(), p).unwrap();
    e.verify(t0).unwrap();
    e.prime(t0, titra::core::units::Volume::ZERO).unwrap();
    e.start(t0).unwrap();
    e
}

pub(crate) fn engine(p: &str) -> Engine<SimPump> {
    engine_with(&hw(), program(p))
}

/// Runs the engine as the daemon would, up to `until`.
pub(crate) fn run_to(e: &mut Engine<SimPump>, until: Timestamp) {
    let mut now = e.hardware().now();
    for _ in 0..10_000_000 {
        let next = e.next_wake().unwrap_or(until).min(until).max(now);
        now = next;
        e.hardware_mut().advance_to(now);
        e.tick(now).unwrap();
        if now >= until {
            return;
        }
    }
    panic!("the engine did not reach {until}");
}

fn fault(e: &mut Engine<SimPump>, change: impl Fn(&mut Faults)) {
    let mut f = e.hardware().faults();
    change(&mut f);
    e.hardware_mut().set_faults(f);
}

fn raised(e: &Engine<SimPump>, kind: AlarmKind) -> Option<Timestamp> {
    e.alarms()
        .iter()
        .find(|a| a.kind == kind)
        .map(|a| a.raised_at)
}

fn position(e: &mut Engine<SimPump>) -> i64 {
    e.hardware_mut().plunger_position().unwrap().unwrap()
}

#[test]
fn a_high_alarm_stops_delivery_at_once_and_an_interrupted_bolus_records_what_it_gave() {
    let mut e = engine(MORPHINE);
    run_to(&mut e, h(1.0));
    assert!(matches!(e.request_pca(h(1.0)), PcaDecision::Granted { .. }));
    // 0.05 mg at 1 mL/h takes 3 minutes; the sensor fails after one.
    run_to(&mut e, h(1.0) + Duration::from_mins(1));
    fault(&mut e, |f| f.sensor_out_of_range = true);
    run_to(&mut e, h(1.1));
    let at = raised(&e, AlarmKind::SensorFault).expect("sensor fault raised");
    assert!(at.since(h(1.0) + Duration::from_mins(1)) <= Duration::from_secs(10));
    assert_eq!(e.state(), State::Alarm);
    let ended = e
        .journal()
        .iter()
        .find_map(|r| match r {
            Record::BolusEnded {
                complete: false,
                delivered,
                requested,
                ..
            } => Some((*delivered, *requested)),
            _ => None,
        })
        .expect("the interrupted bolus is recorded");
    assert!(ended.0 < ended.1, "{ended:?}");
    assert!(
        ended.0.ng() > ended.1.ng() / 4 && ended.0.ng() < ended.1.ng() / 2,
        "about a third: {ended:?}"
    );
    // Nothing moves while the alarm stands.
    let stopped_at = position(&mut e);
    run_to(&mut e, h(3.0));
    assert_eq!(position(&mut e), stopped_at);
    assert_eq!(e.hardware().annunciated, Some(Priority::High));
    // The nurse cannot resume while the sensor still fails.
    assert!(e.resume(h(3.0)).is_err());
    assert!(
        e.journal()
            .iter()
            .any(|r| matches!(r, Record::Refused { what, .. } if what == "resume"))
    );
    fault(&mut e, |f| f.sensor_out_of_range = false);
    e.resume(h(3.0)).unwrap();
    run_to(&mut e, h(4.0));
    assert!(position(&mut e) > stopped_at);
    // No catch-up: one hour of 1 mg/day is 600 steps.
    assert!(
        (position(&mut e) - stopped_at - 600).abs() <= 1,
        "{}",
        position(&mut e) - stopped_at
    );
}

#[test]
fn the_patient_is_refused_while_the_pump_is_paused() {
    let mut e = engine(MORPHINE);
    run_to(&mut e, h(1.0));
    e.pause(h(1.0)).unwrap();
    assert_eq!(
        e.request_pca(h(1.5)),
        PcaDecision::Denied {
            denial: Denial::NotDelivering,
            available_at: None
        }
    );
}

#[test]
fn a_long_pause_reminds_then_escalates() {
    let mut e = engine(MORPHINE);
    run_to(&mut e, h(1.0));
    e.pause(h(1.0)).unwrap();
    run_to(&mut e, h(1.0) + Duration::from_mins(16));
    let alarm = e
        .alarms()
        .iter()
        .find(|a| a.kind == AlarmKind::PausedTooLong)
        .unwrap()
        .clone();
    assert_eq!(alarm.priority, Priority::Low);
    assert_eq!(alarm.raised_at, h(1.0) + Duration::from_mins(15));
    run_to(&mut e, h(1.0) + Duration::from_mins(31));
    let alarm = e
        .alarms()
        .iter()
        .find(|a| a.kind == AlarmKind::PausedTooLong)
        .unwrap()
        .clone();
    assert_eq!(alarm.priority, Priority::Medium);
    assert_eq!(e.hardware().annunciated, Some(Priority::Medium));
    e.resume(h(1.6)).unwrap();
    // Resuming ends the reminder; what stands is the sedation and breathing check this test
    // never records (the library's default after intrathecal morphine, due from 1 h).
    let standing: Vec<AlarmKind> = e.active_alarms().map(|a| a.kind).collect();
    assert_eq!(standing, [AlarmKind::ObservationMissed]);
}

#[test]
fn reservoir_low_then_empty() {
    // 1.6 mL at 0.5 mg/mL and 12 mg/day (1 mL/h): low at once (under 4 h left), empty after
    // about 1.1 h (0.5 mL left).
    let mut e = engine(
        r#"
drug = "morphine"
concentration = "0.5 mg/mL"
reservoir = "1.6 mL"
basal = "12 mg/day"
"#,
    );
    run_to(&mut e, h(0.01));
    let low = e
        .alarms()
        .iter()
        .find(|a| a.kind == AlarmKind::ReservoirLow)
        .unwrap()
        .clone();
    assert_eq!(low.priority, Priority::Medium);
    run_to(&mut e, h(2.0));
    let empty = raised(&e, AlarmKind::ReservoirEmpty).expect("empty");
    assert!(empty >= h(1.09) && empty <= h(1.11), "{empty}");
    assert_eq!(e.state(), State::Alarm);
    assert!(
        e.resume(h(2.0)).is_err(),
        "an empty reservoir must be changed first"
    );
    e.change_reservoir(h(2.0), "10 mL".parse().unwrap())
        .unwrap();
    e.hardware_mut().load_reservoir("10 mL".parse().unwrap());
    e.resume(h(2.0)).unwrap();
    assert_eq!(e.state(), State::Running);
}

#[test]
fn a_stalled_motor_is_a_high_alarm() {
    let mut e = engine(MORPHINE);
    run_to(&mut e, h(1.0));
    fault(&mut e, |f| f.stalled = true);
    run_to(&mut e, h(2.0));
    let at = raised(&e, AlarmKind::MotorStall).expect("stall found");
    // 20 steps of tolerance at 600 steps an hour: about two minutes.
    assert!(at.since(h(1.0)) <= Duration::from_mins(3), "{at}");
    assert_eq!(e.state(), State::Alarm);
}

#[test]
fn a_stuck_sensor_is_a_high_alarm() {
    let mut e = engine(MORPHINE);
    run_to(&mut e, h(1.0));
    fault(&mut e, |f| f.sensor_stuck = true);
    run_to(&mut e, h(1.1));
    let at = raised(&e, AlarmKind::SensorFault).expect("stuck sensor found");
    assert!(at.since(h(1.0)) <= Duration::from_secs(70), "{at}");
}

#[test]
fn a_missing_syringe_stops_delivery() {
    let mut e = engine(MORPHINE);
    run_to(&mut e, h(1.0));
    fault(&mut e, |f| f.reservoir_removed = true);
    run_to(&mut e, h(1.01));
    assert!(raised(&e, AlarmKind::ReservoirMissing).is_some());
    assert_eq!(e.state(), State::Alarm);
}

#[test]
fn changes_beyond_hard_limits_are_refused_and_recorded() {
    let mut e = engine(MORPHINE);
    run_to(&mut e, h(1.0));
    assert!(
        e.change_rate(h(1.0), "30 mg/day".parse().unwrap(), true)
            .is_err()
    );
    assert!(
        e.clinician_bolus(h(1.0), "5 mg".parse().unwrap(), true)
            .is_err()
    );
    // Soft: needs confirming.
    assert!(
        e.clinician_bolus(h(1.0), "0.5 mg".parse().unwrap(), false)
            .is_err()
    );
    let refused = e
        .journal()
        .iter()
        .filter(|r| matches!(r, Record::Refused { .. }))
        .count();
    assert_eq!(refused, 3);
    assert_eq!(e.basal_rate(), "1 mg/day".parse().unwrap());
    e.clinician_bolus(h(1.0), "0.5 mg".parse().unwrap(), true)
        .unwrap();
    assert!(e.journal().iter().any(|r| matches!(
        r,
        Record::Confirmed {
            by: Role::Clinician,
            ..
        }
    )));
}

/// Blocks the line after an hour at `rate`, returns (time to alarm, pressure at alarm, volume
/// released in the hour after the line clears, at 6 h).
fn occlusion_at(basal: &str, concentration: &str, backoff: bool) -> (Duration, f64, f64) {
    let mut cfg = hw();
    cfg.occlusion.backoff = backoff;
    let p = program(&format!(
        "drug = \"morphine\"\nconcentration = \"{concentration}\"\nreservoir = \"20 mL\"\nbasal = \"{basal}\"\n"
    ));
    let mut e = engine_with(&cfg, p);
    run_to(&mut e, h(1.0));
    fault(&mut e, |f| f.occluded = true);
    run_to(&mut e, h(6.0));
    let alarm = e
        .alarms()
        .iter()
        .find(|a| a.kind == AlarmKind::Occlusion)
        .expect("occlusion found")
        .clone();
    assert_eq!(alarm.priority, Priority::High);
    assert_eq!(e.state(), State::Alarm);
    let cleared = h(6.0);
    fault(&mut e, |f| f.occluded = false);
    run_to(&mut e, cleared + Duration::from_hours(1));
    (
        alarm.raised_at.since(h(1.0)),
        alarm.pressure_mmhg.unwrap(),
        e.hardware().truth().released_since_clear_ul,
    )
}

#[test]
fn occlusion_is_found_quickly_even_at_intrathecal_rates() {
    // 0.5 mL/day, 0.1 mL/h and 1 mL/h at 0.5 mg/mL.
    for (basal, limit_min) in [("0.25 mg/day", 90), ("1.2 mg/day", 30), ("12 mg/day", 25)] {
        let (time, pressure, _) = occlusion_at(basal, "0.5 mg/mL", true);
        assert!(time <= Duration::from_mins(limit_min), "{basal}: {time}");
        assert!(pressure < 60.0, "{basal}: {pressure} mmHg");
    }
}

#[test]
fn backing_off_limits_the_bolus_released_when_the_line_clears() {
    let (_, _, with) = occlusion_at("12 mg/day", "0.5 mg/mL", true);
    let (_, _, without) = occlusion_at("12 mg/day", "0.5 mg/mL", false);
    assert!(
        without > 10.0,
        "without back-off the stored volume is released: {without} µL"
    );
    assert!(
        with < without / 3.0,
        "with back-off {with} µL, without {without} µL"
    );
}

#[test]
fn the_pressure_is_taken_off_a_soft_blocked_line_in_steps_down_to_what_the_open_line_held() {
    // An epidural bupivacaine infusion at 5 mL/h through a catheter a quarter as resistant as
    // the profile's into a 5 µL/mmHg syringe (the detector's nominal is 2): the open line works
    // at 25 mmHg where the model, not yet learned, expects 100. The blockage is found by the
    // settling test within minutes, and the back-off, an estimate, takes back too little: the
    // pressure shows what is left. The relief reads every 2 s and takes the rest at the
    // compliance the last step showed, down to the line's pressure before the rise: what
    // reaches the patient when the line is cleared a minute after the alarm is within 5 µL of
    // what the open line held anyway (issue 20's goal for the released bolus).
    let mut cfg = hw();
    cfg.simulation.compliance_ul_per_mmhg = 5.0;
    cfg.simulation.resistance_mmhg_per_ml_h *= 0.25;
    let p = program(
        "drug = \"bupivacaine\"\nconcentration = \"1 mg/mL\"\nreservoir = \"20 mL\"\nbasal = \"120 mg/day\"\n",
    );
    let t0 = Timestamp::ORIGIN;
    let epidural = Trial {
        route: Route::Epidural,
        ..trial()
    };
    let mut e = programmed(&cfg, epidural, p).unwrap();
    e.verify(t0).unwrap();
    e.prime(t0, titra::core::units::Volume::ZERO).unwrap();
    e.start(t0).unwrap();
    run_to(&mut e, h(1.0));
    let held_ul = e.hardware().truth().pressure_mmhg * 5.0;
    fault(&mut e, |f| f.occluded = true);
    let mut raised_at = None;
    for minute in 1..=60 {
        run_to(&mut e, h(1.0) + Duration::from_mins(minute));
        if let Some(at) = raised(&e, AlarmKind::Occlusion) {
            raised_at = Some(at);
            break;
        }
    }
    let raised_at = raised_at.expect("the blockage is found");
    let cleared = raised_at + Duration::from_mins(1);
    run_to(&mut e, cleared);
    let backed: Vec<f64> = e
        .journal()
        .iter()
        .filter_map(|r| match r {
            Record::BackedOff { at, volume, .. } if *at >= raised_at => {
                Some(volume.nl() as f64 / 1000.0)
            }
            _ => None,
        })
        .collect();
    assert!(backed.len() >= 2, "one back-off only: {backed:?}");
    // Never more in all than the trip's pressure times the softest plausible syringe's.
    let pressure = e
        .alarms()
        .iter()
        .find(|a| a.kind == AlarmKind::Occlusion)
        .and_then(|a| a.pressure_mmhg)
        .expect("pressure");
    let [_, softest] = cfg.occlusion.line_compliance_range_ul_per_mmhg;
    assert!(
        backed.iter().sum::<f64>() <= pressure * softest + 0.1,
        "{backed:?} at {pressure} mmHg"
    );
    fault(&mut e, |f| f.occluded = false);
    run_to(&mut e, cleared + Duration::from_hours(1));
    let released = e.hardware().truth().released_since_clear_ul - held_ul;
    assert!(
        released.abs() <= 5.0,
        "released {released:.1} µL beyond the {held_ul:.1} µL the open line held; backed off {backed:?}"
    );
    // Only the first back-off (what the relief adds is the rest): more than 5 µL would have
    // reached the patient.
    let first_only = released + backed[1..].iter().sum::<f64>();
    assert!(first_only > 5.0, "{first_only:.1} µL");
}

#[test]
fn given_since_midnight_counts_what_in_total_counts_a_bolus_under_way_included() {
    // The issue's screen a minute into the trial: "Given today 0.00007 mg, in total
    // 0.003473 mg": today counted only what was written in records, the total also the bolus
    // under way. A minute into a bolus, since a midnight before the start is the total.
    let mut e = engine(MORPHINE);
    run_to(&mut e, Timestamp::ORIGIN + Duration::from_mins(1));
    assert!(matches!(
        e.request_pca(Timestamp::ORIGIN + Duration::from_mins(1)),
        PcaDecision::Granted { .. }
    ));
    run_to(&mut e, Timestamp::ORIGIN + Duration::from_secs(90));
    assert!(e.bolus_under_way().is_some(), "the bolus is still running");
    assert_eq!(e.delivered_since(Timestamp::ORIGIN), e.delivered_total());
    // Later, since a midnight within the trial: the total less what was given before it, to
    // within the minute's record it falls in (1 mg/day: 0.7 mcg a minute).
    run_to(&mut e, h(30.0));
    let at_midnight = {
        let mut earlier = engine(MORPHINE);
        assert!(matches!(
            earlier.request_pca(Timestamp::ORIGIN + Duration::from_mins(1)),
            PcaDecision::Granted { .. }
        ));
        run_to(&mut earlier, h(24.0));
        earlier.delivered_total()
    };
    let since = e.delivered_since(h(24.0));
    let expected = e.delivered_total().saturating_sub(at_midnight);
    assert!(
        since.ng().abs_diff(expected.ng()) <= 1_000,
        "{since} since midnight, {expected} expected"
    );
    // 6 h of 1 mg/day: 0.25 mg.
    assert!(since.ng().abs_diff(250_000) <= 1_000, "{since}");
}

#[test]
fn the_mechanism_limits_refuse_a_program_the_library_would_allow() {
    let mut cfg = hw();
    // A 30 mL reservoir: the library does not mind, the 20 mL syringe does.
    let p = program(
        "drug = \"morphine\"\nconcentration = \"1 mg/mL\"\nreservoir = \"30 mL\"\nbasal = \"1 mg/day\"\n",
    );
    let err = programmed(&cfg, trial(), p).err().expect("refused");
    assert!(
        err.to_string()
            .contains("program.reservoir: 30 mL is more than the pump's syringe holds (20 mL)"),
        "{err}"
    );
    // A mechanism limited to 0.01 mL/h cannot run 1 mg/day at 1 mg/mL (0.0417 mL/h).
    cfg.mechanism.max_rate = "0.01 mL/h".parse().unwrap();
    cfg.mechanism.bolus_rate = "0.01 mL/h".parse().unwrap();
    let err = programmed(&cfg, trial(), program(MORPHINE))
        .err()
        .expect("refused");
    assert!(
        err.to_string()
            .contains("above the pump's maximum of 0.01 mL/h"),
        "{err}"
    );
}

#[test]
fn titration_steps_change_the_rate_on_time() {
    let mut e = engine(&format!(
        "{MORPHINE}titration = [{{ at = \"1h\", basal = \"2 mg/day\" }}]\n"
    ));
    run_to(&mut e, h(1.0));
    let at_1h = position(&mut e);
    assert!((at_1h - 600).abs() <= 1, "{at_1h}");
    run_to(&mut e, h(2.0));
    assert!((position(&mut e) - at_1h - 1200).abs() <= 1);
    assert!(
        e.journal()
            .iter()
            .any(|r| matches!(r, Record::RateChanged { by: Role::Pump, .. }))
    );
}

#[test]
fn a_rate_raised_after_a_large_clinician_bolus_is_held_at_the_library_cap() {
    // Library: at most 1 mg of intrathecal morphine in any hour, everything counted.
    let mut e = engine(MORPHINE);
    run_to(&mut e, h(1.0));
    e.clinician_bolus(h(1.0), "0.9 mg".parse().unwrap(), true)
        .unwrap();
    run_to(&mut e, h(1.5));
    e.change_rate(h(1.5), "15 mg/day".parse().unwrap(), true)
        .unwrap();
    run_to(&mut e, h(2.5));
    let held = e
        .alarms()
        .iter()
        .find(|a| a.kind == AlarmKind::DoseLimit)
        .expect("held")
        .clone();
    assert_eq!(held.priority, Priority::Medium);
    assert!(held.raised_at < h(1.75), "{}", held.raised_at);
    assert!(
        held.cleared_at.is_some(),
        "the basal resumes once the bolus leaves the hour"
    );
    // At no moment did any hour hold more than 1 mg.
    let deliveries: Vec<(u64, u64)> = e
        .journal()
        .iter()
        .filter_map(|r| match r {
            Record::Delivery { at, amount, .. } => Some((at.ms(), amount.ng())),
            _ => None,
        })
        .collect();
    for &(t, _) in &deliveries {
        let in_hour: u64 = deliveries
            .iter()
            .filter(|&&(u, _)| u <= t && t - u < 3_600_000)
            .map(|&(_, a)| a)
            .sum();
        assert!(in_hour <= 1_000_000, "{in_hour} ng in the hour to {t}");
    }
}

/// An engine programmed and verified, not primed or started.
fn verified(p: &str, kind: TrialKind) -> Engine<SimPump> {
    let mut t = trial();
    t.kind = kind;
    t.duration = Duration::from_days(1);
    let mut e = programmed(&hw(), t, program(p)).unwrap();
    e.verify(Timestamp::ORIGIN).unwrap();
    e
}

#[test]
fn a_high_alarm_raised_before_delivery_blocks_the_start_and_stops_it_later() {
    let mut e = verified(MORPHINE, TrialKind::Continuous);
    fault(&mut e, |f| f.reservoir_removed = true);
    run_to(&mut e, h(0.01));
    assert!(raised(&e, AlarmKind::ReservoirMissing).is_some());
    assert!(
        e.prime(h(0.01), titra::core::units::Volume::ZERO).is_err(),
        "no priming with a HIGH alarm"
    );
    fault(&mut e, |f| f.reservoir_removed = false);
    e.acknowledge(h(0.02));
    e.prime(h(0.02), titra::core::units::Volume::ZERO).unwrap();
    e.start(h(0.02)).unwrap();
    run_to(&mut e, h(0.5));
    let moved = position(&mut e);
    assert!(moved > 0);
    // The same cause again while running stops it, though an alarm of that kind was raised before.
    fault(&mut e, |f| f.reservoir_removed = true);
    run_to(&mut e, h(1.0));
    assert_eq!(e.state(), State::Alarm);
    let stopped = position(&mut e);
    run_to(&mut e, h(2.0));
    assert_eq!(
        position(&mut e),
        stopped,
        "no step while the syringe is out"
    );
}

#[test]
fn a_screening_bolus_waits_for_the_start_not_the_priming() {
    let mut e = verified(
        "drug = \"morphine\"\nconcentration = \"1 mg/mL\"\nreservoir = \"2 mL\"\nboluses = [ { at = \"0h\", dose = \"0.2 mg\" } ]\nobserve = \"24h\"\n",
        TrialKind::SingleBolus,
    );
    e.prime(Timestamp::ORIGIN, titra::core::units::Volume::ZERO)
        .unwrap();
    run_to(&mut e, h(0.5));
    assert_eq!(position(&mut e), 0, "nothing given while priming");
    assert!(
        !e.journal()
            .iter()
            .any(|r| matches!(r, Record::BolusStarted { .. }))
    );
    e.start(h(0.5)).unwrap();
    assert_eq!(e.started_at(), h(0.5));
    run_to(&mut e, h(1.0));
    assert_eq!(position(&mut e), 2880, "the whole 0.2 mg after the start");
}

#[test]
fn a_refused_resume_acknowledges_nothing() {
    let mut e = engine(MORPHINE);
    run_to(&mut e, h(1.0));
    fault(&mut e, |f| f.occluded = true);
    run_to(&mut e, h(3.0));
    assert_eq!(e.state(), State::Alarm);
    fault(&mut e, |f| f.reservoir_removed = true);
    run_to(&mut e, h(3.01));
    assert!(e.resume(h(3.01)).is_err());
    let occlusion = e
        .alarms()
        .iter()
        .find(|a| a.kind == AlarmKind::Occlusion)
        .unwrap();
    assert!(
        occlusion.acknowledged_at.is_none(),
        "still waiting for the nurse"
    );
    assert!(
        !e.journal()
            .iter()
            .any(|r| matches!(r, Record::AlarmAcknowledged { .. }))
    );
}

#[test]
fn the_trial_starts_when_delivery_first_runs_however_it_gets_there() {
    let mut e = verified(MORPHINE, TrialKind::Continuous);
    e.prime(h(0.1), titra::core::units::Volume::ZERO).unwrap();
    e.pause(h(0.2)).unwrap();
    e.resume(h(0.3)).unwrap();
    assert_eq!(e.state(), State::Running);
    assert_eq!(e.started_at(), h(0.3));
}

#[test]
fn after_a_clinician_change_the_bolus_decision_uses_the_new_rate_not_the_planned_one() {
    // Planned: 2 mg/day from 1 h. The clinician sets 17 mg/day at 2 h. A 0.3 mg press then
    // would put the hour at about 0.71 + 0.3 mg, above morphine's 1 mg/h cap: it must be
    // refused (before the fix the stale planned rate was used, the press granted, and the basal
    // held an hour later).
    let mut e = engine(
        r#"
drug = "morphine"
concentration = "1 mg/mL"
reservoir = "20 mL"
basal = "1 mg/day"
titration = [ { at = "1h", basal = "2 mg/day" } ]
pca = { dose = "0.3 mg", lockout = "1h", max_per_hour = 1 }
"#,
    );
    run_to(&mut e, h(2.0));
    assert_eq!(e.basal_rate().to_string(), "2 mg/day");
    e.change_rate(h(2.0), "17 mg/day".parse().unwrap(), true)
        .unwrap();
    run_to(&mut e, h(2.5));
    let decision = e.request_pca(h(2.5));
    assert!(
        matches!(decision, PcaDecision::Denied { .. }),
        "{decision:?}"
    );
    run_to(&mut e, h(30.0));
    assert!(
        raised(&e, AlarmKind::DoseLimit).is_none(),
        "the basal was never held"
    );
    assert_eq!(e.basal_rate().to_string(), "17 mg/day");
}

// ---- the sedation interlock ---------------------------------------------------------------

#[test]
fn the_sedation_interlock_stops_a_bolus_the_basal_and_kvo_at_once() {
    let mut e = engine(&format!("{MORPHINE}kvo = \"0.01 mL/h\"\n"));
    run_to(&mut e, h(1.0));
    assert!(matches!(e.request_pca(h(1.0)), PcaDecision::Granted { .. }));
    run_to(&mut e, h(1.0) + Duration::from_mins(1));
    e.record_sedation(h(1.0) + Duration::from_mins(1), 3);
    assert_eq!(e.state(), State::Alarm);
    assert!(e.sedation_hold());
    assert!(e.journal().iter().any(|r| matches!(
        r,
        Record::BolusEnded {
            complete: false,
            ..
        }
    )));
    let stopped = position(&mut e);
    run_to(&mut e, h(3.0));
    assert_eq!(position(&mut e), stopped, "no basal, no KVO, no bolus");
    assert_eq!(e.hardware().annunciated, Some(Priority::High));
    assert_eq!(
        e.request_pca(h(3.0)),
        PcaDecision::Denied {
            denial: Denial::SedationHold,
            available_at: None
        }
    );
    assert_eq!(e.next_bolus_at(h(3.0)), None);
}

#[test]
fn the_interlock_holds_whatever_the_drug() {
    // Clonidine is no opioid, but sedation or slow breathing on an intrathecal infusion is a
    // reason to stop it until a clinician has looked: the pump cannot tell the cause.
    let mut e = engine(
        r#"
drug = "clonidine"
concentration = "100 mcg/mL"
reservoir = "20 mL"
basal = "300 mcg/day"
"#,
    );
    run_to(&mut e, h(1.0));
    e.record_vitals(h(1.0), Some(8), None, None, None);
    assert_eq!(e.state(), State::Alarm);
    assert_eq!(
        raised(&e, AlarmKind::Sedation),
        Some(h(1.0)),
        "raised when the rate was recorded"
    );
}

#[test]
fn a_new_breach_after_the_review_holds_again_before_anyone_resumes() {
    let mut e = engine(MORPHINE);
    run_to(&mut e, h(1.0));
    e.record_sedation(h(1.0), 3);
    e.acknowledge(h(1.1));
    assert!(e.sedation_hold(), "acknowledging does not lift it");
    assert!(e.resume(h(1.1)).is_err());
    e.review_sedation(h(1.2), "Rouses to voice.", "Dr A")
        .unwrap();
    assert!(!e.sedation_hold());
    // Before the nurse resumes, breathing slows: a new alarm, a new hold.
    e.record_vitals(h(1.3), Some(6), Some(60), Some(90), None);
    assert!(e.sedation_hold());
    assert!(e.resume(h(1.4)).is_err());
    let raised_count = e
        .journal()
        .iter()
        .filter(|r| {
            matches!(
                r,
                Record::AlarmRaised {
                    kind: AlarmKind::Sedation,
                    ..
                }
            )
        })
        .count();
    assert_eq!(raised_count, 2);
    e.review_sedation(h(1.5), "Naloxone given; awake.", "Dr A")
        .unwrap();
    e.resume(h(1.6)).unwrap();
    assert_eq!(e.state(), State::Running);
    assert!(e.active_alarms().next().is_none());
    assert!(
        e.review_sedation(h(1.7), "again", "Dr A").is_err(),
        "nothing to review"
    );
}

#[test]
fn a_breach_before_the_start_blocks_it_until_reviewed() {
    let mut e = verified(MORPHINE, TrialKind::Continuous);
    e.record_sedation(h(0.1), 4);
    e.prime(h(0.2), titra::core::units::Volume::ZERO)
        .expect_err("no priming while held");
    e.review_sedation(
        h(0.3),
        "Baseline drowsiness from oral opioids; reviewed.",
        "Dr A",
    )
    .unwrap();
    e.acknowledge(h(0.3));
    e.prime(h(0.4), titra::core::units::Volume::ZERO).unwrap();
    e.start(h(0.4)).unwrap();
    assert_eq!(e.state(), State::Running);
}

#[test]
fn the_hold_and_the_check_schedule_come_back_from_the_log() {
    let mut e = engine(&format!(
        "{MORPHINE}observations = {{ every = \"1h\", for = \"24h\" }}\n"
    ));
    run_to(&mut e, h(0.5));
    e.record_sedation(h(0.5), 3);
    e.record_vitals(h(0.5), Some(12), None, None, None);
    run_to(&mut e, h(0.6));
    let (sim, records) = e.crash();
    let (library, _) = check::load_library(None).unwrap();
    let mut back = Engine::recover(
        sim,
        &hw(),
        &library,
        trial(),
        program(&format!(
            "{MORPHINE}observations = {{ every = \"1h\", for = \"24h\" }}\n"
        )),
        records,
        h(0.7),
        None,
    )
    .unwrap();
    assert!(back.sedation_hold());
    back.acknowledge(h(0.7));
    assert!(back.resume(h(0.7)).is_err(), "still held after the restart");
    // The next check was due an hour after the one at 0.5 h, restart or not.
    run_to(&mut back, h(1.5));
    assert!(raised(&back, AlarmKind::ObservationMissed).is_none());
    run_to(&mut back, h(1.6));
    assert_eq!(
        raised(&back, AlarmKind::ObservationMissed),
        Some(h(1.5) + Duration::from_ms(1))
    );
}

#[test]
fn a_press_on_the_cord_before_the_trial_is_no_request_of_it() {
    // Pressed while the pump was idle: not a bolus asked for when the trial starts later. A
    // button stuck before the trial is still this trial's alarm.
    let cfg = hw();
    let p = program(
        r#"drug = "morphine"
concentration = "1 mg/mL"
reservoir = "20 mL"
basal = "1 mg/day"
pca = { dose = "0.05 mg", lockout = "30min", max_per_hour = 2 }
"#,
    );
    let (library, _) = check::load_library(None).unwrap();
    let mut sim = SimPump::new(&cfg.mechanism, &cfg.simulation, p.reservoir);
    sim.press_button();
    sim.press_button();
    sim.inject_fault("controller_stuck", true).unwrap();
    let t0 = Timestamp::ORIGIN;
    let mut e = Engine::new(sim, &cfg, trial(), p, &library, t0, Some(Role::Nurse)).unwrap();
    e.verify(t0).unwrap();
    e.prime(t0, titra::core::units::Volume::ZERO).unwrap();
    e.start(t0).unwrap();
    run_to(&mut e, h(1.0));
    assert!(
        !e.journal()
            .iter()
            .any(|r| matches!(r, Record::PcaRequest { .. })),
        "no request from before the trial"
    );
    assert!(
        e.journal().iter().any(|r| matches!(
            r,
            Record::AlarmRaised {
                kind: titra::core::supervisor::AlarmKind::StuckButton,
                ..
            }
        )),
        "the stuck button is this trial's alarm"
    );
}

#[test]
fn outcome_and_wish_read_their_words_and_name_the_field_otherwise() {
    use titra::journal::{Outcome, Wish};
    assert_eq!("inconclusive".parse::<Outcome>(), Ok(Outcome::Inconclusive));
    assert_eq!(Outcome::Success.to_string(), "success");
    assert_eq!("undecided".parse::<Wish>(), Ok(Wish::Undecided));
    assert_eq!(
        "maybe".parse::<Wish>(),
        Err("wish: \"maybe\" is not one of yes, no, undecided".to_owned())
    );
    assert_eq!(
        "Success".parse::<Outcome>(),
        Err("outcome: \"Success\" is not one of success, failure, inconclusive".to_owned())
    );
}
