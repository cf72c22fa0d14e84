//! The files the pump reads: the hardware configuration, the drug library (and the check of a
//! program against it), the site protocol, and scenario (program) files. Each is read strictly
//! and refused whole on the first problem, naming the line, the field and the value.

pub mod ca;
pub mod check;
pub mod hardware;
pub mod network;
pub mod protocol;
pub mod scenario;
