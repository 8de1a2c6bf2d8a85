# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The postfix_problems filter (documented in postfix_problems.yml): the postfix role's host-free checks."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.module_utils.six import integer_types, string_types

from ansible_collections.mailstack.sasl_postfix.plugins.filter.line_break_names import has_line_break
from ansible_collections.mailstack.sasl_postfix.plugins.plugin_utils._checks import (
    as_bool, as_int, as_list, as_text, is_boolean, is_list, joined, matches, shown, variables_of)

NAMES = (
    'postfix_main_cf_extra',
    '__postfix_main_cf_managed',
    'postfix_master_cf_services',
    'postfix_myhostname',
    'postfix_smtpd_tls_cert_file',
    'postfix_smtpd_tls_key_file',
    'postfix_tls_renewal_hook',
    'postfix_tls_renewal_hook_names',
    'postfix_submission_policy_services',
    'postfix_submission_data_policy_services',
    'postfix_submission_sender_restrictions',
    'postfix_tls_selfsigned_valid_days',
    'postfix_tls_selfsigned_renew_days',
    'postfix_submission_tls_ciphers',
    'postfix_submission_recipient_limit',
    'postfix_submission_hide_client_session',
    'postfix_submission_log_sasl_login',
    'postfix_tls_sni_certificates',
)

# Mozilla's intermediate profile caps a certificate's lifetime at 366 days.
TLS_SELFSIGNED_MAX_DAYS = 366
MAIN_CF_NAME = r'[A-Za-z0-9_]+\Z'
SERVICE_NAME = r'[A-Za-z0-9._:\[\]-]+\Z'
SERVICE_TYPES = ('inet', 'unix', 'unix-dgram', 'fifo', 'pass')
SERVICE_STATES = ('present', 'absent')
PORT = r'(.*:)?[0-9]+\Z'
# A host name of a certificate the renewal tool writes, a wildcard allowed.
HOOK_NAME = r'[A-Za-z0-9*][A-Za-z0-9.-]*\Z'
# A policy service endpoint: unix:name (below the queue directory) or inet:host:port.
POLICY_SERVICE = r'(unix:[A-Za-z0-9._/-]+|inet:(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]+)\Z'
RESTRICTION_SEPARATOR = re.compile(r'[\s,{}]')
# A name TLS clients ask for (SNI): a DNS name of letters, digits and hyphens
# (IDNs as A-labels), no wildcard, no trailing dot, at most 253 characters.
SNI_LABEL = r'[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
SNI_NAME = r'(?=.{1,253}\Z)%s(\.%s)*\Z' % (SNI_LABEL, SNI_LABEL)
SNI_KEYS = ('names', 'cert_file', 'key_file')
WHOLE_NUMBER = r'[0-9]+\Z'
# A host name as the submission services' header_checks table matches it
# (before Postfix 3.10): letters, digits, dots, hyphens, underscores, and
# main.cf parameters ($mydomain, ${mydomain}), with which it matches any name.
RECEIVED_BY_NAME = r'([A-Za-z0-9._-]|\$\{?[A-Za-z0-9_]+\}?)+\Z'


def _main_cf_extra(extra, managed):
    if not isinstance(extra, dict):
        return ['postfix_main_cf_extra is a dictionary of main.cf parameter names and values (got %s).' % shown([extra])]
    problems = []
    bad_names = [name for name in extra if not matches(MAIN_CF_NAME, name)]
    if bad_names:
        problems.append("postfix_main_cf_extra: parameter names are letters, digits and '_' (wrong: %s)." % shown(bad_names))
    line_breaks = [as_text(name) for name, value in extra.items() if has_line_break(value)]
    if line_breaks:
        problems.append('postfix_main_cf_extra: values must not contain newlines (they do for: %s).' % joined(line_breaks))
    taken = [as_text(name) for name in extra if name in managed]
    if taken:
        problems.append('postfix_main_cf_extra: these parameters are managed by role variables, set those instead: %s.'
                        % joined(taken))
    return problems


def _service_faults(item):
    """What is wrong with one postfix_master_cf_services entry, as short phrases (none when it is valid)."""
    if not isinstance(item, dict):
        return ['not a dictionary']
    faults = []
    if item.get('name') is None or not matches(SERVICE_NAME, item['name']):
        faults.append("no name of letters, digits and . _ : [ ] -")
    if item.get('type') not in SERVICE_TYPES:
        faults.append('no type of %s' % ', '.join(SERVICE_TYPES))
    state = item.get('state', 'present')
    if state not in SERVICE_STATES:
        faults.append('state %s' % shown([state]))
    elif state == 'present' and 'command' not in item:
        faults.append('no command')
    if any(has_line_break(arg) for arg in as_list(item.get('args'))):
        faults.append('a newline in args')
    port = as_text(item.get('name', ''))
    if item.get('type') == 'inet' and matches(PORT, port) and not 1 <= int(port.split(':')[-1]) <= 65535:
        faults.append('port not from 1 to 65535')
    return faults


