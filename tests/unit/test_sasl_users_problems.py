"""The sasl_users_problems filter: the sasl_users role's host-free checks, as data.

Each case gives the variables that differ from GOOD (a sender login map, a
default realm, the sasldb backend) and a piece of the one problem expected,
or None when they are fine. No problem may show a password.
"""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mailstack.sasl_postfix.plugins.filter.sasl_users_problems import sasl_users_problems
from helpers.problems import assert_problem

SECRET = 'S3cret-Never-Printed'

GOOD = {
    'sasl_users_list': [{'name': 'alice', 'password': SECRET}],
    'sasl_users_backend': 'sasldb',
    'sasl_users_default_realm': 'example.org',
    'sasl_users_sender_login_map': 'hash:/etc/postfix/sender_login',
}


def _user(**kwargs):
    return dict({'name': 'eve', 'password': SECRET}, **kwargs)


# case -> (variables that differ from GOOD, a piece of the problem expected or None)
CASES = {
    'one user': ({}, None),
    'no user': ({'sasl_users_list': []}, None),
    # locked
    'a locked user on system accounts': ({'sasl_users_backend': 'system', 'sasl_users_list': [_user(locked=True)]}, None),
    'locked false on the sasldb': ({'sasl_users_list': [_user(locked=False), _user(name='bob', locked='no')]}, None),
    'a locked user on the sasldb': ({'sasl_users_list': [_user(locked=True), _user(name='bob', locked='yes')]},
                                    'sasl_users_list sets locked for eve, bob, but sasl_users_backend is sasldb, which cannot '
                                    'lock a user: they would still log in.'),
    'locked in another word': ({'sasl_users_list': [_user(locked='always')]}, 'sets locked for eve,'),
    'a locked user to remove': ({'sasl_users_list': [{'name': 'eve', 'state': 'absent', 'locked': True}]}, 'sets locked for eve,'),
    # The sender login map
    'no map': ({'sasl_users_sender_login_map': '', 'sasl_users_list': [_user(address='eve', aliases='x')]}, None),
    'lmdb': ({'sasl_users_sender_login_map': 'lmdb:/etc/postfix/sender_login'}, None),
    'an unindexed map type': ({'sasl_users_sender_login_map': 'texthash:/etc/postfix/sender_login'},
                              'sasl_users_sender_login_map is type:path with an indexed type (hash, btree, lmdb, cdb, dbm, sdbm) '
                              'and an absolute path, for example hash:/etc/postfix/sender_login (got '
                              '"texthash:/etc/postfix/sender_login").'),
    'a relative path': ({'sasl_users_sender_login_map': 'hash:sender_login'}, '(got "hash:sender_login")'),
    'a map with a newline': ({'sasl_users_sender_login_map': 'hash:/etc/postfix/sender_login\n'},
                             r'(got "hash:/etc/postfix/sender_login\n")'),
    'an address and aliases': ({'sasl_users_list': [_user(address='eve@example.org', aliases=['sales@example.org', '@shop.example'])]},
                               None),
    'an address without domain': ({'sasl_users_list': [_user(address='eve')]},
                                  'In sasl_users_list, an address is user@domain; wrong for: eve ("eve").'),
    'an address with a blank': ({'sasl_users_list': [_user(address='eve @example.org')]}, 'wrong for: eve ("eve @example.org")'),
    'an alias with a blank': ({'sasl_users_list': [_user(aliases=['ok@example.org', 'eve at example.org'])]},
                              'In sasl_users_list, aliases is a list of addresses or @domain; wrong for: eve ("eve at example.org").'),
    'aliases a string': ({'sasl_users_list': [_user(aliases='eve@example.org')]}, 'wrong for: eve ("eve@example.org")'),
    'aliases a mapping': ({'sasl_users_list': [_user(aliases={'a': 'b'})]}, 'wrong for: eve ({"a": "b"})'),
    'wrong, but to remove': ({'sasl_users_list': [_user(state='absent', address='eve', aliases='x')]}, None),
    'no realm, no address': ({'sasl_users_default_realm': '', 'sasl_users_list': [_user()]},
                             'In sasl_users_list, a user without an address needs a realm or sasl_users_default_realm, so that '
                             'name@realm is their address; missing for: eve.'),
    'the entry realm on the sasldb': ({'sasl_users_default_realm': '', 'sasl_users_list': [_user(realm='example.net')]}, None),
    'the entry realm ignored on system accounts': ({'sasl_users_default_realm': '', 'sasl_users_backend': 'system',
                                                    'sasl_users_list': [_user(realm='example.net')]}, 'missing for: eve.'),
    'an address instead of a realm': ({'sasl_users_default_realm': '', 'sasl_users_list': [_user(address='eve@example.org')]}, None),
}


@pytest.mark.parametrize('case', list(CASES))
def test_sasl_users_problems(case):
    changes, expected = CASES[case]
    problems = sasl_users_problems(dict(GOOD, **changes))
    assert_problem(problems, expected, SECRET)


def test_every_problem_is_reported():
    users = [_user(locked=True, address='eve', aliases='x'), _user(name='bob')]
    problems = sasl_users_problems(dict(GOOD, sasl_users_default_realm='', sasl_users_sender_login_map='hash:x', sasl_users_list=users))
    assert len(problems) == 5, problems


@pytest.mark.parametrize('value, message', [
    ('sasl_users_list', 'dictionary'),
    ({'sasl_users_list': []}, 'needs the variables sasl_users_backend, sasl_users_default_realm, sasl_users_sender_login_map'),
])
def test_sasl_users_problems_wants_every_variable(value, message):
    with pytest.raises(AnsibleFilterError, match=message):
        sasl_users_problems(value)
