"""The metrics role on both hosts: known traffic from the outside client, scraped, compared exactly.

Each host is the server, the other container its outside client (outside
mynetworks), so both Postfix 3.7 (Debian 12) and 3.10 (Debian 13) lines are
counted. From the client, on 587 with STARTTLS: N failed AUTHs for alice (an
existing login) and M for a login nobody has, then K messages with R
recipients from two of alice's logins (one typed bare, one with its realm).
Every message has a recipient at example.net, which the scenario keeps in the
deferred queue (defer_transports: smtp). The counters are compared as the
difference between a scrape before and one after; every series the traffic
should not touch must not move. The send-limit refusals are tested where the
limit is reached (test_send_limit_debian13.py).

Then: the endpoint answers on 127.0.0.1 only; no password, subject or body is
in the scrape; a restart of Postfix and one of the exporter keep every counter
(they are read from the journal and saved with its cursor; the gauges are
read live). The scrapes run inside the server, as a local Prometheus would.
"""

import json
import uuid

import pytest

from helpers.metrics import ENDPOINT, SCRAPE, parse_exposition, scrape, series
from helpers.molecule import container, wait_until
from helpers.smtp import auth_plain, smtp_dialog

PASSWORDS = {'alice': 'alice-test-password', 'alice-phone': 'alice-phone-test-password',
             'alice-laptop': 'alice-laptop-test-password', 'bob@other.test': 'bob-test-password'}
REALM = 'mailstack.test'
FAILURES_ALICE = 3  # N
FAILURES_UNKNOWN = 2  # M
UNKNOWN_LOGIN = 'nobody-%s' % uuid.uuid4().hex[:8]
# K = 3 messages, R = 5 recipients, from two logins as the clients type them.
# LOCAL is alice's mailbox on the server; every message also goes to example.net (deferred).
MESSAGES = [('alice-phone', ['LOCAL', 'one@example.net']),
            ('alice-laptop@mailstack.test', ['two@example.net']),
            ('alice-laptop@mailstack.test', ['LOCAL', 'three@example.net'])]
COUNTERS = ('mailstack_smtp_auth_failures_total', 'mailstack_smtp_auth_failures_by_login_total',
            'mailstack_smtp_auth_successes_total', 'mailstack_sasl_messages_total', 'mailstack_sasl_recipients_total',
            'mailstack_send_limit_refusals_total', 'mailstack_fail2ban_bans_total')


def _name(host):
    return host.backend.get_hostname()


def _other(name):
    return 'default-debian13' if name == 'default-debian12' else 'default-debian12'


def counters(box):
    return {key: value for key, value in parse_exposition(scrape(box)).items() if key[0] in COUNTERS}


def _client_address(client, server):
    """The address the server sees for the client: the source of a connection to its 587."""
    return client.check_output("python3 -c 'import socket, sys; "
                               "print(socket.create_connection((sys.argv[1], 587), 10).getsockname()[0])' %s" % server)


def _failure_session(server, login, password, count):
    steps = ['@EHLO', '@STARTTLS'] + [auth_plain(login, password)] * count + ['QUIT']
    return {'server': server, 'port': 587, 'steps': steps}


def _message_session(server, login, recipients, token):
    steps = ['@EHLO', '@STARTTLS', auth_plain(login, PASSWORDS[login.split('@')[0]]),
             'MAIL FROM:<alice@%s>' % REALM] + ['RCPT TO:<%s>' % rcpt for rcpt in recipients]
    steps += ['@DATA Subject: %s\n\n%s\n' % (token, token), 'QUIT']
    return {'server': server, 'port': 587, 'steps': steps}


def _delta(before, after):
    keys = set(before) | set(after)
    return {key: after.get(key, 0) - before.get(key, 0) for key in keys if after.get(key, 0) != before.get(key, 0)}


def _deferred(box):
    return parse_exposition(scrape(box))[series('mailstack_postfix_queue_messages', queue='deferred')]


def _postqueue_deferred(box):
    return sum(1 for line in box.check_output('postqueue -j').splitlines() if json.loads(line)['queue_name'] == 'deferred')


