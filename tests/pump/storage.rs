//! The trial log's storage (issue 19, part 4): the trial's budget recorded at its start, the
//! MEDIUM alarm when the card runs short, the HIGH alarm and a clean stop, its records written
//! into the reserve, before it is full, and the pump stopped until space is made. The free
//! space is injected (`FakeFreeSpace`); the full disk of SQLite itself by `disk_full`.

use titra::core::supervisor::{AlarmKind, Priority, State};
use titra::core::units::{Duration, Timestamp};
use titra::journal::Record;
use titra::service::auth::Peer;
use titra::service::pump::PumpService;
use titra::store::budget::{FakeFreeSpace, LogBudget, Reserve};

use crate::common::daemon::logged_service;
use crate::common::{NURSE, SECOND_NURSE, Staff, TempDir};

const MIB: u64 = 1024 * 1024;

struct Pump {
    dir: TempDir,
    svc: PumpService,
    now: Timestamp,
}

impl Pump {
    /// A pump with a trial log, delivering for an hour, its free space read from `free`.
    fn running(name: &str, free: &FakeFreeSpace) -> Pump {
        Pump::running_in(TempDir::new(name), free)
    }

    fn running_in(dir: TempDir, free: &FakeFreeSpace) -> Pump {
        let mut svc = logged_service(&dir, Timestamp::ORIGIN);
        svc.confirm_checklist_as_demo(true);
        svc.set_free_space(Box::new(free.clone()));
        let mut p = Pump {
            dir,
            svc,
            now: Timestamp::ORIGIN,
        };
        p.as_user(NURSE, |s, t, now| {
            s.start_trial(
                t,
                &crate::common::continuous_morphine("MRN-STORAGE"),
                false,
                (SECOND_NURSE.id, SECOND_NURSE.pin),
                now,
            )
        })
        .unwrap();
        p.as_user(NURSE, |s, t, now| s.prime(t, now)).unwrap();
        p.run_for(Duration::from_mins(2));
        p.as_user(NURSE, |s, t, now| s.start(t, now)).unwrap();
        p.run_for(Duration::from_hours(1));
        assert_eq!(p.svc.state(), State::Running);
        p
    }

    fn as_user<T>(
        &mut self,
        who: Staff,
        f: impl FnOnce(
            &mut PumpService,
            &str,
            Timestamp,
        ) -> Result<T, titra::service::pump::ServiceError>,
    ) -> Result<T, String> {
        let now = self.now;
        let token = self.svc.login(who.id, who.pin, Peer::Local, now).unwrap().0;
        f(&mut self.svc, &token, now).map_err(|e| e.to_string())
    }

    fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        loop {
            let next = self
                .svc
                .next_wake()
                .unwrap_or(until)
                .min(until)
                .max(self.now);
            self.now = next;
            self.svc.tick(next).unwrap();
            if next >= until {
                return;
            }
        }
    }

    fn active(&self, kind: AlarmKind) -> bool {
        self.svc
            .engine()
            .is_some_and(|e| e.active_alarms().any(|a| a.kind == kind))
    }

    fn reserve(&self) -> Reserve {
        let cfg = titra::input::hardware::HardwareConfig::built_in().unwrap();
        Reserve::beside(&self.dir.trial_log(), cfg.storage.reserve_mib * MIB)
    }

    /// The trial's records as the log on disk holds them (a second connection, as an export).
    fn on_disk(&self) -> Vec<Record> {
        let mut log = titra::store::TrialLog::open(&self.dir.trial_log()).unwrap();
        let stored = log.latest_trial().unwrap();
        log.records(stored.id).unwrap()
    }

    fn delivered_nl(&self) -> u64 {
        self.svc.engine().map_or(0, |e| {
            e.reservoir_loaded().nl() - e.reservoir_remaining().nl()
        })
    }
}

