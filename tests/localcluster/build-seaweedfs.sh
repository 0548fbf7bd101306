#!/usr/bin/env bash
# Builds SeaweedFS's `weed` (Apache-2.0) from its Go module into the cache. Two users:
# the tests' store that enforces STS session policies (sts_store.py; moto does not),
# so bootstrap builds it, and `BENCH_S3=seaweedfs make bench`: an S3 gateway
# operators really run, written in Go, instead of moto competing for the same cores.
# Its go.mod has replace directives, so it cannot be `go install`ed: a consumer
# module copies them (derived from the module's own go.mod).
set -euo pipefail
SEAWEEDFS_VERSION="${SEAWEEDFS_VERSION:-v0.0.0-20261109003541-7506e5f91cd6}"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
cache_root="${TENANT_EXIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tenant-exit}"
bin_dir="$cache_root/bin/seaweedfs-$SEAWEEDFS_VERSION"
if [[ -x "$bin_dir/weed" ]]; then echo "$bin_dir/weed"; exit 0; fi
# One build at a time per cache: parallel test sessions wait for the first.
mkdir -p "$cache_root"
exec 9>"$cache_root/build-seaweedfs.lock"
flock 9
if [[ -x "$bin_dir/weed" ]]; then echo "$bin_dir/weed"; exit 0; fi
mod="$cache_root/build/seaweedfs-$SEAWEEDFS_VERSION"
mkdir -p "$mod" "$bin_dir"
gomod="$(go mod download -json "github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')"
{
  echo "module localbench/seaweedfs"
  echo
  grep -m1 '^go ' "$gomod"
  echo
  echo "require github.com/seaweedfs/seaweedfs $SEAWEEDFS_VERSION"
  echo
  grep '^replace ' "$gomod" || true
} > "$mod/go.mod"
echo "building weed $SEAWEEDFS_VERSION (several minutes)" >&2
(cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$bin_dir/weed.tmp" \
  github.com/seaweedfs/seaweedfs/weed)
mv "$bin_dir/weed.tmp" "$bin_dir/weed"
echo "$bin_dir/weed"
