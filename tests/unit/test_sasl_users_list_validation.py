"""The sasl_users role's checks of sasl_users_list, run for real by ansible-playbook on localhost.

Only tasks/validate.yml runs (include_role tasks_from), so nothing is
installed. One list may serve both backends: keys of the system backend are
left out of what the sasldb_users module gets, except locked: true, which the
sasldb cannot honour and the role refuses, naming the variable.
"""

import json

import pytest

from helpers.roles import run_role_tasks

SECRET = 'S3cret-Never-Printed'

MESSAGES = [
    "USERS={{ __sasl_users_accounts | map('dict2items') | map('map', attribute='key') | map('sort') | list | to_json }}",
]

SHARED_LIST = [
    {'name': 'alice', 'password': SECRET, 'home': '/srv/alice', 'create_home': True, 'locked': False},
    {'name': 'bob', 'realm': 'other.test', 'password': SECRET},
    {'name': 'carol', 'state': 'absent'},
]


def _run(tmp_path, variables):
    return run_role_tasks(tmp_path, 'sasl_users', 'validate', variables, MESSAGES)


@pytest.mark.parametrize('backend', ['sasldb', 'system'])
def test_a_list_shared_between_backends_is_accepted(tmp_path, backend):
    rc, output = _run(tmp_path, {'sasl_users_backend': backend, 'sasl_users_default_realm': 'mailstack.test',
                                 'sasl_users_list': SHARED_LIST})
    assert rc == 0, output
    if backend == 'sasldb':
        # The module gets only the keys it takes; the default realm and each state are filled in.
        expected = [['name', 'password', 'realm', 'state'], ['name', 'password', 'realm', 'state'], ['name', 'realm', 'state']]
    else:
        # The accounts' keys; the realm is ignored.
        expected = [['create_home', 'home', 'locked', 'name', 'password', 'state'], ['name', 'password', 'state'], ['name', 'state']]
    assert 'USERS=%s' % json.dumps(expected) in output.replace('\\"', '"'), output
    assert SECRET not in output


@pytest.mark.parametrize('locked', [True, 'yes'])
def test_locked_users_are_refused_on_the_sasldb(tmp_path, locked):
    users = SHARED_LIST + [{'name': 'dave', 'password': SECRET, 'locked': locked}]
    rc, output = _run(tmp_path, {'sasl_users_backend': 'sasldb', 'sasl_users_list': users})
    assert rc != 0, output
    message = ' '.join(output.split())
    assert 'sasl_users_list sets locked for dave' in message, output
    assert 'cannot lock a user' in message
    assert SECRET not in output


def test_locked_users_are_fine_on_system_accounts(tmp_path):
    users = [{'name': 'dave', 'password': SECRET, 'locked': True}]
    rc, output = _run(tmp_path, {'sasl_users_backend': 'system', 'sasl_users_list': users})
    assert rc == 0, output