#[test]
fn the_trials_log_budget_is_computed_at_its_start_and_kept_in_the_log() {
    let free = FakeFreeSpace::new(10_000 * MIB);
    let p = Pump::running("storage-budget", &free);
    let want = LogBudget::for_duration(Duration::from_days(14));
    let recorded: Vec<(Duration, u64, u64)> = p
        .on_disk()
        .iter()
        .filter_map(|r| match r {
            Record::LogBudget {
                duration,
                rows,
                bytes,
                ..
            } => Some((*duration, *rows, *bytes)),
            _ => None,
        })
        .collect();
    assert_eq!(recorded, [(want.duration, want.rows, want.bytes)]);
    let (budget, grown) = p.svc.log_budget().unwrap();
    assert_eq!(budget, want);
    // An hour of a trial is far under its 14 days' budget (the database file's growth: the
    // write-ahead log, folded in every 4 MiB, is not counted).
    assert!(grown < want.bytes / 100, "{grown}");
    assert!(!p.active(AlarmKind::StorageLow));
    // The status says it in words.
    let status = p.svc.status(p.now);
    assert!(
        status.log_budget.ends_with(" MB of 23.9 MB (0 %)"),
        "{}",
        status.log_budget
    );
    // The reserve was laid when the daemon started.
    assert!(p.reserve().is_laid());
}

#[test]
fn a_card_running_short_warns_the_nurse_and_delivery_goes_on() {
    let cfg = titra::input::hardware::HardwareConfig::built_in().unwrap();
    let free = FakeFreeSpace::new(10_000 * MIB);
    let mut p = Pump::running("storage-low", &free);
    free.set(cfg.storage.low_free_mib * MIB - 1);
    let before = p.delivered_nl();
    p.run_for(Duration::from_hours(1));
    assert!(p.active(AlarmKind::StorageLow));
    assert_eq!(AlarmKind::StorageLow.priority(), Priority::Medium);
    assert_eq!(p.svc.state(), State::Running);
    assert!(p.delivered_nl() > before, "delivery goes on");
    // Acknowledged while the card is still short, it stays.
    p.as_user(NURSE, |s, t, now| s.acknowledge(t, now)).unwrap();
    assert!(p.active(AlarmKind::StorageLow));
    // Space made: the next check clears it, and the nurse's acknowledgement ends it.
    free.set(10_000 * MIB);
    p.run_for(Duration::from_mins(2));
    p.as_user(NURSE, |s, t, now| s.acknowledge(t, now)).unwrap();
    assert!(!p.active(AlarmKind::StorageLow));
    let raised = p
        .on_disk()
        .iter()
        .filter(|r| {
            matches!(
                r,
                Record::AlarmRaised {
                    kind: AlarmKind::StorageLow,
                    ..
                }
            )
        })
        .count();
    assert_eq!(raised, 1);
}

