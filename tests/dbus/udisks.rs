//! Finding a USB stick for the export through UDisks2, against a small UDisks2 of the test's own
//! (its ObjectManager, Block, Drive and Filesystem objects, and Filesystem.Mount) over a
//! peer-to-peer D-Bus link. The mount points are real directories under the temporary directory,
//! so free space and read-only flags come from the real filesystem.
//!
//! The mock reports what real UDisks2 reports for these devices: every USB drive is Removable and
//! not HintSystem (UDisks2 decides that by bus alone), a partition's Block.Drive is its disk's
//! drive, the whole disk is a Block with a partition table and no Filesystem.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use titra::report::usb::{UsbError, find_stick};
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
}

/// A partition (a filesystem, or swap) on a drive.
#[derive(Clone)]
struct Part {
    drive: &'static str,
    number: u8,
    bus: &'static str,
    label: &'static str,
    read_only: bool,
    system: bool,
    mounted: Vec<PathBuf>,
    swap: bool,
    mounting: Mounting,
}

impl Part {
    fn device(&self) -> String {
        format!("{}{}", self.drive, self.number)
    }
}

/// The first partition of a drive on `bus`, with a filesystem, not mounted.
fn part(drive: &'static str, bus: &'static str, label: &'static str) -> Part {
    Part {
        drive,
        number: 1,
        bus,
        label,
        read_only: false,
        system: false,
        mounted: Vec::new(),
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
        let block = |device: &str, label: &str| {
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
            b.insert("ReadOnly".into(), v(p.read_only));
            b.insert("HintSystem".into(), v(p.system));
            b.insert("HintIgnore".into(), v(false));
            b
        };
        // The whole disk: a block device with a partition table and no filesystem.
        out.insert(
            path(&block_path(p.drive)),
            HashMap::from([
                (BLOCK.to_owned(), block(p.drive, "")),
                (
                    "org.freedesktop.UDisks2.PartitionTable".to_owned(),
                    Props::new(),
                ),
            ]),
        );
        let mut ifaces = HashMap::from([(BLOCK.to_owned(), block(&p.device(), p.label))]);
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
}

/// Every Mount call: (device, number of options given).
type Calls = Arc<Mutex<Vec<(String, usize)>>>;

/// A filesystem that mounts at `at`, recording its Mount calls.
struct Filesystem {
    device: String,
    at: PathBuf,
    mounting: Mounting,
    calls: Calls,
}

#[interface(name = "org.freedesktop.UDisks2.Filesystem")]
impl Filesystem {
    async fn mount(&self, options: HashMap<String, OwnedVariant>) -> Result<String, UdisksError> {
        self.calls
            .lock()
            .unwrap()
            .push((self.device.clone(), options.len()));
        match self.mounting {
            Mounting::Works => {
                std::fs::create_dir_all(&self.at).unwrap();
                Ok(self.at.display().to_string())
            }
            Mounting::NotAuthorized => Err(UdisksError::NotAuthorizedCanObtain(
                "Not authorized to perform operation".to_owned(),
            )),
        }
    }
}

struct Udisks {
    client: Connection,
    calls: Calls,
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
}

/// A UDisks2 with these partitions; each unmounted one mounts under `mounts_in`.
async fn udisks(parts: &[Part], mounts_in: &Path) -> Udisks {
    let calls = Calls::default();
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
                },
            );
        }
        server
    })
    .await;
    Udisks {
        client,
        calls,
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
    let e = find_stick(&u.client, 1000).await.unwrap_err();
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
    assert_eq!(find_stick(&u.client, 1).await, Err(UsbError::NoStick));
    assert!(u.mounted().is_empty(), "{:?}", u.mounted());

    let mut with_stick = others.to_vec();
    with_stick.push(part("sdz", "usb", "STICK"));
    let u = udisks(&with_stick, &dir).await;
    let stick = find_stick(&u.client, 1).await.unwrap();
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
    assert_eq!(find_stick(&u.client, 1).await, Err(UsbError::NoStick));
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
    assert_eq!(find_stick(&u.client, 1).await, Err(UsbError::NoStick));
    assert!(u.mounted().is_empty(), "{:?}", u.mounted());

    let mut with_stick = system.to_vec();
    with_stick.push(part("sdb", "usb", "STICK"));
    let u = udisks(&with_stick, &dir).await;
    let stick = find_stick(&u.client, 1).await.unwrap();
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
    let stick = find_stick(&u.client, 1000).await.unwrap();
    assert_eq!(stick.device, "/dev/sdb1");
    assert_eq!(stick.label, "STICK");
    assert_eq!(stick.mount_point, dir.join("sdb1"));
    assert!(stick.free_bytes >= 1000);
    // Mounted once, with no options.
    assert_eq!(*u.calls.lock().unwrap(), [("sdb1".to_owned(), 0)]);
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
    let found = find_stick(&u.client, 1).await.unwrap();
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
        assert_eq!(find_stick(&u.client, 1).await.unwrap().label, "C");
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
    let e = find_stick(&u.client, 1).await.unwrap_err();
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
    assert_eq!(find_stick(&u.client, 1).await.unwrap().label, "FREE");
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
    let e = find_stick(&u.client, needed).await.unwrap_err();
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
    match find_stick(&u.client, 1).await {
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
    let stick = find_stick(&u.client, 1).await.unwrap();
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
