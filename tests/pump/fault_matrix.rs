//! The fault-injection matrix (issue 11, item 2): every fault the simulated pump can be given,
//! crossed with every state it can meet, run through the daemon's service (`PumpService`, the
//! code behind every D-Bus call) on simulated hardware in virtual time.
//!
//! For each cell the test records what the pump did — the alarm raised, whether delivery stopped,
//! what the trial log holds, what the nurse had to do to resume — and checks the safety rules
//! that hold in every cell:
//!
//! 1. delivery never runs while a HIGH alarm stands;
//! 2. a fault that stops delivery always raises an alarm (the pump never goes quiet and still);
//! 3. resuming is refused while a HIGH alarm's cause persists;
//! 4. every alarm raised is in the trial log.
//!
//! The table it builds is `docs/fault-matrix.md`; the test fails if the file differs, so the
//! document is the pump's behaviour as last tested. After a deliberate change, regenerate it
//! with `TITRA_BLESS=1 cargo test --test pump fault_matrix::` and review the diff.

use std::fmt::Write as _;
use std::path::Path;

use titra::core::units::{Amount, Duration, Timestamp};
use titra::journal::Record;
use titra::service::auth::Peer;
use titra::service::pump::PumpService;

use crate::common::daemon::{FakeWall, logged_service};
use crate::common::{CLINICIAN, NURSE, SECOND_NURSE, Staff, TempDir, repository_path};

const PROGRAM: &str = r#"
[trial]
patient = "MRN-MATRIX"
route = "intrathecal"
kind = "continuous"
duration = "2d"
# 2 mg/day is within the label's opioid-tolerant intrathecal start (1-10 mg/day).
opioid_status = "tolerant"
ome_before = "90 mg/day"

[program]
drug = "morphine"
concentration = "1 mg/mL"
reservoir = "20 mL"
basal = "2 mg/day"
pca = { dose = "0.05 mg", lockout = "30min", max_per_hour = 1 }
"#;

fn mins(m: u64) -> Duration {
    Duration::from_mins(m)
}

/// The states a fault can meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Situation {
    /// The line primed (the priming volume is pushed at once, before the catheter is
    /// connected) and delivery not yet started.
    Priming,
    Basal,
    PatientBolus,
    ClinicianBolus,
    Paused,
    Alarm,
    ReservoirChange,
}

const SITUATIONS: [Situation; 7] = [
    Situation::Priming,
    Situation::Basal,
    Situation::PatientBolus,
    Situation::ClinicianBolus,
    Situation::Paused,
    Situation::Alarm,
    Situation::ReservoirChange,
];

impl Situation {
    fn name(self) -> &'static str {
        match self {
            Situation::Priming => "primed, not started",
            Situation::Basal => "basal",
            Situation::PatientBolus => "patient bolus",
            Situation::ClinicianBolus => "clinician bolus",
            Situation::Paused => "paused",
            Situation::Alarm => "alarm (sedation hold)",
            Situation::ReservoirChange => "reservoir change",
        }
    }
}

/// The faults, as injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Occlusion,
    OcclusionClears,
    Stall,
    SensorStuck,
    SensorOutOfRange,
    SensorNoisy,
    ReservoirEmpty,
    PowerLoss,
    DaemonRestart,
    DiskFull,
    LogWriteError,
    WallClockJump,
    StuckButton,
    CardLow,
    CardFull,
}

