"""The send limit (send_limit role) with Debian 13's policyd-rate-limit 1.2.0, on default-debian13.

The security scenario tests it on Debian 12 (1.0.1), with the window reset;
here the same configuration on the newer package: 10 recipients per hour for
bob@other.test (no other test sends as bob), alice unaffected, and a stopped
service defers. Real SMTP sessions on 587 inside the container (smtp-dialog).
"""

import pytest

from helpers.molecule import container, wait_until
from helpers.smtp import auth_plain, rcpt_replies, smtp_dialog

HOST = 'default-debian13'
LIMIT = 10
PASSWORDS = {'alice': 'alice-test-password', 'bob@other.test': 'bob-test-password'}


@pytest.fixture(scope='module')
def box():
    return container(HOST)


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
