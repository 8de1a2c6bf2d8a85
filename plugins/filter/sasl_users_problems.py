# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The sasl_users_problems filter (documented in sasl_users_problems.yml): the sasl_users role's host-free checks.

Users are named, with the address, aliases or extra logins that are wrong;
a password is never part of a problem, nor a login written as a string (it
may hold one).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.module_utils.six import string_types

from ansible_collections.mailstack.sasl_postfix.plugins.plugin_utils._checks import (
    as_list, as_text, is_list, joined, matches, shown, variables_of)
from ansible_collections.mailstack.sasl_postfix.plugins.plugin_utils._sasl_users import (
    LOGIN_KEYS, login_realm, logins_of, state_of)

NAMES = ('sasl_users_list', 'sasl_users_backend', 'sasl_users_default_realm', 'sasl_users_sender_login_map')

# Map types lookup_table builds with postmap, and an absolute path.
SENDER_LOGIN_MAP = r'(hash|btree|lmdb|cdb|dbm|sdbm):/[^\s,]+\Z'
ADDRESS = r'[^\s@,"]+@[^\s@,"]+\Z'
# An alias is an address or a whole domain (@example.org).
ALIAS = r'([^\s@,"]+)?@[^\s@,"]+\Z'
# An extra login's name: a sasldb user name (no realm, blank or control character; no comma, which separates the
# owners in the sender login map), or on system accounts a user name useradd takes.
SASLDB_LOGIN = r'[^\s\x00-\x1f\x7f@:,]+\Z'
SYSTEM_LOGIN = r'[a-z_][a-z0-9_.-]{0,31}\Z'


def _truthy(value):
    """The `truthy` test with convert_bool=True: yes, on, 1... are true, no, off, 0... false, any other value as Python has it."""
    try:
        return boolean(value)
    except TypeError:
        return bool(value)


def _name(user):
    return as_text(user.get('name', '?'))


def _locked(users, backend):
    """The sasldb cannot lock a user: one meant to be locked would still log in, so it is refused."""
    locked = [_name(user) for user in users if 'locked' in user and _truthy(user['locked'])]
    if backend != 'sasldb' or not locked:
        return []
    return ['sasl_users_list sets locked for %s, but sasl_users_backend is sasldb, which cannot lock a user: they would still '
            'log in. Remove them with state: absent, or use the system backend (cyrus_sasl_pwcheck_method: saslauthd with '
            'pam or shadow).' % joined(locked)]


def _sender_login_map(v, users):
    problems = []
    login_map = v['sasl_users_sender_login_map']
    if not matches(SENDER_LOGIN_MAP, login_map):
        problems.append('sasl_users_sender_login_map is type:path with an indexed type (hash, btree, lmdb, cdb, dbm, sdbm) and '
                        'an absolute path, for example hash:/etc/postfix/sender_login (got %s).' % shown([login_map]))
    present = [user for user in users if user.get('state', 'present') == 'present']
    bad_addresses = ['%s (%s)' % (_name(user), shown([user['address']]))
                     for user in present if 'address' in user and not matches(ADDRESS, user['address'])]
    if bad_addresses:
        problems.append('In sasl_users_list, an address is user@domain; wrong for: %s.' % ', '.join(bad_addresses))
    bad_aliases = []
    for user in present:
        if 'aliases' not in user:
            continue
        aliases = user['aliases']
        wrong = [aliases] if not is_list(aliases) else [alias for alias in aliases if not matches(ALIAS, alias)]
        if wrong:
            bad_aliases.append('%s (%s)' % (_name(user), shown(wrong)))
    if bad_aliases:
        problems.append('In sasl_users_list, aliases is a list of addresses or @domain; wrong for: %s.' % ', '.join(bad_aliases))
    without = [_name(user) for user in present
               if not user.get('address') and not login_realm(user, v['sasl_users_backend'], v['sasl_users_default_realm'])]
    if without:
        problems.append('In sasl_users_list, a user without an address needs a realm or sasl_users_default_realm, so that '
                        'name@realm is their address; missing for: %s.' % joined(without))
    return problems


def _label(user, login):
    return '%s of %s' % (as_text(login.get('name', '?')), _name(user))


