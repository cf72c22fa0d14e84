//! Step pulses from a dedicated thread with real-time priority (SCHED_FIFO, memory locked), fed
//! by the engine, so that delivery timing does not depend on the async runtime.
//!
//! The thread enables the driver only for the burst it is asked for and disables it again at
//! once: between bursts (almost all of the time at intrathecal rates) the EN line is off, so a
//! process that crashes or hangs leaves the motor without current. A lead screw does not
//! back-drive, so the plunger holds without it.

use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Direction, HwError};

/// What the pulse thread drives: a stepper's enable line and its pulses.
pub trait Motor: Send + 'static {
    fn set_enabled(&mut self, on: bool) -> Result<(), HwError>;
    /// Pulses `steps` now; returns how many were given.
    fn step(&mut self, direction: Direction, steps: u64) -> Result<u64, HwError>;
}

impl<STEP, DIR, EN, D, E> Motor for super::stepper::Stepper<STEP, DIR, EN, D>
where
    STEP: embedded_hal::digital::OutputPin<Error = E> + Send + 'static,
    DIR: embedded_hal::digital::OutputPin<Error = E> + Send + 'static,
    EN: embedded_hal::digital::OutputPin<Error = E> + Send + 'static,
    D: embedded_hal::delay::DelayNs + Send + 'static,
    E: std::fmt::Debug,
{
    fn set_enabled(&mut self, on: bool) -> Result<(), HwError> {
        super::stepper::Stepper::set_enabled(self, on).map_err(|e| HwError::gpio("motor enable", e))
    }
    fn step(&mut self, direction: Direction, steps: u64) -> Result<u64, HwError> {
        super::stepper::Stepper::step(self, direction, steps)
            .map_err(|e| HwError::gpio("motor step", e))
    }
}

/// A burst given: how many steps, and how late its first pulse was against the time asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Burst {
    pub steps: u64,
    pub late: Duration,
}

enum Command {
    Step {
        direction: Direction,
        steps: u64,
        at: Instant,
        done: Sender<Result<Burst, HwError>>,
    },
    Stop,
}

/// The pulse thread and the way to it.
pub struct PulseThread {
    tx: Sender<Command>,
    handle: Option<JoinHandle<()>>,
    /// Whether the thread runs with real-time priority and locked memory (and why not).
    pub realtime: Result<(), String>,
}

/// Sleeps until `at`: the scheduler's sleep to shortly before, then a short spin, so that the
/// pulse does not wait for the next timer tick.
fn wait_until(at: Instant) {
    const SPIN: Duration = Duration::from_micros(200);
    let now = Instant::now();
    if at > now + SPIN {
        std::thread::sleep(at - now - SPIN);
    }
    while Instant::now() < at {
        std::hint::spin_loop();
    }
}

