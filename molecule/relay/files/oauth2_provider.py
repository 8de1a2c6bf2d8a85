"""OAuth2 stand-in for Microsoft 365 and Google, for the relay scenario's XOAUTH2 tests.

Usage: oauth2_provider.py --config /etc/oauth2-provider/config.json

One process serves:
  token endpoint  HTTPS, POST /token (and POST on the path of token_url, such as
                  /TENANT/oauth2/v2.0/token): the client_credentials grant with a
                  client secret or an RS256 client assertion, refresh_token, and
                  urn:ietf:params:oauth:grant-type:jwt-bearer (Google service
                  accounts). Answers and errors as in RFC 6749 section 5.
  SMTP            XOAUTH2 only: smtp_port with STARTTLS (AUTH only after TLS) and
                  smtps_port with implicit TLS. Accepts the access tokens this
                  process issued, unexpired and not invalidated, for the user of
                  the client that got them; stores each message in spool_dir.
  control API     plain HTTP on 127.0.0.1 only, for the tests:
                  GET /stats      token_requests {grant: {outcome: count}} (grant
                                  "other" for unknown ones; outcome "ok" or the
                                  OAuth2 error), tokens_issued, tokens_valid,
                                  auth {ok, failed, failed_by_reason}, messages
                                  [{id, file, mail_from, rcpt_tos, subject, user,
                                  listener}], messages_delivered, revoked, expires_in
                  POST /revoke    every grant answers invalid_grant (a client that
                                  fails to authenticate still gets invalid_client)
                  POST /restore   grants are issued again
                  POST /expire    every token issued so far is refused from now on
                  POST /expires_in  {"seconds": N}: the lifetime of tokens issued next
                  POST /reset     counters to zero, spooled messages deleted (tokens,
                                  revocation and lifetime stay)

Config (JSON), keys with their defaults when optional:
  {"listen_address": "0.0.0.0", "token_port": 443, "smtp_port": 587,
   "smtps_port": 465, "control_port": 8080, "hostname": <host name>,
   "cert_file": "/etc/oauth2-provider/server.crt",
   "key_file": "/etc/oauth2-provider/server.key",
   "token_url": "https://login.microsoftonline.com/TENANT/oauth2/v2.0/token",
   "expires_in": 3600, "spool_dir": "/var/spool/oauth2-provider",
   "scope": "https://mail.google.com/",
   "clients": [{"client_id": "...", "client_secret": "...", "username": "...",
                "refresh_tokens": ["..."]},
               {"client_id": "...", "certificate_file": "client.crt", "username": "..."}],
   "service_accounts": [{"client_email": "...", "certificate_file": "sa.pem",
                         "username": "..."}]}
A port 0 takes a free port; the "listening" log line names the ports taken.
certificate_file holds a PEM certificate or a PEM public key (RSA). A client
with a client_secret sends it with every grant, a client with a certificate a
client_assertion; a client with neither is public (refresh_token only). A token
is good for the client's username; a service account's for the assertion's sub,
which must equal the account's username when one is given.

Logs one line per event on stdout, never a secret, token or assertion.
Stops on SIGTERM or SIGINT (exit code 0); exit code 1 when it cannot start.
"""

import argparse
import asyncio
import base64
import binascii
import dataclasses
import email.parser
import email.policy
import hmac
import http.server
import json
import logging
import os
import secrets
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import warnings

from aiosmtpd.smtp import MISSING, SMTP, AuthResult
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

LOG = logging.getLogger('oauth2-provider')

CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
GRANT_TYPES = ('client_credentials', 'refresh_token', JWT_BEARER_GRANT)
REQUIRED = ('cert_file', 'key_file', 'token_url', 'spool_dir')
DEFAULTS = {
    'listen_address': '0.0.0.0',
    'token_port': 443,
    'smtp_port': 587,
    'smtps_port': 465,
    'control_port': 8080,
    'hostname': socket.gethostname(),
    'expires_in': 3600,
    'scope': 'https://mail.google.com/',
    'clients': [],
    'service_accounts': [],
}
MAX_BODY = 1 << 20


class ConfigError(Exception):
    pass


class OAuthError(Exception):
    """An RFC 6749 error answer."""

    def __init__(self, status, error, description):
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


class JWTError(Exception):
    pass


