#!/usr/bin/env bash
# evaluation_scripts_test.sh <source dir>: the evaluation suite's scripts on small hand-written inputs.
# scripts/evaluation_seed.py: seeds move by 100 K, the manifests folder and `file:` paths become absolute,
# and nothing else changes (`profile:` names a profile, not a file). scripts/evaluation_report.py: the
# table of the default policy over other seeds gives min / mean / max from the runs, counts those
# reaching 99 %, and says when a run failed rather than dropping it. scripts/evaluation_random.py: the
# draws are a function of the seed, a warm start is the cheapest 99 % fixed fleet (the best one when none
# reaches 99 %), and the report judges both starts on the cold run's frontier and names failed runs.
set -euo pipefail
src="$(cd "$1" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p "$tmp/scenarios"
cat >"$tmp/scenarios/ramp.yaml" <<'YAML'
name: ramp
manifests: fleet   # the fleet
emulator:
  variants:
    a: {profile: llama-3.1-8b/H100, startupDelay: 90s}
  workloads:
    - {model: m, trace: {file: ../data/t.csv, speedup: 10}, seed: 4}
    - model: m
      seed: 17
      trace: {file: /abs/t.csv}
YAML
copy="$(python3 "$src/scripts/evaluation_seed.py" "$tmp/scenarios/ramp.yaml" 2)"
grep -qx "manifests: $tmp/scenarios/fleet   # the fleet" <<<"$copy" || fail "manifests: $copy"
grep -qF "profile: llama-3.1-8b/H100," <<<"$copy" || fail "profile changed: $copy"
grep -qF "trace: {file: $tmp/scenarios/../data/t.csv, speedup: 10}, seed: 204}" <<<"$copy" || fail "inline: $copy"
grep -qx "      seed: 217" <<<"$copy" || fail "seed: $copy"
grep -qF "trace: {file: /abs/t.csv}" <<<"$copy" || fail "an absolute file changed: $copy"
[ "$(grep -c . <<<"$copy")" -eq "$(grep -c . "$tmp/scenarios/ramp.yaml")" ] || fail "lines added or lost: $copy"

# The report: one scenario with its own run, four runs on other seeds, one of which failed.
mkdir -p "$tmp/report/seeds"
run() {  # run <attainment> <cost>: a wva simulate JSON of the default policy alone
  printf '{"durationSeconds": 3600, "runs": [{"pipeline": "capacity", "wallSeconds": 1, "totals": {"sloAttainment": %s, "cost": %s, "meanPods": 3, "replicaChangesPerHour": 4}, "summary": {"models": [{"ttftP99Ms": 100, "ttftMisses": 0, "itlMisses": 1, "failed": 0, "unfinished": 0}]}}]}\n' "$1" "$2"
}
run 0.99 8.5 | python3 -c '
import json, sys
rep = json.load(sys.stdin)
rep.update({"scenario": "ramp", "traffic": "ramp", "frontier": {"runs": 1, "levels": []}})
json.dump(rep, sys.stdout)' >"$tmp/report/ramp.json"
run 0.995 8 >"$tmp/report/seeds/ramp-1.json"
run 0.98 9 >"$tmp/report/seeds/ramp-2.json"
run 0.999 10 >"$tmp/report/seeds/ramp-3.json"
: >"$tmp/report/seeds/ramp-4.json"  # the run failed: its output is empty
python3 "$src/scripts/evaluation_report.py" "$tmp/report" "$tmp/evaluation.md" ramp
row="$(grep -F '| ramp | 99.00% / 8.50 |' "$tmp/evaluation.md")" || fail "no seed row: $(cat "$tmp/evaluation.md")"
[ "$row" = "| ramp | 99.00% / 8.50 | 98.00% / 99.13% / 99.90% (1 run **failed**) | 2 of 3 | 8.00 / 9.00 / 10.00 |" ] ||
  fail "seed row: $row"

