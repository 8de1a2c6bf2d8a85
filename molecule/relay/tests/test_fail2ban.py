"""fail2ban's postfix-sasl jail on relay-server, tested for real from outside.

relay-backup (outside relay-server's mynetworks) fails SMTP AUTH until the jail
bans it: its connections to the SMTP ports are refused while relay-client
still logs in, and after the ban time relay-backup gets in again. Failures
from 127.0.0.1 (mynetworks) never ban. The jail works on the journal
(backend systemd) and bans with nftables, inside the container (NET_ADMIN).

This file runs before test_relay.py (file order), so relay-client has not
failed any AUTH yet, and the ban is over before relay-backup forwards mail to
relay-server in the failover test.
The metrics role (on relay-server) counts the ban and the failures, from
fail2ban's log in the journal (fail2ban_log_to_journal).
"""

import shlex

import pytest

from helpers.metrics import parse_exposition, scrape, series
from helpers.molecule import container, wait_until
from helpers.smtp import auth_plain, smtp_dialog

SERVER = 'relay-server'
ATTACKER = 'relay-backup'
OTHER = 'relay-client'
JAIL = 'postfix-sasl'
MAXRETRY = 3
# Failed AUTHs from 127.0.0.1, more than maxretry (never banned).
MYNETWORKS_FAILURES = MAXRETRY + 2
BANTIME = 30
USER, PASSWORD = 'relay-client@mailstack.test', 'relay-test-password'
MYNETWORKS = ['127.0.0.0/8', '::1/128']


@pytest.fixture(scope='module')
def server():
    return container(SERVER)


@pytest.fixture(scope='module')
def attacker():
    return container(ATTACKER)


def _counters(server):
    return {key: value for key, value in parse_exposition(scrape(server)).items()
            if key[0] in ('mailstack_fail2ban_bans_total', 'mailstack_smtp_auth_failures_by_login_total')}


@pytest.fixture(scope='module', autouse=True)
def counters_before(server):
    """The metrics' bans and failures by login before this module's tests."""
    return _counters(server)


@pytest.fixture(scope='module')
def other():
    return container(OTHER)


def _auth(client, password, server=SERVER, port=587):
    """One SMTP session from `client`: AUTH PLAIN after STARTTLS (or on 465 with implicit TLS); the AUTH reply code."""
    program = {'server': server, 'port': port, 'tls': 'wrapper' if port == 465 else 'none',
               'steps': (['@EHLO'] if port == 465 else ['@EHLO', '@STARTTLS']) + [auth_plain(USER, password), 'QUIT']}
    result = smtp_dialog(client, program)
    return [step['code'] for step in result['steps'] if step['step'].startswith('AUTH')][0]


def _connect(client, port):
    """Open a TCP connection from `client` to the server's port; 'refused', 'timeout' or 'open'."""
    probe = ('import socket\ntry:\n    socket.create_connection((%r, %d), timeout=5).close()\n    print("open")\n'
             'except ConnectionRefusedError:\n    print("refused")\nexcept OSError:\n    print("timeout")\n') % (SERVER, port)
    return client.check_output('python3 -c %s' % shlex.quote(probe))


def _banned(server):
    status = server.check_output('fail2ban-client status %s' % JAIL)
    for line in status.splitlines():
        if 'Banned IP list:' in line:
            return line.split(':', 1)[1].split()
    raise AssertionError(status)


def _ip(host):
    return host.check_output('hostname -I').split()[0]


def test_jail_is_active_on_the_journal_with_the_scenario_settings(server):
    assert server.service('fail2ban').is_running and server.service('fail2ban').is_enabled
    get = {name: server.check_output('fail2ban-client get %s %s' % (JAIL, name))
           for name in ('maxretry', 'bantime', 'findtime', 'journalmatch', 'ignoreip', 'actions')}
    assert get['maxretry'] == str(MAXRETRY) and get['bantime'] == str(BANTIME) and get['findtime'] == '600', get
    assert 'SYSLOG_FACILITY=2' in get['journalmatch'], get
    assert 'nftables-multiport' in get['actions'], get
    for network in ('127.0.0.0/8', '::1'):
        assert network in get['ignoreip'], get


