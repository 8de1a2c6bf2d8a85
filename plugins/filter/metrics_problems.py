# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The metrics_problems filter (documented in metrics_problems.yml): the metrics role's host-free checks."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import re

from ansible.module_utils.six import integer_types, string_types

from ansible_collections.mailstack.sasl_postfix.plugins.plugin_utils._checks import as_text, shown, variables_of

# name -> (lowest, highest): whole numbers (a string of digits is one, as the role's `| int` reads it).
NUMBERS = {
    'metrics_listen_port': (1, 65535),
    'metrics_ipv4_prefix': (0, 32),
    'metrics_ipv6_prefix': (0, 128),
    'metrics_max_networks': (1, None),
    'metrics_alert_auth_failures': (0, None),
    'metrics_alert_login_failures': (0, None),
    'metrics_alert_sending_factor': (1, None),
    'metrics_alert_sending_min_recipients': (0, None),
    'metrics_alert_deferred_min': (0, None),
    'metrics_alert_deferred_growth': (1, None),
}
DURATIONS = ('metrics_alert_auth_window', 'metrics_alert_sending_window', 'metrics_alert_sending_baseline',
             'metrics_alert_deferred_window', 'metrics_alert_down_for')
NAMES = ('metrics_listen_address', 'metrics_postfix_unit', 'metrics_alert_rules_path') + tuple(NUMBERS) + DURATIONS
UNIT = re.compile(r'[A-Za-z0-9:_.@-]+\.service\Z')
# A Prometheus duration (units in this order, each at most once), not 0.
DURATION = re.compile(r'(?=.)([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?\Z')


def _whole(value):
    """The whole number a value stands for, or None (a bool, a fraction, text that is no number)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, integer_types):
        return value
    if isinstance(value, string_types) and re.match(r'[0-9]+\Z', value):
        return int(value)
    return None


def _range(lowest, highest):
    if highest is None:
        return '%d or more' % lowest
    return 'from %d to %d' % (lowest, highest)


def metrics_problems(variables):
    """The problems of the metrics role's variables that need no host, as sentences; empty when there are none."""
    v = variables_of('metrics_problems', variables, NAMES)
    problems = []
    address = v['metrics_listen_address']
    try:
        ipaddress.ip_address(as_text(address) if isinstance(address, string_types) else None)
    except ValueError:
        problems.append('metrics_listen_address is an IPv4 or IPv6 address, not a name (got %s).' % shown([address]))
    unit = v['metrics_postfix_unit']
    if not isinstance(unit, string_types) or not UNIT.match(unit):
        problems.append('metrics_postfix_unit is a systemd service unit, such as postfix@-.service (got %s).'
                        % shown([unit]))
    path = v['metrics_alert_rules_path']
    if not isinstance(path, string_types) or not path.startswith('/') or path.endswith('/') or re.search(r'[\s]', path):
        problems.append('metrics_alert_rules_path is an absolute file path without blanks (got %s).' % shown([path]))
    for name, (lowest, highest) in NUMBERS.items():
        number = _whole(v[name])
        if number is None or number < lowest or (highest is not None and number > highest):
            problems.append('%s is a whole number %s (got %s).' % (name, _range(lowest, highest), shown([v[name]])))
    for name in DURATIONS:
        value = v[name]
        if not isinstance(value, string_types) or not DURATION.match(value) or not re.search(r'[1-9]', value):
            problems.append('%s is a Prometheus duration longer than 0, such as 10m, 1h or 7d (got %s).'
                            % (name, shown([value])))
    return problems


class FilterModule(object):
    def filters(self):
        return {'metrics_problems': metrics_problems}
