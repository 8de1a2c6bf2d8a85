# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The sasl_users role's user list read once: accounts, logins and sender owners (private API).

An entry of sasl_users_list is one user: its own login (``name``) and,
optionally, extra logins (``logins``: app passwords, one per device), each a
SASL user of its own in the user's realm (sasldb) or a system account of its
own (system backend). The helpers here flatten the list into the accounts a
backend provisions and compute which logins own which sender addresses. They
take a list that the sasl_users_problems checks accepted.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.mailstack.sasl_postfix.plugins.plugin_utils._checks import as_list, as_text

# The keys the sasldb_users module takes for a user.
SASLDB_KEYS = ('name', 'realm', 'password', 'state')
# The keys tasks/system.yml reads of an account.
SYSTEM_KEYS = ('name', 'password', 'state', 'locked', 'home', 'create_home')
# The keys of an extra login.
LOGIN_KEYS = ('name', 'password', 'state')


def state_of(entry):
    """An entry's state: present unless it says otherwise."""
    return entry.get('state') or 'present'


def login_realm(user, backend, default_realm):
    """The realm a user (and its extra logins) logs in with: saslauthd ignores the entry's realm."""
    if backend != 'sasldb':
        return default_realm or ''
    return user.get('realm') or default_realm or ''


def logins_of(user):
    """The extra logins (dictionaries) of a user entry; [] when it has none."""
    return [login for login in as_list(user.get('logins')) if isinstance(login, dict)]


def login_state(user, login):
    """An extra login's state: absent with its user, else its own."""
    return 'absent' if state_of(user) == 'absent' else state_of(login)


def accounts(users, backend, default_realm):
    """The users and their extra logins as one flat list of accounts, each state explicit.

    sasldb: the keys the sasldb_users module takes, the default realm filled
    in, an extra login in its user's realm. system: the keys of an account;
    an extra login is an account without a home directory, locked with its
    user. An absent user takes its logins with it.
    """
    out = []
    for user in users:
        if backend == 'sasldb':
            account = dict((key, user[key]) for key in SASLDB_KEYS if key in user)
            realm = user.get('realm') or default_realm
            account.pop('realm', None)
            if realm:
                account['realm'] = realm
        else:
            account = dict((key, user[key]) for key in SYSTEM_KEYS if key in user)
        account['state'] = state_of(user)
        out.append(account)
        for login in logins_of(user):
            extra = dict((key, login[key]) for key in ('name', 'password') if key in login)
            extra['state'] = login_state(user, login)
            if backend == 'sasldb':
                if realm:
                    extra['realm'] = realm
            else:
                extra['create_home'] = False
                if 'locked' in user:
                    extra['locked'] = user['locked']
            out.append(extra)
    return out


def _unique(values):
    seen = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def sender_owners(users, backend, default_realm):
    """{sender address (lower case, as postmap folds keys): [the logins that own it]}.

    Each present user owns its address (default name@realm) and its aliases;
    the owners are its own login and each present extra login, as
    login@realm and, in the default realm (or with no realm at all), the bare
    login too (Postfix hands Cyrus login@smtpd_sasl_local_domain for it). An
    address that several users list is owned by all of them.
    """
    owners = {}
    for user in users:
        if state_of(user) != 'present':
            continue
        realm = login_realm(user, backend, default_realm)
        names = [as_text(user['name'])] + [as_text(login['name']) for login in logins_of(user)
                                           if login_state(user, login) == 'present']
        logins = []
        for name in names:
            if realm:
                logins.append('%s@%s' % (name, realm))
            if realm in ('', default_realm):
                logins.append(name)
        own = user.get('address') or ('%s@%s' % (as_text(user['name']), realm) if realm else '')
        for address in [own] + as_list(user.get('aliases')):
            if address:
                key = as_text(address).lower()
                owners[key] = _unique(owners.get(key, []) + logins)
    return owners
