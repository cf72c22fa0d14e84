#!/usr/bin/env bash
# The units under a real systemd, in a container (systemd-nspawn) booted from a small Debian
# root filesystem with this machine's builds of titra-pumpd and titra-alarm:
#
#   1. titra-pumpd cannot start (its users file is missing): systemd restarts it up to its
#      start limit, marks it failed, and starts titra-alarm (OnFailure=), which sounds the HIGH
#      pattern on its (simulated) lines;
#   2. the daemon is fixed and started again: systemd stops titra-alarm first (Conflicts=) and
#      the daemon reaches READY;
#   3. the daemon is killed with SIGTERM by hand (not by systemctl): it is started again
#      (Restart=always), and titra-alarm stays stopped.
#
#   scripts/systemd-test.sh [--bins DIR]     (default: ${CARGO_TARGET_DIR:-target}/debug)
#
# Needs root, mmdebstrap and systemd-container (installed when missing). The root filesystem is
# kept in ${CARGO_TARGET_DIR:-target}/systemd-test/ for the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
bins=${CARGO_TARGET_DIR:-target}/debug
while [ $# -gt 0 ]; do
  case "$1" in
    --bins) bins=$2; shift ;;
    *) echo "scripts/systemd-test.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
for b in titra-pumpd titra-alarm; do
  [ -x "$bins/$b" ] || { echo "no $bins/$b: cargo build --bin $b first" >&2; exit 2; }
