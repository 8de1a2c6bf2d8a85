"""The postfix_relay_problems and postfix_relay_credential_problems filters, as data.

Each case gives the variables that differ from GOOD (the role's defaults, no
relay) and a piece of the one problem expected, or None when they are fine.
No problem may show a password.
"""

import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.mailstack.sasl_postfix.plugins.filter.postfix_relay_problems import (
    CLIENT_PARAMETERS, postfix_relay_credential_problems, postfix_relay_problems)
from helpers.problems import assert_problem

SECRET = 'S3cret-Never-Printed'
RELAY = '[mail.example.org]:587'
SMTPS = '[mail.example.org]:465'
BACKUP = '[backup.example.org]:465'
CA = '/etc/ssl/certs/ca-certificates.crt'

GOOD = {
    'postfix_relayhost': '',
    'postfix_sender_dependent_relayhost_maps': [],
    'postfix_relay_credentials': [],
    'postfix_relay_allow_unencrypted_auth': False,
    'postfix_smtp_tls_security_level': 'may',
    'postfix_smtp_tls_wrappermode': False,
    'postfix_smtp_tls_cafile': '',
    'postfix_smtp_sasl_mechanism_filter': '',
    'postfix_smtp_sasl_security_options': ['noanonymous'],
    'postfix_smtp_sasl_tls_security_options': ['noanonymous'],
    'postfix_main_cf_extra': {},
}


def _cred(**kwargs):
    entry = {'username': 'client@example.org', 'password': SECRET}
    entry.update(kwargs)
    return entry


def _map(sender, relayhost):
    return {'postfix_sender_dependent_relayhost_maps': [{'sender': sender, 'relayhost': relayhost}]}


WITH_CREDS = {'postfix_relayhost': RELAY, 'postfix_relay_credentials': [_cred()]}

