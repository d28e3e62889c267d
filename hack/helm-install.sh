#!/usr/bin/env bash
# `make helm-install`: installs (or upgrades) charts/simplismart into the cluster of $KUBECONFIG
# and waits until every pod is ready. After `make kind-up`, the image is already in the cluster.
#
#   hack/helm-install.sh [HELM ARGS...]      e.g. --set api.ingress.enabled=true, -f my-values.yaml
#
# Environment: SIMPLISMART_RELEASE (simplismart), SIMPLISMART_NAMESPACE (simplismart),
# SIMPLISMART_IMAGE (simplismart:dev), HELM (the pinned helm, else helm on PATH).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/lib.sh
source "$here/lib.sh"

release=${SIMPLISMART_RELEASE:-simplismart}
namespace=${SIMPLISMART_NAMESPACE:-simplismart}
image=${SIMPLISMART_IMAGE:-simplismart:dev}
helm=${HELM:-$(tools_bin_dir)/helm}
[[ -x "$helm" ]] || helm=$(command -v helm) || die "helm not found: run hack/build-tools.sh or install helm"
[[ -n "${KUBECONFIG:-}" || -f "$HOME/.kube/config" ]] ||
  die "no cluster: set KUBECONFIG (after make kind-up: export KUBECONFIG=$STATE_DIR/kind/kubeconfig)"

repository=${image%:*}
tag=${image##*:}
[[ "$repository" != "$image" ]] || tag=latest

# The image as a values file ahead of the caller's: a --set would beat the image their own
# values files name (Helm ranks every --set above every -f).
image_values=$(mktemp)
trap 'rm -f "$image_values"' EXIT
printf 'image:\n  repository: "%s"\n  tag: "%s"\n' "$repository" "$tag" >"$image_values"

step "installing release $release of charts/simplismart into namespace $namespace (image $repository:$tag unless your values say otherwise)"
# The chart's crds/ is a symlink to the repository's crds/: helm notes that it follows it.
"$helm" upgrade --install "$release" "$REPO_ROOT/charts/simplismart" \
  --namespace "$namespace" --create-namespace -f "$image_values" \
  --wait --timeout "${SIMPLISMART_HELM_TIMEOUT:-5m}" "$@" 2> >(grep -v 'found symbolic link in path' >&2)
done_step
