"""The per-SASL-user send limit (send_limit role, policyd-rate-limit), on submission (587).

The scenario allows 5 recipients per 30 s per login, and alice and bob (whom
the other tests use) no limit (send_limit_per_login). carol and dave are used
by no other test. The dialogues run inside security-server against 127.0.0.1
(exempt from anvil's rates, not from the send limit) with real SMTP commands;
every RCPT the policy service accepts counts, even though no message is sent
(RSET). When the policy service is down, Postfix defers (451 4.3.5): never an
unlimited send. carol crosses her limit when the session begins (the
session fixture carol_over_the_limit, conftest.py), so her 30-s window runs
out while the other modules test instead of in a sleep here.
The metrics role counts carol's refusals for her login: the 6th recipient of
her message (the reject record has a queue ID) and a new message's first
recipient (NOQUEUE: on Postfix 3.7 the login comes from the INFO line the
postfix role adds before the policy service).
"""

import time

from helpers.molecule import wait_until
from security_helpers import SEND_LIMIT, SEND_LIMIT_WINDOW, send_limit_rcpts, send_limit_refusals

LIMIT = SEND_LIMIT
WINDOW = SEND_LIMIT_WINDOW
POLICY = 'unix:ratelimit/policy'
SOCKET = '/var/spool/postfix/ratelimit/policy'
_rcpts = send_limit_rcpts


def _wait_for_socket(server):
    wait_until('the policy socket %s (value: whether it is a socket)' % SOCKET,
               lambda: server.file(SOCKET).is_socket, 30)


def test_policy_service_runs_and_only_postfix_reaches_it(server):
    assert server.service('policyd-rate-limit').is_running and server.service('policyd-rate-limit').is_enabled
    socket = server.file(SOCKET)
    assert socket.is_socket and (socket.user, socket.group, socket.mode) == ('policyd-rate-limit', 'postfix', 0o660)
    option = server.check_output('postconf -P submission/inet/smtpd_recipient_restrictions')
    assert option.endswith('check_policy_service %s' % POLICY), option


def test_user_over_the_limit_gets_a_4xx_at_rcpt(carol_over_the_limit):
    replies = carol_over_the_limit['over']
    assert [reply[0] for reply in replies[:LIMIT]] == [250] * LIMIT, replies
    code, text = replies[LIMIT]
    assert code == 450 and '4.7.1' in text and 'Send limit reached' in text, replies


def test_another_user_is_unaffected(carol_over_the_limit):
    assert carol_over_the_limit['over'][LIMIT][0] == 450
    assert [reply[0] for reply in carol_over_the_limit['dave']] == [250, 250]
    # carol is still over her limit meanwhile.
    assert carol_over_the_limit['carol_again'][0][0] == 450


def test_the_metrics_count_carols_two_refusals_for_her_login(server, carol_over_the_limit):
    assert carol_over_the_limit['over'][LIMIT][0] == 450
    # Postfix 3.7 logs a first recipient's refusal without the login: the INFO line before it names her.
    assert server.check_output('journalctl --no-pager -o cat -t postfix/submission/smtpd '
                               '-g "^NOQUEUE: info: RCPT .*: mailstack_login=carol(@mailstack.test)?; from=<carol@mailstack.test>"')
    expected = dict(carol_over_the_limit['refusals_before'])
    expected['carol@mailstack.test'] += 2
    wait_until('the send-limit refusals per login (value: the scrape)', lambda: send_limit_refusals(server), 30,
               until=lambda value: value == expected)


def test_the_limit_resets_after_its_window(server, carol_over_the_limit):
    # Most often the window has long run out: carol crossed the limit when the session began (conftest.py).
    started = carol_over_the_limit['started']
    time.sleep(max(0, started + WINDOW + 2 - time.monotonic()))
    assert [reply[0] for reply in _rcpts(server, 'carol', 2)] == [250, 250]


def test_per_login_limits_replace_the_default(server):
    # send_limit_per_login gives alice no limit (logged in either way: Cyrus reports alice@mailstack.test).
    for login in ('alice', 'alice@mailstack.test'):
        assert [reply[0] for reply in _rcpts(server, login, LIMIT + 2)] == [250] * (LIMIT + 2)


def test_policy_service_down_defers_never_accepts(server):
    server.check_output('systemctl stop policyd-rate-limit')
    try:
        replies = _rcpts(server, 'dave', 1)
        code, text = replies[0]
        assert code == 451 and '4.3.5' in text, replies
    finally:
        server.check_output('systemctl start policyd-rate-limit')
    _wait_for_socket(server)
    assert _rcpts(server, 'dave', 1)[0][0] == 250
