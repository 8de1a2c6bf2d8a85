"""The managed_state module's own decisions: what Postfix needs after a call, which options it leaves to its action plugin."""

import pytest

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import ModuleError
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils import _managed_state as ms
from ansible_collections.mailstack.sasl_postfix.plugins.modules import managed_state

CHANGED = {'changed': True}
SAME = {'changed': False}

# case -> (postfix_config, aliases, tls, postfix user's groups added, postfix started by the call, action[, files])
ACTIONS = {
    'nothing asked': (None, None, None, False, False, 'none'),
    'nothing changed': (dict(SAME, restart=False), SAME, SAME, False, False, 'none'),
    'main.cf changed': (dict(CHANGED, restart=False), None, None, False, False, 'reload'),
    'aliases changed': (None, CHANGED, None, False, False, 'reload'),
    'TLS pair changed': (None, None, CHANGED, False, False, 'reload'),
    'a restart parameter changed': (dict(CHANGED, restart=True), SAME, SAME, False, False, 'restart'),
    'restart wins over reload': (dict(CHANGED, restart=True), CHANGED, CHANGED, False, False, 'restart'),
    'postfix got a group': (None, None, None, True, False, 'restart'),
    'a group and a reload': (dict(CHANGED, restart=False), None, None, True, False, 'restart'),
    'started by this call: reads everything anew': (dict(CHANGED, restart=True), CHANGED, CHANGED, True, True, 'none'),
    'started, nothing else': (None, None, None, False, True, 'none'),
    'a file changed (smtpd.conf)': (None, None, None, False, False, 'reload', CHANGED),
    'no file changed': (None, None, None, False, False, 'none', SAME),
    'a file and a group': (None, None, None, True, False, 'restart', CHANGED),
}


@pytest.mark.parametrize('case', list(ACTIONS))
def test_postfix_action(case):
    config, aliases, tls, groups_added, started, expected = ACTIONS[case][:6]
    files = ACTIONS[case][6] if len(ACTIONS[case]) > 6 else None
    assert ms.postfix_action(config, aliases, tls, groups_added, started, files) == expected


@pytest.mark.parametrize('name, expected', [
    ('postfix', True), ('postfix.service', True), ('postfix@-', True), ('postfix@-.service', True),
    ('saslauthd', False), ('postfix-mta-sts-resolver', False), ('fail2ban', False),
])
def test_is_postfix_unit(name, expected):
    assert ms.is_postfix_unit(name) is expected


@pytest.mark.parametrize('params, words', [
    ({'postfix_config': {'main_cf_template': 'main.cf.j2'}}, 'postfix_config.main_cf_template'),
    ({'postfix_config': {'master_cf_template': 'master.cf.j2'}}, 'postfix_config.master_cf_template'),
    ({'aliases': {'template': 'aliases.j2'}}, 'aliases.template'),
])
def test_templates_are_left_to_the_action_plugin(params, words):
    with pytest.raises(ModuleError, match=words):
        ms.check_controller_options(params)


def test_content_passes(tmp_path):
    ms.check_controller_options({'postfix_config': {'main_cf': 'x', 'main_cf_template': None}, 'aliases': None})


def test_every_option_is_documented():
    """The argument spec and DOCUMENTATION name the same options, suboptions included."""
    import yaml
    documented = yaml.safe_load(managed_state.DOCUMENTATION)['options']

    def names(spec, docs, prefix=''):
        assert set(spec) == set(docs), prefix
        for name, option in spec.items():
            doc = docs[name]
            assert doc.get('type', 'str') == option.get('type', 'str'), prefix + name
            assert doc.get('elements') == option.get('elements'), prefix + name
            assert doc.get('default') == option.get('default'), prefix + name
            assert bool(doc.get('required')) == bool(option.get('required')), prefix + name
            assert doc.get('choices') == option.get('choices'), prefix + name
            if option.get('options'):
                names(option['options'], doc['suboptions'], prefix + name + '.')
    names(managed_state.ARGUMENT_SPEC, documented)


def test_examples_and_return_are_yaml():
    import yaml
    assert yaml.safe_load(managed_state.EXAMPLES)
    returned = yaml.safe_load(managed_state.RETURN)
    assert set(returned) == {'packages_missing', 'files', 'tls', 'postfix_config', 'aliases', 'groups_changed',
                             'services', 'postfix_action'}


def test_secret_contents_are_not_logged():
    params = {'files': [{'path': '/a', 'content': 'pw', 'secret': True}, {'path': '/b', 'content': 'x', 'secret': False},
                        {'path': '/c', 'content': None, 'secret': True}],
              'packages': ['postfix']}
    logged = ms.without_secret_contents(params)
    assert [item['content'] for item in logged['files']] == ['NOT_LOGGING_PARAMETER', 'x', None]
    assert logged['packages'] == ['postfix']
    assert params['files'][0]['content'] == 'pw'  # the module's own parameters are untouched


# case -> (a services item, whether it is handled before the files to remove)
STOPS_FIRST = {
    'started and enabled': ({'name': 'a.timer', 'state': 'started', 'enabled': True}, False),
    'left as it is': ({'name': 'a.service', 'state': None, 'enabled': None}, False),
    'stopped and disabled': ({'name': 'a.timer', 'state': 'stopped', 'enabled': False}, True),
    'stopped only': ({'name': 'a.service', 'state': 'stopped', 'enabled': None}, True),
    'disabled only': ({'name': 'a.service', 'state': None, 'enabled': False}, True),
}


@pytest.mark.parametrize('item, expected', STOPS_FIRST.values(), ids=list(STOPS_FIRST))
def test_stops_first(item, expected):
    assert ms.stops_first(item) is expected


class _Module(object):
    def __init__(self, params):
        self.params = params
        self.check_mode = False
        self._diff = False
        self.no_log_values = set()


def test_a_unit_is_stopped_and_disabled_before_its_file_is_removed_and_started_after_the_files(monkeypatch):
    """A unit file to remove must still be there when systemctl disables the unit (it reads the file's [Install]
    section to find the symlinks); a unit to start comes after everything, its files written."""
    calls = []
    monkeypatch.setattr(ms, 'missing_packages', lambda module, names: [])
    monkeypatch.setattr(ms, 'converge_files', lambda module, items, check_mode: calls.append(
        ('files', [(item['path'], item['state']) for item in items])) or dict(changed=False, files={}, diff=[]))
    monkeypatch.setattr(ms, 'add_user_groups', lambda module, user, groups, check_mode: calls.append(('groups', user)) or [])
    monkeypatch.setattr(ms, 'ensure_unit', lambda module, name, state, enabled, check_mode: calls.append(
        ('unit', name, state, enabled)) or dict(changed=False, started=False))
    params = {'packages': [], 'tls_selfsigned': None, 'postfix_config': None, 'aliases': None,
              'files': [{'path': '/etc/systemd/system/b.service', 'state': 'file'},
                        {'path': '/etc/systemd/system/a.timer', 'state': 'absent'}],
              'groups': [{'user': 'postfix', 'groups': ['sasl']}],
              'services': [{'name': 'b.service', 'state': 'started', 'enabled': True},
                           {'name': 'a.timer', 'state': 'stopped', 'enabled': False}]}
    result = ms.run_managed_state(_Module(params))
    assert calls == [('files', [('/etc/systemd/system/b.service', 'file')]),
                     ('unit', 'a.timer', 'stopped', False),
                     ('files', [('/etc/systemd/system/a.timer', 'absent')]),
                     ('groups', 'postfix'),
                     ('unit', 'b.service', 'started', True)]
    assert sorted(result['services']) == ['a.timer', 'b.service']
