"""roles/metrics/files/mailstack-metrics-exporter: the classifier, the counters, their state file, the text format.

The log lines are real: Postfix 3.7.11 with Cyrus SASL 2.1.28 and a sasldb, on
a temporary instance (maillog_file), driven by swaks: failed AUTH with PLAIN,
LOGIN and CRAM-MD5 for an existing and an unknown login, a bare login, a login
that tries to name another one, successful AUTH over IPv4 and IPv6, messages
from two logins, a send-limit refusal (in the session log from a
check_recipient_access DEFER_IF_PERMIT with policyd-rate-limit's text; the
table also quotes the lines of Debian 12's policyd-rate-limit 1.0.1 run
against the same instance, the same format) of a first and of a second
recipient, and `postqueue -f` bringing deferred messages back to the active
queue. tests/unit/data/metrics/postfix-3.7-session.log holds the whole
run; the tables below quote single lines of it. The journal gives the same
text as MESSAGE, with SYSLOG_IDENTIFIER and SYSLOG_PID.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

import pytest

from helpers.metrics import EXPORTER as SCRIPT, load_exporter

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'metrics')
SESSION_LOG = os.path.join(DATA, 'postfix-3.7-session.log')
POSTQUEUE_JSON = os.path.join(DATA, 'postqueue-3.7.json')
LIMIT = 'Send limit reached, try again later'
LOGINS = ['alice@example.test', 'bob@example.test']


exporter = load_exporter()

LOG_LINE = re.compile(r'^(?P<date>\S+ \S+) (?P<host>\S+) (?P<ident>[^\[\s]+)\[(?P<pid>\d+)\]: (?P<message>.*)$')


def journal_entries(lines, start=1_796_346_784_000_000):
    """The journal entries (journalctl -o json fields) of maillog lines, one second apart, cursors c1, c2, ..."""
    entries = []
    for number, line in enumerate(lines, 1):
        match = LOG_LINE.match(line)
        assert match, line
        entries.append({'__CURSOR': 'c%d' % number, '__REALTIME_TIMESTAMP': str(start + number * 1_000_000),
                        'SYSLOG_IDENTIFIER': match.group('ident'), 'SYSLOG_PID': match.group('pid'),
                        'SYSLOG_FACILITY': '2', 'MESSAGE': match.group('message')})
    return entries


def session_entries(without_info=False):
    with open(SESSION_LOG, encoding='utf-8') as handle:
        lines = [line.rstrip('\n') for line in handle if line.strip()]
    if without_info:
        lines = [line for line in lines if ': info: RCPT from ' not in line]
    return journal_entries(lines)


def config(tmp_path, **overrides):
    logins = tmp_path / 'logins'
    if not logins.exists():
        logins.write_text('# the sasl_users logins\n' + '\n'.join(LOGINS) + '\n')
    result = dict(exporter.DEFAULTS, state_file=str(tmp_path / 'state.json'), logins_file=str(logins),
                  send_limit_message=LIMIT, save_interval=3600, default_realm='')
    result.update(overrides)
    return result


# ---------------------------------------------------------------------------
# The classifier, line by line
# ---------------------------------------------------------------------------

SMTPD = 'postfix/smtpd'
CLASSIFY = {
    'failed PLAIN, existing login': (
        SMTPD, 'warning: localhost[127.0.0.1]: SASL PLAIN authentication failed: authentication failure, '
               'sasl_username=alice@example.test',
        {'event': 'auth_failure', 'pid': '7', 'addr': '127.0.0.1', 'mechanism': 'PLAIN', 'login': 'alice@example.test'}),
    'failed PLAIN, unknown login (the same line: Postfix does not tell them apart)': (
        SMTPD, 'warning: localhost[127.0.0.1]: SASL PLAIN authentication failed: authentication failure, '
               'sasl_username=nosuch@example.test',
        {'event': 'auth_failure', 'pid': '7', 'addr': '127.0.0.1', 'mechanism': 'PLAIN',
         'login': 'nosuch@example.test'}),
    'failed LOGIN': (
        SMTPD, 'warning: localhost[127.0.0.1]: SASL LOGIN authentication failed: authentication failure, '
               'sasl_username=alice@example.test',
        {'event': 'auth_failure', 'pid': '7', 'addr': '127.0.0.1', 'mechanism': 'LOGIN', 'login': 'alice@example.test'}),
    'failed CRAM-MD5': (
        SMTPD, 'warning: localhost[127.0.0.1]: SASL CRAM-MD5 authentication failed: authentication failure, '
               'sasl_username=nosuch@example.test',
        {'event': 'auth_failure', 'pid': '7', 'addr': '127.0.0.1', 'mechanism': 'CRAM-MD5',
         'login': 'nosuch@example.test'}),
    'failed AUTH over IPv6, on the submission service': (
        'postfix/submission/smtpd', 'warning: unknown[::1]: SASL PLAIN authentication failed: authentication failure, '
                                    'sasl_username=alice@example.test',
        {'event': 'auth_failure', 'pid': '7', 'addr': '::1', 'mechanism': 'PLAIN', 'login': 'alice@example.test'}),
    'a login that names another one is not trusted to name any': (
        SMTPD, 'warning: unknown[::1]: SASL PLAIN authentication failed: authentication failure, '
               'sasl_username=x, sasl_username=alice@example.test',
        {'event': 'auth_failure', 'pid': '7', 'addr': '::1', 'mechanism': 'PLAIN', 'login': None}),
    'failed AUTH without a login (older Postfix: the base64 prompt)': (
        SMTPD, 'warning: unknown[192.0.2.7]: SASL LOGIN authentication failed: UGFzc3dvcmQ6',
        {'event': 'auth_failure', 'pid': '7', 'addr': '192.0.2.7', 'mechanism': 'LOGIN', 'login': None}),
    'a mechanism the client made up is "other" (its word is no label)': (
        SMTPD, 'warning: localhost[127.0.0.1]: SASL FOOBAR1 authentication failed: no mechanism available, '
               'sasl_username=(unavailable)',
        {'event': 'auth_failure', 'pid': '7', 'addr': '127.0.0.1', 'mechanism': 'other', 'login': None}),
    'an aborted AUTH is no failed password': (
        SMTPD, 'warning: localhost[127.0.0.1]: SASL PLAIN authentication aborted', None),
    "Cyrus SASL's own line is not a second failure": (
        SMTPD, 'warning: SASL authentication failure: Password verification failed', None),
    "Cyrus SASL's CRAM-MD5 line neither": (
        SMTPD, 'warning: SASL authentication failure: incorrect digest response', None),
    'a message queued by a logged-in client': (
        SMTPD, '3EC1D3269C5: client=localhost[127.0.0.1], sasl_method=LOGIN, sasl_username=alice@example.test',
        {'event': 'client', 'pid': '7', 'qid': '3EC1D3269C5', 'addr': '127.0.0.1', 'mechanism': 'LOGIN',
         'login': 'alice@example.test'}),
    'a message queued by a logged-in client, with sasl_sender': (
        SMTPD, '3EC1D3269C5: client=mua.example.net[2001:db8::25], sasl_method=PLAIN, sasl_username=bob@example.test, '
               'sasl_sender=boss@example.test',
        {'event': 'client', 'pid': '7', 'qid': '3EC1D3269C5', 'addr': '2001:db8::25', 'mechanism': 'PLAIN',
         'login': 'bob@example.test'}),
    'a message from a client that did not log in': (
        SMTPD, '3EC1D3269C5: client=mx.example.net[192.0.2.25]', None),
    'the login the INFO restriction logs': (
        SMTPD, 'NOQUEUE: info: RCPT from localhost[127.0.0.1]: mailstack_login=bob@example.test; '
               'from=<bob@example.test> to=<limited@example.net> proto=ESMTP helo=<vm>',
        {'event': 'session_login', 'pid': '7', 'login': 'bob@example.test'}),
    'a send-limit refusal of the first recipient': (
        SMTPD, 'NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 450 4.7.1 <limited@example.net>: Recipient address '
               'rejected: Send limit reached, try again later; from=<bob@example.test> to=<limited@example.net> '
               'proto=ESMTP helo=<vm>',
        {'event': 'send_limit_refusal', 'pid': '7', 'qid': 'NOQUEUE', 'login': None}),
    'a send-limit refusal of a later recipient': (
        SMTPD, '66B063269C8: reject: RCPT from localhost[127.0.0.1]: 450 4.7.1 <limited@example.net>: Recipient '
               'address rejected: Send limit reached, try again later; from=<bob@example.test> '
               'to=<limited@example.net> proto=ESMTP helo=<vm>',
        {'event': 'send_limit_refusal', 'pid': '7', 'qid': '66B063269C8', 'login': None}),
    # The same from Debian 12's policyd-rate-limit 1.0.1 itself (limit 2 an hour, a 3rd recipient).
    'policyd-rate-limit refusing a later recipient': (
        SMTPD, '0BF793269BF: reject: RCPT from localhost[127.0.0.1]: 450 4.7.1 <r3@example.net>: Recipient address '
               'rejected: Send limit reached, try again later; from=<alice@example.test> to=<r3@example.net> '
               'proto=ESMTP helo=<vm>',
        {'event': 'send_limit_refusal', 'pid': '7', 'qid': '0BF793269BF', 'login': None}),
    'policyd-rate-limit refusing a first recipient': (
        SMTPD, 'NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 450 4.7.1 <r4@example.net>: Recipient address '
               'rejected: Send limit reached, try again later; from=<alice@example.test> to=<r4@example.net> '
               'proto=ESMTP helo=<vm>',
        {'event': 'send_limit_refusal', 'pid': '7', 'qid': 'NOQUEUE', 'login': None}),
    # Postfix 3.10 (Debian 13, policyd-rate-limit 1.2.0) ends the record with the login: seen in Molecule.
    'a 3.10 refusal of a first recipient names its login': (
        'postfix/submission/smtpd', 'NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 450 4.7.1 <r0@example.net>: '
        'Recipient address rejected: Send limit reached, try again later; from=<bob@other.test> to=<r0@example.net> '
        'proto=ESMTP helo=<attacker.example.net> sasl_method=PLAIN sasl_username=bob@other.test',
        {'event': 'send_limit_refusal', 'pid': '7', 'qid': 'NOQUEUE', 'login': 'bob@other.test'}),
    # The send limit on Debian 13 refuses the whole message at DATA (smtpd_data_restrictions); counted for
    # bob by the default scenario's test_send_limit_debian13.py.
    'a 3.10 refusal of a whole message at DATA': (
        'postfix/submission/smtpd', '4F2A13AC71D: reject: DATA from unknown[127.0.0.1]: 450 4.7.1 <DATA>: Data command '
        'rejected: Send limit reached, try again later; from=<bob@other.test> proto=ESMTP helo=<attacker.example.net> '
        'sasl_method=PLAIN sasl_username=bob@other.test',
        {'event': 'send_limit_refusal', 'pid': '7', 'qid': '4F2A13AC71D', 'login': 'bob@other.test'}),
    'another refusal at DATA is not a send-limit refusal': (
        'postfix/submission/smtpd', '4F2A13AC71D: reject: DATA from unknown[127.0.0.1]: 554 5.5.1 <DATA>: Data command '
        'rejected: Error: no valid recipients; from=<bob@other.test> proto=ESMTP helo=<x>', None),
    'a HELO cannot fake the login of a 3.10 record': (
        SMTPD, 'NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 450 4.7.1 <r4@example.net>: Recipient address '
               'rejected: Send limit reached, try again later; from=<alice@example.test> to=<r4@example.net> '
               'proto=ESMTP helo=<vm sasl_method=PLAIN sasl_username=carol@example.test>',
        {'event': 'send_limit_refusal', 'pid': '7', 'qid': 'NOQUEUE', 'login': None}),
    'another refusal is not a send-limit refusal': (
        SMTPD, 'NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 554 5.7.1 <e@example.net>: Recipient address '
               'rejected: Access denied; from=<x@example.test> to=<e@example.net> proto=ESMTP helo=<vm>', None),
    'a recipient address cannot fake the refusal text': (
        SMTPD, 'NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 554 5.7.1 <x: Recipient address rejected: Send limit '
               'reached, try again later; from=<@example.net>: Recipient address rejected: Access denied; '
               'from=<x@example.test> to=<e@example.net> proto=ESMTP helo=<vm>', None),
    'the message enters the active queue': (
        'postfix/qmgr', '3EC1D3269C5: from=<alice@example.test>, size=415, nrcpt=2 (queue active)',
        {'event': 'queued', 'qid': '3EC1D3269C5', 'nrcpt': 2}),
    'qmgr removing a message': ('postfix/qmgr', '3EC1D3269C5: removed', None),
    'a session that failed AUTH once': (
        SMTPD, 'disconnect from localhost[127.0.0.1] ehlo=1 auth=0/1 quit=1 commands=2/3',
        {'event': 'disconnect', 'pid': '7', 'addr': '127.0.0.1', 'auth_ok': 0, 'auth_tried': 1}),
    'a session that logged in and sent': (
        SMTPD, 'disconnect from localhost[127.0.0.1] ehlo=1 auth=1 mail=1 rcpt=2 data=1 quit=1 commands=7',
        {'event': 'disconnect', 'pid': '7', 'addr': '127.0.0.1', 'auth_ok': 1, 'auth_tried': 1}),
    'a session that failed twice, then logged in': (
        SMTPD, 'disconnect from unknown[2001:db8::7] ehlo=1 auth=1/3 quit=1 commands=3/5',
        {'event': 'disconnect', 'pid': '7', 'addr': '2001:db8::7', 'auth_ok': 1, 'auth_tried': 3}),
    'a session without AUTH': (
        SMTPD, 'disconnect from mx.example.net[192.0.2.25] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5',
        {'event': 'disconnect', 'pid': '7', 'addr': '192.0.2.25', 'auth_ok': 0, 'auth_tried': 0}),
    'a connect': (SMTPD, 'connect from unknown[::1]', {'event': 'connect', 'pid': '7', 'addr': '::1'}),
    "smtp's connect is not smtpd's": ('postfix/smtp', 'connect to 127.0.0.1[127.0.0.1]:9: Connection refused', None),
    'a second Postfix instance': (
        'postfix-out/smtpd', 'connect from unknown[192.0.2.9]', {'event': 'connect', 'pid': '7', 'addr': '192.0.2.9'}),
    'not Postfix': ('postfixadmin', 'connect from unknown[192.0.2.9]', None),
    # fail2ban 1.0.2 (Debian 12), logtarget = SYSTEMD-JOURNAL: a JournalHandler with
    # SYSLOG_IDENTIFIER=fail2ban and no format, so MESSAGE is the bare message.
    'fail2ban bans (logtarget SYSTEMD-JOURNAL)': (
        'fail2ban', '[postfix-sasl] Ban 192.0.2.7', {'event': 'ban', 'jail': 'postfix-sasl'}),
    # logtarget SYSOUT (fail2ban-server --logtarget=sysout): its log format on stdout, into the journal.
    'fail2ban bans (logtarget SYSOUT)': (
        'fail2ban-server', 'fail2ban.actions        [812]: NOTICE  [postfix-sasl] Ban 2001:db8::7',
        {'event': 'ban', 'jail': 'postfix-sasl'}),
    'fail2ban restoring a ban after a restart is not a new ban': (
        'fail2ban', '[postfix-sasl] Restore Ban 192.0.2.7', None),
    'fail2ban unbans': ('fail2ban', '[postfix-sasl] Unban 192.0.2.7', None),
}


@pytest.mark.parametrize('identifier, message, expected', CLASSIFY.values(), ids=list(CLASSIFY))
def test_classify(identifier, message, expected):
    entry = {'SYSLOG_IDENTIFIER': identifier, 'SYSLOG_PID': '7', 'MESSAGE': message}
    assert exporter.classify(entry, LIMIT) == expected


def test_without_a_send_limit_message_no_refusal_is_counted():
    message = CLASSIFY['a send-limit refusal of the first recipient'][1]
    assert exporter.classify({'SYSLOG_IDENTIFIER': SMTPD, 'SYSLOG_PID': '7', 'MESSAGE': message}, None) is None


def test_classify_reads_a_message_that_is_not_utf8_and_falls_back_to_the_pid():
    message = list('connect from unknown[192.0.2.1]'.encode()) + [0xff]
    entry = {'SYSLOG_IDENTIFIER': SMTPD, '_PID': '9', 'MESSAGE': message}
    assert exporter.classify(entry) is None  # a stray byte after the address: not a connect line
    entry['MESSAGE'] = list('connect from unknown[192.0.2.1]'.encode())
    assert exporter.classify(entry) == {'event': 'connect', 'pid': '9', 'addr': '192.0.2.1'}


NETWORKS = {
    'IPv4: the /24': ('192.0.2.77', '192.0.2.0/24'),
    'loopback': ('127.0.0.1', '127.0.0.0/24'),
    'IPv6: the /64': ('2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'),
    'IPv6 loopback': ('::1', '::/64'),
    'IPv4-mapped IPv6 counts as IPv4': ('::ffff:192.0.2.77', '192.0.2.0/24'),
    'no address': ('unknown', 'unknown'),
    'empty': ('', 'unknown'),
}


@pytest.mark.parametrize('addr, expected', NETWORKS.values(), ids=list(NETWORKS))
def test_client_network(addr, expected):
    assert exporter.client_network(addr) == expected


def test_client_network_prefixes_are_settings():
    assert exporter.client_network('192.0.2.77', 16, 48) == '192.0.0.0/16'
    assert exporter.client_network('2001:db8:1:2::1', 16, 48) == '2001:db8:1::/48'


# ---------------------------------------------------------------------------
# Counting a whole real session
# ---------------------------------------------------------------------------

FAILURES = 'mailstack_smtp_auth_failures_total'
FAILURES_BY_LOGIN = 'mailstack_smtp_auth_failures_by_login_total'
SUCCESSES = 'mailstack_smtp_auth_successes_total'
MESSAGES = 'mailstack_sasl_messages_total'
RECIPIENTS = 'mailstack_sasl_recipients_total'
REFUSALS = 'mailstack_send_limit_refusals_total'
BANS = 'mailstack_fail2ban_bans_total'
V4 = '127.0.0.0/24'
V6 = '::/64'

EXPECTED_SESSION = {
    FAILURES: {
        ('PLAIN', V4, 'alice@example.test'): 1,
        ('PLAIN', V4, ''): 2,  # nosuch@example.test, and the bare "alice" (no default realm: not a login)
        ('LOGIN', V4, 'alice@example.test'): 1,
        ('LOGIN', V4, ''): 1,
        ('CRAM-MD5', V4, 'alice@example.test'): 1,
        ('CRAM-MD5', V4, ''): 1,
        ('PLAIN', V6, ''): 1,  # "x, sasl_username=alice@example.test" is not alice
    },
    FAILURES_BY_LOGIN: {('alice@example.test',): 3, ('',): 5},
    SUCCESSES: {
        ('', V6): 1,  # logged in, sent nothing: the mechanism is not logged
        ('', V4): 1,  # logged in, first recipient refused: no queue id, no mechanism
        ('LOGIN', V4): 1,
        ('CRAM-MD5', V4): 1,
        ('PLAIN', V4): 1,
    },
    # postqueue -f brought all three back to the active queue: counted once each.
    MESSAGES: {('alice@example.test',): 1, ('bob@example.test',): 2},
    RECIPIENTS: {('alice@example.test',): 2, ('bob@example.test',): 2},
    REFUSALS: {('bob@example.test',): 2},
    BANS: {},
}


# What a scrape shows after the session: the per-login series of every listed login from 0.
EXPECTED_SCRAPE = dict(EXPECTED_SESSION, **{
    FAILURES_BY_LOGIN: {('alice@example.test',): 3, ('bob@example.test',): 0, ('',): 5},
    REFUSALS: {('alice@example.test',): 0, ('bob@example.test',): 2}})


def count(entries, cfg, logins=tuple(LOGINS)):
    metrics = exporter.Metrics(cfg, logins)
    for entry in entries:
        metrics.process(entry)
    return metrics


def test_a_real_session_is_counted_exactly(tmp_path):
    metrics = count(session_entries(), config(tmp_path))
    assert metrics.counters == EXPECTED_SESSION
    assert metrics.pending == {} and metrics.sessions == {}
    assert metrics.cursor == 'c%d' % len(session_entries())


def test_a_bare_login_counts_for_the_default_realm(tmp_path):
    metrics = count(session_entries(), config(tmp_path, default_realm='example.test'))
    failures = metrics.counters[FAILURES]
    assert failures[('PLAIN', V4, 'alice@example.test')] == 2
    assert failures[('PLAIN', V4, '')] == 1


def test_a_bare_login_and_its_full_form_are_one_login(tmp_path):
    """Real lines (Postfix 3.7, smtpd_sasl_local_domain empty, myhostname mx.example.test): carol is
    carol@mx.example.test in the sasldb; logged in as "carol", Postfix logs sasl_username=carol."""
    lines = [
        '2026-12-04 01:31:32 mx postfix/smtpd[4350]: CD33E3269BD: client=localhost[127.0.0.1], sasl_method=PLAIN, '
        'sasl_username=carol',
        '2026-12-04 01:31:32 mx postfix/qmgr[32257]: CD33E3269BD: from=<carol@example.test>, size=402, nrcpt=1 '
        '(queue active)',
        '2026-12-04 01:31:32 mx postfix/smtpd[4350]: D51643269BE: client=localhost[127.0.0.1], sasl_method=LOGIN, '
        'sasl_username=carol@mx.example.test',
        '2026-12-04 01:31:32 mx postfix/qmgr[32257]: D51643269BE: from=<carol@example.test>, size=402, nrcpt=1 '
        '(queue active)',
        '2026-12-04 01:31:23 mx postfix/smtpd[4350]: warning: localhost[127.0.0.1]: SASL PLAIN authentication failed: '
        'authentication failure, sasl_username=carol',
    ]
    metrics = count(journal_entries(lines), config(tmp_path, default_realm='mx.example.test'), logins=['carol'])
    assert metrics.counters[MESSAGES] == {('carol@mx.example.test',): 2}
    assert metrics.counters[FAILURES] == {('PLAIN', '127.0.0.0/24', 'carol@mx.example.test'): 1}


REALMS = {
    'smtpd_sasl_local_domain first': ('print("example.org"); print("mx.example.test")', 'example.org'),
    'myhostname when it is empty': ('print(""); print("mx.example.test")', 'mx.example.test'),
    'postconf fails': ('import sys; sys.exit(1)', ''),
}


@pytest.mark.parametrize('source, expected', REALMS.values(), ids=list(REALMS))
def test_the_default_realm_comes_from_postconf(tmp_path, source, expected):
    postconf = fake_tool(tmp_path, 'postconf', 'import sys\nassert sys.argv[1:] == ["-h", "smtpd_sasl_local_domain", '
                                               '"myhostname"]\n' + source + '\n')
    daemon = exporter.Exporter(config(tmp_path, default_realm=None, postconf=postconf))
    assert daemon.metrics.config['default_realm'] == expected
    assert daemon.metrics.logins == {login if '@' in login or not expected else '%s@%s' % (login, expected)
                                     for login in LOGINS}


def test_without_the_info_line_a_first_recipient_refusal_has_no_login(tmp_path):
    metrics = count(session_entries(without_info=True), config(tmp_path))
    assert metrics.counters[REFUSALS] == {('bob@example.test',): 1, ('',): 1}
    assert metrics.counters[MESSAGES] == EXPECTED_SESSION[MESSAGES]


def test_a_310_refusal_counts_for_the_login_its_record_names(tmp_path):
    """Postfix 3.10 names the login in the reject record itself: no INFO line, no queue ID needed."""
    lines = ['2026-12-04 04:55:01 mx postfix/submission/smtpd[9]: connect from unknown[127.0.0.1]',
             '2026-12-04 04:55:02 mx postfix/submission/smtpd[9]: NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 450 '
             '4.7.1 <r0@example.net>: Recipient address rejected: %s; from=<bob@example.test> to=<r0@example.net> '
             'proto=ESMTP helo=<vm> sasl_method=PLAIN sasl_username=bob@example.test' % LIMIT]
    metrics = count(journal_entries(lines), config(tmp_path))
    assert metrics.counters[REFUSALS] == {('bob@example.test',): 1}


def test_without_a_logins_list_no_failure_names_a_login(tmp_path):
    metrics = count(session_entries(), config(tmp_path), logins=[])
    assert {key[2] for key in metrics.counters[FAILURES]} == {''}
    assert sum(metrics.counters[FAILURES].values()) == 8


def test_no_password_or_message_content_reaches_a_label(tmp_path):
    """The failed logins typed by a client (here a password typed as login) never become labels."""
    lines = ['2026-12-04 01:13:04 mx postfix/smtpd[1]: warning: unknown[192.0.2.7]: SASL LOGIN authentication failed: '
             'authentication failure, sasl_username=Secret-Passw0rd!']
    text = exporter.render(count(journal_entries(lines), config(tmp_path)).counters, {})
    assert 'Secret-Passw0rd' not in text
    assert 'mailstack_smtp_auth_failures_total{mechanism="LOGIN",network="192.0.2.0/24",login=""} 1' in text


def test_networks_beyond_the_cap_count_as_other(tmp_path):
    lines = ['2026-12-04 01:13:04 mx postfix/smtpd[%d]: warning: unknown[198.51.%d.9]: SASL PLAIN authentication '
             'failed: authentication failure, sasl_username=alice@example.test' % (n, n) for n in range(5)]
    metrics = count(journal_entries(lines), config(tmp_path, max_networks=3))
    assert metrics.counters[FAILURES] == {
        ('PLAIN', '198.51.0.0/24', 'alice@example.test'): 1,
        ('PLAIN', '198.51.1.0/24', 'alice@example.test'): 1,
        ('PLAIN', '198.51.2.0/24', 'alice@example.test'): 1,
        ('PLAIN', 'other', 'alice@example.test'): 2,
    }


SNAPSHOT = {
    'every listed login starts at 0': (
        LIMIT, ['alice@example.test', 'carol@example.test'],
        {MESSAGES: {('alice@example.test',): 1, ('bob@example.test',): 2, ('carol@example.test',): 0},
         RECIPIENTS: {('alice@example.test',): 2, ('bob@example.test',): 2, ('carol@example.test',): 0},
         REFUSALS: {('bob@example.test',): 2, ('alice@example.test',): 0, ('carol@example.test',): 0}}),
    'no send limit: no refusal series from 0': (
        None, ['carol@example.test'],
        {MESSAGES: {('alice@example.test',): 1, ('bob@example.test',): 2, ('carol@example.test',): 0},
         RECIPIENTS: {('alice@example.test',): 2, ('bob@example.test',): 2, ('carol@example.test',): 0},
         REFUSALS: {}}),
}


@pytest.mark.parametrize('limit, logins, expected', SNAPSHOT.values(), ids=list(SNAPSHOT))
def test_snapshot_starts_the_series_of_listed_logins_at_zero(tmp_path, limit, logins, expected):
    metrics = count(session_entries(), config(tmp_path, send_limit_message=limit), logins=logins)
    snapshot = metrics.snapshot()
    assert {name: snapshot[name] for name in expected} == expected
    assert snapshot[FAILURES] == metrics.counters[FAILURES]
    assert metrics.counters[MESSAGES] == EXPECTED_SESSION[MESSAGES]  # the counters themselves are unchanged


def test_fail2ban_bans_are_counted_by_jail(tmp_path):
    entries = [
        {'SYSLOG_IDENTIFIER': 'fail2ban', 'MESSAGE': '[postfix-sasl] Ban 192.0.2.7'},
        {'SYSLOG_IDENTIFIER': 'fail2ban', 'MESSAGE': '[postfix-sasl] Ban 192.0.2.8'},
        {'SYSLOG_IDENTIFIER': 'fail2ban', 'MESSAGE': '[postfix-sasl] Restore Ban 192.0.2.9'},
        {'_SYSTEMD_UNIT': 'fail2ban.service', 'SYSLOG_IDENTIFIER': 'python3', 'MESSAGE': '[sshd] Ban 192.0.2.10'},
    ]
    assert count(entries, config(tmp_path)).counters[BANS] == {('postfix-sasl',): 2, ('sshd',): 1}


def test_a_session_or_queue_id_never_completed_is_dropped_after_its_age(tmp_path):
    metrics = count(session_entries()[:34], config(tmp_path))  # up to alice's client= line
    assert list(metrics.pending) == ['3EC1D3269C5']
    metrics.prune(metrics.last_entry + exporter.PENDING_MAX_AGE + 1)
    assert metrics.pending == {} and metrics.sessions == {}


# ---------------------------------------------------------------------------
# The state file: restarts lose nothing and count nothing twice
# ---------------------------------------------------------------------------

def run_replay(tmp_path, cfg, entries, capsys):
    path = tmp_path / ('replay-%d.json' % len(list(tmp_path.iterdir())))
    path.write_text(''.join(json.dumps(entry) + '\n' for entry in entries))
    config_path = tmp_path / 'exporter.json'
    config_path.write_text(json.dumps({k: v for k, v in cfg.items() if v != exporter.DEFAULTS.get(k)}))
    assert exporter.main(['--config', str(config_path), '--replay', str(path)]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize('split', [1, 27, 33, 35, 36, 50, 58])
def test_a_restart_anywhere_counts_every_entry_once(tmp_path, capsys, split):
    """Two runs of the exporter over two halves of the journal give the counts of one run over all of it,
    whatever was half-done at the restart (a session, a queue id waiting for qmgr's line)."""
    entries = session_entries()
    cfg = config(tmp_path)
    run_replay(tmp_path, cfg, entries[:split], capsys)
    assert json.loads((tmp_path / 'state.json').read_text())['cursor'] == 'c%d' % split
    out = run_replay(tmp_path, cfg, entries[split:], capsys)
    assert out == exporter.render(EXPECTED_SCRAPE, {'mailstack_exporter_last_entry_timestamp_seconds': {
        (): int(entries[-1]['__REALTIME_TIMESTAMP']) // 1_000_000}})


def test_a_crash_after_the_last_save_recounts_from_the_saved_cursor(tmp_path):
    """Counters and cursor are saved together: entries after the saved cursor are counted again,
    from the saved counts, so each counts once."""
    entries = session_entries()
    cfg = config(tmp_path)
    first = exporter.Exporter(cfg)
    for entry in entries[:40]:
        first.feed(entry)
    first.save()
    for entry in entries[40:50]:  # counted, never saved: the process dies here
        first.feed(entry)
    second = exporter.Exporter(cfg)
    assert second.metrics.cursor == 'c40'
    assert '--after-cursor=c40' in second.journal_command()
    for entry in entries[40:]:  # journalctl --after-cursor=c40
        second.feed(entry)
    assert second.metrics.counters == EXPECTED_SESSION


def test_the_state_is_saved_every_save_interval(tmp_path):
    now = [1000.0]
    cfg = config(tmp_path, save_interval=10)
    daemon = exporter.Exporter(cfg, clock=lambda: now[0])
    entries = session_entries()
    daemon.feed(entries[0])
    assert not (tmp_path / 'state.json').exists()
    now[0] += 10
    daemon.feed(entries[1])
    state = json.loads((tmp_path / 'state.json').read_text())
    assert state['cursor'] == 'c2' and state['version'] == exporter.STATE_VERSION


def test_the_state_file_is_replaced_atomically_and_private(tmp_path):
    os.umask(0o022)
    exporter.write_state(str(tmp_path / 'state.json'), {'version': 1})
    exporter.write_state(str(tmp_path / 'state.json'), {'version': 1, 'cursor': 'x'})
    assert sorted(os.listdir(tmp_path)) == ['state.json']
    assert stat.S_IMODE(os.stat(tmp_path / 'state.json').st_mode) == 0o600
    assert json.loads((tmp_path / 'state.json').read_text())['cursor'] == 'x'


def test_a_state_of_another_version_is_refused(tmp_path, capsys):
    (tmp_path / 'state.json').write_text('{"version": 99}')
    config_path = tmp_path / 'exporter.json'
    config_path.write_text(json.dumps({'state_file': str(tmp_path / 'state.json')}))
    (tmp_path / 'empty.json').write_text('')
    assert exporter.main(['--config', str(config_path), '--replay', str(tmp_path / 'empty.json')]) == 1
    assert 'unknown state version 99' in capsys.readouterr().err


def test_a_new_login_in_the_logins_file_is_picked_up(tmp_path):
    now = [1000.0]
    cfg = config(tmp_path)
    daemon = exporter.Exporter(cfg, clock=lambda: now[0])
    line = ('2026-12-04 01:13:04 mx postfix/smtpd[1]: warning: unknown[192.0.2.7]: SASL PLAIN authentication '
            'failed: authentication failure, sasl_username=carol@example.test')
    daemon.feed(journal_entries([line])[0])
    (tmp_path / 'logins').write_text('carol@example.test\n')
    os.utime(tmp_path / 'logins', ns=(1, 1))
    now[0] += exporter.LOGINS_CHECK_INTERVAL
    daemon.feed(journal_entries([line])[0])
    assert daemon.metrics.counters[FAILURES] == {('PLAIN', '192.0.2.0/24', ''): 1,
                                                 ('PLAIN', '192.0.2.0/24', 'carol@example.test'): 1}


# ---------------------------------------------------------------------------
# Following the journal: journalctl's arguments, restarts from the cursor
# ---------------------------------------------------------------------------

# A journalctl that logs its arguments, prints the entries after --after-cursor (at most `batch`), then
# ends (journalctl stopped: the exporter starts it again) or, with `follow`, waits as --follow does.
FAKE_JOURNALCTL = '''\
import json, sys, time
args = sys.argv[1:]
with open(%(log)r, 'a') as handle:
    handle.write(json.dumps(args) + '\\n')
after = [a.split('=', 1)[1] for a in args if a.startswith('--after-cursor=')]
entries = [json.loads(line) for line in open(%(entries)r)]
if after:
    cursors = [e['__CURSOR'] for e in entries]
    entries = entries[cursors.index(after[0]) + 1:] if after[0] in cursors else []
batch = entries[:%(batch)d]
for entry in batch:
    print(json.dumps(entry), flush=True)
if %(follow)r:
    time.sleep(600)  # --follow: nothing new
'''


def fake_tool(tmp_path, name, source):
    path = tmp_path / name
    path.write_text('#!/usr/bin/python3\n' + source)
    path.chmod(0o755)
    return str(path)


def test_follow_reads_on_from_the_cursor_each_time_journalctl_ends(tmp_path, monkeypatch):
    entries = session_entries()
    (tmp_path / 'entries.json').write_text(''.join(json.dumps(e) + '\n' for e in entries))
    journalctl = fake_tool(tmp_path, 'journalctl', FAKE_JOURNALCTL % {
        'log': str(tmp_path / 'calls'), 'entries': str(tmp_path / 'entries.json'), 'batch': 25, 'follow': False})
    monkeypatch.setattr(exporter, 'RESTART_DELAY', 0.01)
    daemon = exporter.Exporter(config(tmp_path, journalctl=journalctl))
    thread = threading.Thread(target=daemon.follow, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while daemon.metrics.cursor != entries[-1]['__CURSOR'] and time.time() < deadline:
        time.sleep(0.02)
    daemon.stop()
    thread.join(timeout=5)
    assert daemon.metrics.counters == EXPECTED_SESSION
    calls = [json.loads(line) for line in (tmp_path / 'calls').read_text().splitlines()]
    matches = ['SYSLOG_FACILITY=2', '+', '_SYSTEMD_UNIT=fail2ban.service']
    assert calls[0] == ['--output=json', '--follow', '--no-pager', '--quiet', '--lines=0'] + matches
    assert calls[1] == ['--output=json', '--follow', '--no-pager', '--quiet', '--lines=all', '--after-cursor=c25'] + matches
    assert calls[2][4:6] == ['--lines=all', '--after-cursor=c50']


def test_follow_survives_a_missing_journalctl_and_an_unwritable_state(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(exporter, 'RESTART_DELAY', 0.01)
    daemon = exporter.Exporter(config(tmp_path, journalctl=str(tmp_path / 'missing'), save_interval=1))
    thread = threading.Thread(target=daemon.follow, daemon=True)
    thread.start()
    time.sleep(0.2)
    assert thread.is_alive()
    daemon.stop()
    thread.join(timeout=5)
    assert 'cannot run journalctl' in capsys.readouterr().err
    # The state directory is gone: counting goes on, the save is logged and tried again later.
    now = [1000.0]
    daemon = exporter.Exporter(config(tmp_path, state_file=str(tmp_path / 'gone' / 'state.json'), save_interval=10),
                               clock=lambda: now[0])
    entries = session_entries()
    (tmp_path / 'entries.json').write_text(''.join(json.dumps(e) + '\n' for e in entries))
    daemon.config['journalctl'] = fake_tool(tmp_path, 'journalctl', FAKE_JOURNALCTL % {
        'log': str(tmp_path / 'calls'), 'entries': str(tmp_path / 'entries.json'), 'batch': 100, 'follow': False})
    now[0] += 10
    thread = threading.Thread(target=daemon.follow, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while daemon.metrics.cursor != entries[-1]['__CURSOR'] and time.time() < deadline:
        time.sleep(0.02)
    daemon.stop()
    thread.join(timeout=5)
    assert daemon.metrics.counters == EXPECTED_SESSION
    assert capsys.readouterr().err.count('cannot write the state file') == 1


# ---------------------------------------------------------------------------
# Gauges: the queue and the services
# ---------------------------------------------------------------------------

def test_queue_sizes_of_real_postqueue_output():
    with open(POSTQUEUE_JSON, encoding='utf-8') as handle:
        output = handle.read()
    assert exporter.queue_sizes(output) == {('active',): 0, ('deferred',): 3, ('hold',): 0, ('incoming',): 0,
                                            ('maildrop',): 0}
    assert exporter.queue_sizes('') == {(queue,): 0 for queue in exporter.QUEUES}


QUEUE_TOOL = {
    'a queue': ('print(json.dumps({"queue_name": "hold"})); print(json.dumps({"queue_name": "active"}))\n',
                {('active',): 1, ('deferred',): 0, ('hold',): 1, ('incoming',): 0, ('maildrop',): 0}),
    'Postfix is down': ('sys.stderr.write("postqueue: fatal: Queue report unavailable - mail system is down\\n");'
                        ' sys.exit(69)\n', None),
    'not JSON': ('print("Mail queue is empty")\n', None),
}


@pytest.mark.parametrize('source, expected', QUEUE_TOOL.values(), ids=list(QUEUE_TOOL))
def test_read_queue(tmp_path, source, expected):
    postqueue = fake_tool(tmp_path, 'postqueue', 'import json, sys\n' + source)
    assert exporter.read_queue(config(tmp_path, postqueue=postqueue)) == expected


def test_read_queue_without_postqueue(tmp_path):
    assert exporter.read_queue(config(tmp_path, postqueue=str(tmp_path / 'missing'))) is None


def test_services_up_asks_systemctl_once(tmp_path):
    systemctl = fake_tool(tmp_path, 'systemctl', 'import sys\nassert sys.argv[1] == "is-active"\n'
                                                 'print("\\n".join("active" if "postfix" in u else "failed" '
                                                 'for u in sys.argv[2:])); sys.exit(3)\n')
    services = {'postfix': 'postfix@-.service', 'send_limit': 'policyd-rate-limit.service'}
    assert exporter.services_up(config(tmp_path, systemctl=systemctl, services=services)) == {
        ('postfix', 'postfix@-.service'): 1, ('send_limit', 'policyd-rate-limit.service'): 0}
    assert exporter.services_up(config(tmp_path, systemctl=str(tmp_path / 'missing'), services=services)) == {
        ('postfix', 'postfix@-.service'): 0, ('send_limit', 'policyd-rate-limit.service'): 0}


# ---------------------------------------------------------------------------
# The Prometheus text format
# ---------------------------------------------------------------------------

def test_render_one_family_exactly():
    text = exporter.render_family('mailstack_x_total', 'counter', 'Help with a \\ and\na newline.', ('a', 'b'), {
        ('z', '1'): 2, ('back\\slash', 'quote"d'): 1, ('new\nline', ''): 3.5})
    assert text == (
        '# HELP mailstack_x_total Help with a \\\\ and\\na newline.\n'
        '# TYPE mailstack_x_total counter\n'
        'mailstack_x_total{a="back\\\\slash",b="quote\\"d"} 1\n'
        'mailstack_x_total{a="new\\nline",b=""} 3.5\n'
        'mailstack_x_total{a="z",b="1"} 2\n')


FORMAT = {
    'an integer': (3, '3'),
    'a whole float': (1796346785.0, '1796346785'),
    'a fraction': (0.25, '0.25'),
    'NaN': (float('nan'), 'NaN'),
    '+Inf': (float('inf'), '+Inf'),
    'a boolean': (True, '1'),
}


@pytest.mark.parametrize('value, expected', FORMAT.values(), ids=list(FORMAT))
def test_format_value(value, expected):
    assert exporter.format_value(value) == expected


def test_render_the_whole_exposition():
    counters = {FAILURES: {('PLAIN', '192.0.2.0/24', 'alice@example.test'): 3}}
    gauges = {'mailstack_postfix_queue_messages': {('deferred',): 2, ('active',): 0},
              'mailstack_exporter_journal_reader_up': {(): 1}}
    text = exporter.render(counters, gauges)
    assert text.startswith('# HELP mailstack_fail2ban_bans_total ')
    assert ('# TYPE mailstack_smtp_auth_failures_total counter\n'
            'mailstack_smtp_auth_failures_total{mechanism="PLAIN",network="192.0.2.0/24",login="alice@example.test"} 3\n'
            ) in text
    assert ('# TYPE mailstack_postfix_queue_messages gauge\n'
            'mailstack_postfix_queue_messages{queue="active"} 0\n'
            'mailstack_postfix_queue_messages{queue="deferred"} 2\n') in text
    assert 'mailstack_exporter_journal_reader_up 1\n' in text
    assert 'mailstack_service_up' not in text  # a gauge not read is left out, not reported as 0
    names = re.findall(r'^# TYPE (\S+) ', text, re.M)
    assert len(names) == len(set(names)) == len(exporter.COUNTERS) + 2
    assert names[:len(exporter.COUNTERS)] == sorted(exporter.COUNTERS)


def test_render_is_valid_for_promtool(tmp_path):
    """promtool check metrics parses the exposition (and lints the names)."""
    text = exporter.render(EXPECTED_SESSION, {'mailstack_postfix_queue_messages': {('deferred',): 2},
                                              'mailstack_service_up': {('postfix', 'postfix.service'): 1}})
    proc = subprocess.run(['promtool', 'check', 'metrics'], input=text, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---------------------------------------------------------------------------
# The HTTP endpoint
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('address', ['127.0.0.1', '::1'])
def test_the_endpoint_serves_metrics_and_nothing_else(tmp_path, address):
    postqueue = fake_tool(tmp_path, 'postqueue', 'print(\'{"queue_name": "deferred"}\')\n')
    systemctl = fake_tool(tmp_path, 'systemctl', 'print("active")\n')
    daemon = exporter.Exporter(config(tmp_path, postqueue=postqueue, systemctl=systemctl))
    for entry in session_entries():
        daemon.feed(entry)
    server = exporter.make_server(daemon, address, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        connection = http.client.HTTPConnection(address, server.server_address[1], timeout=10)
        connection.request('GET', '/metrics')
        response = connection.getresponse()
        body = response.read().decode()
        assert response.status == 200
        assert response.getheader('Content-Type') == 'text/plain; version=0.0.4; charset=utf-8'
        assert 'mailstack_sasl_recipients_total{login="bob@example.test"} 2\n' in body
        assert 'mailstack_postfix_queue_messages{queue="deferred"} 1\n' in body
        assert 'mailstack_service_up{service="postfix",unit="postfix.service"} 1\n' in body
        assert 'mailstack_exporter_journal_reader_up 0\n' in body
        connection.request('GET', '/')
        response = connection.getresponse()
        response.read()
        assert response.status == 404
    finally:
        server.shutdown()
        server.server_close()


def test_the_endpoint_answers_only_on_its_address(tmp_path):
    """Bound to 127.0.0.1, the port is closed on the host's other addresses (here ::1)."""
    server = exporter.make_server(exporter.Exporter(config(tmp_path)), '127.0.0.1', 0)
    try:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(('::1', server.server_address[1]), timeout=5)
    finally:
        server.server_close()


# ---------------------------------------------------------------------------
# The config
# ---------------------------------------------------------------------------

BAD_CONFIG = {
    'port 0': ({'listen_port': 0}, 'listen_port must be a port number (1-65535), not 0'),
    'port as text': ({'listen_port': '9154'}, "listen_port must be a port number (1-65535), not '9154'"),
    'a host name': ({'listen_address': 'localhost'}, "listen_address must be an IP address, not 'localhost'"),
    'IPv6 prefix': ({'ipv6_prefix': 129}, 'ipv6_prefix must be a prefix length (0-128), not 129'),
    'no networks': ({'max_networks': 0}, 'max_networks must be a positive integer, not 0'),
    'services as a list': ({'services': ['postfix']}, 'services must map service names to systemd units'),
    'matches as text': ({'journal_matches': 'SYSLOG_FACILITY=2'}, 'journal_matches must be a list'),
    'a typo': ({'listen_prot': 1}, 'unknown keys: listen_prot'),
    'two recipients': ({'summary_recipient': 'a@example.org, b@example.org'},
                       "summary_recipient must be one mail address (name@domain) or null, not 'a@example.org, b@example.org'"),
    'a sender with a line break': ({'summary_sender': 'a@example.org\nBcc: x@example.net'},
                                   'summary_sender must be one mail address'),
    'a sender without a domain': ({'summary_sender': 'postmaster'}, "summary_sender must be one mail address"),
    'a relative sendmail': ({'sendmail': 'sendmail'}, "sendmail must be an absolute path, not 'sendmail'"),
}


@pytest.mark.parametrize('values, message', BAD_CONFIG.values(), ids=list(BAD_CONFIG))
def test_a_bad_config_is_refused(tmp_path, capsys, values, message):
    path = tmp_path / 'exporter.json'
    path.write_text(json.dumps(values))
    assert exporter.main(['--config', str(path), '--replay', os.devnull]) == 2
    assert message in capsys.readouterr().err


def test_the_defaults_listen_on_loopback_only(tmp_path):
    path = tmp_path / 'exporter.json'
    path.write_text('{}')
    loaded = exporter.load_config(str(path))
    assert (loaded['listen_address'], loaded['listen_port']) == ('127.0.0.1', 9154)


# ---------------------------------------------------------------------------
# The daemon as systemd runs it: serve, scrape, stop with SIGTERM, start again
# ---------------------------------------------------------------------------

def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def scrape(port, deadline):
    while True:
        try:
            connection = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
            connection.request('GET', '/metrics')
            return connection.getresponse().read().decode()
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)


def test_the_daemon_serves_saves_at_sigterm_and_reads_on_after_a_restart(tmp_path):
    entries = session_entries()
    half = 36
    (tmp_path / 'entries.json').write_text(''.join(json.dumps(e) + '\n' for e in entries[:half]))
    journalctl = fake_tool(tmp_path, 'journalctl', FAKE_JOURNALCTL % {
        'log': str(tmp_path / 'calls'), 'entries': str(tmp_path / 'entries.json'), 'batch': 10 ** 6, 'follow': True})
    port = free_port()
    cfg = {k: v for k, v in config(tmp_path, journalctl=journalctl, listen_port=port,
                                   postqueue=fake_tool(tmp_path, 'postqueue', 'pass\n'),
                                   systemctl=fake_tool(tmp_path, 'systemctl', 'print("active")\n')).items()
           if v != exporter.DEFAULTS.get(k)}
    (tmp_path / 'exporter.json').write_text(json.dumps(cfg))
    command = [sys.executable, SCRIPT, '--config', str(tmp_path / 'exporter.json')]
    for run in (1, 2):
        daemon = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.time() + 20
            body = scrape(port, deadline)
            want = 'mailstack_exporter_last_entry_timestamp_seconds %s\n' % (
                int(entries[-1 if run == 2 else half - 1]['__REALTIME_TIMESTAMP']) // 1_000_000)
            while want not in body and time.time() < deadline:
                time.sleep(0.05)
                body = scrape(port, deadline)
            assert want in body, body
            assert 'mailstack_exporter_journal_reader_up 1\n' in body
        finally:
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=10) == 0, daemon.stderr.read()
        state = json.loads((tmp_path / 'state.json').read_text())
        if run == 1:
            assert state['cursor'] == 'c%d' % half
            # What was logged while the exporter was down.
            (tmp_path / 'entries.json').write_text(''.join(json.dumps(e) + '\n' for e in entries))
    assert state['cursor'] == 'c%d' % len(entries)
    assert 'mailstack_sasl_recipients_total{login="bob@example.test"} 2\n' in body
    assert 'mailstack_send_limit_refusals_total{login="bob@example.test"} 2\n' in body
    assert 'mailstack_smtp_auth_failures_total{mechanism="PLAIN",network="127.0.0.0/24",login=""} 2\n' in body
    calls = [json.loads(line) for line in (tmp_path / 'calls').read_text().splitlines()]
    assert [call[4:6] for call in calls] == [['--lines=0', 'SYSLOG_FACILITY=2'], ['--lines=all', '--after-cursor=c%d' % half]]


# ---------------------------------------------------------------------------
# A real journal: files written by systemd-journal-remote, read by journalctl
# ---------------------------------------------------------------------------

JOURNAL_REMOTE = '/lib/systemd/systemd-journal-remote'
BOOT_ID = '0123456789abcdef0123456789abcdef'


def write_journal(path, entries):
    """A journal file at `path` (*.journal) holding `entries`, written from the journal export format by
    systemd-journal-remote (Debian package systemd-journal-remote, in the Makefile's TOOL_PACKAGES)."""
    assert os.path.exists(JOURNAL_REMOTE), 'systemd-journal-remote is missing: apt-get install systemd-journal-remote'
    records = []
    for entry in entries:
        fields = dict((k, v) for k, v in entry.items() if k != '__CURSOR')
        fields.update(_BOOT_ID=BOOT_ID, __MONOTONIC_TIMESTAMP=str(int(fields['__REALTIME_TIMESTAMP']) % 10 ** 9),
                      _SYSTEMD_UNIT='postfix@-.service')
        records.append(''.join('%s=%s\n' % item for item in sorted(fields.items())))
    proc = subprocess.run([JOURNAL_REMOTE, '--output=%s' % path, '-'], input='\n'.join(records) + '\n',
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_the_daemon_follows_a_real_journal_and_reads_on_after_a_restart(tmp_path):
    """Real journalctl on real journal files: the first start counts from now, entries written while it
    runs are counted as they come, and the 26 written while it is stopped are all counted after the
    restart (journalctl --follow alone would show only the last 10 of them)."""
    entries = session_entries()
    journal = tmp_path / 'journal'
    journal.mkdir()
    before = journal_entries(['2026-12-04 01:00:00 mx postfix/smtpd[9]: warning: unknown[192.0.2.1]: SASL PLAIN '
                              'authentication failed: authentication failure, sasl_username=alice@example.test'],
                             start=1_796_346_000_000_000)
    write_journal(journal / 'a.journal', before)  # logged before the first start: not counted
    port = free_port()
    cfg = {k: v for k, v in config(tmp_path, journalctl=shutil.which('journalctl'), journal_directory=str(journal),
                                   listen_port=port, postqueue=fake_tool(tmp_path, 'postqueue', 'pass\n'),
                                   systemctl=fake_tool(tmp_path, 'systemctl', 'print("active")\n')).items()
           if v != exporter.DEFAULTS.get(k)}
    (tmp_path / 'exporter.json').write_text(json.dumps(cfg))
    command = [sys.executable, SCRIPT, '--config', str(tmp_path / 'exporter.json')]

    def run_until(last, write=None):
        daemon = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.time() + 30
            want = 'mailstack_exporter_journal_reader_up 1\n'
            while want not in scrape(port, deadline) and time.time() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)  # journalctl has sought to its start
            if write:
                write()
            want = 'mailstack_exporter_last_entry_timestamp_seconds %d\n' % (
                int(last['__REALTIME_TIMESTAMP']) // 1_000_000)
            body = scrape(port, deadline)
            while want not in body and time.time() < deadline:
                time.sleep(0.05)
                body = scrape(port, deadline)
            assert want in body, body
            return body
        finally:
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=10) == 0, daemon.stderr.read()

    run_until(entries[35], lambda: write_journal(journal / 'b.journal', entries[:36]))
    cursor = json.loads((tmp_path / 'state.json').read_text())['cursor']
    assert re.match(r's=[0-9a-f]{32};i=[0-9a-f]+;b=%s;' % BOOT_ID, cursor), cursor
    write_journal(journal / 'c.journal', entries[36:])  # while the exporter is stopped
    body = run_until(entries[-1])
    assert body.startswith(exporter.render(EXPECTED_SCRAPE, {}))  # the counters, exactly; the gauges follow


# ---------------------------------------------------------------------------
# The daily summary (draft): what the counters counted since a snapshot
# ---------------------------------------------------------------------------

DELTAS = {
    'counters that went down were reset: they count from 0': (
        {FAILURES: {('PLAIN', V4, ''): 5}}, {FAILURES: {('PLAIN', V4, ''): 2}}, {FAILURES: {('PLAIN', V4, ''): 2}}),
    'a new series counts whole, one that did not grow is left out': (
        {MESSAGES: {('alice@example.test',): 4}},
        {MESSAGES: {('alice@example.test',): 4, ('bob@example.test',): 1}},
        {MESSAGES: {('bob@example.test',): 1}}),
}


@pytest.mark.parametrize('before, after, expected', DELTAS.values(), ids=list(DELTAS))
def test_counter_deltas(before, after, expected):
    assert exporter.counter_deltas(before, after) == expected


T_SUMMARY = 1_796_256_000  # 2026-12-03 00:00 UTC

SUMMARY_OF_THE_SESSION = """\
Counted from 2026-12-03 00:00 UTC to 2026-12-04 00:00 UTC.

Failed SMTP AUTH: 8
  by login: (other names) 5, alice@example.test 3
  by client network: 127.0.0.0/24 7, ::/64 1
  by mechanism: PLAIN 4, CRAM-MD5 2, LOGIN 2
Successful SMTP AUTH: 5
Messages from logged-in users: 3 to 4 recipients
  alice@example.test: 1 messages, 2 recipients
  bob@example.test: 2 messages, 2 recipients
Send-limit refusals: bob@example.test 2
Queue now: active 0, deferred 3, hold 0
"""


def test_the_summary_of_a_real_session():
    with open(POSTQUEUE_JSON, encoding='utf-8') as handle:
        queue = exporter.queue_sizes(handle.read())
    deltas = exporter.counter_deltas({}, EXPECTED_SESSION)
    assert exporter.summary_text(deltas, T_SUMMARY, T_SUMMARY + 86400, queue) == SUMMARY_OF_THE_SESSION


def test_the_summary_saves_a_snapshot_and_counts_from_it_the_next_day(tmp_path, capsys):
    cfg = config(tmp_path, postqueue=fake_tool(tmp_path, 'postqueue', 'import sys; sys.exit(69)\n'))
    daemon = exporter.Exporter(cfg)
    entries = session_entries()
    for entry in entries[:30]:
        daemon.feed(entry)
    daemon.save()
    snapshot = str(tmp_path / 'snapshot.json')
    assert exporter.summary(cfg, snapshot, clock=lambda: T_SUMMARY) == 0
    first = capsys.readouterr().out
    assert first.startswith('Since the counters began, to 2026-12-03 00:00 UTC.\n\nFailed SMTP AUTH: 8\n')
    assert 'Queue now' not in first  # postqueue failed: no queue line rather than a wrong one
    for entry in entries[30:]:
        daemon.feed(entry)
    daemon.save()
    assert exporter.summary(cfg, snapshot, clock=lambda: T_SUMMARY + 86400) == 0
    second = capsys.readouterr().out
    assert second.startswith('Counted from 2026-12-03 00:00 UTC to 2026-12-04 00:00 UTC.\n\nFailed SMTP AUTH: 0\n'
                             'Successful SMTP AUTH: 5\nMessages from logged-in users: 3 to 4 recipients\n')
    assert 'Send-limit refusals: bob@example.test 2\n' in second


# ---------------------------------------------------------------------------
# The daily summary by mail: the message, and sendmail taking it (or not)
# ---------------------------------------------------------------------------

MESSAGE_OF_THE_SESSION = (
    'From: mailstack-metrics@mx.example.test\n'
    'To: postmaster@example.test\n'
    'Subject: Mail summary for mx.example.test: 2026-12-03 00:00 UTC to 2026-12-04 00:00 UTC\n'
    'Date: Fri, 04 Dec 2026 00:00:00 +0000\n'
    'Message-ID: <summary.1@mx.example.test>\n'
    'Auto-Submitted: auto-generated\n'
    'Content-Type: text/plain; charset="utf-8"\n'
    'Content-Transfer-Encoding: 7bit\n'
    'MIME-Version: 1.0\n'
    '\n' + SUMMARY_OF_THE_SESSION)


def test_the_summary_message_exactly():
    message = exporter.summary_message(SUMMARY_OF_THE_SESSION, 'mailstack-metrics@mx.example.test',
                                       'postmaster@example.test', 'mx.example.test', T_SUMMARY, T_SUMMARY + 86400,
                                       message_id='<summary.1@mx.example.test>')
    assert message.as_bytes().decode('ascii') == MESSAGE_OF_THE_SESSION
    # An mbox delivery would quote a body line beginning with "From " (">From ").
    assert not re.search(r'(?m)^From ', SUMMARY_OF_THE_SESSION)


def test_the_first_summary_message_and_a_login_that_is_not_ascii():
    text = 'Since the counters began, to 2026-12-04 00:00 UTC.\n\nFailed SMTP AUTH: 1\n  by login: jos\u00e9@example.test 1\n'
    message = exporter.summary_message(text, 'reports@example.test', 'postmaster@example.test', 'mx.example.test',
                                       None, T_SUMMARY + 86400)
    raw = message.as_bytes()
    assert b'\nSubject: Mail summary for mx.example.test: the beginning to 2026-12-04 00:00 UTC\n' in raw
    assert b'\nContent-Transfer-Encoding: 8bit\n' in raw
    assert raw.endswith(text.encode('utf-8'))
    assert re.match(r'<[^<>@\s]+@mx\.example\.test>\Z', message['Message-ID']), message['Message-ID']


# A sendmail that writes its arguments and the message it read, then exits with the status given.
FAKE_SENDMAIL = '''\
import json, sys
with open(%(record)r, 'a') as handle:
    handle.write(json.dumps({'args': sys.argv[1:], 'message': sys.stdin.buffer.read().decode('utf-8')}) + '\\n')
if %(status)d:
    print('postdrop: warning: unable to look up public/pickup: No such file or directory', file=sys.stderr)
    print('sendmail: fatal: mailstack-metrics(998): unable to execute /usr/sbin/postdrop -r', file=sys.stderr)
sys.exit(%(status)d)
'''


def summary_config(tmp_path, status=0, **overrides):
    """The exporter's config with a fake sendmail exiting with `status`, a postconf that says the host is
    mx.example.test, and no postqueue; the state has the first 30 entries of the real session."""
    record = tmp_path / 'sendmail.jsonl'
    sendmail = fake_tool(tmp_path, 'sendmail', FAKE_SENDMAIL % {'record': str(record), 'status': status})
    postconf = fake_tool(tmp_path, 'postconf', 'import sys\nassert sys.argv[1:] == ["-h", "myhostname"]\n'
                                               'print("mx.example.test")\n')
    tools = {'sendmail': sendmail, 'postconf': postconf,
             'postqueue': fake_tool(tmp_path, 'postqueue', 'import sys; sys.exit(69)\n')}
    cfg = config(tmp_path, **dict(tools, **overrides))
    if not os.path.exists(cfg['state_file']):
        daemon = exporter.Exporter(cfg)
        for entry in session_entries()[:30]:
            daemon.feed(entry)
        daemon.save()
    return cfg


def sent(tmp_path):
    """[(arguments, message)] of each run of the fake sendmail."""
    path = tmp_path / 'sendmail.jsonl'
    if not path.exists():
        return []
    return [(item['args'], item['message']) for item in map(json.loads, path.read_text().splitlines())]


def test_the_summary_is_mailed_through_sendmail(tmp_path, capsys):
    cfg = summary_config(tmp_path)
    snapshot = tmp_path / 'snapshot.json'
    assert exporter.summary(cfg, str(snapshot), 'postmaster@example.test', clock=lambda: T_SUMMARY) == 0
    [(args, message)] = sent(tmp_path)
    assert args == ['-i', '-f', 'mailstack-metrics@mx.example.test', '--', 'postmaster@example.test']
    head, body = message.split('\n\n', 1)
    headers = dict(line.split(': ', 1) for line in head.splitlines())
    assert headers == {
        'From': 'mailstack-metrics@mx.example.test', 'To': 'postmaster@example.test',
        'Subject': 'Mail summary for mx.example.test: the beginning to 2026-12-03 00:00 UTC',
        'Date': 'Thu, 03 Dec 2026 00:00:00 +0000', 'Message-ID': headers['Message-ID'],
        'Auto-Submitted': 'auto-generated', 'Content-Type': 'text/plain; charset="utf-8"',
        'Content-Transfer-Encoding': '7bit', 'MIME-Version': '1.0'}
    assert body.startswith('Since the counters began, to 2026-12-03 00:00 UTC.\n\nFailed SMTP AUTH: 8\n')
    output = capsys.readouterr()
    assert output.out == ''  # mailed, not printed
    assert 'the summary to 2026-12-03 00:00 UTC was mailed to postmaster@example.test' in output.err
    assert json.loads(snapshot.read_text())['time'] == T_SUMMARY


def test_the_sender_comes_from_the_config(tmp_path):
    cfg = summary_config(tmp_path, summary_sender='reports@example.test')
    assert exporter.summary(cfg, str(tmp_path / 'snapshot.json'), 'postmaster@example.test',
                            clock=lambda: T_SUMMARY) == 0
    [(args, message)] = sent(tmp_path)
    assert args == ['-i', '-f', 'reports@example.test', '--', 'postmaster@example.test']
    assert message.startswith('From: reports@example.test\n')
    assert 'Subject: Mail summary for mx.example.test: ' in message  # the host is still Postfix's myhostname


def test_without_postconf_the_sender_is_at_this_host(tmp_path, monkeypatch):
    cfg = summary_config(tmp_path, postconf=str(tmp_path / 'no-postconf'))
    monkeypatch.setattr(exporter.socket, 'getfqdn', lambda: 'host.example.test')
    assert exporter.summary(cfg, str(tmp_path / 'snapshot.json'), 'postmaster@example.test',
                            clock=lambda: T_SUMMARY) == 0
    assert sent(tmp_path)[0][0][2] == 'mailstack-metrics@host.example.test'


def test_a_summary_sendmail_refused_leaves_the_snapshot_for_the_next_run(tmp_path, capsys):
    cfg = summary_config(tmp_path)
    snapshot = tmp_path / 'snapshot.json'
    assert exporter.summary(cfg, str(snapshot), 'postmaster@example.test', clock=lambda: T_SUMMARY) == 0
    kept = snapshot.read_bytes()
    failing = summary_config(tmp_path, status=75)
    with pytest.raises(exporter.MailError, match=r'sendmail exited with status 75: sendmail: fatal: '
                                                 r'mailstack-metrics\(998\): unable to execute /usr/sbin/postdrop -r\Z'):
        exporter.summary(failing, str(snapshot), 'postmaster@example.test', clock=lambda: T_SUMMARY + 86400)
    assert snapshot.read_bytes() == kept
    # The next day's run covers both days, from the snapshot the failed run left.
    cfg = summary_config(tmp_path)  # sendmail takes messages again
    assert exporter.summary(cfg, str(snapshot), 'postmaster@example.test', clock=lambda: T_SUMMARY + 2 * 86400) == 0
    subjects = [re.search(r'^Subject: (.*)$', message, re.M).group(1) for args, message in sent(tmp_path)]
    assert subjects == ['Mail summary for mx.example.test: the beginning to 2026-12-03 00:00 UTC',
                        'Mail summary for mx.example.test: 2026-12-03 00:00 UTC to 2026-12-04 00:00 UTC',
                        'Mail summary for mx.example.test: 2026-12-03 00:00 UTC to 2026-12-05 00:00 UTC']
    assert json.loads(snapshot.read_text())['time'] == T_SUMMARY + 2 * 86400


def test_a_missing_sendmail_leaves_the_snapshot_alone(tmp_path):
    cfg = summary_config(tmp_path, sendmail=str(tmp_path / 'no-sendmail'))
    snapshot = tmp_path / 'snapshot.json'
    with pytest.raises(exporter.MailError, match='cannot run .*/no-sendmail: No such file or directory'):
        exporter.summary(cfg, str(snapshot), 'postmaster@example.test', clock=lambda: T_SUMMARY)
    assert not snapshot.exists()


def write_config(tmp_path, cfg):
    path = tmp_path / 'exporter.json'
    path.write_text(json.dumps(cfg))
    return str(path)


def test_main_mails_to_the_configured_recipient_and_says_so_when_sendmail_fails(tmp_path, capsys):
    path = write_config(tmp_path, summary_config(tmp_path, status=1, summary_recipient='postmaster@example.test'))
    snapshot = str(tmp_path / 'snapshot.json')
    assert exporter.main(['--config', path, '--summary', snapshot, '--mail']) == 3
    assert capsys.readouterr().err.splitlines()[-1] == (
        'mailstack-metrics-exporter: the summary was not mailed (the next one covers its period too): %s exited '
        'with status 1: sendmail: fatal: mailstack-metrics(998): unable to execute /usr/sbin/postdrop -r'
        % (tmp_path / 'sendmail'))
    assert sent(tmp_path)[0][0][-2:] == ['--', 'postmaster@example.test']
    assert not os.path.exists(snapshot)


def test_main_mails_to_the_address_given(tmp_path, capsys):
    path = write_config(tmp_path, summary_config(tmp_path, summary_recipient='postmaster@example.test'))
    snapshot = str(tmp_path / 'snapshot.json')
    assert exporter.main(['--config', path, '--summary', snapshot, '--mail-to', 'admin@example.test']) == 0
    assert sent(tmp_path)[0][0][-2:] == ['--', 'admin@example.test']
    assert os.path.exists(snapshot)


MAIL_ARGUMENTS = {
    '--mail without a configured recipient': (['--mail'], 2, 'invalid config: --mail needs summary_recipient'),
    '--mail-to without --summary': (None, 2, '--mail and --mail-to go with --summary'),
    'two addresses': (['--mail-to', 'a@example.test,b@example.test'], 2, '--mail-to takes one mail address'),
    'an option as the address': (['--mail-to=-oQ/tmp@example.test'], 0, None),
    '--mail and --mail-to': (['--mail', '--mail-to', 'a@example.test'], 2, 'not allowed with argument'),
}


@pytest.mark.parametrize('arguments, status, message', MAIL_ARGUMENTS.values(), ids=list(MAIL_ARGUMENTS))
def test_mail_arguments(tmp_path, capsys, arguments, status, message):
    path = write_config(tmp_path, summary_config(tmp_path))
    snapshot = str(tmp_path / 'snapshot.json')
    argv = ['--config', path] + (['--summary', snapshot] + arguments if arguments else ['--mail-to', 'a@example.test'])
    try:
        result = exporter.main(argv)
    except SystemExit as exc:  # argparse refuses
        result = exc.code
    assert result == status
    if message:
        assert message in capsys.readouterr().err
        assert sent(tmp_path) == []
    else:
        # After "--", sendmail takes even a leading dash as an address, never as an option.
        assert sent(tmp_path)[0][0][-2:] == ['--', '-oQ/tmp@example.test']
