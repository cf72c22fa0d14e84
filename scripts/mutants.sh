#!/usr/bin/env bash
# Mutation testing of the dosing core and the supervisor (issue 11): cargo-mutants changes the
# code one small way at a time (a > for a >=, a constant, a function body) and runs the core's
# tests; a mutant no test notices is a gap in the tests. Prints the score per file and overall.
#
#   scripts/mutants.sh [FILE ...]     default: every file of the core (crates/titra-core)
#   MUTANTS_JOBS=2 scripts/mutants.sh two mutants at a time (default 1)
#   scripts/mutants.sh --iterate      only the mutants not caught by the last run (after new
#                                     tests), and those of changed lines
#
# Needs cargo-mutants (`cargo install --locked cargo-mutants`). The core is a crate of its own
# (crates/titra-core), so each mutant rebuilds in seconds; the whole core (about 1 200
# mutants) takes 53 min with MUTANTS_JOBS=2 on two cores. Results (MUTANTS_OUT, default
# target/mutants): mutants.out/{caught,missed,unviable,timeout}.txt
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
if [ "${1:-}" = --iterate ]; then
  args+=(--iterate)
  shift
fi
files=("$@")
for f in "${files[@]+"${files[@]}"}"; do
  case "$f" in
    */*) args+=(-f "$f") ;;
    *) args+=(-f "crates/titra-core/src/$f.rs") ;;
  esac
done
out=${MUTANTS_OUT:-${CARGO_TARGET_DIR:-target}/mutants}
mkdir -p "$out"
cargo mutants -p titra-core -j "${MUTANTS_JOBS:-1}" "${args[@]+"${args[@]}"}" --output "$out" || true
dir="$out/mutants.out"
count() { [ -f "$dir/$1.txt" ] && wc -l <"$dir/$1.txt" || echo 0; }
printf '%-46s %7s %7s %7s\n' file caught missed score
for f in $(cat "$dir"/{caught,missed}.txt 2>/dev/null | cut -d: -f1 | sort -u); do
  c=$(grep -c "^$f:" "$dir/caught.txt" || true)
  m=$(grep -c "^$f:" "$dir/missed.txt" || true)
  printf '%-46s %7s %7s %6s%%\n' "$f" "$c" "$m" "$(( 100 * c / (c + m) ))"
done
c=$(count caught); m=$(count missed); t=$(count timeout)
# A timeout is a mutant the tests did not pass (they ran on, e.g. a loop that never advanced).
echo "caught $c, timeouts $t, missed $m, unviable $(count unviable): score $(( 100 * (c + t) / (c + t + m) )) % (target 95 %)"
