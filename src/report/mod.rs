//! What the trial gives the clinician: the trial summary computed from the log (`summary`), and
//! its exports — the PDF a clinician reads, the CSV time series, the files with their manifest
//! written to a directory or a USB stick (`export`, `usb`), each created new in a folder of its
//! own without following any link (`fresh`); and the pump's device messages for the hospital's
//! systems, IHE PCD in HL7 v2.6 (`pcd`).

pub mod csv;
pub mod export;
pub mod fhir;
pub mod fresh;
pub mod pcd;
pub mod pdf;
pub mod summary;
pub mod usb;
mod words;
