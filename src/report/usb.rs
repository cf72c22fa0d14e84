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
//!
//! A stick is untrusted input. Only FAT and exFAT (UDisks2's `Block.IdType` "vfat" and "exfat")
//! are accepted, and the type is checked before anything is mounted, so the kernel never parses
//! a stick in another format for the export. FAT and exFAT cannot hold symbolic links, device
//! files or set-user-ID bits, and the pump mounts them with `nosuid,nodev,noexec,nosymfollow` as
//! well (see [`MOUNT_OPTIONS`]). A stick someone else already mounted is used only when its mount
//! keeps set-user-ID programs and device files off (see [`MountState::unsafe_for_export`]). The
//! files themselves are written by [`super::fresh`], which follows no link whatever the mount.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use zbus::Connection;
use zbus::{OwnedObjectPath, OwnedVariant as OwnedValue, Variant as Value};

use crate::core::tr;

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

/// The options the pump asks UDisks2 to mount a stick with: no set-user-ID programs, no device
/// files, nothing run from it, and no symbolic link followed on it.
///
/// UDisks2 always adds `nosuid,nodev` itself; an option that is not in its allow-list for the
/// filesystem type fails the mount with `org.freedesktop.UDisks2.Error.OptionNotPermitted`. Its
/// built-in list (`[defaults] allow=` in `builtin_mount_options.conf`, which a site's
/// `/etc/udisks2/mount_options.conf` may override) has held `noexec`, `nodev` and `nosuid` for
/// every type, and `nosymfollow` since UDisks2 2.9.2 (Linux 5.10 added the option); Debian 12,
/// which the pump's image uses, ships UDisks2 2.9.4 and Linux 6.1.
pub const MOUNT_OPTIONS: &str = "nosuid,nodev,noexec,nosymfollow";
/// The same without `nosymfollow`, for a UDisks2 older than 2.9.2 (or a site's allow-list
/// without it) that refuses it: the export then relies on [`super::fresh`] opening every
/// folder and file with `O_NOFOLLOW`, which does not depend on the mount, and on FAT and exFAT
/// having no symbolic links at all.
const MOUNT_OPTIONS_WITHOUT_NOSYMFOLLOW: &str = "nosuid,nodev,noexec";
/// The filesystem types the export writes to (`Block.IdType`).
const ACCEPTED_TYPES: [&str; 2] = ["vfat", "exfat"];

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

/// Why there is no stick to export to, in words for the clinician (in the language in use;
/// the words a variant holds, `found` and `allows`, are written in it when it is made).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsbError {
    NoStick,
    ReadOnly {
        label: String,
    },
    Full {
        label: String,
        free_bytes: u64,
        needed_bytes: u64,
    },
    Udisks(String),
    NotFat {
        label: String,
        /// The format found, in words ("NTFS (a Windows format)").
        found: String,
    },
    UnsafeMount {
        label: String,
        /// What the mount allows that it must not, in words.
        allows: String,
    },
    LinkInTheWay {
        name: String,
    },
    InTheWay {
        name: String,
        /// What is there: "a folder", "a file", "a device file" ...
        found: String,
    },
    WriteFailed {
        name: String,
        reason: String,
    },
}

