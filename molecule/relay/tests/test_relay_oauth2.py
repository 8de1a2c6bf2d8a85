"""OAuth2 (XOAUTH2) relaying, end to end, with no internet (docs/relay-oauth2.md).

oauth2-provider stands in for Microsoft 365 and Google (files/oauth2_provider.py):
a token endpoint over HTTPS with a test CA that counts its calls, and SMTP that
offers only XOAUTH2 and takes only a token that is valid now. relay-client logs
in there with three OAuth2 accounts of postfix_relay_credentials:

  m365     microsoft365, app-only client secret, keyed by [oauth2-provider]:465
           (the last relayhost of the failover list, and oauth@'s relayhost)
  google   google, a service account's signed assertion, for sender google@
  generic  generic, a refresh token, for sender oauth587@ through the smtp587
           transport (STARTTLS on 587)

The refresher (mailstack-oauth2-refresh) and the XOAUTH2 plugin are the real
ones the relay_oauth2 role installs. The tests run in file order, after
test_relay.py; each leaves the provider granting and the timer running.
"""

import json
import shlex
import subprocess
import time
import uuid

import pytest

from helpers.molecule import container, run_converge, wait_until

WAIT = 120
RECIPIENT = 'alice@relay-server'
MAILBOX = '/var/mail/alice'
TOKEN_TABLE = '/etc/postfix/oauth2_tokens'
REFRESHER = 'mailstack-oauth2-refresh'
TIMER = 'mailstack-oauth2-refresh.timer'
REFRESH_SERVICE = 'mailstack-oauth2-refresh.service'
# sender -> (the provider's user for its token, the listener it arrives on, the account)
ROUTES = {
    'oauth@relay-client.mailstack.test': ('oauth@mailstack.test', 'smtps', 'm365'),
    'google@relay-client.mailstack.test': ('google@mailstack.test', 'smtps', 'google'),
    'oauth587@relay-client.mailstack.test': ('oauth587@mailstack.test', 'smtp', 'generic'),
}
SECRETS = ('oauth2-m365-test-secret', 'oauth2-generic-test-secret', 'oauth2-generic-test-refresh-token')


@pytest.fixture(scope='module')
def client():
    return container('relay-client')


@pytest.fixture(scope='module')
def provider():
    return container('oauth2-provider')


def _control(provider, method, path, body=None):
    """oauth2-provider's control API (127.0.0.1:8080 in its container); its JSON answer."""
    code = ('import json, urllib.request; print(urllib.request.urlopen(urllib.request.Request('
            '"http://127.0.0.1:8080%s", data=%s, method="%s")).read().decode())'
            % (path, repr(json.dumps(body).encode()) if body is not None else ('b"{}"' if method == 'POST' else 'None'),
               method))
    return json.loads(provider.check_output('python3 -c %s' % shlex.quote(code)))


def _send(client, sender, token, recipient=RECIPIENT):
    message = 'Subject: oauth2 test %s\nFrom: %s\nTo: %s\n\nbody %s\n' % (token, sender, recipient, token)
    client.check_output('printf %%s %s | /usr/sbin/sendmail -i -f %s %s' % (shlex.quote(message), sender, recipient))


def _delivered(provider, token):
    """The provider's record of the message holding token, or None."""
    for message in _control(provider, 'GET', '/stats')['messages']:
        if token in (message.get('subject') or ''):
            return message
    return None


def _queue(client):
    return [json.loads(line) for line in client.check_output('postqueue -j').splitlines() if line.strip()]


def _deferred(client):
    entries = [entry for entry in _queue(client) if entry['queue_name'] == 'deferred']
    return entries if entries and entries[0]['recipients'][0].get('delay_reason') else None


def _token_calls(provider):
    return sum(sum(outcomes.values()) for outcomes in _control(provider, 'GET', '/stats')['token_requests'].values())


def _journal(host, since=None):
    return host.check_output('journalctl --no-pager -o cat%s' % (" --since '%s'" % since if since else ''))


def _now(host):
    return host.check_output("date '+%Y-%m-%d %H:%M:%S'")


def _tokens(client):
    """The tokens the client holds now, from its table (they must appear nowhere else)."""
    table = '%s:%s' % (client.check_output('postconf -h default_database_type'), TOKEN_TABLE)
    tokens = []
    for key in ('[oauth2-provider]:465', 'google@relay-client.mailstack.test', 'oauth587@relay-client.mailstack.test'):
        value = client.check_output('postmap -q %s %s' % (shlex.quote(key), table))
        tokens.append(value.split(':', 1)[1])
    assert all(tokens), 'an account has no token'
    return tokens