# Random draws: the same seed gives the same scenarios, another seed others; each names the fleet by
# absolute path and starts from one pod.
random="$src/scripts/evaluation_random.py"
python3 "$random" generate 7 4 "$src/examples/evaluation" "$tmp/r1"
python3 "$random" generate 7 4 "$src/examples/evaluation" "$tmp/r2"
python3 "$random" generate 8 4 "$src/examples/evaluation" "$tmp/r3"
[ "$(ls "$tmp/r1" | wc -l)" -eq 4 ] || fail "random: $(ls "$tmp/r1")"
diff -r "$tmp/r1" "$tmp/r2" >/dev/null || fail "random: the same seed drew different scenarios"
diff -q "$tmp/r1/random-0.yaml" "$tmp/r3/random-0.yaml" >/dev/null && fail "random: another seed drew the same"
[ "$(grep -h '^      rate:' "$tmp"/r1/*.yaml | sort -u | wc -l)" -eq 4 ] || fail "random: draws alike"
for f in "$tmp"/r1/*.yaml; do
  manifests="$(sed -n 's/^manifests: //p' "$f")"
  [ -d "$manifests" ] || fail "random: $f names no fleet folder ($manifests)"
  grep -qE '^initialReplicas: \{(llama-8b|qwen-32b)-h100: 1, (llama-8b|qwen-32b)-h200: 0\}$' "$f" || fail "random: start $f"
done
# A warm start: the cheapest fixed fleet reaching 99 %, else the best one.
frontier() {  # frontier <levels JSON> <pareto JSON>
  printf '{"frontier": {"levels": %s, "pareto": %s}, "runs": []}\n' "$1" "$2"
}
pareto='[{"attainment": 0.9, "cost": 2, "fleet": {"llama-8b-h100": 1, "llama-8b-h200": 0}},
         {"attainment": 0.995, "cost": 4, "fleet": {"llama-8b-h100": 2, "llama-8b-h200": 0}}]'
frontier '[{"level": 0.99, "cost": 4, "fleet": {"llama-8b-h100": 2, "llama-8b-h200": 0}}]' "$pareto" >"$tmp/f99.json"
frontier '[{"level": 0.99}]' '[{"attainment": 0.9, "cost": 2, "fleet": {"llama-8b-h100": 1, "llama-8b-h200": 0}},
  {"attainment": 0.95, "cost": 5.9, "fleet": {"llama-8b-h100": 0, "llama-8b-h200": 2}}]' >"$tmp/fbest.json"
sed -i 's/qwen-32b/llama-8b/g; s/^manifests: .*/manifests: fleet/' "$tmp/r1/random-0.yaml"
python3 "$random" warm "$tmp/r1/random-0.yaml" "$tmp/f99.json" >"$tmp/w99.yaml"
grep -qx 'initialReplicas: {llama-8b-h100: 2, llama-8b-h200: 0}' "$tmp/w99.yaml" || fail "warm 99: $(grep init "$tmp/w99.yaml")"
python3 "$random" warm "$tmp/r1/random-0.yaml" "$tmp/fbest.json" >"$tmp/wbest.yaml"
grep -qx 'initialReplicas: {llama-8b-h100: 0, llama-8b-h200: 2}' "$tmp/wbest.yaml" || fail "warm best: $(grep init "$tmp/wbest.yaml")"
[ "$(diff "$tmp/r1/random-0.yaml" "$tmp/w99.yaml" | grep -c '^[<>]')" -eq 2 ] || fail "warm changed more than the start"
# The report: draw 0 cold and warm (the warm capacity run dominated: 98 % at 4.5 where 99.5 % costs 4),
# draw 1 failed cold.
mkdir -p "$tmp/run"
cp "$tmp/r1/random-0.yaml" "$tmp/r1/random-1.yaml" "$tmp/run/"
runs() {  # runs <capacity attainment> <capacity cost> <threshold attainment> <threshold cost>
  printf '[{"pipeline": "capacity", "totals": {"sloAttainment": %s, "cost": %s}},
           {"pipeline": "threshold", "totals": {"sloAttainment": %s, "cost": %s}}]' "$@"
}
printf '{"frontier": {"levels": [], "pareto": %s}, "runs": %s}\n' "$pareto" "$(runs 0.995 3.5 0.97 6)" \
  >"$tmp/run/random-0.cold.json"