@dataclasses.dataclass
class Client:
    client_id: str
    username: str
    client_secret: str = None
    public_key: object = None
    refresh_tokens: tuple = ()


@dataclasses.dataclass
class ServiceAccount:
    client_email: str
    public_key: object
    username: str = None


@dataclasses.dataclass
class Token:
    client_id: str
    username: str
    expires_at: float
    invalidated: bool = False


def _clean(value, limit=120):
    """A value from the network, fit for one log line."""
    text = ''.join(char if char.isprintable() else '?' for char in str(value))
    return text if len(text) <= limit else text[:limit] + '...'


# Configuration

def load_public_key(path):
    with open(path, 'rb') as handle:
        data = handle.read()
    try:
        key = x509.load_pem_x509_certificate(data).public_key()
    except ValueError:
        try:
            key = serialization.load_pem_public_key(data)
        except ValueError as error:
            raise ConfigError(f'{path} holds neither a PEM certificate nor a PEM public key') from error
    if not isinstance(key, rsa.RSAPublicKey):
        raise ConfigError(f'{path} holds no RSA key (RS256 needs one)')
    return key


def _entry(entry, where, required, optional):
    if not isinstance(entry, dict):
        raise ConfigError(f'{where} must be an object')
    unknown = sorted(set(entry) - set(required) - set(optional))
    if unknown:
        raise ConfigError(f'{where} has unknown keys: {", ".join(unknown)}')
    for key in required:
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise ConfigError(f'{where}.{key} is required (a string)')
    return entry


def load_config(path):
    """Settings, clients by client_id and service accounts by client_email from a JSON file."""
    with open(path, encoding='utf-8') as handle:
        config = json.load(handle)
    if not isinstance(config, dict):
        raise ConfigError('the config must be a JSON object')
    unknown = sorted(set(config) - set(DEFAULTS) - set(REQUIRED))
    if unknown:
        raise ConfigError(f'unknown keys: {", ".join(unknown)}')
    for key in REQUIRED:
        if not isinstance(config.get(key), str) or not config[key]:
            raise ConfigError(f'{key} is required (a string)')
    settings = dict(DEFAULTS, **config)
    for key in ('token_port', 'smtp_port', 'smtps_port', 'control_port', 'expires_in'):
        if not isinstance(settings[key], int) or isinstance(settings[key], bool) or settings[key] < 0:
            raise ConfigError(f'{key} must be a whole number, 0 or more (got {settings[key]!r})')

    clients = {}
    for index, entry in enumerate(settings['clients']):
        where = f'clients[{index}]'
        _entry(entry, where, ('client_id', 'username'), ('client_secret', 'certificate_file', 'refresh_tokens'))
        refresh_tokens = entry.get('refresh_tokens', [])
        if not isinstance(refresh_tokens, list) or not all(isinstance(item, str) and item for item in refresh_tokens):
            raise ConfigError(f'{where}.refresh_tokens must be a list of strings')
        if entry['client_id'] in clients:
            raise ConfigError(f'{where}.client_id {entry["client_id"]} is registered twice')
        certificate = entry.get('certificate_file')
        clients[entry['client_id']] = Client(
            client_id=entry['client_id'], username=entry['username'], client_secret=entry.get('client_secret'),
            public_key=load_public_key(certificate) if certificate else None, refresh_tokens=tuple(refresh_tokens))

    accounts = {}
    for index, entry in enumerate(settings['service_accounts']):
        where = f'service_accounts[{index}]'
        _entry(entry, where, ('client_email',), ('certificate_file', 'public_key_file', 'username'))
        key_file = entry.get('certificate_file') or entry.get('public_key_file')
        if not key_file:
            raise ConfigError(f'{where} needs a certificate_file (or public_key_file)')
        accounts[entry['client_email']] = ServiceAccount(
            client_email=entry['client_email'], public_key=load_public_key(key_file), username=entry.get('username'))
    return settings, clients, accounts


# State shared by the token endpoint, SMTP and the control API

