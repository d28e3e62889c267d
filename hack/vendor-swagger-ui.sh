#!/usr/bin/env bash
# Refreshes the copy of Swagger UI that `/docs` serves (api/ui/vendor/swagger-ui/) from npm, at
# the pinned version, checked against the pinned digest of its package. Served from the API
# itself, the page works without internet access and under a Content-Security-Policy that lets
# no other origin run script beside the dashboard's token.
#
#   hack/vendor-swagger-ui.sh            (needs npm; to upgrade, change both pins below)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/lib.sh
source "$here/lib.sh"

VERSION=5.35.0
SHA512=534eaba4cb56f55dd73c638179a993512af4674f63317e0826e00da44fc465b021c341bc0a0c2bcd4e18997927fe1d3008336c5dd19aad334d1c2dec53cc9551
target=$REPO_ROOT/api/ui/vendor/swagger-ui
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step "fetching swagger-ui-dist $VERSION from npm"
(cd "$work" && npm pack --silent "swagger-ui-dist@$VERSION" >/dev/null)
tarball=$work/swagger-ui-dist-$VERSION.tgz
[[ "$(sha512sum "$tarball" | cut -d" " -f1)" == "$SHA512" ]] ||
  die "swagger-ui-dist-$VERSION.tgz does not have the pinned digest"
tar -xzf "$tarball" -C "$work"
mkdir -p "$target"
for file in swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE; do
  cp "$work/package/$file" "$target/$file"
done
echo "$VERSION" >"$target/VERSION"
done_step
