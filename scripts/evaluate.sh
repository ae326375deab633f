#!/usr/bin/env bash
# The evaluation suite: every scenario in examples/evaluation/ through `wva simulate --static-frontier`
# (each policy, then the fixed fleets), then docs/evaluation.md (+ docs/evaluation/*.svg, the frontier
# plots) from the reports, with the default policy over four other seeds of each generated workload. HTML
# reports go to build/evaluation/<scenario>/report.html.
# Usage: bash scripts/evaluate.sh [BUILD_DIR] [SCENARIO.yaml ...]     (BUILD_DIR default: build)
# Heavy (about 8 minutes on two cores, docs/benchmarks.md): not part of ctest.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
shift || true
wva="$build/bin/wva"
plugins="$build/plugins"
[ -x "$wva" ] || { echo "evaluate: $wva not built (cmake --build $build)" >&2; exit 1; }
out="$build/evaluation"
mkdir -p "$out" "$root/docs/evaluation"
scenarios=("$@")
[ ${#scenarios[@]} -eq 0 ] && scenarios=("$root"/examples/evaluation/*.yaml)
for s in "${scenarios[@]}"; do
  name="$(basename "$s" .yaml)"
  echo "evaluate: $name" >&2
  start=$(date +%s%N)
  "$wva" simulate "$s" --static-frontier --plugin-path "$plugins" --report "$out/$name" --output json \
    >"$out/$name.json" 2>"$out/$name.log"
  end=$(date +%s%N)
  echo "{\"wallMs\": $(( (end - start) / 1000000 ))}" >"$out/$name.wall.json"
  cp "$out/$name/frontier.svg" "$root/docs/evaluation/$name.svg"
done
# Seed spread: the default policy alone on each generated workload drawn with four other seeds (every
# `seed:` + 100, 200, 300, 400; scripts/evaluation_seed.py), so that no result rests on one draw of its
# traffic. The copies go to a temporary folder.
seeds_dir=$(mktemp -d)
trap 'rm -rf "$seeds_dir"' EXIT
rm -rf "$out/seeds"
mkdir -p "$out/seeds"
for s in "${scenarios[@]}"; do
  grep -qE '^[[:space:]]+seed:' "$s" || continue
  name="$(basename "$s" .yaml)"
  echo "evaluate: $name, other seeds" >&2
  for k in 1 2 3 4; do
    python3 "$root/scripts/evaluation_seed.py" "$s" "$k" >"$seeds_dir/$name-$k.yaml"
    "$wva" simulate "$seeds_dir/$name-$k.yaml" --pipeline capacity --plugin-path "$plugins" --output json \
      >"$out/seeds/$name-$k.json" 2>"$out/seeds/$name-$k.log" ||
      echo "evaluate: $name with seeds + $((100 * k)) failed ($out/seeds/$name-$k.log); the table says so" >&2
  done
done
# Determinism: the default policy twice on the same scenario gives the identical summary.
det="${scenarios[0]}"
"$wva" simulate "$det" --pipeline capacity --plugin-path "$plugins" --output json 2>/dev/null >"$out/determinism-1.json"
"$wva" simulate "$det" --pipeline capacity --plugin-path "$plugins" --output json 2>/dev/null >"$out/determinism-2.json"
python3 "$root/scripts/evaluation_report.py" "$out" "$root/docs/evaluation.md" "$(basename "$det" .yaml)"
echo "evaluate: wrote docs/evaluation.md and docs/evaluation/*.svg; HTML reports under $out/*/report.html" >&2
