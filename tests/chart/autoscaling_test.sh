#!/usr/bin/env bash
# autoscaling_test.sh <source dir>: the chart's HPA / KEDA / prometheus-adapter objects (values
# autoscaling.*).
# - With default values none of them renders.
# - Rendered with hpa + adapter on, and with keda (+ scaleToZero) on, the output goes through
#   `kubectl apply --dry-run=client -o json`. No API server runs here, and client-side dry-run needs one
#   for discovery (kind -> resource); tests/chart/discovery_server.py stands for it (core/v1,
#   autoscaling/v2, keda.sh/v1alpha1 as if KEDA's CRDs were installed). Schema validation needs the
#   server's OpenAPI documents, which cannot be had offline (and a CRD kind's schema is the CRD's own),
#   so kubectl runs with --validate=false and the fields are checked structurally below on kubectl's
#   JSON output.
# - The metric name and every label the HPA selector, the KEDA query and the adapter rule select on are
#   names the metrics sink exports, read from plugins/sinks/metrics/src/recommendation_gauges.{h,cpp}
#   (Prometheus' exported_namespace = the sink's namespace label renamed on scrape).
# - With keda.trigger=external the triggers are external(-push) ones whose scalerAddress is the rendered
#   keda-scaler Service, whose port reaches the container port the keda-scaler sink listens on (from the
#   rendered pipelines.yaml, which also adds the sink to the pipelines); the metadata keys are the ones the
#   sink reads (plugins/sinks/keda-scaler/src/scaled_object.h). Several replicas or an unknown trigger
#   are refused.
set -euo pipefail

src="$(cd "$1" && pwd)"
chart="$src/charts/workload-variant-autoscaler"
release=workload-variant-autoscaler
ns=workload-variant-autoscaler-system

fail() { echo "FAIL: $*" >&2; exit 1; }
# shellcheck source=../support/prerequisite.sh
source "$src/tests/support/prerequisite.sh"
command -v python3 >/dev/null 2>&1 || skip_or_fail "python3 is not installed"

tmp="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
export HELM_CACHE_HOME="$tmp/helm-cache" HELM_CONFIG_HOME="$tmp/helm-config" HELM_DATA_HOME="$tmp/helm-data"

# tool <name>: $<NAME> if set, else scripts/install-k8s-tool.sh (PATH, then <repo>/.cache/bin, then npm).
tool() {
  local name="$1" env rc path
  env="$(tr '[:lower:]' '[:upper:]' <<<"$name")"
  if [ -n "${!env:-}" ]; then echo "${!env}"; return 0; fi
  set +e
  path="$(bash "$src/scripts/install-k8s-tool.sh" "$name" 2>"$tmp/install-$name.err")"
  rc=$?
  set -e
  [ "$rc" -eq 77 ] && skip_or_fail "$name is not installed and cannot be fetched: $(cat "$tmp/install-$name.err")"
  [ "$rc" -eq 0 ] || fail "scripts/install-k8s-tool.sh $name exited $rc: $(cat "$tmp/install-$name.err")"
  echo "$path"
}
helm="$(tool helm)"
kubectl="$(tool kubectl)"
echo "helm: $helm, kubectl: $kubectl"

variants=(
  --set 'autoscaling.variants[0].deployment=llama-8b-h100' --set 'autoscaling.variants[0].namespace=llm'
  --set 'autoscaling.variants[0].accelerator=H100' --set 'autoscaling.variants[0].modelID=meta/llama-3.1-8b'
  --set 'autoscaling.variants[0].minReplicas=2' --set 'autoscaling.variants[0].maxReplicas=8'
  --set 'autoscaling.variants[1].name=llama-8b-l40s-scaler' --set 'autoscaling.variants[1].deployment=llama-8b-l40s'
  --set 'autoscaling.variants[1].namespace=llm'
)
render() { "$helm" template "$release" "$chart" --namespace "$ns" "$@"; }

for on in "autoscaling.hpa.enabled=true,autoscaling.prometheusAdapter.enabled=true" "autoscaling.keda.enabled=true,autoscaling.scaleToZero=true" \
  "autoscaling.keda.enabled=true,autoscaling.keda.trigger=external,replicas=1"; do
  out="$("$helm" lint "$chart" "${variants[@]}" --set "$on" 2>&1)" || { echo "$out" >&2; fail "helm lint ($on)"; }
  grep -q "1 chart(s) linted, 0 chart(s) failed" <<<"$out" || { echo "$out" >&2; fail "helm lint ($on): unexpected summary"; }
