#!/usr/bin/env bash
# Records what a real Prometheus answers to the prometheus source's queries for a 2-model fleet named as
# whole_cycle_bench names it (models org/model-<m> in ns-<m>, Deployments model-<m>-{h100,a100,l40s}, pods
# <deployment>-<n>), its vLLM series labelled as kube-prometheus labels them (namespace, pod, container,
# endpoint, instance, job, service, plus vLLM's model_name). `whole_cycle_bench --check-shape
# tests/bench/data` then checks that the responses it generates for large fleets have exactly this shape.
#   bash tests/bench/record_responses.sh [build dir]      (needs the prometheus binary and python3)
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/wva-record-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# 1. The PromQL the source sends for 2 models (the replay server saves what it receives).
WVA_BENCH_SAVE_QUERIES=$work "$build/bench/whole_cycle_bench" --models 2 --cycles 1 >/dev/null

# 2. vLLM's exposition for the 2 models' 24 pods, the counters growing with time.
exporter_port=$(free_port)
cat >"$work/exporter.py" <<'PY'
import http.server, sys, time
start = time.time()
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        t = time.time() - start + 100
        out = []
        ip = 10
        for m in range(2):
            for acc in ("h100", "a100", "l40s"):
                for n in range(4):
                    dep = f"model-{m}-{acc}"
                    pod = f"{dep}-{n}"
                    lab = (f'container="vllm",endpoint="http",instance="10.0.{m}.{ip}:8000",job="{dep}",'
                           f'model_name="org/model-{m}",namespace="ns-{m}",pod="{pod}",service="{dep}"')
                    ip += 1
                    rate = 2 + n
                    out += [f'vllm:kv_cache_usage_perc{{{lab}}} {0.3 + 0.05 * n}',
                            f'vllm:num_requests_waiting{{{lab}}} {n}',
                            f'vllm:num_requests_running{{{lab}}} {8 + n}',
                            f'vllm:cache_config_info{{block_size="16",container="vllm",endpoint="http",'
                            f'instance="10.0.{m}.{ip}:8000",job="{dep}",namespace="ns-{m}",num_gpu_blocks="2048",'
                            f'pod="{pod}",service="{dep}"}} 1',
                            f'vllm:request_success_total{{{lab}}} {rate * t}',
                            f'vllm:request_prompt_tokens_sum{{{lab}}} {512 * rate * t}',
                            f'vllm:request_prompt_tokens_count{{{lab}}} {rate * t}',
                            f'vllm:request_generation_tokens_sum{{{lab}}} {256 * rate * t}',
                            f'vllm:request_generation_tokens_count{{{lab}}} {rate * t}',
                            f'vllm:time_to_first_token_seconds_sum{{{lab}}} {0.09 * rate * t}',
                            f'vllm:time_to_first_token_seconds_count{{{lab}}} {rate * t}',
                            f'vllm:inter_token_latency_seconds_sum{{{lab}}} {0.02 * 255 * rate * t}',
                            f'vllm:inter_token_latency_seconds_count{{{lab}}} {255 * rate * t}']
        body = ("\n".join(out) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$work/exporter.py" "$exporter_port" &
pids+=($!)

# 3. A real Prometheus scraping it every second.
prom_port=$(free_port)
cat >"$work/prometheus.yml" <<YML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: vllm
    honor_labels: true
    static_configs: [{targets: ['127.0.0.1:$exporter_port']}]
YML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)

# 4. The source's queries, once every series and rate is there (bounded: 60 tries, 0.5 s apart).
query() { curl -s --fail --data-urlencode "query@$work/$1.promql" "http://127.0.0.1:$prom_port/api/v1/query"; }
for _ in $(seq 60); do
  sleep 0.5
  replicas=$(query replicas 2>/dev/null) || continue
  load=$(query load 2>/dev/null) || continue
  n_rep=$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["data"]["result"]))' "$replicas")
  n_load=$(python3 -c 'import json,sys; r=json.loads(sys.argv[1])["data"]["result"]; print(sum(1 for s in r if float(s["value"][1]) > 0 or s["metric"]["wva_signal"] == "queueGrowth"))' "$load")
  # Per pod: KV use, waiting, running, KV capacity (24 pods); sampleTime returns only stale pods (none).
  if [ "$n_rep" = 96 ] && [ "$n_load" = 60 ]; then
    mkdir -p "$here/data"
    printf '%s' "$replicas" >"$here/data/replicas.json"
    printf '%s' "$load" >"$here/data/load.json"
    echo "recorded $n_rep per-pod and $n_load per-Deployment series into $here/data"
    exit 0
  fi
done
echo "Prometheus did not answer with every series within 30 s" >&2
cat "$work/prometheus.log" >&2
exit 1
