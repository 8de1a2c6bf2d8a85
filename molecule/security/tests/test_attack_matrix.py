"""Attack matrix: open-relay tricks and AUTH attacks from a client outside mynetworks.

Every dialogue runs inside security-outside (smtp-dialog, Python smtplib on a
raw command level, and swaks) against security-server over the scenario
network. The server runs submission-only AUTH (587; none on 25), STARTTLS
before AUTH, smtpd_client_auth_rate_limit 4 per anvil_rate_time_unit 10s and
reject_sender_login_mismatch.

anvil counts AUTH commands per client: `BUDGET` spends the four allowed ones
and waits for a fresh window before a test would exceed them, so only the
rate-limit test ever sees the limit.
"""

import base64
import json
import time

import pytest

from helpers.smtp import swaks as _swaks
from security_helpers import PASSWORDS, SERVER, dialog, dialogs, plain

AUTH_RATE_LIMIT = 4
ANVIL_TIME_UNIT = 10
OUTSIDE_DOMAIN = 'outside.example.net'
SENDER = 'probe@example.org'


class _AuthBudget:
    """The AUTH commands this client sent in anvil's current window (counted generously)."""

    def __init__(self):
        self.count = 0
        self.last = 0.0

    def fresh_window(self):
        # anvil restarts the count at the first event at least one time unit after the
        # window began; waiting that long after our last AUTH is always enough.
        wait = self.last + ANVIL_TIME_UNIT + 1 - time.monotonic()
        if self.count and wait > 0:
            time.sleep(wait)
        self.count = 0

    def spend(self, n=1):
        if self.count + n > AUTH_RATE_LIMIT:
            self.fresh_window()
        self.count += n

    def done(self):
        self.last = time.monotonic()


BUDGET = _AuthBudget()


def _attack(outside, steps, port=587, auth_commands=0):
    if auth_commands:
        BUDGET.spend(auth_commands)
    try:
        return dialog(outside, steps, server=SERVER, port=port)
    finally:
        if auth_commands:
            BUDGET.done()


def _reply(result, step):
    for entry in result['steps']:
        if entry['step'] == step:
            return entry['code'], entry['text']
    raise AssertionError('step %r not in the dialogue: %s' % (step, json.dumps(result, indent=1)))


# --- open relay --------------------------------------------------------------------------

def _relay_recipients(server_name, outside_ip):
    return {
        'plain': 'user@' + OUTSIDE_DOMAIN,
        'percent-hack': 'user%%%s@%s' % (OUTSIDE_DOMAIN, server_name),
        'percent-hack-localhost': 'user%%%s@localhost' % OUTSIDE_DOMAIN,
        'source-route': '@%s:user@%s' % (server_name, OUTSIDE_DOMAIN),
        'source-route-two-hops': '@%s,@%s:user@%s' % (server_name, server_name, OUTSIDE_DOMAIN),
        'quoted-local-part': '"user@%s"@%s' % (OUTSIDE_DOMAIN, server_name),
        'quoted-percent': '"user%%%s"@%s' % (OUTSIDE_DOMAIN, server_name),
        'bang-path': '%s!user@%s' % (OUTSIDE_DOMAIN, server_name),
        'bang-path-unqualified': '%s!user' % OUTSIDE_DOMAIN,
        'uppercase-domain': 'USER@' + OUTSIDE_DOMAIN.upper(),
        'mixed-case-domain': 'user@Outside.Example.NET',
        'trailing-dot': 'user@%s.' % OUTSIDE_DOMAIN,
        'server-name-as-prefix': 'user@%s.%s' % (server_name, OUTSIDE_DOMAIN),
        'localhost-subdomain': 'user@localhost.' + OUTSIDE_DOMAIN,
        'ip-literal-of-client': 'user@[%s]' % outside_ip,
        'ip-literal-documentation': 'user@[192.0.2.10]',
        'ipv6-literal': 'user@[IPv6:2001:db8::10]',
        'double-at': 'user@%s@%s' % (OUTSIDE_DOMAIN, server_name),
    }