done
echo "ok: helm lint"

# Defaults, and variants listed with every switch off: no HPA, ScaledObject or adapter rule.
for with in defaults variants; do
  if [ "$with" = defaults ]; then out="$(render)"; else out="$(render "${variants[@]}")"; fi || fail "helm template ($with)"
  grep -qE '^kind: (HorizontalPodAutoscaler|ScaledObject)$' <<<"$out" && fail "an HPA or ScaledObject renders ($with, switches off)"
  grep -q 'externalRules' <<<"$out" && fail "the adapter rule renders ($with, switches off)"
  grep -q '^kind: Deployment$' <<<"$out" || fail "helm template ($with): no controller Deployment (nothing rendered?)"
done
echo "ok: nothing renders by default"

# hpa and keda together are refused (both would scale the same Deployments).
if err="$(render "${variants[@]}" --set autoscaling.hpa.enabled=true --set autoscaling.keda.enabled=true 2>&1)"; then
  fail "hpa + keda rendered"
fi
grep -q 'exclusive' <<<"$err" || fail "hpa + keda: unexpected error: $err"

render "${variants[@]}" --set autoscaling.hpa.enabled=true --set autoscaling.prometheusAdapter.enabled=true \
  --set autoscaling.hpa.scaleDown.stabilizationWindowSeconds=180 --show-only templates/autoscaling.yaml >"$tmp/hpa.yaml" ||
  fail "helm template (hpa + adapter)"
render "${variants[@]}" --set autoscaling.keda.enabled=true --set autoscaling.scaleToZero=true \
  --show-only templates/autoscaling.yaml >"$tmp/keda.yaml" || fail "helm template (keda, scaleToZero)"
render "${variants[@]}" --set autoscaling.keda.enabled=true --show-only templates/autoscaling.yaml >"$tmp/keda-min.yaml" ||
  fail "helm template (keda)"
# An operator's own ignoreNullValues (extraMetadata) replaces the chart's, once per trigger (no duplicate key).
out="$(render "${variants[@]}" --set autoscaling.keda.enabled=true --set-string autoscaling.keda.extraMetadata.ignoreNullValues=true \
  --show-only templates/autoscaling.yaml)" || fail "helm template (keda, extraMetadata.ignoreNullValues)"
[ "$(grep -c 'ignoreNullValues:' <<<"$out")" = 2 ] && [ "$(grep -c 'ignoreNullValues: "true"' <<<"$out")" = 2 ] ||
  fail "extraMetadata.ignoreNullValues: want it once per ScaledObject, as given: $(grep ignoreNullValues <<<"$out")"

# keda.trigger=external: the ScaledObjects, the Service, the Deployment and the pipelines ConfigMap.
scaler_objects=(--show-only templates/autoscaling.yaml --show-only templates/service.yaml
  --show-only templates/deployment.yaml --show-only templates/configmaps.yaml)
render "${variants[@]}" --set autoscaling.keda.enabled=true --set autoscaling.keda.trigger=external --set replicas=1 \
  --set autoscaling.scaleToZero=true "${scaler_objects[@]}" >"$tmp/keda-ext.yaml" || fail "helm template (keda external)"
render "${variants[@]}" --set autoscaling.keda.enabled=true --set autoscaling.keda.trigger=external --set replicas=1 \
  --set autoscaling.keda.scaler.push=false --set autoscaling.keda.scaler.port=7000 \
  --set autoscaling.keda.scaler.tlsSecret=wva-keda-scaler-tls --set 'pipelines.default.sinks={status,keda-scaler}' \
  "${scaler_objects[@]}" >"$tmp/keda-ext-tls.yaml" || fail "helm template (keda external, TLS, polled)"
# The trigger switch alone adds nothing while keda is off.
render --set autoscaling.keda.trigger=external | grep -q 'keda-scaler' && fail "keda-scaler rendered with keda off"
if err="$(render "${variants[@]}" --set autoscaling.keda.enabled=true --set autoscaling.keda.trigger=external 2>&1)"; then
  fail "keda external rendered with 2 replicas (only the leader publishes)"
