#!/usr/bin/env bash
# A local stand-in for python:3.11-slim-bookworm, for building the image where no image registry
# is reachable: a minimal Debian bookworm root made by debootstrap from the Debian mirror that apt
# already uses (bookworm's Python is 3.11, with venv as the Dockerfile needs), imported into
# buildah's image store. Prints two image names on its last line: that base, for the Dockerfile's
# build stage, and a runtime base for its last stage, which is the same root without what no
# process of the image runs: the package manager, perl, venv's wheels, file-system and disk tools
# (39 MB of 134; as in distroless images, nothing can be apt-installed into it).
#
# Made once: the root file system is cached as a tar archive under the tool cache, and the image
# is named after a hash of this script (its package list and slimming steps), so a change here
# makes a new one. Needs root (debootstrap, buildah). SIMPLISMART_DEBIAN_MIRROR overrides the
# mirror of the suite and its updates.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/lib.sh
source "$here/lib.sh"

SUITE=bookworm
# python3-venv: the Dockerfile's build stage installs uv with a virtual environment's pip;
# ca-certificates lets pip and uv verify the package index.
PACKAGES=python3,python3-venv,ca-certificates

((EUID == 0)) || die "building the base image needs root (debootstrap, buildah)"
# What the runtime base drops (with dpkg, so that their files go and nothing else): the package
# manager and what only it uses, perl, venv and its wheels (the build stage makes the virtual
# environment), file-system, mount and init tools, the openssl command (Python links libssl).
RUNTIME_DROPS=(
  apt libapt-pkg6.0 gpgv debian-archive-keyring libgnutls30 libhogweed6 libnettle8 libp11-kit0
  libtasn1-6 libidn2-0 libunistring2 libxxhash0 libseccomp2 libsystemd0 libgcrypt20
  libgpg-error0 liblz4-1 python3-venv python3.11-venv python3-pip-whl
  python3-setuptools-whl python3-distutils python3-lib2to3 e2fsprogs libext2fs2 libss2 logsave
  libcom-err2 util-linux util-linux-extra mount libsmartcols1 libudev1 sysvinit-utils openssl
)
# Kept: init-system-helpers (the removal scripts above call its update-rc.d) and libgmp10
# (coreutils links it). perl-base and diffutils go last: update-rc.d is a perl script, and dpkg
# refuses to start without diff on the PATH.

key=$(sha256sum "$here/image-base.sh" | cut -c1-16)
image=localhost/simplismart-base:$SUITE-$key
runtime_image=$image-runtime
if buildah inspect --type image "$image" >/dev/null 2>&1 &&
  buildah inspect --type image "$runtime_image" >/dev/null 2>&1; then
  echo "$image $runtime_image"
  exit 0
fi

# The mirror apt is configured with for SUITE, as apt itself reports it (sources.list or deb822).
configured_mirror() { # SUITE DEFAULT
  local mirror
  mirror=$(apt-cache policy 2>/dev/null | awk -v s="$1/main" '$3 == s {print $2; exit}')
  echo "${mirror:-$2}"
}

cache=$CACHE_DIR/image-base/$key
archive=$cache/rootfs.tar
runtime_archive=$cache/runtime.tar
if [[ ! -s "$runtime_archive" ]]; then
  mkdir -p "$cache"
  root=$(mktemp -d "$cache/root.XXXXXX")
  # --one-file-system: never into a /proc or /dev that a failed step left mounted there.
  trap 'umount "$root/proc" 2>/dev/null || true; rm -rf --one-file-system "$root"' EXIT
  mirror=${SIMPLISMART_DEBIAN_MIRROR:-$(configured_mirror "$SUITE" http://deb.debian.org/debian)}
  security=$(configured_mirror "$SUITE-security" http://deb.debian.org/debian-security)
  step "debootstrap: Debian $SUITE (minbase, $PACKAGES) from $mirror"
  debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    die "debootstrap failed; see $cache/debootstrap.log"
  done_step

  # debootstrap takes the suite as released; the updates and security fixes come on top, as in
  # Debian's own images.
  step "applying $SUITE-updates and $SUITE-security"
  cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror $SUITE main
deb $mirror $SUITE-updates main
deb $security $SUITE-security main
SOURCES
  mount -t proc proc "$root/proc"
  {
    chroot "$root" apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get upgrade -y -qq
  } >>"$cache/debootstrap.log" 2>&1 || die "upgrading the root failed; see $cache/debootstrap.log"
  umount "$root/proc"
  done_step

  step "slimming the root file system"
  # What a container never reads: documentation (the copyright files stay), translations, apt's
  # package lists and downloads, logs. Later apt installs leave them out too, as in Debian's images.
  find "$root/usr/share/doc" -type f ! -name copyright -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root"/usr/share/{man,info,locale,lintian}/* "$root"/var/lib/apt/lists/* \
    "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old "$root"/var/log/*
  # The building machine's name and name servers: a container runtime provides its own.
  rm -f "$root/etc/hostname" "$root/etc/resolv.conf"
  cat >"$root/etc/dpkg/dpkg.cfg.d/slim" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
DPKG
  tar -C "$root" --numeric-owner -cf "$archive.tmp" .
  mv "$archive.tmp" "$archive"
  done_step

  step "the runtime root: dropping $((${#RUNTIME_DROPS[@]} + 2)) packages no process of the image runs"
  # --force-remove-essential: perl-base and util-linux are Essential for a system that installs
  # packages, which this root never does again.
  mount -t proc proc "$root/proc"
  {
    chroot "$root" dpkg --purge --force-remove-essential --force-depends "${RUNTIME_DROPS[@]}" &&
      chroot "$root" dpkg --purge --force-remove-essential --force-depends perl-base diffutils
  } >>"$cache/debootstrap.log" 2>&1 || die "slimming the runtime root failed; see $cache/debootstrap.log"
  umount "$root/proc"
  chroot "$root" python3 -c "import ctypes, hashlib, sqlite3, ssl, uuid" ||
    die "Python no longer starts in the runtime root"
  tar -C "$root" --numeric-owner -cf "$runtime_archive.tmp" .
  mv "$runtime_archive.tmp" "$runtime_archive"
  done_step
fi

import_base() { # ARCHIVE IMAGE DESCRIPTION
  step "importing the base image $2"
  local container mounted
  container=$(buildah from scratch)
  mounted=$(buildah mount "$container")
  tar -C "$mounted" --numeric-owner -xpf "$1"
  buildah umount "$container" >/dev/null
  buildah config \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env LANG=C.UTF-8 \
    --cmd '["python3"]' \
    --label "org.opencontainers.image.description=$3" \
    "$container"
  buildah commit --quiet --rm "$container" "$2" >/dev/null
  done_step
}
import_base "$archive" "$image" "Debian $SUITE with Python 3 (debootstrap, minbase)"
import_base "$runtime_archive" "$runtime_image" \
  "Debian $SUITE with Python 3 (debootstrap, minbase), without a package manager"
echo "$image $runtime_image"
