//! The daemon's service as titra-pumpd runs it on simulated hardware, keeping a trial log; and a
//! wall clock the test sets.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use titra::core::units::Timestamp;
use titra::service::pump::PumpService;
use titra::time::WallClock;

/// A daemon on simulated hardware with the built-in configuration and the demo users, keeping
/// its trial log (and the syringe's position, as a real plunger stays put) in `dir`, its clock
/// at `now`. Started again on the same directory, it recovers the trial.
pub fn logged_service(dir: &Path, now: Timestamp) -> PumpService {
    let (library, _) = titra::input::check::load_library(None).unwrap();
    logged_service_with_library(dir, now, library)
}

/// The same daemon with `library` as the drug library in force (one changed between two starts).
pub fn logged_service_with_library(
    dir: &Path,
    now: Timestamp,
    library: titra::core::library::DrugLibrary,
) -> PumpService {
    let cfg = titra::input::hardware::HardwareConfig::built_in().unwrap();
    logged_service_with_config(dir, now, library, cfg)
}

/// The same daemon with the hardware profile `cfg` (a site's `[integration]`, say).
pub fn logged_service_with_config(
    dir: &Path,
    now: Timestamp,
    library: titra::core::library::DrugLibrary,
    cfg: titra::input::hardware::HardwareConfig,
) -> PumpService {
    let (_, source) = titra::input::check::load_library(None).unwrap();
    let auth = titra::service::auth::Auth::demo().unwrap();
    let db = dir.join("titra.db");
    let mut sim = titra::sim::SimPump::new(&cfg.mechanism, &cfg.simulation, cfg.mechanism.syringe);
    sim.keep_state_in(titra::cli::simulate::sim_state_path(&db), true);
    PumpService::new(cfg, library, source, auth, Box::new(sim), Some(db), now).unwrap()
}

/// A wall clock (Unix time in ms) that stands where the test puts it. Clones share the time.
#[derive(Clone, Default)]
pub struct FakeWall(Arc<AtomicU64>);

impl FakeWall {
    pub fn at(unix_ms: u64) -> FakeWall {
        FakeWall(Arc::new(AtomicU64::new(unix_ms)))
    }

    /// Moves it back by `ms` (a clock corrected backwards).
    pub fn go_back(&self, ms: u64) {
        self.0.fetch_sub(ms, Ordering::SeqCst);
    }
}

impl WallClock for FakeWall {
    fn unix_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}
