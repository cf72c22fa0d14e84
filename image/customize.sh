#!/usr/bin/env bash
# mmdebstrap's customize hook for image/build.sh: installs Titra into the arm64 root filesystem
# at $1 from the staging directory $2 (binaries, systemd/, config/, users.toml, sim flag).
# Everything here runs on the build machine; only update-initramfs runs under emulation.
set -euo pipefail
root=$1
stage=$2
sim=$(cat "$stage/sim")

echo "customize: Titra binaries, units and configuration"
install -m 0755 "$stage/bin/titra-pumpd" "$stage/bin/titra-alarm" "$stage/bin/titra-outbound" "$stage/bin/titra-ui" \
  "$stage/bin/titra" "$root/usr/bin/"
s=$stage/systemd
install -m 0644 "$s/titra-pumpd.service" "$s/titra-ui.service" "$s/titra-alarm.service" \
  "$s/titra-network.service" "$s/titra-outbound.service" "$root/usr/lib/systemd/system/"
install -D -m 0644 "$s/org.titra.Pump1.conf" "$root/usr/share/dbus-1/system.d/org.titra.Pump1.conf"
install -D -m 0644 "$s/titra.sysusers.conf" "$root/usr/lib/sysusers.d/titra.conf"
install -D -m 0644 "$s/titra.tmpfiles.conf" "$root/usr/lib/tmpfiles.d/titra.conf"
install -D -m 0644 "$s/60-titra-gpio.rules" "$root/usr/lib/udev/rules.d/60-titra-gpio.rules"
install -D -m 0644 "$s/titra-journald.conf" "$root/usr/lib/systemd/journald.conf.d/titra.conf"
install -D -m 0644 "$s/titra-watchdog.conf" "$root/usr/lib/systemd/system.conf.d/titra-watchdog.conf"
install -D -m 0644 "$s/50-titra-udisks.rules" "$root/etc/polkit-1/rules.d/50-titra-udisks.rules"

# The users (from the build machine's systemd-sysusers, which reads the image's /etc).
systemd-sysusers --root="$root" - < "$s/titra.sysusers.conf"

# The site's configuration. The root is read-only on the pump: a technician remounts it
# read-write to calibrate (titra calibrate) or to change the users file.
install -d -m 0750 "$root/etc/titra"
install -m 0640 "$stage/config/hardware.toml" "$stage/config/drug-library.toml" \
  "$stage/config/protocol.toml" "$root/etc/titra/"
if [ -e "$stage/users.toml" ]; then
  install -m 0640 "$stage/users.toml" "$root/etc/titra/users.toml"
fi
gid=$(awk -F: '$1 == "titra" { print $3 }' "$root/etc/group")
chgrp -R "$gid" "$root/etc/titra"
if [ "$sim" = 1 ]; then
  # Simulated hardware and the demo PINs: shown as SIMULATED on every screen and in the journal.
  install -d "$root/etc/systemd/system/titra-pumpd.service.d"
  cat > "$root/etc/systemd/system/titra-pumpd.service.d/simulated.conf" <<'EOF'
# This image drives no pump: simulated hardware, demo users (nurse 123456, clinician 246810).
[Service]
ExecStart=
ExecStart=/usr/bin/titra-pumpd --sim --bus system --db /var/lib/titra/titra.db --hardware /etc/titra/hardware.toml --library /etc/titra/drug-library.toml --protocol /etc/titra/protocol.toml
EOF
  install -d "$root/etc/systemd/system/titra-alarm.service.d"
  cat > "$root/etc/systemd/system/titra-alarm.service.d/simulated.conf" <<'EOF'
# This image drives no pump: the alarm's light and tone are written to the journal, SIMULATED.
[Service]
ExecStart=
ExecStart=/usr/bin/titra-alarm --sim --hardware /etc/titra/hardware.toml
EOF
fi

