#!/usr/bin/env bash
# Builds the bench's Go peers from their Go modules into the cache, pinned:
#   restic (BSD-2-Clause), the engine behind K8up: `build-peers.sh restic`
#   rclone (MIT), the upload stage of the shell pipeline: `build-peers.sh rclone`
#   awscli (Apache-2.0, from PyPI) into a bench-only venv: `build-peers.sh awscli`
#     (awscli 1.x pins botocore exactly, which would fight the project's boto3)
# Prints the binary's path. Neither has replace directives, so `go install
# module/cmd@version` builds exactly the released module. Not used by the tests.
# kopia (Velero's engine) and s5cmd would belong here too; the Go module proxy
# this project can reach refuses both (403 on `go list -m -versions`).
set -euo pipefail
RESTIC_VERSION="${RESTIC_VERSION:-v0.18.1}"
RCLONE_VERSION="${RCLONE_VERSION:-v1.71.2}"
AWSCLI_VERSION="${AWSCLI_VERSION:-1.46.3}"
export GOTOOLCHAIN=local CGO_ENABLED=0
cache_root="${TENANT_EXIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tenant-exit}"
if [[ "${1:-}" == awscli ]]; then
  venv="$cache_root/bench/awscli-$AWSCLI_VERSION"
  if [[ ! -x "$venv/bin/aws" ]]; then
    echo "installing awscli $AWSCLI_VERSION into a bench-only venv" >&2
    rm -rf "$venv.tmp"
    python3 -m venv "$venv.tmp"
    "$venv.tmp/bin/pip" install -q "awscli==$AWSCLI_VERSION" >&2
    mv "$venv.tmp" "$venv"
    # The venv was built under another name: fix the scripts' interpreter line.
    sed -i "1s|$venv.tmp|$venv|" "$venv"/bin/aws "$venv"/bin/pip*
  fi
  echo "$venv/bin/aws"; exit 0
fi
case "${1:?usage: build-peers.sh restic|rclone|awscli}" in
  restic) name=restic version="$RESTIC_VERSION" pkg=github.com/restic/restic/cmd/restic ;;
  rclone) name=rclone version="$RCLONE_VERSION" pkg=github.com/rclone/rclone ;;
  *) echo "unknown peer: $1" >&2; exit 2 ;;
esac
bin_dir="$cache_root/bin/$name-$version"
if [[ -x "$bin_dir/$name" ]]; then echo "$bin_dir/$name"; exit 0; fi
mkdir -p "$bin_dir"
tmp="$(mktemp -d "$bin_dir/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
echo "building $name $version (minutes)" >&2
GOBIN="$tmp" go install -trimpath -ldflags "-s -w" "$pkg@$version"
mv "$tmp/$name" "$bin_dir/$name"
echo "$bin_dir/$name"
