#!/usr/bin/env bash
# Installs everything `make test` and `make demo` need on a fresh Debian machine:
# Debian packages, a virtualenv with the project and its test tools, and the
# Kubernetes/etcd/helm binaries built from their Go modules into a cache
# outside the repository, and Oracle MySQL unpacked from Debian sid into the
# same cache (tests/localcluster/provision-mysql.sh). Safe to run again: every
# step skips what is present.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

apt_packages=(mariadb-server mariadb-client zstd age tar graphviz)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  echo "installing Debian packages: ${missing[*]}" >&2
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The packaged service is not ours to run: the harness starts private instances.
  if command -v systemctl >/dev/null 2>&1; then "${sudo_cmd[@]}" systemctl disable --now mariadb >/dev/null 2>&1 || true; fi
fi

if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [[ ! -f "$stamp" ]]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".[test]"
  touch "$stamp"
fi

tests/localcluster/build-binaries.sh >/dev/null
tests/localcluster/provision-mysql.sh >/dev/null
tests/localcluster/build-age.sh >/dev/null
# The store that enforces STS session policies (tests/localcluster/sts_store.py).
tests/localcluster/build-seaweedfs.sh >/dev/null
