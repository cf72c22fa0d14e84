//! `cargo bench --bench memory`: the daemon's resident memory after a simulated 30-day trial
//! (issue 19, part 4; target 30 MB), and the trial log's size.
//!
//! The daemon's stack as `titra-pumpd --sim --db FILE` builds it, in this process on virtual
//! time: the pump service on simulated hardware with its trial log on disk, the D-Bus interface
//! served on a peer-to-peer link with a client proxy on the other end (what a screen holds),
//! and the control loop's `run_until`, which ticks the pump and publishes the signals and
//! changed properties as the daemon does. A 30-day continuous trial (morphine 1 mg/day, a press
//! every hour through the proxy) runs to its end; VmRSS is read from /proc/self/status at the
//! start, and after 1, 14 and 30 days. The process holds the client's side of the link too, so
//! the figure is a little above the daemon's own.

use std::sync::Arc;

use titra::core::units::{Duration, Timestamp};
use titra::service::dbus::{ExportTarget, OBJECT_PATH, Pump1Proxy, PumpIface, Shared, run_until};
use titra::service::pump::PumpService;
use titra::time::ManualClock;

const PROGRAM: &str = "[trial]\npatient = \"BENCH-30D\"\nroute = \"intrathecal\"\nkind = \"continuous\"\nduration = \"30d\"\n[program]\ndrug = \"morphine\"\nconcentration = \"1 mg/mL\"\nreservoir = \"20 mL\"\nbasal = \"1 mg/day\"\npca = { dose = \"0.05 mg\", lockout = \"1h\", max_per_hour = 1 }\n";

#[path = "common/proc_status.rs"]
mod proc_status;
use proc_status::status_kb;

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let days: u64 = if full { 30 } else { 2 };
    let dir = std::env::temp_dir().join(format!("titra-memory-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let db = dir.join("titra.db");
    // A 20 mL syringe lasts 20 days at 1 mg/day: the bench changes it when it runs low.
    let service =
        PumpService::simulated_demo_logged(Some(db.clone()), Timestamp::ORIGIN).expect("service");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let rows = runtime.block_on(async {
        let clock = ManualClock::default();
        let shared = Shared::new(service, Arc::new(clock.clone()));
        let iface = PumpIface::new(shared.clone()).exporting_to(ExportTarget::Dir(dir.clone()));
        let (a, b) = std::os::unix::net::UnixStream::pair().expect("pair");
        let server = zbus::connection::Builder::unix_stream(a)
            .server(zbus::Guid::generate())
            .p2p()
            .serve_at(OBJECT_PATH, iface);
        let (server, client) = tokio::join!(
            server.build(),
            zbus::connection::Builder::unix_stream(b).p2p().build()
        );
        let (server, client) = (server.expect("server"), client.expect("client"));
        let proxy = Pump1Proxy::new(&client).await.expect("proxy");
        let nurse = proxy.login("nurse", "123456").await.expect("login").0;
        proxy
            .start_trial(&nurse, PROGRAM, true, "nurse2", "567890")
            .await
            .expect("trial");
        proxy.prime(&nurse).await.expect("prime");
        proxy.start(&nurse).await.expect("start");
        println!("| after | records made | in memory | VmRSS | VmHWM | log on disk |");
        println!("|---|---|---|---|---|---|");
        let report = |label: &str, shared: &Shared| {
            let (made, kept) = shared
                .service
                .try_lock()
                .ok()
                .and_then(|s| s.engine().map(|e| (e.records_made(), e.journal().len())))
                .unwrap_or((0, 0));
            let log = titra::store::budget::log_bytes(&db);
            println!(
                "| {label} | {made} | {kept} | {:.1} MB | {:.1} MB | {:.1} MB |",
                mb(status_kb("self", "VmRSS:")),
                mb(status_kb("self", "VmHWM:")),
                log as f64 / 1e6
            );
        };
        report("start", &shared);
        let mut now = Timestamp::ORIGIN;
        for hour in 1..=days * 24 {
            now = Timestamp::ORIGIN + Duration::from_hours(hour);
            run_until(&shared, &server, &clock, now).await.expect("run");
            let _ = proxy.request_bolus().await;
            if hour % 24 == 0 {
                // The nurse's day: a fresh login, the syringe changed when under 2 mL, alarms
                // acknowledged (sessions end after 3 idle minutes).
                let nurse = proxy.login("nurse", "123456").await.expect("login").0;
                let low = shared
                    .service
                    .lock()
                    .await
                    .engine()
                    .is_some_and(|e| e.reservoir_remaining().nl() < 2_000_000);
                if low {
                    let _ = proxy.pause(&nurse).await;
                    let _ = proxy.change_reservoir(&nurse, "20 mL").await;
                }
                let _ = proxy.acknowledge_alarms(&nurse).await;
                let _ = proxy.resume(&nurse).await;
                let day = hour / 24;
                if day == 1 || day == 14 || day == days {
                    report(&format!("{day} d"), &shared);
                }
            }
        }
        let state = shared.service.lock().await.state();
        println!();
        println!("(the pump's state at the end: {state}; virtual time {now})");
        shared
            .service
            .lock()
            .await
            .engine()
            .map_or(0, |e| e.records_made())
    });
    // Fold the WAL in so the log's size is the whole log.
    let conn = rusqlite::Connection::open(&db).expect("open");
    let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
    drop(conn);
    let size = std::fs::metadata(&db).map_or(0, |m| m.len());
    let budget = titra::store::budget::LogBudget::for_duration(Duration::from_days(days));
    println!(
        "log of the {days}-day trial: {rows} rows, {:.1} MB ({:.0} bytes a row); its budget {:.1} MB",
        size as f64 / 1e6,
        size as f64 / rows.max(1) as f64,
        budget.bytes as f64 / 1e6
    );
    if !full {
        println!(
            "(quick run to check the benchmark works; run `cargo bench --bench memory` for figures)"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
