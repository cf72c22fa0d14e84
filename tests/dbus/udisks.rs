//! Finding a USB stick for the export through UDisks2, against a small UDisks2 of the test's own
//! (its ObjectManager, Block, Drive and Filesystem objects, and Filesystem.Mount) over a
//! peer-to-peer D-Bus link. The mount points are real directories under the temporary directory,
//! so free space and read-only flags come from the real filesystem.
//!
//! The mock reports what real UDisks2 reports for these devices: every USB drive is Removable and
//! not HintSystem (UDisks2 decides that by bus alone), a partition's Block.Drive is its disk's
//! drive and its Block.IdType the filesystem's type, the whole disk is a Block with a partition
//! table and no Filesystem.
//!
//! A temporary directory has whatever mount flags the test machine gives it, so the flags a stick
//! is mounted with are modelled: UDisks2 always adds `nodev,nosuid` to the options the caller
//! asks for, and a stick already mounted carries the options the test gives it. The pump reads
//! them through `find_stick_with`, the rest (free space, read-only) from the real filesystem.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use titra::report::usb::{MOUNT_OPTIONS, MountState, Stick, UsbError, find_stick, find_stick_with};
use zbus::{Connection, ObjectPath, OwnedObjectPath, OwnedVariant, Variant, interface};

use crate::common::TempDir;
use crate::common::p2p::link;

type Props = HashMap<String, OwnedVariant>;
type Objects = HashMap<OwnedObjectPath, HashMap<String, Props>>;

const BLOCK: &str = "org.freedesktop.UDisks2.Block";
const FILESYSTEM: &str = "org.freedesktop.UDisks2.Filesystem";

fn v<'a>(x: impl Into<Variant<'a>>) -> OwnedVariant {
    x.into().try_into().unwrap()
}

fn path(p: &str) -> OwnedObjectPath {
    ObjectPath::try_from(p).unwrap().into()
}

fn block_path(device: &str) -> String {
    format!("/org/freedesktop/UDisks2/block_devices/{device}")
}

fn drive_path(drive: &str) -> String {
    format!("/org/freedesktop/UDisks2/drives/{drive}")
}

/// How a partition's Mount answers.
#[derive(Clone, Copy, PartialEq)]
enum Mounting {
    /// Mounts under the test's directory, at the device's name.
    Works,
    /// Refused as polkit refuses a caller without the right (a daemon with no rule for it).
    NotAuthorized,
    /// As a UDisks2 older than 2.9.2 (or a site's allow-list) does: `nosymfollow` is refused
    /// with OptionNotPermitted, any other option mounts.
    WithoutNosymfollow,
}

/// What UDisks2 itself adds to every mount, whatever the caller asks.
const UDISKS_ALWAYS: &str = "uhelper=udisks2,nodev,nosuid";

/// A partition (a filesystem, or swap) on a drive.
#[derive(Clone)]
struct Part {
    drive: &'static str,
    number: u8,
    bus: &'static str,
    label: &'static str,
    /// Block.IdType: "vfat", "exfat", "ntfs", "ext4" ...
    fs: &'static str,
    read_only: bool,
    system: bool,
    mounted: Vec<PathBuf>,
    /// The options it is mounted with, when `mounted` is not empty.
    mounted_with: &'static str,
    swap: bool,
    mounting: Mounting,
}

impl Part {
    fn device(&self) -> String {
        format!("{}{}", self.drive, self.number)
    }
}

/// The first partition of a drive on `bus`, with a FAT filesystem, not mounted.
fn part(drive: &'static str, bus: &'static str, label: &'static str) -> Part {
    Part {
        drive,
        number: 1,
        bus,
        label,
        fs: "vfat",
        read_only: false,
        system: false,
        mounted: Vec::new(),
        mounted_with: "rw,nosuid,nodev,relatime,uhelper=udisks2",
        swap: false,
        mounting: Mounting::Works,
    }
}

