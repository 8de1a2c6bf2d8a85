"""Client privacy on 587 and 465 (postfix_submission_hide_client_session, on by default).

Each host is the outside client of the other: swaks in one container logs in
as alice on the other's 587 (STARTTLS) and 465 (implicit TLS) and sends one
message to dave there (prepare.yml's user), with a HELO name of its own;
then a message without AUTH on port 25. The messages are read in the
receiver's /var/mail/dave.
On both Postfix versions a submitted message arrives with a Received header
that keeps the receiver's "by" part, and no header names the client's
address, its host or HELO name, its TLS session or the login; the receiver's
journal still has the client's address and login. The message on port 25
keeps the full header. default-debian12 (Postfix 3.7) hides the client with
a cleanup service of the submission services, whose header_checks rewrite
the header; default-debian13 (Postfix 3.10) with smtpd_hide_client_session.

The sender and the recipient are not the login (alice): the login must be
in no header at all. The submitted messages come from sales@mailstack.test,
an alias of alice's in the sender login map; the one on port 25 from an
outside address. Each message sets its own Message-Id (swaks would put
the client's host name there).
"""

import email
import re
import uuid

import pytest

from helpers.molecule import container, wait_until
from helpers.smtp import swaks

HOSTS = ['default-debian12', 'default-debian13']
LOGIN = 'alice'
PASSWORD = 'alice-test-password'
# An address of alice's that does not hold the login (molecule.yml).
ALIAS = 'sales@mailstack.test'
# prepare.yml's user, who is no login.
RECIPIENT = 'dave'
MAILBOX = '/var/mail/' + RECIPIENT
# (port, swaks TLS option, AUTH): the submission services and port 25.
PORTS = {587: ('-tls', True), 465: ('--tls-on-connect', True), 25: ('-tls', False)}
TABLE = '/etc/postfix/submission_header_checks'
QUEUED = re.compile(r'250 2\.0\.0 Ok: queued as ([0-9A-Za-z]+)')


def _other(name):
    return HOSTS[1 - HOSTS.index(name)]


def _version(box):
    return tuple(int(part) for part in re.findall(r'\d+', box.check_output('postconf -h mail_version'))[:2])


def _message(box, token):
    """The headers of the message in the recipient's mailbox that holds `token`, parsed, or None."""
    for part in re.split(r'^From ', box.run('cat %s' % MAILBOX).stdout, flags=re.M):
        if token in part:
            # The rest of the mbox From_ line, then the headers.
            return email.message_from_string(part.split('\n', 1)[1].split('\n\n', 1)[0] + '\n\n')
    return None


def _send(receiver, port):
    """Send one message from the other container to `receiver` on `port`; what the receiver and the client know of it."""
    box, client = container(receiver), container(_other(receiver))
    myhostname = box.check_output('postconf -h myhostname')
    token = 'privacy-%d-%s' % (port, uuid.uuid4().hex[:12])
    helo = token + '.client.test'
    tls, auth = PORTS[port]
    sender = ALIAS if auth else token + '@example.net'
    args = ['-s', receiver, '-p', str(port), tls, '--helo', helo, '-f', sender,
            '-t', RECIPIENT + '@' + myhostname, '--header', 'Subject: ' + token,
            '--header', 'Message-Id: <%s@example.net>' % token, '--body', token]
    if auth:
        args += ['-a', 'PLAIN', '-au', LOGIN, '-ap', PASSWORD]
    transcript = swaks(client, *args)
    queued = QUEUED.search(transcript)
    assert queued, transcript
    headers = wait_until('%s in %s on %s (value: its headers)' % (token, MAILBOX, receiver),
                         lambda: _message(box, token), 60, diagnose=lambda: box.run('postqueue -p').stdout)
    return {'box': box, 'client': client, 'myhostname': myhostname, 'helo': helo, 'queue_id': queued.group(1),
            'headers': headers, 'client_addresses': client.check_output('hostname -I').split(),
            'client_hostname': client.check_output('hostname')}


