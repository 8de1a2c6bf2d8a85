"""End to end: the relay client sends through the submission servers with SMTP AUTH on port 465.

Everything runs with the real tools inside the containers: sendmail,
postmap, postqueue and the journal on the client; the mailbox, the queue and
the journal on the servers. The client's relayhost is the failover list
[relay-server]:465, [relay-backup]:465 with implicit TLS (smtp_tls_wrappermode)
and a login per relayhost. The tests run in file order (the failover test
stops relay-server and starts it again, the wrong-password test changes the
client and puts it back).
"""

import json
import shlex
import uuid

import pytest

from helpers.molecule import assert_check_diff_reports_no_change, container, run_converge, wait_until
from helpers.smtp import swaks as _swaks

RELAYHOST = '[relay-server]:465'
BACKUP_RELAYHOST = '[relay-backup]:465'
RELAY_USER = 'relay-client@mailstack.test'
RELAY_PASSWORD = 'relay-test-password'
# relay-backup has its own login for the client (credentials keyed per relayhost).
BACKUP_USER = 'relay-client-backup@mailstack.test'
BACKUP_PASSWORD = 'backup-test-password'
# The last relayhost of the failover list logs in with OAuth2 (test_relay_oauth2.py).
OAUTH2_RELAYHOST = '[oauth2-provider]:465'
CAFILE = '/etc/postfix/relay-servers-ca.crt'
# A sender with its own login (per-sender credentials).
BILLING_SENDER = 'billing@relay-client.mailstack.test'
BILLING_USER = 'billing@mailstack.test'
BILLING_PASSWORD = 'billing-test-password'
DEFAULT_SENDER = 'root@relay-client.mailstack.test'
RECIPIENT = 'alice@relay-server'
MAILBOX = '/var/mail/alice'
SASL_PASSWD = '/etc/postfix/sasl_passwd'
# Upper bound for a message to cross; the tests poll and stop at the first success.
WAIT = 120


@pytest.fixture(scope='module')
def server():
    return container('relay-server')


@pytest.fixture(scope='module')
def backup():
    return container('relay-backup')


@pytest.fixture(scope='module')
def client():
    return container('relay-client')


def _wait_for(what, probe):
    return wait_until(what, probe, WAIT)


def _send(client, token, sender=DEFAULT_SENDER):
    message = 'Subject: relay test %s\nFrom: %s\nTo: %s\n\nbody %s\n' % (token, sender, RECIPIENT, token)
    client.check_output('printf %%s %s | /usr/sbin/sendmail -i -f %s %s'
                        % (shlex.quote(message), sender, RECIPIENT))


def _mailbox_message(server, token):
    """The message in alice's mailbox holding token, or None."""
    mbox = server.run('cat %s' % MAILBOX).stdout
    for message in mbox.split('\nFrom '):
        if token in message:
            return message
    return None


def _mailbox_count(server, token):
    """How many messages in alice's mailbox hold token."""
    return sum(1 for message in server.run('cat %s' % MAILBOX).stdout.split('\nFrom ') if token in message)


def _queue(client):
    out = client.check_output('postqueue -j')
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _journal(host):
    return host.check_output('journalctl --no-pager -o cat')


def _smtpd_log(host, queue_id):
    """The smtpd line of the journal (with its syslog identifier) that received queue_id, or None."""
    for line in host.check_output('journalctl --no-pager -o short').splitlines():
        if ': %s: client=' % queue_id in line:
            return line
    return None


def _received_by(message, server):
    """The queue ID in the Received header that `server`'s submission service added, or None.

    The submission services hide the client (postfix_submission_hide_client_session):
    relay-server (Postfix 3.7) keeps "by ... with ESMTPSA id" (TLS and AUTH),
    relay-backup (3.10, smtpd_hide_client_session) writes "by ... id" alone. The
    journal line of the queue ID (_smtpd_log) says which service and login.
    """
    marks = ['by %s.mailstack.test (Postfix) with ESMTPSA id ' % server, 'by %s.mailstack.test (Postfix) id ' % server]
    for line in message.splitlines():
        if line.startswith('Received: ') and any(mark in line for mark in marks):
            return line.rsplit(' id ', 1)[1].split(';')[0].strip()
    return None


