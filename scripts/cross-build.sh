#!/usr/bin/env bash
# Builds Titra for the Raspberry Pi's processor (aarch64, Debian/Raspberry Pi OS arm64) from an
# x86-64 Debian machine, installing what it needs, and runs the core and engine tests as arm64
# binaries under qemu-user so that an arm-only bug (alignment, atomics, integer width) shows here.
#
#   scripts/cross-build.sh            build titra-pumpd and titra (release, feature rpi) and test
#   scripts/cross-build.sh --no-test  build only
#   scripts/cross-build.sh --ci       as CI runs it: the unoptimised build the tests share, and
#                                     the tests (half the compile time of a release build too)
#
# The binaries land in target/aarch64-unknown-linux-gnu/release/. titra-ui with the linuxkms
# backend also needs libinput, libudev and libxkbcommon for arm64 (multiarch dev packages);
# the script builds it when they are installed and says so when they are not.
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
if [ $run_tests = 1 ]; then
  command -v qemu-aarch64-static >/dev/null || command -v qemu-aarch64 >/dev/null || need+=(qemu-user-static)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
rustup target list --installed | grep -qx "$target" || rustup target add "$target"

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc

# The arm64 libraries the build links against (fontconfig for the UI code in the library, which
# the daemon links too), unpacked from Debian's arm64 packages into a sysroot under target/:
# downloaded, not installed, so the machine's own packages are never touched.
sysroot="$PWD/target/sysroot-aarch64"
debs=(libfontconfig-dev libfontconfig1 libfreetype-dev libfreetype6 libexpat1 libexpat1-dev
      libpng16-16 libpng-dev zlib1g zlib1g-dev libbrotli1 libbrotli-dev uuid-dev libuuid1)
if [ ! -e "$sysroot/usr/lib/aarch64-linux-gnu/pkgconfig/fontconfig.pc" ]; then
  echo "== unpacking the arm64 libraries into $sysroot"
  dpkg --print-foreign-architectures | grep -qx arm64 || { $sudo dpkg --add-architecture arm64; $sudo apt-get update -qq; }
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download "${debs[@]/%/:arm64}" >/dev/null)
  mkdir -p "$sysroot"
  for d in "$tmp"/*.deb; do dpkg -x "$d" "$sysroot"; done
  rm -rf "$tmp"
fi
export PKG_CONFIG_ALLOW_CROSS=1
export PKG_CONFIG_SYSROOT_DIR="$sysroot"
export PKG_CONFIG_LIBDIR="$sysroot/usr/lib/aarch64-linux-gnu/pkgconfig:$sysroot/usr/share/pkgconfig"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=-Wl,-rpath-link,$sysroot/usr/lib/aarch64-linux-gnu -C link-arg=-Wl,-rpath-link,$sysroot/lib/aarch64-linux-gnu"
qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="$qemu -L /usr/aarch64-linux-gnu -E LD_LIBRARY_PATH=$sysroot/usr/lib/aarch64-linux-gnu:$sysroot/lib/aarch64-linux-gnu"

echo "== building titra-pumpd and titra for $target (${dir}, feature rpi)"
cargo build --locked "${profile[@]}" --target "$target" --features rpi --bin titra-pumpd --bin titra

if pkg-config --exists libinput 2>/dev/null && [ -e /usr/lib/aarch64-linux-gnu/libinput.so ]; then
  echo "== building titra-ui for $target (linuxkms)"
  PKG_CONFIG_ALLOW_CROSS=1 PKG_CONFIG_PATH=/usr/lib/aarch64-linux-gnu/pkgconfig \
    cargo build --locked "${profile[@]}" --target "$target" --features rpi,linuxkms --bin titra-ui
else
  echo "== titra-ui (linuxkms) skipped: the arm64 libinput, libudev and libxkbcommon dev packages are not installed"
fi

if [ $run_tests = 1 ]; then
  echo "== core and engine tests as arm64 binaries under qemu-user"
  cargo test --locked --target "$target" --lib core::
  cargo test --locked --target "$target" --test engine
fi
file "target/$target/$dir/titra-pumpd" "target/$target/$dir/titra" 2>/dev/null || true
echo "== the arm64 titra runs: $("$qemu" -L /usr/aarch64-linux-gnu -E "LD_LIBRARY_PATH=$sysroot/usr/lib/aarch64-linux-gnu" "target/$target/$dir/titra" --version)"
