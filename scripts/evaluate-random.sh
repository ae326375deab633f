#!/usr/bin/env bash
# The policies on random draws of workloads (scripts/evaluation_random.py), each started cold with the
# static frontier searched, then started warm at the cheapest fixed fleet reaching 99 %; writes
# docs/evaluation-random.md. Runs go to BUILD_DIR/evaluation-random/seed-<SEED>/.
# Usage: bash scripts/evaluate-random.sh [BUILD_DIR] [COUNT] [SEEDS]   (defaults: build, 24, 1,2,3)
#   SEEDS: comma-separated; each seed draws its own COUNT workloads.
# Heavy (2-3 minutes a seed of 24 draws on two cores, docs/benchmarks.md): not part of ctest.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
count="${2:-24}"
seeds="${3:-1,2,3}"
wva="$build/bin/wva"
plugins="$build/plugins"
[ -x "$wva" ] || { echo "evaluate-random: $wva not built (cmake --build $build)" >&2; exit 1; }
[[ "$count" =~ ^[1-9][0-9]*$ ]] || { echo "evaluate-random: COUNT must be a positive number, not '$count'" >&2; exit 2; }
[[ "$seeds" =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "evaluate-random: SEEDS must be numbers separated by commas, not '$seeds'" >&2; exit 2; }
out="$build/evaluation-random"
rm -rf "$out"
mkdir -p "$out"
report_args=()
for seed in ${seeds//,/ }; do
  python3 "$root/scripts/evaluation_random.py" generate "$seed" "$count" "$root/examples/evaluation" "$out/seed-$seed"
  report_args+=("$seed:$out/seed-$seed")
done
one() {  # one <seed folder> <name>: the cold run with its frontier, then the warm run
  local dir="$1" name="$2"
  "$wva" simulate "$dir/$name.yaml" --static-frontier --plugin-path "$plugins" --output json \
    >"$dir/$name.cold.json" 2>"$dir/$name.cold.log" || {
    echo "evaluate-random: $name failed ($dir/$name.cold.log); the table says so" >&2
    : >"$dir/$name.cold.json"
    return 0
  }
  python3 "$root/scripts/evaluation_random.py" warm "$dir/$name.yaml" "$dir/$name.cold.json" >"$dir/$name.warm.yaml"
  "$wva" simulate "$dir/$name.warm.yaml" --plugin-path "$plugins" --output json \
    >"$dir/$name.warm.json" 2>"$dir/$name.warm.log" || {
    echo "evaluate-random: $name (warm) failed ($dir/$name.warm.log); the table says so" >&2
    : >"$dir/$name.warm.json"
  }
}
export -f one
export wva plugins root
jobs="$(nproc 2>/dev/null || echo 1)"
for seed in ${seeds//,/ }; do
  for ((i = 0; i < count; i++)); do echo "$out/seed-$seed random-$i"; done
done | xargs -P "$jobs" -L 1 bash -c 'one "$0" "$1"'
python3 "$root/scripts/evaluation_random.py" report "$root/docs/evaluation-random.md" "${report_args[@]}"
echo "evaluate-random: wrote docs/evaluation-random.md; runs under $out" >&2
