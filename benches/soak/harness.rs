//! The hostile-client soak (issue 19): the daemon's interface on a private `dbus-daemon`, a
//! trial running in accelerated virtual time, and several connections calling every method at
//! random, with random and oversized arguments, as fast as the daemon answers. At the end:
//!
//! - no limit crossed: every rolling window of what the trial log on disk says was delivered is
//!   within the drug library's hard caps, and nothing was delivered while a HIGH alarm stood;
//! - every acknowledged event is on disk once: the pain scores, side effects and patient
//!   boluses the daemon said yes to are the ones in the log, no more, no fewer;
//! - the control loop was never held up for as long as the systemd watchdog allows (its
//!   longest gap between two passes, in real time);
//! - the figures: calls per second, latency percentiles, rows written, the log's size.
//!
//! Shared by `tests/dbus/soak.rs` (small, in `cargo test`) and `benches/soak/main.rs` (the
//! figures for the README). Deterministic in what it calls (a seeded generator); the timing
//! figures are the machine's.

#![allow(dead_code)]

/// The fuzz targets' end-of-run check: every rolling window within the library's hard caps, and
/// no delivery while a HIGH alarm stood.
#[path = "../../fuzz/fuzz_targets/invariants.rs"]
mod invariants;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration as StdDuration, Instant};

use titra::core::units::{Duration, Timestamp};
use titra::journal::Record;
use titra::service::dbus::{BUS_NAME, OBJECT_PATH, Pump1Proxy, PumpIface, Shared, run_until};
use titra::service::pump::PumpService;
use titra::store::TrialLog;
use titra::time::ManualClock;

/// The systemd watchdog's period for titra-pumpd (`WatchdogSec=` in its unit).
pub const WATCHDOG: StdDuration = StdDuration::from_secs(5);

/// titra-pumpd's `MemoryMax=` (128M in its unit), in kB.
const MEMORY_MAX_KB: u64 = 128 * 1024;

#[path = "../common/proc_status.rs"]
mod proc_status;

/// How big a soak.
#[derive(Debug, Clone, Copy)]
pub struct Soak {
    /// Client connections, each calling in turn.
    pub connections: usize,
    /// Calls each connection makes.
    pub calls: usize,
    /// How long the trial runs, in virtual time.
    pub trial: Duration,
    /// Real time between two passes of the pump's loop (a virtual minute each) while the
    /// clients call: how fast virtual time runs. Once they are done the rest runs unpaced.
    pub pace: StdDuration,
    pub seed: u64,
}

/// What a soak measured.
#[derive(Debug)]
pub struct Figures {
    pub calls: usize,
    pub refused: usize,
    pub wall: StdDuration,
    /// Call latencies, sorted.
    pub latencies: Vec<StdDuration>,
    /// The longest real time between two passes of the pump's loop.
    pub longest_pass_gap: StdDuration,
    pub log_rows: u64,
    pub log_bytes: u64,
    /// The trial log's budget (computed at the trial's start) and what the log grew by.
    pub budget_bytes: u64,
    pub log_growth: u64,
    /// This process's resident memory at the end: the pump's side, the bus's clients and the
    /// soak's own tallies together.
    pub rss_kb: u64,
    pub pains_acknowledged: usize,
    pub boluses_granted: usize,
    pub side_effects_acknowledged: usize,
}

impl Figures {
    pub fn percentile(&self, p: f64) -> StdDuration {
        if self.latencies.is_empty() {
            return StdDuration::ZERO;
        }
        let i = ((self.latencies.len() - 1) as f64 * p).round() as usize;
        self.latencies[i]
    }

    pub fn calls_per_second(&self) -> f64 {
        self.calls as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// xorshift64*: a small seeded generator (what is called must be the same on every run).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A string: mostly short and sensible, sometimes long, sometimes far over any limit.
    fn text(&mut self) -> String {
        let len = match self.below(10) {
            0 => 100_000 + self.below(200_000) as usize,
            1 => 1_000 + self.below(10_000) as usize,
            _ => self.below(24) as usize,
        };
        let alphabet = b"0123456789 abcdefghmgLmcg/day.\\\"'\n\t=[]{}";
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len() as u64) as usize] as char)
            .collect()
    }
}

