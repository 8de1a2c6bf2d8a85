# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fail2ban_problems filter (documented in fail2ban_problems.yml): the fail2ban role's host-free checks."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.mailstack.sasl_postfix.plugins.plugin_utils._checks import (
    as_int, as_list, as_text, is_boolean, matches, shown, variables_of)

THRESHOLDS = ('fail2ban_postfix_sasl_maxretry', 'fail2ban_postfix_sasl_findtime', 'fail2ban_postfix_sasl_bantime')
NAMES = THRESHOLDS + ('fail2ban_postfix_sasl_ports', 'fail2ban_postfix_sasl_ignoreip', '__fail2ban_address_pattern',
                      'fail2ban_log_to_journal')


def fail2ban_problems(variables):
    """The problems of the fail2ban role's variables that need no host, as sentences; empty when there are none."""
    v = variables_of('fail2ban_problems', variables, NAMES)
    problems = []
    low = ['%s (%s)' % (name, as_text(v[name])) for name in THRESHOLDS if as_int(v[name]) < 1]
    if low:
        problems.append('fail2ban settings: fail2ban_postfix_sasl_maxretry, fail2ban_postfix_sasl_findtime and '
                        'fail2ban_postfix_sasl_bantime must be 1 or more; %s is not.' % ', '.join(low))
    ports = as_list(v['fail2ban_postfix_sasl_ports'])
    bad_ports = [port for port in ports if not 1 <= as_int(port) <= 65535]
    if not ports or bad_ports:
        problems.append('fail2ban settings: fail2ban_postfix_sasl_ports must list ports from 1 to 65535 (%s).'
                        % ('wrong: ' + shown(bad_ports) if bad_ports else 'it is empty'))
    bad_addresses = [address for address in as_list(v['fail2ban_postfix_sasl_ignoreip'])
                     if not matches(v['__fail2ban_address_pattern'], address)]
    if bad_addresses:
        problems.append('fail2ban settings: fail2ban_postfix_sasl_ignoreip takes IPv4 or IPv6 addresses or networks (wrong: %s).'
                        % shown(bad_addresses))
    if not is_boolean(v['fail2ban_log_to_journal']):
        problems.append('fail2ban settings: fail2ban_log_to_journal is true (fail2ban logs to the journal) or false '
                        '(got %s).' % shown([v['fail2ban_log_to_journal']]))
    return problems


class FilterModule(object):
    def filters(self):
        return {'fail2ban_problems': fail2ban_problems}
