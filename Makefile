# The two commands that matter: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PY := .venv/bin/python
export GOTOOLCHAIN := local

.PHONY: bootstrap test lint unit demo cluster-up cluster-down bench bench-operator crd

bootstrap:
	scripts/bootstrap.sh

lint: bootstrap
	.venv/bin/ruff check operator tests bench
	.venv/bin/mypy
	.venv/bin/lint-imports

test: bootstrap lint
	scripts/run-tests.sh

unit: bootstrap
	$(PY) -m pytest -q tests/unit

crd: bootstrap
	.venv/bin/tenant-exit crd > crds/tenantexit.io_tenantexits.yaml
	.venv/bin/tenant-exit crd --guard-policy > crds/namespace-guard-policy.yaml
	cp crds/tenantexit.io_tenantexits.yaml charts/tenant-exit-operator/crds/
	$(PY) -m tests.support.chart_guard

demo: bootstrap
	$(PY) -m tests.localcluster.demo

cluster-up: bootstrap
	$(PY) -m tests.localcluster.stack up

cluster-down:
	$(PY) -m tests.localcluster.stack down

bench: bootstrap
	$(PY) -m bench.run

# N TenantExits held on the local control plane, the operator restarted:
# BENCH_EXITS=1000 make bench-operator for the goal (default 100).
bench-operator: bootstrap
	$(PY) -m bench.operator_scale
