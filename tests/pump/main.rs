//! The pump on simulated hardware, in one test binary (one link of the library and slint): the
//! engine, changing the program during a trial, the trial log, crash recovery, the fault-injection
//! matrix, the simulator on the example scenarios, the summary export and the daemon's answers in
//! German, and the device messages for the hospital (IHE PCD) read by hl7apy. Nothing here needs a D-Bus daemon or systemd; the export reads its PDFs back with
//! pdftotext. One file's tests: `cargo test --test pump engine::`.

#[path = "../common/mod.rs"]
mod common;

mod crash;
mod demo;
mod engine;
mod export;
mod fault_matrix;
mod fhir;
mod german;
mod hl7;
mod mllp;
mod outbox;
mod readable;
mod simulate;
mod storage;
mod titrate;
mod tls;
mod trial_log;
