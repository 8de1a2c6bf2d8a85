#!/usr/bin/env bash
# The fresh-machine guard (make fresh-machine, part of make test).
#
# This machine keeps the packages, images and venvs of earlier runs, so a
# missing install step cannot show here. The guard runs the README's first
# command, `make demo`, from a copy of this checkout (what a clean clone
# holds) inside a brand-new privileged Debian 12 container with its own,
# empty podman: every package and image must come from the project's own
# targets. Then, in the same container, `make demo-test` (the demo's AUTH
# session for many passwords), `make host-packages` (the rest of the list
# `make test` installs) and `make check-tools` (every command the suite calls).
#
# With --full (make new-machine-test, about 30 minutes of both cores; not part of
# make test), the container gets a clean clone of HEAD and runs the README's
# second command after the demo: the whole `make test`, except this guard
# itself, each line stamped with the seconds since make test began.
#
# The container stands in for a new machine of the kind CI runs on: root,
# Debian 12, no systemd as PID 1 (with systemd as PID 1 the container's
# hybrid cgroup tree makes the inner runc fail), with what the kind ships
# and the project does not install: make, git, python3, and the CA bundle
# and pip settings this kind uses to reach the package index.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export CONTAINERS_CONF="$ROOT/tests/hosts/containers.conf"
NAME=mailstack-fresh-machine
# The container's own network: on podman's default one (198.19.255.0/24,
# tests/hosts/containers.conf) its address would lie in the subnet of the
# inner podman's default network, and the inner containers there would
# reach nothing outside.
NETWORK=mailstack-fresh-machine
SUBNET=198.19.254.0/24
IMAGE=${MAILSTACK_FRESH_IMAGE:-localhost/mailstack-debian:12}
HOST_CA=/etc/ssl/certs/ca-certificates.crt
GUEST_CA=/run/mailstack-host-ca.crt

work=$(mktemp -d "${TMPDIR:-/var/tmp}/mailstack-fresh.XXXXXX")
# --full keeps the logs of make test's stages in .cache/new-machine/.
keep_logs() {
    local logs="$ROOT/.cache/new-machine"
    rm -rf "$logs" && mkdir -p "$logs"
    cp -r "$work/project/.cache/molecule-logs" "$work/project/.cache/core-versions/logs" "$logs/" 2>/dev/null || true
}
cleanup() {
    if [ "${full:-false}" = true ]; then keep_logs; fi
    podman rm --force --time 0 "$NAME" >/dev/null 2>&1 || true
    podman network rm --force "$NETWORK" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

phase_start=$SECONDS
phase() {
    printf 'fresh-machine: %s (%d s)\n' "$1" $((SECONDS - phase_start))
    phase_start=$SECONDS
}

# Inside the container: the kind's environment for reaching the package index.
guest_env=()
if [ -r "$HOST_CA" ]; then
    for var in PIP_CERT SSL_CERT_FILE REQUESTS_CA_BUNDLE CURL_CA_BUNDLE GIT_SSL_CAINFO; do
        guest_env+=(--env "$var=$GUEST_CA")
    done
    guest_env+=(--volume "$HOST_CA:$GUEST_CA:ro")
fi

# Prefix each line with the seconds since it began, to tell where the time went.
with_elapsed_time() {
    local start=$SECONDS line
    while IFS= read -r line; do
        printf '[%5d s] %s\n' $((SECONDS - start)) "$line"
    done
}

in_guest() { podman exec --workdir /root/project "$NAME" "$@"; }

full=false
main() {
    case "${1:-}" in
        --full) full=true ;;
        "") ;;
        *) echo "usage: fresh-machine.sh [--full]" >&2; exit 2 ;;
    esac
    podman image exists "$IMAGE" || "$ROOT/tests/hosts/build-images.sh" bookworm
    podman rm --force --time 0 "$NAME" >/dev/null 2>&1 || true
    podman network rm --force "$NETWORK" >/dev/null 2>&1 || true
    podman network create --subnet "$SUBNET" "$NETWORK" >/dev/null

    if $full; then
        git clone --quiet "$ROOT" "$work/project" # make test reads git: a clean clone of HEAD
    else
        "$ROOT/tests/tools/copy-checkout.sh" "$work/project"
    fi
    mkdir -p "$work/storage"
    # The inner podman keeps its storage on this machine's disk: overlayfs
    # cannot stack on the container's own overlay root.
    # No pids limit: podman's default of 2048 (threads included) is a limit a
    # machine does not have, and make test's parallel stages exceed it.
    podman run --detach --name "$NAME" --hostname fresh-machine --privileged --systemd=false --network "$NETWORK" \
        --pids-limit -1 \
        --volume "$work/project:/root/project" --volume "$work/storage:/var/lib/containers" \
        "${guest_env[@]}" "$IMAGE" sleep infinity >/dev/null
    phase "container $NAME started from $IMAGE"

    podman exec --env DEBIAN_FRONTEND=noninteractive "$NAME" bash -c \
        'apt-get update -qq && apt-get install -y -qq make git >/dev/null'
    # The kind's CA bundle is the system's, and its pip reads it from
    # /etc/pip.conf: ansible-test's pip sees neither the variables above nor
    # a bundle elsewhere.
    if [ -r "$HOST_CA" ]; then
        podman exec "$NAME" bash -c "cp $GUEST_CA /etc/ssl/certs/ca-certificates.crt &&
            printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >/etc/pip.conf"
    fi
    in_guest bash -c '! command -v podman && ! command -v iptables && ! podman image ls 2>/dev/null' >/dev/null
    phase "baseline of a new machine (make, git; no podman, no iptables, no images)"

    in_guest make demo
    phase "make demo passed"
    if $full; then
        # The demo stays up, as a newcomer leaves it. The guard (this script)
        # is the one stage a new machine does not repeat.
        in_guest make -o fresh-machine test 2>&1 | with_elapsed_time
        phase "make test passed"
        echo "fresh-machine: OK, make demo and make test pass on a new machine"
        return
    fi
    in_guest make demo-test
    phase "make demo-test passed"
    in_guest make host-packages check-tools
    phase "make host-packages check-tools passed"
    echo "fresh-machine: OK, the README's demo works on a new machine"
}

main "$@"