fn objects(parts: &[Part]) -> Objects {
    let mut out = Objects::new();
    for p in parts {
        let mut drive = Props::new();
        drive.insert("ConnectionBus".into(), v(p.bus));
        // What UDisks2 reports for an SD card, a card reader or a USB stick alike.
        drive.insert("Removable".into(), v(true));
        drive.insert("MediaRemovable".into(), v(true));
        out.insert(
            path(&drive_path(p.drive)),
            HashMap::from([("org.freedesktop.UDisks2.Drive".to_owned(), drive)]),
        );
        let block = |device: &str, label: &str, fs: &str| {
            let mut b = Props::new();
            b.insert("Device".into(), v(format!("/dev/{device}\0").into_bytes()));
            b.insert(
                "Drive".into(),
                v(ObjectPath::try_from(drive_path(p.drive)).unwrap()),
            );
            b.insert(
                "CryptoBackingDevice".into(),
                v(ObjectPath::try_from("/").unwrap()),
            );
            b.insert("IdLabel".into(), v(label));
            b.insert("IdType".into(), v(fs));
            b.insert("ReadOnly".into(), v(p.read_only));
            b.insert("HintSystem".into(), v(p.system));
            b.insert("HintIgnore".into(), v(false));
            b
        };
        // The whole disk: a block device with a partition table and no filesystem.
        out.insert(
            path(&block_path(p.drive)),
            HashMap::from([
                (BLOCK.to_owned(), block(p.drive, "", "")),
                (
                    "org.freedesktop.UDisks2.PartitionTable".to_owned(),
                    Props::new(),
                ),
            ]),
        );
        let mut ifaces = HashMap::from([(BLOCK.to_owned(), block(&p.device(), p.label, p.fs))]);
        if p.swap {
            ifaces.insert(
                "org.freedesktop.UDisks2.Swapspace".to_owned(),
                HashMap::from([("Active".to_owned(), v(true))]),
            );
        } else {
            let points: Vec<Vec<u8>> = p
                .mounted
                .iter()
                .map(|m| format!("{}\0", m.display()).into_bytes())
                .collect();
            ifaces.insert(
                FILESYSTEM.to_owned(),
                HashMap::from([("MountPoints".to_owned(), v(points))]),
            );
        }
        out.insert(path(&block_path(&p.device())), ifaces);
    }
    out
}

struct Manager(Objects);

#[interface(name = "org.freedesktop.DBus.ObjectManager")]
impl Manager {
    async fn get_managed_objects(&self) -> Objects {
        self.0
            .iter()
            .map(|(p, ifaces)| {
                (
                    p.clone(),
                    ifaces
                        .iter()
                        .map(|(i, props)| {
                            (
                                i.clone(),
                                props
                                    .iter()
                                    .map(|(k, val)| (k.clone(), val.try_clone().unwrap()))
                                    .collect(),
                            )
                        })
                        .collect(),
                )
            })
            .collect()
    }
}

#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.freedesktop.UDisks2.Error")]
enum UdisksError {
    #[zbus(error)]
    ZBus(zbus::Error),
    NotAuthorizedCanObtain(String),
    OptionNotPermitted(String),
}

/// Every Mount call: (device, the "options" it was given; "" for none).
type Calls = Arc<Mutex<Vec<(String, String)>>>;
/// The options of every mount: (mount point, options).
type Mounts = Arc<Mutex<HashMap<PathBuf, String>>>;

/// A filesystem that mounts at `at`, recording its Mount calls and the options it mounted with.
struct Filesystem {
    device: String,
    at: PathBuf,
    mounting: Mounting,
    calls: Calls,
    mounts: Mounts,
}

#[interface(name = "org.freedesktop.UDisks2.Filesystem")]
impl Filesystem {
    async fn mount(&self, options: HashMap<String, OwnedVariant>) -> Result<String, UdisksError> {
        let asked = options
            .get("options")
            .and_then(|o| String::try_from(o.try_clone().unwrap()).ok())
            .unwrap_or_default();
        self.calls
            .lock()
            .unwrap()
            .push((self.device.clone(), asked.clone()));
        let nosymfollow = asked.split(',').any(|o| o == "nosymfollow");
        match self.mounting {
            Mounting::NotAuthorized => Err(UdisksError::NotAuthorizedCanObtain(
                "Not authorized to perform operation".to_owned(),
            )),
            Mounting::WithoutNosymfollow if nosymfollow => Err(UdisksError::OptionNotPermitted(
                "Mount option `nosymfollow' is not allowed".to_owned(),
            )),
            Mounting::Works | Mounting::WithoutNosymfollow => {
                std::fs::create_dir_all(&self.at).unwrap();
                self.mounts
                    .lock()
                    .unwrap()
                    .insert(self.at.clone(), format!("{UDISKS_ALWAYS},{asked}"));
                Ok(self.at.display().to_string())
            }
        }
    }
}

