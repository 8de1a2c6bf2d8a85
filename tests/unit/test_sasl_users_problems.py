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


def _login(name='eve-phone', **kwargs):
    return dict({'name': name, 'password': SECRET}, **kwargs)


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
    # Extra logins (app passwords)
    'two logins': ({'sasl_users_list': [_user(logins=[_login(), _login('eve-laptop')])]}, None),
    'one login removed, without password': ({'sasl_users_list': [_user(logins=[{'name': 'eve-phone', 'state': 'absent'}])]}, None),
    'logins none': ({'sasl_users_list': [_user(logins=None)]}, None),
    'an absent user with its logins': ({'sasl_users_list': [{'name': 'eve', 'state': 'absent', 'logins': [{'name': 'eve-phone'}]}]},
                                       None),
    'system accounts with logins': ({'sasl_users_backend': 'system', 'sasl_users_list': [_user(logins=[_login('eve_2.x-y')])]}, None),
    'the same login name in two realms': ({'sasl_users_list': [_user(logins=[_login('phone')]),
                                                               _user(name='bob', realm='other.test', logins=[_login('phone')])]},
                                          None),
    'logins a string': ({'sasl_users_list': [_user(logins='eve-phone:' + SECRET)]},
                        'In sasl_users_list, logins is a list of dictionaries (name, password, state), each with a name; '
                        'wrong for: eve.'),
    'a login a string': ({'sasl_users_list': [_user(logins=[_login(), 'eve-laptop:' + SECRET])]}, 'each with a name; wrong for: eve.'),
    'a login without name': ({'sasl_users_list': [_user(logins=[{'password': SECRET}])]}, 'each with a name; wrong for: eve.'),
    'a login with an empty name': ({'sasl_users_list': [_user(logins=[_login('')])]}, 'each with a name; wrong for: eve.'),
    'a login with a realm': ({'sasl_users_list': [_user(logins=[_login(realm='other.test', aliases=[])])]},
                             "In sasl_users_list, a login takes name, password and state only (it logs in in its user's realm "
                             "and sends as its user's addresses); unknown keys for: eve-phone of eve (aliases, realm)."),
    'a login name with a blank': ({'sasl_users_list': [_user(logins=[_login('eve phone')])]},
                                  'In sasl_users_list, a login name is a user name without realm: no blank, control character, @, '
                                  ': or comma; wrong for: "eve phone" of eve.'),
    'a login name with a realm': ({'sasl_users_list': [_user(logins=[_login('eve-phone@example.org')])]},
                                  'wrong for: "eve-phone@example.org" of eve.'),
    'a login name with a comma': ({'sasl_users_list': [_user(logins=[_login('eve,phone')])]}, 'wrong for: "eve,phone" of eve.'),
    'a login name with a colon': ({'sasl_users_list': [_user(logins=[_login('eve:phone')])]}, 'wrong for: "eve:phone" of eve.'),
    'a login name with a line break': ({'sasl_users_list': [_user(logins=[_login('eve\nphone')])]}, r'wrong for: "eve\nphone" of eve.'),
    'a login name useradd refuses': ({'sasl_users_backend': 'system', 'sasl_users_list': [_user(logins=[_login('Eve.Phone')])]},
                                     'In sasl_users_list, a login name is a name useradd takes ([a-z_][a-z0-9_.-], at most 32 '
                                     'characters); wrong for: "Eve.Phone" of eve.'),
    'a login name too long for useradd': ({'sasl_users_backend': 'system', 'sasl_users_list': [_user(logins=[_login('e' * 33)])]},
                                          'wrong for: "%s" of eve.' % ('e' * 33)),
    'a login state unknown': ({'sasl_users_list': [_user(logins=[_login(state='revoked')])]},
                              'In sasl_users_list, a login\'s state is present or absent; wrong for: eve-phone of eve ("revoked").'),
    'a login present under an absent user': ({'sasl_users_list': [{'name': 'eve', 'state': 'absent',
                                                                   'logins': [{'name': 'eve-phone', 'state': 'present'}]}]},
                                             'In sasl_users_list, a user with state absent is removed with all its logins, but these '
                                             'logins say state present: eve-phone of eve. Remove their state, or the logins.'),
    'a login without password': ({'sasl_users_list': [_user(logins=[{'name': 'eve-phone'}, _login('eve-laptop')])]},
                                 'In sasl_users_list, each present login needs its own password; missing or empty for: eve-phone of eve.'),
    'a login with an empty password': ({'sasl_users_list': [_user(logins=[_login(password='')])]},
                                       'missing or empty for: eve-phone of eve.'),
    'a login password with NUL': ({'sasl_users_list': [_user(logins=[_login(password=SECRET + '\x00')])]},
                                  'In sasl_users_list, a login password is a string without NUL; wrong for: eve-phone of eve.'),
    'a login password with a line break on the sasldb': ({'sasl_users_list': [_user(logins=[_login(password=SECRET + '\n')])]}, None),
    'a login password with a line break on system accounts': ({'sasl_users_backend': 'system',
                                                               'sasl_users_list': [_user(logins=[_login(password=SECRET + '\n')])]},
                                                              'a login password is a string without NUL or line breaks (system '
                                                              'accounts); wrong for: eve-phone of eve.'),
    'a login password a list': ({'sasl_users_list': [_user(logins=[_login(password=[SECRET])])]}, 'wrong for: eve-phone of eve.'),
    'a login named as its user': ({'sasl_users_list': [_user(logins=[_login('eve')])]},
                                  "In sasl_users_list, each login (a user's name, or one of its extra logins) must be unique in its "
                                  'realm; listed more than once: eve@example.org (user eve, login of eve).'),
    'a login named as another user': ({'sasl_users_list': [_user(logins=[_login('bob')]), _user(name='bob')]},
                                      'listed more than once: bob@example.org (login of eve, user bob).'),
    'a login of two users': ({'sasl_users_list': [_user(logins=[_login('phone')]), _user(name='bob', logins=[_login('phone')])]},
                             'listed more than once: phone@example.org (login of eve, login of bob).'),
    'a login listed twice, once absent': ({'sasl_users_list': [_user(logins=[_login(), {'name': 'eve-phone', 'state': 'absent'}])]},
                                          'listed more than once: eve-phone@example.org (login of eve, login of eve).'),
    'a user listed twice': ({'sasl_users_list': [_user(), _user(realm='example.org')]},
                            'listed more than once: eve@example.org (user eve, user eve).'),
    'two realms are one on system accounts': ({'sasl_users_backend': 'system',
                                               'sasl_users_list': [_user(logins=[_login('phone')]),
                                                                   _user(name='bob', realm='other.test', logins=[_login('phone')])]},
                                              "must be unique (system accounts have no realm); listed more than once: phone (login "
                                              'of eve, login of bob).'),
    'one realm without saslauthd realms': ({'sasl_users_backend': 'none',
                                            'sasl_users_list': [_user(logins=[_login('phone')]),
                                                                _user(name='bob', realm='other.test', logins=[_login('phone')])]},
                                           'unique in its realm; listed more than once: phone@example.org (login of eve, login of bob).'),
    'no default realm': ({'sasl_users_default_realm': '', 'sasl_users_sender_login_map': '',
                          'sasl_users_list': [_user(logins=[_login('eve')])]}, 'listed more than once: eve (user eve, login of eve).'),
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


def test_every_login_problem_is_reported():
    logins = ['eve-tablet', _login(realm='x'), _login('eve phone', state='gone'), {'name': 'eve-laptop'}, _login('eve-pc', password='\x00'),
              _login('eve')]
    users = [_user(logins=logins), {'name': 'bob', 'state': 'absent', 'logins': [_login('bob-phone', state='present')]}]
    problems = sasl_users_problems(dict(GOOD, sasl_users_list=users))
    assert len(problems) == 8, problems
    assert SECRET not in ' '.join(problems)


@pytest.mark.parametrize('value, message', [
    ('sasl_users_list', 'dictionary'),
    ({'sasl_users_list': []}, 'needs the variables sasl_users_backend, sasl_users_default_realm, sasl_users_sender_login_map'),
])
def test_sasl_users_problems_wants_every_variable(value, message):
    with pytest.raises(AnsibleFilterError, match=message):
        sasl_users_problems(value)
