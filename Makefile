# The two commands: `make up` and `make test`. Everything else is a step of one of them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
# Never let the working directory shadow the standard library: the operator's folder is named
# `operator/`, like the stdlib module loaded at start-up.
export PYTHONSAFEPATH := 1

.PHONY: help
help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: setup
setup: ## Install Debian packages, the Python environment and the control-plane binaries
	@hack/setup.sh

.PHONY: up
up: setup ## Start everything locally: control plane, Redis, CRDs, operator, API on :5002
	@hack/up.sh

.PHONY: down
down: ## Stop everything `make up` started
	@hack/down.sh

.PHONY: cluster-up
cluster-up: setup ## Start only the local Kubernetes control plane
	@hack/cluster-up.sh

.PHONY: cluster-down
cluster-down: ## Stop the local Kubernetes control plane
	@hack/cluster-down.sh

.PHONY: lint
lint: ## ruff, ruff format --check, mypy --strict, import-linter contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	# Our packages by import name (their folders are mapped), then tests, benchmarks and the image's
	# scripts by path.
	$(BIN)/mypy $(addprefix -p simplismart.,scheduler crds operator api)
	$(BIN)/mypy tests bench docker --exclude tests/support
	$(BIN)/lint-imports

.PHONY: fmt
fmt: ## Format and autofix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

.PHONY: test
test: setup lint ## Set up, lint, then run every test tier (unit, integration, e2e)
	$(BIN)/pytest

.PHONY: bench
bench: setup ## Benchmarks: scheduler, operator, API; prints tables
	@hack/bench.sh

.PHONY: image
image: setup ## Build the image with buildah from a local Debian base (no Docker, no registry)
	@hack/image.sh

.PHONY: kind-up
kind-up: ## On a machine with Docker: a kind cluster with the image loaded (see docs/deploy.md)
	@hack/kind-up.sh

.PHONY: helm-install
helm-install: ## Install the chart into the cluster in $$KUBECONFIG
	@hack/helm-install.sh
