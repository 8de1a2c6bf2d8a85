"""molecule/relay/files/oauth2_provider.py, for real: the program runs under /usr/bin/python3 (as in
the relay scenario's containers) on free local ports, with a throw-away CA, and these tests talk to it
with urllib (token endpoint, control API) and smtplib (SMTP on the STARTTLS and implicit TLS ports).
"""

import base64
import datetime
import ipaddress
import json
import os
import re
import signal
import smtplib
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from email.message import EmailMessage

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from helpers.secrets import leaks

PROGRAM = os.path.join(os.path.dirname(__file__), '..', '..', 'molecule', 'relay', 'files', 'oauth2_provider.py')
SYSTEM_PYTHON = '/usr/bin/python3'
if subprocess.run([SYSTEM_PYTHON, '-c', 'import aiosmtpd'], capture_output=True, check=False).returncode != 0:
    # make setup installs it (Makefile TOOL_PACKAGES): a missing one is a broken setup, not a reason to skip.
    raise RuntimeError(f'{SYSTEM_PYTHON} cannot import aiosmtpd: install the Debian package python3-aiosmtpd (make setup)')

TOKEN_URL = 'https://login.microsoftonline.test/tenant-1/oauth2/v2.0/token'
ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
SECRET = 'app-S3cret-never-logged'
REFRESH = 'refresh-R3fresh-never-logged'
SA_EMAIL = 'relay@project.iam.gserviceaccount.test'
SA_USER = 'alice@example.test'


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(common_name, key, issuer=None, issuer_key=None, server_names=None):
    """A certificate for key, self-signed unless issuer/issuer_key; a CA if neither nor server_names."""
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(common_name))
               .issuer_name(issuer.subject if issuer else _name(common_name)).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   (issuer_key or key).public_key()), critical=False))
    if server_names:
        builder = (builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.SubjectAlternativeName(server_names), critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
    elif issuer is None:
        builder = (builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                                crl_sign=True, encipher_only=False, decipher_only=False), critical=True))
    return builder.sign(issuer_key or key, hashes.SHA256())


def _write(path, data):
    path.write_bytes(data)
    return str(path)


def _pem(certificate):
    return certificate.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    """Files and keys: a CA, the server's certificate for localhost, a client's and a service account's key."""
    folder = tmp_path_factory.mktemp('pki')
    keys = {name: rsa.generate_private_key(public_exponent=65537, key_size=2048)
            for name in ('ca', 'server', 'client', 'account', 'stranger')}
    ca = _certificate('Test CA', keys['ca'])
    server = _certificate('localhost', keys['server'], ca, keys['ca'],
                          [x509.DNSName('localhost'), x509.IPAddress(ipaddress.ip_address('127.0.0.1'))])
    return {
        'keys': keys,
        'ca_file': _write(folder / 'ca.crt', _pem(ca)),
        'cert_file': _write(folder / 'server.crt', _pem(server)),
        'key_file': _write(folder / 'server.key', keys['server'].private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
        # Microsoft: the certificate uploaded for the app; Google: the service account's public key.
        'client_cert': _write(folder / 'client.crt', _pem(_certificate('relay-app', keys['client']))),
        'account_key': _write(folder / 'account.pem', keys['account'].public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)),
    }


