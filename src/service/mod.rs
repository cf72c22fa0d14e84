//! The pump daemon's service: who may call (auth), the pump as the daemon holds it (pump), and
//! its D-Bus face (dbus).

pub mod auth;
pub mod dbus;
pub mod pump;
