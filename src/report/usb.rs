//! USB sticks for the export, found and mounted through UDisks2 over D-Bus (zbus).
//!
//! UDisks2 lists its objects through `org.freedesktop.DBus.ObjectManager` at
//! `/org/freedesktop/UDisks2`: a filesystem is an object with the `Block` and `Filesystem`
//! interfaces, whose `Block.Drive` names the drive object (for a partition, the disk it is on),
//! which has the `Drive` interface with `ConnectionBus` ("usb" for a stick). Only filesystems on
//! USB drives are considered, so the pump's own SD card is never written to; devices UDisks2
//! marks to be ignored or as system devices are skipped.
//!
//! UDisks2 marks every USB drive as not a system device, so a Pi that boots from a USB disk
//! would offer its own boot partition as a stick: a drive that holds a filesystem mounted at `/`
//! or at a system directory (`/boot/firmware`, `/usr`, ...), or active swap, is never chosen.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use zbus::Connection;
use zbus::{OwnedObjectPath, OwnedVariant as OwnedValue, Variant as Value};

const SERVICE: &str = "org.freedesktop.UDisks2";
const ROOT: &str = "/org/freedesktop/UDisks2";
const BLOCK: &str = "org.freedesktop.UDisks2.Block";
const FILESYSTEM: &str = "org.freedesktop.UDisks2.Filesystem";
const DRIVE: &str = "org.freedesktop.UDisks2.Drive";
const SWAPSPACE: &str = "org.freedesktop.UDisks2.Swapspace";
/// How long UDisks2 may take to list its objects, and to mount a stick (it may check the
/// filesystem first), before the clinician is told.
const ANSWER: std::time::Duration = std::time::Duration::from_secs(10);
const MOUNTING: std::time::Duration = std::time::Duration::from_secs(60);

/// A mounted, writable USB stick with room for the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stick {
    /// The block device ("/dev/sda1").
    pub device: String,
    /// Its filesystem label ("" when it has none).
    pub label: String,
    pub mount_point: PathBuf,
    pub free_bytes: u64,
}

/// Why there is no stick to export to, in words for the clinician.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsbError {
    #[error("No USB stick found: plug one into the pump's USB port and press Export again.")]
    NoStick,
    #[error(
        "The USB stick {} is write-protected: slide its lock switch off or use another stick.",
        shown(label)
    )]
    ReadOnly { label: String },
    #[error(
        "The USB stick {} is full: it has {} free and the export needs {}. Use another stick or make room on it.",
        shown(label), size(*free_bytes, Round::Down), size(*needed_bytes, Round::Up)
    )]
    Full {
        label: String,
        free_bytes: u64,
        needed_bytes: u64,
    },
    #[error("The USB stick could not be used ({0}). Try again, or another stick.")]
    Udisks(String),
}

fn shown(label: &str) -> String {
    if label.is_empty() {
        "(no name)".to_owned()
    } else {
        format!("\"{label}\"")
    }
}

/// Free space is rounded down and what is needed up, so a full stick never reads as having
/// what the export needs.
#[derive(Clone, Copy)]
enum Round {
    Down,
    Up,
}

/// "12 kB", "3.4 MB".
fn size(bytes: u64, round: Round) -> String {
    let divide = |unit: u64| match round {
        Round::Down => bytes / unit,
        Round::Up => bytes.div_ceil(unit),
    };
    if bytes < 1_000_000 {
        format!("{} kB", divide(1000))
    } else {
        let tenths = divide(100_000);
        format!("{}.{} MB", tenths / 10, tenths % 10)
    }
}

type Properties = HashMap<String, OwnedValue>;
type Objects = HashMap<OwnedObjectPath, HashMap<String, Properties>>;

fn flag(props: &Properties, name: &str) -> bool {
    props
        .get(name)
        .and_then(|v| bool::try_from(v).ok())
        .unwrap_or(false)
}

fn text(props: &Properties, name: &str) -> String {
    props
        .get(name)
        .and_then(|v| v.try_clone().ok())
        .and_then(|v| String::try_from(v).ok())
        .unwrap_or_default()
}

/// An object path property; None for UDisks2's "/" (no such object).
fn object(props: &Properties, name: &str) -> Option<OwnedObjectPath> {
    props
        .get(name)
        .and_then(|v| v.try_clone().ok())
        .and_then(|v| OwnedObjectPath::try_from(v).ok())
        .filter(|p| p.as_str() != "/")
}

/// A NUL-terminated byte string (UDisks2's `ay` paths) as text.
fn bytes_text(v: Vec<u8>) -> String {
    let end = v.iter().position(|b| *b == 0).unwrap_or(v.len());
    String::from_utf8_lossy(&v[..end]).into_owned()
}

fn mount_points(props: &Properties) -> Vec<PathBuf> {
    props
        .get("MountPoints")
        .and_then(|v| v.try_clone().ok())
        .and_then(|v| Vec::<Vec<u8>>::try_from(v).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|p| PathBuf::from(bytes_text(p)))
        .collect()
}