/// A program with the right shape and random values, sometimes with a long list of scheduled
/// boluses.
fn random_program(rng: &mut Rng) -> String {
    let mut text = format!(
        "[trial]\npatient = \"MRN-SOAK-{}\"\nroute = \"intrathecal\"\nkind = \"continuous\"\nduration = \"{}d\"\n[program]\ndrug = \"morphine\"\nconcentration = \"1 mg/mL\"\nreservoir = \"20 mL\"\nbasal = \"{} mg/day\"\n",
        rng.below(100),
        1 + rng.below(20),
        rng.below(40),
    );
    if rng.below(4) == 0 {
        let n = if rng.below(3) == 0 { 20_000 } else { 50 };
        for i in 0..n {
            text.push_str(&format!(
                "[[program.bolus]]\nat = \"{}min\"\ndose = \"0.1 mg\"\n",
                i * 7
            ));
        }
    }
    text
}

/// The program the soak's trial runs: intrathecal morphine with patient boluses.
pub const PROGRAM: &str = "[trial]\npatient = \"MRN-SOAK\"\nroute = \"intrathecal\"\nkind = \"continuous\"\nduration = \"14d\"\n[program]\ndrug = \"morphine\"\nconcentration = \"1 mg/mL\"\nreservoir = \"20 mL\"\nbasal = \"1 mg/day\"\npca = { dose = \"0.05 mg\", lockout = \"30min\", max_per_hour = 1 }\n";

