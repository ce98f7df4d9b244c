#!/usr/bin/env bash
# Makes the local Debian base image the Dockerfiles build from where no image registry can be
# reached (docker pull fails): `debootstrap --variant=minbase` into a cache directory, then
# `tar | docker import`. Idempotent and cheap when there is nothing to do:
#   - the image already exists           -> nothing (unless --force)
#   - the root filesystem is cached      -> only the import (a few seconds)
#   - otherwise                          -> debootstrap (needs the Debian mirror; ~1-2 min)
# Usage: docker/make-base-image.sh [--force]
# Environment: WL_BASE_IMAGE (default weightless/base:bookworm), WL_BASE_SUITE (bookworm),
#   WL_BASE_MIRROR (http://deb.debian.org/debian), WL_BASE_CACHE (/var/cache/weightless).
set -euo pipefail
image=${WL_BASE_IMAGE:-weightless/base:bookworm}
suite=${WL_BASE_SUITE:-bookworm}
mirror=${WL_BASE_MIRROR:-http://deb.debian.org/debian}
cache=${WL_BASE_CACHE:-/var/cache/weightless}
rootfs=$cache/rootfs-$suite-minbase
force=0
[ "${1:-}" = --force ] && force=1

log() { echo "make-base-image: $*" >&2; }

if [ $force = 0 ] && docker image inspect "$image" >/dev/null 2>&1; then
  log "$image exists; nothing to do"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

if [ $force = 1 ] || [ ! -f "$rootfs/.complete" ]; then
  if ! command -v debootstrap >/dev/null 2>&1; then
    log "installing debootstrap"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  fi
  log "debootstrap --variant=minbase $suite into $rootfs"
  $SUDO rm -rf "$rootfs" "$rootfs.tmp"
  $SUDO mkdir -p "$cache"
  $SUDO debootstrap --variant=minbase "$suite" "$rootfs.tmp" "$mirror" >"$cache/debootstrap-$suite.log" 2>&1 || {
    log "debootstrap failed; last lines of $cache/debootstrap-$suite.log:"
    tail -n 20 "$cache/debootstrap-$suite.log" >&2
    exit 1
  }
  # What the official debian:bookworm image has: updates and security suites, no .deb cache,
  # no apt lists, no recommends, and a policy that keeps daemons from starting at install.
  $SUDO rm -f "$rootfs.tmp/etc/apt/sources.list"
  $SUDO tee "$rootfs.tmp/etc/apt/sources.list.d/debian.sources" >/dev/null <<SRC
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  $SUDO tee "$rootfs.tmp/etc/apt/apt.conf.d/90weightless" >/dev/null <<'APT'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
APT
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$rootfs.tmp/usr/sbin/policy-rc.d" >/dev/null
  $SUDO chmod 755 "$rootfs.tmp/usr/sbin/policy-rc.d"
  $SUDO rm -rf "$rootfs.tmp"/var/cache/apt/archives/*.deb "$rootfs.tmp"/var/cache/apt/*.bin \
    "$rootfs.tmp"/var/lib/apt/lists/* "$rootfs.tmp"/var/log/*.log "$rootfs.tmp"/var/log/apt/*
  $SUDO touch "$rootfs.tmp/.complete"
  $SUDO mv "$rootfs.tmp" "$rootfs"
else
  log "reusing the cached root filesystem $rootfs"
fi

log "importing $rootfs as $image"
$SUDO tar -C "$rootfs" --exclude=./.complete --numeric-owner -c . |
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["bash"]' \
    - "$image" >/dev/null
log "$image ready ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
