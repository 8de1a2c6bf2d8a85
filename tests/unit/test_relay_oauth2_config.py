"""OAuth2 logins at relayhosts: their problems (postfix_relay_credential_problems) and the
refresher's configuration they become (relay_oauth2_config), in data tables.

No problem and no part of the configuration's names may show a secret; the secrets
appear only where the refresher reads them.
"""

import json
import os
import subprocess

import pytest
import yaml

from ansible_collections.mailstack.sasl_postfix.plugins.filter.postfix_relay_problems import (
    postfix_relay_credential_problems)
from ansible_collections.mailstack.sasl_postfix.plugins.filter.relay_oauth2_config import relay_oauth2_config
from helpers.postfix import settled
from helpers.problems import assert_problem

SECRET = 'oauth2-test-secret~1'
M365 = '[smtp.office365.com]:587'
GMAIL = '[smtp.gmail.com]:465'
CERTIFICATE = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'
PRIVATE_KEY = '-----BEGIN PRIVATE KEY-----\n' + SECRET + '\n-----END PRIVATE KEY-----'
SERVICE_ACCOUNT = {'type': 'service_account', 'client_email': 'relay@project.iam.gserviceaccount.com',
                   'private_key': PRIVATE_KEY, 'private_key_id': 'k1', 'token_uri': 'https://oauth2.googleapis.com/token'}


def _m365(**oauth2):
    return {'relayhost': M365, 'username': 'relay@contoso.example',
            'oauth2': dict({'provider': 'microsoft365', 'tenant': 'contoso.onmicrosoft.com', 'client_id': 'app-id',
                            'client_secret': SECRET}, **oauth2)}


def _without(entry, key):
    entry['oauth2'].pop(key)
    return entry


# case -> (postfix_relay_credentials, a piece of the problem expected or None)
PROBLEM_CASES = {
    'microsoft365 with a secret': ([_m365()], None),
    'microsoft365 with a certificate': ([_without(_m365(client_certificate=CERTIFICATE, client_private_key=PRIVATE_KEY),
                                                  'client_secret')], None),
    'microsoft365 for a sovereign cloud': ([_without(_m365(token_url='https://login.microsoftonline.us/t/oauth2/v2.0/token'),
                                                     'tenant')], None),
    'google with a service account': ([{'relayhost': GMAIL, 'username': 'relay@example.com',
                                        'oauth2': {'provider': 'google', 'service_account': json.dumps(SERVICE_ACCOUNT)}}],
                                      None),
    'google with a refresh token': ([{'relayhost': GMAIL, 'username': 'relay@example.com',
                                      'oauth2': {'provider': 'google', 'client_id': 'c', 'client_secret': SECRET,
                                                 'refresh_token': SECRET}}], None),
    'generic': ([{'sender': '@example.org', 'username': 'u',
                  'oauth2': {'provider': 'generic', 'token_url': 'https://idp.example/token', 'client_id': 'c',
                             'client_secret': SECRET}}], None),
    'mixed with a password entry': ([_m365(), {'relayhost': '[backup.example]:465', 'username': 'b', 'password': SECRET}],
                                    None),
    'no secret': ([_without(_m365(), 'client_secret')],
                  'entries for relay@contoso.example (no secret: oauth2.client_secret, oauth2.client_certificate with '
                  'oauth2.client_private_key, or oauth2.refresh_token)'),
    'an unknown provider': ([_m365(provider='yahoo')],
                            '(oauth2.provider "yahoo" is not one of microsoft365, google, generic)'),
    'no provider': ([{'relayhost': M365, 'username': 'u', 'oauth2': {'client_id': 'c'}}],
                    '(oauth2.provider null is not one of microsoft365, google, generic)'),
    'a plain-http token endpoint': ([_m365(token_url='http://login.example/token')],
                                    '(oauth2.token_url "http://login.example/token" is not an https:// URL'),
    'no tenant': ([_without(_m365(), 'tenant')], '(no oauth2.tenant (the directory id or a domain of the tenant))'),
    'no client id': ([_without(_m365(), 'client_id')], '(no oauth2.client_id (the application id))'),
    'a certificate without its key': ([_m365(client_certificate=CERTIFICATE)],
                                      '(oauth2.client_private_key is not a PEM private key)'),
    'a service account that is not one': ([{'relayhost': GMAIL, 'username': 'u',
                                            'oauth2': {'provider': 'google', 'service_account': '{"a": 1}'}}],
                                          '(oauth2.service_account is not a service account key'),
    'google with neither': ([{'relayhost': GMAIL, 'username': 'u', 'oauth2': {'provider': 'google', 'client_id': 'c'}}],
                            '(no secret: oauth2.service_account (with domain-wide delegation), or oauth2.refresh_token)'),
    'generic without an endpoint': ([{'relayhost': M365, 'username': 'u',
                                      'oauth2': {'provider': 'generic', 'client_id': 'c', 'client_secret': SECRET}}],
                                    '(no oauth2.token_url)'),
    'a password as well': ([dict(_m365(), password=SECRET)], '(both a password and oauth2)'),
    'an unknown key': ([_m365(client_secert=SECRET)], '(unknown oauth2 key(s) client_secert (known: provider,'),
    'a line break in the client id': ([_m365(client_id='a\nb')],
                                      '(a line break or other control character in oauth2.client_id)'),
    'oauth2 that is no dictionary': ([dict(_m365(), oauth2='microsoft365')], '(oauth2 is not a dictionary)'),
}