const FAULTS: [Fault; 15] = [
    Fault::Occlusion,
    Fault::OcclusionClears,
    Fault::Stall,
    Fault::SensorStuck,
    Fault::SensorOutOfRange,
    Fault::SensorNoisy,
    Fault::ReservoirEmpty,
    Fault::PowerLoss,
    Fault::DaemonRestart,
    Fault::DiskFull,
    Fault::LogWriteError,
    Fault::WallClockJump,
    Fault::StuckButton,
    Fault::CardLow,
    Fault::CardFull,
];

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::Occlusion => "occlusion",
            Fault::OcclusionClears => "occlusion, then clears",
            Fault::Stall => "motor stall",
            Fault::SensorStuck => "sensor stuck",
            Fault::SensorOutOfRange => "sensor out of range",
            Fault::SensorNoisy => "sensor noisy (10x)",
            Fault::ReservoirEmpty => "reservoir empty (end of travel)",
            Fault::PowerLoss => "power loss (10 min)",
            Fault::DaemonRestart => "daemon restart",
            Fault::DiskFull => "disk full",
            Fault::LogWriteError => "log write error",
            Fault::WallClockJump => "wall clock jumps back 1 h",
            Fault::StuckButton => "stuck patient button",
            Fault::CardLow => "memory card almost full (under the warning's free space)",
            Fault::CardFull => "memory card full (under the stop's free space)",
        }
    }

    /// The simulator's name for it, where it is one switch.
    fn switch(self) -> Option<&'static str> {
        Some(match self {
            Fault::Occlusion | Fault::OcclusionClears => "occlusion",
            Fault::Stall => "stall",
            Fault::SensorStuck => "sensor_stuck",
            Fault::SensorOutOfRange => "sensor_out_of_range",
            Fault::SensorNoisy => "sensor_noisy",
            Fault::ReservoirEmpty => "end_of_travel",
            Fault::DiskFull => "disk_full",
            Fault::LogWriteError => "log_write_error",
            Fault::StuckButton => "controller_stuck",
            Fault::CardLow => "card_low",
            Fault::CardFull => "card_full",
            Fault::PowerLoss | Fault::DaemonRestart | Fault::WallClockJump => return None,
        })
    }
}

/// A daemon keeping its trial log in a directory of its own, and the pump's clock.
struct Rig {
    dir: TempDir,
    svc: Option<PumpService>,
    now: Timestamp,
    wall: FakeWall,
}

fn service(dir: &Path, now: Timestamp, wall: &FakeWall) -> PumpService {
    let mut svc = logged_service(dir, now);
    svc.confirm_checklist_as_demo(true);
    svc.set_wall_clock(Box::new(wall.clone()));
    svc
}

impl Rig {
    fn new(name: &str) -> Rig {
        let dir = TempDir::new(&format!("matrix-{name}"));
        let wall = FakeWall::at(1_800_000_000_000);
        let svc = service(&dir, Timestamp::ORIGIN, &wall);
        Rig {
            dir,
            svc: Some(svc),
            now: Timestamp::ORIGIN,
            wall,
        }
    }

    fn svc(&mut self) -> &mut PumpService {
        self.svc.as_mut().unwrap()
    }

    /// Runs the pump to `t`, waking when it asks to, as the daemon's loop does. The ward
    /// records each sedation and breathing check as it falls due (POSS 1, 16/min: the
    /// library's default schedule after intrathecal morphine is hourly), so the cells show the
    /// fault's alarms, not a missed check's.
    fn run_to(&mut self, t: Timestamp) {
        loop {
            let check = self
                .svc()
                .engine()
                .and_then(titra::engine::Engine::check_due)
                .filter(|&due| due >= self.now);
            let next = [self.svc().next_wake(), check]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(t)
                .min(t)
                .max(self.now);
            self.now = next;
            let now = self.now;
            let _ = self.svc().tick(now);
            if check.is_some_and(|due| due <= now) {
                self.as_user(NURSE, |s, token, now| {
                    s.record_sedation(token, 1, now)?;
                    let vitals = titra::service::pump::Vitals {
                        respiratory_rate: Some(16),
                        heart_rate: 0,
                        spo2: 0,
                        temperature_c: 0.0,
                    };
                    s.record_vitals(token, vitals, now)
                })
                .unwrap();
            }
            if now >= t {
                return;
            }
        }
    }

    fn run_for(&mut self, d: Duration) {
        let t = self.now + d;
        self.run_to(t);
    }

    fn token(&mut self, who: Staff) -> String {
        let now = self.now;
        self.svc()
            .login(who.id, who.pin, Peer::Local, now)
            .unwrap()
            .0
    }

