#!/usr/bin/env bash
# The host names no plugin: fails when a file under framework/ names a plugin, an analyzer, a metrics
# backend or an emulator config key (case-insensitive, whole words). Policy lives in plugins; the host
# reaches them through the SDK and pipelines.yaml alone.
# Usage: scripts/check-framework-vocabulary.sh [repository root]
set -euo pipefail
root=${1:-"$(cd "$(dirname "$0")/.." && pwd)"}

# Plugin and analyzer names, backend words, and emulator settings keys.
words=(
  saturation queueing capacity threshold scale-to-zero hybrid
  prometheus prometheuserror promql keda keda-scaler emulator inferno
  workloads fixedLoad fixedMetrics profilesFile reportFile gpusPerReplica costPerGpuHour leastOutstanding
  maxNumBatchedTokens startupDelay
)

pattern=$(IFS='|'; echo "${words[*]}")
cd "$root"
[ -d framework ] || { echo "no framework/ under $root" >&2; exit 2; }
hits=$(grep -rniwE --binary-files=without-match "($pattern)" framework || true)
hits=$(printf '%s\n' "$hits" | sed '/^$/d')
if [ -n "$hits" ]; then
  echo "framework/ names plugins or their settings (move the knowledge into the plugin, or say it generically):" >&2
  printf '%s\n' "$hits" >&2
  exit 1
fi
echo "ok: framework/ names no plugin (${#words[@]} words checked)"