struct Udisks {
    client: Connection,
    calls: Calls,
    mounts: Mounts,
    _server: Connection,
}

impl Udisks {
    /// The devices Mount was called on, in order.
    fn mounted(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|(d, _)| d.clone())
            .collect()
    }

    /// `find_stick` as the pump calls it, each mount's flags as modelled: from the options it
    /// was mounted with, free space and read-only from the real filesystem.
    async fn find(&self, needed: u64) -> Result<Stick, UsbError> {
        let mounts = self.mounts.clone();
        find_stick_with(&self.client, needed, move |at: &Path| {
            let options = mounts.lock().unwrap().get(at).cloned().unwrap_or_default();
            let has = |o: &str| options.split(',').any(|x| x == o);
            Ok(MountState {
                nosuid: has("nosuid"),
                nodev: has("nodev"),
                noexec: has("noexec"),
                nosymfollow: has("nosymfollow"),
                ..MountState::of(at)?
            })
        })
        .await
    }
}

/// A UDisks2 with these partitions; each unmounted one mounts under `mounts_in`.
async fn udisks(parts: &[Part], mounts_in: &Path) -> Udisks {
    let calls = Calls::default();
    let mounts = Mounts::default();
    for p in parts {
        for at in &p.mounted {
            mounts
                .lock()
                .unwrap()
                .insert(at.clone(), p.mounted_with.to_owned());
        }
    }
    let (server, client) = link(|b| {
        let mut server = b.serve_at("/org/freedesktop/UDisks2", Manager(objects(parts)));
        for p in parts.iter().filter(|p| !p.swap) {
            server = server.serve_at(
                block_path(&p.device()),
                Filesystem {
                    device: p.device(),
                    at: mounts_in.join(p.device()),
                    mounting: p.mounting,
                    calls: calls.clone(),
                    mounts: mounts.clone(),
                },
            );
        }
        server
    })
    .await;
    Udisks {
        client,
        calls,
        mounts,
        _server: server,
    }
}

#[tokio::test]
async fn the_sd_card_or_a_system_disk_is_never_a_stick() {
    let dir = TempDir::new("usb-none");
    // The Pi's SD card: its boot and root filesystems, and a data partition not mounted.
    let sd = |number, mounted: &[&str]| Part {
        number,
        mounted: mounted.iter().map(PathBuf::from).collect(),
        ..part("mmcblk0p", "sdio", "")
    };
    // A USB disk a site's udev rule marks as a system device (UDISKS_SYSTEM=1).
    let marked = Part {
        system: true,
        ..part("sdb", "usb", "SYSTEM")
    };
    let u = udisks(
        &[
            sd(1, &["/boot/firmware"]),
            sd(2, &["/"]),
            sd(3, &[]),
            marked,
        ],
        &dir,
    )
    .await;
    let e = u.find(1000).await.unwrap_err();
    assert_eq!(e, UsbError::NoStick);
    assert_eq!(
        e.to_string(),
        "No USB stick found: plug one into the pump's USB port and press Export again."
    );
    assert!(u.mounted().is_empty(), "nothing was mounted");
}

#[tokio::test]
async fn a_removable_drive_that_is_not_usb_is_never_chosen() {
    let dir = TempDir::new("usb-not-usb");
    // An SD card in a reader, a FireWire disk and a drive on an unknown bus, each removable,
    // writable, empty and sorting before the stick.
    let others = [
        part("mmcblk1p", "sdio", "CARD"),
        part("sda", "ieee1394", "FIREWIRE"),
        part("sd0", "", "UNKNOWN"),
    ];
    let u = udisks(&others, &dir).await;
    assert_eq!(u.find(1).await, Err(UsbError::NoStick));
    assert!(u.mounted().is_empty(), "{:?}", u.mounted());

    let mut with_stick = others.to_vec();
    with_stick.push(part("sdz", "usb", "STICK"));
    let u = udisks(&with_stick, &dir).await;
    let stick = u.find(1).await.unwrap();
    assert_eq!(stick.label, "STICK");
    assert_eq!(u.mounted(), ["sdz1"]);
}