/// Where the running system's own filesystems are mounted: `/`, anything under `/boot` or
/// `/efi` (the Pi's `/boot/firmware`), and the directories that are sometimes filesystems of
/// their own.
fn is_system_mount(p: &Path) -> bool {
    const OWN: [&str; 8] = [
        "/usr", "/var", "/home", "/opt", "/srv", "/root", "/etc", "/nix",
    ];
    p == Path::new("/")
        || p.starts_with("/boot")
        || p.starts_with("/efi")
        || OWN.iter().any(|d| p == Path::new(d))
}

/// The drive a block device is on: its `Block.Drive`, or for an unlocked encrypted device
/// (which has none), the drive of the device it was unlocked from.
fn drive_of(objects: &Objects, block_path: &OwnedObjectPath) -> Option<OwnedObjectPath> {
    let mut at = block_path.clone();
    for _ in 0..4 {
        let block = objects.get(&at)?.get(BLOCK)?;
        if let Some(drive) = object(block, "Drive") {
            return Some(drive);
        }
        at = object(block, "CryptoBackingDevice")?;
    }
    None
}

/// Drives holding the running system: a filesystem of theirs mounted at a system place, or
/// swap in use.
fn system_drives(objects: &Objects) -> HashSet<OwnedObjectPath> {
    objects
        .iter()
        .filter(|(_, ifaces)| {
            let mounted = ifaces
                .get(FILESYSTEM)
                .is_some_and(|fs| mount_points(fs).iter().any(|p| is_system_mount(p)));
            let swap = ifaces.get(SWAPSPACE).is_some_and(|s| flag(s, "Active"));
            mounted || swap
        })
        .filter_map(|(path, _)| drive_of(objects, path))
        .collect()
}

/// A USB filesystem UDisks2 knows of.
struct Candidate {
    path: OwnedObjectPath,
    device: String,
    label: String,
    read_only: bool,
    mounted_at: Option<PathBuf>,
}

