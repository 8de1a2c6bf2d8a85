"""The send limit (send_limit role) with Debian 13's policyd-rate-limit 1.2.0, on default-debian13.

The security scenario tests it on Debian 12 (1.0.1), with the window reset;
here the same configuration on the newer package: 10 recipients per hour for
bob@other.test (no other test sends as bob), alice unaffected, and a stopped
service defers. Real SMTP sessions on 587 inside the container (smtp-dialog).
The metrics role counts bob's refusals for his login: the 11th recipient of
his message (a queue ID in the reject record) and those of two more messages,
one refused from its first recipient (NOQUEUE: Postfix 3.10 ends that record
with the login).
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
    """The refusal above (a later recipient: the record has a queue ID) and those of two more messages, the
    second refused from its first recipient (NOQUEUE: Postfix 3.10 ends that record with the login)."""
    # Debian 13's policyd-rate-limit 1.2.0 forgets the recipients of a message in which it refused one
    # (seen: bob may send 10 again after the test above; a send_limit finding), so how many of the first
    # message's 10 are refused is not fixed here: each refusal seen in a reply must be counted.
    replies = _rcpts(box, 'bob@other.test', 'bob@other.test', LIMIT) + _rcpts(box, 'bob@other.test', 'bob@other.test', 2)
    refused = [reply for reply in replies if reply[0] == 450 and 'Send limit reached' in reply[1]]
    assert replies[LIMIT] in refused, replies
    assert box.check_output('journalctl --no-pager -o cat -t postfix/submission/smtpd '
                            '-g "^NOQUEUE: reject: RCPT .*Send limit reached.* sasl_username=bob@other.test$"')
    assert 'check_sasl_access' not in box.check_output('postconf -P')  # 3.10: no INFO line
    expected = {login: value + (1 + len(refused) if login == 'bob@other.test' else 0)
                for login, value in refusals_before.items()}
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

