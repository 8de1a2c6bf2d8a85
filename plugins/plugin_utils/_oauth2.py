# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""OAuth2 logins at relayhosts: what each provider needs, and the refresher's account for it (private API).

An entry of postfix_relay_credentials with ``oauth2`` instead of ``password``
logs in with XOAUTH2. Its ``oauth2`` dictionary names a provider and that
provider's credentials; this module says what is wrong with one (short
phrases, never a secret) and turns a valid one into an account of
mailstack-oauth2-refresh's configuration, with the files (certificate, key,
service account) it reads.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json
import re

from ansible.module_utils.six import string_types

PROVIDERS = ('microsoft365', 'google', 'generic')
# Microsoft's token endpoint per tenant; sovereign clouds set token_url instead.
MICROSOFT_TOKEN_URL = 'https://login.microsoftonline.com/%s/oauth2/v2.0/token'
# App-only SMTP (client credentials): the Exchange Online resource's .default scope.
MICROSOFT_APP_SCOPE = 'https://outlook.office365.com/.default'
# A user's delegated grant (refresh token): SMTP.Send, and offline_access to keep refreshing.
MICROSOFT_DELEGATED_SCOPE = 'https://outlook.office365.com/SMTP.Send offline_access'
GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token'
GOOGLE_SCOPE = 'https://mail.google.com/'
KNOWN_KEYS = ('provider', 'name', 'tenant', 'client_id', 'client_secret', 'client_certificate', 'client_private_key',
              'refresh_token', 'service_account', 'subject', 'token_url', 'scope')
SECRET_KEYS = ('client_secret', 'client_private_key', 'refresh_token', 'service_account')
# A tenant: its GUID or a domain name.
TENANT = re.compile(r'[A-Za-z0-9.-]+\Z')
CONTROL_CHARACTER = re.compile(r'[\x00-\x1f\x7f]')
PEM_CERTIFICATE = '-----BEGIN CERTIFICATE-----'
PEM_PRIVATE_KEY = re.compile(r'-----BEGIN (RSA |EC )?PRIVATE KEY-----')


def _text(oauth2, key):
    value = oauth2.get(key)
    return value.strip() if isinstance(value, string_types) else ''


def _service_account(oauth2):
    """The service account as a dictionary (given as its JSON text or as a dictionary), or None."""
    value = oauth2.get('service_account')
    if isinstance(value, dict):
        return value
    if isinstance(value, string_types) and value.strip():
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def _url_faults(oauth2):
    url = _text(oauth2, 'token_url')
    if not url:
        return []
    if not url.lower().startswith('https://') or len(url) <= len('https://') or CONTROL_CHARACTER.search(url):
        return ['oauth2.token_url %s is not an https:// URL (a token must never cross in clear)' % json.dumps(url)]
    return []


def _value_faults(oauth2):
    faults = []
    for key in KNOWN_KEYS:
        value = oauth2.get(key)
        if isinstance(value, string_types) and key not in ('client_certificate', 'client_private_key', 'service_account') \
                and CONTROL_CHARACTER.search(value):
            faults.append('a line break or other control character in oauth2.%s' % key)
    unknown = sorted(key for key in oauth2 if key not in KNOWN_KEYS)
    if unknown:
        faults.append('unknown oauth2 key(s) %s (known: %s)' % (', '.join(unknown), ', '.join(KNOWN_KEYS)))
    return faults


def _certificate_faults(oauth2):
    certificate, key = _text(oauth2, 'client_certificate'), _text(oauth2, 'client_private_key')
    if not certificate and not key:
        return []
    faults = []
    if PEM_CERTIFICATE not in certificate:
        faults.append('oauth2.client_certificate is not a PEM certificate')
    if not PEM_PRIVATE_KEY.search(key):
        faults.append('oauth2.client_private_key is not a PEM private key')
    return faults


def _application_secret_faults(oauth2):
    """An application's secret: a client secret, a certificate with its key, or a refresh token."""
    faults = []
    if not (_text(oauth2, 'client_secret') or _text(oauth2, 'client_certificate') or _text(oauth2, 'refresh_token')):
        faults.append('no secret: oauth2.client_secret, oauth2.client_certificate with oauth2.client_private_key, '
                      'or oauth2.refresh_token')
    return faults + _certificate_faults(oauth2)


def _microsoft_faults(oauth2):
    faults = []
    if not _text(oauth2, 'token_url') and not TENANT.match(_text(oauth2, 'tenant')):
        faults.append('no oauth2.tenant (the directory id or a domain of the tenant)')
    if not _text(oauth2, 'client_id'):
        faults.append('no oauth2.client_id (the application id)')
    return faults + _application_secret_faults(oauth2)


def _google_faults(oauth2):
    if oauth2.get('service_account') not in (None, ''):
        account = _service_account(oauth2)
        if account is None or not account.get('client_email') or not account.get('private_key'):
            return ['oauth2.service_account is not a service account key (JSON with client_email and private_key)']
        return []
    faults = []
    if not _text(oauth2, 'refresh_token'):
        faults.append('no secret: oauth2.service_account (with domain-wide delegation), or oauth2.refresh_token')
    if not _text(oauth2, 'client_id'):
        faults.append('no oauth2.client_id')
    return faults


