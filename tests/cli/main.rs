//! The `titra` command as a nurse and other tools use it, in one test binary: `titra check`
//! (check) and `titra calibrate --sim` (calibrate).

#[path = "../common/mod.rs"]
mod common;

mod calibrate;
mod check;
mod demo;
mod network;
mod outbox;
