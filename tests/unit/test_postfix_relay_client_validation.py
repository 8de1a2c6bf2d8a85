"""The postfix role's relay client checks, run for real by ansible-playbook on localhost.

Only tasks/relay-client-validate.yml runs (include_role tasks_from), so
nothing is installed: the role's defaults and vars, the asserts and the
derived table entries are exercised as the role uses them. No password may
appear in the output of a failing check.
"""

import json

import pytest

from helpers.roles import run_role_tasks

SECRET = 'S3cret-Never-Printed'

MESSAGES = [
    "KEYS={{ __postfix_relay_credentials | map(attribute='key') | list | to_json }}",
    "TLS={{ postfix_smtp_tls_security_level }} SASL={{ postfix_smtp_sasl_auth_enable | bool }}",
]


def _run(tmp_path, variables):
    return run_role_tasks(tmp_path, 'postfix', 'relay-client-validate', variables, MESSAGES)


def _cred(**kwargs):
    entry = {'username': 'client@example.org', 'password': SECRET}
    entry.update(kwargs)
    return entry


RELAY = '[mail.example.org]:587'
SMTPS = '[mail.example.org]:465'
BACKUP = '[backup.example.org]:465'

BAD = [
    # A failover list is a YAML list, not a comma-separated string.
    ('relayhost list in a string', {'postfix_relayhost': 'mail.example.org, backup.example.org'}, 'relayhost is one relayhost or a list'),
    ('relayhost listed twice', {'postfix_relayhost': [RELAY, RELAY.upper()]}, 'none listed twice'),
    ('bad relayhost in a list', {'postfix_relayhost': [RELAY, 'backup example']}, 'relayhost is one relayhost or a list'),
    ('relayhost a mapping', {'postfix_relayhost': {'host': RELAY}}, 'relayhost is one relayhost or a list'),
    ('wrappermode with may', {'postfix_relayhost': SMTPS, 'postfix_smtp_tls_wrappermode': True, 'postfix_smtp_tls_security_level': 'may'},
     'postfix_smtp_tls_wrappermode is true'),
    ('wrappermode with dane', {'postfix_relayhost': SMTPS, 'postfix_smtp_tls_wrappermode': True, 'postfix_smtp_tls_security_level': 'dane'},
     'postfix_smtp_tls_wrappermode is true'),
    ('wrappermode with none and unencrypted auth allowed', {
        'postfix_relayhost': SMTPS, 'postfix_smtp_tls_wrappermode': True, 'postfix_smtp_tls_security_level': 'none',
        'postfix_relay_allow_unencrypted_auth': True}, 'postfix_smtp_tls_wrappermode is true'),
    ('wrappermode without port', {'postfix_relayhost': [SMTPS, '[backup.example.org]'], 'postfix_smtp_tls_wrappermode': True},
     'every relayhost needs its port'),
    ('wrappermode sender-dependent relayhost without port', {
        'postfix_relayhost': SMTPS, 'postfix_smtp_tls_wrappermode': True,
        'postfix_sender_dependent_relayhost_maps': [{'sender': '@a.example', 'relayhost': 'smtp.provider.example'}]},
     'every relayhost needs its port'),
    ('per-host entry duplicates the shared login', {'postfix_relayhost': [SMTPS, BACKUP],
                                                    'postfix_relay_credentials': [_cred(), _cred(relayhost=BACKUP)]},
     'two entries have the same key'),
    ('relayhost newline', {'postfix_relayhost': RELAY + '\n'}, 'relayhost is one relayhost or a list'),
    ('relayhost unclosed bracket', {'postfix_relayhost': '[mail.example.org:587'}, 'relayhost is one relayhost or a list'),
    ('sender map bad relayhost', {'postfix_sender_dependent_relayhost_maps': [{'sender': '@a.example', 'relayhost': 'a b'}]},
     'relayhost is one relayhost or a list'),
    ('sender map bad sender', {'postfix_sender_dependent_relayhost_maps': [{'sender': 'nobody', 'relayhost': RELAY}]},
     'a sender key of postfix_sender_dependent_relayhost_maps is'),
    ('credentials without relayhost', {'postfix_relay_credentials': [_cred()]}, 'needs a username'),
    ('empty password', {'postfix_relayhost': RELAY, 'postfix_relay_credentials': [_cred(password='')]}, 'needs a username'),
    ('newline in password', {'postfix_relayhost': RELAY, 'postfix_relay_credentials': [_cred(password=SECRET + '\nx')]},
     'needs a username'),
    ('space around password', {'postfix_relayhost': RELAY, 'postfix_relay_credentials': [_cred(password=' ' + SECRET)]},
     'needs a username'),
    ('colon in username', {'postfix_relayhost': RELAY, 'postfix_relay_credentials': [_cred(username='a:b')]}, 'needs a username'),
    ('newline in username', {'postfix_relayhost': RELAY, 'postfix_relay_credentials': [_cred(username='a\nb')]}, 'needs a username'),
    ('two entries one key', {'postfix_relayhost': RELAY, 'postfix_relay_credentials': [_cred(), _cred(relayhost=RELAY.upper())]},
     'two entries have the same key'),
    ('may with credentials', {'postfix_relayhost': RELAY, 'postfix_relay_credentials': [_cred()], 'postfix_smtp_tls_security_level': 'may'},
     'send the password where TLS may be missing'),
    ('none with credentials', {'postfix_relayhost': RELAY, 'postfix_relay_credentials': [_cred()], 'postfix_smtp_tls_security_level': 'none'},
     'send the password where TLS may be missing'),
    ('verify without CA file', {'postfix_relayhost': RELAY, 'postfix_relay_credentials': [_cred()], 'postfix_smtp_tls_security_level': 'verify'},
     'need postfix_smtp_tls_cafile'),
    ('relayhost through main_cf_extra', {'postfix_main_cf_extra': {'relayhost': RELAY}}, 'not postfix_main_cf_extra'),
]