    /// Calls `f` logged in as `who` (a fresh login: sessions end after 3 idle minutes).
    fn as_user<T>(
        &mut self,
        who: Staff,
        f: impl FnOnce(
            &mut PumpService,
            &str,
            Timestamp,
        ) -> Result<T, titra::service::pump::ServiceError>,
    ) -> Result<T, String> {
        let token = self.token(who);
        let now = self.now;
        f(self.svc(), &token, now).map_err(|e| e.to_string())
    }

    fn journal(&self) -> Vec<Record> {
        self.svc
            .as_ref()
            .and_then(|s| s.engine())
            .map(|e| e.journal().to_vec())
            .unwrap_or_default()
    }

    fn delivered(&self) -> Amount {
        self.svc
            .as_ref()
            .and_then(|s| s.engine())
            .map_or(Amount::ZERO, |e| e.delivered_total())
    }

    fn state(&self) -> String {
        self.svc
            .as_ref()
            .map_or("down".to_owned(), |s| s.state().to_string())
    }

    /// The daemon dies and comes back `after` later (the pump's clock having run on).
    fn restart(&mut self, after: Duration) {
        drop(self.svc.take());
        self.now = self.now + after;
        let svc = service(&self.dir, self.now, &self.wall);
        self.svc = Some(svc);
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        // The daemon first, then its directory (`dir`, dropped after this).
        drop(self.svc.take());
    }
}

/// Brings a fresh pump into `situation`.
fn set_up(rig: &mut Rig, situation: Situation) {
    rig.as_user(NURSE, |s, t, now| {
        s.start_trial(t, PROGRAM, false, (SECOND_NURSE.id, SECOND_NURSE.pin), now)
    })
    .unwrap();
    rig.as_user(NURSE, |s, t, now| s.prime(t, now)).unwrap();
    if situation == Situation::Priming {
        rig.run_for(Duration::from_secs(20));
        assert_eq!(rig.state(), "priming");
        // Nothing moves until the nurse starts: the fault meets a primed, idle line.
        return;
    }
    rig.run_for(mins(2));
    rig.as_user(NURSE, |s, t, now| s.start(t, now)).unwrap();
    rig.run_for(mins(30));
    match situation {
        Situation::Priming | Situation::Basal => {}
        Situation::PatientBolus => {
            let now = rig.now;
            let answer = rig.svc().request_bolus(now).unwrap();
            assert!(answer.starts_with("Bolus of"), "{answer}");
            rig.run_for(mins(1));
        }
        Situation::ClinicianBolus => {
            rig.as_user(CLINICIAN, |s, t, now| {
                s.clinician_bolus(t, "0.2 mg", true, (NURSE.id, NURSE.pin), now)
            })
            .unwrap();
            rig.run_for(mins(1));
        }
        Situation::Paused => {
            rig.as_user(NURSE, |s, t, now| s.pause(t, now)).unwrap();
            rig.run_for(mins(1));
        }
        Situation::Alarm => {
            rig.as_user(NURSE, |s, t, now| s.record_sedation(t, 3, now))
                .unwrap();
            rig.run_for(mins(1));
            assert_eq!(rig.state(), "alarm");
        }
        Situation::ReservoirChange => {
            rig.as_user(NURSE, |s, t, now| s.pause(t, now)).unwrap();
            rig.svc().inject_fault("reservoir_removed", true).unwrap();
            rig.run_for(mins(1));
        }
    }
}

/// What happened in one cell.
#[derive(Debug)]
struct Cell {
    alarms: Vec<String>,
    delivery: &'static str,
    logged: Vec<String>,
    resume: String,
}

/// How long the pump runs after the fault before it is judged, in two halves.
const WATCH: Duration = Duration::from_hours(2);
const HALF: Duration = Duration::from_hours(1);

