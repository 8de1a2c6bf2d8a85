# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The postfix_relay_problems and postfix_relay_credential_problems filters (documented in their .yml files).

The postfix role's host-free checks of the SMTP client side. A password is
never part of a problem: an entry of postfix_relay_credentials is named by its
username, and what is wrong with its password is said without showing it.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.module_utils.six import string_types

from ansible_collections.mailstack.sasl_postfix.plugins.filter.line_break_names import has_line_break
from ansible_collections.mailstack.sasl_postfix.plugins.plugin_utils._checks import (
    as_bool, as_list, as_text, is_list, joined, matches, shown, variables_of)
from ansible_collections.mailstack.sasl_postfix.plugins.plugin_utils._oauth2 import oauth2_faults

RELAY_NAMES = (
    'postfix_relayhost',
    'postfix_sender_dependent_relayhost_maps',
    'postfix_relay_credentials',
    'postfix_relay_allow_unencrypted_auth',
    'postfix_smtp_tls_security_level',
    'postfix_smtp_tls_wrappermode',
    'postfix_smtp_tls_cafile',
    'postfix_smtp_sasl_mechanism_filter',
    'postfix_smtp_sasl_security_options',
    'postfix_smtp_sasl_tls_security_options',
    'postfix_main_cf_extra',
)
CREDENTIAL_NAMES = ('postfix_relay_credentials', 'postfix_relayhost')

# [host]:port, host:port, [host] or host; the bracketed form may hold an IPv6
# address ([ipv6:2001:db8::1]). The port is a number or a service name.
RELAYHOST = r'(\[[A-Za-z0-9._:-]+\]|[A-Za-z0-9._-]+)(:[A-Za-z0-9-]+)?\Z'
# A relayhost with an explicit port (wrappermode: port 25 makes no sense).
RELAYHOST_WITH_PORT = r'(\[[A-Za-z0-9._:-]+\]|[A-Za-z0-9._-]+):[A-Za-z0-9-]+\Z'
RELAYHOST_FORMS = '[host]:port, host:port, [host] or host'
# An envelope sender key of the per-sender tables: user@domain, @domain, or user@.
SENDER = r'([^\s@]+@[^\s@]*|@[^\s@]+)\Z'
# A SASL login name as the table's value holds it before the first ':'.
USERNAME = r'[^\s:]+\Z'
CONTROL_CHARACTER = re.compile(r'[\x00-\x1f\x7f]')
WEAK_TLS_LEVELS = ('', 'none', 'may')
# smtp_tls_wrappermode needs a level that never sends in clear (Postfix's TLS_README).
WRAPPERMODE_TLS_LEVELS = ('encrypt', 'fingerprint', 'verify', 'secure', 'dane-only')
VERIFYING_TLS_LEVELS = ('verify', 'secure', 'dane-only')
# The main.cf parameters of the client side, set through the role's variables
# (vars/main.yml: __postfix_relay_client_main_cf): postfix_main_cf_extra may not name them.
CLIENT_PARAMETERS = (
    'relayhost',
    'sender_dependent_relayhost_maps',
    'smtp_sender_dependent_authentication',
    'smtp_sasl_auth_enable',
    'smtp_sasl_password_maps',
    'smtp_sasl_security_options',
    'smtp_sasl_tls_security_options',
    'smtp_sasl_mechanism_filter',
    'smtp_reply_filter',
    'smtp_tls_security_level',
    'smtp_tls_CAfile',
    'smtp_tls_wrappermode',
)
# The client settings written into main.cf as they are, which must hold no line break.
CLIENT_VALUES = (
    'postfix_smtp_sasl_mechanism_filter',
    'postfix_smtp_tls_cafile',
    'postfix_smtp_tls_security_level',
    'postfix_smtp_sasl_security_options',
    'postfix_smtp_sasl_tls_security_options',
)


def relayhosts(relayhost):
    """postfix_relayhost as a list, as __postfix_relayhosts has it: a string is one relayhost; empty items are dropped."""
    items = [relayhost] if isinstance(relayhost, string_types) else relayhost if is_list(relayhost) else []
    return [as_text(item) for item in items if item]


