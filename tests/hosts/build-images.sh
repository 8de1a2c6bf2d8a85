#!/usr/bin/env bash
# Build the project's podman test images (Debian 12 and 13, systemd as PID 1)
# from Debian packages with debootstrap: no image registry is needed.
# An image that already exists is kept. Usage: build-images.sh [bookworm|trixie ...]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/containers.conf}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# Bump when the recipe below changes, so old images are not reused.
recipe=1

declare -A release_version=([bookworm]=12 [trixie]=13)

install_host_tools() {
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  [ -x /usr/lib/podman/netavark ] || missing+=(netavark aardvark-dns)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [ ${#missing[@]} -eq 0 ] && return
  echo "build-images: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

image_name() { echo "localhost/mailstack-debian:${release_version[$1]}"; }

image_is_current() {
  local found
  found=$(podman image inspect --format '{{ index .Labels "mailstack.recipe" }}' "$1" 2>/dev/null) || return 1
  [ "$found" = "$recipe" ]
}

build_image() {
  local release=$1 image rootfs
  image=$(image_name "$release")
  if image_is_current "$image"; then
    echo "build-images: $image exists, skipping"
    return
  fi
  rootfs=$(mktemp -d "${TMPDIR:-/var/tmp}/mailstack-rootfs-$release.XXXXXX")
  trap 'rm -rf "$rootfs"' RETURN
  echo "build-images: debootstrap $release into $rootfs"
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,python3,python3-apt,ca-certificates,iproute2,procps \
    "$release" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || { tail -20 "$rootfs.log"; exit 1; }
  rm -f "$rootfs.log"
  # Containers have no consoles or hardware clocks: mask units that wait on them.
  for unit in getty.target console-getty.service systemd-logind.service \
              systemd-remount-fs.service sys-kernel-debug.mount; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
  done
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | podman import --quiet \
    --change 'CMD=["/sbin/init"]' \
    --change 'STOPSIGNAL=SIGRTMIN+3' \
    --change "LABEL mailstack.recipe=$recipe" \
    - "$image" >/dev/null
  echo "build-images: built $image"
}

main() {
  install_host_tools
  local releases=("$@")
  [ ${#releases[@]} -gt 0 ] || releases=(bookworm trixie)
  for release in "${releases[@]}"; do
    [ -n "${release_version[$release]:-}" ] || { echo "build-images: unknown release '$release' (bookworm or trixie)" >&2; exit 2; }
    build_image "$release"
  done
}

main "$@"
