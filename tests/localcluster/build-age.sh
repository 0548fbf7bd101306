#!/usr/bin/env bash
# Builds `age` and `age-keygen` from the Go module filippo.io/age into a
# version-keyed directory of the shared binary cache, and prints that directory.
# Debian bookworm's age (1.1.1) lacks the hybrid post-quantum recipients
# (ML-KEM-768 + X25519, `age1pq1...`, `age-keygen -pq`) that age 1.3 added.
# Same cache, lock and pinning as build-binaries.sh; skips when built.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

cache_root="${TENANT_EXIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tenant-exit}"
bin_dir="$cache_root/bin/age-${AGE_VERSION}"

mkdir -p "$cache_root"
if [[ ! -x "$bin_dir/age" || ! -x "$bin_dir/age-keygen" ]]; then
  exec 9>"$cache_root/build.lock"
  flock 9
  if [[ ! -x "$bin_dir/age" || ! -x "$bin_dir/age-keygen" ]]; then
    mkdir -p "$bin_dir.tmp"
    echo "building age $AGE_VERSION" >&2
    # `go install mod@version` records the module version in the binary, which
    # `age --version` prints; -trimpath keeps build paths out of it.
    GOBIN="$bin_dir.tmp" go install -trimpath -ldflags "-s -w" \
      "filippo.io/age/cmd/age@$AGE_VERSION" "filippo.io/age/cmd/age-keygen@$AGE_VERSION"
    rm -rf "$bin_dir"
    mv "$bin_dir.tmp" "$bin_dir"
  fi
fi
echo "$bin_dir"