@pytest.mark.parametrize('case', list(PROBLEM_CASES))
def test_oauth2_problems(case):
    credentials, expected = PROBLEM_CASES[case]
    problems = postfix_relay_credential_problems({'postfix_relayhost': '', 'postfix_relay_credentials': credentials})
    assert_problem(problems, expected, SECRET)


def _config(credentials, relayhost=''):
    return relay_oauth2_config({
        'postfix_relay_credentials': credentials, 'postfix_relayhost': relayhost,
        'table': '/etc/postfix/oauth2_tokens', 'table_type': 'lmdb', 'ca_file': '',
        'secrets_dir': '/etc/mailstack/oauth2', 'state_file': '/var/lib/mailstack-oauth2/state.json'})


def test_config_frame():
    config = _config([_m365()])['config']
    assert config['table'] == {'path': '/etc/postfix/oauth2_tokens', 'type': 'lmdb'}
    assert config['ca_file'] is None
    assert config['flush_command'] == ['/usr/sbin/postqueue', '-f']
    assert config['state_file'] == '/var/lib/mailstack-oauth2/state.json'


def _account(credentials, relayhost=''):
    result = _config(credentials, relayhost)
    assert len(result['config']['accounts']) == 1
    return result['config']['accounts'][0], result['files']


# case -> (an entry, the account fields expected, the file suffixes expected)
ACCOUNT_CASES = {
    'microsoft365 app-only with a secret': (
        _m365(),
        {'grant': 'client_credentials', 'client_secret': SECRET, 'scope': 'https://outlook.office365.com/.default',
         'token_url': 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token',
         'keys': [M365], 'username': 'relay@contoso.example', 'name': 'relay@contoso.example at ' + M365}, []),
    'microsoft365 app-only with a certificate': (
        _without(_m365(client_certificate=CERTIFICATE, client_private_key=PRIVATE_KEY), 'client_secret'),
        {'grant': 'client_credentials', 'scope': 'https://outlook.office365.com/.default'}, ['.crt', '.key']),
    'microsoft365 delegated': (
        _without(_m365(refresh_token=SECRET), 'client_secret'),
        {'grant': 'refresh_token', 'refresh_token': SECRET,
         'scope': 'https://outlook.office365.com/SMTP.Send offline_access'}, []),
    'microsoft365 in a sovereign cloud': (
        _m365(token_url='https://login.microsoftonline.us/t/oauth2/v2.0/token', name='gcc-high'),
        {'token_url': 'https://login.microsoftonline.us/t/oauth2/v2.0/token', 'name': 'gcc-high'}, []),
    'google service account': (
        {'relayhost': GMAIL, 'username': 'relay@example.com',
         'oauth2': {'provider': 'google', 'service_account': json.dumps(SERVICE_ACCOUNT)}},
        {'grant': 'jwt_bearer', 'subject': 'relay@example.com', 'scope': 'https://mail.google.com/',
         'token_url': 'https://oauth2.googleapis.com/token'}, ['.json']),
    'google refresh token': (
        {'relayhost': GMAIL, 'username': 'relay@example.com',
         'oauth2': {'provider': 'google', 'client_id': 'c', 'client_secret': SECRET, 'refresh_token': SECRET}},
        {'grant': 'refresh_token', 'client_id': 'c', 'client_secret': SECRET, 'refresh_token': SECRET,
         'token_url': 'https://oauth2.googleapis.com/token'}, []),
    'generic per sender': (
        {'sender': '@example.org', 'username': 'u',
         'oauth2': {'provider': 'generic', 'token_url': 'https://idp.example/token', 'client_id': 'c',
                    'client_secret': SECRET, 'scope': 'smtp'}},
        {'grant': 'client_credentials', 'keys': ['@example.org'], 'token_url': 'https://idp.example/token',
         'scope': 'smtp'}, []),
}