def _relayhost_problems(v):
    problems = []
    relayhost = v['postfix_relayhost']
    if not isinstance(relayhost, string_types) and not is_list(relayhost):
        problems.append('postfix_relayhost is one relayhost or a list of them (failover, tried in order), not %s.'
                        % shown([relayhost]))
    own = relayhosts(relayhost)
    maps = [item if isinstance(item, dict) else {} for item in as_list(v['postfix_sender_dependent_relayhost_maps'])]
    wrong = ['%s (postfix_relayhost)' % shown([host]) for host in own if not matches(RELAYHOST, host)]
    wrong += ['%s (postfix_sender_dependent_relayhost_maps)' % shown([item.get('relayhost')])
              for item in maps if not matches(RELAYHOST, item.get('relayhost') or '')]
    if wrong:
        problems.append('postfix_relayhost is one relayhost or a list of them (failover, tried in order), each %s, without '
                        'spaces, commas or newlines, and so is the relayhost of each postfix_sender_dependent_relayhost_maps '
                        'entry (wrong: %s).' % (RELAYHOST_FORMS, ', '.join(wrong)))
    folded = [host.lower() for host in own]
    twice = [host for index, host in enumerate(own) if host.lower() in folded[:index]]
    if twice:
        problems.append('postfix_relayhost lists each relayhost once, none listed twice (compared without case; twice: %s).'
                        % shown(twice))
    senders = [item.get('sender') for item in maps if not matches(SENDER, item.get('sender') or '')]
    if senders:
        problems.append('Wrong sender keys (%s): a sender key of postfix_sender_dependent_relayhost_maps is user@domain, '
                        '@domain or user@.' % shown(senders))
    return problems, own + [as_text(item.get('relayhost') or '') for item in maps]


def _tls_problems(v, all_relayhosts):
    problems = []
    level = as_text(v['postfix_smtp_tls_security_level'])
    if as_bool(v['postfix_smtp_tls_wrappermode']):
        if level not in WRAPPERMODE_TLS_LEVELS:
            problems.append("postfix_smtp_tls_wrappermode is true (implicit TLS, SMTPS): postfix_smtp_tls_security_level must "
                            "be %s (got '%s')." % (', '.join(WRAPPERMODE_TLS_LEVELS), level))
        without_port = [host for host in all_relayhosts if not matches(RELAYHOST_WITH_PORT, host)]
        if without_port:
            problems.append('postfix_smtp_tls_wrappermode is true (implicit TLS, SMTPS): every relayhost needs its port, for '
                            'example [smtp.example.org]:465 (without one: %s).' % shown(without_port))
    if as_list(v['postfix_relay_credentials']) and level in WEAK_TLS_LEVELS and not as_bool(v['postfix_relay_allow_unencrypted_auth']):
        problems.append("postfix_smtp_tls_security_level is '%s': with postfix_relay_credentials it must be encrypt, verify or "
                        "secure (or set postfix_relay_allow_unencrypted_auth: true to send the password where TLS may be "
                        "missing)." % level)
    if level in VERIFYING_TLS_LEVELS and not as_text(v['postfix_smtp_tls_cafile'] or ''):
        problems.append("postfix_smtp_tls_security_level is '%s': verify, secure and dane-only need postfix_smtp_tls_cafile "
                        "(e.g. /etc/ssl/certs/ca-certificates.crt for the public CAs, or the relay's own certificate)." % level)
    return problems


def _main_cf_problems(v):
    problems = []
    extra = v['postfix_main_cf_extra'] if isinstance(v['postfix_main_cf_extra'], dict) else {}
    in_extra = [name for name in CLIENT_PARAMETERS if name in extra]
    if in_extra:
        problems.append("Set %s through the role's postfix_relay*/postfix_smtp_* variables, not postfix_main_cf_extra."
                        % joined(in_extra))
    line_breaks = [name for name in CLIENT_VALUES if any(has_line_break(item) for item in as_list(v[name]))]
    if line_breaks:
        problems.append('No client setting may contain a newline; these do: %s.' % joined(line_breaks))
    return problems


