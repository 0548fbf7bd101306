#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd
# and helm from their official Go modules into a version-keyed cache outside the
# repository. Skips everything when the cache already holds the binaries.
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces ~30 staging
# modules with ./staging/... paths. We generate a consumer module that requires
# it and replaces each staging module with its published v0.<minor>.<patch>,
# deriving the list from the kubernetes go.mod itself so a bump is one line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

cache_root="${TENANT_EXIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tenant-exit}"
bin_dir="$cache_root/bin/kube-${KUBE_VERSION}_etcd-${ETCD_VERSION}_helm-${HELM_VERSION}"
wanted=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd helm)

# One build at a time per cache: parallel test sessions wait for the first.
mkdir -p "$cache_root"
exec 9>"$cache_root/build.lock"
flock 9

missing=()
for b in "${wanted[@]}"; do [[ -x "$bin_dir/$b" ]] || missing+=("$b"); done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "$bin_dir"
  exit 0
fi

work="$cache_root/build"
mkdir -p "$bin_dir" "$work"

build_kube() {
  local mod="$work/kube-$KUBE_VERSION"
  mkdir -p "$mod"
  local kube_gomod
  kube_gomod="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')"
  local staging_version="v0.${KUBE_VERSION#v1.}"
  local go_line
  go_line="$(grep -m1 '^go ' "$kube_gomod")"
  {
    echo "module localcluster/kube"
    echo
    echo "$go_line"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "replace ("
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\t\1 => \1 '"$staging_version"'#p' "$kube_gomod"
    echo ")"
  } > "$mod/go.mod"
  local major="${KUBE_VERSION#v}"; major="${major%%.*}"
  local minor="${KUBE_VERSION#v*.}"; minor="${minor%%.*}"
  local ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    [[ -x "$bin_dir/$b" ]] && continue
    echo "building $b $KUBE_VERSION" >&2
    (cd "$mod" && go build -trimpath -ldflags "$ldflags" -o "$bin_dir/$b.tmp" "k8s.io/kubernetes/cmd/$b")
    mv "$bin_dir/$b.tmp" "$bin_dir/$b"
  done
}

build_etcd() {
  [[ -x "$bin_dir/etcd" ]] && return 0
  local mod="$work/etcd-$ETCD_VERSION"
  mkdir -p "$mod"
  printf 'module localcluster/etcd\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > "$mod/go.mod"
  # The whole of etcd's own main is this call.
  printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' > "$mod/main.go"
  echo "building etcd $ETCD_VERSION" >&2
  (cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$bin_dir/etcd.tmp" .)
  mv "$bin_dir/etcd.tmp" "$bin_dir/etcd"
}

build_helm() {
  [[ -x "$bin_dir/helm" ]] && return 0
  local mod="$work/helm-$HELM_VERSION"
  mkdir -p "$mod"
  printf 'module localcluster/helm\n\ngo 1.24\n\nrequire helm.sh/helm/v3 %s\n' "$HELM_VERSION" > "$mod/go.mod"
  echo "building helm $HELM_VERSION" >&2
  (cd "$mod" && go build -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" -o "$bin_dir/helm.tmp" helm.sh/helm/v3/cmd/helm)
  mv "$bin_dir/helm.tmp" "$bin_dir/helm"
}

build_kube
build_etcd
build_helm
echo "$bin_dir"
