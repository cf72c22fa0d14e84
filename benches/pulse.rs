//! `cargo bench --bench pulse`: how late the step-pulse thread gives a burst against the time
//! it was asked for (p50 / p99 / max), with the machine loaded by a second process spinning on
//! every core. On a Pi the same command prints the same figures. The thread asks for SCHED_FIFO
//! and locked memory, as on the pump; the table says whether it got them. Without `--bench`
//! (as `cargo test --benches` runs it): 100 bursts, no load.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use titra::hw::pulse::{Motor, PulseThread};
use titra::hw::{Direction, HwError};

/// A motor with nothing attached: the figures are the thread's timing alone.
struct Bare;

impl Motor for Bare {
    fn set_enabled(&mut self, _on: bool) -> Result<(), HwError> {
        Ok(())
    }
    fn step(&mut self, _direction: Direction, steps: u64) -> Result<u64, HwError> {
        Ok(steps)
    }
}

fn load(cores: usize) -> Vec<Child> {
    (0..cores)
        .filter_map(|_| {
            Command::new("sh")
                .args(["-c", "while :; do :; done"])
                .spawn()
                .ok()
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let bursts = if full { 5_000 } else { 100 };
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut busy = if full { load(cores) } else { Vec::new() };
    let pulses = PulseThread::spawn(Bare, Some(titra::hw::PULSE_PRIORITY)).expect("thread");
    // Queued a quarter of a second ahead, as the engine feeds the thread: the figures are the
    // thread's own timing, not how quickly this (ordinary-priority) loop gets the CPU.
    let mut late = Vec::with_capacity(bursts);
    let start = Instant::now() + Duration::from_millis(300);
    let ahead = 125;
    let mut queue = std::collections::VecDeque::new();
    for i in 0..bursts {
        let at = start + Duration::from_millis(2 * i as u64);
        queue.push_back(pulses.submit(Direction::Forward, 1, at).expect("queued"));
        if queue.len() > ahead
            && let Some(done) = queue.pop_front()
        {
            late.push(done.recv().expect("given").expect("burst").late);
        }
    }
    for done in queue {
        late.push(done.recv().expect("given").expect("burst").late);
    }
    for c in &mut busy {
        let _ = c.kill();
        let _ = c.wait();
    }
    late.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "| step-pulse thread, {bursts} bursts every 2 ms{} | real-time | p50 | p99 | max | over 100 µs |",
        if full {
            format!(", {} spinning processes", busy.len())
        } else {
            String::new()
        }
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "| lateness against the time asked | {} | {:.0} µs | {:.0} µs | {:.0} µs | {} |",
        match &pulses.realtime {
            Ok(()) => "SCHED_FIFO, memory locked".to_owned(),
            Err(why) => format!("no ({why})"),
        },
        us(percentile(&late, 0.5)),
        us(percentile(&late, 0.99)),
        us(*late.last().unwrap_or(&Duration::ZERO)),
        late.iter()
            .filter(|d| **d > Duration::from_micros(100))
            .count(),
    );
}
