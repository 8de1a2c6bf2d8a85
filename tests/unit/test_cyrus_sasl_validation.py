"""The cyrus_sasl role's host-free checks (tasks/validate.yml), run for real by ansible-playbook on localhost.

The cases themselves are the cyrus_sasl_problems filter's
(test_cyrus_sasl_problems.py); these make sure the task hands the role's
variables to it, adds the line break check, fails with every problem and
never prints a password; and that a deprecated mechanism shows in the play's
output as an Ansible warning, not a failure.
"""

import pytest

from helpers.roles import run_role_tasks

SECRET = 'S3cret-Never-Printed'
# vars/Debian.yml, which the role's main.yml loads before validate.yml.
MECH_NAMES = ('PLAIN', 'LOGIN', 'CRAM-MD5', 'DIGEST-MD5', 'SCRAM-SHA-256')
MECHS = {'__cyrus_sasl_mech_packages': dict.fromkeys(MECH_NAMES, 'libsasl2-modules')}
SASLAUTHD = {'cyrus_sasl_pwcheck_method': 'saslauthd'}

CASES = [
    ('the defaults', {}, None),
    ('saslauthd with LDAP', dict(SASLAUTHD, cyrus_sasl_saslauthd_mechanism='ldap', cyrus_sasl_saslauthd_ldap_servers=['ldap://ldap'],
                                 cyrus_sasl_saslauthd_ldap_search_base='dc=example', cyrus_sasl_saslauthd_ldap_bind_dn='cn=x',
                                 cyrus_sasl_saslauthd_ldap_bind_pw=SECRET), None),
    ('an unknown mechanism', {'cyrus_sasl_mech_list': ['X']},
     'cyrus_sasl_mech_list must name at least one of PLAIN, LOGIN, CRAM-MD5, DIGEST-MD5, SCRAM-SHA-256 (unknown: X).'),
    ('SCRAM with saslauthd', dict(SASLAUTHD, cyrus_sasl_mech_list=['PLAIN', 'SCRAM-SHA-256']),
     'cyrus_sasl_mech_list contains SCRAM-SHA-256, but cyrus_sasl_pwcheck_method is saslauthd'),
    ('a line break and a bad health check', dict(SASLAUTHD, cyrus_sasl_saslauthd_test_user='probe',
                                                 cyrus_sasl_saslauthd_ldap_bind_pw=SECRET + '\n'),
     'cyrus_sasl_saslauthd_test_user is probe, but cyrus_sasl_saslauthd_test_password is empty. These variables contain a line '
     'break, which would inject lines into smtpd.conf or the saslauthd settings: cyrus_sasl_saslauthd_ldap_bind_pw.'),
]


@pytest.mark.parametrize('variables, message', [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_cyrus_sasl_validate(tmp_path, variables, message):
    rc, output = run_role_tasks(tmp_path, 'cyrus_sasl', 'validate', dict(MECHS, **variables))
    if message is None:
        assert rc == 0, output
    else:
        assert rc != 0, output
        assert message in ' '.join(output.split()), output
    assert SECRET not in output


# (mechanisms, the warning expected in the output or None)
WARNINGS = [
    (['PLAIN', 'LOGIN'], None),
    (['PLAIN', 'LOGIN', 'SCRAM-SHA-256'], None),
    (['PLAIN', 'CRAM-MD5', 'DIGEST-MD5'], '[WARNING]: cyrus_sasl_mech_list contains CRAM-MD5, DIGEST-MD5 (deprecated): upstream Cyrus '
                                          'SASL has removed CRAM-MD5 and DIGEST-MD5.'),
]


@pytest.mark.parametrize('mechs, warning', WARNINGS, ids=[' '.join(case[0]) for case in WARNINGS])
def test_cyrus_sasl_validate_warns_about_deprecated_mechanisms(tmp_path, mechs, warning):
    rc, output = run_role_tasks(tmp_path, 'cyrus_sasl', 'validate', dict(MECHS, cyrus_sasl_mech_list=mechs))
    assert rc == 0, output
    if warning is None:
        assert 'deprecated' not in output, output
    else:
        # Once, however often the task evaluates the check.
        assert ' '.join(output.split()).count(warning) == 1, output