done
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
need=()
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
if [ ${#need[@]} -gt 0 ]; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

cache=${CARGO_TARGET_DIR:-target}/systemd-test
mkdir -p "$cache"
# A file, not a directory: mmdebstrap guesses its output's format from the name's ending, and a
# name ending in .part is taken for a directory (an earlier run may have left one).
if [ ! -f "$cache/root.tar" ] || [ ! -s "$cache/root.tar" ]; then
  $sudo rm -rf "$cache/root.tar" "$cache/root.tar.part"
  echo "== a small Debian root filesystem with systemd and D-Bus (mmdebstrap, kept in $cache)"
  mmdebstrap --quiet --format=tar --variant=minbase --include=systemd-sysv,dbus bookworm "$cache/root.tar.part"
  mv "$cache/root.tar.part" "$cache/root.tar"
fi
root=$(mktemp -d)
trap '$sudo rm -rf "$root"' EXIT
$sudo tar -C "$root" -xf "$cache/root.tar"

# Titra as the image installs it, with the binaries built here (the same Debian release).
$sudo install -m 0755 "$bins/titra-pumpd" "$bins/titra-alarm" "$root/usr/bin/"
$sudo install -m 0644 systemd/titra-pumpd.service systemd/titra-alarm.service "$root/usr/lib/systemd/system/"
$sudo install -D -m 0644 systemd/org.titra.Pump1.conf "$root/usr/share/dbus-1/system.d/org.titra.Pump1.conf"
$sudo install -D -m 0644 systemd/titra.sysusers.conf "$root/usr/lib/sysusers.d/titra.conf"
$sudo install -D -m 0644 systemd/titra.tmpfiles.conf "$root/usr/lib/tmpfiles.d/titra.conf"
$sudo systemd-sysusers --root="$root" - < systemd/titra.sysusers.conf
$sudo install -d -m 0750 "$root/etc/titra"
$sudo install -m 0640 config/hardware.toml config/drug-library.toml config/protocol.toml "$root/etc/titra/"
gid=$(awk -F: '$1 == "titra" { print $3 }' "$root/etc/group")
$sudo chgrp -R "$gid" "$root/etc/titra"
$sudo systemctl --root="$root" enable titra-pumpd.service >/dev/null 2>&1
# Simulated hardware (no GPIO here), and a users file that is not there: the daemon cannot start.
$sudo install -d "$root/etc/systemd/system/titra-pumpd.service.d" "$root/etc/systemd/system/titra-alarm.service.d"
$sudo tee "$root/etc/systemd/system/titra-pumpd.service.d/test.conf" >/dev/null <<'UNIT'
[Service]
ExecStart=
ExecStart=/usr/bin/titra-pumpd --sim --bus system --db /var/lib/titra/titra.db --users /etc/titra/users.toml --hardware /etc/titra/hardware.toml --library /etc/titra/drug-library.toml --protocol /etc/titra/protocol.toml
UNIT
$sudo tee "$root/etc/systemd/system/titra-alarm.service.d/test.conf" >/dev/null <<'UNIT'
[Service]
ExecStart=
ExecStart=/usr/bin/titra-alarm --sim --hardware /etc/titra/hardware.toml
UNIT

# The check, run by systemd inside the container once it has booted; it says PASS or FAIL on
# the console and powers the container off.
$sudo tee "$root/usr/local/bin/titra-check" >/dev/null <<'CHECK'
#!/bin/sh
say() { echo "TITRA-SYSTEMD-TEST: $*" > /dev/console; }
fail() { say "FAIL: $*"; systemctl status --no-pager titra-pumpd titra-alarm > /dev/console 2>&1; journalctl --no-pager -n 40 > /dev/console 2>&1; systemctl poweroff; exit 1; }
wait_for() { # unit state seconds
  i=0
  while [ "$(systemctl is-active "$1")" != "$2" ]; do
    i=$((i + 1)); [ $i -gt $(($3 * 5)) ] && return 1; sleep 0.2
  done
}
# 1. Five failed starts, then the alarm.
wait_for titra-pumpd.service failed 60 || fail "titra-pumpd never failed for good"
wait_for titra-alarm.service active 20 || fail "titra-alarm was not started by OnFailure="
n=$(journalctl --no-pager -u titra-pumpd -g 'users.toml' | grep -c 'titra-pumpd\[' || true)
[ "$n" -ge 5 ] || fail "titra-pumpd failed $n times, not the 5 of its start limit"
sleep 1
journalctl --no-pager -u titra-alarm | grep -q 'SIMULATED alarm lines: LED on, tone on' || fail "titra-alarm does not sound"
journalctl --no-pager -u titra-alarm | grep -q 'Call a technician' || fail "titra-alarm does not say why"
say "titra-pumpd failed $n times; titra-alarm sounds"
# 2. Fixed (no users file: simulated hardware takes the demo users) and started again.
sed -i 's| --users /etc/titra/users.toml||' /etc/systemd/system/titra-pumpd.service.d/test.conf
systemctl daemon-reload
systemctl reset-failed titra-pumpd.service
systemctl start titra-pumpd.service || fail "titra-pumpd does not start again"
[ "$(systemctl is-active titra-alarm.service)" = inactive ] || fail "titra-alarm still runs beside the daemon"
journalctl --no-pager -u titra-alarm | grep -q 'SIMULATED alarm lines: LED off, tone off' || fail "titra-alarm did not switch its lines off"
say "titra-pumpd started again; titra-alarm stopped, its lines off"
# 3. A stray SIGTERM: the daemon exits 0, and is started again all the same.
pid=$(systemctl show -p MainPID --value titra-pumpd.service)
kill -TERM "$pid"
i=0
while [ "$(systemctl show -p MainPID --value titra-pumpd.service)" = "$pid" ] || [ "$(systemctl is-active titra-pumpd.service)" != active ]; do
  i=$((i + 1)); [ $i -gt 100 ] && fail "titra-pumpd was not started again after SIGTERM"; sleep 0.2
done
[ "$(systemctl show -p NRestarts --value titra-pumpd.service)" -ge 1 ] || fail "no restart counted"
[ "$(systemctl is-active titra-alarm.service)" = inactive ] || fail "titra-alarm started on a restart"
say "a stray SIGTERM: titra-pumpd started again (pid $pid, then $(systemctl show -p MainPID --value titra-pumpd.service))"
say PASS
systemctl poweroff
CHECK
$sudo chmod 0755 "$root/usr/local/bin/titra-check"
$sudo tee "$root/etc/systemd/system/titra-check.service" >/dev/null <<'UNIT'
[Unit]
Description=Titra: the units under systemd
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/usr/local/bin/titra-check
[Install]
WantedBy=multi-user.target
UNIT
$sudo systemctl --root="$root" enable titra-check.service >/dev/null 2>&1

echo "== booting the container (systemd-nspawn --boot)"
log=$(mktemp)
started=$SECONDS
# A read-only console: what the container prints comes here; no terminal needed (CI has none).
timeout 180 $sudo systemd-nspawn --quiet --boot --register=no --keep-unit --console=read-only --directory="$root" \
  > "$log" 2>&1 || true
grep 'TITRA-SYSTEMD-TEST' "$log" || true
if grep -q 'TITRA-SYSTEMD-TEST: PASS' "$log"; then
  echo "== the units under systemd: passed ($((SECONDS - started)) s)"
  rm -f "$log"
  exit 0
fi
echo "== the units under systemd: FAILED; the console said:" >&2
tail -80 "$log" >&2
rm -f "$log"
exit 1
