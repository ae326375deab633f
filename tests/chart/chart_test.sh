#!/usr/bin/env bash
# chart_test.sh <build dir> <source dir>: lints and renders charts/workload-variant-autoscaler, checks the
# rendered objects, and validates the rendered ConfigMaps with `<build>/bin/wva validate --local`.
set -euo pipefail

build="$(cd "$1" && pwd)"
src="$(cd "$2" && pwd)"
chart="$src/charts/workload-variant-autoscaler"
wva="$build/bin/wva"
release=workload-variant-autoscaler
ns=workload-variant-autoscaler-system

fail() { echo "FAIL: $*" >&2; exit 1; }
# shellcheck source=../support/prerequisite.sh
source "$src/tests/support/prerequisite.sh"
[ -x "$wva" ] || fail "$wva is not built (cmake --build $build --target wva)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export HELM_CACHE_HOME="$tmp/helm-cache" HELM_CONFIG_HOME="$tmp/helm-config" HELM_DATA_HOME="$tmp/helm-data"

set +e
helm="$(bash "$src/scripts/install-k8s-tool.sh" helm 2>"$tmp/install-helm.err")"
rc=$?
set -e
if [ "$rc" -eq 77 ]; then
  skip_or_fail "helm is not installed and cannot be fetched: $(cat "$tmp/install-helm.err")"
fi
[ "$rc" -eq 0 ] || fail "scripts/install-k8s-tool.sh helm exited $rc: $(cat "$tmp/install-helm.err")"
echo "helm: $helm ($("$helm" version --short))"

# The chart's CRD is a copy of the repository's.
cmp -s "$src/crds/variantautoscalings.llmd.ai.yaml" "$chart/crds/variantautoscalings.llmd.ai.yaml" ||
  fail "charts/workload-variant-autoscaler/crds/ differs from crds/variantautoscalings.llmd.ai.yaml (copy it)"

for set in "" "pipelines.hybrid.enabled=true"; do
  out="$("$helm" lint "$chart" ${set:+--set "$set"} 2>&1)" || { echo "$out" >&2; fail "helm lint ${set:-(defaults)}"; }
  grep -q "1 chart(s) linted, 0 chart(s) failed" <<<"$out" || { echo "$out" >&2; fail "helm lint: unexpected summary"; }
done
echo "ok: helm lint"

