"""Helpers for the testinfra tests that Molecule's verify step runs."""

import os
import re
import subprocess

_RECAP_LINE = re.compile(r'^(?P<host>\S+)\s+:\s+ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)')


def run_converge(*extra_args, playbook='converge.yml'):
    """Run the scenario's converge playbook again with the inventory and settings Molecule uses.

    Returns (recap, output) where recap maps host name to a dict of counters.
    """
    scenario_dir = os.environ['MOLECULE_SCENARIO_DIRECTORY']
    ephemeral_dir = os.environ['MOLECULE_EPHEMERAL_DIRECTORY']
    env = dict(os.environ)
    env.setdefault('ANSIBLE_CONFIG', os.path.join(ephemeral_dir, 'ansible.cfg'))
    env['ANSIBLE_FORCE_COLOR'] = 'false'
    # The inventory directory, as Molecule passes it: it may hold more than
    # ansible_inventory.yml (the default scenario adds ssh.yml).
    argv = ['ansible-playbook', '-i', os.path.dirname(os.environ['MOLECULE_INVENTORY_FILE']),
            os.path.join(scenario_dir, playbook)] + list(extra_args)
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    output = proc.stdout + proc.stderr
    recap = {}
    for line in proc.stdout.splitlines():
        match = _RECAP_LINE.match(line.strip())
        if match:
            recap[match.group('host')] = {k: int(v) for k, v in match.groupdict().items() if k != 'host'}
    assert recap, 'no PLAY RECAP in ansible-playbook output (rc=%d):\n%s' % (proc.returncode, output[-4000:])
    return recap, output


def assert_check_diff_reports_no_change():
    """`--check --diff` after converge must predict zero changes and fail nowhere."""
    recap, output = run_converge('--check', '--diff')
    busy = {host: counters for host, counters in recap.items()
            if counters['changed'] or counters['failed'] or counters['unreachable']}
    assert not busy, 'check mode after converge reported changes or failures: %s\n%s' % (busy, output[-6000:])