fn run_cell(situation: Situation, fault: Fault) -> Cell {
    let mut rig = Rig::new(&format!("{situation:?}-{fault:?}"));
    set_up(&mut rig, situation);
    let before_records = rig.journal().len();
    // The fault.
    match fault {
        Fault::PowerLoss => rig.restart(mins(10)),
        Fault::DaemonRestart => rig.restart(Duration::from_secs(2)),
        Fault::WallClockJump => {
            rig.wall.go_back(3_600_000);
        }
        other => rig
            .svc()
            .inject_fault(other.switch().unwrap(), true)
            .unwrap(),
    }
    // A restart rebuilds the journal from the log: count from its end there.
    let from = if matches!(fault, Fault::PowerLoss | Fault::DaemonRestart) {
        rig.journal()
            .iter()
            .rposition(|r| matches!(r, Record::PowerRestored { .. }))
            .unwrap_or(0)
    } else {
        before_records
    };
    let mid = rig.now + HALF;
    rig.run_to(mid);
    if fault == Fault::OcclusionClears {
        rig.svc().inject_fault("occlusion", false).unwrap();
    }
    let delivered_mid = rig.delivered();
    rig.run_for(HALF);
    let delivered_end = rig.delivered();
    let journal = rig.journal();
    let new = &journal[from.min(journal.len())..];

    // Rule 1: no delivery after a HIGH alarm until a resume. (The piece the alarm cut short is
    // recorded at the alarm's own time: its steps came before it.)
    let mut high_since: Option<Timestamp> = None;
    for (i, r) in new.iter().enumerate() {
        match r {
            Record::AlarmRaised { at, priority, .. }
                if *priority == titra::core::supervisor::Priority::High =>
            {
                high_since = high_since.or(Some(*at));
            }
            Record::StateChanged { to, .. } if *to == titra::core::supervisor::State::Running => {
                high_since = None;
            }
            Record::Delivery { at, source, .. } if high_since.is_some_and(|h| *at > h) => {
                let context: Vec<String> = new[i.saturating_sub(8)..=i]
                    .iter()
                    .map(|r| format!("{r:?}"))
                    .collect();
                panic!(
                    "{situation:?} × {fault:?}: {source:?} delivered at {at} while a HIGH alarm stood:\n{}",
                    context.join("\n")
                );
            }
            _ => {}
        }
    }
    let alarms: Vec<String> = new
        .iter()
        .filter_map(|r| match r {
            Record::AlarmRaised { kind, priority, .. } => Some(format!(
                "{} ({priority})",
                serde_json::to_value(kind).unwrap().as_str().unwrap()
            )),
            Record::AlarmEscalated { kind, priority, .. } => Some(format!(
                "{} escalated ({priority})",
                serde_json::to_value(kind).unwrap().as_str().unwrap()
            )),
            _ => None,
        })
        .collect();
    let was_delivering = matches!(
        situation,
        Situation::Basal | Situation::PatientBolus | Situation::ClinicianBolus
    );
    let delivering_now = delivered_end > delivered_mid;
    let delivery = match (was_delivering, delivering_now) {
        (true, true) => "continues",
        (true, false) => "stopped",
        (false, false) => "stays stopped",
        (false, true) => "STARTED BY ITSELF",
    };
    // Rule 2: a stop is always announced.
    if was_delivering && !delivering_now {
        assert!(
            !alarms.is_empty(),
            "{situation:?} × {fault:?}: delivery stopped without an alarm"
        );
    }
    assert_ne!(
        delivery, "STARTED BY ITSELF",
        "{situation:?} × {fault:?}: delivery must never start without a nurse"
    );
    let mut logged: Vec<String> = Vec::new();
    for r in new {
        let what = match r {
            Record::AlarmRaised { .. } | Record::AlarmEscalated { .. } => "alarm_raised",
            Record::BackedOff { .. } => "backed_off",
            Record::BolusEnded {
                complete: false, ..
            } => "bolus_stopped",
            Record::PowerRestored { .. } => "power_restored",
            Record::UncertainDelivery { .. } => "uncertain_delivery",
            Record::StateChanged { to, .. } if *to == titra::core::supervisor::State::Alarm => {
                "state_alarm"
            }
            _ => continue,
        };
        if !logged.iter().any(|l| l == what) {
            logged.push(what.to_owned());
        }
    }
    // Rule 4: what the engine raised reached the trial log on disk (except when the log is the
    // fault: then only the alarm on screen, and the log's own failure).
    if !matches!(fault, Fault::DiskFull | Fault::LogWriteError) {
        // A second connection reads the file while the daemon holds it (WAL).
        let mut log = titra::store::TrialLog::open(&rig.dir.trial_log()).unwrap();
        let stored = log.latest_trial().unwrap();
        let on_disk = log.records(stored.id).unwrap();
        let raised = |j: &[Record]| {
            j.iter()
                .filter(|r| matches!(r, Record::AlarmRaised { .. }))
                .count()
        };
        assert_eq!(
            raised(&on_disk),
            raised(&journal),
            "{situation:?} × {fault:?}: alarms missing from the log"
        );
    }
    let resume = if was_delivering && delivering_now {
        "nothing needed".to_owned()
    } else {
        resume_steps(&mut rig, situation, fault)
    };
    Cell {
        alarms,
        delivery,
        logged,
        resume,
    }
}

