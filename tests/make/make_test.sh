#!/usr/bin/env bash
# make_test.sh <build dir> <source dir>: the root Makefile's verbs.
# - `make -n` of each target works and names the script it runs;
# - `make deploy-llm-d-wva-emulated-on-kind` with none of kind, docker, helm, kubectl on PATH exits non-zero
#   and names all four; with only docker missing it names docker alone and does nothing else;
# - what that target deploys renders and validates: the chart with deploy/kind/values.yaml, its ConfigMaps
#   with the emulated variants and their VariantAutoscaling (deploy/kind/manifests), through `wva validate
#   --local` (needs helm: fetched if missing, else skipped), and every object it applies passes
#   `kubectl apply --dry-run=client` (needs kubectl, likewise).
set -euo pipefail

build="$(cd "$1" && pwd)"
src="$(cd "$2" && pwd)"
fail() { echo "FAIL: $*" >&2; exit 1; }
# shellcheck source=../support/prerequisite.sh
source "$src/tests/support/prerequisite.sh"
command -v make >/dev/null 2>&1 || skip_or_fail "make is not installed (build-essential)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# 1. make -n
declare -A expect=(
  [build]="bash scripts/build.sh"
  [test]="bash scripts/test.sh"
  [demo]="bash scripts/demo.sh"
  [image]="build -f Containerfile -t"
  [deploy-llm-d-wva-emulated-on-kind]="bash scripts/deploy-kind.sh"
  [undeploy-llm-d-wva-emulated-on-kind]="bash scripts/deploy-kind.sh --delete"
)
for target in "${!expect[@]}"; do
  out="$(make -s -C "$src" -n "$target" 2>&1)" || { echo "$out" >&2; fail "make -n $target"; }
  grep -qF -- "${expect[$target]}" <<<"$out" || { echo "$out" >&2; fail "make -n $target does not run ${expect[$target]}"; }
  script="$(grep -oE 'scripts/[a-z-]+\.sh' <<<"$out" | head -n1 || true)"
  [ -z "$script" ] || [ -f "$src/$script" ] || fail "make $target runs $script, which does not exist"
done
out="$(make -s -C "$src" -n test ARGS="-R docs" 2>&1)"
grep -qF 'scripts/test.sh -R docs' <<<"$out" || fail "make test ARGS=... does not pass ARGS to scripts/test.sh: $out"
echo "ok: make -n of every target"

# 2. The kind target without its tools. PATH holds only what make and the script need besides them.
mkdir -p "$tmp/bin"
for tool in make bash dirname; do ln -s "$(command -v "$tool")" "$tmp/bin/$tool"; done
set +e
PATH="$tmp/bin" make -s -C "$src" deploy-llm-d-wva-emulated-on-kind >"$tmp/none.out" 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] || { cat "$tmp/none.out" >&2; fail "the kind target succeeded without kind, docker, helm, kubectl"; }
grep -qF "missing on PATH: kind docker helm kubectl" "$tmp/none.out" || { cat "$tmp/none.out" >&2; fail "the kind target does not name the missing tools"; }
for tool in kind docker helm kubectl; do
  grep -qE "^  $tool: " "$tmp/none.out" || { cat "$tmp/none.out" >&2; fail "no hint for $tool"; }
done

# Stubs for all but docker: each records that it ran; none may run, since the check comes first.
for tool in kind helm kubectl; do
  printf '#!/bin/sh\necho "%s $*" >>"%s/ran"\n' "$tool" "$tmp" >"$tmp/bin/$tool"
  chmod +x "$tmp/bin/$tool"
done
set +e
PATH="$tmp/bin" make -s -C "$src" deploy-llm-d-wva-emulated-on-kind >"$tmp/docker.out" 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] || { cat "$tmp/docker.out" >&2; fail "the kind target succeeded without docker"; }
grep -qF "missing on PATH: docker" "$tmp/docker.out" || { cat "$tmp/docker.out" >&2; fail "the kind target does not name docker"; }
if grep -qE "missing on PATH: .*(kind|helm|kubectl)" "$tmp/docker.out"; then cat "$tmp/docker.out" >&2; fail "present tools reported missing"; fi
[ ! -e "$tmp/ran" ] || { cat "$tmp/ran" >&2; fail "the kind target ran tools before failing its check"; }
echo "ok: the kind target names its missing tools and exits $rc"

