"""The send limit (send_limit role) with Debian 13's policyd-rate-limit 1.2.0, on default-debian13.

The security scenario tests it on Debian 12 (1.0.1), with the window reset;
here the same configuration on the newer package: 10 recipients per hour for
bob@other.test (no other test sends as bob), alice unaffected, and a stopped
service defers. Real SMTP sessions on 587 inside the container (smtp-dialog).
"""

import base64
import json
import shlex
import time

import pytest
import testinfra

HOST = 'default-debian13'
LIMIT = 10
PASSWORDS = {'alice': 'alice-test-password', 'bob@other.test': 'bob-test-password'}


@pytest.fixture(scope='module')
def box():
    return testinfra.get_host('podman://' + HOST)


def _rcpts(box, login, sender, count):
    auth = base64.b64encode(('\0%s\0%s' % (login, PASSWORDS[login])).encode()).decode()
    steps = ['@EHLO', '@STARTTLS', 'AUTH PLAIN ' + auth, 'MAIL FROM:<%s>' % sender]
    steps += ['RCPT TO:<r%d@example.net>' % n for n in range(count)] + ['RSET', 'QUIT']
    program = {'server': '127.0.0.1', 'port': 587, 'steps': steps}
    result = json.loads(box.check_output('python3 /usr/local/bin/smtp-dialog %s' % shlex.quote(json.dumps(program))))
    assert result['steps'][2]['code'] == 235 and result['steps'][3]['code'] == 250, result
    return [(entry['code'], entry['text']) for entry in result['steps'] if entry['step'].startswith('RCPT')]


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
    for _attempt in range(30):
        if box.file('/var/spool/postfix/ratelimit/policy').is_socket:
            break
        time.sleep(1)
    assert _rcpts(box, 'alice', 'alice@mailstack.test', 1)[0][0] == 250
