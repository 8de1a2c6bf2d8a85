# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The metrics_exporter_config filter (documented in metrics_exporter_config.yml): what the metrics role writes."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.mailstack.sasl_postfix.plugins.plugin_utils._checks import (
    as_bool, as_int, as_list, as_text, variables_of)
from ansible_collections.mailstack.sasl_postfix.plugins.plugin_utils._sasl_users import (
    login_realm, login_state, logins_of, state_of)

NAMES = ('metrics_listen_address', 'metrics_listen_port', 'metrics_ipv4_prefix', 'metrics_ipv6_prefix',
         'metrics_max_networks', 'metrics_postfix_unit', 'state_file', 'logins_file',
         'sasl_users_list', 'sasl_users_backend', 'sasl_users_default_realm',
         'send_limit_enabled', 'send_limit_message', 'fail2ban_enabled', 'cyrus_sasl_pwcheck_method',
         'metrics_summary_recipient', 'metrics_summary_sender')
# The systemd units of the services Postfix asks, when the playbook runs their roles.
SEND_LIMIT_UNIT = 'policyd-rate-limit.service'
SASLAUTHD_UNIT = 'saslauthd.service'
FAIL2BAN_UNIT = 'fail2ban.service'


def _logins(users, backend, default_realm):
    """The present logins (each user's and its extra logins), as Cyrus SASL reports them: name@realm, or name."""
    out = []
    for user in users:
        realm = login_realm(user, backend, default_realm)
        names = [user.get('name')] if state_of(user) == 'present' else []
        names += [login.get('name') for login in logins_of(user) if login_state(user, login) == 'present']
        for name in names:
            if name in (None, ''):
                continue
            login = as_text(name) if '@' in as_text(name) or not realm else '%s@%s' % (as_text(name), realm)
            if login not in out:
                out.append(login)
    return sorted(out)


def metrics_exporter_config(variables):
    """{'config': the exporter's JSON config as a dict, 'logins': the logins file's lines}."""
    v = variables_of('metrics_exporter_config', variables, NAMES)
    users = [user for user in as_list(v['sasl_users_list']) if isinstance(user, dict)]
    services = {'postfix': as_text(v['metrics_postfix_unit'])}
    send_limit = as_bool(v['send_limit_enabled'])
    if send_limit:
        services['send_limit'] = SEND_LIMIT_UNIT
    if as_text(v['cyrus_sasl_pwcheck_method']) == 'saslauthd':
        services['saslauthd'] = SASLAUTHD_UNIT
    if as_bool(v['fail2ban_enabled']):
        services['fail2ban'] = FAIL2BAN_UNIT
    config = {
        'listen_address': as_text(v['metrics_listen_address']),
        'listen_port': as_int(v['metrics_listen_port']),
        'ipv4_prefix': as_int(v['metrics_ipv4_prefix']),
        'ipv6_prefix': as_int(v['metrics_ipv6_prefix']),
        'max_networks': as_int(v['metrics_max_networks']),
        'state_file': as_text(v['state_file']),
        'logins_file': as_text(v['logins_file']),
        'send_limit_message': as_text(v['send_limit_message']) if send_limit else None,
        'services': services,
        # The daily summary's addresses (--summary ... --mail); None: no recipient, the default sender.
        'summary_recipient': as_text(v['metrics_summary_recipient']) if v['metrics_summary_recipient'] else None,
        'summary_sender': as_text(v['metrics_summary_sender']) if v['metrics_summary_sender'] else None,
    }
    logins = _logins(users, as_text(v['sasl_users_backend']), as_text(v['sasl_users_default_realm'] or ''))
    return {'config': config, 'logins': logins}


class FilterModule(object):
    def filters(self):
        return {'metrics_exporter_config': metrics_exporter_config}
