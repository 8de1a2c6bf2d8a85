"""Bad-input matrix for the roles: each case re-runs a role with one `-e` override.

The run uses bad_input.yml (the role alone, same inventory as converge.yml):
a bad value for cyrus_sasl does not need the postfix role's no-op tasks
before it. converge.yml's own failure path is exercised by the faults test.

Every case must stop the run with a message naming the variable (the open-relay
case: the main.cf parameter, which the validation script names), leave every
managed file byte-for-byte unchanged (checksum, owner and mode), keep the
running Postfix on its old configuration (same master process, same
`postconf -n`) and keep serving AUTH with a good password.
"""

import json

import pytest

from helpers.molecule import run_converge
from security_helpers import SERVER, USERS, good_auth_from_server

MANAGED_FILES = [
    '/etc/postfix/main.cf',
    '/etc/postfix/master.cf',
    '/etc/postfix/sasl/smtpd.conf',
    '/var/spool/postfix/etc/sasldb2',
    '/etc/postfix/tls/smtpd-selfsigned.crt',
    '/etc/postfix/tls/smtpd-selfsigned.key',
    '/etc/aliases',
    '/etc/aliases.db',
    '/etc/postfix/sender_login',
    '/etc/postfix/sender_login.db',
    '/etc/policyd-rate-limit.yaml',
]
INJECTED = 'smtpd_client_event_limit_exceptions = 0.0.0.0/0'
GOOD_USERS = USERS
SCENARIO_EXTRA = {'anvil_rate_time_unit': '10s', 'defer_transports': 'smtp', 'smtpd_peername_lookup': False}

ROLES = {'postfix': 'postfix', 'cyrus': 'cyrus_sasl', 'sasl': 'sasl_users', 'send': 'send_limit', 'fail2ban': 'fail2ban'}
# sasl_users alone does not learn the chrooted sasldb path from cyrus_sasl.
SASLDB = {'sasl_users_sasldb_file': '/var/spool/postfix/etc/sasldb2'}

