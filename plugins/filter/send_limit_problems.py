# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The send_limit_problems filter (documented in send_limit_problems.yml): the send_limit role's host-free checks."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.module_utils.six import string_types

from ansible_collections.mailstack.sasl_postfix.plugins.plugin_utils._checks import (
    as_list, as_text, is_list, matches, shown, variables_of)

NAMES = ('send_limit_limits', 'send_limit_per_login', 'send_limit_message')

RECIPIENTS = r'[0-9]+\Z'
SECONDS = r'[1-9][0-9]*\Z'
# A login as the policyd-rate-limit configuration takes it: not empty, no blank, comma, colon or quote.
LOGIN_SEPARATOR = re.compile(r'[\s,:"]')


def _flat(value):
    """A list and the lists inside it as one list of their items (the `flatten` filter); another value as a list of it."""
    if not is_list(value):
        return [value]
    items = []
    for item in value:
        items.extend(_flat(item))
    return items


def _is_limit(limit):
    return (isinstance(limit, dict) and matches(RECIPIENTS, limit.get('recipients', 'x'))
            and matches(SECONDS, limit.get('seconds', 'x')))


def send_limit_problems(variables):
    """The problems of the send_limit role's variables that need no host, as sentences; empty when there are none."""
    v = variables_of('send_limit_problems', variables, NAMES)
    problems = []
    limits, per_login = v['send_limit_limits'], v['send_limit_per_login']
    if isinstance(limits, string_types) or not as_list(limits):
        problems.append('send_limit_limits is a non-empty list of limits (got %s).' % shown([limits]))
        limits = []
    if not isinstance(per_login, dict):
        problems.append('send_limit_per_login maps logins to lists of limits (got %s).' % shown([per_login]))
        per_login = {}
    in_strings = [login for login, value in per_login.items() if isinstance(value, string_types)]
    if in_strings:
        problems.append('send_limit_per_login maps logins to lists of limits, not strings (wrong for: %s).' % shown(in_strings))
    bad_logins = [login for login in per_login if as_text(login) == '' or LOGIN_SEPARATOR.search(as_text(login))]
    if bad_logins:
        problems.append('send_limit_per_login: a login has no spaces, commas, colons or quotes and is not empty (wrong: %s).'
                        % shown(bad_logins))
    all_limits = as_list(limits) + _flat([value for value in per_login.values() if not isinstance(value, string_types)])
    bad_limits = [limit for limit in all_limits if not _is_limit(limit)]
    if bad_limits:
        problems.append('A limit of send_limit_limits or send_limit_per_login is {recipients: N, seconds: S} with N 0 or more '
                        'and S 1 or more (wrong: %s).' % shown(bad_limits))
    if as_text(v['send_limit_message'] or '') == '':
        problems.append('send_limit_message must not be empty.')
    return problems


class FilterModule(object):
    def filters(self):
        return {'send_limit_problems': send_limit_problems}
