#!/usr/bin/env bash
# secure_metrics_test.sh <build dir> <source dir>: the chart's secure metrics values (metrics.tls.*,
# metrics.auth.*, serviceMonitor.tlsConfig / authorization).
# - Off by default: plain HTTP, no Certificate, no metrics-reader role, no review permissions, a
#   ServiceMonitor with scheme http.
# - On (cert-manager, token auth, a reader binding, the ServiceMonitor): the rendering goes through
#   `kubectl apply --dry-run=client -o json` (against tests/chart/discovery_server.py, a discovery-only
#   stand-in for the API server; --validate=false as it has no OpenAPI) and the objects agree with each
#   other: the sink's certFile/keyFile lie in the folder where the Secret that the Certificate writes is
#   mounted; the ServiceMonitor scrapes that Service port with https, verifies the Service's DNS name
#   (one of the Certificate's) against the Secret's ca.crt and sends a bearer token; the controller's
#   ClusterRole gains exactly tokenreviews and subjectaccessreviews `create`; metrics-reader grants
#   `get` on /metrics and is bound to the readers given.
# - With an existing Secret: no Certificate, that Secret mounted; explicit tlsConfig / authorization pass
#   through. cert-manager without an issuer is a clear error.
# - `wva validate --local` accepts the rendered ConfigMaps (the metrics sink checks its tls/auth settings).
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
command -v python3 >/dev/null 2>&1 || skip_or_fail "python3 is not installed"
[ -x "$wva" ] || fail "$wva is not built (cmake --build $build --target wva)"

tmp="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
export HELM_CACHE_HOME="$tmp/helm-cache" HELM_CONFIG_HOME="$tmp/helm-config" HELM_DATA_HOME="$tmp/helm-data"

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
render() { "$helm" template "$release" "$chart" --namespace "$ns" "$@"; }

# Off by default.
render --set serviceMonitor.enabled=true >"$tmp/defaults.yaml" || fail "helm template (defaults)"
grep -qE '^kind: Certificate$' "$tmp/defaults.yaml" && fail "defaults: a Certificate renders"
grep -q 'metrics-reader' "$tmp/defaults.yaml" && fail "defaults: the metrics-reader role renders"
grep -qE 'tokenreviews|subjectaccessreviews' "$tmp/defaults.yaml" && fail "defaults: review permissions granted"
grep -q 'scheme: http$' "$tmp/defaults.yaml" || fail "defaults: the ServiceMonitor does not scrape plain http"
grep -qE 'metrics-tls|bearerTokenFile' "$tmp/defaults.yaml" && fail "defaults: TLS or token settings render"
grep -q 'metrics: {"listen":":8443"}' "$tmp/defaults.yaml" || fail "defaults: the metrics sink is not plain {listen: :8443}"
echo "ok: off by default"

secure=(--set metrics.tls.enabled=true --set metrics.tls.certManager.enabled=true
  --set metrics.tls.certManager.issuerRef.kind=ClusterIssuer --set metrics.tls.certManager.issuerRef.name=wva-ca
  --set metrics.auth.enabled=true --set metrics.auth.cacheTTL=30s
  --set 'metrics.auth.readers[0].kind=ServiceAccount' --set 'metrics.auth.readers[0].name=prometheus-k8s'
  --set 'metrics.auth.readers[0].namespace=monitoring' --set serviceMonitor.enabled=true)
render "${secure[@]}" >"$tmp/secure.yaml" || fail "helm template (secure)"
existing=(--set metrics.tls.enabled=true --set metrics.tls.secretName=my-metrics-tls --set metrics.auth.enabled=true
  --set serviceMonitor.enabled=true --set serviceMonitor.tlsConfig.insecureSkipVerify=true
  --set serviceMonitor.authorization.type=Bearer --set serviceMonitor.authorization.credentials.name=prom-token
  --set serviceMonitor.authorization.credentials.key=token)
render "${existing[@]}" >"$tmp/existing.yaml" || fail "helm template (existing Secret)"
if err="$(render --set metrics.tls.enabled=true --set metrics.tls.certManager.enabled=true 2>&1)"; then
  fail "cert-manager without an issuer rendered"
fi
grep -q 'issuerRef' <<<"$err" || fail "cert-manager without an issuer: unexpected error: $err"
for v in secure existing; do
  out="$("$helm" lint "$chart" $( [ "$v" = secure ] && echo "${secure[@]}" || echo "${existing[@]}") 2>&1)" ||
    { echo "$out" >&2; fail "helm lint ($v)"; }
done
echo "ok: helm template / lint"

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
for r in secure existing; do
  KUBECONFIG="$tmp/kubeconfig" "$kubectl" apply --dry-run=client --validate=false -o json -f "$tmp/$r.yaml" \
    >"$tmp/$r.json" 2>"$tmp/$r.err" || { cat "$tmp/$r.err" >&2; fail "kubectl apply --dry-run=client ($r)"; }
done
echo "ok: kubectl apply --dry-run=client"

python3 - "$tmp" "$release" "$ns" <<'PY'
import json, re, sys
tmp, release, ns = sys.argv[1:4]

def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)

def load(name):
    doc = json.load(open(f"{tmp}/{name}.json"))
    items = doc["items"] if doc.get("kind") == "List" else [doc]
    return {(o["kind"], o["metadata"]["name"]): o for o in items}

def metrics_sink(objs):
    cm = objs[("ConfigMap", "wva-pipelines")]["data"]["pipelines.yaml"]
    m = re.search(r"^ *metrics: (\{.*\})$", cm, re.M)
    if not m:
        fail("no metrics sink line in pipelines.yaml:\n" + cm)
    return json.loads(m.group(1))

