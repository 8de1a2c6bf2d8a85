#!/usr/bin/env bash
# Run `molecule test` for the given scenarios, MOLECULE_JOBS at a time (default 3).
# Scenarios have their own containers and networks, so they can run side by
# side; much of their time is spent waiting on apt and systemd, not the CPU.
# Once one fails no new one starts, the running ones finish, and the failed
# scenarios' logs are printed.
# Full logs: .cache/molecule-logs/<scenario>.log, the time of each stage in
# <scenario>.stages (also printed when the scenario ends).
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -gt 0 ] || { echo "run-molecule: no scenario given" >&2; exit 2; }
export MOLECULE_LOGS=.cache/molecule-logs
mkdir -p "$MOLECULE_LOGS"
rm -f "$MOLECULE_LOGS"/*.passed "$MOLECULE_LOGS"/*.failed "$MOLECULE_LOGS"/*.stages "$MOLECULE_LOGS"/stop

# A scenario's containers and network have fixed names, so two checkouts on
# one machine (git worktrees) must not run the same scenario at once: each
# scenario holds a machine-wide lock while it runs.
run_one() {
  local scenario=$1 start=$SECONDS
  [ ! -e "$MOLECULE_LOGS/stop" ] || return 0 # another scenario failed
  exec {lock}>"/tmp/mailstack-molecule-$scenario.lock"
  if ! flock --nonblock "$lock"; then
    echo "molecule: $scenario waits for another checkout's run of it"
    flock "$lock"
    start=$SECONDS
  fi
  remove_leftovers "$scenario"
  echo "molecule: $scenario started"
  set -o pipefail # the status of `molecule test`, not of the timer behind it
  if molecule test -s "$scenario" 2>&1 |
    python3 tests/molecule_stages.py "$MOLECULE_LOGS/$scenario.log" "$MOLECULE_LOGS/$scenario.stages"; then
    echo "molecule: $scenario passed in $((SECONDS - start)) s ($(stage_times "$scenario"))"
    touch "$MOLECULE_LOGS/$scenario.passed"
  else
    echo "molecule: $scenario FAILED after $((SECONDS - start)) s ($(stage_times "$scenario"))"
    touch "$MOLECULE_LOGS/$scenario.failed" "$MOLECULE_LOGS/stop"
    return 1
  fi
}

# The time of each stage (tests/molecule_stages.py), on one line.
stage_times() {
  paste -sd, "$MOLECULE_LOGS/$1.stages" | sed 's/,/, /g'
}

# With the lock held, a container on the scenario's network or named after the
# scenario belongs to an interrupted run (of this or another branch, whose
# platforms may differ): Molecule's destroy would fail to remove the network.
remove_leftovers() {
  local scenario=$1 leftovers
  leftovers=$( {
    podman ps -a --format '{{.Names}}' --filter "network=mailstack-$scenario"
    podman ps -a --format '{{.Names}}' --filter "name=^$scenario-"
  } | sort -u)
  [ -n "$leftovers" ] || return 0
  echo "molecule: $scenario: removing containers of an interrupted run: ${leftovers//$'\n'/ }"
  # shellcheck disable=SC2086 # one name per word
  podman rm --force --time 0 $leftovers >/dev/null
}
export -f run_one stage_times remove_leftovers

# shellcheck disable=SC2016 # $1 is expanded by the inner bash, on purpose
printf '%s\n' "$@" | xargs -P "${MOLECULE_JOBS:-3}" -I{} bash -c 'run_one "$1"' _ {} || true

passed=0 failed=0
for scenario in "$@"; do
  if [ -e "$MOLECULE_LOGS/$scenario.passed" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    [ -e "$MOLECULE_LOGS/$scenario.failed" ] || continue # never started
    echo "===== last 200 lines of $MOLECULE_LOGS/$scenario.log"
    tail -n 200 "$MOLECULE_LOGS/$scenario.log"
  fi
done
echo "molecule: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
