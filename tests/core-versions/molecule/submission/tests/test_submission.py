"""Verify the submission server that this ansible-core deployed, with Python's smtplib.

The tests run inside the controller container, which is also the managed
host. run.sh names the container after the server, so MYHOSTNAME resolves
to the container's own address: outside the server's mynetworks (TEST-NET-1
only), so these connections are those of any outside client, and the TLS
checks include the host name.
"""

import os
import smtplib
import ssl
import sys

import pytest

sys.path.insert(0, os.path.join(os.environ['MOLECULE_PROJECT_DIRECTORY'], 'tests'))
from helpers.molecule import assert_check_diff_reports_no_change  # noqa: E402

MYHOSTNAME = 'core-host.mailstack.test'
CERTIFICATE = '/etc/postfix/tls/smtpd-selfsigned.crt'
SENDER = 'alice@mailstack.test'
OUTSIDE_RECIPIENT = 'someone@example.net'
MESSAGE = 'Subject: core-versions test\r\n\r\nrelayed after SMTP AUTH\r\n'


def _tls_context():
    """Trust exactly the role's self-signed certificate, and check the host name in it."""
    context = ssl.create_default_context(cafile=CERTIFICATE)
    context.check_hostname = True
    return context


def _smtp(port):
    return smtplib.SMTP(MYHOSTNAME, port, local_hostname='client.example.net', timeout=30)


def _submission():
    client = _smtp(587)
    client.starttls(context=_tls_context())
    return client


def test_postfix_runs_and_listens(host):
    assert host.service('postfix').is_running
    assert host.service('postfix').is_enabled
    for port in (25, 465, 587):
        assert host.socket('tcp://0.0.0.0:%d' % port).is_listening


def test_sasldb_holds_exactly_the_listed_users(host):
    users = host.check_output('sasldblistusers2 -f /var/spool/postfix/etc/sasldb2')
    assert sorted(line.split(':')[0] for line in users.splitlines()) == ['alice@mailstack.test', 'bob@mailstack.test']


def test_no_auth_offered_before_starttls():
    with _smtp(587) as client:
        client.ehlo()
        assert client.has_extn('starttls')
        assert not client.has_extn('auth')


def test_auth_plain_then_relay_is_accepted():
    with _submission() as client:
        client.login('alice', 'alice-core-password')
        refused = client.sendmail(SENDER, [OUTSIDE_RECIPIENT], MESSAGE)
        assert refused == {}


def test_wrong_password_is_refused():
    with _submission() as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as failure:
            client.login('alice', 'not-the-password')
        assert failure.value.smtp_code == 535


def test_submissions_port_465_authenticates():
    with smtplib.SMTP_SSL(MYHOSTNAME, 465, local_hostname='client.example.net', timeout=30,
                          context=_tls_context()) as client:
        client.login('bob', 'bob-core-password')


def test_relay_without_auth_is_refused():
    with _smtp(25) as client:
        client.ehlo()
        client.mail(SENDER)
        code, reply = client.rcpt(OUTSIDE_RECIPIENT)
        assert code == 554, reply
        assert b'Relay access denied' in reply


def test_check_mode_after_converge_predicts_no_change():
    assert_check_diff_reports_no_change()
