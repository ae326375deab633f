#!/usr/bin/env bash
# evaluation_scripts_test.sh <source dir>: the evaluation suite's scripts on small hand-written inputs.
# scripts/evaluation_seed.py: seeds move by 100 K, the manifests folder and `file:` paths become absolute,
# and nothing else changes (`profile:` names a profile, not a file). scripts/evaluation_report.py: the
# table of the default policy over other seeds gives min / mean / max from the runs, counts those
# reaching 99 %, and says when a run failed rather than dropping it.
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
echo "ok: evaluation_seed.py and the seed table of evaluation_report.py"