impl std::fmt::Display for UsbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            UsbError::NoStick => {
                tr!("No USB stick found: plug one into the pump's USB port and press Export again.")
                    .to_owned()
            }
            UsbError::ReadOnly { label } => tr!(
                "The USB stick {label} is write-protected: slide its lock switch off or use another stick.",
                label = shown(label)
            ),
            UsbError::Full {
                label,
                free_bytes,
                needed_bytes,
            } => tr!(
                "The USB stick {label} is full: it has {free} free and the export needs {needed}. Use another stick or make room on it.",
                label = shown(label),
                free = size(*free_bytes, Round::Down),
                needed = size(*needed_bytes, Round::Up)
            ),
            UsbError::Udisks(why) => tr!(
                "The USB stick could not be used ({why}). Try again, or another stick.",
                why
            ),
            UsbError::NotFat { label, found } => tr!(
                "The USB stick {label} is formatted as {found}: the pump writes only to sticks formatted as FAT32 or exFAT. Use another stick, or have this one formatted as FAT32 or exFAT.",
                label = shown(label),
                found
            ),
            UsbError::UnsafeMount { label, allows } => tr!(
                "The USB stick {label} was opened on the pump in a way that is not safe for the export: it allows {allows}. Take the stick out, plug it in again and press Export again; if this happens again, call technical support.",
                label = shown(label),
                allows
            ),
            UsbError::LinkInTheWay { name } => tr!(
                "The USB stick has a link named \"{name}\" where the export writes. The pump never writes through a link on a stick, so nothing was written. Use another stick.",
                name
            ),
            UsbError::InTheWay { name, found } => tr!(
                "The USB stick already has {found} named \"{name}\" where the export writes, so nothing was written there. Press Export again, or use another stick.",
                found,
                name
            ),
            UsbError::WriteFailed { name, reason } => tr!(
                "\"{name}\" could not be written to the USB stick ({reason}). It may have been taken out, or be full or faulty: check it and press Export again.",
                name,
                reason
            ),
        };
        f.write_str(&text)
    }
}

impl std::error::Error for UsbError {}

impl UsbError {
    /// The message in English, for the pump's own log.
    fn logged(&self) -> String {
        crate::core::lang::with(crate::core::lang::Language::English, || self.to_string())
    }
}

fn shown(label: &str) -> String {
    if label.is_empty() {
        tr!("(no name)").to_owned()
    } else {
        tr!("\"{label}\"", label)
    }
}

/// A filesystem type (`Block.IdType`) in words for the clinician.
fn format_in_words(id_type: &str) -> String {
    match id_type {
        "" => tr!("an unknown format").to_owned(),
        "vfat" => "FAT".to_owned(),
        "exfat" => "exFAT".to_owned(),
        "ntfs" => tr!("NTFS (a Windows format)").to_owned(),
        "ext2" | "ext3" | "ext4" | "btrfs" | "xfs" | "f2fs" | "jfs" | "reiserfs" | "nilfs2" => {
            tr!("{format} (a Linux format)", format = id_type)
        }
        "hfs" | "hfsplus" => tr!("Mac OS Extended (a Mac format)").to_owned(),
        "apfs" => tr!("APFS (a Mac format)").to_owned(),
        "iso9660" | "udf" => tr!("{format} (a CD or DVD format)", format = id_type),
        "crypto_LUKS" | "BitLocker" => tr!("{format} (an encrypted format)", format = id_type),
        other => other.to_owned(),
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
    /// UDisks2's `Block.IdType` ("vfat", "exfat", "ntfs", ...).
    fs_type: String,
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
                fs_type: text(block, "IdType"),
                read_only: flag(block, "ReadOnly"),
                mounted_at: mount_points(fs).into_iter().next(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.path.as_str().cmp(b.path.as_str()));
    out
}

/// What the kernel says of a mounted filesystem (`statvfs`): its free space for an unprivileged
/// writer, and the flags of its mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MountState {
    pub free_bytes: u64,
    pub read_only: bool,
    pub nosuid: bool,
    pub nodev: bool,
    pub noexec: bool,
    pub nosymfollow: bool,
}

/// `ST_NOSYMFOLLOW` of `statvfs`'s flags (Linux 5.10 and later; rustix has no name for it).
const ST_NOSYMFOLLOW: u64 = 0x2000;

impl MountState {
    /// The mount `path` is on, from `statvfs`.
    pub fn of(path: &Path) -> Result<MountState, UsbError> {
        use rustix::fs::StatVfsMountFlags as F;
        let st = rustix::fs::statvfs(path).map_err(|e| {
            UsbError::Udisks(tr!(
                "cannot read {path}: {error}",
                path = path.display(),
                error = e
            ))
        })?;
        Ok(MountState {
            free_bytes: st.f_bavail.saturating_mul(st.f_frsize),
            read_only: st.f_flag.contains(F::RDONLY),
            nosuid: st.f_flag.contains(F::NOSUID),
            nodev: st.f_flag.contains(F::NODEV),
            noexec: st.f_flag.contains(F::NOEXEC),
            nosymfollow: st.f_flag.bits() & ST_NOSYMFOLLOW != 0,
        })
    }