def _map(client):
    return '%s:%s' % (client.check_output('postconf -h default_database_type'), SASL_PASSWD)


def _provider(method, path):
    """Ask oauth2-provider's control API (127.0.0.1:8080 inside its container); its JSON answer."""
    code = ('import json, urllib.request; print(urllib.request.urlopen(urllib.request.Request('
            '"http://127.0.0.1:8080%s", data=%s, method="%s")).read().decode())'
            % (path, 'b"{}"' if method == 'POST' else 'None', method))
    return json.loads(container('oauth2-provider').check_output('python3 -c %s' % shlex.quote(code)))


# --- configuration ------------------------------------------------------------

def test_client_main_cf(client):
    settings = {
        'relayhost': '%s, %s, %s' % (RELAYHOST, BACKUP_RELAYHOST, OAUTH2_RELAYHOST),
        'smtp_tls_wrappermode': 'yes',
        'smtp_sasl_auth_enable': 'yes',
        # Passwords, then the OAuth2 tokens (test_relay_oauth2.py).
        'smtp_sasl_password_maps': '%s, %s' % (_map(client), _map(client).replace('sasl_passwd', 'oauth2_tokens')),
        # Password and OAuth2 relayhosts mixed: any mechanism, XOAUTH2 first where offered.
        'smtp_sasl_mechanism_filter': '',
        'smtp_reply_filter': 'regexp:/etc/postfix/smtp_reply_filter',
        'smtp_sender_dependent_authentication': 'yes',
        'sender_dependent_relayhost_maps': '%s:/etc/postfix/sender_relayhost' % client.check_output(
            'postconf -h default_database_type'),
        'smtp_sasl_security_options': 'noanonymous',
        'smtp_sasl_tls_security_options': 'noanonymous',
        'smtp_tls_security_level': 'verify',
        'smtp_tls_CAfile': CAFILE,
        'mydestination': '',
        'inet_interfaces': 'loopback-only',
    }
    for name, expected in settings.items():
        assert client.check_output('postconf -h %s' % name) == expected, name


def test_client_is_a_null_client(client):
    assert not client.socket('tcp://0.0.0.0:25').is_listening
    assert not client.socket('tcp://0.0.0.0:587').is_listening
    assert client.socket('tcp://127.0.0.1:25').is_listening


def test_credentials_table_is_keyed_exactly_like_relayhost_and_private(client):
    source = client.file(SASL_PASSWD)
    assert (source.user, source.group, source.mode) == ('root', 'root', 0o600)
    entries = [line for line in source.content_string.splitlines() if line and not line.startswith('#')]
    assert sorted(entries) == sorted(['%s %s:%s' % (RELAYHOST, RELAY_USER, RELAY_PASSWORD),
                                      '%s %s:%s' % (BACKUP_RELAYHOST, BACKUP_USER, BACKUP_PASSWORD),
                                      '%s %s:%s' % (BILLING_SENDER, BILLING_USER, BILLING_PASSWORD)])
    assert client.check_output('postmap -q %s %s' % (shlex.quote(RELAYHOST), _map(client))) == '%s:%s' % (RELAY_USER, RELAY_PASSWORD)
    assert client.check_output('postmap -q %s %s' % (shlex.quote(BACKUP_RELAYHOST), _map(client))) == \
        '%s:%s' % (BACKUP_USER, BACKUP_PASSWORD)
    assert client.check_output('postmap -q %s %s' % (BILLING_SENDER, _map(client))) == '%s:%s' % (BILLING_USER, BILLING_PASSWORD)
    for index in client.check_output('ls %s.*' % SASL_PASSWD).split():
        index_file = client.file(index)
        assert (index_file.user, index_file.mode) == ('root', 0o600), index