# case -> (variables that differ from GOOD, a piece of the problem expected or None)
RELAY_CASES = {
    'no relay': ({}, None),
    'one relayhost': ({'postfix_relayhost': RELAY}, None),
    'host:service and bare host': ({'postfix_relayhost': ['smtp.example.org:submission', 'backup.example.org']}, None),
    'IPv6 relayhost': ({'postfix_relayhost': '[ipv6:2001:db8::25]:587'}, None),
    'a failover list': ({'postfix_relayhost': [SMTPS, BACKUP], 'postfix_smtp_tls_wrappermode': True,
                         'postfix_smtp_tls_security_level': 'encrypt'}, None),
    'a list in a string': ({'postfix_relayhost': 'mail.example.org, backup.example.org'},
                           'postfix_relayhost is one relayhost or a list of them (failover, tried in order), each [host]:port, '
                           'host:port, [host] or host, without spaces, commas or newlines'),
    'a mapping': ({'postfix_relayhost': {'host': RELAY}}, 'postfix_relayhost is one relayhost or a list of them (failover, tried '
                                                          'in order), not {"host": "[mail.example.org]:587"}'),
    'a relayhost with a newline': ({'postfix_relayhost': RELAY + '\n'}, r'(wrong: "[mail.example.org]:587\n" (postfix_relayhost))'),
    'an unclosed bracket': ({'postfix_relayhost': '[mail.example.org:587'}, '(wrong: "[mail.example.org:587" (postfix_relayhost))'),
    'a relayhost listed twice': ({'postfix_relayhost': [RELAY, RELAY.upper()]}, 'none listed twice (compared without case; twice: '
                                                                                '"[MAIL.EXAMPLE.ORG]:587")'),
    'a sender-dependent relayhost': (_map('@a.example', RELAY), None),
    'a wrong sender-dependent relayhost': (_map('@a.example', 'a b'), '(wrong: "a b" (postfix_sender_dependent_relayhost_maps))'),
    'a sender-dependent entry without relayhost': ({'postfix_sender_dependent_relayhost_maps': [{'sender': '@a.example'}]},
                                                   '(wrong: null (postfix_sender_dependent_relayhost_maps))'),
    'a wrong sender': (_map('nobody', RELAY), 'Wrong sender keys ("nobody"): a sender key of postfix_sender_dependent_relayhost_maps '
                                              'is user@domain, @domain or user@.'),
    'a sender user@': (_map('shop@', RELAY), None),
    # TLS with wrappermode (SMTPS)
    'wrappermode with may': ({'postfix_relayhost': SMTPS, 'postfix_smtp_tls_wrappermode': True},
                             "postfix_smtp_tls_wrappermode is true (implicit TLS, SMTPS): postfix_smtp_tls_security_level must be "
                             "encrypt, fingerprint, verify, secure, dane-only (got 'may')."),
    'wrappermode with dane': ({'postfix_relayhost': SMTPS, 'postfix_smtp_tls_wrappermode': 'yes',
                               'postfix_smtp_tls_security_level': 'dane'}, "(got 'dane')"),
    'wrappermode without port': ({'postfix_relayhost': [SMTPS, '[backup.example.org]'], 'postfix_smtp_tls_wrappermode': True,
                                  'postfix_smtp_tls_security_level': 'encrypt'},
                                 'every relayhost needs its port, for example [smtp.example.org]:465 (without one: '
                                 '"[backup.example.org]")'),
    'wrappermode, a sender-dependent relayhost without port': (
        dict(_map('@a.example', 'smtp.provider.example'), postfix_relayhost=SMTPS, postfix_smtp_tls_wrappermode=True,
             postfix_smtp_tls_security_level='encrypt'), '(without one: "smtp.provider.example")'),
    # TLS with credentials
    'credentials with encrypt': (dict(WITH_CREDS, postfix_smtp_tls_security_level='encrypt'), None),
    'credentials with may': (WITH_CREDS, "postfix_smtp_tls_security_level is 'may': with postfix_relay_credentials it must be "
                                         "encrypt, verify or secure (or set postfix_relay_allow_unencrypted_auth: true to send "
                                         "the password where TLS may be missing)."),
    'credentials with none': (dict(WITH_CREDS, postfix_smtp_tls_security_level='none'), "is 'none': with postfix_relay_credentials"),
    'credentials with no level': (dict(WITH_CREDS, postfix_smtp_tls_security_level=''), "is '': with postfix_relay_credentials"),
    'credentials with may, allowed': (dict(WITH_CREDS, postfix_relay_allow_unencrypted_auth=True), None),
    'verify with a CA file': (dict(WITH_CREDS, postfix_smtp_tls_security_level='verify', postfix_smtp_tls_cafile=CA), None),
    'verify without CA file': ({'postfix_relayhost': RELAY, 'postfix_smtp_tls_security_level': 'verify'},
                               "postfix_smtp_tls_security_level is 'verify': verify, secure and dane-only need "
                               "postfix_smtp_tls_cafile"),
    'dane-only without CA file': ({'postfix_smtp_tls_security_level': 'dane-only'}, 'need postfix_smtp_tls_cafile'),
    # main.cf
    'another extra parameter': ({'postfix_main_cf_extra': {'smtp_helo_timeout': '60s'}}, None),
    'relayhost through main_cf_extra': ({'postfix_main_cf_extra': {'relayhost': RELAY, 'smtp_tls_CAfile': CA}},
                                        "Set relayhost, smtp_tls_CAfile through the role's postfix_relay*/postfix_smtp_* "
                                        "variables, not postfix_main_cf_extra."),
    'a newline in the CA file': ({'postfix_smtp_tls_cafile': CA + '\nrelayhost = x'},
                                 'No client setting may contain a newline; these do: postfix_smtp_tls_cafile.'),
    'a newline in an option': ({'postfix_smtp_sasl_security_options': ['noanonymous\n']},
                               'No client setting may contain a newline; these do: postfix_smtp_sasl_security_options.'),
}


@pytest.mark.parametrize('case', list(RELAY_CASES))
def test_postfix_relay_problems(case):
    changes, expected = RELAY_CASES[case]
    problems = postfix_relay_problems(dict(GOOD, **changes))
    assert_problem(problems, expected, SECRET)