#[tokio::test]
async fn a_usb_disk_the_pump_runs_from_is_never_a_stick() {
    let dir = TempDir::new("usb-usb-boot");
    // A Pi booting from a USB disk: UDisks2 reports it as USB, removable and not a system
    // device, like any stick.
    let ssd = |number, mounted: &[&str]| Part {
        number,
        mounted: mounted.iter().map(PathBuf::from).collect(),
        ..part("sda", "usb", "")
    };
    let system = [ssd(1, &["/boot/firmware"]), ssd(2, &["/"]), ssd(3, &[])];
    let u = udisks(&system, &dir).await;
    assert_eq!(u.find(1).await, Err(UsbError::NoStick));
    assert!(u.mounted().is_empty(), "{:?}", u.mounted());

    // A USB disk with the swap in use holds the system too.
    let swap = [
        Part {
            number: 1,
            ..part("sdc", "usb", "DATA")
        },
        Part {
            number: 2,
            swap: true,
            ..part("sdc", "usb", "")
        },
    ];
    let u = udisks(&swap, &dir).await;
    assert_eq!(u.find(1).await, Err(UsbError::NoStick));
    assert!(u.mounted().is_empty(), "{:?}", u.mounted());

    let mut with_stick = system.to_vec();
    with_stick.push(part("sdb", "usb", "STICK"));
    let u = udisks(&with_stick, &dir).await;
    let stick = u.find(1).await.unwrap();
    assert_eq!(stick.device, "/dev/sdb1");
    assert_eq!(u.mounted(), ["sdb1"]);
}

#[tokio::test]
async fn a_stick_not_yet_mounted_is_mounted_and_used_where_udisks_put_it() {
    let dir = TempDir::new("usb-mount");
    let u = udisks(
        &[
            part("mmcblk0p", "sdio", "CARD"),
            part("sdb", "usb", "STICK"),
        ],
        &dir,
    )
    .await;
    let stick = u.find(1000).await.unwrap();
    assert_eq!(stick.device, "/dev/sdb1");
    assert_eq!(stick.label, "STICK");
    assert_eq!(stick.mount_point, dir.join("sdb1"));
    assert!(stick.free_bytes >= 1000);
    // Mounted once: no set-user-ID programs, no device files, nothing run from it and no link
    // followed on it.
    assert_eq!(
        *u.calls.lock().unwrap(),
        [(
            "sdb1".to_owned(),
            "nosuid,nodev,noexec,nosymfollow".to_owned()
        )]
    );
    assert_eq!(MOUNT_OPTIONS, "nosuid,nodev,noexec,nosymfollow");
}

#[tokio::test]
async fn a_mounted_stick_is_used_where_it_is() {
    let dir = TempDir::new("usb-mounted");
    let at = dir.join("already");
    std::fs::create_dir_all(&at).unwrap();
    let mounted = Part {
        mounted: vec![at.clone()],
        ..part("sdc", "usb", "")
    };
    // Another stick, not mounted, after it in object-path order.
    let u = udisks(&[mounted, part("sdd", "usb", "OTHER")], &dir).await;
    let found = u.find(1).await.unwrap();
    assert_eq!(found.mount_point, at);
    assert_eq!(found.device, "/dev/sdc1");
    assert_eq!(found.label, "");
    assert!(u.mounted().is_empty(), "not mounted again");
}

#[tokio::test]
async fn of_two_sticks_the_first_by_object_path_is_chosen() {
    let dir = TempDir::new("usb-order");
    let sticks = [
        part("sdf", "usb", "F"),
        part("sdc", "usb", "C"),
        part("sdx", "usb", "X"),
        part("sde", "usb", "E"),
    ];
    for _ in 0..3 {
        let u = udisks(&sticks, &dir).await;
        assert_eq!(u.find(1).await.unwrap().label, "C");
        assert_eq!(u.mounted(), ["sdc1"]);
    }
}

#[tokio::test]
async fn a_write_protected_stick_is_refused_unless_another_will_do() {
    let dir = TempDir::new("usb-ro");
    let locked = Part {
        read_only: true,
        ..part("sda", "usb", "LOCKED")
    };
    let u = udisks(std::slice::from_ref(&locked), &dir).await;
    let e = u.find(1).await.unwrap_err();
    assert_eq!(
        e,
        UsbError::ReadOnly {
            label: "LOCKED".to_owned()
        }
    );
    assert_eq!(
        e.to_string(),
        "The USB stick \"LOCKED\" is write-protected: slide its lock switch off or use another stick."
    );
    assert!(u.mounted().is_empty(), "a locked stick is not mounted");

    let u = udisks(&[locked, part("sdb", "usb", "FREE")], &dir).await;
    assert_eq!(u.find(1).await.unwrap().label, "FREE");
    assert_eq!(u.mounted(), ["sdb1"]);
}

