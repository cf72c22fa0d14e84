//! Titra: the software of a bedside trial pump for intrathecal and epidural drug delivery.
//!
//! Prototype software for research and bench use, not a cleared medical device.
//!
//! - [`core`]: the pure dosing core (units, drug library, program, dose accounting).
//! - [`scenario`]: scenario and program files, as `titra check` and `titra simulate` read them.
//! - [`check`]: `titra check`, the program check written out for a nurse.

pub mod check;
pub mod config;
pub mod core;
pub mod hw;
pub mod scenario;