#[test]
fn a_full_card_stops_delivery_cleanly_into_the_reserve_until_space_is_made() {
    let cfg = titra::input::hardware::HardwareConfig::built_in().unwrap();
    let free = FakeFreeSpace::new(10_000 * MIB);
    let mut p = Pump::running("storage-full", &free);
    assert!(p.reserve().is_laid());
    free.set(cfg.storage.stop_free_mib * MIB - 1);
    // Within one check interval the pump stops.
    p.run_for(cfg.storage.check_every);
    assert_eq!(p.svc.state(), State::Alarm);
    assert!(p.active(AlarmKind::StorageFull));
    assert!(
        !p.reserve().is_laid(),
        "the reserve was released for the last records"
    );
    // The stop and its alarm are on disk.
    let disk = p.on_disk();
    let raised_at = disk
        .iter()
        .find_map(|r| match r {
            Record::AlarmRaised {
                kind: AlarmKind::StorageFull,
                priority: Priority::High,
                at,
                ..
            } => Some(*at),
            _ => None,
        })
        .expect("the HIGH alarm on disk");
    assert!(disk.iter().any(|r| matches!(
        r,
        Record::StateChanged { to: State::Alarm, at, .. } if *at == raised_at
    )));
    // Nothing is delivered while the card is full, whatever the nurse does. The released
    // reserve's room shows as free space (as the kernel would count it): the card is as full
    // as before, and the stop stands.
    let stopped = p.delivered_nl();
    free.set(cfg.storage.stop_free_mib * MIB - 1 + cfg.storage.reserve_mib * MIB);
    p.run_for(Duration::from_hours(2));
    assert!(
        p.active(AlarmKind::StorageFull),
        "the released reserve cleared the stop"
    );
    p.as_user(NURSE, |s, t, now| s.acknowledge(t, now)).unwrap();
    assert!(p.as_user(NURSE, |s, t, now| s.resume(t, now)).is_err());
    p.run_for(Duration::from_hours(1));
    assert_eq!(p.delivered_nl(), stopped);
    assert_eq!(p.svc.state(), State::Alarm);
    // A technician made space: the check clears the cause and lays the reserve again; the
    // nurse acknowledges and resumes.
    free.set(10_000 * MIB);
    p.run_for(cfg.storage.check_every);
    assert!(p.reserve().is_laid());
    p.as_user(NURSE, |s, t, now| s.acknowledge(t, now)).unwrap();
    p.as_user(NURSE, |s, t, now| s.resume(t, now)).unwrap();
    p.run_for(Duration::from_hours(1));
    assert_eq!(p.svc.state(), State::Running);
    assert!(p.delivered_nl() > stopped);
}

#[test]
fn a_write_the_full_disk_refuses_releases_the_reserve_and_stops_delivery() {
    let cfg = titra::input::hardware::HardwareConfig::built_in().unwrap();
    let free = FakeFreeSpace::new(10_000 * MIB);
    let mut p = Pump::running("storage-disk-full", &free);
    assert!(p.reserve().is_laid());
    // Less free than a new reserve needs (the checks must not lay it again meanwhile).
    free.set((cfg.storage.stop_free_mib + cfg.storage.reserve_mib) * MIB - 1);
    // SQLite itself refuses the next page: the write is tried again in the reserve's room,
    // which the injected cap still refuses, so the log's own HIGH alarm stops delivery.
    p.svc.inject_fault("disk_full", true).unwrap();
    p.run_for(Duration::from_hours(1));
    assert!(
        !p.reserve().is_laid(),
        "the reserve went to the failed write"
    );
    assert!(p.active(AlarmKind::LogFailure));
    assert_eq!(p.svc.state(), State::Alarm);
}

#[test]
fn the_daemons_journal_in_memory_stays_bounded_over_a_long_trial_and_the_summary_reads_the_log() {
    let free = FakeFreeSpace::new(10_000 * MIB);
    let mut p = Pump::running_in(TempDir::in_memory("storage-journal"), &free);
    let mut signalled = p.svc.take_new_records().len();
    let mut longest = 0usize;
    for _ in 0..(4 * 24) {
        p.run_for(Duration::from_hours(1));
        // A press an hour, as the daemon's loop publishes after each pass.
        let now = p.now;
        let _ = p.svc.request_bolus(now);
        signalled += p.svc.take_new_records().len();
        longest = longest.max(p.svc.engine().unwrap().journal().len());
    }
    let e = p.svc.engine().unwrap();
    let made = e.records_made();
    assert!(e.journal_is_partial());
    // Four days made more than 11 000 records; memory kept a day of the minute records (about
    // 3 000) and the rest, and at most twice that between two compactions.
    assert!(made > 11_000, "{made}");
    let bulk_per_day = 2 * 1440 + 48;
    let others = e
        .journal()
        .iter()
        .filter(|r| {
            !matches!(
                r,
                Record::Delivery { .. }
                    | Record::Intent { .. }
                    | Record::PcaRequest { .. }
                    | Record::UserAction { .. }
            )
        })
        .count();
    assert!(
        longest <= 2 * (bulk_per_day + others) + 4 * 1440,
        "{longest} records in memory at most, {others} not bulk"
    );
    // Every record was signalled once, dropped or not.
    assert_eq!(signalled, made);
    // The summary reads the whole trial from the log: its total is the pump's. (Paused first:
    // the minute piece under way is written when it ends, and pausing ends it.)
    p.as_user(NURSE, |s, t, now| s.pause(t, now)).unwrap();
    let e = p.svc.engine().unwrap();
    let made = e.records_made();
    let on_disk = p.on_disk();
    assert_eq!(on_disk.len(), made);
    let delivered = e.delivered_total();
    let summary = p.as_user(NURSE, |s, t, now| s.summary(t, now)).unwrap();
    let from_log: titra::core::units::Amount = on_disk
        .iter()
        .filter_map(|r| match r {
            Record::Delivery { amount, .. } | Record::UncertainDelivery { amount, .. } => {
                Some(*amount)
            }
            _ => None,
        })
        .sum();
    assert_eq!(from_log, delivered);
    // The summary's total (from the log) is the pump's, to a nanogram; and it has all 5 days.
    assert!(
        (summary.delivered.total_mg - delivered.as_mg_f64()).abs() < 1e-6,
        "{} mg against {}",
        summary.delivered.total_mg,
        delivered.as_mg_f64()
    );
    assert_eq!(summary.delivered.per_day_mg.len(), 5);
}

