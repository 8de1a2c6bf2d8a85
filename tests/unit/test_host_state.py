"""module_utils/_host_state.py: dpkg-query's package states, a user's groups, systemd units.

The parser is tested with data; the readers run the real tools of the machine
that runs the tests (the host state managed_state reads; postfix_info no
longer does).
"""

import os
import pwd
import shutil
import subprocess

import pytest

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils import _host_state as hs


@pytest.mark.parametrize('output, expected', [
    ('postfix installed\nsasl2-bin installed\n', {'postfix', 'sasl2-bin'}),
    # Only "installed": removed with its configuration left, half-installed, unpacked are missing.
    ('postfix config-files\nsasl2-bin half-installed\ndb5.3-util unpacked\n', set()),
    ('postfix not-installed\nlibsasl2-2 installed\n', {'libsasl2-2'}),
    ('', set()),
    ('postfix installed', {'postfix'}),  # no final newline
])
def test_installed_packages(output, expected):
    assert hs.installed_packages(output) == expected


class _Module(object):
    """What _host_state needs of an AnsibleModule: get_bin_path and run_command, for real."""

    def get_bin_path(self, name, opt_dirs=None):
        path = os.pathsep.join(list(opt_dirs or []) + [os.environ.get('PATH', '')])
        return shutil.which(name, path=path)

    def run_command(self, argv, data=None, binary_data=False, environ_update=None, check_rc=False):
        env = dict(os.environ, **(environ_update or {}))
        proc = subprocess.run(argv, input=data, capture_output=True, text=True, env=env, check=False)
        return proc.returncode, proc.stdout, proc.stderr


def _dpkg_installed(name):
    proc = subprocess.run(['dpkg-query', '--show', '--showformat=${db:Status-Status}', name],
                          capture_output=True, text=True, check=False)
    return proc.returncode == 0 and proc.stdout == 'installed'


@pytest.mark.skipif(not shutil.which('dpkg-query'), reason='needs dpkg-query')
def test_missing_packages_are_those_dpkg_does_not_list_as_installed():
    names = ['postfix', 'sasl2-bin', 'mailstack-no-such-package', 'libc6=0.0', 'coreutils']
    expected = [name for name in names if not _dpkg_installed(name)]
    assert hs.missing_packages(_Module(), names) == expected
    # A name dpkg does not know, or one written with a version, is always missing: apt decides.
    assert 'mailstack-no-such-package' in expected and 'libc6=0.0' in expected and 'coreutils' not in expected


def test_no_packages_asks_nothing():
    assert hs.missing_packages(None, []) == []


def test_user_groups_match_id():
    name = pwd.getpwuid(os.getuid()).pw_name
    primary = subprocess.run(['id', '-gn', name], capture_output=True, text=True, check=True).stdout.strip()
    all_groups = subprocess.run(['id', '-Gn', name], capture_output=True, text=True, check=True).stdout.split()
    state = hs.user_groups(name)
    assert state['exists'] is True and state['primary_group'] == primary
    assert set(state['groups']) <= set(all_groups) and state['groups'] == sorted(state['groups'])
    assert hs.user_groups('mailstack-no-such-user') == {'exists': False}


def test_unit_state_as_systemctl_prints_it():
    module = _Module()
    if not module.get_bin_path('systemctl'):
        assert hs.unit_state(module, 'postfix') is None
        return
    expected = {}
    for key, verb in (('active', 'is-active'), ('enabled', 'is-enabled')):
        proc = subprocess.run(['systemctl', verb, 'postfix'], capture_output=True, text=True, check=False)
        expected[key] = proc.stdout.strip() or 'unknown'
    assert hs.unit_state(module, 'postfix') == expected
