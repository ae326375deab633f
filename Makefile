# The verbs of the product FAQ. Each target runs one of the repository's scripts; `make help` lists them.
SHELL := /bin/bash
BUILD_DIR ?= build
IMAGE ?= ghcr.io/llm-d/workload-variant-autoscaler:dev
CONTAINER_ENGINE ?= $(shell command -v podman >/dev/null 2>&1 && echo podman || echo docker)
KIND_CLUSTER ?= wva
DEMO_REPORT ?=

.PHONY: help build test demo image deploy-llm-d-wva-emulated-on-kind undeploy-llm-d-wva-emulated-on-kind

help:
	@echo "make build    build bin/wva, bin/wva-simulate, bin/wva-emulator and the plugins into $(BUILD_DIR) (scripts/build.sh)"
	@echo "make test     install what is missing, build, run every test (scripts/test.sh; ARGS=... go to ctest)"
	@echo "make demo     Prometheus, emulated vLLM pods with changing load, and wva run, on this machine (scripts/demo.sh; DEMO_REPORT=DIR: charts in DIR/report.html)"
	@echo "make image    the controller image from the Containerfile ($(CONTAINER_ENGINE); IMAGE=$(IMAGE))"
	@echo "make deploy-llm-d-wva-emulated-on-kind    a kind cluster with emulated vLLM, Prometheus and WVA (needs kind, docker, helm, kubectl)"
	@echo "make undeploy-llm-d-wva-emulated-on-kind  delete that kind cluster"

build:
	WVA_BUILD_DIR=$(BUILD_DIR) bash scripts/build.sh

test:
	WVA_BUILD_DIR=$(BUILD_DIR) bash scripts/test.sh $(ARGS)

demo:
	WVA_BUILD_DIR=$(BUILD_DIR) WVA_DEMO_REPORT=$(DEMO_REPORT) bash scripts/demo.sh

image:
	$(CONTAINER_ENGINE) build -f Containerfile -t $(IMAGE) .

deploy-llm-d-wva-emulated-on-kind:
	IMAGE=$(IMAGE) KIND_CLUSTER=$(KIND_CLUSTER) bash scripts/deploy-kind.sh

undeploy-llm-d-wva-emulated-on-kind:
	KIND_CLUSTER=$(KIND_CLUSTER) bash scripts/deploy-kind.sh --delete