#[test]
fn no_trial_is_programmed_on_a_full_card() {
    let cfg = titra::input::hardware::HardwareConfig::built_in().unwrap();
    let dir = TempDir::new("storage-refused");
    let mut svc = logged_service(&dir, Timestamp::ORIGIN);
    let free = FakeFreeSpace::new(cfg.storage.stop_free_mib * MIB - 1);
    svc.set_free_space(Box::new(free.clone()));
    let mut p = Pump {
        dir,
        svc,
        now: Timestamp::ORIGIN,
    };
    let refused = p
        .as_user(NURSE, |s, t, now| {
            s.start_trial(
                t,
                &crate::common::continuous_morphine("MRN-STORAGE"),
                false,
                (SECOND_NURSE.id, SECOND_NURSE.pin),
                now,
            )
        })
        .unwrap_err();
    assert!(refused.contains("memory card is full"), "{refused}");
    assert!(p.svc.engine().is_none());
    free.set(10_000 * MIB);
    p.as_user(NURSE, |s, t, now| {
        s.start_trial(
            t,
            &crate::common::continuous_morphine("MRN-STORAGE"),
            false,
            (SECOND_NURSE.id, SECOND_NURSE.pin),
            now,
        )
    })
    .unwrap();
}

#[test]
fn after_a_restart_the_trial_keeps_its_budget_and_a_full_card_stops_it_again() {
    let cfg = titra::input::hardware::HardwareConfig::built_in().unwrap();
    let free = FakeFreeSpace::new(10_000 * MIB);
    let p = Pump::running("storage-restart", &free);
    let (before, grown_before) = p.svc.log_budget().unwrap();
    let base = p.on_disk().iter().find_map(|r| match r {
        Record::LogBudget { base, .. } => Some(*base),
        _ => None,
    });
    // The daemon restarts on a card that filled meanwhile.
    let Pump { dir, svc, now } = p;
    drop(svc);
    let now = now + Duration::from_mins(5);
    let mut svc = logged_service(&dir, now);
    free.set(cfg.storage.stop_free_mib * MIB - 1);
    svc.set_free_space(Box::new(free.clone()));
    let mut p = Pump { dir, svc, now };
    // The budget and the size it counts from are the ones recorded at the trial's start (a new
    // base taken now would count nothing of the hour before).
    let (after, grown_after) = p.svc.log_budget().unwrap();
    assert_eq!(after, before);
    assert!(base.is_some());
    assert!(
        grown_after >= grown_before,
        "{grown_after} < {grown_before}"
    );
    p.run_for(cfg.storage.check_every);
    assert!(p.active(AlarmKind::StorageFull));
    assert_eq!(p.svc.state(), State::Alarm);
}