/// SCHED_FIFO at `priority` and all memory locked, for the calling thread.
fn make_realtime(priority: i32) -> Result<(), String> {
    let param = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: plain system calls on the calling thread with a valid parameter block.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
    if rc != 0 {
        return Err(format!(
            "real-time priority refused ({}); the service needs LimitRTPRIO or CAP_SYS_NICE",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: as above.
    let rc = unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) };
    if rc != 0 {
        return Err(format!(
            "memory could not be locked ({}); the service needs LimitMEMLOCK",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

fn run<M: Motor>(mut motor: M, rx: Receiver<Command>) {
    while let Ok(command) = rx.recv() {
        match command {
            Command::Step {
                direction,
                steps,
                at,
                done,
            } => {
                wait_until(at);
                let late = Instant::now().saturating_duration_since(at);
                let given = motor
                    .set_enabled(true)
                    .and_then(|()| motor.step(direction, steps));
                // Off again whatever happened (a failed enable included): the motor holds no
                // current between bursts.
                let off = motor.set_enabled(false);
                let result = given.and_then(|steps| off.map(|()| Burst { steps, late }));
                let _ = done.send(result);
            }
            Command::Stop => break,
        }
    }
    let _ = motor.set_enabled(false);
}

impl PulseThread {
    /// Starts the thread with the motor disabled. With `priority`, the thread asks for
    /// SCHED_FIFO at that priority and locks memory; [`PulseThread::realtime`] says whether it
    /// got them (the caller decides whether running without is acceptable).
    pub fn spawn<M: Motor>(mut motor: M, priority: Option<i32>) -> Result<PulseThread, HwError> {
        motor.set_enabled(false)?;
        let (tx, rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("titra-pulses".to_owned())
            .spawn(move || {
                let realtime = match priority {
                    Some(p) => make_realtime(p),
                    None => Err("not asked for".to_owned()),
                };
                let _ = ready_tx.send(realtime);
                run(motor, rx);
            })
            .map_err(|e| HwError::gpio("pulse thread", e))?;
        let realtime = ready_rx
            .recv()
            .unwrap_or_else(|_| Err("the pulse thread did not start".to_owned()));
        Ok(PulseThread {
            tx,
            handle: Some(handle),
            realtime,
        })
    }

    /// Queues `steps` for `at` (at once if it has passed) without waiting: the engine can feed
    /// the thread ahead of time, so that its own scheduling does not delay a pulse. The
    /// receiver gets the burst when it is given.
    pub fn submit(
        &self,
        direction: Direction,
        steps: u64,
        at: Instant,
    ) -> Result<Receiver<Result<Burst, HwError>>, HwError> {
        let (done, wait) = mpsc::channel();
        self.tx
            .send(Command::Step {
                direction,
                steps,
                at,
                done,
            })
            .map_err(|_| HwError::gpio("pulse thread", "stopped"))?;
        Ok(wait)
    }

    /// Gives `steps` at `at` (now if it has passed) and waits until they are given.
    pub fn step_at(&self, direction: Direction, steps: u64, at: Instant) -> Result<Burst, HwError> {
        self.submit(direction, steps, at)?
            .recv()
            .map_err(|_| HwError::gpio("pulse thread", "stopped"))?
    }

    /// Gives `steps` now.
    pub fn step(&self, direction: Direction, steps: u64) -> Result<u64, HwError> {
        self.step_at(direction, steps, Instant::now())
            .map(|b| b.steps)
    }
}

impl Drop for PulseThread {
    fn drop(&mut self) {
        let _ = self.tx.send(Command::Stop);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A motor that records what it was told, in order.
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<String>>>);

    impl Motor for Recorder {
        fn set_enabled(&mut self, on: bool) -> Result<(), HwError> {
            self.0.lock().unwrap().push(format!("enable {on}"));
            Ok(())
        }
        fn step(&mut self, direction: Direction, steps: u64) -> Result<u64, HwError> {
            if steps == 13 {
                return Err(HwError::gpio("motor step", "stalled"));
            }
            self.0
                .lock()
                .unwrap()
                .push(format!("{direction:?} {steps}"));
            Ok(steps)
        }
    }

    #[test]
    fn the_driver_is_on_only_for_each_burst() {
        let motor = Recorder::default();
        let log = motor.0.clone();
        let pulses = PulseThread::spawn(motor, None).unwrap();
        assert!(pulses.realtime.is_err(), "not asked for");
        assert_eq!(pulses.step(Direction::Forward, 3).unwrap(), 3);
        assert_eq!(pulses.step(Direction::Back, 2).unwrap(), 2);
        // A failed burst still switches the driver off.
        assert!(pulses.step(Direction::Forward, 13).is_err());
        drop(pulses);
        assert_eq!(
            *log.lock().unwrap(),
            [
                "enable false",
                "enable true",
                "Forward 3",
                "enable false",
                "enable true",
                "Back 2",
                "enable false",
                "enable true",
                "enable false",
                "enable false",
            ]
        );
    }

    #[test]
    fn a_burst_waits_for_its_time() {
        let pulses = PulseThread::spawn(Recorder::default(), None).unwrap();
        let at = Instant::now() + Duration::from_millis(20);
        let burst = pulses.step_at(Direction::Forward, 1, at).unwrap();
        assert!(Instant::now() >= at, "not before its time");
        assert_eq!(burst.steps, 1);
    }
}