RELAY_CASES = ['plain', 'percent-hack', 'percent-hack-localhost', 'source-route', 'source-route-two-hops',
               'quoted-local-part', 'quoted-percent', 'bang-path', 'bang-path-unqualified', 'uppercase-domain',
               'mixed-case-domain', 'trailing-dot', 'server-name-as-prefix', 'localhost-subdomain',
               'ip-literal-of-client', 'ip-literal-documentation', 'ipv6-literal', 'double-at']


@pytest.fixture(scope='module')
def outside_ip(outside):
    return outside.check_output('hostname -I').split()[0]


@pytest.fixture(scope='module')
def relay_recipients(server_name, outside_ip):
    return _relay_recipients(server_name, outside_ip)


def _relay_steps(rcpt, tls):
    return ['@EHLO'] + (['@STARTTLS'] if tls == 'starttls' else []) + \
        ['MAIL FROM:<%s>' % SENDER, 'RCPT TO:<%s>' % rcpt, 'QUIT']


@pytest.fixture(scope='module')
def relay_results(outside, relay_recipients):
    """Every relay attempt, plaintext and after STARTTLS, in one `podman exec` of smtp-dialog."""
    keys = [(case, tls) for case in RELAY_CASES for tls in ('plaintext', 'starttls')]
    programs = [{'server': SERVER, 'port': 25, 'steps': _relay_steps(relay_recipients[case], tls)} for case, tls in keys]
    return dict(zip(keys, dialogs(outside, programs)))


@pytest.mark.parametrize('tls', ['plaintext', 'starttls'])
@pytest.mark.parametrize('case', RELAY_CASES)
def test_unauthenticated_relay_on_25_is_refused(relay_results, relay_recipients, case, tls):
    rcpt = relay_recipients[case]
    result = relay_results[(case, tls)]
    assert _reply(result, 'MAIL FROM:<%s>' % SENDER)[0] == 250, result
    code, text = _reply(result, 'RCPT TO:<%s>' % rcpt)
    assert code != 250 and 400 <= code < 600, (rcpt, code, text)


@pytest.mark.parametrize('case', ['plain', 'percent-hack', 'source-route', 'uppercase-domain', 'trailing-dot'])
def test_unauthenticated_relay_with_swaks_is_refused(outside, server_name, relay_recipients, case):
    rcpt = relay_recipients[case]
    transcript = _swaks(outside, '-s', SERVER, '-p', '25', '-f', SENDER, '-t', rcpt, '--quit-after', 'RCPT')
    rcpt_reply = transcript.split('RCPT TO:', 1)[1].splitlines()[1]
    assert rcpt_reply.startswith('<** ') and ' 250 ' not in rcpt_reply, transcript


def test_unauthenticated_relay_on_587_is_refused(outside):
    rcpt = 'user@' + OUTSIDE_DOMAIN
    result = _attack(outside, ['@EHLO', '@STARTTLS', 'MAIL FROM:<%s>' % SENDER, 'RCPT TO:<%s>' % rcpt, 'QUIT'])
    code, text = _reply(result, 'RCPT TO:<%s>' % rcpt)
    assert code == 554 and '5.7.1' in text, (code, text)


def test_no_attack_recipient_was_queued(server, relay_recipients):
    queued = [json.loads(line) for line in server.check_output('postqueue -j').splitlines()]
    addresses = {r['address'].lower() for entry in queued for r in entry['recipients']}
    assert not addresses & {rcpt.lower() for rcpt in relay_recipients.values()}
    assert not any(OUTSIDE_DOMAIN in address for address in addresses), addresses


# --- AUTH without TLS, on port 25, anonymous ---------------------------------------------------

def test_auth_not_offered_before_starttls_on_587(outside):
    result = _attack(outside, ['@EHLO', '@STARTTLS', 'QUIT'])
    before, after = result['steps'][0]['features'], result['steps'][1]['features']
    assert 'starttls' in before and 'auth' not in before, before
    assert 'auth' in after, after


