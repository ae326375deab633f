#!/usr/bin/env python3
"""Writes a local-mode folder of N models x 3 Deployments (4 replicas each) with their VariantAutoscalings,
the accelerator-unitcost ConfigMap and a pipelines.yaml (emulator metrics for the first 100 models,
saturation, status sink), for timing `wva validate --local DIR` and `wva run --local DIR --once`.

    python3 tests/bench/local_fleet.py 10000 /tmp/fleet
"""
import os
import sys


def main() -> None:
    models, out = int(sys.argv[1]), sys.argv[2]
    os.makedirs(out, exist_ok=True)
    system = "workload-variant-autoscaler-system"
    fixed = ["sources:", "  emulator:", "    fixedMetrics:"]
    f = None
    for m in range(models):
        if m % 1000 == 0:  # one file per 1,000 models: each stays well under the 16 MiB file limit
            if f:
                f.close()
            f = open(os.path.join(out, f"fleet-{m // 1000:03d}.yaml"), "w")
        label = f"org.model-{m}"
        f.write(f"""---
apiVersion: llmd.ai/v1alpha1
kind: VariantAutoscaling
metadata:
  name: va-{m}
  namespace: bench
spec:
  modelID: org/model-{m}
  minReplicas: 1
  maxReplicas: 10
""")
        for v in range(3):
            name = f"model-{m}-v{v}"
            f.write(f"""---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: bench
  labels:
    llmd.ai/model: {label}
spec:
  replicas: 4
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
        llmd.ai/model: {label}
    spec:
      nodeSelector:
        nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.8.5
          resources:
            limits:
              nvidia.com/gpu: "1"
status:
  replicas: 4
  readyReplicas: 4
""")
            if m < 100:
                fixed.append(f"      {name}:")
                fixed.extend(["        - {kvCacheUsage: 0.5, waiting: 1, running: 10}"] * 4)
    f.close()
    fixed += ["analyzers:", "  saturation: {}", "sinks:", "  status: {}", "pipelines:", "  default:",
              "    selector: {}", "    interval: 60s", "    source: emulator", "    analyzers: [saturation]",
              "    sinks: [status]"]
    pipelines = "\n".join("    " + line for line in fixed)
    with open(os.path.join(out, "config.yaml"), "w") as f:
        f.write(f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: wva-pipelines
  namespace: {system}
data:
  pipelines.yaml: |
{pipelines}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: accelerator-unitcost
  namespace: {system}
data:
  costs: |
    H100: 50.0
""")


if __name__ == "__main__":
    main()
