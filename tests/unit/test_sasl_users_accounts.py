"""The sasl_users_accounts and sasl_users_sender_logins filters: users and their extra logins (app passwords), as data.

Each case gives sasl_users_list (and the variables that differ from the
sasldb backend in the realm example.org) and what the filter returns.
"""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mailstack.sasl_postfix.plugins.filter.sasl_users_accounts import (
    sasl_users_accounts, sasl_users_sender_logins)

BASE = {'sasl_users_backend': 'sasldb', 'sasl_users_default_realm': 'example.org'}

ALICE = {'name': 'alice', 'password': 'A', 'home': '/srv/alice', 'aliases': ['Sales@Example.org'],
         'logins': [{'name': 'alice-phone', 'password': 'P'}, {'name': 'alice-laptop', 'password': 'L'}]}


def _alice(**changes):
    return dict(ALICE, **changes)


def _logins(*logins):
    return _alice(logins=list(logins))


# case -> (sasl_users_list, other variables, accounts expected)
ACCOUNTS = {
    'no user': ([], {}, []),
    'a user without logins': ([{'name': 'bob', 'password': 'B'}], {},
                              [{'name': 'bob', 'realm': 'example.org', 'password': 'B', 'state': 'present'}]),
    'logins follow their user, in its realm': ([_alice()], {}, [
        {'name': 'alice', 'realm': 'example.org', 'password': 'A', 'state': 'present'},
        {'name': 'alice-phone', 'realm': 'example.org', 'password': 'P', 'state': 'present'},
        {'name': 'alice-laptop', 'realm': 'example.org', 'password': 'L', 'state': 'present'},
    ]),
    "the user's own realm": ([{'name': 'bob', 'realm': 'other.test', 'password': 'B',
                               'logins': [{'name': 'bob-phone', 'password': 'Q'}]}], {}, [
        {'name': 'bob', 'realm': 'other.test', 'password': 'B', 'state': 'present'},
        {'name': 'bob-phone', 'realm': 'other.test', 'password': 'Q', 'state': 'present'},
    ]),
    'an empty realm is the default one': ([{'name': 'bob', 'realm': '', 'password': 'B'}], {},
                                          [{'name': 'bob', 'realm': 'example.org', 'password': 'B', 'state': 'present'}]),
    "no realm at all: the module's": ([_logins({'name': 'alice-phone', 'password': 'P'})], {'sasl_users_default_realm': ''}, [
        {'name': 'alice', 'password': 'A', 'state': 'present'},
        {'name': 'alice-phone', 'password': 'P', 'state': 'present'},
    ]),
    'one login removed': ([_logins({'name': 'alice-phone', 'state': 'absent'}, {'name': 'alice-laptop', 'password': 'L'})], {}, [
        {'name': 'alice', 'realm': 'example.org', 'password': 'A', 'state': 'present'},
        {'name': 'alice-phone', 'realm': 'example.org', 'state': 'absent'},
        {'name': 'alice-laptop', 'realm': 'example.org', 'password': 'L', 'state': 'present'},
    ]),
    'an absent user takes its logins': ([_alice(state='absent')], {}, [
        {'name': 'alice', 'realm': 'example.org', 'password': 'A', 'state': 'absent'},
        {'name': 'alice-phone', 'realm': 'example.org', 'password': 'P', 'state': 'absent'},
        {'name': 'alice-laptop', 'realm': 'example.org', 'password': 'L', 'state': 'absent'},
    ]),
    'logins none': ([_alice(logins=None)], {}, [{'name': 'alice', 'realm': 'example.org', 'password': 'A', 'state': 'present'}]),
    # The system backend: account keys, no realm; a login has no home and is locked with its user.
    'system accounts': ([_alice(locked=True, create_home=True)], {'sasl_users_backend': 'system'}, [
        {'name': 'alice', 'password': 'A', 'home': '/srv/alice', 'create_home': True, 'locked': True, 'state': 'present'},
        {'name': 'alice-phone', 'password': 'P', 'create_home': False, 'locked': True, 'state': 'present'},
        {'name': 'alice-laptop', 'password': 'L', 'create_home': False, 'locked': True, 'state': 'present'},
    ]),
    'system accounts, one login removed': ([_logins({'name': 'alice-phone', 'state': 'absent'})], {'sasl_users_backend': 'system'}, [
        {'name': 'alice', 'password': 'A', 'home': '/srv/alice', 'state': 'present'},
        {'name': 'alice-phone', 'create_home': False, 'state': 'absent'},
    ]),
}


