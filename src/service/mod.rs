//! The pump daemon's service: who may call (auth), the pump as the daemon holds it (pump), the
//! typed contract it shares with its clients (wire), its D-Bus face (dbus), and the senders of
//! its messages to the hospital's interface engines and FHIR servers (outbound).

pub mod auth;
pub mod dbus;
pub mod outbound;
pub mod pump;
pub mod wire;