def _master_cf_services(services):
    bad = []
    for item in as_list(services):
        faults = _service_faults(item)
        if faults:
            name = item.get('name', '?') if isinstance(item, dict) else '?'
            kind = item.get('type', '?') if isinstance(item, dict) else '?'
            bad.append('%s/%s (%s)' % (as_text(name), as_text(kind), ', '.join(faults)))
    if not bad:
        return []
    return ['postfix_master_cf_services entries %s: each needs a name, a type (%s), a command unless state is absent, '
            'args without newlines, and for inet a port from 1 to 65535.' % ('; '.join(bad), ', '.join(SERVICE_TYPES))]


def _tls(v):
    problems = []
    cert, key = v['postfix_smtpd_tls_cert_file'], v['postfix_smtpd_tls_key_file']
    if (cert == '') != (key == ''):
        problems.append('Set both postfix_smtpd_tls_cert_file and postfix_smtpd_tls_key_file, or neither (then a self-signed '
                        'pair is generated); postfix_smtpd_tls_cert_file is %s, postfix_smtpd_tls_key_file is %s.'
                        % (shown([cert]), shown([key])))
    elif as_bool(v['postfix_tls_renewal_hook']) and cert == '':
        problems.append('postfix_tls_renewal_hook needs both postfix_smtpd_tls_cert_file and postfix_smtpd_tls_key_file '
                        '(the pair the renewal tool writes); both are empty.')
    bad_names = [name for name in as_list(v['postfix_tls_renewal_hook_names']) if not matches(HOOK_NAME, name)]
    if bad_names:
        problems.append('postfix_tls_renewal_hook_names takes host names (wrong: %s).' % shown(bad_names))
    return problems


def _sni_entry_faults(item):
    """What is wrong with one postfix_tls_sni_certificates entry, as short phrases (none when it is valid)."""
    if not isinstance(item, dict):
        return ['not a dictionary']
    faults = []
    unknown = sorted(as_text(key) for key in item if key not in SNI_KEYS)
    if unknown:
        faults.append('unknown keys %s' % joined(unknown))
    names = item.get('names')
    if not is_list(names) or not names:
        faults.append('no list of names')
    else:
        bad = [name for name in names if not isinstance(name, string_types) or not matches(SNI_NAME, name)]
        if bad:
            faults.append('names that are no DNS names (no wildcards) %s' % shown(bad))
    for key in ('cert_file', 'key_file'):
        path = item.get(key)
        if not isinstance(path, string_types) or not path.startswith('/') or re.search(r'\s', path):
            faults.append('%s %s not an absolute path without blanks' % (key, shown([path])))
    return faults


def _entry_label(index, item):
    names = item.get('names') if isinstance(item, dict) else None
    first = names[0] if is_list(names) and names else None
    return '[%d]' % index + (' (%s)' % as_text(first) if first is not None else '')


def _tls_sni(v):
    """postfix_tls_sni_certificates: its entries, and what it needs of the default pair."""
    certificates = v['postfix_tls_sni_certificates']
    if not is_list(certificates):
        return ['postfix_tls_sni_certificates is a list of entries with names, cert_file and key_file (got %s).'
                % shown([certificates])]
    if not certificates:
        return []
    problems = []
    # With the hook and no pair, _tls says what is missing.
    if not as_bool(v['postfix_tls_renewal_hook']):
        problems.append('postfix_tls_sni_certificates needs postfix_tls_renewal_hook: true, with postfix_smtpd_tls_cert_file '
                        'and postfix_smtpd_tls_key_file (the certificate for clients that ask for another name or none): '
                        'the hook checks and deploys each pair and rebuilds the table after each renewal.')
    bad = []
    for index, item in enumerate(certificates):
        faults = _sni_entry_faults(item)
        if faults:
            bad.append('%s (%s)' % (_entry_label(index, item), ', '.join(faults)))
    if bad:
        problems.append('postfix_tls_sni_certificates entries %s: each needs names (DNS names clients ask for), and '
                        'cert_file and key_file on the host.' % '; '.join(bad))
        return problems
    seen, twice = set(), []
    for item in certificates:
        for name in set(name.lower() for name in item['names']):
            if name in seen:
                twice.append(name)
            seen.add(name)
    if twice:
        problems.append('postfix_tls_sni_certificates: a name belongs to one entry only (in more than one: %s).'
                        % joined(sorted(set(twice))))
    defaults = set(as_text(name).lower() for name in [v['postfix_myhostname']] + as_list(v['postfix_tls_renewal_hook_names']))
    taken = sorted(seen & defaults)
    if taken:
        problems.append('postfix_tls_sni_certificates: %s already served by the default certificate (postfix_myhostname, '
                        'postfix_tls_renewal_hook_names); leave them out.' % joined(taken))
    return problems