@pytest.mark.parametrize('case', list(ACCOUNTS))
def test_sasl_users_accounts(case):
    users, changes, expected = ACCOUNTS[case]
    assert sasl_users_accounts(dict(BASE, sasl_users_list=users, **changes)) == expected


BOTH = 'alice@example.org, alice, alice-phone@example.org, alice-phone, alice-laptop@example.org, alice-laptop'

# case -> (sasl_users_list, other variables, {address: owners} expected)
SENDER_LOGINS = {
    'no user': ([], {}, {}),
    'a user without logins': ([{'name': 'bob', 'password': 'B'}], {}, {'bob@example.org': 'bob@example.org, bob'}),
    'every present login owns the address and the aliases': ([_alice()], {}, {
        'alice@example.org': BOTH,
        'sales@example.org': BOTH,
    }),
    'a removed login owns nothing': ([_logins({'name': 'alice-phone', 'state': 'absent'}, {'name': 'alice-laptop', 'password': 'L'})],
                                     {}, {'alice@example.org': 'alice@example.org, alice, alice-laptop@example.org, alice-laptop',
                                          'sales@example.org': 'alice@example.org, alice, alice-laptop@example.org, alice-laptop'}),
    'an absent user: no entries': ([_alice(state='absent'), {'name': 'bob', 'password': 'B'}], {},
                                   {'bob@example.org': 'bob@example.org, bob'}),
    'another realm: full logins only': ([{'name': 'bob', 'realm': 'other.test', 'password': 'B',
                                          'logins': [{'name': 'bob-phone', 'password': 'Q'}]}], {},
                                        {'bob@other.test': 'bob@other.test, bob-phone@other.test'}),
    'an address shared by two users': ([_logins({'name': 'alice-phone', 'password': 'P'}),
                                        {'name': 'bob', 'password': 'B', 'aliases': ['sales@example.org'],
                                         'logins': [{'name': 'bob-phone', 'password': 'Q'}]}], {}, {
        'alice@example.org': 'alice@example.org, alice, alice-phone@example.org, alice-phone',
        'bob@example.org': 'bob@example.org, bob, bob-phone@example.org, bob-phone',
        'sales@example.org': 'alice@example.org, alice, alice-phone@example.org, alice-phone, bob@example.org, bob, '
                             'bob-phone@example.org, bob-phone',
    }),
    'an own address': ([dict(_logins({'name': 'alice-phone', 'password': 'P'}), address='Alice.Smith@example.org', aliases=[])], {},
                       {'alice.smith@example.org': 'alice@example.org, alice, alice-phone@example.org, alice-phone'}),
    # saslauthd ignores the entry's realm: the default one is the login's.
    'system accounts ignore the realm': ([{'name': 'dave', 'realm': 'other.test', 'password': 'D',
                                           'logins': [{'name': 'dave-phone', 'password': 'Q'}]}], {'sasl_users_backend': 'system'},
                                         {'dave@example.org': 'dave@example.org, dave, dave-phone@example.org, dave-phone'}),
}


@pytest.mark.parametrize('case', list(SENDER_LOGINS))
def test_sasl_users_sender_logins(case):
    users, changes, expected = SENDER_LOGINS[case]
    entries = sasl_users_sender_logins(dict(BASE, sasl_users_list=users, **changes))
    assert [entry['key'] for entry in entries] == sorted(expected), 'sorted by address'
    assert {entry['key']: entry['value'] for entry in entries} == expected


@pytest.mark.parametrize('sasl_filter', [sasl_users_accounts, sasl_users_sender_logins])
def test_the_filters_want_every_variable(sasl_filter):
    with pytest.raises(AnsibleFilterError, match='needs the variables sasl_users_backend, sasl_users_default_realm'):
        sasl_filter({'sasl_users_list': []})
