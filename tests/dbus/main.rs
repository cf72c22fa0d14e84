//! The daemon's D-Bus interface, in one test binary: `org.titra.Pump1` over a peer-to-peer link in
//! virtual time (p2p), the daemon for real on a private `dbus-daemon` driven by busctl and gdbus
//! (bus), and finding a USB stick through a UDisks2 of the test's own (udisks). One file's tests:
//! `cargo test --test dbus p2p::`.

#[path = "../common/mod.rs"]
mod common;

mod access;
mod bus;
mod limits;
mod p2p;
mod retrial;
mod soak;
mod udisks;
