"""The recipient cap per message on 587 and 465 (postfix_submission_recipient_limit).

default-debian12 has the cap at 3 (molecule.yml) and gets the SMTP tests:
alice, logged in, sends with swaks inside the container, one message to the
cap and one to the cap + 1. The recipients are alice@<myhostname>, delivered
to /var/mail/alice, and addresses at example.net, which the scenario keeps in
the queue (defer_transports: smtp): delivery is checked in both places, not
only in the replies. Port 25 has no cap of its own. default-debian13 keeps
the role's default (100): its send limit test sends 11 recipients in one
message on 587. On both hosts the cap is in master.cf for 587 and 465 only.
"""

import json
import re
import uuid

import pytest

from helpers.molecule import container, wait_until
from helpers.smtp import rcpt_replies, smtp_dialog, swaks

HOST = 'default-debian12'
# postfix_submission_recipient_limit of each host: molecule.yml's, and the role's default.
CAPS = {'default-debian12': 3, 'default-debian13': 100}
CAP = CAPS[HOST]
PASSWORD = 'alice-test-password'
OUTSIDE_DOMAIN = 'example.net'
# (port, swaks TLS option) of the submission services.
SUBMISSION = [(587, '-tls'), (465, '--tls-on-connect')]
# A reply line of a swaks transcript: '<- ' or '<~ ' (TLS), '<**' or '<~*' for a reply it did not expect.
REPLY = re.compile(r'^<\S*\s+(\d{3})[ -](.*)$')


@pytest.fixture(scope='module')
def box():
    return container(HOST)


@pytest.fixture(scope='module')
def myhostname(box):
    return box.check_output('postconf -h myhostname')


def _send(box, port, tls, sender, recipients, token):
    """alice logs in on `port` and sends one message (subject and body `token`) to `recipients` with swaks.

    Returns ({recipient: (code, text) of its RCPT}, (code, text) of the DATA's end or None, the transcript).
    """
    transcript = swaks(box, '-s', '127.0.0.1', '-p', str(port), tls, '-a', 'PLAIN', '-au', 'alice', '-ap', PASSWORD,
                       '-f', sender, '-t', ','.join(recipients), '--header', 'Subject: ' + token, '--body', token)
    lines = transcript.splitlines()
    replies, data = {}, None
    for index, line in enumerate(lines[:-1]):
        reply = REPLY.match(lines[index + 1])
        for recipient in recipients:
            if line.endswith('RCPT TO:<%s>' % recipient) and reply:
                replies[recipient] = (int(reply.group(1)), reply.group(2))
        if reply and 'queued as' in reply.group(2):
            data = (int(reply.group(1)), reply.group(2))
    assert '235 2.7.0 Authentication successful' in transcript, transcript
    return replies, data, transcript


def _queued(box):
    """Every recipient in the queue (the scenario defers mail for other domains)."""
    recipients = set()
    for line in box.check_output('postqueue -j').splitlines():
        recipients.update(r['address'] for r in json.loads(line)['recipients'])
    return recipients


def _wait_delivered(box, token):
    wait_until('%s in /var/mail/alice (value: grep -q exit status)' % token,
               lambda: box.run('grep -q %s /var/mail/alice' % token).rc, 60, until=lambda rc: rc == 0,
               diagnose=lambda: box.run('postqueue -p').stdout)


def _message(myhostname, port, count):
    """A token, and `count` recipients: alice here first, then addresses at example.net named after the token."""
    token = 'cap-%d-%s' % (port, uuid.uuid4().hex[:12])
    outside = ['%s-%d@%s' % (token, n, OUTSIDE_DOMAIN) for n in range(1, count)]
    return token, ['alice@' + myhostname] + outside


@pytest.mark.parametrize('name', sorted(CAPS))
def test_the_cap_is_on_587_and_465_only(name):
    host = container(name)
    overrides = sorted(line for line in host.check_output('postconf -P').splitlines()
                       if '/smtpd_recipient_limit = ' in line)
    assert overrides == ['submission/inet/smtpd_recipient_limit = %d' % CAPS[name],
                         'submissions/inet/smtpd_recipient_limit = %d' % CAPS[name]]
    # Port 25 (and every other service) keeps Postfix's default.
    assert host.check_output('postconf -h smtpd_recipient_limit') == '1000'


@pytest.mark.parametrize('port, tls', SUBMISSION, ids=['587', '465'])
def test_a_message_to_cap_recipients_is_delivered(box, myhostname, port, tls):
    token, recipients = _message(myhostname, port, CAP)
    replies, data, transcript = _send(box, port, tls, 'alice@' + myhostname, recipients, token)
    assert [replies.get(r, (None,))[0] for r in recipients] == [250] * CAP, transcript
    assert data is not None and data[0] == 250, transcript
    _wait_delivered(box, token)
    assert set(recipients[1:]) <= _queued(box)


@pytest.mark.parametrize('port, tls', SUBMISSION, ids=['587', '465'])
def test_the_recipient_after_the_cap_gets_452_and_the_others_the_message(box, myhostname, port, tls):
    token, recipients = _message(myhostname, port, CAP + 1)
    replies, data, transcript = _send(box, port, tls, 'alice@' + myhostname, recipients, token)
    assert [replies.get(r, (None,))[0] for r in recipients[:CAP]] == [250] * CAP, transcript
    code, text = replies.get(recipients[CAP], (None, ''))
    assert code == 452 and '4.5.3' in text and 'too many recipients' in text, transcript
    # The message still goes to the recipients accepted before the cap, and only to them.
    assert data is not None and data[0] == 250, transcript
    _wait_delivered(box, token)
    queued = _queued(box)
    assert set(recipients[1:CAP]) <= queued and recipients[CAP] not in queued


def test_port_25_has_no_cap_of_its_own(box, myhostname):
    # cap + 1 local recipients from 127.0.0.1 (mynetworks), no message sent (RSET).
    local = ['alice@' + myhostname, 'alice@localhost', 'postmaster@' + myhostname, 'root@' + myhostname]
    assert len(local) == CAP + 1
    steps = ['@EHLO', 'MAIL FROM:<alice@%s>' % myhostname] + ['RCPT TO:<%s>' % r for r in local] + ['RSET', 'QUIT']
    result = smtp_dialog(box, {'server': '127.0.0.1', 'port': 25, 'steps': steps})
    assert [code for code, _text in rcpt_replies(result)] == [250] * (CAP + 1), result