class Provider:
    """The program running with a config made for the tests, and clients for its three services."""

    def __init__(self, folder, pki):
        self.pki = pki
        self.spool = folder / 'spool'
        self.log = folder / 'provider.log'
        config = {
            'listen_address': '127.0.0.1', 'token_port': 0, 'smtp_port': 0, 'smtps_port': 0, 'control_port': 0,
            'hostname': 'oauth2.test', 'cert_file': pki['cert_file'], 'key_file': pki['key_file'],
            'token_url': TOKEN_URL, 'expires_in': 3600, 'spool_dir': str(self.spool),
            'clients': [
                {'client_id': 'app-secret', 'client_secret': SECRET, 'username': 'relay@example.test'},
                {'client_id': 'app-cert', 'certificate_file': pki['client_cert'], 'username': 'cert@example.test'},
                {'client_id': 'app-refresh', 'client_secret': SECRET, 'username': 'refresh@example.test',
                 'refresh_tokens': [REFRESH]},
            ],
            'service_accounts': [{'client_email': SA_EMAIL, 'certificate_file': pki['account_key'], 'username': SA_USER}],
        }
        (folder / 'config.json').write_text(json.dumps(config))
        with open(self.log, 'wb') as log:
            self.process = subprocess.Popen([SYSTEM_PYTHON, PROGRAM, '--config', str(folder / 'config.json')],
                                            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            found = re.search(r'listening token=(\d+) smtp=(\d+) smtps=(\d+) control=(\d+)', self.log.read_text())
            if found:
                self.ports = dict(zip(('token', 'smtp', 'smtps', 'control'), map(int, found.groups())))
                break
            if self.process.poll() is not None:
                pytest.fail('the provider stopped: ' + self.log.read_text())
            time.sleep(0.05)
        else:
            self.process.kill()
            pytest.fail('the provider did not start: ' + self.log.read_text())
        self.tls = ssl.create_default_context(cafile=pki['ca_file'])

    def stop(self):
        """SIGTERM; the exit code."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise

    def token(self, form, path='/token'):
        """(HTTP status, JSON answer) of POST form to the token endpoint."""
        request = urllib.request.Request(f'https://localhost:{self.ports["token"]}{path}',
                                         data=urllib.parse.urlencode(form).encode())
        try:
            with urllib.request.urlopen(request, context=self.tls, timeout=10) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.load(error)

    def access_token(self, form=None):
        status, answer = self.token(form or {'grant_type': 'client_credentials', 'client_id': 'app-secret',
                                             'client_secret': SECRET})
        assert status == 200, answer
        return answer['access_token']

    def control(self, path, body=None):
        data = None if body is None and path == '/stats' else json.dumps(body or {}).encode()
        with urllib.request.urlopen(f'http://127.0.0.1:{self.ports["control"]}{path}', data=data, timeout=10) as response:
            return json.load(response)

    def smtp(self, listener):
        """An SMTP session after EHLO over TLS: STARTTLS on 'smtp', implicit TLS on 'smtps'."""
        if listener == 'smtps':
            client = smtplib.SMTP_SSL('localhost', self.ports['smtps'], timeout=10, context=self.tls)
        else:
            client = smtplib.SMTP('localhost', self.ports['smtp'], timeout=10)
            client.starttls(context=self.tls)
        client.ehlo('client.test')
        return client


def xoauth2(user, token):
    return f'user={user}\x01auth=Bearer {token}\x01\x01'


def authenticate(client, user, token, challenges=None):
    """smtplib's AUTH XOAUTH2; the challenges the server sent, decoded, are added to `challenges`."""
    challenges = [] if challenges is None else challenges

    def answer(challenge=None):
        if challenge:
            challenges.append(challenge)
            return ''
        return xoauth2(user, token)
    client.auth('XOAUTH2', answer)
    return challenges


def refused(client, user, token):
    """The final reply and the error challenges of an AUTH that fails."""
    challenges = []
    with pytest.raises(smtplib.SMTPAuthenticationError) as failure:
        authenticate(client, user, token, challenges=challenges)
    return failure.value.smtp_code, failure.value.smtp_error.decode(), challenges


def jwt(key, claims, alg='RS256'):
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b'=').decode()
    signing_input = f'{part({"alg": alg, "typ": "JWT"})}.{part(claims)}'
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + '.' + base64.urlsafe_b64encode(signature).rstrip(b'=').decode()


@pytest.fixture(scope='module')
def provider(pki, tmp_path_factory):
    running = Provider(tmp_path_factory.mktemp('provider'), pki)
    yield running
    assert running.stop() == 0


@pytest.fixture(autouse=True)
def fresh(request):
    """Each test starts with the grants restored, the default lifetime, no counts and no messages."""
    if 'provider' in request.fixturenames:
        provider = request.getfixturevalue('provider')
        provider.control('/restore')
        provider.control('/expires_in', {'seconds': 3600})
        provider.control('/reset')


def assertion(pki, key='client', **changes):
    """A client assertion of app-cert, with changes to its claims (None removes one)."""
    now = int(time.time())
    claims = {'aud': TOKEN_URL, 'iss': 'app-cert', 'sub': 'app-cert', 'jti': 'j1', 'nbf': now, 'exp': now + 600}
    claims.update(changes)
    return {'grant_type': 'client_credentials', 'client_id': claims['iss'], 'client_assertion_type': ASSERTION_TYPE,
            'client_assertion': jwt(pki['keys'][key], {k: v for k, v in claims.items() if v is not None})}


