# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The sasl_users_problems filter (documented in sasl_users_problems.yml): the sasl_users role's host-free checks.

Users are named, with the address or aliases that are wrong; a password is
never part of a problem.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.mailstack.sasl_postfix.plugins.plugin_utils._checks import (
    as_list, as_text, is_list, joined, matches, shown, variables_of)

NAMES = ('sasl_users_list', 'sasl_users_backend', 'sasl_users_default_realm', 'sasl_users_sender_login_map')

# Map types lookup_table builds with postmap, and an absolute path.
SENDER_LOGIN_MAP = r'(hash|btree|lmdb|cdb|dbm|sdbm):/[^\s,]+\Z'
ADDRESS = r'[^\s@,"]+@[^\s@,"]+\Z'
# An alias is an address or a whole domain (@example.org).
ALIAS = r'([^\s@,"]+)?@[^\s@,"]+\Z'


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


def login_realm(user, backend, default_realm):
    """The realm a user logs in with (as __sasl_users_login_realms): saslauthd ignores the entry's realm."""
    if backend != 'sasldb':
        return default_realm or ''
    return user.get('realm') or default_realm or ''


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


def sasl_users_problems(variables):
    """The problems of the sasl_users role's variables that need no host, as sentences; empty when there are none."""
    v = variables_of('sasl_users_problems', variables, NAMES)
    users = [user for user in as_list(v['sasl_users_list']) if isinstance(user, dict)]
    problems = _locked(users, v['sasl_users_backend'])
    if v['sasl_users_sender_login_map']:
        problems += _sender_login_map(v, users)
    return problems


class FilterModule(object):
    def filters(self):
        return {'sasl_users_problems': sasl_users_problems}
