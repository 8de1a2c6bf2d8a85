# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The postfix_submission_options filter (documented in postfix_submission_options.yml).

What the postfix role writes into master.cf for its submission services (587,
465) and their cleanup service, decided from the role's variables and the
installed Postfix's version. The variables are read as the role's Jinja read
them (``| bool``, ``| string``, ``join``), so the master.cf is the same.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_iterable
from ansible.module_utils.compat.version import LooseVersion
from ansible.module_utils.six import string_types

from ansible_collections.mailstack.sasl_postfix.plugins.plugin_utils._checks import (
    as_bool, as_list, as_text, variables_of)

NAMES = (
    '__postfix_mail_version',
    'postfix_submission_enabled',
    'postfix_submissions_enabled',
    'postfix_submission_hide_client_session',
    'postfix_submission_log_sasl_login',
    'postfix_submission_sender_restrictions',
    'postfix_submission_policy_services',
    'postfix_submission_data_policy_services',
    'postfix_smtpd_recipient_restrictions',
    'postfix_main_cf_extra',
    '__postfix_submission_cleanup_service',
    '__postfix_submission_header_checks_file',
    '__postfix_submission_login_info_file',
)

# smtpd_hide_client_session came with Postfix 3.10; before it, the services
# get a cleanup service of their own whose header_checks rewrite the header.
HIDE_CLIENT_SESSION_MIN_VERSION = '3.10'
# Postfix 3.10 ends its reject records with the client's login (sasl_method=...
# sasl_username=..., seen on Debian 13): the INFO line is needed before it only.
RECORD_LOGIN_MIN_VERSION = '3.10'


def _older_than(mail_version, minimum):
    """Whether the installed Postfix (its mail_version) is older than `minimum`, as the `version` test compares."""
    text = as_text(mail_version if mail_version is not None else '')
    if not text:
        raise AnsibleFilterError('postfix_submission_options needs __postfix_mail_version, the installed Postfix '
                                 'version (got "%s")' % text)
    try:
        return LooseVersion(text) < LooseVersion(minimum)
    except TypeError:
        raise AnsibleFilterError('postfix_submission_options cannot compare __postfix_mail_version "%s" with %s'
                                 % (text, minimum))


def _parameter_list(value):
    """A main.cf parameter of postfix_main_cf_extra given as one string or a list, as its non-empty items."""
    if isinstance(value, string_types):
        items = [value]
    elif is_iterable(value):
        items = list(value)
    else:
        # None and false are none; any other single value is one item.
        items = [value] if value else []
    return [text for text in (as_text(item) for item in items) if text]


def _policy_checks(services):
    return ['check_policy_service ' + as_text(service) for service in as_list(services)]


def _joined(items, separator=', '):
    return separator.join(as_text(item) for item in items)


def postfix_submission_options(variables):
    """{privacy, privacy_args, login_info, policy_args, cleanup_args} of the submission services."""
    v = variables_of('postfix_submission_options', variables, NAMES)
    version = v['__postfix_mail_version']
    extra = v['postfix_main_cf_extra'] if isinstance(v['postfix_main_cf_extra'], dict) else {}

    # How the services keep the client out of the Received header they add.
    enabled = as_bool(v['postfix_submission_enabled']) or as_bool(v['postfix_submissions_enabled'])
    if not (as_bool(v['postfix_submission_hide_client_session']) and enabled):
        privacy, privacy_args = 'none', []
    else:
        if _older_than(version, HIDE_CLIENT_SESSION_MIN_VERSION):
            privacy, first = 'cleanup', '-o cleanup_service_name=' + as_text(v['__postfix_submission_cleanup_service'])
        else:
            privacy, first = 'smtpd', '-o smtpd_hide_client_session=yes'
        # The login is never written in their Received header, whatever main.cf says.
        privacy_args = [first, '-o smtpd_sasl_authenticated_header=no']

    login_info = (as_bool(v['postfix_submission_log_sasl_login'])
                  and _older_than(version, RECORD_LOGIN_MIN_VERSION))

    # After the services' TLS and SASL options: the sender login check and the policy services.
    policy_args = []
    sender = as_list(v['postfix_submission_sender_restrictions'])
    if sender:
        policy_args.append('-o smtpd_sender_restrictions=' + _joined(sender, ','))
    recipient_checks = ((['check_sasl_access regexp:' + as_text(v['__postfix_submission_login_info_file'])]
                         if login_info else [])
                        + _policy_checks(v['postfix_submission_policy_services']))
    if recipient_checks:
        policy_args.append('-o { smtpd_recipient_restrictions = %s }'
                           % _joined(as_list(v['postfix_smtpd_recipient_restrictions']) + recipient_checks))
    data_checks = _policy_checks(v['postfix_submission_data_policy_services'])
    if data_checks:
        # An override cannot name $smtpd_data_restrictions (Postfix reads it as the override): main.cf's are repeated.
        policy_args.append('-o { smtpd_data_restrictions = %s }'
                           % _joined(_parameter_list(extra.get('smtpd_data_restrictions')) + data_checks))

    # The cleanup service of the services (used before Postfix 3.10): the role's table, then the user's;
    # attached messages (nested_header_checks, by default $header_checks) get the user's only.
    header_checks = _parameter_list(extra.get('header_checks'))
    nested = extra.get('nested_header_checks')
    nested = header_checks if nested is None else _parameter_list(nested)
    cleanup_args = [
        '-o { header_checks = %s }'
        % _joined(['regexp:' + as_text(v['__postfix_submission_header_checks_file'])] + header_checks),
        '-o { nested_header_checks = %s }' % _joined(nested) if nested else '-o nested_header_checks=',
    ]

    return {'privacy': privacy, 'privacy_args': privacy_args, 'login_info': login_info,
            'policy_args': policy_args, 'cleanup_args': cleanup_args}


class FilterModule(object):
    def filters(self):
        return {'postfix_submission_options': postfix_submission_options}