def _grant_again(client, provider):
    """The provider granting tokens of an hour, the client holding fresh ones, its timer running."""
    _control(provider, 'POST', '/restore')
    _control(provider, 'POST', '/expires_in', {'seconds': 3600})
    client.check_output('%s --force' % REFRESHER)
    client.check_output('systemctl start %s' % TIMER)


@pytest.fixture(autouse=True)
def _granting(client, provider):
    """Every test starts and ends with the provider granting and fresh tokens (a test changes both)."""
    _grant_again(client, provider)
    yield
    _grant_again(client, provider)


# --- configuration ------------------------------------------------------------

def test_the_plugin_the_refresher_and_the_secrets_are_in_place(client):
    plugins = client.check_output('ls /usr/lib/$(uname -m)-linux-gnu/sasl2/').split()
    assert [name for name in plugins if name.startswith('libmailstack-xoauth2-')], plugins
    assert client.check_output('systemctl is-enabled %s' % TIMER) == 'enabled'
    assert client.check_output('systemctl is-active %s' % TIMER) == 'active'
    for path, mode in (('/etc/mailstack/oauth2', 0o700), ('/var/lib/mailstack-oauth2', 0o700),
                       ('/etc/mailstack/oauth2/refresh.json', 0o600), (TOKEN_TABLE, 0o600)):
        info = client.file(path)
        assert (info.user, info.mode) == ('root', mode), path
    for index in client.check_output('ls %s.*' % TOKEN_TABLE).split():
        assert client.file(index).mode == 0o600, index
    status = client.check_output('%s --status' % REFRESHER)
    assert all(line.endswith('OK') for line in status.splitlines()), status
    assert len(status.splitlines()) == 3, status


# --- delivery -----------------------------------------------------------------

@pytest.mark.parametrize('sender', list(ROUTES))
def test_message_is_delivered_through_xoauth2(client, provider, sender):
    user, listener, dummy = ROUTES[sender]
    token = uuid.uuid4().hex
    _send(client, sender, token)
    message = wait_until('the message at oauth2-provider', lambda: _delivered(provider, token), WAIT)
    assert (message['user'], message['listener'], message['mail_from']) == (user, listener, sender), message
    wait_until('an empty client queue', lambda: _queue(client) == [], WAIT)


def test_failover_list_mixes_passwords_and_oauth2(client, provider):
    """relay-server and relay-backup (passwords) both down: the third relayhost, OAuth2, takes the mail."""
    servers = [container('relay-server'), container('relay-backup')]
    for server in servers:
        server.check_output('systemctl stop postfix')
    try:
        token = uuid.uuid4().hex
        _send(client, 'root@relay-client.mailstack.test', token)
        message = wait_until('the failed-over message at oauth2-provider', lambda: _delivered(provider, token), WAIT)
        assert message['user'] == 'oauth@mailstack.test', message
        journal = _journal(client)
        assert 'connect to relay-server[' in journal and 'connect to relay-backup[' in journal
    finally:
        for server in servers:
            server.check_output('systemctl start postfix')
    wait_until('an empty client queue', lambda: _queue(client) == [], WAIT)


# --- tokens: expiry, refusal ------------------------------------------------------

def test_message_after_the_token_expired_triggers_a_refresh_and_is_delivered(client, provider):
    client.check_output('systemctl stop %s' % TIMER)
    _control(provider, 'POST', '/expires_in', {'seconds': 4})
    client.check_output('%s --force' % REFRESHER)
    time.sleep(5)
    calls = _token_calls(provider)
    token = uuid.uuid4().hex
    _send(client, 'oauth@relay-client.mailstack.test', token)
    entries = wait_until('the message deferred with the expired token', lambda: _deferred(client), WAIT)
    reason = entries[0]['recipients'][0]['delay_reason']
    assert 'SASL authentication failed' in reason and '535' in reason, reason
    assert _delivered(provider, token) is None

    # What the timer does every minute: the expired token is refreshed, the queue flushed.
    client.check_output('systemctl start %s' % REFRESH_SERVICE)
    wait_until('the message at oauth2-provider after the refresh', lambda: _delivered(provider, token), WAIT)
    assert _token_calls(provider) > calls
    wait_until('an empty client queue', lambda: _queue(client) == [], WAIT)


