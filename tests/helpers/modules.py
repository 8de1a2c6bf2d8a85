"""Run the collection's modules for real, the two ways Ansible does.

`run_module` executes a module file as Ansible's module machinery would (args
on stdin as ANSIBLE_MODULE_ARGS), fast enough for large test matrices.
`run_adhoc` goes through the `ansible` command on localhost, so FQCN
resolution, no_log censoring and check/diff handling are the real ones.
"""

import json
import os
import stat
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANSIBLE_BIN = os.path.join(os.path.dirname(sys.executable), 'ansible')


def run_module(name, args, check_mode=False, diff=False, prefix=()):
    """Run plugins/modules/<name>.py with `args`; return its JSON result (dict).

    `prefix` is prepended to the command line (for example an `unshare` wrapper
    that hides a tool from the module).
    """
    payload = dict(args)
    payload['_ansible_check_mode'] = check_mode
    payload['_ansible_diff'] = diff
    proc = subprocess.run(
        list(prefix) + [sys.executable, '-m', 'ansible_collections.mailstack.sasl_postfix.plugins.modules.' + name],
        input=json.dumps({'ANSIBLE_MODULE_ARGS': payload}),
        capture_output=True, text=True, env=_module_env(), check=False)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError('module %s printed no JSON (rc=%d)\nstdout: %s\nstderr: %s'
                             % (name, proc.returncode, proc.stdout, proc.stderr))


def run_adhoc(name, args, check_mode=False, diff=False, verbosity=0):
    """Run mailstack.sasl_postfix.<name> through `ansible localhost`; return (result, full_output)."""
    argv = [ANSIBLE_BIN, 'localhost', '-c', 'local', '-m', 'mailstack.sasl_postfix.' + name,
            '-a', json.dumps(args)]
    if check_mode:
        argv.append('--check')
    if diff:
        argv.append('--diff')
    if verbosity:
        argv.append('-' + 'v' * verbosity)
    env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='ansible.builtin.json')
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    output = proc.stdout + proc.stderr
    try:
        start = proc.stdout.index('{')
        document = json.loads(proc.stdout[start:])
    except ValueError:
        raise AssertionError('ansible printed no JSON (rc=%d)\n%s' % (proc.returncode, output))
    result = document['plays'][0]['tasks'][0]['hosts']['localhost']
    return result, output


def _module_env():
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(p for p in sys.path if p)
    return env


def mode_of(path):
    """The permission bits of `path` (0o600, ...)."""
    return stat.S_IMODE(os.stat(path).st_mode)
