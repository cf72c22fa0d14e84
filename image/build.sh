#!/usr/bin/env bash
# Builds the Titra pump's operating system for a Raspberry Pi 4 (arm64) from Debian's packages
# with mmdebstrap: Debian's kernel and raspi-firmware, the Titra binaries cross-built for
# aarch64, the systemd units, the users, a read-only root, and a data partition for the trial log
# and the journal. See image/README.md.
#
#   image/build.sh --users FILE          the SD-card image: build/image/titra-pi4.img
#   image/build.sh --rootfs-only         the root filesystem only (build/image/rootfs.tar): CI
#   image/build.sh --sim                 the daemon runs on simulated hardware with demo PINs
#                                        (for the boot test and demonstrations; SIMULATED shows)
#   --bins DIR                           take the arm64 binaries from DIR (default: a release
#                                        cross-build in target/aarch64-dist)
#
# Options: --out DIR (default build/image), --suite NAME (default bookworm),
# --mirror URL (default http://deb.debian.org/debian).
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$PWD

out=build/image
suite=bookworm
mirror=http://deb.debian.org/debian
users=""
sim=0
rootfs_only=0
bins=""
while [ $# -gt 0 ]; do
  case "$1" in
    --users) users=$(realpath "$2"); shift ;;
    --sim) sim=1 ;;
    --rootfs-only) rootfs_only=1 ;;
    --bins) bins=$2; shift ;;
    --out) out=$2; shift ;;
    --suite) suite=$2; shift ;;
    --mirror) mirror=$2; shift ;;
    *) echo "image/build.sh: unknown option $1 (see the top of the script)" >&2; exit 2 ;;
  esac
  shift
done
if [ $sim = 0 ] && [ -z "$users" ] && [ $rootfs_only = 0 ]; then
  echo "image/build.sh: a pump image needs --users FILE (PIN hashes from 'titra hash-pin');" >&2
  echo "  use --sim for an image on simulated hardware with the demo PINs" >&2
  exit 2
fi
mkdir -p "$out"
out=$(realpath "$out")
step() { echo "== [$(date +%H:%M:%S)] $*"; }

step "host tools"
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
need=()
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v arch-test >/dev/null || need+=(arch-test)
[ -e /usr/libexec/qemu-binfmt/aarch64-binfmt-P ] || command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
command -v genimage >/dev/null || need+=(genimage)
command -v mkfs.vfat >/dev/null || need+=(dosfstools)
command -v mcopy >/dev/null || need+=(mtools)
command -v mke2fs >/dev/null || need+=(e2fsprogs)
command -v aarch64-linux-gnu-strip >/dev/null || need+=(binutils-aarch64-linux-gnu)
command -v file >/dev/null || need+=(file)
command -v systemd-analyze >/dev/null || need+=(systemd)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# arm64 programs (the packages' maintainer scripts) run under qemu-user through binfmt_misc.
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  $sudo mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  $sudo sh -c 'cat /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register'
fi

dist=${bins:-${CARGO_TARGET_DIR:-target}/aarch64-dist}
if [ ! -x "$dist/titra-pumpd" ] || [ ! -x "$dist/titra-alarm" ] || [ ! -x "$dist/titra-outbound" ] || [ ! -x "$dist/titra-ui" ] || [ ! -x "$dist/titra" ]; then
  [ -n "$bins" ] && { echo "image/build.sh: no titra-pumpd, titra-alarm, titra-outbound, titra-ui and titra in $bins" >&2; exit 2; }
  step "cross-building the Titra binaries (scripts/cross-build.sh --no-test)"
  scripts/cross-build.sh --no-test
fi

# What the pump runs: systemd, D-Bus, udev, UDisks2 and polkit for the USB export, the UI's
# libraries and a font; for the hospital's network (issue 23) systemd-networkd and -resolved,
# nftables (outgoing only to the configured endpoints) and chrony (the time DEC needs). No
# network service listens, no login over the network.
packages=systemd-sysv,udev,dbus,kmod,polkitd,udisks2,libinput10,libxkbcommon0,libfontconfig1
packages+=,libgbm1,libdrm2,fonts-dejavu-core,e2fsprogs,dosfstools
packages+=,systemd-resolved,nftables,chrony
if [ $rootfs_only = 0 ]; then
  # The kernel and the Pi's boot firmware; initramfs-tools builds the initrd once, at the end.
  packages+=,linux-image-arm64,raspi-firmware,initramfs-tools,firmware-brcm80211
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -a systemd config "$stage/"
mkdir "$stage/bin"
for b in titra-pumpd titra-alarm titra-outbound titra-ui titra; do
  aarch64-linux-gnu-strip -o "$stage/bin/$b" "$dist/$b"
done
[ -n "$users" ] && cp "$users" "$stage/users.toml"
echo "$sim" > "$stage/sim"