@pytest.mark.parametrize('case', list(ACCOUNT_CASES))
def test_account(case):
    entry, expected, suffixes = ACCOUNT_CASES[case]
    account, files = _account([entry])
    assert dict((key, account.get(key)) for key in expected) == expected
    assert sorted(f['path'].rsplit('.', 1)[1] for f in files) == sorted(s[1:] for s in suffixes)
    for f in files:
        assert f['path'].startswith('/etc/mailstack/oauth2/')
        assert account[{'crt': 'certificate_file', 'key': 'private_key_file', 'json': 'service_account_file'}[
            f['path'].rsplit('.', 1)[1]]] == f['path']


def test_a_shared_entry_is_keyed_by_every_relayhost():
    entry = _m365()
    entry.pop('relayhost')
    account, dummy = _account([entry], [M365, '[backup.example]:465'])
    assert account['keys'] == [M365, '[backup.example]:465']


def test_password_entries_are_not_accounts():
    result = _config([{'relayhost': '[b.example]:465', 'username': 'b', 'password': SECRET}])
    assert result == dict(result, files=[]) and result['config']['accounts'] == []


def test_service_account_file_holds_the_key():
    dummy, files = _account([{'relayhost': GMAIL, 'username': 'u',
                              'oauth2': {'provider': 'google', 'service_account': SERVICE_ACCOUNT}}])
    assert json.loads(files[0]['content'])['private_key'] == PRIVATE_KEY


def _xoauth2_first_table(tmp_path):
    path = os.path.join(os.path.dirname(__file__), '..', '..', 'roles', 'postfix', 'vars', 'main.yml')
    with open(path) as handle:
        content = yaml.safe_load(handle)['__postfix_relay_xoauth2_first_content']
    table = tmp_path / 'smtp_reply_filter'
    table.write_text(content)
    return 'regexp:%s' % table


@pytest.mark.parametrize('reply, filtered', [
    ('250-AUTH LOGIN XOAUTH2', '250-AUTH XOAUTH2 LOGIN'),
    ('250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH',
     '250-AUTH XOAUTH2 LOGIN PLAIN  PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH'),
    ('250 AUTH XOAUTH2', None),
    ('250-AUTH XOAUTH2X LOGIN', None),
    ('250-AUTH=LOGIN XOAUTH2', '250-AUTH=XOAUTH2 LOGIN'),
    ('250-AUTH PLAIN LOGIN', None),
    ('250-AUTH PLAIN XOAUTH', None),
    ('250-PIPELINING', None),
])
def test_xoauth2_first_in_the_ehlo_reply(tmp_path, reply, filtered):
    """The mixed-login reply filter, read by the real postmap: XOAUTH2 moves first, other lines stay."""
    (tmp_path / 'main.cf').write_text('')
    settled(tmp_path / 'main.cf')
    result = subprocess.run(['postmap', '-c', str(tmp_path), '-q', reply, _xoauth2_first_table(tmp_path)],
                            stdin=subprocess.DEVNULL, check=False, capture_output=True, text=True)
    # Postfix reads the reply as words: blanks between them do not matter.
    assert (result.stdout.split() if result.returncode == 0 else None) == (filtered.split() if filtered else None)
    assert result.stderr == ''
