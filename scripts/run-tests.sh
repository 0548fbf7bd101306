#!/usr/bin/env bash
# Runs the whole suite. pytest exits 5 when it collected no tests: that is a
# failure here, never a pass, so a broken collection cannot turn CI green.
set -uo pipefail
cd "$(dirname "$0")/.."
# Most integration and e2e time is waiting (kopf timers, Jobs, pods, servers
# starting), not CPU: files run side by side in TENANT_EXIT_TEST_WORKERS processes
# (default 3), each with its own control plane and servers. A file stays in one
# process (--dist loadfile), so module fixtures are shared as written.
workers="${TENANT_EXIT_TEST_WORKERS:-3}"
.venv/bin/python -m pytest -q -p no:cacheprovider -n "$workers" --dist loadfile \
  --durations=25 "$@" tests
rc=$?
if [[ $rc -eq 5 ]]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit $rc
