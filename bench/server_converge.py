"""Time the submission server's first converge and its idempotent re-run.

Uses the security scenario (molecule/security): its converge deploys the
submission server roles on one host, security-server (the second container
is only the scenario's test client). Steps: destroy, create and prepare
(not timed), then `molecule converge` twice, each timed, with the task
counts from the PLAY RECAP and the number of tasks that ran.

Usage (from the repository root):
  .venv/bin/python bench/server_converge.py [--scenario security] [--keep]

Needs the podman test images (tests/hosts/build-images.sh). The containers
are destroyed at the end unless --keep is given.
"""

import argparse
import os
import re
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ANSI = re.compile(r'\x1b\[[0-9;]*m')
# Molecule wraps long lines, so the recap is matched across a line break.
RECAP = re.compile(r'(?P<host>[\w.-]+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)'
                   r'\s+failed=(?P<failed>\d+)\s+(?:\S*\s+)?skipped=(?P<skipped>\d+)')
TASK = re.compile(r'TASK \[')


def _env():
    env = dict(os.environ)
    env['CONTAINERS_CONF'] = os.path.join(REPO, 'tests', 'hosts', 'containers.conf')
    env['ANSIBLE_COLLECTIONS_PATH'] = os.path.join(REPO, '.cache', 'collections')
    env['PATH'] = os.path.join(REPO, '.venv', 'bin') + os.pathsep + env['PATH']
    env['ANSIBLE_FORCE_COLOR'] = 'false'
    env['PY_COLORS'] = '0'
    return env


def _molecule(action, scenario, check=True):
    start = time.monotonic()
    proc = subprocess.run(['molecule', action, '-s', scenario], cwd=REPO, env=_env(), capture_output=True, text=True,
                          check=False)
    elapsed = time.monotonic() - start
    output = ANSI.sub('', proc.stdout + proc.stderr)
    if check and proc.returncode != 0:
        sys.exit('molecule %s failed (rc=%d):\n%s' % (action, proc.returncode, output[-4000:]))
    return elapsed, output


def _recap(output):
    counts = {}
    for match in RECAP.finditer(output):
        counts[match.group('host')] = {k: int(v) for k, v in match.groupdict().items() if k != 'host'}
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--scenario', default='security')
    parser.add_argument('--keep', action='store_true', help='leave the containers running')
    args = parser.parse_args()

    _molecule('destroy', args.scenario, check=False)
    for action in ('create', 'prepare'):
        elapsed = _molecule(action, args.scenario)[0]
        print('%-22s %6.1f s (not part of the figures)' % (action, elapsed))
    try:
        for label in ('first converge', 'idempotent re-run'):
            elapsed, output = _molecule('converge', args.scenario)
            for host, counts in sorted(_recap(output).items()):
                print('%-22s %6.1f s  %s: tasks run=%d ok=%d changed=%d skipped=%d failed=%d' % (
                    label, elapsed, host, len(TASK.findall(output)), counts['ok'], counts['changed'],
                    counts['skipped'], counts['failed']))
    finally:
        if not args.keep:
            _molecule('destroy', args.scenario, check=False)


if __name__ == '__main__':
    main()
