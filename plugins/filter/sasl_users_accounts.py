# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The sasl_users_accounts and sasl_users_sender_logins filters (documented in their .yml files).

Both read the sasl_users role's variables, once checked by the
sasl_users_problems filter: the accounts a backend provisions (users and their
extra logins, flat) and the entries of the sender login map.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.mailstack.sasl_postfix.plugins.plugin_utils._checks import as_list, variables_of
from ansible_collections.mailstack.sasl_postfix.plugins.plugin_utils._sasl_users import accounts, sender_owners

NAMES = ('sasl_users_list', 'sasl_users_backend', 'sasl_users_default_realm')


def _read(filter_name, variables):
    v = variables_of(filter_name, variables, NAMES)
    users = [user for user in as_list(v['sasl_users_list']) if isinstance(user, dict)]
    return users, v['sasl_users_backend'], v['sasl_users_default_realm'] or ''


def sasl_users_accounts(variables):
    """The users and their extra logins as the flat list of accounts the backend provisions (holds the passwords)."""
    return accounts(*_read('sasl_users_accounts', variables))


def sasl_users_sender_logins(variables):
    """The sender login map's entries, [{key: address, value: 'login, login, ...'}], sorted by address."""
    owners = sender_owners(*_read('sasl_users_sender_logins', variables))
    return [{'key': key, 'value': ', '.join(owners[key])} for key in sorted(owners)]


class FilterModule(object):
    def filters(self):
        return {'sasl_users_accounts': sasl_users_accounts, 'sasl_users_sender_logins': sasl_users_sender_logins}