@pytest.mark.parametrize('variables, message', [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_relay_settings_are_refused_without_printing_the_password(tmp_path, variables, message):
    rc, output = _run(tmp_path, variables)
    assert rc != 0, output
    assert message in ' '.join(output.split()), output
    assert SECRET not in output
    assert 'KEYS=' not in output


GOOD = [
    ('no relay at all', {}, [], 'may', False),
    ('relayhost without credentials', {'postfix_relayhost': RELAY}, [], 'may', False),
    ('credentials default to encrypt', {'postfix_relayhost': RELAY, 'postfix_relay_credentials': [_cred()]}, [RELAY], 'encrypt', True),
    ('verify with CA file', {'postfix_relayhost': RELAY, 'postfix_relay_credentials': [_cred()],
                             'postfix_smtp_tls_security_level': 'verify', 'postfix_smtp_tls_cafile': '/etc/ssl/certs/ca-certificates.crt'},
     [RELAY], 'verify', True),
    ('may allowed explicitly', {'postfix_relayhost': RELAY, 'postfix_relay_credentials': [_cred()], 'postfix_smtp_tls_security_level': 'may',
                                'postfix_relay_allow_unencrypted_auth': True}, [RELAY], 'may', True),
    ('host:port and bare host', {'postfix_relayhost': 'smtp.example.org:submission',
                                 'postfix_relay_credentials': [_cred(), _cred(relayhost='backup.example.org')]},
     ['smtp.example.org:submission', 'backup.example.org'], 'encrypt', True),
    ('per-sender and sender-dependent', {
        'postfix_relayhost': RELAY,
        'postfix_relay_credentials': [_cred(), _cred(sender='@news.example.org'), _cred(relayhost='[smtp.provider.example]:2525')],
        'postfix_sender_dependent_relayhost_maps': [{'sender': 'shop@example.org', 'relayhost': '[smtp.provider.example]:2525'}]},
     [RELAY, '@news.example.org', '[smtp.provider.example]:2525'], 'encrypt', True),
    ('wrappermode defaults to encrypt', {'postfix_relayhost': SMTPS, 'postfix_smtp_tls_wrappermode': True}, [], 'encrypt', False),
    ('failover list, one login for both', {'postfix_relayhost': [SMTPS, BACKUP], 'postfix_smtp_tls_wrappermode': True,
                                           'postfix_relay_credentials': [_cred()]}, [SMTPS, BACKUP], 'encrypt', True),
    ('failover list, a login per host', {'postfix_relayhost': [SMTPS, BACKUP], 'postfix_smtp_tls_wrappermode': True,
                                         'postfix_relay_credentials': [_cred(relayhost=SMTPS), _cred(relayhost=BACKUP)]},
     [SMTPS, BACKUP], 'encrypt', True),
    ('wrappermode with verify', {'postfix_relayhost': SMTPS, 'postfix_smtp_tls_wrappermode': True, 'postfix_relay_credentials': [_cred()],
                                 'postfix_smtp_tls_security_level': 'verify', 'postfix_smtp_tls_cafile': '/etc/ssl/certs/ca-certificates.crt'},
     [SMTPS], 'verify', True),
    ('IPv6 relayhost', {'postfix_relayhost': '[ipv6:2001:db8::25]:587', 'postfix_relay_credentials': [_cred()]},
     ['[ipv6:2001:db8::25]:587'], 'encrypt', True),
]


@pytest.mark.parametrize('variables, keys, level, sasl', [case[1:] for case in GOOD], ids=[case[0] for case in GOOD])
def test_good_relay_settings_pass_and_keys_are_the_relayhost_strings(tmp_path, variables, keys, level, sasl):
    rc, output = _run(tmp_path, variables)
    assert rc == 0, output
    assert 'KEYS=%s' % json.dumps(keys) in output.replace('\\"', '"'), output
    assert 'TLS=%s SASL=%s' % (level, sasl) in output, output
    assert SECRET not in output
