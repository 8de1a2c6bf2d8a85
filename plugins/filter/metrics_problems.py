# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The metrics_problems filter (documented in metrics_problems.yml): the metrics role's host-free checks."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import re

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.module_utils.six import integer_types, string_types

from ansible_collections.mailstack.sasl_postfix.plugins.plugin_utils._checks import as_bool, as_text, shown, variables_of

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
# The daily summary (mailed by a timer).
SUMMARY = ('metrics_summary_enabled', 'metrics_summary_recipient', 'metrics_summary_sender',
           'metrics_summary_on_calendar')
NAMES = ('metrics_listen_address', 'metrics_postfix_unit', 'metrics_alert_rules_path') + tuple(NUMBERS) + DURATIONS \
    + SUMMARY
UNIT = re.compile(r'[A-Za-z0-9:_.@-]+\.service\Z')
# A Prometheus duration (units in this order, each at most once), not 0.
DURATION = re.compile(r'(?=.)([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?\Z')
# One mail address: an RFC 5322 dot-atom local part, @, a domain name (no display name, comment, quotes or blank).
ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
LABEL = r'[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?'
ADDRESS = re.compile(r'%s(\.%s)*@%s(\.%s)*\Z' % (ATOM, ATOM, LABEL, LABEL))
# A systemd calendar event is checked on the host (systemd-analyze calendar); here only its shape.
CONTROL = re.compile(r'[\x00-\x1f\x7f]')


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
    return problems + _summary_problems(v)


def _is_boolean(value):
    """Whether a value is one Ansible reads as a boolean (true, false, yes, no, on, off, 1, 0, ...)."""
    try:
        boolean(value, strict=True)
    except TypeError:
        return False
    return True


def _is_address(value):
    return isinstance(value, string_types) and ADDRESS.match(value) is not None


def _summary_problems(v):
    problems = []
    enabled = v['metrics_summary_enabled']
    if not _is_boolean(enabled):
        problems.append('metrics_summary_enabled is true (mail a daily summary) or false (got %s).' % shown([enabled]))
    recipient = v['metrics_summary_recipient']
    if recipient in (None, ''):
        if _is_boolean(enabled) and as_bool(enabled):
            problems.append('metrics_summary_recipient is needed with metrics_summary_enabled: the mail address the '
                            'daily summary is sent to, such as postmaster@example.org (got %s).' % shown([recipient]))
    elif not _is_address(recipient):
        problems.append('metrics_summary_recipient is one mail address such as postmaster@example.org, without a '
                        'name, blank or line break (got %s).' % shown([recipient]))
    sender = v['metrics_summary_sender']
    if sender not in (None, '') and not _is_address(sender):
        problems.append('metrics_summary_sender is empty (mailstack-metrics@ Postfix\'s myhostname) or one mail '
                        'address such as reports@example.org (got %s).' % shown([sender]))
    calendar = v['metrics_summary_on_calendar']
    if not isinstance(calendar, string_types) or not calendar.strip() or CONTROL.search(calendar):
        problems.append('metrics_summary_on_calendar is a systemd calendar event on one line, such as '
                        '"*-*-* 06:00:00" or "daily" (got %s).' % shown([calendar]))
    return problems


class FilterModule(object):
    def filters(self):
        return {'metrics_problems': metrics_problems}