    /// What the mount allows that the export must not have, in words; None if it is safe.
    ///
    /// A stick the pump mounts itself always has `nosuid` and `nodev` (UDisks2 adds them
    /// whatever it is asked). One mounted by someone else without them (by hand, or from
    /// `/etc/fstab`) is refused rather than mounted again: the pump does not undo another's
    /// mount, and such a mount on a pump means its set-up was changed, which a technician should
    /// look at. Without `noexec` or `nosymfollow` the mount is still used, with a warning in the
    /// log: the pump runs nothing from a stick, and [`super::fresh`] opens every folder and file
    /// with `O_NOFOLLOW` and creates each file with `O_EXCL`, so no link on the stick is ever
    /// followed whatever the mount says (and FAT and exFAT cannot hold links at all).
    pub fn unsafe_for_export(&self) -> Option<String> {
        match (self.nosuid, self.nodev) {
            (true, true) => None,
            (false, true) => Some(tr!("set-user-ID programs").to_owned()),
            (true, false) => Some(tr!("device files").to_owned()),
            (false, false) => Some(tr!("set-user-ID programs and device files").to_owned()),
        }
    }
}

/// Finds a USB stick formatted as FAT or exFAT, mounts it if needed (UDisks2 `Filesystem.Mount`
/// with [`MOUNT_OPTIONS`]), and checks its mount is safe, it is writable and has `needed_bytes`
/// free. The first suitable stick in object-path order is used; one in another format, or
/// write-protected, full, unsafely mounted or unmountable, is reported (the first such, in the
/// same order) only when no other stick will do.
pub async fn find_stick(conn: &Connection, needed_bytes: u64) -> Result<Stick, UsbError> {
    find_stick_with(conn, needed_bytes, MountState::of).await
}

