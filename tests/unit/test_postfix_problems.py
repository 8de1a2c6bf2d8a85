"""The postfix_problems filter: the postfix role's host-free checks, as data.

Each case gives the variables that differ from GOOD (the role's defaults, a
self-signed pair) and a piece of the one problem expected, or None when the
variables are fine.
"""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mailstack.sasl_postfix.plugins.filter.postfix_problems import postfix_problems
from helpers.problems import assert_problem

GOOD = {
    'postfix_main_cf_extra': {},
    '__postfix_main_cf_managed': ['myhostname', 'mynetworks', 'smtpd_banner'],
    'postfix_master_cf_services': [],
    'postfix_myhostname': 'mx.example.org',
    'postfix_smtpd_tls_cert_file': '',
    'postfix_smtpd_tls_key_file': '',
    'postfix_tls_renewal_hook': False,
    'postfix_tls_renewal_hook_names': [],
    'postfix_submission_policy_services': [],
    'postfix_submission_data_policy_services': [],
    'postfix_submission_sender_restrictions': ['reject_authenticated_sender_login_mismatch'],
    'postfix_tls_selfsigned_valid_days': 365,
    'postfix_tls_selfsigned_renew_days': 30,
    'postfix_submission_tls_ciphers': ['ECDHE-ECDSA-AES128-GCM-SHA256'],
    'postfix_submission_recipient_limit': 100,
    'postfix_submission_hide_client_session': True,
    'postfix_submission_log_sasl_login': False,
    'postfix_tls_sni_certificates': [],
}

SERVICE = {'name': '2525', 'type': 'inet', 'private': 'n', 'command': 'smtpd', 'args': ['-o syslog_name=postfix/2525']}
CERT = {'postfix_smtpd_tls_cert_file': '/etc/ssl/mx.pem', 'postfix_smtpd_tls_key_file': '/etc/ssl/private/mx.key'}

SNI_NET = {'names': ['mail.example.net', 'smtp.example.net'],
           'cert_file': '/etc/letsencrypt/live/mail.example.net/fullchain.pem',
           'key_file': '/etc/letsencrypt/live/mail.example.net/privkey.pem'}
SNI_COM = {'names': ['mail.example.com'], 'cert_file': '/etc/ssl/mail.example.com.crt', 'key_file': '/etc/ssl/private/mail.example.com.key'}
SNI_BASE = dict(CERT, postfix_tls_renewal_hook=True, postfix_tls_sni_certificates=[SNI_NET, SNI_COM])

