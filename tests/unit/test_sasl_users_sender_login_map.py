"""The sender login map the sasl_users role derives from sasl_users_list, and its checks.

Only tasks/validate.yml runs on localhost (include_role tasks_from); the
entries the role would hand to lookup_table are printed and compared. No
password may appear in the output.
"""

import json
import re

import pytest

from helpers.roles import run_role_tasks

SECRET = 'S3cret-Never-Printed'
MAP = 'hash:/etc/postfix/sender_login'
MESSAGES = ["ENTRIES={{ __sasl_users_sender_logins | to_json }}"]


def _run(tmp_path, variables):
    variables = dict({'sasl_users_sender_login_map': MAP, 'sasl_users_default_realm': 'example.org'}, **variables)
    return run_role_tasks(tmp_path, 'sasl_users', 'validate', variables, MESSAGES)


def _entries(output):
    match = re.search(r'ENTRIES=(\[.*\])', output.replace('\\"', '"'))
    assert match, output
    return {entry['key']: entry['value'] for entry in json.loads(match.group(1))}


def test_own_address_and_aliases_owned_by_both_login_forms(tmp_path):
    users = [
        {'name': 'alice', 'password': SECRET, 'aliases': ['Sales@Example.org', '@shop.example.org']},
        {'name': 'bob', 'password': SECRET, 'address': 'robert@example.org', 'aliases': ['sales@example.org']},
        {'name': 'carol', 'realm': 'other.test', 'password': SECRET},
        {'name': 'mallory', 'state': 'absent', 'aliases': ['boss@example.org']},
    ]
    rc, output = _run(tmp_path, {'sasl_users_list': users})
    assert rc == 0, output
    assert _entries(output) == {
        'alice@example.org': 'alice@example.org, alice',
        # Lower case, as postmap folds keys; shared by the users who list it.
        'sales@example.org': 'alice@example.org, alice, bob@example.org, bob',
        '@shop.example.org': 'alice@example.org, alice',
        'robert@example.org': 'bob@example.org, bob',
        # Another realm: only the full login owns it (a bare "carol" is carol@example.org).
        'carol@other.test': 'carol@other.test',
    }
    assert SECRET not in output


def test_system_accounts_ignore_the_entry_realm(tmp_path):
    users = [{'name': 'dave', 'realm': 'other.test', 'password': SECRET}]
    rc, output = _run(tmp_path, {'sasl_users_list': users, 'sasl_users_backend': 'system'})
    assert rc == 0, output
    assert _entries(output) == {'dave@example.org': 'dave@example.org, dave'}


BAD = [
    ('unindexed map type', {'sasl_users_sender_login_map': 'texthash:/etc/postfix/sender_login'}, 'sasl_users_sender_login_map'),
    ('relative path', {'sasl_users_sender_login_map': 'hash:sender_login'}, 'sasl_users_sender_login_map'),
    ('alias with a space', {'sasl_users_list': [{'name': 'eve', 'password': SECRET, 'aliases': ['eve at example.org']}]},
     'wrong for: eve'),
    ('aliases a string', {'sasl_users_list': [{'name': 'eve', 'password': SECRET, 'aliases': 'eve@example.org'}]}, 'wrong for: eve'),
    ('address without domain', {'sasl_users_list': [{'name': 'eve', 'password': SECRET, 'address': 'eve'}]}, 'wrong for: eve'),
    ('no realm, no address', {'sasl_users_default_realm': '', 'sasl_users_list': [{'name': 'eve', 'password': SECRET}]},
     'missing for: eve'),
]


@pytest.mark.parametrize('variables, message', [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_map_settings_are_refused(tmp_path, variables, message):
    variables = dict({'sasl_users_list': [{'name': 'alice', 'password': SECRET}]}, **variables)
    rc, output = _run(tmp_path, variables)
    assert rc != 0, output
    assert message in ' '.join(output.split()), output
    assert SECRET not in output
    assert 'ENTRIES=' not in output