def test_mynetworks_is_never_banned(server):
    # 127.0.0.1 is in relay-server's mynetworks: more failures than maxretry, from the server itself.
    codes = [_auth(server, 'wrong-password-%d' % n, server='127.0.0.1') for n in range(MYNETWORKS_FAILURES)]
    assert codes == [535] * MYNETWORKS_FAILURES, codes
    # fail2ban saw them (so the check below is not vacuous) and ignored them.
    # fail2ban logs to the journal (fail2ban_log_to_journal, on with the metrics role).
    wait_until('fail2ban to ignore 127.0.0.1 (value: whether its journal says so)',
               lambda: 'Ignore 127.0.0.1' in server.check_output('journalctl -u fail2ban --no-pager -o cat'), 30,
               diagnose=lambda: server.check_output('journalctl -u fail2ban -n 20 --no-pager'))
    assert '127.0.0.1' not in _banned(server)
    assert _auth(server, PASSWORD, server='127.0.0.1') == 235


def test_failed_auths_ban_the_client_while_another_still_authenticates(server, attacker, other):
    attacker_ip = _ip(attacker)
    assert attacker_ip not in _banned(server)
    assert _connect(attacker, 587) == 'open'
    codes = [_auth(attacker, 'guess-%d' % n) for n in range(MAXRETRY)]
    assert codes == [535] * MAXRETRY, codes
    # fail2ban reads the journal as it grows: under a loaded CI machine that can lag well behind the failures.
    wait_until('the ban of %s (value: the banned list)' % attacker_ip, lambda: _banned(server), 120,
               until=lambda banned: attacker_ip in banned,
               diagnose=lambda: server.check_output('fail2ban-client status %s; journalctl -u fail2ban -n 20 --no-pager'
                                                    % JAIL))
    for port in (25, 465, 587):
        assert _connect(attacker, port) == 'refused', port
    # Another client, also outside mynetworks, still logs in (465 and 587).
    assert _ip(other) not in _banned(server)
    assert _auth(other, PASSWORD, port=465) == 235
    assert _auth(other, PASSWORD, port=587) == 235


def test_the_metrics_count_the_ban_and_the_failures_from_the_journal(server, attacker, counters_before):
    attacker_ip = _ip(attacker)
    assert attacker_ip in _banned(server)
    assert server.check_output('journalctl -u fail2ban --no-pager -o cat -g %s'
                               % shlex.quote(r'\[%s\] Ban %s$' % (JAIL, attacker_ip.replace('.', r'\.'))))
    assert not server.file('/var/log/fail2ban.log').exists or 'Ban ' + attacker_ip not in \
        server.file('/var/log/fail2ban.log').content_string
    bans = series('mailstack_fail2ban_bans_total', jail=JAIL)
    failures = series('mailstack_smtp_auth_failures_by_login_total', login=USER)
    expected = dict(counters_before)
    expected[bans] = counters_before.get(bans, 0) + 1
    expected[failures] = counters_before[failures] + MYNETWORKS_FAILURES + MAXRETRY
    wait_until('the bans and failures in the scrape (value: the scrape)', lambda: _counters(server), 30,
               until=lambda value: value == expected)


def test_after_the_ban_time_the_client_gets_in_again(server, attacker):
    attacker_ip = _ip(attacker)
    wait_until('the end of the ban of %s (value: the banned list)' % attacker_ip, lambda: _banned(server), BANTIME + 30,
               until=lambda banned: attacker_ip not in banned)
    assert _connect(attacker, 587) == 'open'
    assert _auth(attacker, PASSWORD) == 235