fi
grep -q 'needs replicas: 1' <<<"$err" || fail "keda external, 2 replicas: unexpected error: $err"
if err="$(render "${variants[@]}" --set autoscaling.keda.enabled=true --set autoscaling.keda.trigger=grpc 2>&1)"; then
  fail "keda trigger grpc rendered"
fi
grep -q 'must be prometheus or external' <<<"$err" || fail "keda trigger grpc: unexpected error: $err"
echo "ok: keda trigger values checked"

python3 "$src/tests/chart/discovery_server.py" "$tmp/port" &
server_pid=$!
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
for r in hpa keda keda-min keda-ext keda-ext-tls; do
  KUBECONFIG="$tmp/kubeconfig" "$kubectl" apply --dry-run=client --validate=false -o json -f "$tmp/$r.yaml" \
    >"$tmp/$r.json" 2>"$tmp/$r.err" || { cat "$tmp/$r.err" >&2; fail "kubectl apply --dry-run=client ($r)"; }
done
echo "ok: kubectl apply --dry-run=client"

python3 - "$src" "$tmp" <<'PY'
import json, re, sys
src, tmp = sys.argv[1], sys.argv[2]
h = open(f"{src}/plugins/sinks/metrics/src/recommendation_gauges.h").read()
cpp = open(f"{src}/plugins/sinks/metrics/src/recommendation_gauges.cpp").read()
metric = re.search(r'kDesiredReplicas = "([a-z_]+)"', h).group(1)
body = re.search(r"series_labels\(const sdk::Decision& d\) \{(.*?)\n\}", cpp, re.S).group(1)
labels = set(re.findall(r'\{"([a-z_]+)", d\.', body))
assert metric == "inferno_desired_replicas" and {"variant_name", "namespace"} <= labels, (metric, labels)
scraped = labels | {"exported_" + l for l in labels}  # Prometheus renames a clashing target label

def fail(msg):
    sys.exit(f"FAIL: {msg}")

def items(name):
    return json.load(open(f"{tmp}/{name}.json"))["items"]

def by_kind(objs, kind):
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}

def check_labels(where, names):
    for n in names:
        if n not in scraped:
            fail(f"{where} selects on label {n!r}, which the metrics sink does not export ({sorted(labels)})")

def target(o, dep):
    ref = o["spec"]["scaleTargetRef"]
    if ref != {"apiVersion": "apps/v1", "kind": "Deployment", "name": dep}:
        fail(f"{o['metadata']['name']}: scaleTargetRef {ref}")

hpa = items("hpa")
hpas = by_kind(hpa, "HorizontalPodAutoscaler")
if set(hpas) != {"llama-8b-h100", "llama-8b-l40s-scaler"}:
    fail(f"HPAs {sorted(hpas)}")
for name, dep, lo, hi, extra in [("llama-8b-h100", "llama-8b-h100", 2, 8, {"accelerator_type": "H100"}),
                                 ("llama-8b-l40s-scaler", "llama-8b-l40s", 1, 10, {})]:
    o = hpas[name]
    if o["apiVersion"] != "autoscaling/v2" or o["metadata"]["namespace"] != "llm":
        fail(f"{name}: {o['apiVersion']} in {o['metadata']['namespace']}")
    target(o, dep)
    s = o["spec"]
    if (s["minReplicas"], s["maxReplicas"]) != (lo, hi):
        fail(f"{name}: min/max {s['minReplicas']}/{s['maxReplicas']}")
    [m] = s["metrics"]
    ext = m["external"]
    if m["type"] != "External" or ext["metric"]["name"] != metric:
        fail(f"{name}: metric {m}")
    sel = ext["metric"]["selector"]["matchLabels"]
    if sel != {"variant_name": dep, **extra}:
        fail(f"{name}: selector {sel}")
    check_labels(f"HPA {name}", sel)
    if ext["target"] != {"type": "AverageValue", "averageValue": "1"}:
        fail(f"{name}: target {ext['target']}")
    b = s["behavior"]
    if b["scaleUp"] != {"stabilizationWindowSeconds": 0,
                        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}:
        fail(f"{name}: scaleUp {b['scaleUp']}")
    if b["scaleDown"] != {"stabilizationWindowSeconds": 180}:
        fail(f"{name}: scaleDown {b['scaleDown']} (values set 180)")

