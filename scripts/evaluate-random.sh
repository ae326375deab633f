#!/usr/bin/env bash
# The policies on random draws of workloads (scripts/evaluation_random.py), each started cold with the
# static frontier searched, then started warm at the cheapest fixed fleet reaching 99 %; writes
# docs/evaluation-random.md. Runs go to BUILD_DIR/evaluation-random/.
# Usage: bash scripts/evaluate-random.sh [BUILD_DIR] [COUNT] [SEED]   (defaults: build, 24, 1)
# Heavy (2-3 minutes for 24 draws on two cores, docs/benchmarks.md): not part of ctest.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
count="${2:-24}"
seed="${3:-1}"
wva="$build/bin/wva"
plugins="$build/plugins"
[ -x "$wva" ] || { echo "evaluate-random: $wva not built (cmake --build $build)" >&2; exit 1; }
out="$build/evaluation-random"
rm -rf "$out"
mkdir -p "$out"
python3 "$root/scripts/evaluation_random.py" generate "$seed" "$count" "$root/examples/evaluation" "$out"
one() {  # one <name>: the cold run with its frontier, then the warm run
  local name="$1"
  "$wva" simulate "$out/$name.yaml" --static-frontier --plugin-path "$plugins" --output json \
    >"$out/$name.cold.json" 2>"$out/$name.cold.log" || {
    echo "evaluate-random: $name failed ($out/$name.cold.log); the table says so" >&2
    : >"$out/$name.cold.json"
    return 0
  }
  python3 "$root/scripts/evaluation_random.py" warm "$out/$name.yaml" "$out/$name.cold.json" >"$out/$name.warm.yaml"
  "$wva" simulate "$out/$name.warm.yaml" --plugin-path "$plugins" --output json \
    >"$out/$name.warm.json" 2>"$out/$name.warm.log" || {
    echo "evaluate-random: $name (warm) failed ($out/$name.warm.log); the table says so" >&2
    : >"$out/$name.warm.json"
  }
}
export -f one
export wva plugins out root
jobs="$(nproc 2>/dev/null || echo 1)"
for ((i = 0; i < count; i++)); do echo "random-$i"; done | xargs -P "$jobs" -I{} bash -c 'one {}'
python3 "$root/scripts/evaluation_random.py" report "$out" "$root/docs/evaluation-random.md" "$seed"
echo "evaluate-random: wrote docs/evaluation-random.md; runs under $out" >&2
