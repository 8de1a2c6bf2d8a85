#!/usr/bin/env bash
# Build the project's podman test images (Debian 12 and 13, systemd as PID 1)
# from Debian packages with debootstrap: no image registry is needed.
# An image that already exists with the current recipe is kept.
#
#   build-images.sh [bookworm|trixie ...]
#
# The host tools (podman, runc, netavark, iptables, debootstrap) come from
# `make container-packages`; this script checks for them and says so.
# A build that fails names its release and step, leaves no temporary files,
# and never leaves an image tagged: the image is imported under a temporary
# name, checked by running python3 in it, and only then tagged.
#
# Environment: DEBIAN_MIRROR (default deb.debian.org), MAILSTACK_IMAGE_REPO
# (default localhost/mailstack-debian; tests use a throw-away name).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/containers.conf}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
repo="${MAILSTACK_IMAGE_REPO:-localhost/mailstack-debian}"
# Bump when the recipe below changes, so old images are not reused.
recipe=2
# Packages inside the image: systemd as PID 1, Python for Ansible, sshd for
# the SSH test hosts, and what the tests read live state with.
image_packages=systemd,systemd-sysv,dbus,python3,python3-apt,ca-certificates,iproute2,procps,openssh-server

declare -A release_version=([bookworm]=12 [trixie]=13)

fail() { echo "build-images: $*" >&2; exit 1; }

check_host_tools() {
  local tool missing=()
  for tool in podman runc debootstrap iptables; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  [ -x /usr/lib/podman/netavark ] || missing+=(netavark)
  [ ${#missing[@]} -eq 0 ] ||
    fail "missing host tools: ${missing[*]} (run 'make container-packages')"
}

image_name() { echo "$repo:${release_version[$1]}"; }

image_is_current() {
  local found
  found=$(podman image inspect --format '{{ index .Labels "mailstack.recipe" }}' "$1" 2>/dev/null) || return 1
  [ "$found" = "$recipe" ]
}

# Run one named step of a release's build, its output in $log; on failure
# show the output's tail, say which release and step failed, and stop.
step() {
  local release=$1 name=$2 log=$3
  shift 3
  "$@" >"$log" 2>&1 && return 0
  tail -n 20 "$log" >&2
  fail "$release: step '$name' failed"
}

bootstrap_rootfs() {
  local release=$1 rootfs=$2
  debootstrap --variant=minbase --include="$image_packages" "$release" "$rootfs" "$mirror"
}

# Containers have no consoles or hardware clocks: mask units that wait on them.
# sshd stays off, without host keys, until a test that wants SSH makes keys
# for its own container and starts it. apt's downloads are dropped.
trim_rootfs() {
  local rootfs=$1 unit
  for unit in getty.target console-getty.service systemd-logind.service \
              systemd-remount-fs.service sys-kernel-debug.mount; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
  done
  systemctl --root="$rootfs" disable ssh.service
  rm -f "$rootfs"/etc/ssh/ssh_host_*
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
}

pack_rootfs() { tar -C "$1" -cf "$2" .; }

import_rootfs() {
  podman import --quiet \
    --change 'CMD=["/sbin/init"]' \
    --change 'STOPSIGNAL=SIGRTMIN+3' \
    --change "LABEL mailstack.recipe=$recipe" \
    "$1" "$2"
}

smoke_test() { podman run --rm --network none "$1" /usr/bin/python3 -c 'import apt'; }

# Build in $workdir (rootfs, tarball, step log) under the candidate name;
# the image gets its real name only once every step has passed.
build_in() {
  local release=$1 image=$2 candidate=$3 workdir=$4
  local log="$workdir/step.log"
  echo "build-images: $release: debootstrap into $workdir/rootfs"
  step "$release" debootstrap "$log" bootstrap_rootfs "$release" "$workdir/rootfs"
  step "$release" trim "$log" trim_rootfs "$workdir/rootfs"
  step "$release" pack "$log" pack_rootfs "$workdir/rootfs" "$workdir/rootfs.tar"
  step "$release" import "$log" import_rootfs "$workdir/rootfs.tar" "$candidate"
  step "$release" "smoke test (python3 in the image)" "$log" smoke_test "$candidate"
  step "$release" tag "$log" podman tag "$candidate" "$image"
}

build_image() {
  local release=$1 image candidate workdir status=0
  image=$(image_name "$release")
  candidate="$image-candidate"
  if image_is_current "$image"; then
    echo "build-images: $image exists, skipping"
    return 0
  fi
  workdir=$(mktemp -d "${TMPDIR:-/var/tmp}/mailstack-image-$release.XXXXXX")
  # In a subshell, so that a failed step's `exit` still comes back here to
  # clean up. Removing the candidate name only untags a finished image.
  (build_in "$release" "$image" "$candidate" "$workdir") || status=$?
  podman rmi "$candidate" >/dev/null 2>&1 || true
  rm -rf "$workdir"
  [ "$status" -eq 0 ] || exit "$status"
  echo "build-images: built $image"
}

main() {
  local releases=("$@") release
  [ ${#releases[@]} -gt 0 ] || releases=(bookworm trixie)
  for release in "${releases[@]}"; do
    [ -n "${release_version[$release]:-}" ] || { echo "build-images: unknown release '$release' (bookworm or trixie)" >&2; exit 2; }
  done
  check_host_tools
  for release in "${releases[@]}"; do
    build_image "$release"
  done
}

main "$@"