class State:
    def __init__(self, spool_dir, expires_in):
        self.lock = threading.Lock()
        self.spool_dir = spool_dir
        self.expires_in = expires_in
        self.revoked = False
        self.tokens = {}
        os.makedirs(spool_dir, exist_ok=True)
        self.sequence = max((int(name) for name in os.listdir(spool_dir) if name.isdigit()), default=0)
        self._zero()

    def _zero(self):
        self.token_requests = {}
        self.tokens_issued = 0
        self.auth_ok = 0
        self.auth_failed = {}
        self.messages = []

    def count_request(self, grant, outcome):
        with self.lock:
            outcomes = self.token_requests.setdefault(grant, {})
            outcomes[outcome] = outcomes.get(outcome, 0) + 1

    def issue(self, client_id, username):
        token = secrets.token_urlsafe(32)
        with self.lock:
            expires_in = self.expires_in
            self.tokens[token] = Token(client_id, username, time.monotonic() + expires_in)
            self.tokens_issued += 1
        return token, expires_in

    def check_token(self, token, user):
        """(None, user) when the token is good for user, else (why not, the token's user or None)."""
        with self.lock:
            record = self.tokens.get(token)
            if record is None:
                return 'unknown token', None
            if record.invalidated:
                return 'invalidated token', record.username
            if time.monotonic() >= record.expires_at:
                return 'expired token', record.username
            if user != record.username:
                return 'wrong user', record.username
            return None, record.username

    def count_auth(self, failure=None):
        with self.lock:
            if failure is None:
                self.auth_ok += 1
            else:
                self.auth_failed[failure] = self.auth_failed.get(failure, 0) + 1

    def expire_all(self):
        """Invalidates every token issued so far; how many were valid."""
        with self.lock:
            now = time.monotonic()
            valid = [record for record in self.tokens.values() if not record.invalidated and now < record.expires_at]
            for record in self.tokens.values():
                record.invalidated = True
            return len(valid)

    def set(self, **values):
        with self.lock:
            for key, value in values.items():
                setattr(self, key, value)

    def store_message(self, mail_from, rcpt_tos, content, user, listener):
        try:
            subject = email.parser.BytesParser(policy=email.policy.default).parsebytes(content, headersonly=True)['subject']
        except (ValueError, TypeError):
            subject = None
        with self.lock:
            self.sequence += 1
            name = str(self.sequence)
            path = os.path.join(self.spool_dir, name)
            with open(path + '.tmp', 'wb') as handle:
                handle.write(content)
            os.replace(path + '.tmp', path)
            self.messages.append({'id': self.sequence, 'file': path, 'mail_from': mail_from, 'rcpt_tos': list(rcpt_tos),
                                  'subject': None if subject is None else str(subject), 'user': user,
                                  'listener': listener})
        return name

    def reset(self):
        with self.lock:
            for name in os.listdir(self.spool_dir):
                if name.isdigit():
                    os.unlink(os.path.join(self.spool_dir, name))
            self._zero()

    def stats(self):
        with self.lock:
            now = time.monotonic()
            return {
                'token_requests': {grant: dict(outcomes) for grant, outcomes in self.token_requests.items()},
                'tokens_issued': self.tokens_issued,
                'tokens_valid': sum(1 for record in self.tokens.values()
                                    if not record.invalidated and now < record.expires_at),
                'auth': {'ok': self.auth_ok, 'failed': sum(self.auth_failed.values()),
                         'failed_by_reason': dict(self.auth_failed)},
                'messages_delivered': len(self.messages),
                'messages': [dict(message) for message in self.messages],
                'revoked': self.revoked,
                'expires_in': self.expires_in,
            }


# JWT (RS256)

def _b64url(text):
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


def parse_jwt(token):
    """(header, claims, signing input, signature) of a compact JWS, not yet verified."""
    parts = token.split('.')
    if len(parts) != 3:
        raise JWTError('the assertion is not a JWT (three dot-separated parts)')
    try:
        header = json.loads(_b64url(parts[0]))
        claims = json.loads(_b64url(parts[1]))
        signature = _b64url(parts[2])
    except (ValueError, binascii.Error) as error:
        raise JWTError('the assertion cannot be decoded') from error
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise JWTError('the assertion header and claims must be JSON objects')
    return header, claims, f'{parts[0]}.{parts[1]}'.encode('ascii'), signature