step "root filesystem (mmdebstrap, Debian $suite arm64; several minutes under emulation)"
# The initrd would be rebuilt, under emulation, after each package that touches it:
# update-initramfs is diverted to true until the customize hook builds one small initrd.
mmdebstrap --arch=arm64 --variant=minbase --include="$packages" \
  --components=main,non-free-firmware \
  --essential-hook='chroot "$1" dpkg-divert --quiet --local --rename --add /usr/sbin/update-initramfs && ln -s /bin/true "$1/usr/sbin/update-initramfs"' \
  --customize-hook="$root_dir/image/customize.sh \"\$1\" $stage" \
  "$suite" "$out/rootfs.tar" "deb $mirror $suite main non-free-firmware"
step "root filesystem: $out/rootfs.tar ($(du -h "$out/rootfs.tar" | cut -f1))"

step "checking the root filesystem"
check=$(mktemp -d)
tar -C "$check" -xf "$out/rootfs.tar"
fail() { echo "image/build.sh: the root filesystem is wrong: $*" >&2; rm -rf "$check"; exit 1; }
# systemd reads the units as the pump will (their programs must exist in the image); any
# output is a failure, as in tests/system/systemd.rs.
said=$(systemd-analyze verify --root="$check" titra-pumpd.service titra-ui.service titra-alarm.service titra-network.service titra-outbound.service 2>&1) \
  || fail "systemd-analyze verify: $said"
[ -z "$said" ] || fail "systemd-analyze verify: $said"
for unit in titra-pumpd.service titra-ui.service titra-network.service titra-outbound.service systemd-networkd.service chrony.service; do
  [ -L "$check/etc/systemd/system/multi-user.target.wants/$unit" ] || fail "$unit is not enabled"
done
grep -q '^sourcedir /run/titra-network$' "$check/etc/chrony/chrony.conf" || fail "chrony does not take the site's time servers"
! grep -q '^pool ' "$check/etc/chrony/chrony.conf" || fail "chrony would ask the internet's pool"
# The alarm unit starts only when the daemon has failed (its OnFailure=), never at boot.
[ ! -e "$check/etc/systemd/system/multi-user.target.wants/titra-alarm.service" ] || fail "titra-alarm is enabled"
grep -q '^OnFailure=titra-alarm.service' "$check/usr/lib/systemd/system/titra-pumpd.service" || fail "no OnFailure= alarm"
grep -q '^titra:' "$check/etc/passwd" && grep -q '^titra-ui:' "$check/etc/passwd" || fail "no titra users"
grep -q '^gpio:.*:titra$' "$check/etc/group" || fail "titra is not in group gpio"
awk '$2 == "/" { exit($4 ~ /(^|,)ro(,|$)/ ? 0 : 1) }' "$check/etc/fstab" || fail "the root is not mounted read-only"
for f in usr/bin/titra-pumpd usr/bin/titra-alarm usr/bin/titra-outbound usr/bin/titra-ui usr/bin/titra; do
  file -b "$check/$f" | grep -q "ARM aarch64" || fail "$f is not an arm64 program"
done
if [ $sim = 0 ]; then
  [ -e "$check/etc/titra/users.toml" ] || fail "no users file"
  [ ! -e "$check/etc/systemd/system/titra-pumpd.service.d/simulated.conf" ] || fail "a pump image runs simulated"
  [ ! -e "$check/etc/systemd/system/titra-alarm.service.d/simulated.conf" ] || fail "a pump image's alarm is simulated"
fi
rm -rf "$check"
echo "units verify, services enabled, network and time, users and groups, read-only root, arm64 binaries: ok"

if [ $rootfs_only = 1 ]; then
  exit 0
fi

step "disk image (genimage: boot FAT, read-only root, data partition)"
work=$(mktemp -d)
mkdir -p "$work/root"
tar -C "$work/root" -xf "$out/rootfs.tar"
# The data partition's tree: the trial log's directory (private to the daemon) and the journal.
# raspi-firmware already put the firmware, kernel, initrd and config.txt in /boot/firmware,
# which becomes the FAT partition.
mkdir -p "$work/root/data/titra" "$work/root/data/journal"
uid=$(awk -F: '$1 == "titra" { print $3 }' "$work/root/etc/passwd")
chown "$uid:$uid" "$work/root/data/titra"
chmod 0700 "$work/root/data/titra"
genimage --config image/genimage.cfg --rootpath "$work/root" --tmppath "$work/tmp" \
  --inputpath "$work" --outputpath "$out" >/dev/null
rm -f "$out/boot.vfat" "$out/root.ext4" "$out/data.ext4"
rm -rf "$work"
step "done: $out/titra-pi4.img ($(du -h "$out/titra-pi4.img" | cut -f1)); write it with:"
echo "  sudo dd if=$out/titra-pi4.img of=/dev/sdX bs=4M conv=fsync status=progress"