# id (role prefix) -> (extra vars, strings the failure output must contain)
CASES = {
    # postfix role: types, choices, empty values
    'postfix-int-wrong-type': ({'postfix_smtpd_client_auth_rate_limit': 'many'}, ['postfix_smtpd_client_auth_rate_limit']),
    'postfix-empty-hostname': ({'postfix_myhostname': ''}, ['postfix_myhostname']),
    # The open-relay rule lives in managed_state's validation of the pair, which names the main.cf parameter.
    'postfix-open-relay-restrictions': ({'postfix_smtpd_relay_restrictions': ['permit_sasl_authenticated', 'permit']},
                                        ['open relay', "smtpd_relay_restrictions in main.cf has a bare 'permit'"]),
    # newlines: configuration injection
    'postfix-newline-in-banner': ({'postfix_smtpd_banner': '$myhostname ESMTP\n' + INJECTED}, ['postfix_smtpd_banner']),
    'postfix-newline-in-submission-restrictions': (
        {'postfix_submission_client_restrictions': ['permit_sasl_authenticated', 'reject\n  -o smtpd_tls_auth_only=no']},
        ['postfix_submission_client_restrictions']),
    # unknown or role-managed main.cf parameters, master.cf services
    'postfix-unknown-main-cf-parameter': ({'postfix_main_cf_extra': dict(SCENARIO_EXTRA, smtpd_sasl_auth_enabel='yes')},
                                          ['smtpd_sasl_auth_enabel']),
    'postfix-bad-port': ({'postfix_master_cf_services': [{'name': '99999', 'type': 'inet', 'command': 'smtpd'}]},
                         ['postfix_master_cf_services', '99999']),
    'postfix-missing-certificate-file': ({'postfix_smtpd_tls_cert_file': '/etc/ssl/certs/missing.pem',
                                          'postfix_smtpd_tls_key_file': '/etc/ssl/private/missing.key'},
                                         ['postfix_smtpd_tls_cert_file']),
    # TLS of the submission services and the self-signed pair
    'postfix-submission-protocol-below-tls12': ({'postfix_submission_tls_protocols': '>=TLSv1'},
                                                ['postfix_submission_tls_protocols']),
    'postfix-submission-cbc-cipher': ({'postfix_submission_tls_ciphers': ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-SHA']},
                                      ['postfix_submission_tls_ciphers', 'ECDHE-RSA-AES128-SHA']),
    'postfix-submission-no-cipher': ({'postfix_submission_tls_ciphers': []}, ['postfix_submission_tls_ciphers is empty']),
    'postfix-unknown-key-type': ({'postfix_tls_selfsigned_key_type': 'dsa-1024'}, ['postfix_tls_selfsigned_key_type']),
    'postfix-certificate-for-ten-years': ({'postfix_tls_selfsigned_valid_days': 3650}, ['postfix_tls_selfsigned_valid_days']),
    # SMTP client: implicit TLS only with encrypt or stronger; policy services by endpoint.
    'postfix-wrappermode-with-may': ({'postfix_smtp_tls_wrappermode': True, 'postfix_smtp_tls_security_level': 'may'},
                                     ['postfix_smtp_tls_wrappermode', 'postfix_smtp_tls_security_level']),
    'postfix-bad-policy-service': ({'postfix_submission_policy_services': ['ratelimit/policy']},
                                   ['postfix_submission_policy_services']),
    'cyrus-sasl-unknown-mechanism': ({'cyrus_sasl_mech_list': ['PLAIN', 'ANONYMOUS']}, ['cyrus_sasl_mech_list']),
    'cyrus-sasl-newline-in-option': ({'cyrus_sasl_options': {'log_level': '3\nmech_list: ANONYMOUS PLAIN'}},
                                     ['cyrus_sasl_options']),
    # sasl_users role (exclusive: a failing run must not remove anyone). The task
    # runs with no_log, so its error is censored: only the task is named.
    'sasl-users-empty-password': (dict(SASLDB, sasl_users_list=GOOD_USERS + [{'name': 'eve', 'password': ''}]), ['Provision the SASL users']),
    # The sender login map: an alias that is no address (the unit tests cover the other checks).
    'sasl-users-bad-alias': (
        dict(SASLDB, sasl_users_list=GOOD_USERS + [{'name': 'eve', 'password': 'Eve-Secret', 'aliases': ['eve at example.org']}]),
        ['sasl_users_list', 'aliases', 'eve']),
    # The send_limit and fail2ban roles check everything before they install anything.
    'send-limit-limit-without-window': ({'send_limit_limits': [{'recipients': 5}]}, ['send_limit_limits']),
    'fail2ban-bad-ignoreip': ({'fail2ban_postfix_sasl_ignoreip': ['not-an-address']}, ['fail2ban_postfix_sasl_ignoreip']),
    # The sasldb cannot lock a user: refused (not ignored, which would leave eve able to log in).
    'sasl-users-locked-on-sasldb': (dict(SASLDB, sasl_users_list=GOOD_USERS + [{'name': 'eve', 'password': 'Eve-Secret', 'locked': True}]),
                                    ['sasl_users_list sets locked for eve']),
}


def _state(server):
    """Checksums, owners and modes of the managed files and what the running Postfix uses, in one exec."""
    files = ' '.join(MANAGED_FILES)
    return server.check_output(
        'sha256sum %s; stat -c "%%n %%U:%%G %%a" %s; echo; postconf -n; postconf -P; echo; cat /var/spool/postfix/pid/master.pid; '
        'sasldblistusers2 -f /var/spool/postfix/etc/sasldb2; dpkg-query -W fail2ban 2>&1 || true' % (files, files))


@pytest.mark.parametrize('case', list(CASES))
def test_bad_input_fails_and_changes_nothing(server, case):
    overrides, messages = CASES[case]
    before = _state(server)
    assert 'No such file' not in before, before
    role = ROLES[case.split('-')[0]]
    recap, output = run_converge('-e', json.dumps(dict(overrides, role_under_test=role)), playbook='bad_input.yml')
    assert recap[SERVER]['failed'] >= 1, 'the run did not fail:\n' + output[-3000:]
    failures = '\n'.join(line for line in output.splitlines() if 'fatal:' in line or 'FAILED' in line or 'msg' in line)
    for message in messages:
        assert message in output, 'failure does not name %r:\n%s' % (message, failures[-3000:])
    assert _state(server) == before
    assert good_auth_from_server(server) == 235
