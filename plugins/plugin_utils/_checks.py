# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Helpers of the role validators, the *_problems filters (private API).

Each validator takes a role's variables as a dictionary and returns its
problems as sentences. These helpers read the values as the roles' Jinja
did (``| bool``, ``| int``, ``| string``, the ``match`` test) and show a
wrong value as JSON, so that blanks and line breaks can be seen.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

from jinja2 import Undefined

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.module_utils.six import string_types


def variables_of(filter_name, variables, names):
    """`variables` checked to be a dict holding every one of `names`; a missing one is named."""
    if isinstance(variables, Undefined):
        # ansible-core before 2.19 hands over an undefined dictionary when one of its values is undefined:
        # its error names the variable.
        str(variables)
    if not isinstance(variables, dict):
        raise AnsibleFilterError('%s takes a dictionary of variable names and values' % filter_name)
    missing = [name for name in names if name not in variables]
    if missing:
        raise AnsibleFilterError('%s needs the variables %s' % (filter_name, ', '.join(missing)))
    return variables


def as_bool(value):
    """A value as the `bool` filter reads it: true, yes, on, 1... are true, anything else false."""
    return boolean(value, strict=False)


def is_boolean(value):
    """Whether a value is one Ansible reads as a boolean (true, false, yes, no, on, off, 1, 0, ...)."""
    try:
        boolean(value, strict=True)
    except TypeError:
        return False
    return True


def as_int(value):
    """A value as the `int` filter reads it: a number, or 0 when it is none."""
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return 0


def as_text(value):
    """A value as the `string` filter writes it (None is 'None', a list its Python form)."""
    return to_text(value, errors='surrogate_or_strict', nonstring='simplerepr')


def is_list(value):
    """Whether a value is a list (not a string, not a dictionary)."""
    return is_sequence(value) and not isinstance(value, string_types)


def as_list(value):
    """A list as it is; a string or any other single value as a list of it; none (None) as []."""
    if value is None:
        return []
    return list(value) if is_list(value) else [value]


def matches(pattern, value):
    """The `match` test: whether `pattern` matches at the start of the value written as text."""
    return re.match(pattern, as_text(value)) is not None


def shown(values, empty='none'):
    """Values for a message, each as JSON (quotes, and escapes for blanks and line breaks); `empty` for none."""
    return ', '.join(json.dumps(value, sort_keys=True, default=as_text) for value in values) or empty


def joined(names, empty='none'):
    """Names for a message, comma-separated; `empty` for none."""
    return ', '.join(as_text(name) for name in names) or empty
