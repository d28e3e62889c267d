#!/usr/bin/env bash
# Everything `make up` and `make test` need on a fresh machine: Debian packages (redis-server,
# PostgreSQL for the database tests, buildah and debootstrap for the image), a pinned uv, the locked Python environment in .venv, and the
# control-plane binaries. Each step is skipped when already done.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/lib.sh
source "$here/lib.sh"

UV_VERSION=0.13.9
# buildah and debootstrap build the image; chromium and chromium-driver: the dashboard's tests
# and benchmark drive the system browser.
apt_packages=(redis-server redis-tools postgresql buildah debootstrap chromium chromium-driver)

missing=()
for package in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  step "installing Debian packages: ${missing[*]}"
  sudo_if_needed=()
  ((EUID == 0)) || sudo_if_needed=(sudo)
  "${sudo_if_needed[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_if_needed[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The packaged services are not ours to run: tests and `make up` start their own on free ports.
  "${sudo_if_needed[@]}" service redis-server stop >/dev/null 2>&1 || true
  "${sudo_if_needed[@]}" service postgresql stop >/dev/null 2>&1 || true
  done_step
fi

uv=$CACHE_DIR/uv-$UV_VERSION/bin/uv
if [[ ! -x "$uv" ]]; then
  step "installing uv $UV_VERSION"
  python3 -m venv "$CACHE_DIR/uv-$UV_VERSION"
  "$CACHE_DIR/uv-$UV_VERSION/bin/pip" install --quiet "uv==$UV_VERSION"
  done_step
fi

step "syncing the Python environment (.venv) from uv.lock"
(cd "$REPO_ROOT" && UV_PYTHON_DOWNLOADS=never "$uv" sync --frozen --quiet --python python3.11)
done_step

"$here/build-tools.sh" >/dev/null
