"""The cyrus_sasl_problems filter: the cyrus_sasl role's host-free checks, as data.

Each case gives the variables that differ from GOOD (the role's defaults,
auxprop) and a piece of the one problem expected, or None when they are
fine. No problem may show a password. tests/unit/test_cyrus_sasl_validation.py
runs the role's task with it.
"""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mailstack.sasl_postfix.plugins.filter.cyrus_sasl_problems import cyrus_sasl_problems
from helpers.problems import assert_problem

SECRET = 'S3cret-Never-Printed'

GOOD = {
    'cyrus_sasl_mech_list': ['PLAIN', 'LOGIN'],
    '__cyrus_sasl_mech_packages': {'PLAIN': 'libsasl2-modules', 'LOGIN': 'libsasl2-modules', 'CRAM-MD5': 'libsasl2-modules'},
    'cyrus_sasl_pwcheck_method': 'auxprop',
    'cyrus_sasl_saslauthd_mechanism': 'pam',
    'cyrus_sasl_saslauthd_mech_options': '',
    'cyrus_sasl_saslauthd_socket_dir': '/var/run/saslauthd',
    'cyrus_sasl_saslauthd_threads': 5,
    'cyrus_sasl_saslauthd_cache_size': 0,
    'cyrus_sasl_saslauthd_cache_timeout': 0,
    'cyrus_sasl_saslauthd_extra_args': [],
    'cyrus_sasl_saslauthd_ldap_servers': [],
    'cyrus_sasl_saslauthd_ldap_search_base': '',
    'cyrus_sasl_saslauthd_ldap_bind_dn': '',
    'cyrus_sasl_saslauthd_ldap_bind_pw': '',
    'cyrus_sasl_saslauthd_test_user': '',
    'cyrus_sasl_saslauthd_test_password': '',
}
SASLAUTHD = {'cyrus_sasl_pwcheck_method': 'saslauthd'}
LDAP = dict(SASLAUTHD, cyrus_sasl_saslauthd_mechanism='ldap', cyrus_sasl_saslauthd_ldap_servers=['ldaps://ldap.example.org'],
            cyrus_sasl_saslauthd_ldap_search_base='ou=people,dc=example,dc=org')