def sa_assertion(pki, key='account', **changes):
    """A Google service account's assertion, with changes to its claims (None removes one)."""
    now = int(time.time())
    claims = {'iss': SA_EMAIL, 'sub': SA_USER, 'scope': 'https://mail.google.com/', 'aud': TOKEN_URL,
              'iat': now, 'exp': now + 600}
    claims.update(changes)
    return {'grant_type': JWT_BEARER, 'assertion': jwt(pki['keys'][key], {k: v for k, v in claims.items() if v is not None})}


SECRET_FORM = {'grant_type': 'client_credentials', 'client_id': 'app-secret', 'client_secret': SECRET}
REFRESH_FORM = {'grant_type': 'refresh_token', 'client_id': 'app-refresh', 'client_secret': SECRET, 'refresh_token': REFRESH}

# case -> (the form, given the PKI; HTTP status and error expected, None for a token)
GRANTS = {
    'client secret': (lambda pki: SECRET_FORM, 200, None),
    'wrong client secret': (lambda pki: dict(SECRET_FORM, client_secret='wrong'), 401, 'invalid_client'),
    'no client secret': (lambda pki: {'grant_type': 'client_credentials', 'client_id': 'app-secret'}, 401, 'invalid_client'),
    'unknown client': (lambda pki: dict(SECRET_FORM, client_id='nobody'), 401, 'invalid_client'),
    'client assertion': (assertion, 200, None),
    'assertion signed by another key': (lambda pki: assertion(pki, key='stranger'), 400, 'invalid_grant'),
    'assertion for another audience': (lambda pki: assertion(pki, aud='https://elsewhere.test/token'), 400, 'invalid_grant'),
    'expired assertion': (lambda pki: assertion(pki, exp=int(time.time()) - 5), 400, 'invalid_grant'),
    'assertion without exp': (lambda pki: assertion(pki, exp=None), 400, 'invalid_grant'),
    'assertion sub is not iss': (lambda pki: assertion(pki, sub='app-secret'), 400, 'invalid_grant'),
    'assertion alg HS256': (lambda pki: dict(assertion(pki), client_assertion=jwt(pki['keys']['client'], {}, 'HS256')),
                            400, 'invalid_grant'),
    'assertion of an unknown client': (lambda pki: assertion(pki, iss='nobody', sub='nobody'), 401, 'invalid_client'),
    'secret for a certificate client': (lambda pki: dict(SECRET_FORM, client_id='app-cert'), 401, 'invalid_client'),
    'refresh token': (lambda pki: REFRESH_FORM, 200, None),
    'unknown refresh token': (lambda pki: dict(REFRESH_FORM, refresh_token='stale'), 400, 'invalid_grant'),
    'refresh token of another client': (lambda pki: dict(REFRESH_FORM, client_id='app-secret'), 400, 'invalid_grant'),
    'refresh with a wrong secret': (lambda pki: dict(REFRESH_FORM, client_secret='wrong'), 401, 'invalid_client'),
    'service account': (sa_assertion, 200, None),
    'service account key of another': (lambda pki: sa_assertion(pki, key='client'), 400, 'invalid_grant'),
    'service account for another audience': (lambda pki: sa_assertion(pki, aud='https://x.test/token'), 400, 'invalid_grant'),
    'expired service account assertion': (lambda pki: sa_assertion(pki, exp=int(time.time()) - 5), 400, 'invalid_grant'),
    'service account without sub': (lambda pki: sa_assertion(pki, sub=None), 400, 'invalid_grant'),
    'service account for another user': (lambda pki: sa_assertion(pki, sub='bob@example.test'), 400, 'invalid_grant'),
    'unknown service account': (lambda pki: sa_assertion(pki, iss='other@x.test'), 401, 'invalid_client'),
    'password grant': (lambda pki: {'grant_type': 'password', 'username': 'a', 'password': 'b'}, 400,
                       'unsupported_grant_type'),
}


@pytest.mark.parametrize('form, status, error', GRANTS.values(), ids=GRANTS.keys())
def test_grant(provider, pki, form, status, error):
    got_status, answer = provider.token(form(pki))
    assert got_status == status, answer
    if error is None:
        assert answer['token_type'] == 'Bearer' and answer['expires_in'] == 3600, answer
        assert len(answer['access_token']) >= 32
    else:
        assert answer['error'] == error and answer['error_description'], answer