def _is_count(value):
    """Whether a value is a whole number of at least 1, as an int or as digits (not a bool, not a float)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, integer_types):
        return value >= 1
    return isinstance(value, string_types) and matches(WHOLE_NUMBER, value) and int(value) >= 1


def _submission(v):
    problems = []
    for name in ('postfix_submission_policy_services', 'postfix_submission_data_policy_services'):
        bad_services = [item for item in as_list(v[name]) if not matches(POLICY_SERVICE, item)]
        if bad_services:
            problems.append('%s takes unix:name (below the queue directory) or inet:host:port (wrong: %s).'
                            % (name, shown(bad_services)))
    bad_restrictions = [item for item in as_list(v['postfix_submission_sender_restrictions'])
                        if RESTRICTION_SEPARATOR.search(as_text(item))]
    if bad_restrictions:
        problems.append('postfix_submission_sender_restrictions takes one restriction per item, without spaces, commas or '
                        'braces (wrong: %s).' % shown(bad_restrictions))
    if not _is_count(v['postfix_submission_recipient_limit']):
        problems.append('postfix_submission_recipient_limit is the most recipients one message may have on 587 and 465, '
                        'a whole number of at least 1 (0 would turn the limit off; got %s).'
                        % shown([v['postfix_submission_recipient_limit']]))
    # argument_specs checks each suite against the forward-secret AEAD ones.
    if not as_list(v['postfix_submission_tls_ciphers']):
        problems.append("postfix_submission_tls_ciphers is empty: list the TLS 1.2 suites the submission services offer "
                        "(the default is Mozilla's intermediate list).")
    return problems


def _client_privacy(v):
    hide = v['postfix_submission_hide_client_session']
    if not is_boolean(hide):
        return ['postfix_submission_hide_client_session is true (the Received header of 587 and 465 does not name the '
                'client) or false (got %s).' % shown([hide])]
    name = v['postfix_myhostname']
    # An empty one has its own problem.
    if as_bool(hide) and as_text(name).strip() and not matches(RECEIVED_BY_NAME, name):
        return ["postfix_myhostname is a host name of letters, digits, '.', '-' and '_' (or main.cf parameters such "
                "as $mydomain): the submission services' header_checks, which keep the client out of the Received "
                'header before Postfix 3.10 (postfix_submission_hide_client_session), match it (got %s).'
                % shown([name])]
    return []


def _log_sasl_login(v):
    value = v['postfix_submission_log_sasl_login']
    if is_boolean(value):
        return []
    return ['postfix_submission_log_sasl_login is true (587 and 465 log the login of each recipient) or false '
            '(got %s).' % shown([value])]


def _selfsigned_days(v):
    valid, renew = v['postfix_tls_selfsigned_valid_days'], v['postfix_tls_selfsigned_renew_days']
    if 1 <= as_int(valid) <= TLS_SELFSIGNED_MAX_DAYS and 1 <= as_int(renew) < as_int(valid):
        return []
    return ['postfix_tls_selfsigned_valid_days (%s) must be from 1 to %d days, and postfix_tls_selfsigned_renew_days (%s) '
            'at least 1 and less than it.' % (as_text(valid), TLS_SELFSIGNED_MAX_DAYS, as_text(renew))]


def postfix_problems(variables):
    """The problems of the postfix role's variables that need no host, as sentences; empty when there are none."""
    v = variables_of('postfix_problems', variables, NAMES)
    problems = _main_cf_extra(v['postfix_main_cf_extra'], list(v['__postfix_main_cf_managed']))
    problems += _master_cf_services(v['postfix_master_cf_services'])
    if not as_text(v['postfix_myhostname']).strip():
        problems.append('postfix_myhostname is empty.')
    problems += _tls(v)
    problems += _tls_sni(v)
    problems += _submission(v)
    problems += _client_privacy(v)
    problems += _log_sasl_login(v)
    problems += _selfsigned_days(v)
    return problems


class FilterModule(object):
    def filters(self):
        return {'postfix_problems': postfix_problems}
