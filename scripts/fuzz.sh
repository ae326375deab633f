#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan, build dir build-fuzz) and runs each
# for N seconds (default 60) on a copy of its seed corpus in a temporary folder; the repository is never
# written. Prints each run's executed-inputs count; exits non-zero on any crash, leak, timeout or
# sanitizer report. With --runs R each target stops after R inputs (or N seconds, whichever comes first):
# with a fixed seed that replays the same inputs on any machine, however fast.
#   scripts/fuzz.sh [--seconds N] [--seed S] [--runs R] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
seconds=60
seed=0  # libFuzzer's: 0 = a new random seed each run; a fixed one replays the same inputs (CI)
runs=-1       # libFuzzer's: -1 = no limit on the number of inputs
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --seconds=*) seconds="${1#*=}"; shift ;;
    --seed) seed="$2"; shift 2 ;;
    --seed=*) seed="${1#*=}"; shift ;;
    --runs) runs="$2"; shift 2 ;;
    --runs=*) runs="${1#*=}"; shift ;;
    -h|--help) sed -n 2,8p "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
build_dir=${WVA_FUZZ_BUILD_DIR:-build-fuzz}
jobs=${WVA_BUILD_JOBS:-2}
mkdir -p "$build_dir"
if [ ${#targets[@]} -eq 0 ]; then
  targets=()
  for d in tests/fuzz/corpus/*/; do targets+=("$(basename "$d")"); done
fi

CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWVA_FUZZ=ON \
  -DWVA_BUILD_TESTS=OFF -DWVA_BUILD_BENCHMARKS=OFF >"$build_dir/fuzz-configure.log" 2>&1 || {
  tail -n 40 "$build_dir/fuzz-configure.log"; echo "fuzz: configure failed"; exit 1; }
cmake --build "$build_dir" -j"$jobs" --target "${targets[@]}" >"$build_dir/fuzz-build.log" 2>&1 || {
  tail -n 60 "$build_dir/fuzz-build.log"; echo "fuzz: build failed"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/wva-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
failed=0
for t in "${targets[@]}"; do
  mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
  cp -r "tests/fuzz/corpus/$t/." "$work/$t/corpus/"
  log="$work/$t/log"
  set +e
  # libFuzzer's own limits (-timeout per input, -rss_limit_mb, -malloc_limit_mb for one allocation) catch
  # a hang or blow-up in the code; the outer timeout bounds the run itself (a report that never ends, e.g.
  # LeakSanitizer scanning a huge heap), so CI never waits on a fuzzer.
  (cd "$work/$t" && TMPDIR="$work/$t" timeout --kill-after=10 "$((seconds + 120))" \
     "$repo/$build_dir/bin/$t" -max_total_time="$seconds" -runs="$runs" -timeout=10 -seed="$seed" \
     -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
     -artifact_prefix="$work/$t/artifacts/" corpus >"$log" 2>&1)
  rc=$?
  set -e
  units=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
  if [ "$rc" -eq 0 ]; then
    echo "fuzz $t: ok, ${units} inputs (seed ${seed}, at most ${seconds} s)"
  else
    failed=$((failed + 1))
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
      echo "fuzz $t: FAILED: still running $((seconds + 120)) s after its ${seconds} s budget (killed)"
    else
      echo "fuzz $t: FAILED (exit $rc) after ${units} inputs"
    fi
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written|deadly signal|abort' "$log" | head -n 20 || true
    tail -n 40 "$log"
    for a in "$work/$t/artifacts"/*; do
      [ -e "$a" ] || continue
      echo "--- input $(basename "$a") (base64):"; base64 -w 0 "$a" | head -c 4000; echo
    done
  fi
done
echo "fuzz: ${#targets[@]} targets, ${failed} failed"
[ "$failed" -eq 0 ]
