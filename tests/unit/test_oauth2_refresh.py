"""roles/relay_oauth2/files/mailstack-oauth2-refresh against a real HTTPS token endpoint and real postmap.

The endpoint is an http.server in a thread, with a test CA and server
certificate made here; the script verifies it with that CA file. The tables
are built by the host's postmap in a temporary Postfix config directory
(MAIL_CONFIG) and read back with `postmap -q`.
"""

import base64
import datetime
import hashlib
import http.server
import importlib.machinery
import importlib.util
import ipaddress
import json
import os
import socket
import ssl
import threading
import time
import urllib.parse
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from helpers.postfix import make_config_dir, postmap_query

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(REPO_ROOT, 'roles', 'relay_oauth2', 'files', 'mailstack-oauth2-refresh')
T0 = 1_780_000_000
SECRET = 'client-secret-s3cr3t'
REFRESH_TOKEN = 'config-refresh-token-1'


def load_script():
    loader = importlib.machinery.SourceFileLoader('mailstack_oauth2_refresh', SCRIPT)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


refresher = load_script()


# ---------------------------------------------------------------------------
# Test PKI
# ---------------------------------------------------------------------------

def pem(path, data):
    path.write_bytes(data)
    return str(path)


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def certificate(subject, issuer, public_key, issuer_key, ca, sans=()):
    """An RFC 5280 certificate (Python 3.13 verifies strictly), valid for a day around now."""
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                              critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
            decipher_only=False), critical=True)
    else:
        builder = (builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
    return builder.sign(issuer_key, hashes.SHA256())


def make_ca_and_server(directory, name):
    """(CA file, server certificate file, server key file) of a CA named `name`."""
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate(name, name, ca_key.public_key(), ca_key, ca=True)
    server = certificate('127.0.0.1', name, server_key.public_key(), ca_key, ca=False,
                         sans=[x509.IPAddress(ipaddress.ip_address('127.0.0.1')), x509.DNSName('localhost')])
    return (pem(directory / (name + '-ca.pem'), ca.public_bytes(serialization.Encoding.PEM)),
            pem(directory / (name + '-server.pem'), server.public_bytes(serialization.Encoding.PEM)),
            pem(directory / (name + '-server.key'), key_pem(server_key)))


@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp('pki')
    ca_file, cert_file, key_file = make_ca_and_server(directory, 'test-ca')
    _rogue_ca, rogue_cert, rogue_key = make_ca_and_server(directory, 'rogue-ca')
    return {'ca_file': ca_file, 'server': (cert_file, key_file), 'rogue_server': (rogue_cert, rogue_key)}


@pytest.fixture(scope='module')
def rsa_key():
    """One RSA key for the JWT grants (generating one is the slow part)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# ---------------------------------------------------------------------------
# The token endpoint
# ---------------------------------------------------------------------------

class TokenHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get('Content-Length', 0))).decode('ascii')
        request = {'path': self.path, 'headers': dict(self.headers),
                   'form': dict(urllib.parse.parse_qsl(body, keep_blank_values=True))}
        self.server.requests.append(request)
        status, answer = self.server.answer(len(self.server.requests))
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def token_answer(expires_in=3600, **extra):
    """An answer that hands out access-token-N for the Nth request."""
    def answer(count):
        return 200, json.dumps(dict({'access_token': 'access-token-%d' % count, 'token_type': 'Bearer',
                                     'expires_in': expires_in}, **extra)).encode()
    return answer


def fixed_answer(status, body):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return lambda count: (status, raw)


class Endpoint:
    """A real HTTPS token endpoint on 127.0.0.1 that records each request's form."""

    def __init__(self, cert_file, key_file):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        self.server = http.server.HTTPServer(('127.0.0.1', 0), TokenHandler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.server.handle_error = lambda request, address: None
        self.server.requests = []
        self.server.answer = token_answer()
        self.url = 'https://127.0.0.1:%d/token' % self.server.server_port
        self.host = '127.0.0.1:%d' % self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.01}, daemon=True)
        self.thread.start()

    @property
    def requests(self):
        return self.server.requests

    def answers(self, answer):
        self.server.answer = answer

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint(pki):
    server = Endpoint(*pki['server'])
    yield server
    server.close()


