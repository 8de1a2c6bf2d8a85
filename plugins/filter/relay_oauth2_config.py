# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The relay_oauth2_config filter (documented in relay_oauth2_config.yml)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.mailstack.sasl_postfix.plugins.filter.postfix_relay_problems import credential_keys, relayhosts
from ansible_collections.mailstack.sasl_postfix.plugins.plugin_utils._checks import as_list, as_text, variables_of
from ansible_collections.mailstack.sasl_postfix.plugins.plugin_utils._oauth2 import refresh_account

NAMES = ('postfix_relay_credentials', 'postfix_relayhost', 'table', 'table_type', 'ca_file', 'secrets_dir', 'state_file')


def relay_oauth2_config(variables):
    """mailstack-oauth2-refresh's configuration for the oauth2 entries of postfix_relay_credentials, and its files."""
    v = variables_of('relay_oauth2_config', variables, NAMES)
    shared = relayhosts(v['postfix_relayhost'])
    accounts, files = [], []
    for entry in as_list(v['postfix_relay_credentials']):
        if not isinstance(entry, dict) or not entry.get('oauth2'):
            continue
        account, account_files = refresh_account(as_text(entry['username']), credential_keys([entry], shared),
                                                 entry['oauth2'], v['secrets_dir'])
        accounts.append(account)
        files.extend(account_files)
    config = dict(
        table=dict(path=v['table'], type=v['table_type']),
        postmap='/usr/sbin/postmap',
        state_file=v['state_file'],
        ca_file=v['ca_file'] or None,
        flush_command=['/usr/sbin/postqueue', '-f'],
        accounts=accounts,
    )
    return dict(config=config, files=files)


class FilterModule(object):
    def filters(self):
        return {'relay_oauth2_config': relay_oauth2_config}
