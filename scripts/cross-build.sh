#!/usr/bin/env bash
# Builds Titra for the Raspberry Pi's processor (aarch64, Debian arm64) from an x86-64 Debian
# machine, installing what it needs, and runs the core and engine tests as arm64 binaries under
# qemu-user so that an arm-only bug (alignment, atomics, integer width) shows here.
#
#   scripts/cross-build.sh            titra-pumpd, titra (feature rpi) and titra-ui (linuxkms),
#                                     release, stripped copies in target/aarch64-dist/; then tests
#   scripts/cross-build.sh --no-test  build only
#   scripts/cross-build.sh --ci       as CI runs it: the unoptimised build the tests share, and
#                                     the tests (half the compile time of a release build too)
#
# The arm64 system libraries (fontconfig for the UI code in the library; libinput, libudev,
# libxkbcommon, libdrm and libgbm for the linuxkms backend) are unpacked from Debian's arm64
# packages into a sysroot under target/ by mmdebstrap: downloaded, not installed, so the
# machine's own packages are never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
target=aarch64-unknown-linux-gnu
run_tests=1
profile=(--release)
dir=release
case "${1:-}" in
  --no-test) run_tests=0 ;;
  --ci) profile=(); dir=debug ;;
esac

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
need=()
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
command -v aarch64-linux-gnu-strip >/dev/null || need+=(binutils-aarch64-linux-gnu)
[ -e /usr/aarch64-linux-gnu/include/stdio.h ] || need+=(libc6-dev-arm64-cross)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v pkg-config >/dev/null || need+=(pkg-config)
if [ $run_tests = 1 ]; then
  command -v qemu-aarch64-static >/dev/null || command -v qemu-aarch64 >/dev/null || need+=(qemu-user-static)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
rustup target list --installed | grep -qx "$target" || rustup target add "$target"

out=$(realpath -m "${CARGO_TARGET_DIR:-target}")
sysroot="$out/sysroot-aarch64"
libs=libc6-dev,libfontconfig-dev,uuid-dev,libinput-dev,libudev-dev,libxkbcommon-dev,libgbm-dev,libdrm-dev
if [ ! -e "$sysroot/.complete" ] || [ "$(cat "$sysroot/.complete")" != "$libs" ]; then
  echo "== unpacking the arm64 libraries into $sysroot (mmdebstrap, Debian bookworm)"
  rm -rf "$sysroot"
  mmdebstrap --quiet --variant=extract --arch=arm64 --include="$libs" bookworm "$sysroot" \
    "deb http://deb.debian.org/debian bookworm main"
  # Absolute symlinks inside the sysroot (libfoo.so -> /lib/...) would point at this machine's
  # x86 libraries: point them into the sysroot.
  find "$sysroot" -type l -lname '/*' | while read -r link; do
    ln -sfn "$sysroot$(readlink "$link")" "$link"
  done
  echo "$libs" > "$sysroot/.complete"
fi

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export PKG_CONFIG_ALLOW_CROSS=1
export PKG_CONFIG_SYSROOT_DIR="$sysroot"
export PKG_CONFIG_LIBDIR="$sysroot/usr/lib/aarch64-linux-gnu/pkgconfig:$sysroot/usr/share/pkgconfig"
# The linker takes the C library from the sysroot too (its libc.so names /lib/... paths that
# only resolve inside a --sysroot).
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=--sysroot=$sysroot -C link-arg=-Wl,-rpath-link,$sysroot/usr/lib/aarch64-linux-gnu -C link-arg=-Wl,-rpath-link,$sysroot/lib/aarch64-linux-gnu"
qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
# The programs run against the sysroot's own dynamic loader and C library: a loader from one
# place and a libc.so from another hang in the first pthread_create.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="$qemu -L $sysroot"

# One feature set for the three binaries and the tests, so that slint and the library are
# compiled once (titra-pumpd never opens the display; the linker drops what it does not use).
features=rpi,linuxkms
bins=(titra-pumpd titra-alarm titra-outbound titra titra-ui)
if [ "$dir" = debug ] && [ $run_tests = 1 ]; then
  # CI: the engine tests' binary and the five programs in one build. An integration test has
  # cargo build every program of the package beside it (with the dev-dependencies' features,
  # which the tests need anyway), so building the programs apart compiled slint and the library
  # a second time for a feature set nothing else used: two and a half minutes here.
  echo "== building the engine tests and ${bins[*]} for $target (debug, features $features)"
  cargo test --locked --no-run --target "$target" --features "$features" --test pump
  for bin in "${bins[@]}"; do
    [ -x "$out/$target/$dir/$bin" ] || { echo "!! $bin was not built for $target" >&2; exit 1; }
  done
else
  echo "== building ${bins[*]} for $target (${dir}, features $features)"
  cargo build --locked "${profile[@]}" --target "$target" --features "$features" \
    "${bins[@]/#/--bin=}"
fi

if [ "$dir" = release ]; then
  # Debug info is kept in target/; the image gets stripped copies.
  dist="$out/aarch64-dist"
  mkdir -p "$dist"
  for bin in "${bins[@]}"; do
    aarch64-linux-gnu-strip -o "$dist/$bin" "$out/$target/release/$bin"
  done
  ls -l "$dist"
fi

if [ $run_tests = 1 ]; then
  echo "== core and engine tests as arm64 binaries under qemu-user"
  cargo test --locked "${profile[@]}" --target "$target" -p titra-core
  # The engine's tests only (the filter engine:: of the pump test binary): the binary's other
  # tests start titra as a child process or read PDFs with the host's pdftotext.
  cargo test --locked "${profile[@]}" --target "$target" --features "$features" --test pump engine::
fi
file "$out/$target/$dir/titra-pumpd" "$out/$target/$dir/titra" 2>/dev/null || true
if [ -n "$qemu" ]; then
  echo "== the arm64 titra runs: $("$qemu" -L "$sysroot" "$out/$target/$dir/titra" --version)"
fi