# case -> (variables that differ from GOOD, a piece of the problem expected or None)
CASES = {
    'the defaults': ({}, None),
    # postfix_main_cf_extra
    'an extra parameter': ({'postfix_main_cf_extra': {'smtpd_helo_required': True, 'delay_warning_time': '4h'}}, None),
    'an extra name with a blank': ({'postfix_main_cf_extra': {'smtpd helo': 'yes'}},
                                   "postfix_main_cf_extra: parameter names are letters, digits and '_' (wrong: \"smtpd helo\")"),
    'an extra name with a newline': ({'postfix_main_cf_extra': {'a\nb': 'yes'}}, r'(wrong: "a\nb")'),
    'an extra value with a newline': ({'postfix_main_cf_extra': {'smtpd_helo_required': 'yes\nrelayhost = x'}},
                                      'values must not contain newlines (they do for: smtpd_helo_required)'),
    'an extra list value with a newline': ({'postfix_main_cf_extra': {'mynetworks_style': ['host', 'x\ny']}},
                                           'values must not contain newlines (they do for: mynetworks_style)'),
    'an extra managed parameter': ({'postfix_main_cf_extra': {'mynetworks': '0.0.0.0/0', 'smtpd_banner': 'x'}},
                                   'these parameters are managed by role variables, set those instead: mynetworks, smtpd_banner'),
    'an extra that is no dictionary': ({'postfix_main_cf_extra': ['mynetworks']}, 'postfix_main_cf_extra is a dictionary'),
    # postfix_master_cf_services
    'a service': ({'postfix_master_cf_services': [SERVICE]}, None),
    'a service on host:port': ({'postfix_master_cf_services': [dict(SERVICE, name='127.0.0.1:10025')]}, None),
    'a unix service without port': ({'postfix_master_cf_services': [dict(SERVICE, name='policy', type='unix')]}, None),
    'a service to remove needs no command': ({'postfix_master_cf_services': [{'name': 'submission', 'type': 'inet', 'state': 'absent'}]},
                                             None),
    'a service without command': ({'postfix_master_cf_services': [{'name': 'x', 'type': 'unix'}]},
                                  'postfix_master_cf_services entries x/unix (no command): each needs a name'),
    'a service without type': ({'postfix_master_cf_services': [{'name': 'x', 'command': 'smtpd'}]}, 'entries x/? (no type of inet'),
    'a service of unknown type': ({'postfix_master_cf_services': [dict(SERVICE, type='tcp')]}, 'entries 2525/tcp (no type of inet'),
    'a service without name': ({'postfix_master_cf_services': [{'type': 'unix', 'command': 'smtpd'}]}, 'entries ?/unix (no name'),
    'a service name with a blank': ({'postfix_master_cf_services': [dict(SERVICE, name='my service')]}, 'entries my service/inet (no name'),
    'a service of unknown state': ({'postfix_master_cf_services': [dict(SERVICE, state='gone')]}, '(state "gone")'),
    'a service arg with a newline': ({'postfix_master_cf_services': [dict(SERVICE, args=['-o a=b\n-o c=d'])]}, '(a newline in args)'),
    'port 0': ({'postfix_master_cf_services': [dict(SERVICE, name='0')]}, 'entries 0/inet (port not from 1 to 65535)'),
    'port 65536 on an address': ({'postfix_master_cf_services': [dict(SERVICE, name='127.0.0.1:65536')]}, '(port not from 1 to 65535)'),
    'a service that is no dictionary': ({'postfix_master_cf_services': ['smtp inet n - y - - smtpd']}, 'entries ?/? (not a dictionary)'),
    # postfix_myhostname
    'an empty host name': ({'postfix_myhostname': ''}, 'postfix_myhostname is empty.'),
    'a blank host name': ({'postfix_myhostname': '  '}, 'postfix_myhostname is empty.'),
    # The TLS pair and the renewal hook
    'a given pair': (CERT, None),
    'a certificate without key': ({'postfix_smtpd_tls_cert_file': '/etc/ssl/mx.pem'},
                                  'Set both postfix_smtpd_tls_cert_file and postfix_smtpd_tls_key_file, or neither'),
    'a key without certificate': ({'postfix_smtpd_tls_key_file': '/etc/ssl/private/mx.key'},
                                  'postfix_smtpd_tls_cert_file is "", postfix_smtpd_tls_key_file is "/etc/ssl/private/mx.key"'),
    'the renewal hook with a pair': (dict(CERT, postfix_tls_renewal_hook=True, postfix_tls_renewal_hook_names=['mx.example.org', '*.example.org']),
                                     None),
    'the renewal hook without a pair': ({'postfix_tls_renewal_hook': 'yes'}, 'postfix_tls_renewal_hook needs both'),
    'a renewal hook name with a blank': ({'postfix_tls_renewal_hook_names': ['mx example']},
                                         'postfix_tls_renewal_hook_names takes host names (wrong: "mx example")'),
    'a renewal hook name with a newline': ({'postfix_tls_renewal_hook_names': ['mx.example.org\n']}, r'(wrong: "mx.example.org\n")'),
    # TLS SNI: one certificate per domain
    'SNI certificates': (SNI_BASE, None),
    'SNI without the renewal hook': (dict(CERT, postfix_tls_sni_certificates=[SNI_NET]),
                                     'postfix_tls_sni_certificates needs postfix_tls_renewal_hook: true, with '
                                     'postfix_smtpd_tls_cert_file and postfix_smtpd_tls_key_file'),
    'SNI with a self-signed default': ({'postfix_tls_sni_certificates': [SNI_NET]},
                                       'postfix_tls_sni_certificates needs postfix_tls_renewal_hook: true'),
    'SNI with the hook and no default pair': ({'postfix_tls_renewal_hook': True, 'postfix_tls_sni_certificates': [SNI_NET]},
                                              'postfix_tls_renewal_hook needs both'),
    'SNI certificates that are no list': (dict(SNI_BASE, postfix_tls_sni_certificates=SNI_NET),
                                          'postfix_tls_sni_certificates is a list of entries with names, cert_file and '
                                          'key_file (got {"cert_file": '),
    'an SNI entry that is no dictionary': (dict(SNI_BASE, postfix_tls_sni_certificates=['mail.example.net']),
                                           'postfix_tls_sni_certificates entries [0] (not a dictionary): each needs names'),
    'an SNI entry without names': (dict(SNI_BASE, postfix_tls_sni_certificates=[dict(SNI_NET, names=[])]),
                                   'entries [0] (no list of names)'),
    'an SNI name as a string': (dict(SNI_BASE, postfix_tls_sni_certificates=[dict(SNI_NET, names='mail.example.net')]),
                                'entries [0] (no list of names)'),
    'an SNI wildcard': (dict(SNI_BASE, postfix_tls_sni_certificates=[dict(SNI_NET, names=['*.example.net'])]),
                        'entries [0] (*.example.net) (names that are no DNS names (no wildcards) "*.example.net")'),
    'an SNI name with a blank': (dict(SNI_BASE, postfix_tls_sni_certificates=[dict(SNI_NET, names=['mail.example.net', 'a b'])]),
                                 'entries [0] (mail.example.net) (names that are no DNS names (no wildcards) "a b")'),
    'an SNI name with a trailing dot': (dict(SNI_BASE, postfix_tls_sni_certificates=[dict(SNI_NET, names=['example.net.'])]),
                                        '"example.net."'),
    'an SNI name with a leading hyphen': (dict(SNI_BASE, postfix_tls_sni_certificates=[dict(SNI_NET, names=['-x.example.net'])]),
                                          '"-x.example.net"'),
    'an SNI name with a newline': (dict(SNI_BASE, postfix_tls_sni_certificates=[dict(SNI_NET, names=['mail.example.net\n'])]),
                                   r'"mail.example.net\n"'),
    'an SNI name that is a number': (dict(SNI_BASE, postfix_tls_sni_certificates=[dict(SNI_NET, names=[42])]),
                                     '(names that are no DNS names (no wildcards) 42)'),
    'an IDN SNI name as A-label': (dict(SNI_BASE, postfix_tls_sni_certificates=[dict(SNI_NET, names=['xn--bcher-kva.example'])]),
                                   None),
    'a relative SNI certificate': (dict(SNI_BASE, postfix_tls_sni_certificates=[dict(SNI_NET, cert_file='live/fullchain.pem')]),
                                   '(cert_file "live/fullchain.pem" not an absolute path without blanks)'),
    'an SNI key path with a blank': (dict(SNI_BASE, postfix_tls_sni_certificates=[dict(SNI_NET, key_file='/etc/my keys/k.pem')]),
                                     '(key_file "/etc/my keys/k.pem" not an absolute path without blanks)'),
    'an SNI entry without key': (dict(SNI_BASE, postfix_tls_sni_certificates=[{'names': ['a.example'], 'cert_file': '/c'}]),
                                 'entries [0] (a.example) (key_file null not an absolute path without blanks)'),
    'an SNI entry with an unknown key': (dict(SNI_BASE, postfix_tls_sni_certificates=[dict(SNI_NET, chain='/x')]),
                                         '(unknown keys chain)'),
    'an SNI name in two entries': (dict(SNI_BASE, postfix_tls_sni_certificates=[SNI_NET, dict(SNI_COM, names=['Mail.Example.net'])]),
                                   'postfix_tls_sni_certificates: a name belongs to one entry only (in more than one: '
                                   'mail.example.net).'),
    'an SNI name twice in one entry': (dict(SNI_BASE, postfix_tls_sni_certificates=[dict(SNI_NET, names=['a.example', 'a.example'])]),
                                       None),
    'myhostname as an SNI name': (dict(SNI_BASE, postfix_tls_sni_certificates=[dict(SNI_NET, names=['MX.example.org'])]),
                                  'postfix_tls_sni_certificates: mx.example.org already served by the default certificate'),
    'a renewal hook name as an SNI name': (dict(SNI_BASE, postfix_tls_renewal_hook_names=['smtp.example.org'],
                                                postfix_tls_sni_certificates=[dict(SNI_NET, names=['smtp.example.org'])]),
                                           ': smtp.example.org already served by the default certificate'),
    # The submission services
    'policy services': ({'postfix_submission_policy_services': ['unix:ratelimit/policy', 'inet:127.0.0.1:10031', 'inet:[::1]:10031']},
                        None),
    'a policy service without type': ({'postfix_submission_policy_services': ['ratelimit/policy']},
                                      'postfix_submission_policy_services takes unix:name (below the queue directory) or '
                                      'inet:host:port (wrong: "ratelimit/policy")'),
    'a policy service at DATA': ({'postfix_submission_data_policy_services': ['unix:ratelimit/policy']}, None),
    'a policy service at DATA without type': ({'postfix_submission_data_policy_services': ['ratelimit/policy']},
                                              'postfix_submission_data_policy_services takes unix:name (below the '
                                              'queue directory) or inet:host:port (wrong: "ratelimit/policy").'),
    'a policy service without port': ({'postfix_submission_policy_services': ['inet:127.0.0.1']}, '(wrong: "inet:127.0.0.1")'),
    'a policy service with a newline': ({'postfix_submission_policy_services': ['unix:policy\n']}, r'(wrong: "unix:policy\n")'),
    'no sender restriction': ({'postfix_submission_sender_restrictions': []}, None),
    'sender restrictions in one item': ({'postfix_submission_sender_restrictions': ['reject_sender_login_mismatch, permit']},
                                        'postfix_submission_sender_restrictions takes one restriction per item, without spaces, '
                                        'commas or braces (wrong: "reject_sender_login_mismatch, permit")'),
    'a sender restriction with braces': ({'postfix_submission_sender_restrictions': ['{ permit }']}, '(wrong: "{ permit }")'),
    'no cipher': ({'postfix_submission_tls_ciphers': []}, 'postfix_submission_tls_ciphers is empty'),
    'a recipient cap of 1': ({'postfix_submission_recipient_limit': 1}, None),
    'a recipient cap as digits': ({'postfix_submission_recipient_limit': '500'}, None),
    'no recipient cap': ({'postfix_submission_recipient_limit': 0},
                         'postfix_submission_recipient_limit is the most recipients one message may have on 587 and 465, '
                         'a whole number of at least 1 (0 would turn the limit off; got 0).'),
    'a negative recipient cap': ({'postfix_submission_recipient_limit': -5}, 'postfix_submission_recipient_limit is'),
    'a recipient cap of 0 as digits': ({'postfix_submission_recipient_limit': '0'}, '(0 would turn the limit off; got "0")'),
    'a fractional recipient cap': ({'postfix_submission_recipient_limit': 2.5}, 'postfix_submission_recipient_limit is'),
    'a recipient cap that is no number': ({'postfix_submission_recipient_limit': 'lots'}, '; got "lots")'),
    'a recipient cap with a blank': ({'postfix_submission_recipient_limit': '100 '}, '; got "100 ")'),
    'a recipient cap that is a boolean': ({'postfix_submission_recipient_limit': True}, '; got true)'),
    'a recipient cap that is none': ({'postfix_submission_recipient_limit': None}, '; got null)'),
    # The login of each recipient logged on 587 and 465
    'login logged': ({'postfix_submission_log_sasl_login': True}, None),
    'login logged as "no"': ({'postfix_submission_log_sasl_login': 'no'}, None),
    'login logged that is no boolean': ({'postfix_submission_log_sasl_login': 'sometimes'},
                                        'postfix_submission_log_sasl_login is true (587 and 465 log the login of each '
                                        'recipient) or false (got "sometimes").'),
    # Client privacy on 587 and 465, and the host name its header_checks match (before Postfix 3.10)
    'privacy off': ({'postfix_submission_hide_client_session': False}, None),
    'privacy as yes': ({'postfix_submission_hide_client_session': 'yes'}, None),
    'privacy as 0': ({'postfix_submission_hide_client_session': 0}, None),
    'privacy that is no boolean': ({'postfix_submission_hide_client_session': 'maybe'},
                                   'postfix_submission_hide_client_session is true (the Received header of 587 and 465 '
                                   'does not name the client) or false (got "maybe").'),
    'privacy that is none': ({'postfix_submission_hide_client_session': None}, 'or false (got null).'),
    'privacy that is a list': ({'postfix_submission_hide_client_session': [True]}, 'or false (got [true]).'),
    'a host name with hyphens and underscores': ({'postfix_myhostname': 'mx-1_a.example.org'}, None),
    'a host name with a parameter': ({'postfix_myhostname': 'mx.$mydomain'}, None),
    'a host name with a parameter in braces': ({'postfix_myhostname': 'mx.${mydomain}'}, None),
    'a host name with a regexp character': ({'postfix_myhostname': 'm+x.example.org'},
                                            "postfix_myhostname is a host name of letters, digits, '.', '-' and '_' "
                                            '(or main.cf parameters such as $mydomain): the submission services\' '
                                            'header_checks, which keep the client out of the Received header before '
                                            'Postfix 3.10 (postfix_submission_hide_client_session), match it '
                                            '(got "m+x.example.org").'),
    'a host name with a slash': ({'postfix_myhostname': 'mx/.example.org'}, '(got "mx/.example.org")'),
    'a host name with a blank': ({'postfix_myhostname': 'mx example.org'}, '(got "mx example.org")'),
    'a host name with a lone dollar': ({'postfix_myhostname': 'mx.$'}, '(got "mx.$")'),
    'any host name without privacy': ({'postfix_myhostname': 'm+x.example.org',
                                       'postfix_submission_hide_client_session': False}, None),
    # The self-signed certificate's lifetime
    'the longest lifetime': ({'postfix_tls_selfsigned_valid_days': '366', 'postfix_tls_selfsigned_renew_days': '365'}, None),
    'a lifetime too long': ({'postfix_tls_selfsigned_valid_days': 367},
                            'postfix_tls_selfsigned_valid_days (367) must be from 1 to 366 days'),
    'no lifetime': ({'postfix_tls_selfsigned_valid_days': 0}, 'postfix_tls_selfsigned_valid_days (0) must be'),
    'a lifetime that is no number': ({'postfix_tls_selfsigned_valid_days': 'a year'}, 'postfix_tls_selfsigned_valid_days (a year)'),
    'renewal at the end': ({'postfix_tls_selfsigned_renew_days': 365}, 'postfix_tls_selfsigned_renew_days (365) at least 1 and less'),
    'no renewal window': ({'postfix_tls_selfsigned_renew_days': 0}, 'postfix_tls_selfsigned_renew_days (0) at least 1'),
}


@pytest.mark.parametrize('case', list(CASES))
def test_postfix_problems(case):
    changes, expected = CASES[case]
    problems = postfix_problems(dict(GOOD, **changes))
    assert_problem(problems, expected)


def test_every_problem_is_reported():
    problems = postfix_problems(dict(GOOD, postfix_myhostname='', postfix_submission_tls_ciphers=[],
                                     postfix_main_cf_extra={'mynetworks': 'x', 'a b': 'y'}))
    assert len(problems) == 4, problems


@pytest.mark.parametrize('value, message', [
    (['postfix_myhostname'], 'dictionary'),
    ({'postfix_myhostname': 'mx.example.org'}, 'needs the variables postfix_main_cf_extra, __postfix_main_cf_managed'),
])
def test_postfix_problems_wants_every_variable(value, message):
    with pytest.raises(AnsibleFilterError, match=message):
        postfix_problems(value)