/// The least the nurse must do to get delivery going again, tried in order.
fn resume_steps(rig: &mut Rig, situation: Situation, fault: Fault) -> String {
    let try_resume = |rig: &mut Rig| -> bool {
        // Primed and never started: Start; from a pause or an alarm: Resume.
        let r = if rig.state() == "priming" {
            rig.as_user(NURSE, |s, t, now| s.start(t, now))
        } else {
            rig.as_user(NURSE, |s, t, now| s.resume(t, now))
        };
        if let Err(e) = &r
            && std::env::var_os("TITRA_MATRIX_DEBUG").is_some()
        {
            eprintln!("{situation:?} x {fault:?}: refused: {e}");
        }
        r.is_ok() && rig.state() == "running"
    };
    // Rule 3 is checked by the first attempt: while a HIGH alarm's cause is one the pump can
    // see (a sensor, the syringe, the motor, the log, a sedation hold), resume must fail. An
    // occlusion or a power cut is the nurse's to judge: their resume is the check, and a line
    // still blocked alarms again.
    let seen_cause_stands = rig.svc.as_ref().and_then(|s| s.engine()).is_some_and(|e| {
        e.active_alarms().any(|a| {
            use titra::core::supervisor::AlarmKind as K;
            a.cleared_at.is_none()
                && matches!(
                    a.kind,
                    K::SensorFault
                        | K::ReservoirEmpty
                        | K::ReservoirMissing
                        | K::MotorStall
                        | K::LogFailure
                        | K::StorageFull
                        | K::Sedation
                )
        })
    });
    if std::env::var_os("TITRA_MATRIX_DEBUG").is_some() {
        let e = rig.svc.as_ref().and_then(|s| s.engine()).unwrap();
        eprintln!(
            "{situation:?} x {fault:?}: state {} alarms {:?}",
            e.state(),
            e.alarms()
        );
    }
    // Primed and never started, the nurse's last step is Start.
    let go = if situation == Situation::Priming {
        "start"
    } else {
        "resume"
    };
    let mut steps: Vec<&str> = Vec::new();
    if try_resume(rig) {
        assert!(
            !seen_cause_stands,
            "{situation:?} × {fault:?}: resumed while a HIGH alarm's cause stood"
        );
        let fault_still_on = fault.switch().is_some() && fault != Fault::OcclusionClears;
        if fault_still_on {
            let mark = rig.journal().len();
            rig.run_for(HALF);
            let again: Vec<String> = rig.journal()[mark..]
                .iter()
                .filter_map(|r| match r {
                    Record::AlarmRaised { kind, priority, .. } => Some(format!(
                        "{} ({priority})",
                        serde_json::to_value(kind).unwrap().as_str().unwrap()
                    )),
                    _ => None,
                })
                .collect();
            if !again.is_empty() {
                return format!(
                    "{go}; with the cause still there it alarms again: {}",
                    again.join(", ")
                );
            }
        }
        return go.to_owned();
    }
    rig.as_user(NURSE, |s, t, now| s.acknowledge(t, now))
        .unwrap();
    steps.push("acknowledge");
    if try_resume(rig) {
        return join(&steps, go);
    }
    if let Some(switch) = fault.switch() {
        let _ = rig.svc().inject_fault(switch, false);
        rig.run_for(Duration::from_secs(30));
        steps.insert(0, "clear the cause");
        rig.as_user(NURSE, |s, t, now| s.acknowledge(t, now))
            .unwrap();
        if try_resume(rig) {
            return join(&steps, go);
        }
    }
    if situation == Situation::ReservoirChange {
        rig.svc().inject_fault("reservoir_removed", false).unwrap();
        rig.as_user(NURSE, |s, t, now| s.change_reservoir(t, "20 mL", now))
            .unwrap();
        steps.push("seat the new syringe and record it");
        rig.run_for(Duration::from_secs(30));
        rig.as_user(NURSE, |s, t, now| s.acknowledge(t, now))
            .unwrap();
        if try_resume(rig) {
            return join(&steps, go);
        }
    }
    if situation == Situation::Alarm {
        rig.as_user(CLINICIAN, |s, t, now| {
            s.review_sedation(t, "Reviewed in the fault matrix.", now)
        })
        .unwrap();
        steps.push("clinician reviews the sedation");
        rig.as_user(NURSE, |s, t, now| s.acknowledge(t, now))
            .unwrap();
        if try_resume(rig) {
            return join(&steps, go);
        }
    }
    format!("cannot resume ({}): take the pump out of use", rig.state())
}

