# The two commands that matter: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PY := .venv/bin/python
export GOTOOLCHAIN := local

.PHONY: bootstrap test lint unit demo cluster-up cluster-down bench crd

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
	# One file per resource; each is copied into the chart (Helm installs its crds/).
	for f in $$(.venv/bin/tenant-exit crd --out-dir crds); do \
	  cp "$$f" charts/tenant-exit-operator/crds/; done
	.venv/bin/tenant-exit crd --guard-policy > crds/namespace-guard-policy.yaml
	$(PY) -m tests.support.chart_guard

demo: bootstrap
	$(PY) -m tests.localcluster.demo

cluster-up: bootstrap
	$(PY) -m tests.localcluster.stack up

cluster-down:
	$(PY) -m tests.localcluster.stack down

bench: bootstrap
	$(PY) -m bench.run
