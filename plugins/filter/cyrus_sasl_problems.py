# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The cyrus_sasl_problems filter (documented in cyrus_sasl_problems.yml): the cyrus_sasl role's host-free checks.

The LDAP bind password and the health-check password are only named, never
shown. Settings that still work but are deprecated are no problem: the filter
shows them as Ansible warnings (cyrus_sasl_warnings decides which).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.utils.display import Display

from ansible_collections.mailstack.sasl_postfix.plugins.plugin_utils._checks import (
    as_int, as_list, as_text, joined, matches, shown, variables_of)

display = Display()

NAMES = (
    'cyrus_sasl_mech_list',
    '__cyrus_sasl_mech_packages',
    'cyrus_sasl_pwcheck_method',
    'cyrus_sasl_saslauthd_mechanism',
    'cyrus_sasl_saslauthd_mech_options',
    'cyrus_sasl_saslauthd_socket_dir',
    'cyrus_sasl_saslauthd_threads',
    'cyrus_sasl_saslauthd_cache_size',
    'cyrus_sasl_saslauthd_cache_timeout',
    'cyrus_sasl_saslauthd_extra_args',
    'cyrus_sasl_saslauthd_ldap_servers',
    'cyrus_sasl_saslauthd_ldap_search_base',
    'cyrus_sasl_saslauthd_ldap_bind_dn',
    'cyrus_sasl_saslauthd_ldap_bind_pw',
    'cyrus_sasl_saslauthd_test_user',
    'cyrus_sasl_saslauthd_test_password',
)

# Mechanisms saslauthd can serve: it only ever sees a plaintext password.
SASLAUTHD_MECHS = ('PLAIN', 'LOGIN')
# Accepted with a warning: upstream Cyrus SASL has removed them.
DEPRECATED_MECHS = ('CRAM-MD5', 'DIGEST-MD5')
# The saslauthd options the role sets from its cyrus_sasl_saslauthd_* variables.
MANAGED_ARGS = ('-a', '-O', '-c', '-s', '-t', '-r', '-m', '-n', '-d')
SOCKET_DIR = r'/[A-Za-z0-9._/-]*\Z'
ONE_WORD = re.compile(r'[\s"]')
LDAP_URI = r'ldaps?://|ldapi://'


def _empty(value):
    return value is None or as_text(value) == ''


def _mechanisms(v):
    mechs = as_list(v['cyrus_sasl_mech_list'])
    known = list(v['__cyrus_sasl_mech_packages'])
    unknown = [mech for mech in mechs if mech not in known]
    if mechs and not unknown:
        return []
    return ['cyrus_sasl_mech_list must name at least one of %s (unknown: %s).' % (', '.join(known), joined(unknown))]


def _saslauthd_settings(v):
    problems = []
    not_saslauthd = [mech for mech in as_list(v['cyrus_sasl_mech_list']) if mech not in SASLAUTHD_MECHS]
    if not_saslauthd:
        problems.append('cyrus_sasl_mech_list contains %s, but cyrus_sasl_pwcheck_method is saslauthd: saslauthd only ever '
                        'receives a plaintext password, so only %s work (CRAM-MD5, DIGEST-MD5 and SCRAM need the secret '
                        'itself, from a sasldb: cyrus_sasl_pwcheck_method auxprop). Remove %s from cyrus_sasl_mech_list.'
                        % (joined(not_saslauthd), ' and '.join(SASLAUTHD_MECHS), joined(not_saslauthd)))
    socket_dir = v['cyrus_sasl_saslauthd_socket_dir']
    if not matches(SOCKET_DIR, socket_dir):
        problems.append('saslauthd settings: cyrus_sasl_saslauthd_socket_dir must be an absolute path of letters, digits, '
                        '., _, - and / (got %s).' % shown([socket_dir]))
    mech_options = v['cyrus_sasl_saslauthd_mech_options']
    if ONE_WORD.search(as_text(mech_options)):
        problems.append('saslauthd settings: cyrus_sasl_saslauthd_mech_options must be one word without quotes (got %s).'
                        % shown([mech_options]))
    elif v['cyrus_sasl_saslauthd_mechanism'] == 'rimap' and _empty(mech_options):
        problems.append('saslauthd settings: cyrus_sasl_saslauthd_mech_options is required for cyrus_sasl_saslauthd_mechanism '
                        'rimap (the IMAP server).')
    negative = ['%s (%s)' % (name, as_text(v[name])) for name in
                ('cyrus_sasl_saslauthd_threads', 'cyrus_sasl_saslauthd_cache_size', 'cyrus_sasl_saslauthd_cache_timeout')
                if as_int(v[name]) < 0]
    if negative:
        problems.append('saslauthd settings: threads, cache size and cache timeout must be 0 or more; %s is not.'
                        % ', '.join(negative))
    extra_args = [as_text(arg) for arg in as_list(v['cyrus_sasl_saslauthd_extra_args'])]
    managed = [arg for arg in extra_args if arg in MANAGED_ARGS]
    if managed:
        problems.append('saslauthd settings: cyrus_sasl_saslauthd_extra_args must not repeat options the role sets (%s: use '
                        'the cyrus_sasl_saslauthd_* variables).' % ' '.join(managed))
    blank = [arg for arg in extra_args if ONE_WORD.search(arg)]
    if blank:
        problems.append('saslauthd settings: cyrus_sasl_saslauthd_extra_args must not contain blanks or quotes (wrong: %s).'
                        % shown(blank))
    return problems


