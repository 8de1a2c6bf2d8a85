"""module_utils/_host_state.py: dpkg-query's package states, the state of a path."""

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