def _login_shapes(users):
    """logins is a list (or none) of dictionaries, each with a name and no key but name, password and state."""
    problems = []
    wrong = [_name(user) for user in users if user.get('logins') is not None and (
        not is_list(user['logins']) or any(not isinstance(login, dict) or not isinstance(login.get('name'), string_types)
                                           or not login.get('name') for login in user['logins']))]
    if wrong:
        # The values are not shown: a login written as a string may hold its password.
        problems.append('In sasl_users_list, logins is a list of dictionaries (name, password, state), each with a '
                        'name; wrong for: %s.' % joined(wrong))
    unknown = ['%s (%s)' % (_label(user, login), ', '.join(sorted(as_text(key) for key in login if key not in LOGIN_KEYS)))
               for user in users for login in logins_of(user) if any(key not in LOGIN_KEYS for key in login)]
    if unknown:
        problems.append('In sasl_users_list, a login takes name, password and state only (it logs in in its '
                        "user's realm and sends as its user's addresses); unknown keys for: %s." % ', '.join(unknown))
    return problems


def _login_values(users, backend):
    """Names a backend takes; states present or absent, none present under an absent user; passwords."""
    problems = []
    logins = [(user, login) for user in users for login in logins_of(user) if isinstance(login.get('name'), string_types)]
    if backend == 'system':
        rule, pattern = "a name useradd takes ([a-z_][a-z0-9_.-], at most 32 characters)", SYSTEM_LOGIN
    else:
        rule, pattern = 'a user name without realm: no blank, control character, @, : or comma', SASLDB_LOGIN
    bad_names = ['%s of %s' % (shown([login['name']]), _name(user)) for user, login in logins
                 if login['name'] and not matches(pattern, login['name'])]
    if bad_names:
        problems.append('In sasl_users_list, a login name is %s; wrong for: %s.' % (rule, ', '.join(bad_names)))
    bad_states = ['%s (%s)' % (_label(user, login), shown([login['state']])) for user, login in logins
                  if 'state' in login and login['state'] not in ('present', 'absent')]
    if bad_states:
        problems.append("In sasl_users_list, a login's state is present or absent; wrong for: %s." % ', '.join(bad_states))
    contradicted = [_label(user, login) for user, login in logins
                    if state_of(user) == 'absent' and login.get('state') == 'present']
    if contradicted:
        problems.append('In sasl_users_list, a user with state absent is removed with all its logins, but these '
                        'logins say state present: %s. Remove their state, or the logins.' % joined(contradicted))
    present = [(user, login) for user, login in logins
               if state_of(user) == 'present' and state_of(login) == 'present']
    missing = [_label(user, login) for user, login in present if login.get('password') in (None, '')]
    if missing:
        problems.append('In sasl_users_list, each present login needs its own password; missing or empty for: '
                        '%s.' % joined(missing))
    forbidden = '\x00\r\n' if backend == 'system' else '\x00'
    bad_passwords = [_label(user, login) for user, login in present if login.get('password') not in (None, '') and (
        isinstance(login['password'], (dict, list)) or any(char in as_text(login['password']) for char in forbidden))]
    if bad_passwords:
        problems.append('In sasl_users_list, a login password is a string without NUL%s; wrong for: %s.' % (
            ' or line breaks (system accounts)' if backend == 'system' else '', joined(bad_passwords)))
    return problems


def _duplicates(v, users):
    """Each login (a user's own name or an extra login) once per realm; on system accounts, once."""
    backend = v['sasl_users_backend']
    seen = {}
    order = []
    for user in users:
        if not isinstance(user.get('name'), string_types):
            continue
        realm = '' if backend == 'system' else login_realm(user, backend, v['sasl_users_default_realm'])
        names = [(user['name'], 'user %s' % user['name'])]
        names += [(login['name'], 'login of %s' % user['name']) for login in logins_of(user)
                  if isinstance(login.get('name'), string_types)]
        for name, role in names:
            key = '%s@%s' % (name, realm) if realm else name
            if key not in seen:
                seen[key] = []
                order.append(key)
            seen[key].append(role)
    twice = ['%s (%s)' % (key, ', '.join(seen[key])) for key in order if len(seen[key]) > 1]
    if not twice:
        return []
    scope = 'unique (system accounts have no realm)' if backend == 'system' else 'unique in its realm'
    return ["In sasl_users_list, each login (a user's name, or one of its extra logins) must be %s; listed more than "
            'once: %s.' % (scope, ', '.join(twice))]


def sasl_users_problems(variables):
    """The problems of the sasl_users role's variables that need no host, as sentences; empty when there are none."""
    v = variables_of('sasl_users_problems', variables, NAMES)
    users = [user for user in as_list(v['sasl_users_list']) if isinstance(user, dict)]
    problems = _locked(users, v['sasl_users_backend'])
    problems += _login_shapes(users)
    problems += _login_values(users, v['sasl_users_backend'])
    problems += _duplicates(v, users)
    if v['sasl_users_sender_login_map']:
        problems += _sender_login_map(v, users)
    return problems


class FilterModule(object):
    def filters(self):
        return {'sasl_users_problems': sasl_users_problems}
