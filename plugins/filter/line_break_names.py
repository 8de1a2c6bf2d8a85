# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The line_break_names and line_break_problems filters (documented in line_break_names.yml, line_break_problems.yml)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence
from ansible.module_utils.six import string_types

_LINE_BREAK = re.compile(r'[\r\n]')


def _items(value):
    """A value's parts one level down: the keys and values of a dict, the items of a list, else the value itself."""
    if isinstance(value, dict):
        return list(value.keys()) + list(value.values())
    if is_sequence(value) and not isinstance(value, string_types):
        return list(value)
    return [value]


def has_line_break(value):
    """Whether `value`, one level of lists and dicts inside it or one level below that, holds a line break."""
    parts = []
    for item in _items(value):
        parts.extend(_items(item))
    return any(_LINE_BREAK.search(str(part)) for part in parts)


def line_break_names(variables):
    """The names (sorted) of the {name: value} entries whose value holds a line break; never the values."""
    if not isinstance(variables, dict):
        raise AnsibleFilterError('line_break_names takes a dictionary of variable names and values')
    return sorted(name for name, value in variables.items() if has_line_break(value))


def line_break_problems(variables, files):
    """The problem, as a one-sentence list, of the variables whose value holds a line break (named, never shown); [] if none."""
    names = line_break_names(variables)
    if not names:
        return []
    return ['These variables contain a line break, which would inject lines into %s: %s.' % (files, ', '.join(names))]


class FilterModule(object):
    def filters(self):
        return {'line_break_names': line_break_names, 'line_break_problems': line_break_problems}
