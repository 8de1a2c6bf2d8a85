"""The XOAUTH2 client plugin (roles/relay_oauth2/files/xoauth2_client.c), built and run for real.

The plugin is compiled with this machine's gcc and libsasl2-dev, and driven through the real
libsasl2 by tests/unit/xoauth2/postfix_like_client.c, which registers its callbacks exactly as
Postfix's SMTP client does (the password through a getsecret callback). Each case also runs
under valgrind's memcheck: the response holds a token, so it must be wiped and freed.
"""

import os
import subprocess

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLUGIN_SOURCE = os.path.join(REPO_ROOT, 'roles', 'relay_oauth2', 'files', 'xoauth2_client.c')
CLIENT_SOURCE = os.path.join(REPO_ROOT, 'tests', 'unit', 'xoauth2', 'postfix_like_client.c')
SASL_OK, SASL_CONTINUE, SASL_BADPARAM = 0, 1, -7


@pytest.fixture(name='client', scope='module')
def fixture_client(tmp_path_factory):
    """Build the plugin (alone in its plugin directory) and the client; yields a runner."""
    build = tmp_path_factory.mktemp('xoauth2')
    plugin_dir = build / 'plugins'
    plugin_dir.mkdir()
    flags = ['-Wall', '-Wextra', '-Werror', '-O2']
    subprocess.run(['gcc', *flags, '-shared', '-fPIC', '-o', str(plugin_dir / 'libmailstack-xoauth2.so'),
                    PLUGIN_SOURCE], check=True)
    program = build / 'postfix_like_client'
    subprocess.run(['gcc', *flags, '-o', str(program), CLIENT_SOURCE, '-lsasl2'], check=True)

    def run(mechanisms, user, token, *challenges):
        argv = ['valgrind', '--quiet', '--error-exitcode=99', '--leak-check=full', '--errors-for-leak-kinds=definite',
                str(program), str(plugin_dir), mechanisms, user, token, *challenges]
        result = subprocess.run(argv, check=False, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return _parse(result)

    return run


def _parse(result):
    lines = result.stdout.splitlines()
    steps = []
    for line in lines[1:]:
        dummy, dummy_n, code, *out = line.split(' ')
        steps.append((int(code), bytes.fromhex(out[0]) if out and out[0] else b''))
    return dict(mech=lines[0].split(' ', 1)[1], steps=steps, log=result.stderr)


def test_sends_user_and_bearer_token(client):
    answer = client('XOAUTH2', 'relay@example.com', 'ya29.a0-token')
    assert answer['mech'] == 'XOAUTH2'
    assert answer['steps'] == [(SASL_CONTINUE, b'user=relay@example.com\x01auth=Bearer ya29.a0-token\x01\x01')]


def test_chosen_when_offered_after_login(client):
    """Only the plugin's directory is loaded: among what the server offers, XOAUTH2 is what it can do."""
    assert client('LOGIN XOAUTH2', 'relay@example.com', 'token')['mech'] == 'XOAUTH2'


def test_error_challenge_is_logged_and_answered_empty(client):
    challenge = '{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}'
    answer = client('XOAUTH2', 'relay@example.com', 'expired-token', challenge)
    assert answer['steps'][1] == (SASL_OK, b'')
    assert 'the server refused the token: ' + challenge in answer['log']
    assert 'expired-token' not in answer['log']


@pytest.mark.parametrize('user, token, message', [
    ('relay@example.com', '', 'no token for this server (is mailstack-oauth2-refresh running?)'),
    ('relay@example.com', 'tok\x01en', 'the user name or token holds a control character'),
    ('re\x01lay@example.com', 'token', 'the user name or token holds a control character'),
])
def test_refuses_what_it_cannot_send(client, user, token, message):
    answer = client('XOAUTH2', user, token)
    assert answer['steps'] == [(SASL_BADPARAM, b'')]
    assert message in answer['log']
