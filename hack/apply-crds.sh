#!/usr/bin/env bash
# Applies the project's CRDs to a cluster and waits until the API server serves them.
#   hack/apply-crds.sh [KUBECONFIG]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/lib.sh
source "$here/lib.sh"
kubectl=$(tools_bin_dir)/kubectl
config=${1:-${KUBECONFIG:-$STATE_DIR/cluster/kubeconfig}}
step "applying CRDs from crds/"
"$kubectl" --kubeconfig="$config" apply --server-side --force-conflicts -f "$REPO_ROOT/crds/" >/dev/null
"$kubectl" --kubeconfig="$config" wait --for=condition=Established --timeout=60s \
  crd/clusters.simplismart.io crd/deployments.simplismart.io >/dev/null
# Established does not mean served: for a moment after it a LIST answers 429 "storage is
# (re)initializing", which a watch started then (the operator's) logs as an error.
served() {
  "$kubectl" --kubeconfig="$config" get clusters.simplismart.io,deployments.simplismart.io \
    --all-namespaces --request-timeout=5s >/dev/null 2>&1
}
for _ in $(seq 60); do
  served && break
  sleep 0.5
done
served || die "the API server does not serve the CRDs 30 s after they were Established: $("$kubectl" --kubeconfig="$config" get clusters.simplismart.io --all-namespaces --request-timeout=5s 2>&1 | tail -n 1)"
done_step
echo "$config"
