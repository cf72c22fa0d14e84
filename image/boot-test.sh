#!/usr/bin/env bash
# Boots the pump's root filesystem (from `image/build.sh --sim`) under qemu-system-aarch64 with
# Debian's kernel from the image, and checks that titra-pumpd reaches READY (Type=notify) on the
# read-only root with the data partition mounted, and answers on the system bus. A boot-check
# unit, added to a copy of the root filesystem for this test only, prints the result on the
# serial console and powers the machine off.
#
#   image/boot-test.sh [--rootfs build/image/rootfs.tar] [--timeout 900]
#
# With --kiosk the machine has a display (virtio-gpu at 800x480) and a touchscreen (a virtio
# tablet): titra-ui draws on it as on the Pi (linuxkms, software renderer), and image/kiosk.py
# takes pictures of it and taps it through QEMU's machine protocol, following the steps in
# image/kiosk-steps.txt (log in, open the wizard, see an alarm); the pictures go to
# build/image/kiosk/. --hold leaves the machine running afterwards (its QMP socket is printed)
# for image/kiosk.py by hand.
#
# Slow (several minutes of full emulation): not part of .ci/run. The result goes in the README.
set -euo pipefail
cd "$(dirname "$0")/.."
rootfs=build/image/rootfs.tar
timeout=900
kiosk=0
hold=0
steps=image/kiosk-steps.txt
while [ $# -gt 0 ]; do
  case "$1" in
    --rootfs) rootfs=$2; shift ;;
    --timeout) timeout=$2; shift ;;
    --kiosk) kiosk=1 ;;
    --hold) kiosk=1; hold=1 ;;
    --steps) steps=$2; shift ;;
    *) echo "image/boot-test.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[ -e "$rootfs" ] || { echo "no $rootfs: run image/build.sh --sim first" >&2; exit 2; }
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
command -v qemu-system-aarch64 >/dev/null || {
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends qemu-system-arm >/dev/null
}

