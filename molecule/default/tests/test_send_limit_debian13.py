"""The send limit (send_limit role) with Debian 13's policyd-rate-limit 1.2.0, on default-debian13.

The security scenario tests it on Debian 12 (1.0.1), asked at RCPT. Here
1.2.0 is asked at DATA (postfix_submission_data_policy_services, count_mode
1): asked at RCPT, it forgets the recipients it accepted of a message when it
refuses one of its recipients, so a login could send past its limit with
every message (found 2026-12-04). At DATA a message counts whole, once.

10 recipients per hour for bob@other.test (no other test sends as bob):
a message of 11 is refused whole; one of 10 passes; then even one more
recipient is refused, also after a refused message (the hole stays shut);
alice is unaffected, and a stopped service defers. Real SMTP sessions on
587 inside the container (smtp-dialog). The metrics role counts each
refusal for bob's login (a DATA refusal has a queue ID; Postfix 3.10 also
ends the record with the login).
"""

import pytest

from helpers.metrics import by_label
from helpers.molecule import container, wait_until
from helpers.smtp import auth_plain, smtp_dialog

HOST = 'default-debian13'
LIMIT = 10
PASSWORDS = {'alice': 'alice-test-password', 'bob@other.test': 'bob-test-password'}
REFUSAL = (450, 'Send limit reached')


@pytest.fixture(scope='module')
def box():
    return container(HOST)


def _refusals(box):
    return by_label(box, 'mailstack_send_limit_refusals_total', 'login')


@pytest.fixture(scope='module', autouse=True)
def refusals_before(box):
    """The send-limit refusals per login before this module's tests."""
    return _refusals(box)


def _send(box, login, sender, count):
    """One message from `login` to `count` recipients at example.net: ([RCPT replies], DATA reply), as (code, text)."""
    steps = ['@EHLO', '@STARTTLS', auth_plain(login, PASSWORDS[login]), 'MAIL FROM:<%s>' % sender]
    steps += ['RCPT TO:<r%d@example.net>' % n for n in range(count)]
    steps += ['@DATA Subject: send limit\n\ncount me\n', 'QUIT']
    result = smtp_dialog(box, {'server': '127.0.0.1', 'port': 587, 'steps': steps})
    assert result['steps'][2]['code'] == 235 and result['steps'][3]['code'] == 250, result
    replies = [(entry['code'], entry['text']) for entry in result['steps']]
    return replies[4:4 + count], replies[4 + count]


def _refused(reply):
    return reply[0] == REFUSAL[0] and REFUSAL[1] in reply[1]


def test_package_is_debian_13s_and_asked_at_data(box):
    assert box.package('policyd-rate-limit').version.startswith('1.2')
    assert box.service('policyd-rate-limit').is_running
    assert 'count_mode: 1\n' in box.file('/etc/policyd-rate-limit.yaml').content_string
    for service in ('submission', 'submissions'):
        assert box.check_output('postconf -Ph %s/inet/smtpd_data_restrictions' % service) == \
            'check_policy_service unix:ratelimit/policy'
        assert 'ratelimit' not in box.run('postconf -Ph %s/inet/smtpd_recipient_restrictions' % service).stdout


def test_a_message_over_the_limit_is_refused_whole_and_the_limit_holds_after_it(box):
    rcpts, data = _send(box, 'bob@other.test', 'bob@other.test', LIMIT + 1)
    assert [reply[0] for reply in rcpts] == [250] * (LIMIT + 1) and _refused(data), (rcpts, data)
    rcpts, data = _send(box, 'bob@other.test', 'bob@other.test', LIMIT)
    assert data[0] == 250 and 'queued as' in data[1], data
    # Over the limit now: one more recipient, also after another refused message, is refused.
    for count in (1, 3, 1):
        assert _refused(_send(box, 'bob@other.test', 'bob@other.test', count)[1])
    assert _send(box, 'alice', 'alice@mailstack.test', 1)[1][0] == 250


def test_the_metrics_count_each_refusal_for_its_login(box, refusals_before):
    # The test above: the message of 11 and the three after the 10.
    assert box.check_output('journalctl --no-pager -o cat -t postfix/submission/smtpd '
                            '-g "reject: DATA from .*Send limit reached.* sasl_username=bob@other.test$"')
    assert 'check_sasl_access' not in box.check_output('postconf -P')  # 3.10: no INFO line
    expected = {login: value + (4 if login == 'bob@other.test' else 0) for login, value in refusals_before.items()}
    wait_until('the send-limit refusals per login (value: the scrape)', lambda: _refusals(box), 30,
               until=lambda value: value == expected)


def test_policy_service_down_defers(box):
    box.check_output('systemctl stop policyd-rate-limit')
    try:
        code, text = _send(box, 'alice', 'alice@mailstack.test', 1)[1]
        assert code == 451 and '4.3.5' in text, (code, text)
    finally:
        box.check_output('systemctl start policyd-rate-limit')
    wait_until('the policy socket /var/spool/postfix/ratelimit/policy (value: whether it is a socket)',
               lambda: box.file('/var/spool/postfix/ratelimit/policy').is_socket, 30)
    assert _send(box, 'alice', 'alice@mailstack.test', 1)[1][0] == 250