@pytest.fixture(scope='module')
def traffic(host):
    """Known traffic from the other container; (server box, scrape before, scrape after, expected, token, network)."""
    name = _name(host)
    box, client = container(name), container(_other(name))
    server = name  # the scenario network resolves the container names
    local = 'alice@%s.%s' % (name, REALM)
    address = _client_address(client, server)
    network = '.'.join(address.split('.')[:3]) + '.0/24'
    token = 'metrics-%s' % uuid.uuid4().hex
    deferred_before = _deferred(box)
    before = counters(box)
    programs = [_failure_session(server, 'alice', 'not-' + PASSWORDS['alice'], FAILURES_ALICE),
                _failure_session(server, UNKNOWN_LOGIN, 'whatever-password', FAILURES_UNKNOWN)]
    programs += [_message_session(server, login, [local if rcpt == 'LOCAL' else rcpt for rcpt in rcpts], token)
                 for login, rcpts in MESSAGES]
    results = smtp_dialog(client, programs)
    codes = [[step['code'] for step in result['steps']] for result in results]
    assert codes[0][2:2 + FAILURES_ALICE] == [535] * FAILURES_ALICE, results[0]
    assert codes[1][2:2 + FAILURES_UNKNOWN] == [535] * FAILURES_UNKNOWN, results[1]
    for result, code in zip(results[2:], codes[2:]):
        assert code[2] == 235 and code[-2] == 250 and 'queued as' in result['steps'][-2]['text'], result
    messages = len(MESSAGES)
    expected = {
        series('mailstack_smtp_auth_failures_total', login='alice@' + REALM, mechanism='PLAIN', network=network):
            FAILURES_ALICE,
        series('mailstack_smtp_auth_failures_total', login='', mechanism='PLAIN', network=network): FAILURES_UNKNOWN,
        series('mailstack_smtp_auth_failures_by_login_total', login='alice@' + REALM): FAILURES_ALICE,
        series('mailstack_smtp_auth_failures_by_login_total', login=''): FAILURES_UNKNOWN,
        series('mailstack_smtp_auth_successes_total', mechanism='PLAIN', network=network): messages,
        series('mailstack_sasl_messages_total', login='alice-phone@' + REALM): 1,
        series('mailstack_sasl_recipients_total', login='alice-phone@' + REALM): 2,
        series('mailstack_sasl_messages_total', login='alice-laptop@' + REALM): 2,
        series('mailstack_sasl_recipients_total', login='alice-laptop@' + REALM): 3,
    }
    # Every message waits in the deferred queue for its example.net recipient.
    wait_until('the deferred queue in the scrape (value: messages)', lambda: _deferred(box), 60,
               until=lambda value: value == deferred_before + messages)
    after = wait_until('the counters of the traffic (value: their differences)', lambda: counters(box), 30,
                       until=lambda value: _delta(before, value) == expected)
    return box, before, after, expected, token, network


def test_the_counters_moved_by_exactly_the_traffic(traffic):
    box, before, after, expected, _token, _network = traffic
    measured = _delta(before, after)
    rows = ['%s%s: expected %d, measured %d' % (key[0], dict(key[1]), value, measured.get(key, 0))
            for key, value in sorted(expected.items())]
    print('\n'.join(rows))
    assert measured == expected, rows


def test_the_deferred_queue_is_what_postqueue_says(traffic):
    box = traffic[0]
    assert _deferred(box) == _postqueue_deferred(box) >= len(MESSAGES)


def test_postfix_and_the_policy_services_are_up(host, traffic):
    samples = parse_exposition(scrape(traffic[0]))
    up = {dict(key[1])['service']: value for key, value in samples.items() if key[0] == 'mailstack_service_up'}
    wanted = {'postfix': 1}
    if _name(host) == 'default-debian13':  # the send limit's policy service
        wanted['send_limit'] = 1
    assert up == wanted, samples
    assert samples[series('mailstack_exporter_journal_reader_up')] == 1


def test_no_password_subject_or_body_is_in_any_metric(traffic):
    text = scrape(traffic[0])
    token = traffic[4]
    for secret in list(PASSWORDS.values()) + ['not-' + PASSWORDS['alice'], 'whatever-password', token, UNKNOWN_LOGIN]:
        assert secret not in text, secret


def test_the_endpoint_answers_on_loopback_only(host, traffic):
    box = traffic[0]
    name = _name(host)
    listening = box.check_output("ss -Hltn 'sport = :9154'")
    assert [line.split()[3] for line in listening.splitlines()] == ['127.0.0.1:9154'], listening
    client = container(_other(name))
    refused = client.run("python3 -c 'import socket, sys; socket.create_connection((sys.argv[1], 9154), 5)' %s" % name)
    assert refused.rc != 0 and 'ConnectionRefusedError' in refused.stderr, refused.stderr


def test_a_restart_of_postfix_and_of_the_exporter_keeps_every_counter(traffic):
    box, _before, after = traffic[:3]
    box.check_output('systemctl restart postfix')
    box.check_output('systemctl restart mailstack-metrics-exporter')
    wait_until('the endpoint after the restart', lambda: box.run(SCRAPE % ENDPOINT).rc == 0, 30)
    assert _delta(after, counters(box)) == {}