def postfix_relay_problems(variables):
    """The problems of the postfix role's relayhost, client TLS and client main.cf settings, as sentences."""
    v = variables_of('postfix_relay_problems', variables, RELAY_NAMES)
    problems, all_relayhosts = _relayhost_problems(v)
    return problems + _tls_problems(v, all_relayhosts) + _main_cf_problems(v)


def _password_faults(password):
    if password == '':
        return ['no password (or oauth2)']
    faults = []
    if CONTROL_CHARACTER.search(password):
        faults.append('a newline or other control character in the password')
    if password != password.strip():
        faults.append('leading or trailing spaces in the password')
    return faults


def _secret_faults(entry):
    """What is wrong with the entry's password, or with its oauth2 login (docs/relay-oauth2.md)."""
    has_password = entry.get('password') not in (None, '')
    if entry.get('oauth2') is not None:
        return ['both a password and oauth2'] if has_password else oauth2_faults(entry['oauth2'])
    return _password_faults(as_text(entry.get('password') if entry.get('password') is not None else ''))


def _credential_faults(entry, shared_relayhosts):
    """What is wrong with one postfix_relay_credentials entry, as short phrases; never its password."""
    if not isinstance(entry, dict):
        return ['not a dictionary']
    faults = []
    username = entry.get('username')
    if username is None or as_text(username) == '':
        faults.append('no username')
    elif not matches(USERNAME, username):
        faults.append("a username with a blank, a line break or ':'")
    faults.extend(_secret_faults(entry))
    sender, relayhost = entry.get('sender') or '', entry.get('relayhost') or ''
    if not sender and not relayhost and not shared_relayhosts:
        faults.append('no relayhost (its own, or those of postfix_relayhost) and no sender')
    if sender and not matches(SENDER, sender):
        faults.append('sender %s is not user@domain, @domain or user@' % shown([sender]))
    if relayhost and not matches(RELAYHOST, relayhost):
        faults.append('relayhost %s is not %s' % (shown([relayhost]), RELAYHOST_FORMS))
    return faults


def credential_keys(credentials, shared_relayhosts):
    """The table key of each entry (as __postfix_relay_credentials has them): its sender, its relayhost, or every shared relayhost."""
    keys = []
    for entry in credentials:
        if entry.get('sender'):
            keys.append(as_text(entry['sender']))
        elif entry.get('relayhost'):
            keys.append(as_text(entry['relayhost']))
        else:
            keys.extend(shared_relayhosts)
    return keys


def postfix_relay_credential_problems(variables):
    """The problems of postfix_relay_credentials, as sentences that name entries by username and never show a password."""
    v = variables_of('postfix_relay_credential_problems', variables, CREDENTIAL_NAMES)
    credentials = as_list(v['postfix_relay_credentials'])
    shared = relayhosts(v['postfix_relayhost'])
    bad = []
    for entry in credentials:
        faults = _credential_faults(entry, shared)
        if faults:
            username = as_text(entry.get('username', '')) if isinstance(entry, dict) else ''
            bad.append('%s (%s)' % (CONTROL_CHARACTER.sub('?', username) or '(no username)', ', '.join(faults)))
    if bad:
        return ["postfix_relay_credentials entries for %s: each needs a username (no spaces or ':'), a password (no newline "
                "or other control character, no leading or trailing spaces) or an oauth2 login (docs/relay-oauth2.md), "
                "and a relayhost (its own, or those of postfix_relayhost), or a sender (user@domain, @domain); "
                "a relayhost is %s."
                % ('; '.join(bad), RELAYHOST_FORMS)]
    keys = [key.lower() for key in credential_keys(credentials, shared)]
    twice = sorted(set(key for index, key in enumerate(keys) if key in keys[:index]))
    if twice:
        return ['postfix_relay_credentials: two entries have the same key (the relayhost, or the sender, compared without '
                'case; an entry without either is keyed by every relayhost of postfix_relayhost): %s; the keys are %s.'
                % (joined(twice), joined(keys))]
    return []


class FilterModule(object):
    def filters(self):
        return {
            'postfix_relay_problems': postfix_relay_problems,
            'postfix_relay_credential_problems': postfix_relay_credential_problems,
        }
