"""Helpers for the testinfra tests that Molecule's verify step runs.

- `container(name)`: the testinfra host of one of the scenario's containers,
  reached with `podman exec` (the one way the tests reach a container);
- `wait_until(what, probe, timeout)`: poll until something holds, bounded in
  time, failing with what was awaited and the last value seen;
- `run_converge(...)`, `assert_check_diff_reports_no_change()`: converge
  again as Molecule does; `run_module(host, module, args)`: one module on
  one host, as a role's task runs it.
"""

import functools
import json
import os
import re
import subprocess
import time

import testinfra
import yaml

_RECAP_LINE = re.compile(r'^(?P<host>\S+)\s+:\s+ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)')


@functools.lru_cache(maxsize=None)
def instances():
    """The names of the scenario's instances, as its molecule.yml names its platforms.

    Molecule's podman driver names each container after its platform, and
    the inventory host has the same name. Read from Molecule's inventory
    (`all.hosts` of MOLECULE_INVENTORY_FILE); None outside Molecule.
    """
    path = os.environ.get('MOLECULE_INVENTORY_FILE')
    if not path:
        return None
    with open(path) as f:
        inventory = yaml.safe_load(f)
    return tuple(sorted((inventory.get('all') or {}).get('hosts') or {}))


def container(name_or_host):
    """The testinfra host of one of the scenario's containers, reached with `podman exec`.

    `name_or_host` is the instance name (the platform's `name:` in the
    scenario's molecule.yml, which is also the container's and the inventory
    host's name: `default-debian12`, `relay-client`, ...) or a testinfra host
    such as the `host` fixture Molecule's verifier gives each test (over
    whatever transport the scenario uses: SSH in the default scenario,
    Ansible's podman connection elsewhere), whose inventory name is used.

    podman exec runs each command directly in the container: many times
    faster than one Ansible module run per command, and the command line
    (which may carry a test password) never reaches the container's journal
    through Ansible's module logging. A name that is not one of the
    scenario's instances fails at once, naming the instances there are.
    """
    name = name_or_host if isinstance(name_or_host, str) else name_or_host.backend.get_hostname()
    known = instances()
    assert known is None or name in known, \
        'no instance %r in this scenario (%s); its instances: %s' % (
            name, os.environ.get('MOLECULE_SCENARIO_NAME', '?'), ', '.join(known))
    return testinfra.get_host('podman://' + name)


def wait_until(what, probe, timeout, interval=1.0, until=bool, diagnose=None):
    """Call `probe()` until `until(value)` holds for its value, and return that value.

    `what` says what is awaited ("the ban of 198.18.0.5"). Polls every
    `interval` seconds; the last call is made at or after `timeout` seconds,
    so the wait is never shorter than `timeout`. On giving up it fails with
    an AssertionError naming `what`, the timeout and the last value seen,
    followed by `diagnose()`'s text if given (a log tail, a status).
    """
    started = time.monotonic()
    deadline = started + timeout
    attempts = 0
    while True:
        value = probe()
        attempts += 1
        if until(value):
            return value
        if time.monotonic() >= deadline:
            message = 'gave up after %.1f s (%d attempts) waiting for %s; last value seen: %r' % (
                time.monotonic() - started, attempts, what, value)
            if diagnose is not None:
                message += '\n' + str(diagnose())
            raise AssertionError(message)
        time.sleep(interval)


def _ansible_env():
    """The environment and inventory argument with which Molecule runs Ansible."""
    ephemeral_dir = os.environ['MOLECULE_EPHEMERAL_DIRECTORY']
    env = dict(os.environ)
    env.setdefault('ANSIBLE_CONFIG', os.path.join(ephemeral_dir, 'ansible.cfg'))
    env['ANSIBLE_FORCE_COLOR'] = 'false'
    # The inventory directory, as Molecule passes it: it may hold more than
    # ansible_inventory.yml (the default scenario adds ssh.yml).
    return env, ['-i', os.path.dirname(os.environ['MOLECULE_INVENTORY_FILE'])]


def run_module(host, module, args, check_mode=False):
    """Run one module on one of the scenario's hosts through Ansible, as a role's task would; returns its result."""
    env, inventory = _ansible_env()
    env.update({'ANSIBLE_LOAD_CALLBACK_PLUGINS': 'true', 'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.json'})
    argv = ['ansible', host] + inventory + ['-m', module, '-a', json.dumps(args)] + (['--check'] if check_mode else [])
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    try:
        # The scenario's timing callback prints lines before and after the JSON.
        output, _end = json.JSONDecoder().raw_decode(proc.stdout[proc.stdout.index('{'):])
        return output['plays'][0]['tasks'][0]['hosts'][host]
    except (ValueError, KeyError, IndexError):
        output = (proc.stdout + proc.stderr)[-4000:]
        raise AssertionError('no result of %s on %s (rc=%d):\n%s' % (module, host, proc.returncode, output))


def run_converge(*extra_args, playbook='converge.yml'):
    """Run the scenario's converge playbook again with the inventory and settings Molecule uses.

    Returns (recap, output) where recap maps host name to a dict of counters.
    """
    env, inventory = _ansible_env()
    argv = ['ansible-playbook'] + inventory + [os.path.join(os.environ['MOLECULE_SCENARIO_DIRECTORY'], playbook)] \
        + list(extra_args)
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
