//! What the system around the code is checked against, in one test binary: the systemd units as
//! systemd reads them (systemd), the hazards table against the tests it names (hazards), and the
//! layers of the source tree (architecture), the dependencies against deny.toml (licences), and
//! the texts people read against the German catalogue (translations).

#[path = "../common/mod.rs"]
mod common;

mod architecture;
mod hazards;
mod licences;
mod systemd;
mod translations;