def test_token_url_path_and_basic_authentication(provider):
    """Microsoft's path (token_url's) answers too, and the client may authenticate with HTTP Basic."""
    assert provider.token(SECRET_FORM, path='/tenant-1/oauth2/v2.0/token')[0] == 200
    request = urllib.request.Request(f'https://localhost:{provider.ports["token"]}/token',
                                     data=b'grant_type=client_credentials', headers={
                                         'Authorization': 'Basic ' + base64.b64encode(f'app-secret:{SECRET}'.encode()).decode()})
    with urllib.request.urlopen(request, context=provider.tls, timeout=10) as response:
        assert json.load(response)['token_type'] == 'Bearer'
    assert provider.token(SECRET_FORM, path='/elsewhere')[0] == 404


def test_stats_count_token_calls_by_grant_and_outcome(provider, pki):
    provider.token(SECRET_FORM)
    provider.token(dict(SECRET_FORM, client_secret='wrong'))
    provider.token(assertion(pki))
    provider.token(sa_assertion(pki, key='client'))
    provider.token({'grant_type': 'password'})
    stats = provider.control('/stats')
    assert stats['token_requests'] == {'client_credentials': {'ok': 2, 'invalid_client': 1},
                                       JWT_BEARER: {'invalid_grant': 1}, 'other': {'unsupported_grant_type': 1}}
    assert stats['tokens_issued'] == 2


def test_revoke_refuses_every_grant_until_restore(provider, pki):
    assert provider.control('/revoke') == {'revoked': True}
    for form in (SECRET_FORM, assertion(pki), REFRESH_FORM, sa_assertion(pki)):
        status, answer = provider.token(form)
        assert (status, answer['error']) == (400, 'invalid_grant'), form['grant_type']
    # A wrong secret is still a client error.
    assert provider.token(dict(SECRET_FORM, client_secret='wrong'))[0] == 401
    provider.control('/restore')
    for form in (SECRET_FORM, assertion(pki), REFRESH_FORM, sa_assertion(pki)):
        assert provider.token(form)[0] == 200, form['grant_type']


def test_ehlo_offers_xoauth2_only_and_only_over_tls(provider):
    with smtplib.SMTP('localhost', provider.ports['smtp'], timeout=10) as client:
        client.ehlo('client.test')
        assert 'starttls' in client.esmtp_features and 'auth' not in client.esmtp_features
        assert client.docmd('AUTH', 'XOAUTH2 dGVzdA==')[0] == 538
        client.starttls(context=provider.tls)
        client.ehlo('client.test')
        assert client.esmtp_features['auth'].split() == ['XOAUTH2']
        assert client.docmd('MAIL', 'FROM:<relay@example.test>') == (530, b'5.7.0 Authentication required')
    with provider.smtp('smtps') as client:
        assert client.esmtp_features['auth'].split() == ['XOAUTH2'] and 'starttls' not in client.esmtp_features
        assert client.docmd('MAIL', 'FROM:<relay@example.test>') == (530, b'5.7.0 Authentication required')


@pytest.mark.parametrize('listener', ['smtp', 'smtps'])
def test_a_valid_token_delivers_a_message(provider, listener):
    token = provider.access_token()
    message = EmailMessage()
    message['From'], message['To'], message['Subject'] = 'relay@example.test', 'bob@example.test', f'hello over {listener}'
    message.set_content('body')
    with provider.smtp(listener) as client:
        assert authenticate(client, 'relay@example.test', token) == []
        assert client.send_message(message, 'relay@example.test', ['bob@example.test']) == {}
    stats = provider.control('/stats')
    assert stats['auth'] == {'ok': 1, 'failed': 0, 'failed_by_reason': {}}
    [delivered] = stats['messages']
    assert delivered['mail_from'] == 'relay@example.test' and delivered['rcpt_tos'] == ['bob@example.test']
    assert (delivered['subject'], delivered['user'], delivered['listener']) == (f'hello over {listener}', 'relay@example.test',
                                                                                listener)
    assert b'Subject: hello over' in open(delivered['file'], 'rb').read()
    assert os.listdir(provider.spool) == [str(delivered['id'])]
    provider.control('/reset')
    assert os.listdir(provider.spool) == [] and provider.control('/stats')['messages'] == []


def test_auth_after_an_empty_challenge(provider):
    """AUTH XOAUTH2 without initial response: the server sends an empty 334, the client the response."""
    with provider.smtp('smtp') as client:
        assert client.docmd('AUTH', 'XOAUTH2') == (334, b'')
        assert client.docmd(base64.b64encode(xoauth2('relay@example.test', provider.access_token()).encode()).decode())[0] == 235


def _error_challenge(challenges):
    [challenge] = challenges
    return json.loads(challenge)