fn private_bus(dir: &std::path::Path) -> (Killed, String) {
    let mut child = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
        .arg(format!("--address=unix:dir={}", dir.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dbus-daemon is installed (.ci/run installs Debian's dbus-daemon)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the bus's address");
    (Killed(child), line.trim().to_owned())
}

/// What one connection's calls came to.
#[derive(Default)]
struct Tally {
    calls: usize,
    refused: usize,
    latencies: Vec<StdDuration>,
    pains: usize,
    boluses: usize,
    side_effects: usize,
}

/// One hostile client: logs in now and then, and calls every method at random.
async fn client(address: String, seed: u64, calls: usize) -> Tally {
    let conn = zbus::connection::Builder::address(address.as_str())
        .build()
        .await
        .expect("connect");
    let proxy = Pump1Proxy::builder(&conn)
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await
        .expect("proxy");
    let mut rng = Rng(seed | 1);
    let mut tally = Tally::default();
    let mut token = String::new();
    for _ in 0..calls {
        let t = token.clone();
        let started = Instant::now();
        let ok = match rng.below(30) {
            0 => match proxy.login("nurse", "123456").await {
                Ok((tok, _, _)) => {
                    token = tok;
                    true
                }
                Err(_) => false,
            },
            1 => match proxy.login(&rng.text(), &rng.text()).await {
                Ok((tok, _, _)) => {
                    token = tok;
                    true
                }
                Err(_) => false,
            },
            2 => proxy.logout(&t).await.is_ok(),
            3 => proxy
                .validate_program(&random_program(&mut rng))
                .await
                .is_ok(),
            4 => proxy.validate_program(&rng.text()).await.is_ok(),
            5 => {
                let ok = proxy.request_bolus().await.is_ok();
                tally.boluses += usize::from(ok);
                ok
            }
            6 | 7 => {
                let ok = proxy.record_pain(rng.below(14) as u8).await.is_ok();
                tally.pains += usize::from(ok);
                ok
            }
            8 => {
                let (effect, severity) = match rng.below(3) {
                    0 => ("nausea".to_owned(), "mild".to_owned()),
                    1 => ("itching".to_owned(), rng.text()),
                    _ => (rng.text(), rng.text()),
                };
                let ok = proxy.record_side_effect(&effect, &severity).await.is_ok();
                tally.side_effects += usize::from(ok);
                ok
            }
            9 => proxy.record_function(rng.below(6) as u8).await.is_ok(),
            10 => proxy.record_pgic(rng.below(9) as u8).await.is_ok(),
            11 => proxy.check_basal(&rng.text()).await.is_ok(),
            12 => proxy
                .change_basal(&t, &rng.text(), rng.below(2) == 0, &rng.text(), &rng.text())
                .await
                .is_ok(),
            13 => proxy
                .clinician_bolus(&t, &rng.text(), true, "nurse2", "567890")
                .await
                .is_ok(),
            14 => proxy
                .start_trial(&t, &random_program(&mut rng), true, "nurse2", "567890")
                .await
                .is_ok(),
            15 => proxy.pause(&t).await.is_ok(),
            16 => proxy.resume(&t).await.is_ok(),
            17 => proxy.acknowledge_alarms(&t).await.is_ok(),
            18 => proxy
                .silence_alarms(&t, rng.below(2_000) as u32)
                .await
                .is_ok(),
            19 => proxy.change_reservoir(&t, &rng.text()).await.is_ok(),
            20 => proxy.record_catheter_removal(&t, &rng.text()).await.is_ok(),
            21 => proxy.confirm_checklist_item(&t, &rng.text()).await.is_ok(),
            22 => proxy.override_checklist(&t, &rng.text()).await.is_ok(),
            23 => proxy
                .record_spasticity(&t, &rng.text(), &rng.text())
                .await
                .is_ok(),
            24 => proxy.status_json().await.is_ok(),
            25 => proxy.history().await.is_ok(),
            26 => proxy.list_staff().await.is_ok(),
            27 => proxy.record_sedation(&t, rng.below(6) as u8).await.is_ok(),
            28 => proxy
                .record_vitals(
                    &t,
                    rng.below(200) as i32 - 20,
                    rng.below(300) as u16,
                    rng.below(120) as u8,
                    30.0 + rng.below(150) as f64 / 10.0,
                )
                .await
                .is_ok(),
            _ => proxy.end_unverified_trial(&t, &rng.text()).await.is_ok(),
        };
        tally.latencies.push(started.elapsed());
        tally.calls += 1;
        tally.refused += usize::from(!ok);
    }
    tally
}

/// Runs a soak and checks what it must; panics on any violation.
pub fn run(soak: Soak) -> Figures {
    let dir = std::env::temp_dir().join(format!("titra-soak-{}-{}", std::process::id(), soak.seed));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a directory for the soak");
    let (_bus, address) = private_bus(&dir);
    let db: PathBuf = dir.join("titra.db");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let figures = runtime.block_on(soak_on(&address, &db, soak));
    let _ = std::fs::remove_dir_all(&dir);
    figures
}

async fn soak_on(address: &str, db: &std::path::Path, soak: Soak) -> Figures {
    let service = PumpService::simulated_demo_logged(Some(db.to_owned()), Timestamp::ORIGIN)
        .expect("the pump service");
    let clock = ManualClock::default();
    let shared = Shared::new(service, Arc::new(clock.clone()));
    let server = titra::service::dbus::bus_builder(address)
        .name(BUS_NAME)
        .serve_at(OBJECT_PATH, PumpIface::new(shared.clone()))
        .build()
        .await
        .expect("the daemon's connection");

    // The nurse starts the trial.
    let nurse_conn = zbus::connection::Builder::address(address)
        .build()
        .await
        .expect("connect");
    let nurse = Pump1Proxy::new(&nurse_conn).await.expect("proxy");
    let (token, _, _) = nurse.login("nurse", "123456").await.expect("login");
    nurse
        .start_trial(&token, PROGRAM, true, "nurse2", "567890")
        .await
        .expect("the trial starts");
    nurse.prime(&token).await.expect("prime");
    nurse.start(&token).await.expect("start");

    // The pump runs the trial in virtual time, a minute a pass, while the clients call.
    let calling = Arc::new(AtomicBool::new(true));
    let driver = {
        let shared = shared.clone();
        let server = server.clone();
        let clock = clock.clone();
        let calling = calling.clone();
        let pace = soak.pace;
        let end = Timestamp::ORIGIN + soak.trial;
        tokio::spawn(async move {
            let mut longest = StdDuration::ZERO;
            let mut last = Instant::now();
            let mut now = Timestamp::ORIGIN;
            while now < end {
                now = (now + Duration::from_mins(1)).min(end);
                run_until(&shared, &server, &clock, now)
                    .await
                    .expect("the pump runs");
                longest = longest.max(last.elapsed());
                if calling.load(Ordering::Relaxed) && !pace.is_zero() {
                    tokio::time::sleep(pace).await;
                } else {
                    tokio::task::yield_now().await;
                }
                last = Instant::now();
            }
            longest
        })
    };
    let started = Instant::now();
    let clients: Vec<_> = (0..soak.connections)
        .map(|i| {
            tokio::spawn(client(
                address.to_owned(),
                soak.seed.wrapping_mul(31).wrapping_add(i as u64),
                soak.calls,
            ))
        })
        .collect();
    let mut tally = Tally::default();
    for c in clients {
        let t = c.await.expect("a client");
        tally.calls += t.calls;
        tally.refused += t.refused;
        tally.latencies.extend(t.latencies);
        tally.pains += t.pains;
        tally.boluses += t.boluses;
        tally.side_effects += t.side_effects;
    }
    let wall = started.elapsed();
    calling.store(false, Ordering::Relaxed);
    let longest_pass_gap = driver.await.expect("the pump's loop");
    tally.latencies.sort();

    let entry = {
        let s = shared.service.lock().await;
        s.engine().map(|e| e.entry().clone())
    }
    .expect("a trial in hand");
    judge(db, &entry, tally, wall, longest_pass_gap)
}

/// Reads the trial log back and checks it against what the clients were told; the figures.
fn judge(
    db: &std::path::Path,
    entry: &titra::core::library::LibraryEntry,
    tally: Tally,
    wall: StdDuration,
    longest_pass_gap: StdDuration,
) -> Figures {
    // What is on disk.
    let log = TrialLog::open(db).expect("the trial log");
    let trials = log.trials().expect("trials");
    let mut records = Vec::new();
    for (id, _, _) in &trials {
        records.extend(log.records(*id).expect("records"));
    }
    assert!(
        records.iter().any(|r| matches!(r, Record::Delivery { .. })),
        "the trial delivered"
    );
    invariants::check_journal(&records, &entry.cumulative);
    let count = |f: &dyn Fn(&Record) -> bool| records.iter().filter(|r| f(r)).count();
    let pains = count(&|r| matches!(r, Record::PainScore { .. }));
    let side_effects = count(&|r| matches!(r, Record::SideEffect { .. }));
    let granted = count(&|r| matches!(r, Record::PcaRequest { granted: true, .. }));
    assert_eq!(pains, tally.pains, "pain scores acknowledged and on disk");
    assert_eq!(
        side_effects, tally.side_effects,
        "side effects acknowledged and on disk"
    );
    assert_eq!(
        granted, tally.boluses,
        "patient boluses granted and on disk"
    );
    assert!(
        longest_pass_gap < WATCHDOG,
        "the pump's loop waited {longest_pass_gap:?}, longer than the watchdog allows"
    );
    // The log within the budget its trial's start recorded.
    let (budget_bytes, base) = records
        .iter()
        .find_map(|r| match r {
            Record::LogBudget { bytes, base, .. } => Some((*bytes, *base)),
            _ => None,
        })
        .expect("the trial's log budget is recorded");
    let log_growth = titra::store::budget::db_bytes(db).saturating_sub(base);
    assert!(
        log_growth <= budget_bytes,
        "the log grew {log_growth} bytes, over its budget of {budget_bytes}"
    );
    let rss_kb = proc_status::status_kb("self", "VmRSS:");
    assert!(
        rss_kb < MEMORY_MAX_KB,
        "{rss_kb} kB resident, over titra-pumpd's MemoryMax"
    );
    let log_bytes = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", db.display())).ok())
        .map(|m| m.len())
        .sum();
    Figures {
        calls: tally.calls,
        refused: tally.refused,
        wall,
        latencies: tally.latencies,
        longest_pass_gap,
        log_rows: log.row_count().expect("rows"),
        log_bytes,
        budget_bytes,
        log_growth,
        rss_kb,
        pains_acknowledged: tally.pains,
        boluses_granted: tally.boluses,
        side_effects_acknowledged: tally.side_effects,
    }
}
