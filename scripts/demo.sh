#!/usr/bin/env bash
# demo.sh (`make demo`): WVA on this machine with no Kubernetes, no Docker and no GPU.
#
# Starts, on free loopback ports and in a scratch folder:
#   - one `wva-emulator` process serving emulated vLLM pods of two variants of meta/llama-3.1-8b
#     (llama-8b-h100: 2 pods, llama-8b-h200: 2 pods; measured H100/H200 step times, a small KV cache so
#     that the load below saturates it), with a load generator replaying a rate trace: low, high, low;
#   - a real Prometheus (the Debian package `prometheus`) scraping it every second;
#   - `wva run --local` on matching manifests with the `prometheus` source, the `saturation` analyzer
#     (`mode: improved`), the `metrics` sink and the `log` sink (for the reasons), a cycle every 5 s.
# While it runs it prints a live table: the offered load, what Prometheus reports (mean KV-cache use,
# waiting requests), WVA's recommendation per variant (inferno_desired_replicas, read from its
# /metrics) and the reason of its last decision. At the end: a report per phase, a chart of load and recommendation over time, and a check
# that the recommendation followed the load (exit 1 if it did not). Nothing acts on the recommendation
# (no HPA here), so the pods stay as they are: the point is what WVA decides.
#
# Bounded: about 100 s, every wait polled with a deadline; every process and the scratch folder are removed
# on exit (also on Ctrl-C). WVA_BUILD_DIR (default build) holds bin/wva, bin/wva-emulator and the plugins;
# missing ones are built (scripts/build.sh). WVA_DEMO_KEEP=DIR copies the scratch folder (configs, logs,
# samples) there before it is removed. WVA_DEMO_REPORT=DIR also writes the report as DIR/report.html
# (inline SVG charts of load, KV-cache use and the recommendations).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
build_dir=${WVA_BUILD_DIR:-build}

die() { echo "demo: $*" >&2; exit 1; }
command -v prometheus >/dev/null 2>&1 || die "prometheus is not installed (bash scripts/install-deps.sh --test, Debian package prometheus)"
command -v curl >/dev/null 2>&1 || die "curl is not installed"
command -v python3 >/dev/null 2>&1 || die "python3 is not installed"
need=(bin/wva bin/wva-emulator plugins/libprometheus.so plugins/libsaturation.so plugins/libmetrics.so plugins/liblog.so
  plugins/libfirst.so)
for f in "${need[@]}"; do
  if [ ! -e "$build_dir/$f" ]; then
    echo "demo: building (missing $build_dir/$f)"
    WVA_BUILD_TARGETS="wva wva-emulator wva_plugin_prometheus wva_plugin_saturation wva_plugin_metrics wva_plugin_log wva_plugin_first" \
      bash scripts/build.sh >/dev/null
    break
  fi
