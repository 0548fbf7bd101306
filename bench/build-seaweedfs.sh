#!/usr/bin/env bash
# The benchmark's SeaweedFS is the tests' (tests/localcluster/build-seaweedfs.sh).
exec "$(cd "$(dirname "$0")/.." && pwd)/tests/localcluster/build-seaweedfs.sh" "$@"
