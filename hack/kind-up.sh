#!/usr/bin/env bash
# `make kind-up`, on a machine with a Docker engine: a kind cluster with the Simplismart image
# built from the Dockerfile and loaded into it. Then `make helm-install` installs the chart:
#
#   make kind-up && export KUBECONFIG=.state/kind/kubeconfig && make helm-install
#
# kind itself is built from its Go module at the pinned version below into the tool cache, like
# the other control-plane tools (hack/build-tools.sh); there is no kind package here.
# Environment: SIMPLISMART_KIND_CLUSTER (simplismart), SIMPLISMART_IMAGE (simplismart:dev).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/lib.sh
source "$here/lib.sh"

KIND_VERSION=v0.33.0
cluster=${SIMPLISMART_KIND_CLUSTER:-simplismart}
image=${SIMPLISMART_IMAGE:-simplismart:dev}
kubeconfig=$STATE_DIR/kind/kubeconfig

command -v docker >/dev/null || die "docker is not installed: kind runs its nodes as Docker containers"
docker info >/dev/null 2>&1 ||
  die "no Docker engine answers (docker info failed): kind needs one; without Docker use make up"

kind=$CACHE_DIR/kind-$KIND_VERSION/kind
if [[ ! -x "$kind" ]]; then
  step "building kind $KIND_VERSION from its Go module"
  GOBIN=$(dirname "$kind") CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kind@$KIND_VERSION"
  done_step
fi

mkdir -p "$(dirname "$kubeconfig")"
if "$kind" get clusters 2>/dev/null | grep -qx "$cluster"; then
  echo "==> kind cluster $cluster already exists" >&2
  "$kind" get kubeconfig --name "$cluster" >"$kubeconfig"
else
  step "creating kind cluster $cluster"
  "$kind" create cluster --name "$cluster" --kubeconfig "$kubeconfig" --wait 120s
  done_step
fi

step "building the image $image"
docker build -t "$image" "$REPO_ROOT"
done_step

step "loading $image into kind cluster $cluster"
"$kind" load docker-image "$image" --name "$cluster"
done_step

cat >&2 <<SUMMARY

kind cluster "$cluster" is up with $image loaded. Next:
  export KUBECONFIG=$kubeconfig
  make helm-install
SUMMARY
echo "$kubeconfig"