echo "customize: read-only root, data partition, services"
cat > "$root/etc/fstab" <<'EOF'
# The root is read-only: a power cut cannot corrupt the system. What changes lives on the data
# partition (the trial log, the journal) or in memory.
LABEL=titra-root  /               ext4   ro,noatime,errors=remount-ro               0 1
LABEL=TITRA-BOOT  /boot/firmware  vfat   ro,noatime,nofail,x-systemd.device-timeout=10s 0 2
LABEL=titra-data  /data           ext4   rw,noatime,nosuid,nodev,noexec,data=journal 0 2
/data/titra       /var/lib/titra  none   bind,x-systemd.requires-mounts-for=/data   0 0
/data/journal     /var/log/journal none  bind,x-systemd.requires-mounts-for=/data   0 0
tmpfs             /tmp            tmpfs  nosuid,nodev,mode=1777                     0 0
tmpfs             /var/tmp        tmpfs  nosuid,nodev,mode=1777                     0 0
tmpfs             /var/lib/systemd tmpfs nosuid,nodev,mode=0755                     0 0
tmpfs             /var/lib/udisks2 tmpfs nosuid,nodev,mode=0700,nofail              0 0
tmpfs             /media          tmpfs  nosuid,nodev,mode=0755,nofail              0 0
EOF
# Every mount point must exist in the image: a read-only root cannot make one at boot.
install -d "$root/data" "$root/var/lib/titra" "$root/var/log/journal" "$root/boot/firmware" \
  "$root/var/lib/udisks2" "$root/media" "$root/var/lib/systemd" "$root/var/tmp"
echo titra-pump > "$root/etc/hostname"
# One machine identity per image, written now: a read-only root cannot take one at first boot.
rm -f "$root/etc/machine-id"
systemd-machine-id-setup --root="$root" >/dev/null
systemctl --root="$root" enable titra-pumpd.service titra-ui.service >/dev/null 2>&1

echo "customize: the hospital's network (titra-network.service), its firewall and time"
# The address, the firewall and the time servers are written at boot from /etc/titra
# (titra network-config): the root stays read-only. chrony asks only the site's servers.
systemctl --root="$root" enable titra-network.service titra-outbound.service systemd-networkd.service \
  systemd-resolved.service chrony.service >/dev/null 2>&1
cat > "$root/etc/chrony/chrony.conf" <<'EOF'
# Titra: the time servers of /etc/titra/hardware.toml ([network] ntp), written at boot into
# /run/titra-network/titra.sources by titra-network.service. No internet pool: the firewall
# lets the pump reach only the site's servers.
sourcedir /run/titra-network
# The root is read-only: the drift is kept for the boot only.
driftfile /run/chrony/chrony.drift
# Step the clock at start-up when it is more than a second off (the Pi has no clock of its
# own while off); slew it afterwards. Delivery runs on the monotonic clock: a step moves only
# the times written in messages and the log's dates.
makestep 1 3
leapsectz right/UTC
EOF
# The UI owns the first console; no login prompt on the screen.
systemctl --root="$root" mask getty@tty1.service >/dev/null 2>&1

# update-initramfs was diverted to true while the packages went in (build.sh).
rm -f "$root/usr/sbin/update-initramfs"
chroot "$root" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs
if [ -x "$root/usr/sbin/update-initramfs" ]; then
  echo "customize: one small initrd (SD card and qemu's virtio disks), under emulation"
  cat > "$root/etc/initramfs-tools/conf.d/titra" <<'EOF'
MODULES=list
FSTYPE=ext4
EOF
  install -d "$root/usr/share/initramfs-tools/modules.d"
  printf '%s\n' ext4 vfat mmc_block sdhci_iproc sdhci_pltfm bcm2835 virtio_blk virtio_pci \
    virtio_mmio bcm2835_wdt > "$root/usr/share/initramfs-tools/modules.d/titra"
  chroot "$root" update-initramfs -c -k all
  # The kernel command line: the labelled read-only root, quiet on the display.
  if [ -d "$root/boot/firmware" ] && [ -e "$root/boot/firmware/cmdline.txt" ]; then
    echo "console=serial0,115200 console=tty1 root=LABEL=titra-root ro rootwait fsck.repair=yes net.ifnames=0 quiet vt.global_cursor_default=0" \
      > "$root/boot/firmware/cmdline.txt"
  fi
fi
