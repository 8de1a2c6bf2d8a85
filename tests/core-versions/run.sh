#!/usr/bin/env bash
# The collection under the oldest ansible-core it claims and the newest one
# released, each in a controller container of its own:
#
#   run.sh [oldest|newest ...]      (default: both, side by side)
#
#   oldest: ansible-core 2.16 on Debian 12's Python 3.11
#   newest: ansible-core 2.21 on Debian 13's Python 3.13 (2.20 and later need
#           Python 3.12 or newer)
#
# Bare ansible-core in each, no other collection: the collection depends on
# none, so its artifact installs offline alone.
#
# The controller is a container of the project's own test image
# (tests/hosts/build-images.sh), so a fresh Debian 12 machine gets the same
# Python as this one. The checkout is mounted at its own path; the container
# runs tests/core-versions/inside.sh, which is also the managed host of the
# Molecule scenario. Pins: tests/core-versions/LABEL.txt. Logs:
# .cache/core-versions/logs/LABEL.log. Containers are named
# ${MAILSTACK_TEST_PREFIX:-mailstack}-core-LABEL-<checkout hash>, so checkouts
# never share one, and are removed at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."

export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/tests/hosts/containers.conf}"
logs=.cache/core-versions/logs
checkout_id=$(echo "$PWD" | md5sum | cut -c1-8)
prefix=${MAILSTACK_TEST_PREFIX:-mailstack}
# pip inside the container reaches PyPI through the same TLS proxy as the
# host on this machine kind, whose CA only the host's bundle holds.
ca_bundle=/etc/ssl/certs/ca-certificates.crt

# LABEL -> the controller image (its Debian release gives the Python).
settings() {
  case $1 in
    oldest) image=localhost/mailstack-debian:12 ;;
    newest) image=localhost/mailstack-debian:13 ;;
    *) echo "core-versions: unknown version label '$1' (oldest, newest)" >&2; return 2 ;;
  esac
}

container_name() { echo "$prefix-core-$1-$checkout_id"; }

wait_for_systemd() {
  local state='' tries
  # Until systemd's bus is up, systemctl answers nothing. `degraded` is
  # fine: a unit that wants hardware failed, and systemd runs.
  for tries in $(seq 60); do
    state=$(podman exec "$1" systemctl is-system-running 2>/dev/null || true)
    case $state in
      running | degraded) return 0 ;;
    esac
    sleep 1
  done
  echo "core-versions: systemd in $1 did not come up in $tries s (state: '$state')" >&2
  return 1
}

run_one() {
  local label=$1 name start=$SECONDS status=0 unsupported
  settings "$label"
  name=$(container_name "$label")
  podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  echo "core-versions: $label started ($image, log $logs/$label.log)"
  {
    podman run -d --name "$name" --hostname core-host.mailstack.test --systemd=always \
      --volume "$PWD:$PWD" --volume "$ca_bundle:$ca_bundle:ro" --workdir "$PWD" \
      "$image" /sbin/init >/dev/null &&
      wait_for_systemd "$name" &&
      podman exec --env MAILSTACK_CORE_CONTAINER="$label" --workdir "$PWD" "$name" \
        tests/core-versions/inside.sh "$label"
  } >"$logs/$label.log" 2>&1 || status=$?
  podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  # The collections' own requires_ansible must accept this ansible-core too.
  unsupported=$(grep 'does not support Ansible version' "$logs/$label.log" | sort -u || true)
  if [ "$status" -eq 0 ] && [ -n "$unsupported" ]; then
    echo "$unsupported" >>"$logs/$label.log"
    status=1
  fi
  {
    grep '^core-versions\[' "$logs/$label.log" || true
    if [ "$status" -eq 0 ]; then
      echo "core-versions: $label passed in $((SECONDS - start)) s"
    else
      echo "===== last 150 lines of $logs/$label.log"
      tail -n 150 "$logs/$label.log"
      echo "core-versions: $label FAILED after $((SECONDS - start)) s"
    fi
  } >"$logs/$label.summary"
  return "$status"
}

labels=("$@")
[ ${#labels[@]} -gt 0 ] || labels=(oldest newest)
for label in "${labels[@]}"; do
  settings "$label"
  podman image exists "$image" || { echo "core-versions: no image $image (run 'make images')" >&2; exit 1; }
done
mkdir -p "$logs"

cleanup() {
  local label
  for label in "${labels[@]}"; do podman rm -f -t 0 "$(container_name "$label")" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

# Side by side: much of the time goes to apt, pip and systemd, not the CPU.
# The summaries (step times, or a failed log's tail) follow, one at a time.
pids=()
for label in "${labels[@]}"; do
  rm -f "$logs/$label.summary"
  run_one "$label" &
  pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do
  wait "$pid" || failed=$((failed + 1))
done
for label in "${labels[@]}"; do
  cat "$logs/$label.summary" 2>/dev/null || echo "core-versions: $label left no summary"
done
echo "core-versions: $((${#labels[@]} - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
