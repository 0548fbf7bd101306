#!/usr/bin/env bash
# Runs the whole suite. pytest exits 5 when it collected no tests: that is a
# failure here, never a pass, so a broken collection cannot turn CI green.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest -q -p no:cacheprovider "$@" tests
rc=$?
if [[ $rc -eq 5 ]]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit $rc