/// [`find_stick`], reading each mount with `read` ([`MountState::of`] on the pump; a test
/// models the mount options of its own UDisks2).
pub async fn find_stick_with(
    conn: &Connection,
    needed_bytes: u64,
    read: impl Fn(&Path) -> Result<MountState, UsbError>,
) -> Result<Stick, UsbError> {
    let manager = zbus::fdo::ObjectManagerProxy::builder(conn)
        .destination(SERVICE)
        .path(ROOT)
        .build()
        .await
        .map_err(|e| {
            UsbError::Udisks(tr!(
                "the pump's USB service (UDisks2) cannot be reached: {error}",
                error = e
            ))
        })?;
    let managed = tokio::time::timeout(ANSWER, manager.get_managed_objects())
        .await
        .map_err(|_| {
            UsbError::Udisks(
                tr!("the pump's USB service (UDisks2) did not answer in time").to_owned(),
            )
        })?
        .map_err(|e| {
            UsbError::Udisks(tr!(
                "the pump's USB service (UDisks2) did not answer: {error}",
                error = e
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
        match ready(conn, c, needed_bytes, &read).await {
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
                tracing::info!(%device, error = %e.logged(), "USB stick cannot take the export");
                refusal.get_or_insert(e);
            }
        }
    }
    if refusal.is_none() {
        tracing::info!("no USB stick for the export");
    }
    Err(refusal.unwrap_or(UsbError::NoStick))
}

/// The stick, mounted, if it is FAT or exFAT, safely mounted, writable and has room.
async fn ready(
    conn: &Connection,
    c: Candidate,
    needed_bytes: u64,
    read: &impl Fn(&Path) -> Result<MountState, UsbError>,
) -> Result<Stick, UsbError> {
    // Before anything else, and before mounting: a stick in another format is not mounted at
    // all.
    if !ACCEPTED_TYPES.contains(&c.fs_type.as_str()) {
        return Err(UsbError::NotFat {
            label: c.label,
            found: format_in_words(&c.fs_type),
        });
    }
    if c.read_only {
        return Err(UsbError::ReadOnly { label: c.label });
    }
    let mount_point = match c.mounted_at {
        Some(p) => p,
        None => mount(conn, &c.path).await?,
    };
    let state = read(&mount_point)?;
    if let Some(allows) = state.unsafe_for_export() {
        return Err(UsbError::UnsafeMount {
            label: c.label,
            allows,
        });
    }
    if !state.noexec || !state.nosymfollow {
        tracing::warn!(
            device = %c.device,
            at = %mount_point.display(),
            noexec = state.noexec,
            nosymfollow = state.nosymfollow,
            "the USB stick's mount lacks noexec or nosymfollow; the export follows no link and runs nothing from it"
        );
    }
    if state.read_only {
        return Err(UsbError::ReadOnly { label: c.label });
    }
    if rustix::fs::access(&mount_point, rustix::fs::Access::WRITE_OK).is_err() {
        return Err(UsbError::Udisks(
            tr!("the pump is not allowed to write to it; use a stick formatted as FAT32 or exFAT")
                .to_owned(),
        ));
    }
    if state.free_bytes < needed_bytes {
        return Err(UsbError::Full {
            label: c.label,
            free_bytes: state.free_bytes,
            needed_bytes,
        });
    }
    Ok(Stick {
        device: c.device,
        label: c.label,
        mount_point,
        free_bytes: state.free_bytes,
    })
}

/// Mounts the filesystem at `path` with [`MOUNT_OPTIONS`]; where UDisks2 does not permit
/// `nosymfollow`, again without it.
async fn mount(conn: &Connection, path: &OwnedObjectPath) -> Result<PathBuf, UsbError> {
    let fs = zbus::Proxy::new(conn, SERVICE, path.as_str(), FILESYSTEM)
        .await
        .map_err(|e| UsbError::Udisks(tr!("it could not be opened: {error}", error = e)))?;
    tracing::info!(object = %path.as_str(), options = MOUNT_OPTIONS, "mounting a USB stick");
    let at = match mount_with(&fs, MOUNT_OPTIONS).await {
        Err(Some(zbus::Error::MethodError(name, why, _)))
            if name.as_str() == "org.freedesktop.UDisks2.Error.OptionNotPermitted" =>
        {
            tracing::warn!(
                object = %path.as_str(),
                refused = why.as_deref().unwrap_or(""),
                options = MOUNT_OPTIONS_WITHOUT_NOSYMFOLLOW,
                "UDisks2 does not permit nosymfollow; mounting without it (the export opens nothing through a link)"
            );
            mount_with(&fs, MOUNT_OPTIONS_WITHOUT_NOSYMFOLLOW).await
        }
        other => other,
    };
    at.map(PathBuf::from).map_err(|e| match e {
        None => UsbError::Udisks(tr!("opening it took too long").to_owned()),
        Some(e) => match &e {
            zbus::Error::MethodError(name, ..) if name.as_str().contains("NotAuthorized") => {
                UsbError::Udisks(tr!(
                    "the pump is not permitted to open USB sticks, call technical support; {error}",
                    error = e
                ))
            }
            _ => UsbError::Udisks(tr!("it could not be opened: {error}", error = e)),
        },
    })
}

/// One `Filesystem.Mount` call with these options: where UDisks2 mounted it, or its error (None
/// when it took longer than [`MOUNTING`]).
async fn mount_with(fs: &zbus::Proxy<'_>, options: &str) -> Result<String, Option<zbus::Error>> {
    let options: HashMap<&str, Value<'_>> = HashMap::from([("options", Value::from(options))]);
    match tokio::time::timeout(MOUNTING, fs.call("Mount", &(options,))).await {
        Ok(answer) => answer.map_err(Some),
        Err(_) => Err(None),
    }
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
    fn messages_are_in_the_language_in_use_and_logged_in_english() {
        use crate::core::lang::{Language, with};
        let full = UsbError::Full {
            label: "TITRA".to_owned(),
            free_bytes: 12_300,
            needed_bytes: 1_450_000,
        };
        let english = full.to_string();
        with(Language::German, || {
            assert_eq!(
                full.to_string(),
                "Der USB-Stick „TITRA“ ist voll: Er hat 12 kB frei, der Export braucht 1.5 MB. Einen anderen Stick verwenden oder Platz darauf schaffen."
            );
            assert_eq!(full.logged(), english);
            assert_eq!(
                UsbError::ReadOnly {
                    label: String::new()
                }
                .to_string(),
                "Der USB-Stick (ohne Namen) ist schreibgeschützt: den Sperrschalter lösen oder einen anderen Stick verwenden."
            );
        });
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