printf '{"runs": %s}\n' "$(runs 0.98 4.5 0.999 8)" >"$tmp/run/random-0.warm.json"
: >"$tmp/run/random-1.cold.json"
# A second seed's folder: draw 0 alone, its warm capacity run at 99.9 % for 3.9 (not dominated, 0.97x).
mkdir -p "$tmp/run8"
cp "$tmp/r1/random-0.yaml" "$tmp/run8/"
cp "$tmp/run/random-0.cold.json" "$tmp/run8/"
printf '{"runs": %s}\n' "$(runs 0.999 3.9 0.999 8)" >"$tmp/run8/random-0.warm.json"
python3 "$random" report "$tmp/random.md" "7:$tmp/run" "8:$tmp/run8"
summary_row() {  # summary_row <start> <policy> <seed>: that row of the start's summary table
  awk -v t="| policy ($1) |" 'index($0, t) == 1 { on = 1; next } on && !NF { exit } on' "$tmp/random.md" |
    grep -F "| $2 | $3 |"
}
[ "$(summary_row cold capacity 7)" = '| capacity | 7 | 1 (1 **failed**) | 1 of 1 | 1 of 1 | 0.88x |' ] ||
  fail "cold summary: $(cat "$tmp/random.md")"
[ "$(summary_row warm capacity 7)" = '| capacity | 7 | 1 (1 **failed**) | 0 of 1 | 0 of 1 | 1.12x |' ] ||
  fail "warm summary: $(cat "$tmp/random.md")"
[ "$(summary_row warm capacity 8)" = '| capacity | 8 | 1 | 1 of 1 | 1 of 1 | 0.97x |' ] ||
  fail "warm summary, seed 8: $(cat "$tmp/random.md")"
# Pooled over the seeds: both draws 0 counted, the failed draw said, the median of 0.97x and 1.12x the upper.
[ "$(summary_row warm capacity '**all**')" = '| capacity | **all** | 2 (1 **failed**) | 1 of 2 | 1 of 2 | 1.12x |' ] ||
  fail "pooled summary: $(cat "$tmp/random.md")"
grep -qx '## Seed 7' "$tmp/random.md" && grep -qx '## Seed 8' "$tmp/random.md" || fail "a seed's table: $(cat "$tmp/random.md")"
row="$(sed -n '/^## Seed 7$/,/^## Seed 8$/p' "$tmp/random.md" | grep -F '| random-0 |')" || fail "no row: $(cat "$tmp/random.md")"
grep -qF '| 2xH100 (4.00) | 99.50% / 3.50 (0.88x) | 98.00% / 4.50 **dom** (1.12x) | 97.00% / 6.00 **dom** (1.50x) | 99.90% / 8.00 (2.00x) |' \
  <<<"$row" || fail "row: $row"
sed -n '/^## Seed 7$/,/^## Seed 8$/p' "$tmp/random.md" | grep -F '| random-1 |' | grep -qF '| **failed** |' ||
  fail "a failed draw: $(cat "$tmp/random.md")"
# With one seed there is no pooled row.
python3 "$random" report "$tmp/one.md" "8:$tmp/run8"
grep -qF '| **all** |' "$tmp/one.md" && fail "one seed, pooled: $(cat "$tmp/one.md")"
python3 "$random" report "$tmp/bad.md" "$tmp/run8" 2>/dev/null && fail "report took a folder without its seed"
echo "ok: evaluation_seed.py, the seed table of evaluation_report.py and evaluation_random.py"