# case -> (postfix_relayhost, postfix_relay_credentials, a piece of the problem expected or None)
CREDENTIAL_CASES = {
    'one login for the relayhost': (RELAY, [_cred()], None),
    'one login for a failover list': ([SMTPS, BACKUP], [_cred()], None),
    'a login per host': ([SMTPS, BACKUP], [_cred(relayhost=SMTPS), _cred(relayhost=BACKUP)], None),
    'per sender and sender-dependent': (RELAY, [_cred(), _cred(sender='@news.example.org'),
                                                _cred(relayhost='[smtp.provider.example]:2525')], None),
    'no relayhost': ('', [_cred()], 'entries for client@example.org (no relayhost (its own, or those of postfix_relayhost) and '
                                    'no sender): each needs a username'),
    'its own relayhost': ('', [_cred(relayhost=RELAY)], None),
    'no password': (RELAY, [_cred(password='')], 'entries for client@example.org (no password (or oauth2)): each needs a username'),
    'a null password': (RELAY, [_cred(password=None)], '(no password (or oauth2))'),
    'no password key': (RELAY, [{'username': 'u'}], 'entries for u (no password (or oauth2))'),
    'a newline in the password': (RELAY, [_cred(password=SECRET + '\nx')], '(a newline or other control character in the password)'),
    'a space around the password': (RELAY, [_cred(password=' ' + SECRET)], '(leading or trailing spaces in the password)'),
    'no username': (RELAY, [{'password': SECRET}], 'entries for (no username) (no username)'),
    'a colon in the username': (RELAY, [_cred(username='a:b')], "entries for a:b (a username with a blank, a line break or ':')"),
    'a newline in the username': (RELAY, [_cred(username='a\nb')], 'entries for a?b (a username with a blank'),
    'a wrong sender': (RELAY, [_cred(sender='nobody')], '(sender "nobody" is not user@domain, @domain or user@)'),
    'a wrong relayhost': (RELAY, [_cred(relayhost='a b')], '(relayhost "a b" is not [host]:port, host:port, [host] or host)'),
    'an entry that is no dictionary': (RELAY, ['client:' + SECRET], 'entries for (no username) (not a dictionary)'),
    'two entries, one key': (RELAY, [_cred(), _cred(relayhost=RELAY.upper())],
                             'postfix_relay_credentials: two entries have the same key (the relayhost, or the sender, compared '
                             'without case; an entry without either is keyed by every relayhost of postfix_relayhost): '
                             '[mail.example.org]:587;'),
    'a host entry duplicates the shared login': ([SMTPS, BACKUP], [_cred(), _cred(relayhost=BACKUP)],
                                                 'two entries have the same key (the relayhost'),
    'two entries, one sender': (RELAY, [_cred(sender='@a.example'), _cred(sender='@A.example')], '): @a.example;'),
}


@pytest.mark.parametrize('case', list(CREDENTIAL_CASES))
def test_postfix_relay_credential_problems(case):
    relayhost, credentials, expected = CREDENTIAL_CASES[case]
    problems = postfix_relay_credential_problems({'postfix_relayhost': relayhost, 'postfix_relay_credentials': credentials})
    assert_problem(problems, expected, SECRET)


def test_the_client_parameters_are_those_the_role_writes():
    """postfix_main_cf_extra may name none of the client parameters: the filter's list is vars/main.yml's."""
    path = os.path.join(os.path.dirname(__file__), '..', '..', 'roles', 'postfix', 'vars', 'main.yml')
    with open(path) as handle:
        role_vars = yaml.safe_load(handle)
    assert sorted(CLIENT_PARAMETERS) == sorted(role_vars['__postfix_relay_client_main_cf'])


@pytest.mark.parametrize('check, value, message', [
    (postfix_relay_problems, ['postfix_relayhost'], 'dictionary'),
    (postfix_relay_problems, {'postfix_relayhost': RELAY}, 'postfix_relay_problems needs the variables '
                                                           'postfix_sender_dependent_relayhost_maps'),
    (postfix_relay_credential_problems, {'postfix_relay_credentials': []}, 'needs the variables postfix_relayhost'),
])
def test_the_filters_want_every_variable(check, value, message):
    with pytest.raises(AnsibleFilterError, match=message):
        check(value)