def test_client_has_its_sasl_mechanisms(client):
    assert client.package('libsasl2-modules').is_installed


@pytest.mark.parametrize('name', ['relay-server', 'relay-backup'])
def test_server_offers_implicit_tls_on_465_and_its_certificate_verifies(client, name):
    # No -starttls: TLS from the first byte (SMTPS), as smtp_tls_wrappermode speaks it.
    dialog = client.run('openssl s_client -brief -connect %s:465 -verify_return_error '
                        '-CAfile %s -verify_hostname %s </dev/null' % (name, CAFILE, name))
    assert 'Verification: OK' in dialog.stderr + dialog.stdout, dialog.stderr


@pytest.mark.parametrize('name, user, password', [('relay-server', 'relay-client', RELAY_PASSWORD),
                                                  ('relay-backup', 'relay-client-backup', BACKUP_PASSWORD)])
def test_server_takes_auth_on_465(name, user, password):
    # podman exec: through Ansible, the command line (with the password) would go to the journal.
    client = container('relay-client')
    dialog = _swaks(client, '-s', name, '-p', '465', '--tls-on-connect', '-a', 'PLAIN',
                    '-au', user, '-ap', password, '--quit-after', 'AUTH')
    assert '220 %s.mailstack.test ESMTP' % name in dialog and '235 2.7.0 Authentication successful' in dialog, dialog


# --- mail through the relay ----------------------------------------------------

@pytest.mark.parametrize('sender, login', [(DEFAULT_SENDER, RELAY_USER), (BILLING_SENDER, BILLING_USER)],
                         ids=['relayhost-login', 'per-sender-login'])
def test_message_is_delivered_through_the_first_relayhost_on_465_with_auth(client, server, sender, login):
    token = uuid.uuid4().hex
    _send(client, token, sender)
    message = _wait_for('the message in %s on relay-server' % MAILBOX, lambda: _mailbox_message(server, token))
    # ESMTPSA: the server received it over TLS (S) from an authenticated client (A). Its header keeps only that
    # "by" part (postfix_submission_hide_client_session): no client, no login.
    queue_id = _received_by(message, 'relay-server')
    assert queue_id, message
    assert 'Received: by relay-server.mailstack.test (Postfix) with ESMTPSA id %s' % queue_id in message, message
    headers = message.split('\n\n', 1)[0]
    assert 'Authenticated sender' not in headers and login not in headers, headers
    log = _wait_for('the smtpd line of %s in the server log' % queue_id, lambda: _smtpd_log(server, queue_id))
    # On the submissions service (465), logged in with the relayhost's own login.
    assert ' postfix/submissions/smtpd[' in log and 'sasl_username=%s' % login in log, log
    _wait_for('an empty client queue', lambda: _queue(client) == [])


