"""Every role documents exactly the variables it defaults, and the specs agree with the defaults."""

import os

import pytest
import yaml

ROLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'roles')
ALL_ROLES = sorted(name for name in os.listdir(ROLES_DIR) if os.path.isdir(os.path.join(ROLES_DIR, name)))
# The internal role of shared steps: no main entry point, no defaults; the others include its task files.
INTERNAL = 'common'
ROLES = [name for name in ALL_ROLES if name != INTERNAL]


def _load(role, *path):
    with open(os.path.join(ROLES_DIR, role, *path), encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def _options(role):
    return _load(role, 'meta', 'argument_specs.yml')['argument_specs']['main']['options']


def test_roles_are_found():
    assert ALL_ROLES == ['common', 'cyrus_sasl', 'fail2ban', 'metrics', 'postfix', 'postfix_source', 'relay_oauth2',
                         'sasl_users', 'send_limit']


def test_internal_role_has_an_entry_point_per_task_file_and_required_prefixed_options():
    specs = _load(INTERNAL, 'meta', 'argument_specs.yml')['argument_specs']
    task_files = sorted(name[:-4] for name in os.listdir(os.path.join(ROLES_DIR, INTERNAL, 'tasks')))
    assert sorted(specs) == task_files
    for entry in specs.values():
        for name, spec in entry['options'].items():
            assert name.startswith(INTERNAL + '_') and spec.get('required') and spec.get('description'), name
    assert not os.path.exists(os.path.join(ROLES_DIR, INTERNAL, 'defaults'))


@pytest.mark.parametrize('role', ROLES)
def test_defaults_and_argument_specs_name_the_same_variables(role):
    defaults = set(_load(role, 'defaults', 'main.yml'))
    options = set(_options(role))
    assert defaults - options == set(), 'defaults without a spec'
    assert options - defaults == set(), 'specs without a default'


@pytest.mark.parametrize('role', ROLES)
def test_variables_carry_the_role_prefix(role):
    assert [name for name in _load(role, 'defaults', 'main.yml') if not name.startswith(role + '_')] == []


@pytest.mark.parametrize('role', ROLES)
def test_every_option_has_a_type_and_a_description(role):
    incomplete = [name for name, spec in _options(role).items() if 'type' not in spec or not spec.get('description')]
    assert incomplete == []


@pytest.mark.parametrize('role', ROLES)
def test_spec_defaults_equal_the_role_defaults(role):
    defaults = _load(role, 'defaults', 'main.yml')
    different = {name: (spec['default'], defaults[name]) for name, spec in _options(role).items()
                 if 'default' in spec and spec['default'] != defaults[name]}
    assert different == {}


@pytest.mark.parametrize('role', ROLES)
def test_defaults_respect_the_choices(role):
    defaults = _load(role, 'defaults', 'main.yml')
    wrong = {}
    for name, spec in _options(role).items():
        value = defaults[name]
        if 'choices' not in spec or (isinstance(value, str) and '{{' in value):
            continue  # a template is resolved, and checked by Ansible, at role entry
        values = value if spec['type'] == 'list' else [value]
        if any(v not in spec['choices'] for v in values):
            wrong[name] = value
    assert wrong == {}


@pytest.mark.parametrize('role', ROLES)
def test_private_variables_carry_the_double_underscore_prefix(role):
    vars_dir = os.path.join(ROLES_DIR, role, 'vars')
    names = []
    for filename in sorted(os.listdir(vars_dir)):
        names.extend(_load(role, 'vars', filename) or {})
    assert names
    assert [name for name in names if not name.startswith('__%s_' % role)] == []


def _password_values(data):
    if isinstance(data, dict):
        for key, value in data.items():
            secret_key = key == 'password' or key.endswith(('_password', '_secret', '_bindpw'))
            # An empty value (to be set by the user) is no secret; update_password takes always/on_create.
            if secret_key and value not in ('', None, 'always', 'on_create'):
                yield value
            yield from _password_values(value)
    elif isinstance(data, list):
        for item in data:
            yield from _password_values(item)


@pytest.mark.parametrize('role', ROLES)
def test_no_password_in_the_defaults(role):
    assert list(_password_values(_load(role, 'defaults', 'main.yml'))) == []


@pytest.mark.parametrize('role', ALL_ROLES)
def test_role_meta_has_no_dependencies(role):
    meta = _load(role, 'meta', 'main.yml')
    assert meta['dependencies'] == []
    assert meta['galaxy_info']['role_name'] == role