/// The filesystems on USB drives that do not hold the system, in object-path order.
fn candidates(objects: &Objects) -> Vec<Candidate> {
    let system = system_drives(objects);
    let mut out: Vec<Candidate> = objects
        .iter()
        .filter_map(|(path, ifaces)| {
            let block = ifaces.get(BLOCK)?;
            let fs = ifaces.get(FILESYSTEM)?;
            let device = block
                .get("Device")
                .and_then(|v| v.try_clone().ok())
                .and_then(|v| Vec::<u8>::try_from(v).ok())
                .map(bytes_text)
                .unwrap_or_default();
            let skip = |why: &str| {
                tracing::debug!(%device, why, "not a USB stick for the export");
                None
            };
            if flag(block, "HintIgnore") || flag(block, "HintSystem") {
                return skip("UDisks2 marks it as ignored or as a system device");
            }
            let Some(drive_path) = drive_of(objects, path) else {
                return skip("on no drive");
            };
            let Some(drive) = objects.get(&drive_path).and_then(|d| d.get(DRIVE)) else {
                return skip("its drive is unknown");
            };
            if text(drive, "ConnectionBus") != "usb" {
                return skip("not on a USB drive");
            }
            if system.contains(&drive_path) {
                return skip("on the drive that holds the system");
            }
            Some(Candidate {
                path: path.clone(),
                device,
                label: text(block, "IdLabel"),
                read_only: flag(block, "ReadOnly"),
                mounted_at: mount_points(fs).into_iter().next(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.path.as_str().cmp(b.path.as_str()));
    out
}

/// Free bytes for an unprivileged writer, and whether the filesystem is mounted read-only.
fn space(path: &Path) -> Result<(u64, bool), UsbError> {
    let st = rustix::fs::statvfs(path)
        .map_err(|e| UsbError::Udisks(format!("cannot read {}: {e}", path.display())))?;
    let read_only = st.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY);
    Ok((st.f_bavail.saturating_mul(st.f_frsize), read_only))
}

/// Finds a USB stick with a filesystem, mounts it if needed (UDisks2 `Filesystem.Mount` with no
/// options), and checks it is writable and has `needed_bytes` free. The first suitable stick in
/// object-path order is used; a write-protected, full or unmountable one is reported (the first
/// such, in the same order) only when no other stick will do.
pub async fn find_stick(conn: &Connection, needed_bytes: u64) -> Result<Stick, UsbError> {
    let manager = zbus::fdo::ObjectManagerProxy::builder(conn)
        .destination(SERVICE)
        .path(ROOT)
        .build()
        .await
        .map_err(|e| {
            UsbError::Udisks(format!(
                "the pump's USB service (UDisks2) cannot be reached: {e}"
            ))
        })?;
    let managed = tokio::time::timeout(ANSWER, manager.get_managed_objects())
        .await
        .map_err(|_| {
            UsbError::Udisks("the pump's USB service (UDisks2) did not answer in time".to_owned())
        })?
        .map_err(|e| {
            UsbError::Udisks(format!(
                "the pump's USB service (UDisks2) did not answer: {e}"
            ))
        })?;
    let objects: Objects = managed
        .into_iter()
        .map(|(path, ifaces)| {
            (
                path,
                ifaces
                    .into_iter()
                    .map(|(name, props)| (name.to_string(), props))
                    .collect(),
            )
        })
        .collect();
    let mut refusal = None;
    for c in candidates(&objects) {
        let device = c.device.clone();
        match ready(conn, c, needed_bytes).await {
            Ok(stick) => {
                tracing::info!(
                    device = %stick.device,
                    label = %stick.label,
                    at = %stick.mount_point.display(),
                    free_bytes = stick.free_bytes,
                    "USB stick for the export"
                );
                return Ok(stick);
            }
            Err(e) => {
                tracing::info!(%device, error = %e, "USB stick cannot take the export");
                refusal.get_or_insert(e);
            }
        }
    }
    if refusal.is_none() {
        tracing::info!("no USB stick for the export");
    }
    Err(refusal.unwrap_or(UsbError::NoStick))
}

/// The stick, mounted, if it is writable and has room.
async fn ready(conn: &Connection, c: Candidate, needed_bytes: u64) -> Result<Stick, UsbError> {
    if c.read_only {
        return Err(UsbError::ReadOnly { label: c.label });
    }
    let mount_point = match c.mounted_at {
        Some(p) => p,
        None => mount(conn, &c.path).await?,
    };
    let (free_bytes, read_only) = space(&mount_point)?;
    if read_only {
        return Err(UsbError::ReadOnly { label: c.label });
    }
    if rustix::fs::access(&mount_point, rustix::fs::Access::WRITE_OK).is_err() {
        return Err(UsbError::Udisks(
            "the pump is not allowed to write to it; use a stick formatted as FAT32 or exFAT"
                .to_owned(),
        ));
    }
    if free_bytes < needed_bytes {
        return Err(UsbError::Full {
            label: c.label,
            free_bytes,
            needed_bytes,
        });
    }
    Ok(Stick {
        device: c.device,
        label: c.label,
        mount_point,
        free_bytes,
    })
}

async fn mount(conn: &Connection, path: &OwnedObjectPath) -> Result<PathBuf, UsbError> {
    let fs = zbus::Proxy::new(conn, SERVICE, path.as_str(), FILESYSTEM)
        .await
        .map_err(|e| UsbError::Udisks(format!("it could not be opened: {e}")))?;
    let options: HashMap<&str, Value<'_>> = HashMap::new();
    tracing::info!(object = %path.as_str(), "mounting a USB stick");
    let at: String = tokio::time::timeout(MOUNTING, fs.call("Mount", &(options,)))
        .await
        .map_err(|_| UsbError::Udisks("opening it took too long".to_owned()))?
        .map_err(|e| match &e {
            zbus::Error::MethodError(name, ..) if name.as_str().contains("NotAuthorized") => {
                UsbError::Udisks(format!(
                    "the pump is not permitted to open USB sticks, call technical support; {e}"
                ))
            }
            _ => UsbError::Udisks(format!("it could not be opened: {e}")),
        })?;
    Ok(PathBuf::from(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_stick_and_the_sizes() {
        let full = UsbError::Full {
            label: "TITRA".to_owned(),
            free_bytes: 12_300,
            needed_bytes: 1_450_000,
        };
        assert_eq!(
            full.to_string(),
            "The USB stick \"TITRA\" is full: it has 12 kB free and the export needs 1.5 MB. Use another stick or make room on it."
        );
        // Just short of what is needed never reads as enough.
        let almost = UsbError::Full {
            label: "TITRA".to_owned(),
            free_bytes: 1_449_999,
            needed_bytes: 1_450_000,
        };
        assert!(
            almost
                .to_string()
                .contains("1.4 MB free and the export needs 1.5 MB"),
            "{almost}"
        );
        let ro = UsbError::ReadOnly {
            label: String::new(),
        };
        assert!(
            ro.to_string()
                .starts_with("The USB stick (no name) is write-protected")
        );
        assert_eq!(bytes_text(b"/dev/sda1\0".to_vec()), "/dev/sda1");
    }

    #[test]
    fn system_mount_points_are_not_sticks() {
        for p in [
            "/",
            "/boot",
            "/boot/firmware",
            "/efi",
            "/usr",
            "/var",
            "/home",
        ] {
            assert!(is_system_mount(Path::new(p)), "{p}");
        }
        for p in [
            "/media/titra/STICK",
            "/run/media/titra/STICK",
            "/mnt/usb",
            "/var/tmp/stick",
            "/bootstick",
        ] {
            assert!(!is_system_mount(Path::new(p)), "{p}");
        }
    }
}