def test_failover_to_the_second_relayhost_loses_nothing(client, server, backup):
    """relay-server stopped: the client delivers to relay-backup with relay-backup's login; relay-backup keeps
    the message until relay-server is back, then hands it on. No queue keeps anything."""
    server.check_output('systemctl stop postfix')
    try:
        token = uuid.uuid4().hex
        _send(client, token)
        _wait_for('an empty client queue (the message went to relay-backup)', lambda: _queue(client) == [])
        held = _wait_for('the message in relay-backup\'s queue', lambda: [
            entry for entry in _queue(backup) if entry['recipients'][0]['address'] == RECIPIENT])
        assert len(held) == 1, held
        queue_id = held[0]['queue_id']
        log = _wait_for('the smtpd line of %s in relay-backup\'s log' % queue_id, lambda: _smtpd_log(backup, queue_id))
        assert ' postfix/submissions/smtpd[' in log and 'sasl_username=%s' % BACKUP_USER in log, log
        assert [line for line in _journal(client).splitlines()
                if 'connect to relay-server[' in line and ':465: Connection refused' in line]
        assert _mailbox_message(server, token) is None
    finally:
        server.check_output('systemctl start postfix')
    server.check_output('postfix status')
    backup.check_output('postqueue -f')
    message = _wait_for('the failed-over message in %s' % MAILBOX, lambda: _mailbox_message(server, token))
    assert _received_by(message, 'relay-backup'), message
    assert _mailbox_count(server, token) == 1
    _wait_for('an empty queue on relay-backup', lambda: _queue(backup) == [])

    # With the first relayhost back, mail goes through it again.
    token = uuid.uuid4().hex
    _send(client, token)
    message = _wait_for('the next message in %s' % MAILBOX, lambda: _mailbox_message(server, token))
    queue_id = _received_by(message, 'relay-server')
    assert queue_id and not _received_by(message, 'relay-backup'), message
    log = _wait_for('the smtpd line of %s' % queue_id, lambda: _smtpd_log(server, queue_id))
    assert 'sasl_username=%s' % RELAY_USER in log, log
    for host in (client, backup, server):
        _wait_for('empty queues', lambda host=host: _queue(host) == [])


def test_wrong_password_defers_and_fixed_credentials_deliver(client, server):
    table = _map(client)
    # Break the credentials with the real tools, as an operator's mistake would.
    client.check_output('printf %%s %s > %s && postmap %s' % (
        shlex.quote('%s %s:wrong-password\n%s %s:wrong-password\n' % (RELAYHOST, RELAY_USER, BACKUP_RELAYHOST, BACKUP_USER)),
        SASL_PASSWD, table))
    # The OAuth2 relayhost after them (test_relay_oauth2.py) refuses too: its grant revoked, its tokens expired.
    _provider('POST', '/revoke')
    _provider('POST', '/expire')
    try:
        token = uuid.uuid4().hex
        _send(client, token)

        def deferred():
            entries = [entry for entry in _queue(client) if entry['queue_name'] == 'deferred']
            return entries if entries and entries[0]['recipients'][0].get('delay_reason') else None

        entries = _wait_for('the message in the deferred queue', deferred)
        assert len(entries) == 1
        reason = entries[0]['recipients'][0]['delay_reason']
        assert 'SASL authentication failed' in reason and '535' in reason, reason
        assert entries[0]['recipients'][0]['address'] == RECIPIENT
        assert _mailbox_message(server, token) is None
        assert 'authentication failed' in _journal(server)

        # The role puts the credentials back (and only on the client).
        recap, output = run_converge('--limit', 'relay-client')
        assert recap['relay-client']['changed'] >= 1 and recap['relay-client']['failed'] == 0, output[-4000:]
        assert RELAY_PASSWORD not in output and BILLING_PASSWORD not in output and BACKUP_PASSWORD not in output
        assert client.check_output('postmap -q %s %s' % (shlex.quote(RELAYHOST), table)) == \
            '%s:%s' % (RELAY_USER, RELAY_PASSWORD)
    finally:
        _provider('POST', '/restore')
        client.check_output('mailstack-oauth2-refresh --force')

    client.check_output('postqueue -f')
    message = _wait_for('the deferred message in %s after the fix' % MAILBOX, lambda: _mailbox_message(server, token))
    assert _received_by(message, 'relay-server'), message
    _wait_for('an empty client queue', lambda: _queue(client) == [])


@pytest.mark.parametrize('name', ['relay-client', 'relay-server', 'relay-backup'])
def test_password_is_in_no_journal(name):
    # Ansible logs module arguments to the target's journal unless no_log.
    journal = _journal(container(name))
    assert RELAY_PASSWORD not in journal and BILLING_PASSWORD not in journal and BACKUP_PASSWORD not in journal


def test_check_diff_after_converge_reports_no_change():
    assert_check_diff_reports_no_change()
