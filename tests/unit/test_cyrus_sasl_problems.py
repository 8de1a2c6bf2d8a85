"""The cyrus_sasl_problems filter: the cyrus_sasl role's host-free checks, as data.

Each case gives the variables that differ from GOOD (the role's defaults,
auxprop) and a piece of the one problem expected, or None when they are
fine. No problem may show a password. WARNING_CASES do the same for the
warnings (cyrus_sasl_warnings), which the filter shows as Ansible warnings.
tests/unit/test_cyrus_sasl_validation.py runs the role's task with it.
"""

import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.mailstack.sasl_postfix.plugins.filter import cyrus_sasl_problems as module
from ansible_collections.mailstack.sasl_postfix.plugins.filter.cyrus_sasl_problems import cyrus_sasl_problems, cyrus_sasl_warnings
from helpers.problems import assert_problem

SECRET = 'S3cret-Never-Printed'
DEBIAN_VARS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           'roles', 'cyrus_sasl', 'vars', 'Debian.yml')
MECHS = ('PLAIN', 'LOGIN', 'CRAM-MD5', 'DIGEST-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-256')

GOOD = {
    'cyrus_sasl_mech_list': ['PLAIN', 'LOGIN'],
    '__cyrus_sasl_mech_packages': dict.fromkeys(MECHS, 'libsasl2-modules'),
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
    'DIGEST-MD5 from the sasldb': ({'cyrus_sasl_mech_list': ['PLAIN', 'DIGEST-MD5']}, None),
    'SCRAM from the sasldb': ({'cyrus_sasl_mech_list': ['PLAIN', 'LOGIN', 'SCRAM-SHA-256', 'SCRAM-SHA-1']}, None),
    'no mechanism': ({'cyrus_sasl_mech_list': []},
                     'cyrus_sasl_mech_list must name at least one of PLAIN, LOGIN, CRAM-MD5, DIGEST-MD5, SCRAM-SHA-1, '
                     'SCRAM-SHA-256 (unknown: none).'),
    'a mechanism in lower case': ({'cyrus_sasl_mech_list': ['scram-sha-256']}, '(unknown: scram-sha-256)'),
    'SCRAM-SHA-256-PLUS (no channel binding in Postfix)': ({'cyrus_sasl_mech_list': ['SCRAM-SHA-256-PLUS']},
                                                           '(unknown: SCRAM-SHA-256-PLUS)'),
    'an unknown mechanism': ({'cyrus_sasl_mech_list': ['PLAIN', 'KERBEROS_V4']}, '(unknown: KERBEROS_V4)'),
    # saslauthd's settings are checked only with saslauthd
    'saslauthd settings with auxprop': ({'cyrus_sasl_saslauthd_socket_dir': 'run', 'cyrus_sasl_saslauthd_test_user': 'probe'}, None),
    'saslauthd': (SASLAUTHD, None),
    'PLAIN and LOGIN with saslauthd': (dict(SASLAUTHD, cyrus_sasl_mech_list=['PLAIN', 'LOGIN']), None),
    'CRAM-MD5 with saslauthd': (dict(SASLAUTHD, cyrus_sasl_mech_list=['PLAIN', 'CRAM-MD5']),
                                'cyrus_sasl_mech_list contains CRAM-MD5, but cyrus_sasl_pwcheck_method is saslauthd'),
    'DIGEST-MD5 with saslauthd': (dict(SASLAUTHD, cyrus_sasl_mech_list=['DIGEST-MD5', 'LOGIN']),
                                  'cyrus_sasl_mech_list contains DIGEST-MD5, but cyrus_sasl_pwcheck_method is saslauthd'),
    'SCRAM-SHA-256 with saslauthd': (dict(SASLAUTHD, cyrus_sasl_mech_list=['PLAIN', 'SCRAM-SHA-256']),
                                     'cyrus_sasl_mech_list contains SCRAM-SHA-256, but cyrus_sasl_pwcheck_method is saslauthd: '
                                     'saslauthd only ever receives a plaintext password, so only PLAIN and LOGIN work'),
    'every shared-secret mechanism with saslauthd': (
        dict(SASLAUTHD, cyrus_sasl_mech_list=['PLAIN', 'CRAM-MD5', 'DIGEST-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-256']),
        'Remove CRAM-MD5, DIGEST-MD5, SCRAM-SHA-1, SCRAM-SHA-256 from cyrus_sasl_mech_list.'),
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


# case -> (variables that differ from GOOD, a piece of the one warning expected or None)
DEPRECATED = 'upstream Cyrus SASL has removed CRAM-MD5 and DIGEST-MD5'
WARNING_CASES = {
    'the defaults': ({}, None),
    'SCRAM': ({'cyrus_sasl_mech_list': ['PLAIN', 'LOGIN', 'SCRAM-SHA-256', 'SCRAM-SHA-1']}, None),
    'CRAM-MD5': ({'cyrus_sasl_mech_list': ['PLAIN', 'LOGIN', 'CRAM-MD5']},
                 'cyrus_sasl_mech_list contains CRAM-MD5 (deprecated): ' + DEPRECATED),
    'DIGEST-MD5': ({'cyrus_sasl_mech_list': ['DIGEST-MD5']}, 'cyrus_sasl_mech_list contains DIGEST-MD5 (deprecated)'),
    'both, in one warning': ({'cyrus_sasl_mech_list': ['PLAIN', 'DIGEST-MD5', 'SCRAM-SHA-256', 'CRAM-MD5']},
                             'Remove DIGEST-MD5, CRAM-MD5 from cyrus_sasl_mech_list'),
    # saslauthd refuses them (a problem), so no warning on top
    'CRAM-MD5 with saslauthd': (dict(SASLAUTHD, cyrus_sasl_mech_list=['PLAIN', 'CRAM-MD5']), None),
    # only the exact names are offered by Cyrus; anything else is an unknown mechanism (a problem)
    'cram-md5 in lower case': ({'cyrus_sasl_mech_list': ['cram-md5']}, None),
}


@pytest.mark.parametrize('case', list(WARNING_CASES))
def test_cyrus_sasl_warnings(case):
    changes, expected = WARNING_CASES[case]
    assert_problem(cyrus_sasl_warnings(dict(GOOD, **changes)), expected)


@pytest.mark.parametrize('case', list(WARNING_CASES))
def test_the_problems_filter_shows_the_warnings(monkeypatch, case):
    shown = []
    monkeypatch.setattr(module.display, 'warning', shown.append)
    variables = dict(GOOD, **WARNING_CASES[case][0])
    cyrus_sasl_problems(variables)
    assert shown == cyrus_sasl_warnings(variables)


@pytest.mark.parametrize('mech', ['SCRAM-SHA-1', 'SCRAM-SHA-256', 'CRAM-MD5', 'DIGEST-MD5'])
def test_debian_installs_libsasl2_modules_for_the_shared_secret_mechanisms(mech):
    # Debian 12 and 13's libsasl2-modules hold libscram, libcrammd5 and libdigestmd5.
    with open(DEBIAN_VARS) as handle:
        packages = yaml.safe_load(handle)['__cyrus_sasl_mech_packages']
    assert packages[mech] == 'libsasl2-modules'
    assert cyrus_sasl_problems(dict(GOOD, __cyrus_sasl_mech_packages=packages, cyrus_sasl_mech_list=[mech])) == []


def test_the_mechanisms_may_be_a_list():
    assert cyrus_sasl_problems(dict(GOOD, __cyrus_sasl_mech_packages=['PLAIN', 'LOGIN'])) == []


@pytest.mark.parametrize('value, message', [
    ([], 'dictionary'),
    ({'cyrus_sasl_mech_list': ['PLAIN']}, 'needs the variables __cyrus_sasl_mech_packages, cyrus_sasl_pwcheck_method'),
])
def test_cyrus_sasl_problems_wants_every_variable(value, message):
    with pytest.raises(AnsibleFilterError, match=message):
        cyrus_sasl_problems(value)


def test_cyrus_sasl_warnings_wants_its_variables():
    with pytest.raises(AnsibleFilterError, match='cyrus_sasl_warnings needs the variables cyrus_sasl_pwcheck_method'):
        cyrus_sasl_warnings({'cyrus_sasl_mech_list': ['CRAM-MD5']})