#[tokio::test]
async fn a_full_stick_says_how_much_it_has_and_needs() {
    let dir = TempDir::new("usb-full");
    let st = rustix::fs::statvfs(&*dir).unwrap();
    let free_now = st.f_bavail * st.f_frsize;
    // More than the stick (the temporary directory's filesystem) has.
    let needed = free_now.saturating_mul(2).saturating_add(5_000_000);
    let u = udisks(&[part("sda", "usb", "SMALL")], &dir).await;
    let e = u.find(needed).await.unwrap_err();
    let UsbError::Full {
        label,
        free_bytes,
        needed_bytes,
    } = &e
    else {
        panic!("expected Full, got {e:?}");
    };
    assert_eq!(label, "SMALL");
    assert_eq!(*needed_bytes, needed);
    assert!(*free_bytes < needed);
    // The free space is the filesystem's (other processes may write meanwhile).
    assert!(
        free_bytes.abs_diff(free_now) < free_now / 10 + 100_000_000,
        "{free_bytes} vs {free_now}"
    );
    let message = e.to_string();
    assert!(
        message.starts_with("The USB stick \"SMALL\" is full: it has "),
        "{message}"
    );
    assert!(message.contains(" free and the export needs "), "{message}");
    assert!(message.contains(" MB. Use another stick"), "{message}");
}

#[tokio::test]
async fn a_refused_mount_is_explained_unless_another_stick_will_do() {
    let dir = TempDir::new("usb-refused");
    let refused = Part {
        mounting: Mounting::NotAuthorized,
        ..part("sda", "usb", "NOPE")
    };
    let u = udisks(std::slice::from_ref(&refused), &dir).await;
    match u.find(1).await {
        Err(e @ UsbError::Udisks(_)) => {
            let m = e.to_string();
            assert!(m.starts_with("The USB stick could not be used ("), "{m}");
            assert!(m.contains("not permitted"), "{m}");
            assert!(m.contains("technical support"), "{m}");
            assert!(m.contains("NotAuthorizedCanObtain"), "{m}");
        }
        other => panic!("expected a UDisks2 error, got {other:?}"),
    }
    assert_eq!(u.mounted(), ["sda1"]);

    let u = udisks(&[refused, part("sdb", "usb", "YES")], &dir).await;
    let stick = u.find(1).await.unwrap();
    assert_eq!(stick.label, "YES");
    assert_eq!(u.mounted(), ["sda1", "sdb1"]);
}