def _ldap(v):
    servers = as_list(v['cyrus_sasl_saslauthd_ldap_servers'])
    search_base = v['cyrus_sasl_saslauthd_ldap_search_base']
    wrong = [server for server in servers if not matches(LDAP_URI, server)]
    problems = []
    if not servers or wrong:
        problems.append('cyrus_sasl_saslauthd_mechanism is ldap: set cyrus_sasl_saslauthd_ldap_servers (ldap://, ldaps:// or '
                        'ldapi:// URIs; %s).' % ('wrong: ' + shown(wrong) if wrong else 'now empty'))
    if _empty(search_base):
        problems.append('cyrus_sasl_saslauthd_mechanism is ldap: set cyrus_sasl_saslauthd_ldap_search_base (now empty).')
    if not _empty(v['cyrus_sasl_saslauthd_ldap_bind_dn']) and _empty(v['cyrus_sasl_saslauthd_ldap_bind_pw']):
        problems.append('cyrus_sasl_saslauthd_ldap_bind_dn is %s: set cyrus_sasl_saslauthd_ldap_bind_pw too (now empty).'
                        % shown([v['cyrus_sasl_saslauthd_ldap_bind_dn']]))
    return problems


def cyrus_sasl_warnings(variables):
    """The settings of the cyrus_sasl role's variables that work but are deprecated, as sentences; empty when none.

    With saslauthd, the deprecated mechanisms are problems (refused), not warnings.
    """
    v = variables_of('cyrus_sasl_warnings', variables, ('cyrus_sasl_mech_list', 'cyrus_sasl_pwcheck_method'))
    deprecated = [mech for mech in as_list(v['cyrus_sasl_mech_list']) if mech in DEPRECATED_MECHS]
    if not deprecated or v['cyrus_sasl_pwcheck_method'] == 'saslauthd':
        return []
    return ['cyrus_sasl_mech_list contains %s (deprecated): upstream Cyrus SASL has removed CRAM-MD5 and DIGEST-MD5. '
            'With AUTH offered only after TLS they protect nothing that PLAIN does not, and they need a sasldb that '
            'holds every password in the clear. Remove %s from cyrus_sasl_mech_list; SCRAM-SHA-256 is the '
            'challenge-response mechanism to offer instead.'
            % (joined(deprecated), joined(deprecated))]


def cyrus_sasl_problems(variables):
    """The problems of the cyrus_sasl role's variables that need no host, as sentences; empty when there are none.

    Shows each of cyrus_sasl_warnings as an Ansible warning (the play's output).
    """
    v = variables_of('cyrus_sasl_problems', variables, NAMES)
    for warning in cyrus_sasl_warnings(v):
        display.warning(warning)
    problems = _mechanisms(v)
    if v['cyrus_sasl_pwcheck_method'] != 'saslauthd':
        return problems
    problems += _saslauthd_settings(v)
    if v['cyrus_sasl_saslauthd_mechanism'] == 'ldap':
        problems += _ldap(v)
    test_user = v['cyrus_sasl_saslauthd_test_user']
    if not _empty(test_user) and _empty(v['cyrus_sasl_saslauthd_test_password']):
        problems.append('cyrus_sasl_saslauthd_test_user is %s, but cyrus_sasl_saslauthd_test_password is empty.'
                        % as_text(test_user))
    return problems


class FilterModule(object):
    def filters(self):
        return {'cyrus_sasl_problems': cyrus_sasl_problems}
