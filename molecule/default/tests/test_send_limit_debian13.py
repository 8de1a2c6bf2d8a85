"""The send limit (send_limit role) with Debian 13's policyd-rate-limit 1.2.0, on default-debian13.

The security scenario tests it on Debian 12 (1.0.1), with the window reset;
here the same configuration on the newer package: 10 recipients per hour for
bob@other.test (no other test sends as bob), alice unaffected, and a stopped
service defers. Real SMTP sessions on 587 inside the container (smtp-dialog).
The metrics role counts bob's refusals: the 11th recipient of his message (a
queue ID in the reject line) and two more in a new message, refused before
it has a queue ID (NOQUEUE: the login comes from the INFO line that
postfix_submission_log_sasl_login adds).
"""

import pytest

from helpers.metrics import parse_exposition, series
from helpers.molecule import container, wait_until
from helpers.smtp import auth_plain, rcpt_replies, smtp_dialog

HOST = 'default-debian13'
LIMIT = 10
PASSWORDS = {'alice': 'alice-test-password', 'bob@other.test': 'bob-test-password'}


@pytest.fixture(scope='module')
def box():
    return container(HOST)


def _refusals(box):
    text = box.check_output("python3 -c 'import sys, urllib.request; "
                            "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' "
                            "http://127.0.0.1:9154/metrics")
    return {dict(key[1])['login']: value for key, value in parse_exposition(text).items()
            if key[0] == 'mailstack_send_limit_refusals_total'}


@pytest.fixture(scope='module', autouse=True)
def refusals_before(box):
    """The send-limit refusals per login before this module's tests."""
    return _refusals(box)


def _rcpts(box, login, sender, count):
    steps = ['@EHLO', '@STARTTLS', auth_plain(login, PASSWORDS[login]), 'MAIL FROM:<%s>' % sender]
    steps += ['RCPT TO:<r%d@example.net>' % n for n in range(count)] + ['RSET', 'QUIT']
    result = smtp_dialog(box, {'server': '127.0.0.1', 'port': 587, 'steps': steps})
    assert result['steps'][2]['code'] == 235 and result['steps'][3]['code'] == 250, result
    return rcpt_replies(result)


def test_package_is_debian_13s(box):
    assert box.package('policyd-rate-limit').version.startswith('1.2')
    assert box.service('policyd-rate-limit').is_running


def test_user_over_the_limit_gets_a_4xx_and_another_user_is_unaffected(box):
    replies = _rcpts(box, 'bob@other.test', 'bob@other.test', LIMIT + 1)
    assert [reply[0] for reply in replies[:LIMIT]] == [250] * LIMIT, replies
    assert replies[LIMIT][0] == 450 and 'Send limit reached' in replies[LIMIT][1], replies
    assert _rcpts(box, 'alice', 'alice@mailstack.test', 1)[0][0] == 250


def test_the_metrics_count_each_refusal_for_its_login(box, refusals_before):
    # bob is over his limit (the test above); before the restart of the policy service below, after which
    # Debian 13's 1.2.0 let him send again (seen; a send_limit finding, docs/send-limit.md).
    replies = _rcpts(box, 'bob@other.test', 'bob@other.test', 2)
    assert [reply[0] for reply in replies] == [450, 450], replies
    assert 'mailstack_login=bob@other.test' in box.check_output(
        'journalctl --no-pager -o cat -t postfix/submission/smtpd -g "NOQUEUE: info: RCPT .*mailstack_login=bob@other.test"')
    expected = {login: value + (3 if login == 'bob@other.test' else 0) for login, value in refusals_before.items()}
    wait_until('the send-limit refusals per login (value: the scrape)', lambda: _refusals(box), 30,
               until=lambda value: value == expected)


def test_policy_service_down_defers(box):
    box.check_output('systemctl stop policyd-rate-limit')
    try:
        code, text = _rcpts(box, 'alice', 'alice@mailstack.test', 1)[0]
        assert code == 451 and '4.3.5' in text, (code, text)
    finally:
        box.check_output('systemctl start policyd-rate-limit')
    wait_until('the policy socket /var/spool/postfix/ratelimit/policy (value: whether it is a socket)',
               lambda: box.file('/var/spool/postfix/ratelimit/policy').is_socket, 30)
    assert _rcpts(box, 'alice', 'alice@mailstack.test', 1)[0][0] == 250

