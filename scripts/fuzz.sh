#!/usr/bin/env bash
# Runs every fuzz target for a set time and prints a table: executions, speed, corpus, findings.
#
#   scripts/fuzz.sh [SECONDS per target, default 60] [TARGET ...]
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). The committed seed
# corpus (fuzz/corpus/TARGET) is read, never written: new inputs go to target/fuzz-corpus/.
# A finding is saved under fuzz/artifacts/TARGET/; reproduce it with
#   cargo +nightly fuzz run -s none TARGET fuzz/artifacts/TARGET/FILE
# and make it a regression test before fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(units library program scenario dbus_args dbus_iface)
fi
# Absolute, so that it is the same from fuzz/ (CARGO_TARGET_DIR may be absolute or not).
work=$(realpath -m "${CARGO_TARGET_DIR:-target}")/fuzz-corpus
mkdir -p "$work"
# Without sanitizers: the code is safe Rust (bundled SQLite aside), and coverage-guided
# fuzzing runs several times faster.
(cd fuzz && cargo +nightly fuzz build -s none)
printf '%-10s %8s %12s %10s %8s %9s\n' target seconds executions exec/s corpus findings
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" "fuzz/corpus/$t" "fuzz/artifacts/$t"
  before=$(ls "fuzz/artifacts/$t" | wc -l)
  log="$work/$t.log"
  (cd fuzz && cargo +nightly fuzz run -s none "$t" "$work/$t" "corpus/$t" -- \
      -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 >"$log" 2>&1) || true
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  corpus=$(ls "$work/$t" | wc -l)
  after=$(ls "fuzz/artifacts/$t" | wc -l)
  printf '%-10s %8s %12s %10s %8s %9s\n' "$t" "$seconds" "${runs:-0}" "$(( ${runs:-0} / seconds ))" "$corpus" "$(( after - before ))"
done