@pytest.fixture
def rogue_endpoint(pki):
    server = Endpoint(*pki['rogue_server'])
    yield server
    server.close()


# ---------------------------------------------------------------------------
# Config, runs and reading back
# ---------------------------------------------------------------------------

@pytest.fixture(scope='module')
def module_postfix_dir(tmp_path_factory):
    config_dir = make_config_dir(tmp_path_factory.mktemp('postfix'))
    # Postfix rereads a main.cf changed within the last second until it is
    # older, which would cost each test two seconds.
    an_hour_ago = time.time() - 3600
    os.utime(os.path.join(config_dir, 'main.cf'), (an_hour_ago, an_hour_ago))
    return config_dir


@pytest.fixture
def postfix_dir(module_postfix_dir, monkeypatch):
    """The Postfix config directory postmap reads (the host has no /etc/postfix/main.cf)."""
    monkeypatch.setenv('MAIL_CONFIG', module_postfix_dir)
    return module_postfix_dir


class Setup:
    def __init__(self, tmp_path, ca_file, config_dir):
        self.tmp_path = tmp_path
        self.config_dir = config_dir
        self.config_file = str(tmp_path / 'refresh.json')
        self.table = str(tmp_path / 'tables' / 'oauth2_tokens')
        self.state_file = str(tmp_path / 'state' / 'state.json')
        self.marker = str(tmp_path / 'flushed')
        os.mkdir(os.path.dirname(self.table))
        self.config = {'table': {'path': self.table, 'type': 'hash'}, 'postmap': '/usr/sbin/postmap',
                       'state_file': self.state_file, 'ca_file': ca_file,
                       'flush_command': ['/bin/sh', '-c', 'echo flushed >> "$0"', self.marker], 'accounts': []}

    def write(self, *accounts):
        self.config['accounts'] = list(accounts)
        with open(self.config_file, 'w') as handle:
            json.dump(self.config, handle)

    def run(self, *args, at=T0):
        return refresher.main(['--config', self.config_file] + list(args), clock=lambda: at)

    def lookup(self, key):
        return postmap_query(self.config_dir, key, 'hash:' + self.table)

    def state(self):
        with open(self.state_file) as handle:
            return json.load(handle)['accounts']

    def flushes(self):
        return open(self.marker).read().count('flushed') if os.path.exists(self.marker) else 0


@pytest.fixture
def setup(tmp_path, pki, postfix_dir):
    return Setup(tmp_path, pki['ca_file'], postfix_dir)


def secret_account(url, name='m365', keys=('[smtp.office365.com]:587',), username='relay@contoso.example'):
    return {'name': name, 'keys': list(keys), 'username': username, 'token_url': url,
            'scope': 'https://outlook.office365.com/.default', 'grant': 'client_credentials',
            'client_id': 'client-id-1', 'client_secret': SECRET}


def refresh_account(url, **fields):
    account = {'name': 'gmail', 'keys': ['[smtp.gmail.com]:587'], 'username': 'relay@example.com',
               'token_url': url, 'grant': 'refresh_token', 'client_id': 'client-id-2',
               'client_secret': SECRET, 'refresh_token': REFRESH_TOKEN, 'scope': 'https://mail.google.com/'}
    account.update(fields)
    return {field: value for field, value in account.items() if value is not None}


def stderr_lines(capsys):
    return capsys.readouterr().err.splitlines()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def verified_jwt(token, public_key):
    """(header, claims) of an RS256 JWT whose signature `public_key` verifies."""
    header, claims, signature = token.split('.')
    public_key.verify(b64url_decode(signature), ('%s.%s' % (header, claims)).encode(), padding.PKCS1v15(),
                      hashes.SHA256())
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(claims))