work=$(mktemp -d)
[ $hold = 1 ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root" "$work/data/titra" "$work/data/journal"
tar -C "$work/root" -xf "$rootfs"
kernel=$(ls "$work"/root/boot/vmlinuz-* | head -1)
initrd=$(ls "$work"/root/boot/initrd.img-* | head -1)
[ -e "$kernel" ] && [ -e "$initrd" ] || { echo "the root filesystem has no kernel: build it without --rootfs-only" >&2; exit 2; }

cat > "$work/root/etc/systemd/system/titra-boot-check.service" <<'EOF'
[Unit]
Description=Titra boot test: the pump daemon is READY and answers on D-Bus
Requires=titra-pumpd.service
After=titra-pumpd.service

[Service]
Type=oneshot
StandardOutput=journal+console
ExecStart=/bin/sh -c 'echo "TITRA-BOOT-CHECK: root $(findmnt -no OPTIONS / | cut -d, -f1), data $(findmnt -no SOURCE /var/lib/titra), pumpd $(systemctl is-active titra-pumpd.service) after $(systemctl show -P ActiveEnterTimestampMonotonic titra-pumpd.service) us"; busctl --system call org.titra.Pump1 /org/titra/Pump1 org.titra.Pump1 StatusJson | cut -c1-300 && echo "TITRA-BOOT-CHECK: ok"'
ExecStopPost=/bin/systemctl poweroff --no-block

[Install]
WantedBy=multi-user.target
EOF
if [ $kiosk = 1 ]; then
  # The kiosk: no power-off; the console says when the UI has started.
  cat > "$work/root/etc/systemd/system/titra-boot-check.service" <<'EOF'
[Unit]
Description=Titra kiosk test: the touchscreen UI has started
Requires=titra-ui.service titra-pumpd.service
After=titra-ui.service titra-pumpd.service

[Service]
Type=oneshot
StandardOutput=journal+console
ExecStart=/bin/sh -c 'echo "TITRA-KIOSK: pumpd $(systemctl is-active titra-pumpd.service), ui $(systemctl is-active titra-ui.service), display $(ls /dev/dri 2>/dev/null | tr "\\n" " "), input $(ls /dev/input 2>/dev/null | tr "\\n" " ")"; journalctl -b -u titra-ui.service --no-pager -o cat | tail -8 | sed "s/^/TITRA-KIOSK: ui: /"'

[Install]
WantedBy=multi-user.target
EOF
fi
ln -s ../titra-boot-check.service "$work/root/etc/systemd/system/multi-user.target.wants/titra-boot-check.service"
uid=$(awk -F: '$1 == "titra" { print $3 }' "$work/root/etc/passwd")
chown "$uid:$uid" "$work/data/titra"
chmod 0700 "$work/data/titra"

echo "== [$(date +%H:%M:%S)] file systems"
mke2fs -q -t ext4 -L titra-root -d "$work/root" "$work/root.ext4" 2G
mke2fs -q -t ext4 -L titra-data -d "$work/data" "$work/data.ext4" 256M

if [ $kiosk = 1 ]; then
  echo "== [$(date +%H:%M:%S)] booting the kiosk under qemu-system-aarch64 (serial log: build/image/kiosk.log)"
  mkdir -p build/image/kiosk
  log=build/image/kiosk.log
  : > "$log"
  sock="$work/qmp.sock"
  start=$(date +%s)
  qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m 1024 -display none \
    -serial "file:$log" -monitor none -no-reboot -nic none \
    -device virtio-gpu-pci,xres=800,yres=480 -device virtio-tablet-pci -device virtio-keyboard-pci \
    -qmp "unix:$sock,server=on,wait=off" \
    -kernel "$kernel" -initrd "$initrd" \
    -append "root=LABEL=titra-root ro console=ttyAMA0 rootwait" \
    -drive "file=$work/root.ext4,if=virtio,format=raw" \
    -drive "file=$work/data.ext4,if=virtio,format=raw" &
  qemu=$!
  until grep -aq "TITRA-KIOSK:" "$log" 2>/dev/null; do
    if ! kill -0 $qemu 2>/dev/null || [ $(( $(date +%s) - start )) -gt "$timeout" ]; then
      echo "== kiosk FAILED: the UI did not start; the end of the serial log:" >&2
      tail -40 "$log" >&2
      kill $qemu 2>/dev/null || true
      exit 1
    fi
    sleep 5
  done
  grep -a "TITRA-KIOSK:" "$log" | sed 's/^/  /'
  echo "== [$(date +%H:%M:%S)] the UI started $(( $(date +%s) - start ))s after power-on; the steps of $steps"
  # The UI's first frame under full emulation.
  sleep 30
  python3 image/kiosk.py "$sock" steps "$steps" build/image/kiosk
  secs=$(( $(date +%s) - start ))
  if [ $hold = 1 ]; then
    echo "== the kiosk runs on: image/kiosk.py $sock shot|tap ...; kill $qemu to stop it"
    exit 0
  fi
  kill $qemu
  echo "== kiosk test done: pictures in build/image/kiosk/; ${secs}s from power-on"
  exit 0
fi

echo "== [$(date +%H:%M:%S)] booting under qemu-system-aarch64 (serial log: build/image/boot-test.log)"
mkdir -p build/image
log=build/image/boot-test.log
start=$(date +%s)
set +e
timeout "$timeout" qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m 1024 -nographic \
  -no-reboot -nic none -kernel "$kernel" -initrd "$initrd" \
  -append "root=LABEL=titra-root ro console=ttyAMA0 rootwait" \
  -drive "file=$work/root.ext4,if=virtio,format=raw" \
  -drive "file=$work/data.ext4,if=virtio,format=raw" > "$log" 2>&1 < /dev/null
rc=$?
set -e
secs=$(( $(date +%s) - start ))
grep -a "TITRA-BOOT-CHECK" "$log" | sed 's/^/  /' || true
if grep -aq "TITRA-BOOT-CHECK: ok" "$log"; then
  echo "== boot test passed: titra-pumpd READY on the read-only root and answering on D-Bus; ${secs}s from power-on to power-off"
  exit 0
fi
echo "== boot test FAILED (qemu exit $rc after ${secs}s); the end of the serial log:" >&2
tail -40 "$log" >&2
exit 1