def pod(objs):
    return objs[("Deployment", f"{release}-controller-manager")]["spec"]["template"]["spec"]

def mounted_secret(objs, folder):
    spec = pod(objs)
    [container] = [c for c in spec["containers"] if c["name"] == "manager"] or spec["containers"][:1]
    mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
    if folder not in mounts:
        fail(f"{folder} is not mounted: {sorted(mounts)}")
    if "subPath" in mounts[folder]:
        fail("the TLS Secret is mounted with subPath: kubelet would never update the files")
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    return volumes[mounts[folder]["name"]]["secret"]["secretName"]

def endpoint(objs):
    [ep] = objs[("ServiceMonitor", f"{release}-metrics-monitor")]["spec"]["endpoints"]
    return ep

for name in ("secure", "existing"):
    objs = load(name)
    sink = metrics_sink(objs)
    tls, auth = sink.get("tls"), sink.get("auth")
    if not tls or not auth or auth.get("mode") != "tokenReview":
        fail(f"{name}: sink {sink}")
    folder = tls["certFile"].rsplit("/", 1)[0]
    if tls["keyFile"] != f"{folder}/tls.key" or tls["certFile"] != f"{folder}/tls.crt":
        fail(f"{name}: cert/key not tls.crt/tls.key of one folder: {tls}")
    secret = mounted_secret(objs, folder)
    svc = objs[("Service", f"{release}-metrics")]
    ep = endpoint(objs)
    if ep["scheme"] != "https" or ep["port"] not in [p["name"] for p in svc["spec"]["ports"]]:
        fail(f"{name}: endpoint {ep}")
    role = objs[("ClusterRole", f"{release}-manager-role")]["rules"]
    reviews = [r for r in role if set(r.get("apiGroups", [])) & {"authentication.k8s.io", "authorization.k8s.io"}]
    want = [{"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
            {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]}]
    if reviews != want:
        fail(f"{name}: review rules {reviews}")
    reader = objs[("ClusterRole", f"{release}-metrics-reader")]["rules"]
    if reader != [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]:
        fail(f"{name}: metrics-reader {reader}")
    if name == "secure":
        if auth.get("cacheTTL") != "30s":
            fail(f"secure: cacheTTL {auth}")
        cert = objs[("Certificate", f"{release}-metrics-cert")]["spec"]
        if cert["secretName"] != secret:
            fail(f"secure: Certificate writes {cert['secretName']}, the pod mounts {secret}")
        if cert["issuerRef"] != {"name": "wva-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}:
            fail(f"secure: issuerRef {cert['issuerRef']}")
        server_name = ep["tlsConfig"]["serverName"]
        if server_name != f"{svc['metadata']['name']}.{ns}.svc" or server_name not in cert["dnsNames"]:
            fail(f"secure: serverName {server_name}, dnsNames {cert['dnsNames']}")
        if ep["tlsConfig"]["ca"] != {"secret": {"name": secret, "key": "ca.crt"}}:
            fail(f"secure: tlsConfig {ep['tlsConfig']}")
        if ep.get("bearerTokenFile") != "/var/run/secrets/kubernetes.io/serviceaccount/token":
            fail(f"secure: no bearer token: {ep}")
        binding = objs[("ClusterRoleBinding", f"{release}-metrics-reader")]
        if binding["roleRef"]["name"] != f"{release}-metrics-reader" or binding["subjects"] != [
                {"kind": "ServiceAccount", "name": "prometheus-k8s", "namespace": "monitoring"}]:
            fail(f"secure: binding {binding}")
    else:
        if any(k == "Certificate" for k, _ in objs):
            fail("existing: a Certificate renders without certManager.enabled")
        if secret != "my-metrics-tls":
            fail(f"existing: mounts {secret}")
        if ep["tlsConfig"] != {"insecureSkipVerify": True} or "bearerTokenFile" in ep or \
                ep["authorization"] != {"type": "Bearer", "credentials": {"name": "prom-token", "key": "token"}}:
            fail(f"existing: endpoint {ep}")
        if any(k == "ClusterRoleBinding" and n.endswith("metrics-reader") for k, n in objs):
            fail("existing: a metrics-reader binding without readers")
print("ok: the sink, the mount, the Certificate, the ServiceMonitor and RBAC agree")
PY

# wva validate --local on the rendered ConfigMaps: the metrics sink accepts its tls/auth settings.
for r in secure existing; do
  dir="$tmp/validate-$r"
  mkdir -p "$dir"
  render "${secure[@]}" --show-only templates/configmaps.yaml >"$dir/configmaps.yaml"
  [ "$r" = existing ] && render "${existing[@]}" --show-only templates/configmaps.yaml >"$dir/configmaps.yaml"
  POD_NAMESPACE="$ns" "$wva" validate --local "$dir" >"$dir.out" 2>&1 || { cat "$dir.out" >&2; fail "wva validate --local ($r)"; }
done
# ... and the check is real: a bad reload interval is refused with its path.
dir="$tmp/validate-broken"
mkdir -p "$dir"
render "${secure[@]}" --set metrics.tls.reloadInterval=soon --show-only templates/configmaps.yaml >"$dir/configmaps.yaml"
if POD_NAMESPACE="$ns" "$wva" validate --local "$dir" >"$dir.out" 2>&1; then fail "wva validate accepted reloadInterval=soon"; fi
grep -q 'sinks.metrics.tls.reloadInterval' "$dir.out" || { cat "$dir.out" >&2; fail "no path sinks.metrics.tls.reloadInterval"; }
echo "ok: wva validate"
echo "PASS"