def test_an_expired_token_is_refused_after_the_error_challenge(provider):
    assert provider.control('/expires_in', {'seconds': 1}) == {'expires_in': 1}
    status, answer = provider.token(SECRET_FORM)
    assert (status, answer['expires_in']) == (200, 1)
    with provider.smtp('smtp') as client:
        authenticate(client, 'relay@example.test', answer['access_token'])
    time.sleep(1.5)
    with provider.smtp('smtps') as client:
        code, text, challenges = refused(client, 'relay@example.test', answer['access_token'])
    assert (code, text) == (535, '5.7.8 Authentication unsuccessful')
    assert _error_challenge(challenges) == {'status': '401', 'schemes': 'bearer', 'scope': 'https://mail.google.com/'}
    assert provider.control('/stats')['auth'] == {'ok': 1, 'failed': 1, 'failed_by_reason': {'expired token': 1}}


def test_expire_invalidates_every_token_issued_so_far(provider, pki):
    tokens = [provider.access_token(), provider.access_token(assertion(pki))]
    assert provider.control('/expire')['invalidated'] >= 2
    with provider.smtp('smtp') as client:
        assert refused(client, 'relay@example.test', tokens[0])[0] == 535
    with provider.smtp('smtp') as client:
        assert refused(client, 'cert@example.test', tokens[1])[0] == 535
    with provider.smtp('smtp') as client:
        authenticate(client, 'relay@example.test', provider.access_token())


@pytest.mark.parametrize('form, user, wrong_user', [
    pytest.param(lambda pki: SECRET_FORM, 'relay@example.test', 'cert@example.test', id='client secret'),
    pytest.param(lambda pki: REFRESH_FORM, 'refresh@example.test', 'relay@example.test', id='refresh token'),
    pytest.param(sa_assertion, SA_USER, SA_EMAIL, id='service account: the user is sub'),
])
def test_a_token_is_for_its_user_only(provider, pki, form, user, wrong_user):
    token = provider.access_token(form(pki))
    with provider.smtp('smtps') as client:
        assert refused(client, wrong_user, token)[:2] == (535, '5.7.8 Authentication unsuccessful')
    with provider.smtp('smtps') as client:
        authenticate(client, user, token)
    assert provider.control('/stats')['auth']['failed_by_reason'] == {'wrong user': 1}


def test_an_unknown_or_malformed_token_is_refused(provider):
    with provider.smtp('smtp') as client:
        code, text, challenges = refused(client, 'relay@example.test', 'made-up-token')
    assert (code, text) == (535, '5.7.8 Authentication unsuccessful') and _error_challenge(challenges)['status'] == '401'
    with provider.smtp('smtp') as client:
        assert client.docmd('AUTH', 'XOAUTH2 ' + base64.b64encode(b'user=x\x01\x01').decode())[0] == 501
    assert provider.control('/stats')['auth']['failed_by_reason'] == {'unknown token': 1, 'malformed': 1}


def test_control_api_rejects_a_bad_lifetime(provider):
    for body in ({'seconds': -1}, {'seconds': 'ten'}, {}):
        with pytest.raises(urllib.error.HTTPError) as error:
            provider.control('/expires_in', body)
        assert error.value.code == 400
        error.value.close()
    assert provider.control('/stats')['expires_in'] == 3600


def test_log_shows_no_secret_and_sigterm_stops(pki, tmp_path):
    """A run of its own: every grant, AUTH accepted and refused, then SIGTERM; the log names no secret."""
    running = Provider(tmp_path, pki)
    try:
        forms = [SECRET_FORM, assertion(pki), REFRESH_FORM, sa_assertion(pki), dict(SECRET_FORM, client_secret=SECRET + 'x')]
        answers = [running.token(form)[1] for form in forms]
        tokens = [answer['access_token'] for answer in answers if 'access_token' in answer]
        with running.smtp('smtp') as client:
            authenticate(client, 'relay@example.test', tokens[0])
        with running.smtp('smtps') as client:
            refused(client, 'relay@example.test', tokens[1])
    finally:
        status = running.stop()
    log = running.log.read_text()
    assert status == 0 and log.rstrip().endswith('stopped'), log
    assert 'outcome=ok' in log and 'outcome=failed' in log
    sensitive = [SECRET, REFRESH] + tokens + [form[name] for form in forms for name in ('client_assertion', 'assertion')
                                              if name in form]
    assert leaks(log, sensitive) == []
    assert 'Traceback' not in log
