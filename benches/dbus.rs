//! `cargo bench --bench dbus`: the daemon on a private bus — status round trip (a fresh
//! property read through the shared proxy: client → dbus-daemon → titra-pumpd and back) and the
//! daemon's resident memory while a trial runs.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use titra::service::dbus::Pump1Proxy;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const PROGRAM: &str = "[trial]\npatient = \"BENCH\"\nroute = \"intrathecal\"\nkind = \"continuous\"\nduration = \"3d\"\n[program]\ndrug = \"morphine\"\nconcentration = \"1 mg/mL\"\nreservoir = \"20 mL\"\nbasal = \"1 mg/day\"\npca = { dose = \"0.05 mg\", lockout = \"1h\", max_per_hour = 1 }\n";

#[path = "common/proc_status.rs"]
mod proc_status;
use proc_status::status_kb;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let dir = std::env::temp_dir().join(format!("titra-dbus-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let mut bus = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
        .arg(format!("--address=unix:dir={}", dir.display()))
        .stdout(Stdio::piped())
        .spawn()
        .expect("dbus-daemon");
    let mut address = String::new();
    BufReader::new(bus.stdout.take().expect("stdout"))
        .read_line(&mut address)
        .expect("address");
    let _bus = Killed(bus);
    let address = address.trim().to_owned();
    let pumpd = Command::new(env!("CARGO_BIN_EXE_titra-pumpd"))
        .args(["--sim", "--bus", &address, "--db"])
        .arg(dir.join("titra.db"))
        .env("TITRA_LOG", "error")
        .spawn()
        .expect("titra-pumpd");
    let pid = pumpd.id();
    let _pumpd = Killed(pumpd);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (samples, rss) = runtime.block_on(async {
        let conn = zbus::connection::Builder::address(address.as_str())
            .build()
            .await
            .expect("connect");
        let proxy = Pump1Proxy::new(&conn).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        let proxy = loop {
            if let Ok(p) = &proxy
                && p.status_json().await.is_ok()
            {
                break Pump1Proxy::new(&conn).await.expect("proxy");
            }
            assert!(Instant::now() < deadline, "the daemon did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let (token, _, _) = proxy.login("nurse", "123456").await.expect("login");
        proxy
            .start_trial(&token, PROGRAM, false, "nurse2", "567890")
            .await
            .expect("trial");
        let (items, _, _) = proxy.checklist(&token).await.expect("checklist");
        for item in items {
            proxy
                .confirm_checklist_item(&token, &item.id)
                .await
                .expect("checklist item");
        }
        proxy.prime(&token).await.expect("prime");
        proxy.start(&token).await.expect("start");
        let n = if full { 2_000 } else { 50 };
        let mut samples = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            let _ = proxy.status_json().await.expect("status");
            samples.push(t.elapsed());
        }
        (samples, status_kb(&pid.to_string(), "VmRSS:"))
    });
    let mut sorted = samples.clone();
    sorted.sort_unstable();
    let pct = |p: f64| sorted[((sorted.len() as f64 - 1.0) * p) as usize];
    if !full {
        println!(
            "(quick run to check the benchmark works; run `cargo bench --bench dbus` for figures)"
        );
    }
    println!("| titra-pumpd on a private bus | p50 | p99 | target |");
    println!("|---|---|---|---|");
    println!(
        "| status round trip ({} calls) | {:.2} ms | {:.2} ms | p99 < 2 ms |",
        samples.len(),
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3
    );
    println!();
    println!(
        "| daemon resident memory, trial running | {:.1} MB | target < 20 MB |",
        rss as f64 / 1024.0
    );
    let _ = std::fs::remove_dir_all(&dir);
}