def verify_jwt(parsed, public_key, token_url):
    """The claims of a parsed JWT, checked: RS256 signature by public_key, aud, exp and nbf."""
    header, claims, signing_input, signature = parsed
    if header.get('alg') != 'RS256':
        raise JWTError(f'alg must be RS256 (got {_clean(header.get("alg"))})')
    try:
        public_key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as error:
        raise JWTError('invalid JWT signature') from error
    audience = claims.get('aud')
    if token_url not in (audience if isinstance(audience, list) else [audience]):
        raise JWTError(f'aud must be {token_url} (got {_clean(audience)})')
    now = time.time()
    expires = claims.get('exp')
    if not isinstance(expires, (int, float)) or isinstance(expires, bool):
        raise JWTError('exp is missing')
    if expires <= now:
        raise JWTError('the assertion has expired')
    not_before = claims.get('nbf')
    if isinstance(not_before, (int, float)) and not_before > now + 60:
        raise JWTError('the assertion is not valid yet (nbf)')
    return claims


# Token endpoint

class TokenEndpoint:
    def __init__(self, settings, clients, accounts, state):
        self.token_url = settings['token_url']
        self.clients = clients
        self.accounts = accounts
        self.state = state

    def answer(self, params, authorization):
        """(HTTP status, JSON answer) for a token request's form parameters."""
        grant = params.get('grant_type', '')
        counted = grant if grant in GRANT_TYPES else 'other'
        who = {}
        try:
            if not grant:
                raise OAuthError(400, 'invalid_request', 'grant_type is missing')
            if grant == 'client_credentials':
                client = self._client(params, authorization, grant, who)
                username, client_id = client.username, client.client_id
            elif grant == 'refresh_token':
                client = self._client(params, authorization, grant, who)
                if 'refresh_token' not in params:
                    raise OAuthError(400, 'invalid_request', 'refresh_token is missing')
                if not any(hmac.compare_digest(params['refresh_token'].encode(), known.encode())
                           for known in client.refresh_tokens):
                    raise OAuthError(400, 'invalid_grant', 'the refresh token is unknown, expired or revoked')
                username, client_id = client.username, client.client_id
            elif grant == JWT_BEARER_GRANT:
                account, username = self._service_account(params, who)
                client_id = account.client_email
            else:
                raise OAuthError(400, 'unsupported_grant_type', f'grant_type {_clean(grant)} is not supported')
            if self.state.revoked:
                raise OAuthError(400, 'invalid_grant', 'the grant has been revoked')
        except OAuthError as error:
            self.state.count_request(counted, error.error)
            LOG.info('token grant=%s%s outcome=%s: %s', counted, ''.join(f' {k}={v}' for k, v in who.items()),
                     error.error, error.description)
            return error.status, {'error': error.error, 'error_description': error.description}
        token, expires_in = self.state.issue(client_id, username)
        self.state.count_request(counted, 'ok')
        LOG.info('token grant=%s%s user=%s outcome=ok expires_in=%d', counted,
                 ''.join(f' {k}={v}' for k, v in who.items()), _clean(username), expires_in)
        return 200, {'access_token': token, 'token_type': 'Bearer', 'expires_in': expires_in}

    def _client(self, params, authorization, grant, who):
        if 'client_assertion' in params or 'client_assertion_type' in params:
            who['auth'] = 'client_assertion'
            return self._client_by_assertion(params, who)
        client_id, secret = params.get('client_id'), params.get('client_secret')
        if authorization and authorization[:6].lower() == 'basic ':
            if client_id is not None and secret is not None:
                raise OAuthError(400, 'invalid_request', 'client credentials both in the Authorization header and the body')
            try:
                pair = base64.b64decode(authorization[6:].strip(), validate=True).decode('utf-8')
            except (binascii.Error, UnicodeDecodeError) as error:
                raise OAuthError(401, 'invalid_client', 'the Basic Authorization header cannot be decoded') from error
            client_id, colon, secret = pair.partition(':')
            client_id, secret = urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(secret) if colon else None
        who['client'] = _clean(client_id)
        who['auth'] = 'none' if secret is None else 'client_secret'
        if not client_id:
            raise OAuthError(401, 'invalid_client', 'client_id is missing')
        client = self.clients.get(client_id)
        if client is None:
            raise OAuthError(401, 'invalid_client', f'client {_clean(client_id)} is unknown')
        if client.client_secret is not None:
            if secret is None:
                raise OAuthError(401, 'invalid_client', 'client_secret is missing')
            if not hmac.compare_digest(secret.encode(), client.client_secret.encode()):
                raise OAuthError(401, 'invalid_client', 'the client secret is wrong')
        elif secret is not None:
            raise OAuthError(401, 'invalid_client', f'client {client_id} has no secret')
        elif client.public_key is not None:
            raise OAuthError(401, 'invalid_client', f'client {client_id} authenticates with a client_assertion')
        elif grant == 'client_credentials':
            raise OAuthError(400, 'unauthorized_client', f'client {client_id} is public: no client_credentials grant')
        return client

    def _client_by_assertion(self, params, who):
        if params.get('client_assertion_type') != CLIENT_ASSERTION_TYPE:
            raise OAuthError(400, 'invalid_request', f'client_assertion_type must be {CLIENT_ASSERTION_TYPE}')
        if not params.get('client_assertion'):
            raise OAuthError(400, 'invalid_request', 'client_assertion is missing')
        try:
            parsed = parse_jwt(params['client_assertion'])
        except JWTError as error:
            raise OAuthError(400, 'invalid_grant', str(error)) from error
        client_id = parsed[1].get('iss')
        who['client'] = _clean(client_id)
        if 'client_id' in params and params['client_id'] != client_id:
            raise OAuthError(400, 'invalid_grant', 'the assertion iss is not the client_id')
        client = self.clients.get(client_id) if isinstance(client_id, str) else None
        if client is None:
            raise OAuthError(401, 'invalid_client', f'client {_clean(client_id)} is unknown')
        if client.public_key is None:
            raise OAuthError(401, 'invalid_client', f'client {client_id} has no certificate registered')
        try:
            claims = verify_jwt(parsed, client.public_key, self.token_url)
        except JWTError as error:
            raise OAuthError(400, 'invalid_grant', str(error)) from error
        if claims.get('sub') != client_id:
            raise OAuthError(400, 'invalid_grant', 'the assertion sub must be the client_id')
        return client

    def _service_account(self, params, who):
        if not params.get('assertion'):
            raise OAuthError(400, 'invalid_request', 'assertion is missing')
        try:
            parsed = parse_jwt(params['assertion'])
        except JWTError as error:
            raise OAuthError(400, 'invalid_grant', str(error)) from error
        client_email = parsed[1].get('iss')
        who['client'] = _clean(client_email)
        account = self.accounts.get(client_email) if isinstance(client_email, str) else None
        if account is None:
            raise OAuthError(401, 'invalid_client', f'service account {_clean(client_email)} is unknown')
        try:
            claims = verify_jwt(parsed, account.public_key, self.token_url)
        except JWTError as error:
            raise OAuthError(400, 'invalid_grant', str(error)) from error
        subject = claims.get('sub')
        if not isinstance(subject, str) or not subject:
            raise OAuthError(400, 'invalid_grant', 'the assertion has no sub (the mailbox user)')
        if account.username is not None and subject != account.username:
            raise OAuthError(400, 'invalid_grant', f'sub {_clean(subject)} is not the user registered for {client_email}')
        return account, subject