# render <name> [helm args...]: helm template into $tmp/<name>; prints nothing.
render() {
  local name="$1"
  shift
  "$helm" template "$release" "$chart" --namespace "$ns" --include-crds --output-dir "$tmp/$name" "$@" >/dev/null ||
    fail "helm template ($name)"
}
# objects <name>: one "Kind/name namespace" line per rendered object.
objects() {
  find "$tmp/$1" -name '*.yaml' -print0 | sort -z | xargs -0 awk '
    function flush() { if (kind != "") print kind "/" name " " nsp; kind = ""; name = ""; nsp = "-"; inmeta = 0 }
    FNR == 1 || /^---/ { flush() }
    /^kind: / { kind = $2 }
    /^metadata:/ { inmeta = 1; next }
    /^[^ #]/ { inmeta = 0 }
    inmeta && /^  name: / && name == "" { name = $2 }
    inmeta && /^  namespace: / { nsp = $2 }
    END { flush() }'
}
# rendered <name> <template file>: path of one rendered template.
rendered() { echo "$tmp/$1/$release/templates/$2"; }
# pipelines <name>: the pipelines.yaml text of ConfigMap wva-pipelines.
pipelines() {
  awk '/^  pipelines.yaml: \|/ { on = 1; next } on && /^  [^ ]/ { on = 0 } on && /^---/ { on = 0 } on { print }' \
    "$(rendered "$1" configmaps.yaml)"
}
# doc <file> <kind>: the first document of that kind in a rendered file.
doc() { awk -v k="$2" '/^---/ { if (hit) exit; buf = ""; next } { buf = buf $0 "\n" } $0 == "kind: " k { hit = 1 } END { if (hit) printf "%s", buf }' "$1"; }
expect_object() { grep -qx "$2" <<<"$(objects "$1")" || { objects "$1" >&2; fail "$1: no object $2"; }; }

render defaults
render hybrid --set pipelines.hybrid.enabled=true
render hybrid-selected --set pipelines.hybrid.enabled=true --set 'pipelines.hybrid.selector.modelIds={meta/llama-3.1-70b*}'
render monitored --set serviceMonitor.enabled=true --set prometheus.ca.cert=PEM --set replicas=1
render zero --set scaleToZero.enabled=true --set scaleToZero.retention=15m \
  --set 'scaleToZero.models[0].modelID=meta/llama-3.1-8b' --set 'scaleToZero.models[0].namespace=team-a' \
  --set 'scaleToZero.models[0].enabled=false'
render keda-scaler --set autoscaling.keda.enabled=true --set autoscaling.keda.trigger=external --set replicas=1 \
  --set 'autoscaling.variants[0].deployment=llama-8b-h100' --set pipelines.hybrid.enabled=true \
  --set 'pipelines.hybrid.selector.modelIds={meta/llama-3.1-70b*}'

for r in defaults hybrid hybrid-selected monitored zero; do
  expect_object "$r" "CustomResourceDefinition/variantautoscalings.llmd.ai -"
  expect_object "$r" "ServiceAccount/$release-controller-manager $ns"
  expect_object "$r" "ClusterRole/$release-manager-role -"
  expect_object "$r" "ClusterRoleBinding/$release-manager-rolebinding -"
  expect_object "$r" "Role/$release-leader-election-role $ns"
  expect_object "$r" "RoleBinding/$release-leader-election-rolebinding $ns"
  expect_object "$r" "Deployment/$release-controller-manager $ns"
  expect_object "$r" "Service/$release-metrics $ns"
  for cm in wva-pipelines capacity-scaling-config accelerator-unitcost service-classes-config \
    wva-model-scale-to-zero-config; do
    expect_object "$r" "ConfigMap/$cm $ns"
  done
done
objects defaults | grep -q '^ServiceMonitor/' && fail "defaults: ServiceMonitor rendered although disabled"
expect_object monitored "ServiceMonitor/$release-metrics-monitor $ns"
expect_object monitored "ConfigMap/$release-prometheus-ca $ns"
expect_object keda-scaler "Service/$release-keda-scaler $ns"
objects defaults | grep -q "^Service/$release-keda-scaler" && fail "defaults: keda-scaler Service rendered"
echo "ok: rendered kinds"

# The Deployment: `wva run`, POD_NAMESPACE from the downward API, RECONCILIATION_INTERVAL, probes on
# the metrics sink's /healthz, the metrics port.
dep="$(rendered defaults deployment.yaml)"
grep -qx '            - run' "$dep" || fail "deployment: args do not start with run"
grep -A3 'name: POD_NAMESPACE' "$dep" | grep -q 'fieldPath: metadata.namespace' || fail "deployment: POD_NAMESPACE not from the downward API"
grep -A1 'name: RECONCILIATION_INTERVAL' "$dep" | grep -q 'value: "60s"' || fail "deployment: RECONCILIATION_INTERVAL"
grep -q 'httpGet: {path: /readyz, port: health}' "$dep" || fail "deployment: readiness on /readyz of the probe port"
grep -q 'httpGet: {path: /healthz, port: health}' "$dep" || fail "deployment: liveness on /healthz of the probe port"
grep -q 'containerPort: 8081' "$dep" || fail "deployment: probe port 8081"
grep -q -- '- --leader-elect$' "$dep" || fail "deployment: --leader-elect on by default"
grep -A3 'name: POD_NAME$' "$dep" | grep -q 'fieldPath: metadata.name' || fail "deployment: POD_NAME from the downward API"
grep -q 'containerPort: 8443' "$dep" || fail "deployment: metrics port 8443"
grep -q 'replicas: 2' "$dep" || fail "deployment: 2 replicas by default (leader election)"
grep -q 'mountPath: /etc/wva/prometheus-ca' "$(rendered monitored deployment.yaml)" || fail "deployment: CA not mounted"
# RBAC: status is written with patch only; nothing may update Deployments or scale them.
rbac="$(rendered defaults rbac.yaml)"
grep -A2 'resources: \[variantautoscalings/status\]' "$rbac" | grep -q 'verbs: \[patch\]' || fail "rbac: status patch"
grep -A2 'resources: \[leases\]' "$rbac" | grep -q 'verbs: \[get, create, update\]' || fail "rbac: leases"
grep -A1 'resources: \[deployments, replicasets\]' "$rbac" | grep -q 'verbs: \[get, list, watch\]' || fail "rbac: replicasets (pod ownership)"
grep -A1 'resources: \[horizontalpodautoscalers\]' "$rbac" | grep -q 'verbs: \[get, list, watch\]' || fail "rbac: horizontalpodautoscalers (variant bounds)"
cluster_role="$(doc "$rbac" ClusterRole)"
[ -n "$cluster_role" ] || fail "rbac: no ClusterRole"
grep -A1 'resources: \[events\]' <<<"$cluster_role" | grep -q 'verbs: \[create, patch\]' || fail "rbac: events create/patch"
# Apart from recording Events, the ClusterRole only reads (and patches VA status).
grep -qE 'deployments/scale|secrets|nodes|verbs: \[.*(create|update|delete|\*)' <<<"$(sed '/resources: \[events\]/,+1d' <<<"$cluster_role")" &&
  { echo "$cluster_role" >&2; fail "rbac: the ClusterRole grants more than least privilege"; }
echo "ok: deployment and rbac"

# Sharding: shards > 1 passes --shards (with leader election: automatic, on Leases), lets the leases Role
# list and delete (membership Leases), and keeps replicas as set. The default passes no --shards.
render sharded --set shards=4 --set replicas=3
sdep="$(rendered sharded deployment.yaml)"
grep -q -- '- --shards=4$' "$sdep" || fail "sharded: --shards=4 not passed"
grep -q -- '- --leader-elect$' "$sdep" || fail "sharded: automatic sharding needs --leader-elect"
grep -q -- '--shard-index' "$sdep" && fail "sharded: a Deployment's replicas cannot have a fixed --shard-index"
grep -q 'replicas: 3' "$sdep" || fail "sharded: replicas: 3"
grep -A2 'resources: \[leases\]' "$(rendered sharded rbac.yaml)" | grep -q 'verbs: \[get, list, create, update, delete\]' ||
  fail "sharded: rbac leases get, list, create, update, delete"
grep -q -- '--shards' "$dep" && fail "defaults: --shards passed although shards is 1"
render one-shard --set shards=1
grep -q -- '--shards' "$(rendered one-shard deployment.yaml)" && fail "shards=1: --shards passed"
# Invalid combinations fail the rendering with the reason.
for bad in "shards=4,leaderElection.enabled=false:needs leaderElection.enabled" "shards=0:between 1 and 1024" \
  "shards=2000:between 1 and 1024"; do
  set_args="${bad%%:*}" want="${bad#*:}"
  if out="$("$helm" template "$release" "$chart" --namespace "$ns" --set "$set_args" 2>&1)"; then
    fail "helm template --set $set_args rendered"
  fi
  grep -q "$want" <<<"$out" || { echo "$out" >&2; fail "helm template --set $set_args: no \"$want\""; }
done
echo "ok: shards"

# pipelines.yaml: default = the capacity policy; hybrid toggle = saturation + queueing, combine: hybrid.
pipelines defaults | grep -q 'analyzers: \["capacity","scale-to-zero"\]' || fail "defaults: default pipeline analyzers"
pipelines defaults | grep -q 'combine: last' || fail "defaults: scale-to-zero has the last word"
pipelines defaults | grep -q 'queueing\|combine: hybrid' && fail "defaults: queueing/hybrid without the hybrid toggle"
pipelines hybrid | grep -q 'analyzers: \["saturation","queueing"\]' || fail "hybrid: analyzers"
pipelines hybrid | grep -q 'combine: hybrid' || fail "hybrid: combine"
[ "$(pipelines hybrid-selected | awk '/^    pipelines:$/ { on = 1; next } on && /^      [a-z-]+:$/ { sub(":", ""); print $1 }' | paste -sd,)" = "hybrid,default" ] ||
  fail "hybrid-selected: pipeline hybrid must come before default"
# Scale to zero: the ConfigMap from the values (namespace-aware entries), read by the wva validate below.
[ -n "$(sed -n '/name: wva-model-scale-to-zero-config/p' "$(rendered zero configmaps.yaml)")" ] || fail "zero: no scale-to-zero ConfigMap"
awk '/name: wva-model-scale-to-zero-config/ { on = 1 } on' "$(rendered zero configmaps.yaml)" >"$tmp/stz.yaml"
grep -q 'enable_scale_to_zero: true' "$tmp/stz.yaml" || fail "zero: default entry not enabled"
grep -q 'retention_period: 15m' "$tmp/stz.yaml" || fail "zero: retention"
grep -A4 '^  team-a-meta-llama-3-1-8b: |' "$tmp/stz.yaml" | grep -q 'namespace: "team-a"' || { cat "$tmp/stz.yaml" >&2; fail "zero: model entry"; }
grep -A4 '^  team-a-meta-llama-3-1-8b: |' "$tmp/stz.yaml" | grep -q 'enable_scale_to_zero: false' || fail "zero: model entry enabled flag"
if "$helm" template "$release" "$chart" --set scaleToZero.enabled=true --set pipelines.hybrid.enabled=true >/dev/null 2>"$tmp/stz-hybrid.err"; then
  fail "scaleToZero with an all-models hybrid pipeline rendered"
fi
grep -q 'scaleToZero needs' "$tmp/stz-hybrid.err" || { cat "$tmp/stz-hybrid.err" >&2; fail "scaleToZero + hybrid: no clear error"; }
echo "ok: pipelines.yaml"

# wva validate --local on the rendered ConfigMaps.
validate() {
  local name="$1" dir="$tmp/validate-$1"
  mkdir -p "$dir"
  cp "$(rendered "$name" configmaps.yaml)" "$dir/"
  POD_NAMESPACE="$ns" "$wva" validate --local "$dir" >"$dir.out" 2>&1
}
for r in defaults hybrid hybrid-selected monitored zero keda-scaler; do
  validate "$r" || { cat "$tmp/validate-$r.out" >&2; fail "wva validate --local ($r)"; }
done
# The keda-scaler sink is in both pipelines and its settings were accepted by the plugin itself.
[ "$(pipelines keda-scaler | grep -c 'sinks: \[.*"keda-scaler"\]')" = 2 ] || fail "keda-scaler: not in both pipelines' sinks"
echo "ok: wva validate (defaults, hybrid, hybrid-selected, monitored, zero, keda-scaler)"

# The validation step really checks: a bad value is rejected with its path.
render broken --set prometheus.url=ftp://prometheus --set metrics.port=99999
if validate broken; then fail "wva validate accepted an ftp:// url and port 99999"; fi
grep -q 'sources.prometheus.url' "$tmp/validate-broken.out" || { cat "$tmp/validate-broken.out" >&2; fail "no path sources.prometheus.url"; }
grep -q 'sinks.metrics' "$tmp/validate-broken.out" || { cat "$tmp/validate-broken.out" >&2; fail "no path sinks.metrics"; }
echo "ok: wva validate rejects a broken rendering with paths"
echo "PASS"