def _generic_faults(oauth2):
    faults = []
    if not _text(oauth2, 'token_url'):
        faults.append('no oauth2.token_url')
    if not _text(oauth2, 'client_id'):
        faults.append('no oauth2.client_id')
    return faults + _application_secret_faults(oauth2)


PROVIDER_FAULTS = {'microsoft365': _microsoft_faults, 'google': _google_faults, 'generic': _generic_faults}


def oauth2_faults(oauth2):
    """What is wrong with one entry's oauth2 dictionary, as short phrases that never show a secret."""
    if not isinstance(oauth2, dict):
        return ['oauth2 is not a dictionary']
    provider = oauth2.get('provider')
    if provider not in PROVIDERS:
        return ['oauth2.provider %s is not one of %s' % (json.dumps(provider, default=str), ', '.join(PROVIDERS))]
    return _value_faults(oauth2) + _url_faults(oauth2) + PROVIDER_FAULTS[provider](oauth2)


def account_name(username, keys, oauth2):
    """The account's name in the journal and in --status: oauth2.name, else `username at key, ...`."""
    return _text(oauth2, 'name') or '%s at %s' % (username, ', '.join(keys))


def _file_stem(secrets_dir, name):
    digest = hashlib.sha256(name.encode('utf-8')).hexdigest()[:12]
    return '%s/%s-%s' % (secrets_dir, re.sub(r'[^A-Za-z0-9_.-]+', '_', name)[:40], digest)


def _client_grant(oauth2, scope, stem):
    """The grant of an application's own credentials: a secret or a certificate; the refresh token otherwise."""
    account, files = dict(client_id=_text(oauth2, 'client_id')), []
    if _text(oauth2, 'client_certificate'):
        account.update(grant='client_credentials', scope=scope,
                       certificate_file=stem + '.crt', private_key_file=stem + '.key')
        files = [dict(path=stem + '.crt', content=_text(oauth2, 'client_certificate') + '\n'),
                 dict(path=stem + '.key', content=_text(oauth2, 'client_private_key') + '\n')]
    elif _text(oauth2, 'refresh_token'):
        account.update(grant='refresh_token', refresh_token=_text(oauth2, 'refresh_token'))
        if _text(oauth2, 'client_secret'):
            account['client_secret'] = _text(oauth2, 'client_secret')
    else:
        account.update(grant='client_credentials', scope=scope, client_secret=_text(oauth2, 'client_secret'))
    return account, files


def _microsoft_account(oauth2, stem):
    token_url = _text(oauth2, 'token_url') or MICROSOFT_TOKEN_URL % _text(oauth2, 'tenant')
    delegated = bool(_text(oauth2, 'refresh_token')) and not _text(oauth2, 'client_certificate')
    account, files = _client_grant(oauth2, MICROSOFT_APP_SCOPE, stem)
    account.update(token_url=token_url, scope=_text(oauth2, 'scope') or (
        MICROSOFT_DELEGATED_SCOPE if delegated else MICROSOFT_APP_SCOPE))
    return account, files


def _google_account(oauth2, stem, username):
    service_account = _service_account(oauth2)
    if service_account is not None:
        account = dict(grant='jwt_bearer', service_account_file=stem + '.json',
                       subject=_text(oauth2, 'subject') or username,
                       token_url=_text(oauth2, 'token_url') or service_account.get('token_uri') or GOOGLE_TOKEN_URL,
                       scope=_text(oauth2, 'scope') or GOOGLE_SCOPE)
        return account, [dict(path=stem + '.json', content=json.dumps(service_account, indent=2, sort_keys=True) + '\n')]
    account, files = _client_grant(oauth2, GOOGLE_SCOPE, stem)
    account['token_url'] = _text(oauth2, 'token_url') or GOOGLE_TOKEN_URL
    if _text(oauth2, 'scope'):
        account['scope'] = _text(oauth2, 'scope')
    return account, files


def _generic_account(oauth2, stem):
    account, files = _client_grant(oauth2, None, stem)
    account['token_url'] = _text(oauth2, 'token_url')
    account.pop('scope', None)
    if _text(oauth2, 'scope'):
        account['scope'] = _text(oauth2, 'scope')
    return account, files


def refresh_account(username, keys, oauth2, secrets_dir):
    """A valid entry as an account of the refresher's configuration, and the files it reads ({path, content})."""
    name = account_name(username, keys, oauth2)
    stem = _file_stem(secrets_dir, name)
    provider = oauth2['provider']
    if provider == 'microsoft365':
        account, files = _microsoft_account(oauth2, stem)
    elif provider == 'google':
        account, files = _google_account(oauth2, stem, username)
    else:
        account, files = _generic_account(oauth2, stem)
    account.update(name=name, keys=list(keys), username=username, provider=provider)
    return account, files
