#!/usr/bin/env bash
# Builds the local control-plane binaries (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, etcd, helm, kwok) from their Go modules at the versions pinned in
# hack/tools/*/go.mod, into a cache keyed by those pins. A second run finds them and builds nothing.
#
# Why from source: there is no package for kube-apiserver or helm here and no Docker engine, but
# the Go module proxy serves every one of these modules.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/lib.sh
source "$here/lib.sh"

# pinned MODULE_DIR MODULE: the version a tool module's go.mod requires.
pinned() {
  awk -v module="$2" '$1 == "require" { $1 = "" ; $0 = $0 } $1 == module { print $2; exit }' \
    "$here/tools/$1/go.mod"
}
K8S_VERSION=$(pinned kubernetes k8s.io/kubernetes)
HELM_VERSION=$(pinned helm helm.sh/helm/v3)
KWOK_VERSION=$(pinned kwok sigs.k8s.io/kwok)
ETCD_VERSION=$(pinned etcd go.etcd.io/etcd/server/v3)
for version in "$K8S_VERSION" "$HELM_VERSION" "$KWOK_VERSION" "$ETCD_VERSION"; do
  [[ "$version" == v* ]] || die "could not read a pinned version from hack/tools/*/go.mod"
done

bin_dir=$(tools_bin_dir)
mkdir -p "$bin_dir"

# build MODULE_DIR OUTPUT PACKAGE [LDFLAGS]
build() {
  local module=$1 out=$2 pkg=$3 ldflags=${4:-}
  if [[ -x "$bin_dir/$out" ]]; then
    return 0
  fi
  step "building $out from $pkg"
  (cd "$here/tools/$module" &&
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$bin_dir/$out.tmp" "$pkg")
  mv "$bin_dir/$out.tmp" "$bin_dir/$out"
  done_step
}

major=${K8S_VERSION#v}; major=${major%%.*}
minor=${K8S_VERSION#v*.}; minor=${minor%%.*}
k8s_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

build kubernetes kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$k8s_ldflags"
build kubernetes kubectl k8s.io/kubernetes/cmd/kubectl "$k8s_ldflags"
build kubernetes kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager "$k8s_ldflags"
build kubernetes kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler "$k8s_ldflags"
build etcd etcd go.etcd.io/etcd/server/v3 "-X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION"
helm_ldflags="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  helm_ldflags+=" -X $pkg.k8sVersionMajor=$major -X $pkg.k8sVersionMinor=$minor"
done
build helm helm helm.sh/helm/v3/cmd/helm "$helm_ldflags"
build kwok kwok sigs.k8s.io/kwok/cmd/kwok "-X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}"

echo "$bin_dir"