def test_revoked_grant_defers_and_delivers_once_restored(client, provider):
    """The token runs out and the grant is revoked: two runs of the timer's service, one journal line."""
    client.check_output('systemctl stop %s' % TIMER)
    _control(provider, 'POST', '/expires_in', {'seconds': 4})
    client.check_output('%s --force' % REFRESHER)
    since = _now(client)
    _control(provider, 'POST', '/revoke')
    time.sleep(5)
    client.check_output('systemctl start %s' % REFRESH_SERVICE)
    client.check_output('systemctl start %s' % REFRESH_SERVICE)
    token = uuid.uuid4().hex
    _send(client, 'oauth@relay-client.mailstack.test', token)
    entries = wait_until('the message deferred with the revoked grant', lambda: _deferred(client), WAIT)
    reason = entries[0]['recipients'][0]['delay_reason']
    assert reason.startswith('SASL authentication failed') or '4.7.' in reason, reason
    assert ' status=bounced ' not in _journal(client, since)

    # The journal says why, once per account, in words: two passes, one line each.
    refused = [line for line in _journal(client, since).splitlines() if 'm365: cannot get an access token' in line]
    assert len(refused) == 1, refused
    assert 'the grant was refused' in refused[0] and 'deferred and retried' in refused[0], refused[0]
    status = client.run('%s --status' % REFRESHER)
    assert status.rc == 1 and 'FAILING since' in status.stdout, status.stdout

    _control(provider, 'POST', '/restore')
    client.check_output('systemctl start %s' % REFRESH_SERVICE)
    wait_until('the message at oauth2-provider after the grant came back', lambda: _delivered(provider, token), WAIT)
    assert 'm365: ' in _journal(client, since) and 'obtained again' in _journal(client, since)
    wait_until('an empty client queue', lambda: _queue(client) == [], WAIT)


# --- secrets and input ----------------------------------------------------------------

def test_no_token_or_secret_in_the_journal_or_the_vvv_output(client, provider):
    recap, output = run_converge('--limit', 'relay-client', '-vvv')
    assert recap['relay-client']['failed'] == 0 and recap['relay-client']['changed'] == 0, output[-4000:]
    # A line from the middle of the service account's private key.
    key = provider.check_output('sed -n 5p /etc/oauth2-provider/service-account.key')
    secrets = list(SECRETS) + [key] + _tokens(client)
    for where, text in (('-vvv output', output), ('relay-client journal', _journal(client)),
                        ('oauth2-provider journal', _journal(provider))):
        leaked = [secret[:12] + '...' for secret in secrets if secret in text]
        assert not leaked, 'secrets in the %s: %s' % (where, leaked)


@pytest.mark.parametrize('oauth2, problem', [
    ({'provider': 'microsoft365', 'tenant': 't', 'client_id': 'c'},
     'postfix_relay_credentials entries for oauth@mailstack.test (no secret: oauth2.client_secret'),
    # Refused by argument_specs (choices), before the role's own check.
    ({'provider': 'yahoo', 'client_id': 'c', 'client_secret': 'x'},
     'value of provider must be one of: microsoft365, google, generic, got: yahoo found in postfix_relay_credentials'),
    ({'provider': 'generic', 'client_id': 'c', 'client_secret': 'x', 'token_url': 'http://oauth2-provider/token'},
     'postfix_relay_credentials entries for oauth@mailstack.test (oauth2.token_url "http://oauth2-provider/token" '
     'is not an https:// URL'),
], ids=['no secret', 'an unknown provider', 'a plain-http token endpoint'])
def test_bad_oauth2_input_is_refused_naming_the_variable_and_the_host_is_unchanged(client, oauth2, problem):
    watched = '/etc/postfix/main.cf /etc/mailstack/oauth2/refresh.json %s.*' % TOKEN_TABLE
    before = client.check_output('sha256sum %s' % watched)
    credentials = [{'relayhost': '[oauth2-provider]:465', 'username': 'oauth@mailstack.test', 'oauth2': oauth2}]
    recap, output = run_converge('--limit', 'relay-client', '-e', json.dumps({'postfix_relay_credentials': credentials}))
    assert recap['relay-client']['failed'] == 1 and recap['relay-client']['changed'] == 0, output[-3000:]
    flat = ' '.join(output.split())
    assert problem in flat, output[-3000:]
    assert 'postfix_relay_credentials' in flat[flat.index(problem) - 200:flat.index(problem) + len(problem) + 40]
    assert client.check_output('sha256sum %s' % watched) == before


# --- reboot -----------------------------------------------------------------------

def test_mail_flows_after_a_reboot_with_no_person(client, provider):
    """The client comes back after its token ran out: the timer's first run after boot gets a new one."""
    _control(provider, 'POST', '/expires_in', {'seconds': 5})
    client.check_output('%s --force' % REFRESHER)
    subprocess.run(['podman', 'restart', '--time', '5', 'relay-client'], check=True, capture_output=True)
    rebooted = container('relay-client')
    wait_until('systemd up after the restart', lambda: rebooted.run('systemctl is-system-running').stdout.strip()
               in ('running', 'degraded'), WAIT)
    token = uuid.uuid4().hex
    _send(rebooted, 'oauth@relay-client.mailstack.test', token)
    wait_until('the message at oauth2-provider after the reboot', lambda: _delivered(provider, token), WAIT)
    wait_until('an empty client queue', lambda: _queue(rebooted) == [], WAIT)