fn join(steps: &[&str], last: &str) -> String {
    let mut all: Vec<&str> = steps.to_vec();
    all.push(last);
    all.join(", then ")
}

fn table() -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Fault-injection matrix\n\n\
Generated by `tests/pump/fault_matrix.rs` (`TITRA_BLESS=1 cargo test --test pump fault_matrix::`\n\
rewrites it; the test fails when the pump's behaviour no longer matches this file). Each cell: a\n\
fresh simulated pump with a trial log (intrathecal morphine 1 mg/mL, basal 2 mg/day, patient\n\
bolus 0.05 mg), brought into the state, given the fault, and run for {} of virtual time. Every\n\
cell also checks: no delivery while a HIGH alarm stands; no stop without an alarm; no resume\n\
while a HIGH cause stands; every alarm raised is in the trial log on disk.\n\n\
- **Alarm**: raised after the fault (priority).\n\
- **Delivery**: over the second half of the watch.\n\
- **Logged**: the records that tell the story (besides the deliveries).\n\
- **To resume**: the least a nurse had to do, tried in this order: resume; acknowledge, resume;\n\
  clear the cause (the fault switched off), acknowledge, resume; then the state's own step.\n\n\
A user interface that disconnects is not a fault the daemon can see: it keeps no client state\n\
and delivery never waits for a screen (`tests/dbus/bus.rs::the_daemon_runs_on_when_its_screen_goes_away`).\n\
A trial log that fails while nothing is written (a paused pump, a pump stopped by an alarm) is\n\
found by its probe: a synced write of the chain's head, read back, after a minute without a\n\
write (`Engine::probe_log`). A full disk is found only when a write needs a page the file does\n\
not have (a probe rewrites a page the file has): records that still fit in its last pages are\n\
written (the paused pump of \"disk full\" resumes, and would alarm at the first write that does\n\
not fit); the storage watch's free-space check finds a full card whatever is written.\n",
        WATCH
    );
    for fault in FAULTS {
        let _ = writeln!(out, "\n## {}\n", fault.name());
        let _ = writeln!(out, "| state | alarm | delivery | logged | to resume |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for situation in SITUATIONS {
            let c = run_cell(situation, fault);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                situation.name(),
                if c.alarms.is_empty() {
                    "none".to_owned()
                } else {
                    c.alarms.join(", ")
                },
                c.delivery,
                if c.logged.is_empty() {
                    "—".to_owned()
                } else {
                    c.logged.join(", ")
                },
                c.resume
            );
        }
    }
    out
}

#[test]
fn every_fault_in_every_state_behaves_as_docs_fault_matrix_says() {
    let generated = table();
    let path = repository_path("docs/fault-matrix.md");
    if std::env::var_os("TITRA_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "docs/fault-matrix.md differs from the pump's behaviour from line {}:\n  file: {:?}\n  now:  {:?}\n(after a deliberate change: TITRA_BLESS=1 cargo test --test pump fault_matrix::, and review)",
            first + 1,
            committed.lines().nth(first),
            generated.lines().nth(first)
        );
    }
}