# ---------------------------------------------------------------------------
# The grants' requests
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('make_account, form', [
    pytest.param(secret_account, {'grant_type': 'client_credentials', 'client_id': 'client-id-1',
                                  'client_secret': SECRET, 'scope': 'https://outlook.office365.com/.default'},
                 id='client_credentials with secret'),
    pytest.param(refresh_account, {'grant_type': 'refresh_token', 'client_id': 'client-id-2', 'client_secret': SECRET,
                                   'refresh_token': REFRESH_TOKEN, 'scope': 'https://mail.google.com/'},
                 id='refresh_token'),
    pytest.param(lambda url: refresh_account(url, client_secret=None, scope=None),
                 {'grant_type': 'refresh_token', 'client_id': 'client-id-2', 'refresh_token': REFRESH_TOKEN},
                 id='refresh_token, public client without scope'),
])
def test_grant_sends_its_form(setup, endpoint, make_account, form):
    setup.write(make_account(endpoint.url))
    assert setup.run() == 0
    [request] = endpoint.requests
    assert request['path'] == '/token'  # no query string: secrets only in the body
    assert request['headers']['Content-Type'] == 'application/x-www-form-urlencoded'
    assert request['headers']['Accept'] == 'application/json'
    assert request['form'] == form


def test_certificate_credential_is_a_signed_jwt(setup, endpoint, rsa_key, tmp_path):
    cert = certificate('mailstack relay', 'mailstack relay', rsa_key.public_key(), rsa_key, ca=True)
    der = cert.public_bytes(serialization.Encoding.DER)
    account = dict(secret_account(endpoint.url), name='m365cert',
                   certificate_file=pem(tmp_path / 'm365cert.crt', cert.public_bytes(serialization.Encoding.PEM)),
                   private_key_file=pem(tmp_path / 'm365cert.key', key_pem(rsa_key)))
    del account['client_secret']
    setup.write(account)
    assert setup.run() == 0
    [request] = endpoint.requests
    form = request['form']
    assert {k: v for k, v in form.items() if k != 'client_assertion'} == {
        'grant_type': 'client_credentials', 'client_id': 'client-id-1', 'scope': 'https://outlook.office365.com/.default',
        'client_assertion_type': 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'}
    header, claims = verified_jwt(form['client_assertion'], rsa_key.public_key())
    assert header == {'alg': 'RS256', 'typ': 'JWT', 'x5t#S256': b64url(hashlib.sha256(der).digest()),
                      'x5t': b64url(hashlib.sha1(der).digest())}
    jti = claims.pop('jti')
    assert uuid.UUID(jti).version == 4
    assert claims == {'aud': endpoint.url, 'iss': 'client-id-1', 'sub': 'client-id-1',
                      'nbf': T0, 'iat': T0, 'exp': T0 + 600}


@pytest.mark.parametrize('override', [False, True], ids=['token_uri of the file', 'token_url overrides'])
def test_service_account_assertion_is_a_signed_jwt(setup, endpoint, rsa_key, tmp_path, override):
    service_account = {'type': 'service_account', 'client_email': 'relay@project.iam.gserviceaccount.com',
                       'private_key_id': 'key-id-1', 'private_key': key_pem(rsa_key).decode(),
                       'token_uri': 'https://oauth2.invalid/token' if override else endpoint.url}
    sa_file = tmp_path / 'gsa.json'
    sa_file.write_text(json.dumps(service_account))
    account = {'name': 'gsa', 'keys': ['relay@example.com'], 'username': 'relay@example.com',
               'grant': 'jwt_bearer', 'service_account_file': str(sa_file), 'subject': 'relay@example.com',
               'scope': 'https://mail.google.com/'}
    if override:
        account['token_url'] = endpoint.url
    setup.write(account)
    assert setup.run() == 0
    [request] = endpoint.requests
    assert sorted(request['form']) == ['assertion', 'grant_type']
    assert request['form']['grant_type'] == 'urn:ietf:params:oauth:grant-type:jwt-bearer'
    header, claims = verified_jwt(request['form']['assertion'], rsa_key.public_key())
    assert header == {'alg': 'RS256', 'typ': 'JWT', 'kid': 'key-id-1'}
    assert claims == {'iss': 'relay@project.iam.gserviceaccount.com', 'scope': 'https://mail.google.com/',
                      'aud': endpoint.url, 'iat': T0, 'exp': T0 + 3600, 'sub': 'relay@example.com'}
    assert setup.lookup('relay@example.com') == 'relay@example.com:access-token-1'


# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------

def test_table_maps_every_key_to_username_and_token(setup, endpoint):
    setup.write(secret_account(endpoint.url, keys=['[smtp.office365.com]:587', 'sales@contoso.example']),
                refresh_account(endpoint.url))
    assert setup.run() == 0
    tokens = {request['form']['grant_type']: 'access-token-%d' % number
              for number, request in enumerate(endpoint.requests, 1)}
    m365 = 'relay@contoso.example:' + tokens['client_credentials']
    gmail = 'relay@example.com:' + tokens['refresh_token']
    assert setup.lookup('[smtp.office365.com]:587') == m365
    assert setup.lookup('Sales@Contoso.example') == m365
    assert setup.lookup('[smtp.gmail.com]:587') == gmail
    records = [line for line in open(setup.table).read().splitlines() if not line.startswith('#')]
    assert records == sorted(records) and len(records) == 3
    for path in (setup.table, setup.table + '.db', setup.state_file):
        assert os.stat(path).st_mode & 0o777 == 0o600, path
    assert os.stat(os.path.dirname(setup.state_file)).st_mode & 0o777 == 0o700


def test_one_failing_account_does_not_stop_the_others(setup, endpoint, rogue_endpoint, capsys):
    setup.write(secret_account(rogue_endpoint.url, name='broken', keys=['broken@example.com']),
                secret_account(endpoint.url))
    assert setup.run() == 0
    assert setup.lookup('[smtp.office365.com]:587') == 'relay@contoso.example:access-token-1'
    # No token yet: an empty one, which the XOAUTH2 mechanism refuses, so Postfix defers instead of sending without AUTH.
    assert setup.lookup('broken@example.com') == 'relay@contoso.example:'
    [line] = stderr_lines(capsys)
    assert line.startswith('broken: ')


def test_fresh_token_is_neither_asked_again_nor_rewritten(setup, endpoint):
    setup.write(secret_account(endpoint.url))
    setup.run()
    before = [os.stat(path).st_mtime_ns for path in (setup.table, setup.table + '.db')]
    assert setup.run(at=T0 + 60) == 0
    assert len(endpoint.requests) == 1
    assert [os.stat(path).st_mtime_ns for path in (setup.table, setup.table + '.db')] == before


def test_removed_account_leaves_the_table_and_the_state(setup, endpoint):
    setup.write(secret_account(endpoint.url), refresh_account(endpoint.url))
    setup.run()
    setup.write(secret_account(endpoint.url))
    setup.run(at=T0 + 60)
    assert setup.lookup('[smtp.gmail.com]:587') is None
    assert list(setup.state()) == ['m365']


def test_missing_table_is_written_again_without_asking(setup, endpoint):
    setup.write(secret_account(endpoint.url))
    setup.run()
    os.unlink(setup.table)
    os.unlink(setup.table + '.db')
    setup.run(at=T0 + 60)
    assert len(endpoint.requests) == 1
    assert setup.lookup('[smtp.office365.com]:587') == 'relay@contoso.example:access-token-1'


# ---------------------------------------------------------------------------
# When to refresh
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('expires_in, later, refreshed', [
    (3600, 3299, False),   # 301 s left, more than 300
    (3600, 3301, True),    # 299 s left
    (600, 399, False),     # 201 s left, more than a third of 600
    (600, 401, True),      # 199 s left
    (90, 59, False),       # 31 s left, more than a third of 90
    (90, 61, True),        # 29 s left
    (3600, 3700, True),    # expired
])
def test_token_near_expiry_is_refreshed(setup, endpoint, expires_in, later, refreshed):
    endpoint.answers(token_answer(expires_in=expires_in))
    setup.write(secret_account(endpoint.url))
    setup.run()
    setup.run(at=T0 + later)
    assert len(endpoint.requests) == (2 if refreshed else 1)
    token = 'access-token-%d' % len(endpoint.requests)
    assert setup.lookup('[smtp.office365.com]:587') == 'relay@contoso.example:' + token


def test_force_refreshes_a_fresh_token(setup, endpoint):
    setup.write(secret_account(endpoint.url))
    setup.run()
    assert setup.run('--force', at=T0 + 1) == 0
    assert len(endpoint.requests) == 2
    assert setup.lookup('[smtp.office365.com]:587') == 'relay@contoso.example:access-token-2'


def test_changed_request_config_asks_again(setup, endpoint):
    setup.write(secret_account(endpoint.url))
    setup.run()
    setup.write(dict(secret_account(endpoint.url), scope='https://outlook.office.com/SMTP.Send'))
    setup.run(at=T0 + 60)
    assert [request['form']['scope'] for request in endpoint.requests] == [
        'https://outlook.office365.com/.default', 'https://outlook.office.com/SMTP.Send']


# ---------------------------------------------------------------------------
# Failures: deferral, one line, recovery
# ---------------------------------------------------------------------------

def test_refused_grant_keeps_the_old_token_logs_once_and_recovers(setup, endpoint, capsys):
    setup.write(refresh_account(endpoint.url))
    setup.run()
    endpoint.answers(fixed_answer(400, {'error': 'invalid_grant', 'error_description': 'Token has been expired or revoked.'}))

    assert setup.run(at=T0 + 3700) == 0
    [line] = stderr_lines(capsys)
    assert line.startswith('gmail: cannot get an access token from %s: the grant was refused' % endpoint.host)
    assert '(Token has been expired or revoked.)' in line
    assert 'mail through [smtp.gmail.com]:587 is deferred and retried' in line
    assert setup.lookup('[smtp.gmail.com]:587') == 'relay@example.com:access-token-1'

    assert setup.run(at=T0 + 3760) == 0
    assert len(endpoint.requests) == 3  # retried, but not told again
    assert stderr_lines(capsys) == []
    assert setup.flushes() == 0

    endpoint.answers(token_answer())
    assert setup.run(at=T0 + 3820) == 0
    [line] = stderr_lines(capsys)
    assert line.startswith('gmail: an access token was obtained again from %s' % endpoint.host)
    assert line.endswith('mail deferred for [smtp.gmail.com]:587 is retried now.')
    assert setup.lookup('[smtp.gmail.com]:587') == 'relay@example.com:access-token-4'
    assert setup.flushes() == 1

    setup.run('--force', at=T0 + 3880)
    assert stderr_lines(capsys) == []
    assert setup.flushes() == 1


def test_expired_token_obtained_again_flushes(setup, endpoint, capsys):
    setup.write(secret_account(endpoint.url))
    setup.run()
    setup.run(at=T0 + 7200)  # the host was off past the expiry
    [line] = stderr_lines(capsys)
    assert 'obtained again' in line
    assert setup.flushes() == 1


def closed_port_url():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return 'https://127.0.0.1:%d/token' % probe.getsockname()[1]


@pytest.mark.parametrize('answer, problem', [
    pytest.param(fixed_answer(400, {'error': 'invalid_grant', 'error_description': 'AADSTS70008: expired.'}),
                 'the grant was refused: the refresh token or consent was revoked or has expired (AADSTS70008: expired.)',
                 id='invalid_grant'),
    pytest.param(fixed_answer(401, {'error': 'invalid_client', 'error_description': 'AADSTS7000215: Invalid client secret'}),
                 'the client id, secret or certificate was refused (AADSTS7000215: Invalid client secret)',
                 id='invalid_client'),
    pytest.param(fixed_answer(400, {'error': 'unauthorized_client'}),
                 'the client id, secret or certificate was refused;', id='unauthorized_client'),
    pytest.param(fixed_answer(400, {'error': 'invalid_scope'}), 'the scope was refused;', id='invalid_scope'),
    pytest.param(fixed_answer(503, b'<html>busy</html>'), 'the endpoint answered HTTP 503;', id='HTTP 503'),
    pytest.param(fixed_answer(400, {'error': 'invalid_request'}), 'the endpoint answered HTTP 400 (invalid_request);',
                 id='other OAuth error'),
    pytest.param(fixed_answer(200, b'<html>login</html>'), "the endpoint's answer had no token (not JSON)",
                 id='not JSON'),
    pytest.param(fixed_answer(200, {'token_type': 'Bearer'}), "the endpoint's answer had no token;", id='no token'),
    pytest.param(fixed_answer(200, {'access_token': 'x', 'token_type': 'mac'}), 'a token of type mac, not Bearer',
                 id='not bearer'),
    pytest.param(fixed_answer(400, {'error': 'invalid_grant', 'error_description': 'bad secret %s and %s'
                                    % (SECRET, REFRESH_TOKEN)}),
                 'the grant was refused: the refresh token or consent was revoked or has expired '
                 '(bad secret [secret] and [secret])', id='description quoting the secrets'),
    pytest.param('closed port', 'the endpoint could not be reached: Connection refused;', id='connection refused'),
    pytest.param('unknown name', 'the endpoint could not be reached: ', id='DNS'),
])
def test_each_failure_says_why_without_secrets(setup, endpoint, capsys, answer, problem):
    url = {'closed port': closed_port_url(), 'unknown name': 'https://token.example.invalid/token'}.get(answer)
    if url is None:
        url = endpoint.url
        endpoint.answers(answer)
    setup.write(refresh_account(url))
    assert setup.run() == 0
    [line] = stderr_lines(capsys)
    assert line.startswith('gmail: cannot get an access token from %s: ' % urllib.parse.urlsplit(url).netloc)
    assert problem in line
    assert line.endswith('mail through [smtp.gmail.com]:587 is deferred and retried until a token is obtained.')
    assert SECRET not in line and REFRESH_TOKEN not in line
    assert setup.state()['gmail']['last_error'] in line
    assert setup.lookup('[smtp.gmail.com]:587') == 'relay@example.com:'


def test_changing_trace_ids_are_one_failure(setup, endpoint, capsys):
    """Entra ends each error_description with its own trace and timestamp."""
    def answer(count):
        return 400, json.dumps({'error': 'invalid_client', 'error_description':
                                'AADSTS7000222: The provided client secret keys are expired.\r\n'
                                'Trace ID: %s\r\nTimestamp: 2026-03-0%d' % (uuid.uuid4(), count)}).encode()
    endpoint.answers(answer)
    setup.write(secret_account(endpoint.url))
    setup.run()
    setup.run(at=T0 + 60)
    [line] = stderr_lines(capsys)
    assert '(AADSTS7000222: The provided client secret keys are expired.)' in line
    assert len(endpoint.requests) == 2


def test_certificate_not_from_the_ca_file_is_refused(setup, rogue_endpoint, pki, capsys):
    setup.write(secret_account(rogue_endpoint.url))
    assert setup.run() == 0
    [line] = stderr_lines(capsys)
    assert "the endpoint's certificate could not be verified with the CA file %s (" % pki['ca_file'] in line
    assert rogue_endpoint.requests == []


# ---------------------------------------------------------------------------
# Refresh token rotation
# ---------------------------------------------------------------------------

def test_rotated_refresh_token_is_used_until_the_config_changes(setup, endpoint):
    endpoint.answers(token_answer(refresh_token='rotated-1'))
    setup.write(refresh_account(endpoint.url))
    setup.run()
    endpoint.answers(token_answer())  # no rotation this time: the rotated one stays
    setup.run('--force', at=T0 + 60)
    setup.run('--force', at=T0 + 120)
    setup.write(refresh_account(endpoint.url, refresh_token='config-refresh-token-2'))
    setup.run(at=T0 + 180)
    used = [request['form']['refresh_token'] for request in endpoint.requests]
    assert used == [REFRESH_TOKEN, 'rotated-1', 'rotated-1', 'config-refresh-token-2']
    entry = setup.state()['gmail']
    assert entry['config_refresh_token_sha256'] == hashlib.sha256(b'config-refresh-token-2').hexdigest()
    assert 'refresh_token' not in entry


# ---------------------------------------------------------------------------
# --status, invalid configs
# ---------------------------------------------------------------------------

def test_status_tells_each_account_without_secrets(setup, endpoint, capsys):
    setup.write(secret_account(endpoint.url), refresh_account(endpoint.url))
    setup.run()
    capsys.readouterr()
    assert setup.run('--status', at=T0 + 60) == 0
    assert capsys.readouterr().out.splitlines() == [
        'm365 keys=[smtp.office365.com]:587 grant=client_credentials valid_until=2026-05-28T21:26:40Z '
        'obtained_at=2026-05-28T20:26:40Z OK',
        'gmail keys=[smtp.gmail.com]:587 grant=refresh_token valid_until=2026-05-28T21:26:40Z '
        'obtained_at=2026-05-28T20:26:40Z OK']

    endpoint.answers(fixed_answer(401, {'error': 'invalid_client'}))
    setup.run(at=T0 + 3700)
    capsys.readouterr()
    assert setup.run('--status', at=T0 + 3760) == 1
    out = capsys.readouterr().out
    assert ('valid_until=2026-05-28T21:26:40Z obtained_at=2026-05-28T20:26:40Z FAILING since 2026-05-28T21:28:20Z: '
            'the client id, secret or certificate was refused') in out
    assert 'access-token' not in out and SECRET not in out


def test_status_of_an_account_never_refreshed(setup, endpoint, capsys):
    setup.write(secret_account(endpoint.url))
    assert setup.run('--status') == 1
    assert capsys.readouterr().out.endswith('valid_until=- obtained_at=- NO TOKEN yet (no refresh pass has run)\n')
    assert endpoint.requests == []


@pytest.mark.parametrize('content, message', [
    (None, 'cannot read'),
    ('{"table": ', 'is not valid JSON'),
    ('[]', 'the top level must be an object'),
    ({'accounts': []}, 'table: must be an object'),
    ({'grant': 'password'}, 'grant must be client_credentials, refresh_token or jwt_bearer'),
    ({'token_url': 'http://login.example/token'}, 'token_url must be an https:// URL'),
    ({'certificate_file': '/c.crt', 'private_key_file': '/c.key'},
     'needs client_secret, or certificate_file and private_key_file (not both)'),
    ({'client_secret': None, 'certificate_file': '/c.crt'}, 'client_credentials grant needs private_key_file'),
    ({'username': 'a:b'}, 'username must be non-empty, without whitespace or ":"'),
    ({'keys': ['#comment']}, "key '#comment' is not a Postfix lookup key"),
])
def test_invalid_config_exits_2_naming_the_problem(setup, capsys, content, message):
    if isinstance(content, dict) and 'accounts' not in content:
        account = {field: value for field, value in dict(secret_account('https://login.example/token'), **content).items()
                   if value is not None}
        setup.write(account)
    elif content is not None:
        with open(setup.config_file, 'w') as handle:
            handle.write(content if isinstance(content, str) else json.dumps(content))
    assert setup.run() == 2
    [line] = stderr_lines(capsys)
    assert line.startswith('mailstack-oauth2-refresh: invalid config: ') and message in line


def test_keys_colliding_in_lower_case_are_refused(setup, capsys):
    setup.write(secret_account('https://a.example/token', keys=['Relay@Example.com']),
                refresh_account('https://b.example/token', keys=['relay@example.com']))
    assert setup.run() == 2
    assert 'key relay@example.com is listed by both m365 and gmail' in capsys.readouterr().err
