"""module_utils/_host_state.py: dpkg-query's package states, a user's groups, systemd units, the state of a path.

The parser is tested with data; the readers run the real tools of the machine
that runs the tests (the host state managed_state reads; postfix_info no
longer does).
"""

import os
import pwd
import shutil
import subprocess

import pytest

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import ModuleError
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


# name -> (how to make it under tmp_path, mode or None, the expected state without owner/group)
FILE_STATES = {
    'regular file': (lambda p: p.write_text('postmaster: root\n'), 0o640,
                     {'exists': True, 'type': 'file', 'mode': '0640',
                      'checksum': '3b2e0edc72fa183c186e23f324f5d2ad93cdad88'}),
    'empty file': (lambda p: p.write_text(''), 0o644,
                   {'exists': True, 'type': 'file', 'mode': '0644', 'checksum': 'da39a3ee5e6b4b0d3255bfef95601890afd80709'}),
    'directory': (lambda p: p.mkdir(), 0o710, {'exists': True, 'type': 'directory', 'mode': '0710'}),
    'symlink, not followed': (lambda p: p.symlink_to('/nonexistent/sasldb2'), None,
                              {'exists': True, 'type': 'link', 'link_target': '/nonexistent/sasldb2'}),
    'missing': (lambda p: None, None, {'exists': False}),
}


@pytest.mark.parametrize('case', list(FILE_STATES))
def test_file_state(tmp_path, case):
    make, mode, expected = FILE_STATES[case]
    path = tmp_path / 'f'
    make(path)
    if mode is not None:
        path.chmod(mode)
    state = hs.file_state(str(path))
    if state['exists']:
        assert state.pop('owner') and state.pop('group')
        if case.startswith('symlink'):
            state.pop('mode')
    assert state == expected


@pytest.mark.parametrize('path', ['', 'etc/postfix/main.cf', None])
def test_file_state_refuses_a_relative_path(path):
    with pytest.raises(ModuleError, match='not an absolute path'):
        hs.file_state(path)


def test_file_state_without_checksum_for_secret_files(tmp_path):
    path = tmp_path / 'sasldb2'
    path.write_text('secret')
    path.chmod(0o640)
    state = hs.file_state(str(path), checksum=False)
    assert 'checksum' not in state and state['type'] == 'file' and state['mode'] == '0640'


# case -> (user_groups state, groups wanted, groups to add)
GROUPS = {
    'already in it': ({'exists': True, 'primary_group': 'postfix', 'groups': ['sasl']}, ['sasl'], []),
    'one missing': ({'exists': True, 'primary_group': 'postfix', 'groups': []}, ['sasl'], ['sasl']),
    'the primary group counts': ({'exists': True, 'primary_group': 'sasl', 'groups': []}, ['sasl'], []),
    'order kept, twice once': ({'exists': True, 'primary_group': 'p', 'groups': ['b']}, ['c', 'b', 'a', 'c'],
                               ['c', 'a']),
    'none wanted': ({'exists': True, 'primary_group': 'p', 'groups': ['b']}, [], []),
}


@pytest.mark.parametrize('case', list(GROUPS))
def test_groups_to_add(case):
    state, wanted, expected = GROUPS[case]
    assert hs.groups_to_add(state, wanted) == expected


# case -> (is-active, is-enabled, state wanted, enabled wanted, systemctl verbs)
UNITS = {
    'running and enabled': ('active', 'enabled', 'started', True, []),
    'stopped': ('inactive', 'enabled', 'started', True, ['start']),
    'failed counts as stopped': ('failed', 'enabled', 'started', None, ['start']),
    'starting counts as running': ('activating', 'enabled', 'started', None, []),
    'disabled': ('active', 'disabled', 'started', True, ['enable']),
    'stopped and disabled': ('inactive', 'disabled', 'started', True, ['start', 'enable']),
    'static units are not enabled': ('active', 'static', 'started', True, []),
    'stop': ('active', 'enabled', 'stopped', None, ['stop']),
    'already stopped': ('inactive', 'enabled', 'stopped', None, []),
    'disable': ('inactive', 'enabled', None, False, ['disable']),
    'already disabled': ('inactive', 'disabled', None, False, []),
    'left alone': ('inactive', 'disabled', None, None, []),
    'stop and disable': ('active', 'enabled', 'stopped', False, ['stop', 'disable']),
}


@pytest.mark.parametrize('case', list(UNITS))
def test_unit_actions(case):
    active, enabled, state, want_enabled, expected = UNITS[case]
    assert hs.unit_actions('postfix', active, enabled, state, want_enabled) == expected


@pytest.mark.parametrize('enabled', ['not-found', 'masked'])
def test_unit_that_cannot_start(enabled):
    with pytest.raises(ModuleError, match='postfix cannot be started: systemctl is-enabled says ' + enabled):
        hs.unit_actions('postfix', 'inactive', enabled, 'started', None)


def test_masked_unit_may_stay_stopped():
    assert hs.unit_actions('postfix', 'inactive', 'masked', 'stopped', False) == []
