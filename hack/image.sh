#!/usr/bin/env bash
# `make image`: builds the repository's Dockerfile with buildah, without a Docker engine or an
# image registry: the bases are the local Debian bookworm images of hack/image-base.sh, passed as
# PYTHON_IMAGE and RUNTIME_IMAGE. Prints the image size, and the image's name on its last line.
#
# Skipped when the image in buildah's store was built from the same inputs (a hash of everything
# the build reads, kept as an image label). Needs root: buildah's chroot isolation and debootstrap.
# SIMPLISMART_IMAGE names the image (simplismart:dev).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/lib.sh
source "$here/lib.sh"

image=${SIMPLISMART_IMAGE:-simplismart:dev}
INPUTS_LABEL=io.simplismart.build-inputs

((EUID == 0)) || die "make image needs root (buildah --isolation chroot, debootstrap)"
command -v buildah >/dev/null || die "buildah is not installed: run make setup"

bases=$("$here/image-base.sh" | tail -n 1)
read -r base runtime_base <<<"$bases"

# Everything the build reads: the Dockerfile, what its COPY instructions take from the context
# (less what .dockerignore drops from these folders), this script and the base image.
inputs=$(
  cd "$REPO_ROOT"
  {
    find Dockerfile .dockerignore pyproject.toml uv.lock README.md docker scheduler crds operator api \
      -type f ! -path '*/__pycache__/*' ! -name '*.py[cod]' -print0 |
      sort -z | xargs -0 sha256sum
    sha256sum <"$here/image.sh"
    echo "$base $runtime_base"
  } | sha256sum | cut -c1-16
)

built=$(buildah inspect --type image --format "{{index .OCIv1.Config.Labels \"$INPUTS_LABEL\"}}" \
  "$image" 2>/dev/null || true)
if [[ "$built" == "$inputs" ]]; then
  echo "==> $image is up to date (inputs $inputs)" >&2
else
  previous=$(buildah inspect --type image --format '{{.FromImageID}}' "$image" 2>/dev/null || true)
  # The build's pip and uv verify the package index against the host's certificate store, so a
  # TLS-inspecting proxy that the host trusts is trusted during the build too (nothing of it is
  # kept in the image: a RUN-time mount).
  certificates=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
  trust=()
  [[ -s "$certificates" ]] && trust=(--volume "$certificates:/etc/ssl/certs/ca-certificates.crt:ro")
  step "building $image from $base (inputs $inputs)"
  # --format docker keeps the HEALTHCHECK (the OCI image format has no field for it); --layers
  # reuses the dependency layer while uv.lock is unchanged.
  buildah bud --isolation chroot --format docker --layers --force-rm --pull=never \
    --build-arg "PYTHON_IMAGE=$base" --build-arg "RUNTIME_IMAGE=$runtime_base" \
    --label "$INPUTS_LABEL=$inputs" "${trust[@]}" \
    --tag "$image" "$REPO_ROOT" >&2
  done_step
  # The image this build replaced, unless something else still uses it.
  if [[ -n "$previous" ]]; then
    current=$(buildah inspect --type image --format '{{.FromImageID}}' "$image")
    [[ "$previous" == "$current" ]] || buildah rmi "$previous" >/dev/null 2>&1 || true
  fi
fi

size=$(buildah images --format '{{.Size}}' "$image" | head -n 1)
echo "==> $image: $size" >&2
echo "$image"
