"""The metrics role's daily summary (metrics_summary_*), mailed for real on both hosts.

molecule.yml turns the metrics role on with the summary for
alice@<myhostname>, which Postfix's local agent delivers to /var/mail/alice.
Each host's test starts the summary's oneshot service as its timer does
(`systemctl start` returns once it has run) and waits for the message in the
mailbox: the exporter as the mailstack-metrics user, Postfix's sendmail and
the setgid postdrop writing the maildrop queue under the unit's
ProtectSystem=strict, pickup, local delivery. The message must be the
summary (its headers, the sections of its body) and hold no password of the
scenario. A second run covers the period from the first one's end (the
snapshot the first saved). The timer is checked as systemd has it: enabled,
active, the calendar of molecule.yml (the role's default), persistent.
"""

import email
import email.policy
import json
import re

import pytest

from helpers.molecule import container, wait_until

HOSTS = ['default-debian12', 'default-debian13']
SERVICE = 'mailstack-metrics-summary.service'
TIMER = 'mailstack-metrics-summary.timer'
CONFIG = '/etc/mailstack/metrics/exporter.json'
SNAPSHOT = '/var/lib/mailstack-metrics/summary-snapshot.json'
# metrics_summary_recipient in molecule.yml is alice@<myhostname>: a local mailbox.
LOCAL_PART = 'alice'
MAILBOX = '/var/mail/alice'
# metrics_summary_on_calendar: the role's default, which molecule.yml keeps.
CALENDAR = '*-*-* 06:00:00'
# Every password of molecule.yml's sasl_users_list.
PASSWORDS = ['alice-test-password', 'alice-phone-test-password', 'alice-laptop-test-password', 'bob-test-password']
WHEN = r'\d{4}-\d\d-\d\d \d\d:\d\d UTC'
SUBJECT = re.compile(r'Mail summary for (?P<host>\S+): (?P<since>the beginning|%s) to (?P<until>%s)\Z' % (WHEN, WHEN))
# The lines every summary has, whatever was counted; the queue line says postqueue -j ran as the service's user.
SECTIONS = [r'(Since the counters began, to %s|Counted from %s to %s)\.' % (WHEN, WHEN, WHEN), r'Failed SMTP AUTH: \d+',
            r'Successful SMTP AUTH: \d+', r'Messages from logged-in users: \d+ to \d+ recipients',
            r'Queue now: active \d+, deferred \d+, hold \d+']


@pytest.fixture(scope='module', params=HOSTS)
def box(request):
    return container(request.param)


def _summaries(box, myhostname):
    """[(raw bytes, parsed message)] of the summaries in the mailbox, oldest first.

    local(8) writes an mbox in which a body line beginning with "From " is
    quoted (">From "): a line beginning with "From " starts a message.
    """
    found = []
    if not box.file(MAILBOX).exists:
        return found
    for part in re.split(rb'(?m)^From ', box.file(MAILBOX).content)[1:]:
        raw = part.split(b'\n', 1)[1]  # the rest of the From_ line
        message = email.message_from_bytes(raw, policy=email.policy.default)
        if str(message['Subject'] or '').startswith('Mail summary for %s: ' % myhostname):
            found.append((raw, message))
    return found


def _complete(summaries, count):
    """Whether there are more than `count` summaries and the newest one is all there (local may be writing it)."""
    return len(summaries) > count and 'Messages from logged-in users: ' in summaries[-1][1].get_content()


def _run_summary(box, myhostname):
    """Start the service as the timer does, wait for its message; return (raw bytes, message, subject match)."""
    before = len(_summaries(box, myhostname))

    def journal():
        return box.run('journalctl -u %s -n 20 --no-pager; postqueue -p' % SERVICE).stdout

    run = box.run('systemctl start %s' % SERVICE)
    assert run.rc == 0, run.stderr + journal()
    assert box.check_output('systemctl show -p Result --value %s' % SERVICE) == 'success', journal()
    # pickup takes it at once when postdrop's wake-up (the public/pickup socket) reaches it, else at its next scan
    # of the maildrop (60 s).
    summaries = wait_until('summary %d in %s (value: the summaries there)' % (before + 1, MAILBOX),
                           lambda: _summaries(box, myhostname), 90, until=lambda found: _complete(found, before),
                           diagnose=journal)
    raw, message = summaries[-1]
    subject = SUBJECT.match(str(message['Subject']))
    assert subject, message['Subject']
    return raw, message, subject


def test_the_summary_is_mailed_to_its_recipient_and_the_next_one_goes_on_from_it(box):
    myhostname = box.check_output('postconf -h myhostname')
    assert box.file(CONFIG).exists, 'molecule.yml sets metrics_enabled: true'
    recipient = json.loads(box.file(CONFIG).content_string)['summary_recipient']
    assert recipient == '%s@%s' % (LOCAL_PART, myhostname), \
        'molecule.yml sets metrics_summary_recipient to alice@<myhostname>, delivered to ' + MAILBOX

    raw, message, subject = _run_summary(box, myhostname)
    sender = 'mailstack-metrics@' + myhostname
    assert (message['From'], message['To'], message['Auto-Submitted']) == (sender, recipient, 'auto-generated')
    assert message['Return-Path'] == '<%s>' % sender  # the envelope sender (sendmail -f): bounces go there too
    assert message['Message-ID'].endswith('@%s>' % myhostname) and message['Date']
    assert (message.get_content_type(), message.get_content_charset()) == ('text/plain', 'utf-8')
    assert subject.group('host') == myhostname
    body = message.get_content()
    for section in SECTIONS:
        assert re.search(r'(?m)^%s$' % section, body), (section, body)
    assert not [password for password in PASSWORDS if password.encode() in raw], body

    snapshot = box.file(SNAPSHOT)
    assert (snapshot.user, snapshot.group, snapshot.mode) == ('mailstack-metrics', 'mailstack-metrics', 0o600)

    # The next summary covers the period from the end of this one: the snapshot moved on.
    second = _run_summary(box, myhostname)[2]
    assert second.group('since') == subject.group('until'), (subject.group(0), second.group(0))


def test_the_timer_waits_for_its_calendar(box):
    assert box.check_output('systemctl is-enabled %s' % TIMER) == 'enabled'
    assert box.check_output('systemctl is-active %s' % TIMER) == 'active'
    assert 'OnCalendar=%s ;' % CALENDAR in box.check_output('systemctl show -p TimersCalendar --value %s' % TIMER)
    assert box.check_output('systemctl show -p Persistent --value %s' % TIMER) == 'yes'
    assert box.check_output('systemctl show -p NextElapseUSecRealtime --value %s' % TIMER) not in ('', 'n/a')
    assert box.check_output('systemctl show -p Unit --value %s' % TIMER) == SERVICE
