//! The pump daemon's service: who may call (auth), the pump as the daemon holds it (pump), the
//! typed contract it shares with its clients (wire), and its D-Bus face (dbus).

pub mod auth;
pub mod dbus;
pub mod pump;
pub mod wire;
