"""The managed_state module's own decisions: what Postfix needs after a call, which options it leaves to its action plugin."""

import pytest

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import ModuleError
from ansible_collections.mailstack.sasl_postfix.plugins.modules import managed_state as ms

CHANGED = {'changed': True}
SAME = {'changed': False}

# case -> (postfix_config, aliases, tls, postfix user's groups added, postfix started by the call, action)
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
}


@pytest.mark.parametrize('case', list(ACTIONS))
def test_postfix_action(case):
    config, aliases, tls, groups_added, started, expected = ACTIONS[case]
    assert ms.postfix_action(config, aliases, tls, groups_added, started) == expected


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
    documented = yaml.safe_load(ms.DOCUMENTATION)['options']

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
    names(ms.ARGUMENT_SPEC, documented)


def test_examples_and_return_are_yaml():
    import yaml
    assert yaml.safe_load(ms.EXAMPLES)
    returned = yaml.safe_load(ms.RETURN)
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
