#!/usr/bin/env bash
# deploy-kind.sh [--delete]: `make deploy-llm-d-wva-emulated-on-kind`. A kind cluster with emulated vLLM
# pods (wva-emulator, no GPU), a Prometheus that scrapes them, and WVA from the chart:
#   1. checks that kind, docker, helm and kubectl are on PATH (names every missing one, exit 1);
#   2. creates the kind cluster $KIND_CLUSTER (default wva) unless it exists;
#   3. builds the image $IMAGE with the Containerfile (unless WVA_SKIP_IMAGE=1) and loads it into kind;
#   4. applies deploy/kind/manifests/00-namespaces.yaml and 10-prometheus.yaml, then the CRDs, then installs
#      the chart with deploy/kind/values.yaml (the rendering tests/make checks), then the emulated
#      variants and their VariantAutoscaling (20-emulated-vllm.yaml).
# --delete deletes the kind cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

cluster=${KIND_CLUSTER:-wva}
image=${IMAGE:-ghcr.io/llm-d/workload-variant-autoscaler:dev}
release=workload-variant-autoscaler
ns=workload-variant-autoscaler-system

missing=()
for tool in kind docker helm kubectl; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
  {
    echo "deploy-kind: missing on PATH: ${missing[*]}"
    for tool in "${missing[@]}"; do
      case "$tool" in
        kind) echo "  kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation (or: go install sigs.k8s.io/kind@latest)" ;;
        docker) echo "  docker: Docker Engine 17.03+ (https://docs.docker.com/engine/install/), running" ;;
        helm) echo "  helm: bash scripts/install-k8s-tool.sh helm (puts helm 3 in .cache/bin; add it to PATH)" ;;
        kubectl) echo "  kubectl: bash scripts/install-k8s-tool.sh kubectl (puts kubectl in .cache/bin; add it to PATH)" ;;
      esac
    done
  } >&2
  exit 1
fi

if [ "${1:-}" = "--delete" ]; then
  kind delete cluster --name "$cluster"
  exit 0
fi

docker info >/dev/null 2>&1 || { echo "deploy-kind: docker is installed but its daemon does not answer (docker info failed)" >&2; exit 1; }

if ! kind get clusters 2>/dev/null | grep -qx "$cluster"; then
  kind create cluster --name "$cluster" --wait 120s
fi
kubectl config use-context "kind-$cluster" >/dev/null

if [ "${WVA_SKIP_IMAGE:-}" != "1" ]; then
  docker build -f Containerfile -t "$image" .
fi
kind load docker-image "$image" --name "$cluster"

repo_tag="${image%:*}"
tag="${image##*:}"
kubectl apply -f deploy/kind/manifests/00-namespaces.yaml -f deploy/kind/manifests/10-prometheus.yaml
kubectl apply -f charts/workload-variant-autoscaler/crds/
helm upgrade -i "$release" ./charts/workload-variant-autoscaler --namespace "$ns" --create-namespace \
  -f deploy/kind/values.yaml --set image.repository="$repo_tag" --set image.tag="$tag" --wait --timeout 5m
sed "s|ghcr.io/llm-d/workload-variant-autoscaler:dev|$image|" deploy/kind/manifests/20-emulated-vllm.yaml | kubectl apply -f -
kubectl -n wva-monitoring rollout status deployment/prometheus --timeout=180s
kubectl -n llm rollout status deployment/llama-8b-h100 --timeout=180s
kubectl -n llm rollout status deployment/llama-8b-h200 --timeout=180s

cat <<MSG
deploy-kind: ready (cluster kind-$cluster)
  kubectl get variantautoscaling -n llm
  kubectl logs -n $ns deployment/$release-controller-manager
  kubectl -n wva-monitoring port-forward svc/prometheus 9090   # then query inferno_desired_replicas
Load the model (requests to the emulated pods):
  kubectl -n llm run load --image=curlimages/curl --restart=Never -- sh -c \\
    'while true; do curl -s http://llama-8b:8000/v1/completions -H "Content-Type: application/json" \\
       -d "{\"model\":\"meta/llama-3.1-8b\",\"prompt\":\"hello\",\"max_tokens\":400}" >/dev/null & sleep 0.05; done'
Delete it all: make undeploy-llm-d-wva-emulated-on-kind
MSG