@pytest.mark.parametrize('mech', ['PLAIN', 'LOGIN'])
def test_auth_command_before_starttls_is_refused(outside, mech):
    line = 'AUTH PLAIN ' + plain('', 'alice', PASSWORDS['alice']) if mech == 'PLAIN' else 'AUTH LOGIN'
    result = _attack(outside, ['@EHLO', line, 'QUIT'], auth_commands=1)
    code, text = _reply(result, line)
    assert code in (503, 530, 538), (code, text)


def test_auth_not_offered_on_25_when_submission_only(outside):
    result = _attack(outside, ['@EHLO', '@STARTTLS', 'QUIT'], port=25)
    assert 'auth' not in result['steps'][0]['features']
    assert 'auth' not in result['steps'][1]['features'], result


def test_auth_command_on_25_is_refused_when_submission_only(outside):
    line = 'AUTH PLAIN ' + plain('', 'alice', PASSWORDS['alice'])
    result = _attack(outside, ['@EHLO', '@STARTTLS', line, 'QUIT'], port=25, auth_commands=1)
    code, text = _reply(result, line)
    assert code == 503, (code, text)


def test_only_the_configured_mechanisms_are_offered(outside):
    result = _attack(outside, ['@EHLO', '@STARTTLS', 'QUIT'])
    assert sorted(result['steps'][1]['features']['auth'].split()) == ['CRAM-MD5', 'LOGIN', 'PLAIN']


def test_noanonymous_is_in_force(server):
    assert 'noanonymous' in server.check_output('postconf -h smtpd_sasl_security_options')


@pytest.mark.parametrize('line', ['AUTH ANONYMOUS', 'AUTH ANONYMOUS ' + base64.b64encode(b'guest@example.org').decode()],
                         ids=['no-trace', 'with-trace'])
def test_anonymous_mechanism_is_refused(outside, line):
    result = _attack(outside, ['@EHLO', '@STARTTLS', line, '*', 'QUIT'], auth_commands=1)
    code, text = _reply(result, line)
    assert code != 235 and code != 334 and 500 <= code < 600, (code, text)


# --- bad credentials ------------------------------------------------------------------------------

def _b64(raw):
    return base64.b64encode(raw).decode()


BAD_CREDENTIALS = {
    'wrong-password': ['AUTH PLAIN ' + plain('', 'alice', 'not-the-password')],
    'unknown-user': ['AUTH PLAIN ' + plain('', 'mallory', PASSWORDS['alice'])],
    'empty-password': ['AUTH PLAIN ' + plain('', 'alice', '')],
    'empty-user-and-password': ['AUTH PLAIN ' + plain('', '', '')],
    'other-users-password': ['AUTH PLAIN ' + plain('', 'alice', PASSWORDS['bob'])],
    'authzid-of-another-user': ['AUTH PLAIN ' + plain('bob', 'alice', PASSWORDS['alice'])],
    'user-in-foreign-realm': ['AUTH PLAIN ' + plain('', 'alice@' + OUTSIDE_DOMAIN, PASSWORDS['alice'])],
    'password-with-trailing-newline': ['AUTH PLAIN ' + plain('', 'alice', PASSWORDS['alice'] + '\n')],
    'overlong-password-1000': ['AUTH PLAIN ' + plain('', 'alice', 'A' * 1000)],
    'overlong-user-1000': ['AUTH PLAIN ' + plain('', 'a' * 1000, PASSWORDS['alice'])],
    'overlong-line-12000': ['AUTH PLAIN ' + plain('', 'alice', 'B' * 9000)],
    'no-nul-separators': ['AUTH PLAIN ' + _b64(('alice' + PASSWORDS['alice']).encode())],
    'invalid-base64': ['AUTH PLAIN !!!not*base64!!!'],
    'invalid-base64-in-continuation': ['AUTH PLAIN', '%%%%'],
    'cancelled-exchange': ['AUTH PLAIN', '*'],
    'login-wrong-password': ['AUTH LOGIN', _b64(b'alice'), _b64(b'not-the-password')],
}