done
case "$build_dir" in /*) ;; *) build_dir="$repo/$build_dir" ;; esac
wva="$build_dir/bin/wva"
emulator="$build_dir/bin/wva-emulator"

tmp="$(mktemp -d)"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "${WVA_DEMO_KEEP:-}" ]; then mkdir -p "$WVA_DEMO_KEEP" && cp -r "$tmp"/. "$WVA_DEMO_KEEP"/ || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# wait_for <seconds> <command...>: polls the command every 0.2 s until it succeeds or the time is up.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# The load: requests per second by phase (seconds from the start of the load).
low_rate=4
high_rate=26
phase_low1=20    # 0 .. 20 s: low
phase_high=55    # 20 .. 55 s: high (more than the four pods' KV cache holds)
phase_end=95     # 55 .. 95 s: low again
cycle=5s

# 1. The emulated fleet and its load.
cat >"$tmp/fleet.yaml" <<YAML
variants:
  llama-8b-h100:
    namespace: llm
    model: meta/llama-3.1-8b
    profile: llama-3.1-8b/H100
    replicas: 2
    kvCacheTokens: 40000
  llama-8b-h200:
    namespace: llm
    model: meta/llama-3.1-8b
    profile: llama-3.1-8b/H200
    replicas: 2
    kvCacheTokens: 40000
workloads:
  - model: meta/llama-3.1-8b
    namespace: llm
    rate: {steps: [{at: 0s, rate: $low_rate}, {at: ${phase_low1}s, rate: $high_rate}, {at: ${phase_high}s, rate: $low_rate}]}
    inputTokens: {lognormal: {mean: 1500, stddev: 500}, max: 6000}
    outputTokens: 300
    arrivals: poisson
loadWindow: 10s
YAML
"$emulator" --listen 127.0.0.1:0 --config "$tmp/fleet.yaml" >"$tmp/emulator.out" 2>"$tmp/emulator.err" &
pids+=($!)
load_start=$SECONDS
wait_for 20 grep -q '^listening on ' "$tmp/emulator.out" || { cat "$tmp/emulator.err" >&2; die "wva-emulator did not start"; }
emu_addr="$(sed -n 's/^listening on //p' "$tmp/emulator.out")"

# 2. Prometheus, scraping the emulator every second.
prom_port="$(free_port)"
cat >"$tmp/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: vllm
    honor_labels: true
    static_configs: [{targets: ["$emu_addr"]}]
YAML
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" >"$tmp/prometheus.log" 2>&1 &
pids+=($!)
prom="http://127.0.0.1:$prom_port"
wait_for 30 curl -sf "$prom/-/ready" || { tail -n 20 "$tmp/prometheus.log" >&2; die "Prometheus did not become ready"; }

# 3. WVA on manifests that match the fleet (pods <deployment>-0, -1), reading from that Prometheus.
metrics_port="$(free_port)"
mkdir -p "$tmp/manifests"
cat >"$tmp/manifests/models.yaml" <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: llm}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: llama-8b-h100, namespace: llm, labels: {llmd.ai/model: meta.llama-3.1-8b}}
spec:
  replicas: 2
  template:
    spec:
      nodeSelector: {nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3}
      containers: [{name: vllm, image: vllm/vllm-openai, resources: {limits: {nvidia.com/gpu: "1"}}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: llama-8b-h200, namespace: llm, labels: {llmd.ai/model: meta.llama-3.1-8b}}
spec:
  replicas: 2
  template:
    spec:
      nodeSelector: {nvidia.com/gpu.product: NVIDIA-H200}
      containers: [{name: vllm, image: vllm/vllm-openai, resources: {limits: {nvidia.com/gpu: "1"}}}]
---
apiVersion: llmd.ai/v1alpha1
kind: VariantAutoscaling
metadata: {name: llama-8b, namespace: llm}
spec: {modelID: meta/llama-3.1-8b, minReplicas: 1, maxReplicas: 8}
YAML
cat >"$tmp/manifests/config.yaml" <<YAML
apiVersion: v1
kind: ConfigMap
metadata: {name: accelerator-unitcost, namespace: workload-variant-autoscaler-system}
data:
  costs: |
    H100: 50.0
    H200: 60.0
---
apiVersion: v1
kind: ConfigMap
metadata: {name: capacity-scaling-config, namespace: workload-variant-autoscaler-system}
data:
  default: |
    kvCacheThreshold: 0.80
    queueLengthThreshold: 5
    kvSpareTrigger: 0.1
    queueSpareTrigger: 3
---
apiVersion: v1
kind: ConfigMap
metadata: {name: wva-pipelines, namespace: workload-variant-autoscaler-system}
data:
  pipelines.yaml: |
    sources:
      prometheus: {url: "$prom", window: 5s, rateWindow: 10s, staleAfter: 30s, timeout: 3s}
    analyzers:
      saturation: {mode: improved}
    sinks:
      metrics: {listen: "127.0.0.1:$metrics_port"}
      log: {format: json, output: "$tmp/decisions.jsonl"}
    pipelines:
      default:
        selector: {}
        interval: $cycle
        source: prometheus
        analyzers: [saturation]
        sinks: [metrics, log]
YAML
POD_NAMESPACE=workload-variant-autoscaler-system "$wva" validate --local "$tmp/manifests" >"$tmp/validate.out" 2>&1 ||
  { cat "$tmp/validate.out" >&2; die "the demo's manifests do not validate"; }
POD_NAMESPACE=workload-variant-autoscaler-system "$wva" run --local "$tmp/manifests" \
  --duration "$((phase_end + 10))s" >"$tmp/wva.out" 2>"$tmp/wva.err" &
pids+=($!)
wait_for 20 curl -sf "http://127.0.0.1:$metrics_port/healthz" || { tail -n 20 "$tmp/wva.err" >&2; die "wva run did not start its metrics sink"; }

# promql <query>: the first value of an instant query, or "-" when there is none.
promql() {
  curl -sf --max-time 3 "$prom/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
    python3 -c 'import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print("%.2f" % float(r[0]["value"][1]) if r else "-")
except Exception:
    print("-")'
}
# reason: the reason of WVA's last decision (the log sink's newest line), shortened.
reason() {
  tail -n 1 "$tmp/decisions.jsonl" 2>/dev/null | python3 -c 'import json, sys
try:
    d = json.loads(sys.stdin.read())["decisions"]
    r = d[0]["reason"] if d else ""
    print(r if len(r) <= 100 else r[:45] + " ... " + r[-50:])
except Exception:
    print("")'
}
# desired <variant>: WVA's inferno_desired_replicas for the variant, or "-".
desired() {
  local v
  v="$(curl -sf --max-time 3 "http://127.0.0.1:$metrics_port/metrics" 2>/dev/null |
    sed -n "s/^inferno_desired_replicas{.*variant_name=\"$1\".*} \([0-9.]*\)$/\1/p" | head -n1)"
  echo "${v:--}"
}

echo "WVA demo: Prometheus $prom, wva-emulator http://$emu_addr, WVA /metrics http://127.0.0.1:$metrics_port/metrics"
echo "load: $low_rate req/s until ${phase_low1}s, $high_rate req/s until ${phase_high}s, then $low_rate req/s; WVA cycle $cycle"
echo "current replicas: llama-8b-h100 2 (H100, cost 50), llama-8b-h200 2 (H200, cost 60)"
echo
printf '%6s  %-5s  %8s  %8s  %8s  %8s  %12s  %12s  %s\n' "t(s)" phase "offered" "req/s" "KV use" waiting "desired h100" "desired h200" "WVA's reason"
: >"$tmp/samples"
while true; do
  t=$((SECONDS - load_start))
  [ "$t" -lt "$phase_end" ] || break
  if [ "$t" -lt "$phase_low1" ]; then phase=low; offered=$low_rate
  elif [ "$t" -lt "$phase_high" ]; then phase=high; offered=$high_rate
  else phase=low2; offered=$low_rate; fi
  rate="$(promql 'sum(rate(vllm:request_success_total[10s]))')"
  kv="$(promql 'avg(vllm:kv_cache_usage_perc)')"
  waiting="$(promql 'sum(vllm:num_requests_waiting)')"
  d1="$(desired llama-8b-h100)"
  d2="$(desired llama-8b-h200)"
  printf '%6d  %-5s  %8s  %8s  %8s  %8s  %12s  %12s  %s\n' "$t" "$phase" "$offered" "$rate" "$kv" "$waiting" "$d1" "$d2" "$(reason)"
  echo "$t $phase $offered $rate $kv $waiting $d1 $d2" >>"$tmp/samples"
  sleep 5
done

# The report: per phase, the mean of what Prometheus saw and the recommendation; a chart; the check.
echo
python3 - "$tmp/samples" "${WVA_DEMO_REPORT:-}" <<'PY'
import os
import sys
rows = []
for line in open(sys.argv[1]):
    t, phase, offered, rate, kv, waiting, d1, d2 = line.split()
    num = lambda s: None if s == "-" else float(s)
    rows.append(dict(t=int(t), phase=phase, offered=float(offered), rate=num(rate), kv=num(kv),
                     waiting=num(waiting), d1=num(d1), d2=num(d2)))
def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None
def fmt(x):
    return "-" if x is None else "%.2f" % x
print("report")
print("%-5s %9s %8s %8s %8s %12s" % ("phase", "offered", "req/s", "KV use", "waiting", "desired"))
totals = {}
for phase in ("low", "high", "low2"):
    rs = [r for r in rows if r["phase"] == phase]
    # The last half of each phase: WVA sees a change one scrape + one cycle after it happens. The
    # recommendation of a phase is its highest under high load, its last one otherwise.
    tail = rs[len(rs) // 2:]
    tot = [r["d1"] + r["d2"] for r in tail if r["d1"] is not None and r["d2"] is not None]
    totals[phase] = (max(tot) if phase == "high" else tot[-1]) if tot else None
    print("%-5s %9s %8s %8s %8s %12s" % (phase, fmt(mean(r["offered"] for r in tail)), fmt(mean(r["rate"] for r in tail)),
          fmt(mean(r["kv"] for r in tail)), fmt(mean(r["waiting"] for r in tail)), fmt(totals[phase])))
print()
print("chart: KV-cache use (#, 0..1 over 20 columns) and WVA's total desired replicas (digits)")
for r in rows:
    bar = "#" * int(round((r["kv"] or 0) * 20))
    tot = "-" if r["d1"] is None or r["d2"] is None else "%d" % (r["d1"] + r["d2"])
    print("%5ds %-5s |%-20s| desired %s" % (r["t"], r["phase"], bar, tot))
print()
if sys.argv[2]:
    # The same time series as an HTML page with inline SVG charts (no scripts).
    os.makedirs(sys.argv[2], exist_ok=True)
    w, h, pad = 640, 160, 40
    tmax = max(r["t"] for r in rows) or 1
    def chart(title, series, ymax):
        out = ['<h3>%s</h3><svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d">' % (title, w + 2 * pad, h + 2 * pad)]
        out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>' % (pad, pad, w, h))
        out.append('<text x="%d" y="%d" font-size="11">%g</text><text x="%d" y="%d" font-size="11">0</text>' % (2, pad + 4, ymax, 2, pad + h))
        out.append('<text x="%d" y="%d" font-size="11">%ds</text>' % (pad + w - 20, pad + h + 16, tmax))
        for i, (name, key, color) in enumerate(series):
            pts = ["%.1f,%.1f" % (pad + w * r["t"] / tmax, pad + h - h * min(r[key], ymax) / ymax) for r in rows if r[key] is not None]
            out.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (color, " ".join(pts)))
            out.append('<text x="%d" y="%d" font-size="12" fill="%s">%s</text>' % (pad + 10 + 170 * i, pad - 8, color, name))
        out.append("</svg>")
        return "\n".join(out)
    for r in rows:
        r["total"] = None if r["d1"] is None or r["d2"] is None else r["d1"] + r["d2"]
    rmax = max([r["offered"] for r in rows] + [r["rate"] or 0 for r in rows])
    dmax = max([r["total"] or 0 for r in rows] + [4])
    html = ["<!doctype html><html><head><meta charset='utf-8'><title>WVA demo</title></head><body>",
            "<h2>WVA demo: load and recommendations</h2>",
            chart("Load (requests/s)", [("offered", "offered", "#888"), ("completed (Prometheus)", "rate", "#1f77b4")], rmax * 1.1),
            chart("KV-cache use (mean over pods)", [("KV use", "kv", "#d62728")], 1.0),
            chart("WVA's desired replicas (current: 4)", [("llama-8b-h100", "d1", "#2ca02c"), ("llama-8b-h200", "d2", "#9467bd"), ("total", "total", "#000")], dmax + 1),
            "</body></html>"]
    with open(os.path.join(sys.argv[2], "report.html"), "w") as f:
        f.write("\n".join(html))
    print("report with charts: %s" % os.path.join(sys.argv[2], "report.html"))
    print()
low, high, low2 = totals["low"], totals["high"], totals["low2"]
ok = None not in (low, high, low2) and high > low and low2 < high
print("decisions followed the load: %s (desired total: low %s, high %s, low again %s; current 4)" %
      ("yes" if ok else "NO", fmt(low), fmt(high), fmt(low2)))
sys.exit(0 if ok else 1)
PY
