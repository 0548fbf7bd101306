# The two commands that matter: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PY := .venv/bin/python
export GOTOOLCHAIN := local

.PHONY: bootstrap test lint unit demo demo-extraction bench-extraction cluster-up cluster-down bench crd

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
	.venv/bin/tenant-exit crd --extraction crds/
	cp crds/tenantexit.io_datamodels.yaml crds/tenantexit.io_tenantextractions.yaml \
	  charts/tenant-exit-operator/crds/
	$(PY) -m tests.support.chart_guard

demo: bootstrap
	$(PY) -m tests.localcluster.demo

demo-extraction: bootstrap
	$(PY) -m tests.support.extraction_demo

cluster-up: bootstrap
	$(PY) -m tests.localcluster.stack up

cluster-down:
	$(PY) -m tests.localcluster.stack down

bench: bootstrap
	$(PY) -m bench.run

bench-extraction: bootstrap
	$(PY) -m bench.extraction