[cm] = by_kind(hpa, "ConfigMap").values()
rules = cm["data"]["config.yaml"]
if "externalRules:" not in rules:
    fail("adapter ConfigMap has no externalRules")
series = re.search(r"seriesQuery: '([a-z_]+)\{(.*?)\}'", rules)
if not series or series.group(1) != metric:
    fail(f"adapter seriesQuery: {rules}")
check_labels("adapter seriesQuery", re.findall(r"([a-z_]+)!=", series.group(2)))
overrides = re.findall(r"^\s+([a-z_]+): \{resource: (\w+)\}", rules, re.M)
if dict(overrides) != {"exported_namespace": "namespace"}:
    fail(f"adapter overrides {overrides}")
check_labels("adapter overrides", dict(overrides))
mq = re.search(r"metricsQuery: 'max by \(([a-z_, ]+)\) \(([a-z_]+)\{<<\.LabelMatchers>>\}\)'", rules)
if f"as: {metric}" not in rules or not mq or mq.group(2) != metric:
    fail(f"adapter name/metricsQuery: {rules}")
check_labels("adapter metricsQuery", [l.strip() for l in mq.group(1).split(",")])

for name, zero in [("keda", True), ("keda-min", False)]:
    objs = by_kind(items(name), "ScaledObject")
    if set(objs) != {"llama-8b-h100", "llama-8b-l40s-scaler"}:
        fail(f"{name}: ScaledObjects {sorted(objs)}")
    for so_name, dep, lo, hi in [("llama-8b-h100", "llama-8b-h100", 2, 8), ("llama-8b-l40s-scaler", "llama-8b-l40s", 1, 10)]:
        o = objs[so_name]
        if o["apiVersion"] != "keda.sh/v1alpha1" or o["metadata"]["namespace"] != "llm":
            fail(f"{so_name}: {o['apiVersion']} in {o['metadata']['namespace']}")
        target(o, dep)
        s = o["spec"]
        want_min = 0 if zero else lo
        if (s["minReplicaCount"], s["maxReplicaCount"]) != (want_min, hi):
            fail(f"{name}/{so_name}: min/max {s['minReplicaCount']}/{s['maxReplicaCount']}, want {want_min}/{hi}")
        for k in ("pollingInterval", "cooldownPeriod"):
            if not isinstance(s.get(k), int):
                fail(f"{so_name}: {k} {s.get(k)!r}")
        [t] = s["triggers"]
        md = t["metadata"]
        if t["type"] != "prometheus" or t.get("metricType") != "AverageValue" or md["threshold"] != "1":
            fail(f"{so_name}: trigger {t}")
        # KEDA's prometheus scaler reads an empty answer as 0 unless ignoreNullValues is "false".
        if md.get("ignoreNullValues") != "false":
            fail(f"{so_name}: ignoreNullValues {md.get('ignoreNullValues')!r}, want \"false\" (no answer is not 0)")
        if not md["serverAddress"].startswith("http"):
            fail(f"{so_name}: serverAddress {md['serverAddress']}")
        q = re.fullmatch(r"max\(([a-z_]+)\{(.*)\}\)", md["query"])
        if not q or q.group(1) != metric:
            fail(f"{so_name}: query {md['query']}")
        matchers = dict(re.findall(r'([a-z_]+)="([^"]*)"', q.group(2)))
        check_labels(f"ScaledObject {so_name} query", matchers)
        want = {"variant_name": dep, "exported_namespace": "llm"}
        if so_name == "llama-8b-h100":
            want |= {"accelerator_type": "H100", "model_name": "meta/llama-3.1-8b"}
        if matchers != want:
            fail(f"{so_name}: query matchers {matchers}, want {want}")
print(f"ok: objects; metric {metric} and labels {sorted(labels)} match the metrics sink")

