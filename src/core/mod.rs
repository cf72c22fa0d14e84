//! The dosing core: pure, with no I/O and no clock of its own. Feed it time and events, read its
//! decisions. Everything the pump decides about a dose is decided here, and tested here.

pub mod dose;
pub mod finding;
pub mod library;
pub mod occlusion;
pub mod program;
pub mod scheduler;
pub mod supervisor;
pub mod units;