@pytest.fixture(scope='module')
def sent():
    """{(receiver, port): what _send returns}, one message each, sent once for the module."""
    return {(receiver, port): _send(receiver, port) for receiver in HOSTS for port in PORTS}


def _all_headers(headers):
    return '\n'.join('%s: %s' % item for item in headers.items())


@pytest.mark.parametrize('receiver', HOSTS)
def test_the_submission_services_hide_the_client_by_the_version_of_postfix(receiver):
    box = container(receiver)
    overrides = box.check_output('postconf -P').splitlines()
    table = box.file(TABLE)
    if _version(box) >= (3, 10):
        expected = ['%s/inet/smtpd_hide_client_session = yes' % s for s in ('submission', 'submissions')]
        assert not table.exists
        assert not [line for line in overrides if 'cleanup_service_name' in line or 'submission-cleanup' in line]
    else:
        expected = ['%s/inet/cleanup_service_name = submission-cleanup' % s for s in ('submission', 'submissions')]
        expected.append('submission-cleanup/unix/header_checks = regexp:%s' % TABLE)
        assert (table.user, table.group, table.mode) == ('root', 'root', 0o644)
        assert 'REPLACE Received: ${1}' in table.content_string
    expected += ['%s/inet/smtpd_sasl_authenticated_header = no' % s for s in ('submission', 'submissions')]
    assert set(expected) <= set(overrides), overrides
    # Port 25 keeps what main.cf says.
    assert not [line for line in overrides if line.startswith('smtp/inet/')]


@pytest.mark.parametrize('port', [587, 465])
@pytest.mark.parametrize('receiver', HOSTS)
def test_a_submitted_message_names_neither_the_client_nor_the_login(sent, receiver, port):
    message = sent[(receiver, port)]
    headers, box = message['headers'], message['box']
    received = headers.get_all('Received')
    # One Received header, the receiver's own: local delivery adds none.
    assert received and len(received) == 1, _all_headers(headers)
    by = 'by %s (Postfix) ' % message['myhostname']
    assert received[0].startswith(by) and ' id %s' % message['queue_id'] in received[0], received
    if _version(box) < (3, 10):
        assert received[0].startswith(by + 'with ESMTPSA id '), received
    text = _all_headers(headers)
    for secret in message['client_addresses'] + [message['helo'], message['client_hostname'], LOGIN]:
        assert secret not in text, (secret, text)
    for word in ('Authenticated sender', 'using TLS', 'unknown', 'from '):
        assert word not in received[0], (word, received)


@pytest.mark.parametrize('receiver', HOSTS)
def test_a_message_on_port_25_keeps_the_full_header(sent, receiver):
    message = sent[(receiver, 25)]
    received = message['headers'].get_all('Received')
    assert len(received) == 1, received
    full = re.match(r'from (\S+) \(unknown \[([^]]+)\]\)', received[0])
    assert full and full.group(1) == message['helo'] and full.group(2) in message['client_addresses'], received
    assert 'by %s (Postfix) with ESMTPS id %s' % (message['myhostname'], message['queue_id']) in received[0], received


@pytest.mark.parametrize('port', [587, 465])
@pytest.mark.parametrize('receiver', HOSTS)
def test_the_journal_keeps_the_client_address_and_login(sent, receiver, port):
    message = sent[(receiver, port)]
    box, queue_id = message['box'], message['queue_id']
    service = 'submission' if port == 587 else 'submissions'

    def logged():
        lines = box.run('journalctl --no-pager -o cat -t postfix/%s/smtpd' % service).stdout.splitlines()
        return [line for line in lines if line.startswith('%s: client=' % queue_id)]

    lines = wait_until('the smtpd line of %s in the journal of %s (value: the lines)' % (queue_id, receiver), logged, 30)
    address = re.search(r'client=unknown\[([^]]+)\]', lines[0])
    assert address and address.group(1) in message['client_addresses'], lines
    assert 'sasl_username=%s' % LOGIN in lines[0], lines