class _JSONHandler(http.server.BaseHTTPRequestHandler):
    server_version = 'oauth2-provider'
    sys_version = ''
    timeout = 10

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Silent: the servers log their own lines, without request data."""

    def send_json(self, status, answer, headers=()):
        body = json.dumps(answer).encode('utf-8')
        self.send_response(status)
        self.send_header('Content-Type', 'application/json; charset=utf-8')
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Cache-Control', 'no-store')
        self.send_header('Pragma', 'no-cache')
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        try:
            length = int(self.headers.get('Content-Length', '0'))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            return None
        return self.rfile.read(length)


class TokenHandler(_JSONHandler):
    def do_POST(self):  # pylint: disable=invalid-name
        if urllib.parse.urlsplit(self.path).path not in self.server.token_paths:
            self.send_json(404, {'error': 'not_found'})
            return
        body = self.read_body()
        try:
            pairs = urllib.parse.parse_qsl((body or b'').decode('utf-8'), keep_blank_values=True)
        except UnicodeDecodeError:
            body = None
        params = dict(pairs) if body is not None else {}
        if body is None or len(params) != len(pairs):
            status, answer = 400, {'error': 'invalid_request',
                                   'error_description': 'the body must be a form with each parameter once'}
        else:
            status, answer = self.server.endpoint.answer(params, self.headers.get('Authorization'))
        headers = [('WWW-Authenticate', 'Basic realm="token"')] if status == 401 else []
        self.send_json(status, answer, headers)

    def do_GET(self):  # pylint: disable=invalid-name
        self.send_json(405, {'error': 'invalid_request', 'error_description': 'use POST'}, [('Allow', 'POST')])


class ControlHandler(_JSONHandler):
    def do_GET(self):  # pylint: disable=invalid-name
        if self.path != '/stats':
            self.send_json(404, {'error': 'not_found'})
            return
        self.send_json(200, self.server.state.stats())

    def do_POST(self):  # pylint: disable=invalid-name
        state = self.server.state
        body = self.read_body()
        if self.path == '/revoke':
            state.set(revoked=True)
            answer = {'revoked': True}
        elif self.path == '/restore':
            state.set(revoked=False)
            answer = {'revoked': False}
        elif self.path == '/expire':
            answer = {'invalidated': state.expire_all()}
        elif self.path == '/reset':
            state.reset()
            answer = {'reset': True}
        elif self.path == '/expires_in':
            try:
                seconds = json.loads(body or b'null')['seconds']
            except (ValueError, TypeError, KeyError):
                seconds = None
            if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0:
                self.send_json(400, {'error': 'the body must be {"seconds": N}, N a whole number, 0 or more'})
                return
            state.set(expires_in=seconds)
            answer = {'expires_in': seconds}
        else:
            self.send_json(404, {'error': 'not_found'})
            return
        LOG.info('control %s %s', self.path[1:], json.dumps(answer))
        self.send_json(200, answer)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, handler, **attributes):
        self.address_family = socket.AF_INET6 if ':' in address[0] else socket.AF_INET
        self.__dict__.update(attributes)
        super().__init__(address, handler)

    def handle_error(self, request, client_address):
        LOG.info('%s: request from %s failed: %s', self.name, client_address[0], _clean(sys.exc_info()[1]))


class TokenServer(_Server):
    name = 'token endpoint'

    def get_request(self):
        # The TLS handshake happens on the first read, in the request's thread:
        # a slow client does not hold up the others.
        connection, address = super().get_request()
        return self.context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False), address


class ControlServer(_Server):
    name = 'control API'


# SMTP

def parse_xoauth2(blob):
    """(user, token) from an XOAUTH2 response: user=USER^Aauth=Bearer TOKEN^A^A; (None, None) if malformed."""
    try:
        text = blob.decode('utf-8')
    except UnicodeDecodeError:
        return None, None
    fields = {}
    for part in text.split('\x01'):
        if part:
            key, sep, value = part.partition('=')
            if not sep:
                return None, None
            fields[key] = value
    scheme, space, token = fields.get('auth', '').partition(' ')
    if not fields.get('user') or not space or scheme.lower() != 'bearer' or not token.strip():
        return None, None
    return fields['user'], token.strip()


class SMTPHandler:
    """aiosmtpd handler: the XOAUTH2 mechanism (auth_XOAUTH2) and the spool.

    Every handler attribute named auth_* is an AUTH mechanism to aiosmtpd.
    """

    def __init__(self, state, scope, listener):
        self.state = state
        self.scope = scope
        self.listener = listener

    async def auth_XOAUTH2(self, server, args):  # pylint: disable=invalid-name
        if len(args) == 1:
            # No initial response: an empty challenge, the client answers with it.
            blob = await server.challenge_auth('', encode_to_b64=False)
            if blob is MISSING:
                return AuthResult(success=False, handled=True)
        elif args[1] == '=':
            blob = b''
        else:
            try:
                blob = base64.b64decode(args[1], validate=True)
            except binascii.Error:
                blob = None
        user, token = parse_xoauth2(blob) if blob is not None else (None, None)
        if user is None:
            self.state.count_auth('malformed')
            LOG.info('smtp auth listener=%s outcome=failed reason=malformed XOAUTH2 response', self.listener)
            await server.push('501 5.5.2 Cannot parse the XOAUTH2 response')
            return AuthResult(success=False, handled=True)
        failure, token_user = self.state.check_token(token, user)
        self.state.count_auth(failure)
        if failure is None:
            LOG.info('smtp auth listener=%s user=%s outcome=ok', self.listener, _clean(user))
            return AuthResult(success=True, auth_data=user)
        LOG.info('smtp auth listener=%s user=%s outcome=failed reason=%s%s', self.listener, _clean(user), failure,
                 '' if token_user is None else f' (token of {token_user})')
        # As Google and Microsoft: an error challenge, then 535 after the client's empty line.
        status = json.dumps({'status': '401', 'schemes': 'bearer', 'scope': self.scope}, separators=(',', ':'))
        if await server.challenge_auth(status) is MISSING:
            return AuthResult(success=False, handled=True)
        return AuthResult(success=False, handled=False, message='535 5.7.8 Authentication unsuccessful')

    async def handle_DATA(self, server, session, envelope):  # pylint: disable=invalid-name,unused-argument
        name = self.state.store_message(envelope.mail_from, envelope.rcpt_tos, envelope.content,
                                        session.auth_data, self.listener)
        LOG.info('smtp message %s stored: listener=%s user=%s from=<%s> to=%s', name, self.listener,
                 _clean(session.auth_data), _clean(envelope.mail_from),
                 ','.join(f'<{_clean(rcpt)}>' for rcpt in envelope.rcpt_tos))
        return f'250 2.0.0 Ok: queued as {name}'


def tls_context(settings):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings['cert_file'], settings['key_file'])
    return context


async def serve_smtp(settings, state, context, ready):
    """Runs the two SMTP listeners until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    common = {'hostname': settings['hostname'], 'auth_required': True,
              'auth_exclude_mechanism': ['LOGIN', 'PLAIN'], 'loop': loop}

    def submission():
        return SMTP(SMTPHandler(state, settings['scope'], 'smtp'), tls_context=context, auth_require_tls=True, **common)

    def submissions():
        # aiosmtpd 1.4 counts only STARTTLS as TLS (aio-libs/aiosmtpd#274, #281): this
        # listener accepts nothing but TLS connections, so it waives the check.
        return SMTP(SMTPHandler(state, settings['scope'], 'smtps'), auth_require_tls=False, **common)

    host = settings['listen_address']
    servers = [await loop.create_server(submission, host, settings['smtp_port']),
               await loop.create_server(submissions, host, settings['smtps_port'], ssl=context)]
    ready(*(server.sockets[0].getsockname()[1] for server in servers))
    await stop.wait()
    for server in servers:
        server.close()
        if hasattr(server, 'close_clients'):
            server.close_clients()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--config', required=True, help='the JSON config file')
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format='%(message)s')
    # aiosmtpd's own log shows client lines; this program logs its events itself.
    logging.getLogger('mail.log').setLevel(logging.ERROR)
    warnings.filterwarnings('ignore', message='Requiring AUTH while not requiring TLS')
    try:
        settings, clients, accounts = load_config(args.config)
        state = State(settings['spool_dir'], settings['expires_in'])
        context = tls_context(settings)
        host = settings['listen_address']
        token_server = TokenServer((host, settings['token_port']), TokenHandler, context=context, endpoint=TokenEndpoint(
            settings, clients, accounts, state), token_paths={'/token', urllib.parse.urlsplit(settings['token_url']).path})
        control_server = ControlServer(('127.0.0.1', settings['control_port']), ControlHandler, state=state)
    except (OSError, ValueError, ConfigError) as error:
        LOG.error('cannot start: %s', error)
        return 1
    threads = [threading.Thread(target=server.serve_forever, daemon=True) for server in (token_server, control_server)]
    for thread in threads:
        thread.start()

    def ready(smtp_port, smtps_port):
        LOG.info('listening token=%d smtp=%d smtps=%d control=%d clients=%d service_accounts=%d',
                 token_server.server_address[1], smtp_port, smtps_port, control_server.server_address[1],
                 len(clients), len(accounts))

    status = 0
    try:
        asyncio.run(serve_smtp(settings, state, context, ready))
    except OSError as error:
        LOG.error('cannot serve SMTP: %s', error)
        status = 1
    stoppers = [threading.Thread(target=server.shutdown) for server in (token_server, control_server)]
    for stopper in stoppers:
        stopper.start()
    for stopper, server in zip(stoppers, (token_server, control_server)):
        stopper.join()
        server.server_close()
    LOG.info('stopped')
    return status


if __name__ == '__main__':
    sys.exit(main())