# keda.trigger=external: the keda-scaler sink's metadata keys, and address -> Service -> container -> sink.
so_h = open(f"{src}/plugins/sinks/keda-scaler/src/scaled_object.h").read()
keys = {k: re.search(rf'{k} = "([A-Za-z]+)"', so_h).group(1) for k in ("kVariantKey", "kNamespaceKey", "kModelKey")}
for name, push, port, tls in [("keda-ext", True, 9091, False), ("keda-ext-tls", False, 7000, True)]:
    objs = items(name)
    scaled = by_kind(objs, "ScaledObject")
    svc = by_kind(objs, "Service").get("workload-variant-autoscaler-keda-scaler")
    if not svc:
        fail(f"{name}: no Service workload-variant-autoscaler-keda-scaler ({sorted(by_kind(objs, 'Service'))})")
    [sport] = [p for p in svc["spec"]["ports"] if p["name"] == "keda-scaler"]
    address = f"{svc['metadata']['name']}.{svc['metadata']['namespace']}.svc:{sport['port']}"
    [dep] = by_kind(objs, "Deployment").values()
    pod = dep["spec"]["template"]["spec"]
    if dep["spec"]["replicas"] != 1:
        fail(f"{name}: controller replicas {dep['spec']['replicas']}")
    [c] = pod["containers"]
    cports = {p["name"]: p["containerPort"] for p in c["ports"]}
    if cports.get(sport["targetPort"]) != port:
        fail(f"{name}: Service targetPort {sport['targetPort']} -> container ports {cports}, want {port}")
    if svc["spec"]["selector"] != dep["spec"]["selector"]["matchLabels"]:
        fail(f"{name}: Service selector {svc['spec']['selector']} does not select the controller")
    pipelines = by_kind(objs, "ConfigMap")["wva-pipelines"]["data"]["pipelines.yaml"]
    sink = re.search(r"^\s+keda-scaler: (\{.*\})$", pipelines, re.M)
    if not sink:
        fail(f"{name}: no keda-scaler sink in pipelines.yaml:\n{pipelines}")
    sink = json.loads(sink.group(1))
    if sink["listen"] != f":{port}":
        fail(f"{name}: sink listens on {sink['listen']}, the container port is {port}")
    used = [json.loads(m) for m in re.findall(r"^\s+sinks: (\[.*\])$", pipelines, re.M)]
    if not used or any(u.count("keda-scaler") != 1 for u in used):
        fail(f"{name}: pipelines' sinks {used} (want keda-scaler once in each)")
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    if tls:
        cert_dir = sink["tls"]["certFile"].rsplit("/", 1)[0]
        vol = volumes.get(mounts.get(cert_dir, ""), {})
        if vol.get("secret", {}).get("secretName") != "wva-keda-scaler-tls" or \
                sink["tls"] != {"certFile": f"{cert_dir}/tls.crt", "keyFile": f"{cert_dir}/tls.key"}:
            fail(f"{name}: sink tls {sink.get('tls')} vs mounts {mounts} / volumes {volumes}")
    elif "tls" in sink:
        fail(f"{name}: plaintext wanted, sink {sink}")
    if set(scaled) != {"llama-8b-h100", "llama-8b-l40s-scaler"}:
        fail(f"{name}: ScaledObjects {sorted(scaled)}")
    for so_name, dep_name in [("llama-8b-h100", "llama-8b-h100"), ("llama-8b-l40s-scaler", "llama-8b-l40s")]:
        o = scaled[so_name]
        target(o, dep_name)
        [t] = o["spec"]["triggers"]
        want_type = "external-push" if push else "external"
        if t["type"] != want_type or t.get("metricType") != "AverageValue":
            fail(f"{name}/{so_name}: trigger {t['type']} / {t.get('metricType')}, want {want_type} / AverageValue")
        want = {"scalerAddress": address, keys["kVariantKey"]: dep_name, keys["kNamespaceKey"]: "llm"}
        if so_name == "llama-8b-h100":
            want[keys["kModelKey"]] = "meta/llama-3.1-8b"
        if tls:
            want["enableTLS"] = "true"
        if t["metadata"] != want:
            fail(f"{name}/{so_name}: metadata {t['metadata']}, want {want}")
    if name == "keda-ext" and scaled["llama-8b-h100"]["spec"]["minReplicaCount"] != 0:
        fail("keda-ext: scaleToZero did not give minReplicaCount 0")
print(f"ok: external triggers reach the keda-scaler sink ({address}), metadata keys {sorted(keys.values())}")
PY
echo "PASS"