#[tokio::test]
async fn without_udisks_the_error_says_so() {
    // A peer without UDisks2's objects: the call fails, and the message says what failed.
    let dir = TempDir::new("usb-nothing");
    let (_server, client) = link(|b| {
        b.serve_at(
            "/elsewhere",
            Filesystem {
                device: "sda1".to_owned(),
                at: dir.join("sda1"),
                mounting: Mounting::Works,
                calls: Calls::default(),
                mounts: Mounts::default(),
            },
        )
    })
    .await;
    match find_stick(&client, 1).await {
        Err(UsbError::Udisks(m)) => {
            assert!(m.contains("USB service (UDisks2)"), "{m}");
        }
        other => panic!("expected a UDisks2 error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_stick_not_formatted_fat_or_exfat_is_refused_naming_its_format_and_never_mounted() {
    let dir = TempDir::new("usb-format");
    for (fs, found) in [
        ("ntfs", "NTFS (a Windows format)"),
        ("ext4", "ext4 (a Linux format)"),
        ("hfsplus", "Mac OS Extended (a Mac format)"),
        ("", "an unknown format"),
    ] {
        let other = Part {
            fs,
            ..part("sda", "usb", "OTHER")
        };
        let u = udisks(std::slice::from_ref(&other), &dir).await;
        let e = u.find(1).await.unwrap_err();
        assert_eq!(
            e,
            UsbError::NotFat {
                label: "OTHER".to_owned(),
                found: found.to_owned()
            }
        );
        assert_eq!(
            e.to_string(),
            format!(
                "The USB stick \"OTHER\" is formatted as {found}: the pump writes only to sticks formatted as FAT32 or exFAT. Use another stick, or have this one formatted as FAT32 or exFAT."
            )
        );
        // Not mounted at all: the kernel never reads a stick in another format for the export.
        assert!(u.mounted().is_empty(), "{fs}: {:?}", u.mounted());

        // Mounted by someone else already, it is refused all the same.
        let at = dir.join(format!("mounted-{fs}"));
        std::fs::create_dir_all(&at).unwrap();
        let mounted = Part {
            mounted: vec![at],
            ..other.clone()
        };
        let u = udisks(&[mounted], &dir).await;
        assert!(matches!(u.find(1).await, Err(UsbError::NotFat { .. })));

        // With a FAT stick too, the FAT one is used.
        let u = udisks(&[other, part("sdb", "usb", "FAT")], &dir).await;
        assert_eq!(u.find(1).await.unwrap().label, "FAT");
        assert_eq!(u.mounted(), ["sdb1"]);
    }
    // exFAT is accepted as FAT is.
    let exfat = Part {
        fs: "exfat",
        ..part("sdc", "usb", "EXFAT")
    };
    let u = udisks(&[exfat], &dir).await;
    assert_eq!(u.find(1).await.unwrap().label, "EXFAT");
}

#[tokio::test]
async fn where_udisks_does_not_permit_nosymfollow_the_stick_is_mounted_without_it() {
    let dir = TempDir::new("usb-old-udisks");
    let old = Part {
        mounting: Mounting::WithoutNosymfollow,
        ..part("sdb", "usb", "STICK")
    };
    let u = udisks(&[old], &dir).await;
    let stick = u.find(1).await.unwrap();
    assert_eq!(stick.mount_point, dir.join("sdb1"));
    assert_eq!(
        *u.calls.lock().unwrap(),
        [
            (
                "sdb1".to_owned(),
                "nosuid,nodev,noexec,nosymfollow".to_owned()
            ),
            ("sdb1".to_owned(), "nosuid,nodev,noexec".to_owned()),
        ]
    );
}

#[tokio::test]
async fn a_stick_mounted_elsewhere_allowing_set_user_id_programs_or_devices_is_refused() {
    let dir = TempDir::new("usb-unsafe-mount");
    let at = dir.join("by-hand");
    std::fs::create_dir_all(&at).unwrap();
    for (options, allows) in [
        ("rw,relatime", "set-user-ID programs and device files"),
        ("rw,nodev,relatime", "set-user-ID programs"),
        ("rw,nosuid,relatime", "device files"),
    ] {
        // Mounted by hand or from /etc/fstab, not by UDisks2 (which always adds nosuid,nodev).
        let by_hand = Part {
            mounted: vec![at.clone()],
            mounted_with: options,
            ..part("sdc", "usb", "HAND")
        };
        let u = udisks(std::slice::from_ref(&by_hand), &dir).await;
        let e = u.find(1).await.unwrap_err();
        assert_eq!(
            e,
            UsbError::UnsafeMount {
                label: "HAND".to_owned(),
                allows: allows.to_owned()
            }
        );
        assert_eq!(
            e.to_string(),
            format!(
                "The USB stick \"HAND\" was opened on the pump in a way that is not safe for the export: it allows {allows}. Take the stick out, plug it in again and press Export again; if this happens again, call technical support."
            )
        );
        // The pump does not undo another's mount.
        assert!(u.mounted().is_empty(), "{:?}", u.mounted());

        // Another stick will do.
        let u = udisks(&[by_hand, part("sdd", "usb", "GOOD")], &dir).await;
        assert_eq!(u.find(1).await.unwrap().label, "GOOD");
    }
    // Mounted elsewhere without noexec or nosymfollow, but with nosuid and nodev (an older
    // UDisks2, or another client): used, since the export follows no link and runs nothing.
    let udisks_mount = Part {
        mounted: vec![at.clone()],
        mounted_with: "rw,nosuid,nodev,relatime,uhelper=udisks2",
        ..part("sdc", "usb", "OK")
    };
    let u = udisks(&[udisks_mount], &dir).await;
    assert_eq!(u.find(1).await.unwrap().mount_point, at);
    assert!(u.mounted().is_empty());
}