# 3. What the kind target deploys: the chart with deploy/kind/values.yaml and the emulated variants.
[ -x "$build/bin/wva" ] || skip_or_fail "$build/bin/wva is not built"
export HELM_CACHE_HOME="$tmp/helm-cache" HELM_CONFIG_HOME="$tmp/helm-config" HELM_DATA_HOME="$tmp/helm-data"
set +e
helm="$(bash "$src/scripts/install-k8s-tool.sh" helm 2>"$tmp/install-helm.err")"
rc=$?
set -e
[ "$rc" -eq 77 ] && skip_or_fail "helm is not installed and cannot be fetched: $(cat "$tmp/install-helm.err")"
[ "$rc" -eq 0 ] || fail "scripts/install-k8s-tool.sh helm exited $rc: $(cat "$tmp/install-helm.err")"
mkdir -p "$tmp/kind"
"$helm" template workload-variant-autoscaler "$src/charts/workload-variant-autoscaler" \
  --namespace workload-variant-autoscaler-system -f "$src/deploy/kind/values.yaml" >"$tmp/chart.yaml" ||
  fail "helm template with deploy/kind/values.yaml"
"$helm" template workload-variant-autoscaler "$src/charts/workload-variant-autoscaler" \
  --namespace workload-variant-autoscaler-system -f "$src/deploy/kind/values.yaml" \
  --show-only templates/configmaps.yaml >"$tmp/kind/configmaps.yaml"
cp "$src/deploy/kind/manifests/00-namespaces.yaml" "$src/deploy/kind/manifests/20-emulated-vllm.yaml" "$tmp/kind/"
grep -qF 'url: http://prometheus.wva-monitoring.svc:9090' "$tmp/kind/configmaps.yaml" ||
  fail "the kind values do not point WVA at the Prometheus of deploy/kind/manifests/10-prometheus.yaml"
# ... whose Service is prometheus.wva-monitoring:9090
grep -A3 '^kind: Service$' "$src/deploy/kind/manifests/10-prometheus.yaml" | grep -qF '{name: prometheus, namespace: wva-monitoring}' ||
  fail "10-prometheus.yaml has no Service prometheus in namespace wva-monitoring"
grep -A5 '^kind: Service$' "$src/deploy/kind/manifests/10-prometheus.yaml" | grep -qF 'port: 9090' ||
  fail "10-prometheus.yaml: the Service does not listen on 9090"
grep -qF 'ghcr.io/llm-d/workload-variant-autoscaler:dev' "$src/deploy/kind/manifests/20-emulated-vllm.yaml" ||
  fail "the emulated pods do not run the image the script substitutes"
POD_NAMESPACE=workload-variant-autoscaler-system "$build/bin/wva" validate --local "$tmp/kind" >"$tmp/validate.out" 2>&1 ||
  { cat "$tmp/validate.out" >&2; fail "wva validate --local on the kind deployment"; }
echo "ok: the kind deployment renders and validates"

# 4. Everything the kind target applies (its manifests, the CRDs, the chart rendered with its values)
# passes `kubectl apply --dry-run=client` against a discovery-only stand-in for the API server
# (tests/chart/discovery_server.py; kubectl fetched if missing, else skipped).
command -v python3 >/dev/null 2>&1 || skip_or_fail "python3 is not installed"
set +e
kubectl="$(bash "$src/scripts/install-k8s-tool.sh" kubectl 2>"$tmp/install-kubectl.err")"
rc=$?
set -e
[ "$rc" -eq 77 ] && skip_or_fail "kubectl is not installed and cannot be fetched: $(cat "$tmp/install-kubectl.err")"
[ "$rc" -eq 0 ] || fail "scripts/install-k8s-tool.sh kubectl exited $rc: $(cat "$tmp/install-kubectl.err")"
python3 "$src/tests/chart/discovery_server.py" "$tmp/port" &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
[ -s "$tmp/port" ] || fail "discovery server did not start"
cat >"$tmp/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: offline, cluster: {server: "http://127.0.0.1:$(cat "$tmp/port")"}}]
contexts: [{name: offline, context: {cluster: offline, namespace: default}}]
current-context: offline
users: [{name: nobody, user: {}}]
KC
for f in "$src"/deploy/kind/manifests/*.yaml "$src/charts/workload-variant-autoscaler/crds/variantautoscalings.llmd.ai.yaml" "$tmp/chart.yaml"; do
  KUBECONFIG="$tmp/kubeconfig" "$kubectl" apply --dry-run=client --validate=false -f "$f" >"$tmp/apply.out" 2>&1 ||
    { cat "$tmp/apply.out" >&2; fail "kubectl apply --dry-run=client -f $(basename "$f")"; }
  grep -q 'created (dry run)' "$tmp/apply.out" || { cat "$tmp/apply.out" >&2; fail "$(basename "$f"): nothing to apply"; }
done
grep -q '^deployment.apps/llama-8b-h200 created (dry run)' <(KUBECONFIG="$tmp/kubeconfig" "$kubectl" apply --dry-run=client --validate=false -f "$src/deploy/kind/manifests/20-emulated-vllm.yaml" 2>&1) ||
  fail "20-emulated-vllm.yaml does not create the H200 variant"
echo "ok: kubectl apply --dry-run=client of every object the kind target applies"
echo "PASS"