@pytest.mark.parametrize('case', sorted(BAD_CREDENTIALS))
def test_bad_credentials_are_refused(outside, case):
    lines = BAD_CREDENTIALS[case]
    result = _attack(outside, ['@EHLO', '@STARTTLS'] + lines + ['QUIT'], auth_commands=1)
    replies = [entry['code'] for entry in result['steps'][2:2 + len(lines)]]
    final = replies[-1]
    assert 235 not in replies, result
    # libsasl2 answers an empty login with a generic (temporary) failure.
    expected = (454,) if case == 'empty-user-and-password' else (501, 535)
    assert final in expected, (case, result['steps'][2:])


@pytest.mark.parametrize('mech', ['LOGIN', 'CRAM-MD5'])
def test_bad_password_with_swaks_is_refused(outside, mech):
    BUDGET.spend(1)
    try:
        transcript = _swaks(outside, '-s', SERVER, '-p', '587', '-tls', '-a', mech,
                            '-au', 'alice', '-ap', 'not-the-password', '--quit-after', 'AUTH')
    finally:
        BUDGET.done()
    assert '535 5.7.8' in transcript and ' 235 ' not in transcript, transcript


# --- sender login mismatch ------------------------------------------------------------------------

def test_sender_login_mismatch_is_refused(outside, server_name):
    mine, theirs = 'alice@' + server_name, 'bob@' + server_name
    steps = ['@EHLO', '@STARTTLS', 'AUTH PLAIN ' + plain('', 'alice', PASSWORDS['alice']),
             'MAIL FROM:<%s>' % theirs, 'RCPT TO:<%s>' % mine, 'RSET',
             'MAIL FROM:<%s>' % mine, 'RCPT TO:<user@%s>' % OUTSIDE_DOMAIN, 'RSET', 'QUIT']
    result = _attack(outside, steps, auth_commands=1)
    codes = [entry['code'] for entry in result['steps']]
    # The login works, so the refusals below are the policy, not a failed login.
    assert codes[2] == 235, result
    assert codes[4] == 553 and '5.7.1' in result['steps'][4]['text'], result['steps'][4]
    # Control: her own address, relayed after AUTH, is accepted.
    assert codes[7] == 250, result['steps'][7]


# --- password guessing ------------------------------------------------------------------------------

def test_auth_rate_limit_refuses_the_next_attempt(server, outside):
    assert server.check_output('postconf -h smtpd_client_auth_rate_limit') == str(AUTH_RATE_LIMIT)
    BUDGET.fresh_window()
    codes = []
    try:
        for attempt in range(AUTH_RATE_LIMIT + 1):
            # The last attempt even carries the right password.
            password = PASSWORDS['alice'] if attempt == AUTH_RATE_LIMIT else 'guess-%d' % attempt
            line = 'AUTH PLAIN ' + plain('', 'alice', password)
            result = dialog(outside, ['@EHLO', '@STARTTLS', line, 'QUIT'], server=SERVER)
            codes.append(_reply(result, line))
    finally:
        BUDGET.count = AUTH_RATE_LIMIT + 1
        BUDGET.done()
    assert [reply[0] for reply in codes[:AUTH_RATE_LIMIT]] == [535] * AUTH_RATE_LIMIT, codes
    code, text = codes[AUTH_RATE_LIMIT]
    assert code in (421, 450) and 'too many' in text.lower(), codes


def test_after_the_window_the_right_password_works_again(outside):
    BUDGET.fresh_window()
    line = 'AUTH PLAIN ' + plain('', 'alice', PASSWORDS['alice'])
    result = _attack(outside, ['@EHLO', '@STARTTLS', line, 'QUIT'], auth_commands=1)
    assert _reply(result, line)[0] == 235, result


def test_queue_holds_no_unauthenticated_mail(server):
    # Nothing was sent with DATA in this file; a queued message would be a relay leak.
    assert server.check_output('postqueue -j') == ''