# case -> (variables that differ from GOOD, a piece of the problem expected or None)
CASES = {
    'the defaults': ({}, None),
    'CRAM-MD5 from the sasldb': ({'cyrus_sasl_mech_list': ['CRAM-MD5']}, None),
    'no mechanism': ({'cyrus_sasl_mech_list': []}, 'cyrus_sasl_mech_list must name at least one of PLAIN, LOGIN, CRAM-MD5 (unknown: none).'),
    'an unknown mechanism': ({'cyrus_sasl_mech_list': ['PLAIN', 'KERBEROS_V4']}, '(unknown: KERBEROS_V4)'),
    # saslauthd's settings are checked only with saslauthd
    'saslauthd settings with auxprop': ({'cyrus_sasl_saslauthd_socket_dir': 'run', 'cyrus_sasl_saslauthd_test_user': 'probe'}, None),
    'saslauthd': (SASLAUTHD, None),
    'CRAM-MD5 with saslauthd': (dict(SASLAUTHD, cyrus_sasl_mech_list=['PLAIN', 'CRAM-MD5']),
                                'cyrus_sasl_mech_list contains CRAM-MD5, but cyrus_sasl_pwcheck_method is saslauthd'),
    'a relative socket directory': (dict(SASLAUTHD, cyrus_sasl_saslauthd_socket_dir='run/saslauthd'),
                                    'cyrus_sasl_saslauthd_socket_dir must be an absolute path of letters, digits, ., _, - and / '
                                    '(got "run/saslauthd")'),
    'a socket directory with a blank': (dict(SASLAUTHD, cyrus_sasl_saslauthd_socket_dir='/run/sasl authd'), '(got "/run/sasl authd")'),
    'mech options': (dict(SASLAUTHD, cyrus_sasl_saslauthd_mechanism='rimap', cyrus_sasl_saslauthd_mech_options='imap.example.org'),
                     None),
    'mech options with a blank': (dict(SASLAUTHD, cyrus_sasl_saslauthd_mech_options='a b'),
                                  'cyrus_sasl_saslauthd_mech_options must be one word without quotes (got "a b")'),
    'rimap without server': (dict(SASLAUTHD, cyrus_sasl_saslauthd_mechanism='rimap'),
                             'cyrus_sasl_saslauthd_mech_options is required for cyrus_sasl_saslauthd_mechanism rimap'),
    'no thread': (dict(SASLAUTHD, cyrus_sasl_saslauthd_threads=0), None),
    'negative threads': (dict(SASLAUTHD, cyrus_sasl_saslauthd_threads=-1, cyrus_sasl_saslauthd_cache_timeout='-5'),
                         'threads, cache size and cache timeout must be 0 or more; cyrus_sasl_saslauthd_threads (-1), '
                         'cyrus_sasl_saslauthd_cache_timeout (-5) is not.'),
    'extra args': (dict(SASLAUTHD, cyrus_sasl_saslauthd_extra_args=['-V']), None),
    'a managed option in extra args': (dict(SASLAUTHD, cyrus_sasl_saslauthd_extra_args=['-V', '-a', '-n']),
                                       'cyrus_sasl_saslauthd_extra_args must not repeat options the role sets (-a -n: use'),
    'an extra arg with a blank': (dict(SASLAUTHD, cyrus_sasl_saslauthd_extra_args=['-V x']),
                                  'cyrus_sasl_saslauthd_extra_args must not contain blanks or quotes (wrong: "-V x")'),
    # LDAP
    'LDAP': (LDAP, None),
    'LDAP with a bind DN and password': (dict(LDAP, cyrus_sasl_saslauthd_ldap_bind_dn='cn=sasl,dc=example,dc=org',
                                              cyrus_sasl_saslauthd_ldap_bind_pw=SECRET), None),
    'LDAP without server': (dict(LDAP, cyrus_sasl_saslauthd_ldap_servers=[]),
                            'cyrus_sasl_saslauthd_mechanism is ldap: set cyrus_sasl_saslauthd_ldap_servers (ldap://, ldaps:// '
                            'or ldapi:// URIs; now empty).'),
    'LDAP server without scheme': (dict(LDAP, cyrus_sasl_saslauthd_ldap_servers=['ldap.example.org']), 'URIs; wrong: "ldap.example.org")'),
    'LDAP without search base': (dict(LDAP, cyrus_sasl_saslauthd_ldap_search_base=''),
                                 'set cyrus_sasl_saslauthd_ldap_search_base (now empty)'),
    'LDAP bind DN without password': (dict(LDAP, cyrus_sasl_saslauthd_ldap_bind_dn='cn=sasl'),
                                      'cyrus_sasl_saslauthd_ldap_bind_dn is "cn=sasl": set cyrus_sasl_saslauthd_ldap_bind_pw too'),
    'LDAP settings without LDAP': (dict(SASLAUTHD, cyrus_sasl_saslauthd_ldap_bind_dn='cn=sasl'), None),
    # The health check
    'a health-check account': (dict(SASLAUTHD, cyrus_sasl_saslauthd_test_user='probe', cyrus_sasl_saslauthd_test_password=SECRET),
                               None),
    'a health-check user without password': (dict(SASLAUTHD, cyrus_sasl_saslauthd_test_user='probe'),
                                             'cyrus_sasl_saslauthd_test_user is probe, but cyrus_sasl_saslauthd_test_password is '
                                             'empty.'),
}


@pytest.mark.parametrize('case', list(CASES))
def test_cyrus_sasl_problems(case):
    changes, expected = CASES[case]
    problems = cyrus_sasl_problems(dict(GOOD, **changes))
    assert_problem(problems, expected, SECRET)


def test_the_mechanisms_may_be_a_list():
    assert cyrus_sasl_problems(dict(GOOD, __cyrus_sasl_mech_packages=['PLAIN', 'LOGIN'])) == []


@pytest.mark.parametrize('value, message', [
    ([], 'dictionary'),
    ({'cyrus_sasl_mech_list': ['PLAIN']}, 'needs the variables __cyrus_sasl_mech_packages, cyrus_sasl_pwcheck_method'),
])
def test_cyrus_sasl_problems_wants_every_variable(value, message):
    with pytest.raises(AnsibleFilterError, match=message):
        cyrus_sasl_problems(value)
