# The two commands that matter: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PY := .venv/bin/python
export GOTOOLCHAIN := local

.PHONY: bootstrap test lint unit chaos demo cluster-up cluster-down bench bench-operator crd test-external-mysql demo-extraction bench-extraction

# `make demo DB=mysql` runs the exit on the Oracle MySQL server instead.
DB ?= mariadb

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

# The fault suite alone (docs/architecture.md): the operator SIGKILLed at random
# points of every phase, and the worker, the database and the store failing
# mid-stream. TENANT_EXIT_CHAOS_SEED=<seed> replays a run's choices. `make test`
# runs it too; `scripts/run-tests.sh -m "not chaos"` leaves it out.
chaos: bootstrap
	scripts/run-tests.sh -m chaos

crd: bootstrap
	# One file per resource; each is copied into the chart (Helm installs its crds/).
	for f in $$(.venv/bin/tenant-exit crd --out-dir crds); do \
	  cp "$$f" charts/tenant-exit-operator/crds/; done
	.venv/bin/tenant-exit crd --guard-policy > crds/namespace-guard-policy.yaml
	.venv/bin/tenant-exit crd --class-policy > crds/class-limits-policy.yaml
	$(PY) -m tests.support.chart_guard

demo: bootstrap
	$(PY) -m tests.localcluster.demo --db $(DB)

demo-extraction: bootstrap
	$(PY) -m tests.support.extraction_demo

cluster-up: bootstrap
	$(PY) -m tests.localcluster.stack up

# The MySQL-parametrized integration and e2e tests against a server of your own:
#   TENANT_EXIT_TEST_MYSQL_URL=mysql://user:pass@host:port make test-external-mysql
test-external-mysql: bootstrap
	@test -n "$$TENANT_EXIT_TEST_MYSQL_URL" || { echo "set TENANT_EXIT_TEST_MYSQL_URL=mysql://user:pass@host:port" >&2; exit 2; }
	TENANT_EXIT_TEST_DB_FAMILIES=mysql scripts/run-tests.sh -m mysql

cluster-down:
	$(PY) -m tests.localcluster.stack down

bench: bootstrap
	$(PY) -m bench.run

bench-extraction: bootstrap
	$(PY) -m bench.extraction

# N TenantExits held on the local control plane, the operator restarted:
# BENCH_EXITS=1000 make bench-operator for the goal (default 100).
bench-operator: bootstrap
	$(PY) -m bench.operator_scale
