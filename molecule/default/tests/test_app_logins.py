"""alice's extra logins (app passwords), tested from the outside client.

molecule.yml gives alice, on both hosts, two extra logins with passwords of
their own: alice-phone and alice-laptop. The sender login map lets every
login of alice send as her address (alice@mailstack.test) and her aliases.
From the other container of the scenario (outside this host's mynetworks),
each login authenticates on 587, sends one message as alice's address and
one as an alias, and both reach /var/mail/alice; a login sending as another
user's address, or one nobody owns, is refused
(reject_authenticated_sender_login_mismatch on the submission services).

Then, on default-debian12 only, the sasl_users role runs again
(sasl_users.yml) with alice-phone set to state absent: alice-phone gets
535 and leaves the map, while alice-laptop and alice still send. A last run
with the scenario's list puts it back, so the host is as converge left it
(the check-mode test of test_default.py, which runs later, finds no change).
"""

import copy
import json
import os
import uuid

import pytest
import yaml

from helpers.molecule import container, run_converge, wait_until
from helpers.smtp import auth_plain, rcpt_replies, smtp_dialog, smtp_probe

PASSWORDS = {'alice': 'alice-test-password', 'alice-phone': 'alice-phone-test-password',
             'alice-laptop': 'alice-laptop-test-password'}
# As the clients log in: bare (Cyrus adds smtpd_sasl_local_domain), or with the realm.
LOGINS = {'alice': 'alice', 'alice-phone': 'alice-phone', 'alice-laptop': 'alice-laptop@mailstack.test'}
EXTRA = ['alice-phone', 'alice-laptop']
ADDRESS = 'alice@mailstack.test'
ALIAS = 'sales@mailstack.test'
REVOKED_ON = 'default-debian12'
REVOKED = 'alice-phone'
MAP = 'hash:/etc/postfix/sender_login'
SASLDB = '/var/spool/postfix/etc/sasldb2'


def _name(host):
    return host.backend.get_hostname()


def _other(name):
    """The other container of the scenario: the outside client of `name`."""
    return container('default-debian13' if name == 'default-debian12' else 'default-debian12')


@pytest.fixture
def box(host):
    return container(host)


def _send(name, login, sender):
    """From the other container: log in on `name`:587 as `login` and send one message from `sender` to alice there.

    Returns (the probe's report, the message's token, in its subject).
    """
    token = 'app-login-%s-%s' % (login, uuid.uuid4().hex[:12])
    probe = smtp_probe(_other(name), '--server', name, '--port', '587', '--tls', 'starttls', '--mech', 'PLAIN',
                       '--user', LOGINS[login], '--password', PASSWORDS[login], '--sender', sender,
                       '--to', 'alice@%s.mailstack.test' % name, '--subject', token)
    return probe, token


def _assert_sent(probe):
    assert probe['auth'][0] == 235, probe
    assert probe['rcpt'][0] == 250, probe
    assert probe['data'][0] == 250 and 'queued as' in probe['data'][1], probe


def _wait_delivered(box, tokens):
    wait_until('%s in /var/mail/alice (value: the tokens not there yet)' % ', '.join(tokens),
               lambda: [token for token in tokens if box.run('grep -q %s /var/mail/alice' % token).rc != 0], 60,
               until=lambda missing: not missing, diagnose=lambda: box.run('postqueue -p').stdout)


def _owners(box, address):
    """The logins the sender login map gives for `address` (postmap -q), [] when none."""
    out = box.run('postmap -q %s %s' % (address, MAP))
    return [owner.strip() for owner in out.stdout.split(',')] if out.rc == 0 else []


# --- every login of alice, from the outside client ---------------------------------------------

def test_the_map_gives_alices_addresses_to_all_her_logins(box):
    logins = ['alice@mailstack.test', 'alice', 'alice-phone@mailstack.test', 'alice-phone',
              'alice-laptop@mailstack.test', 'alice-laptop']
    for address in (ADDRESS, ALIAS, 'alice@%s.mailstack.test' % _name(box)):
        assert _owners(box, address) == logins, address


def test_each_login_sends_as_alice_and_her_alias_and_the_mail_is_delivered(box):
    tokens = []
    for login in EXTRA:
        for sender in (ADDRESS, ALIAS):
            probe, token = _send(_name(box), login, sender)
            _assert_sent(probe)
            tokens.append(token)
    _wait_delivered(box, tokens)


def test_each_login_is_refused_another_users_address(box):
    name = _name(box)
    programs = [{'server': name, 'port': 587, 'steps': [
        '@EHLO', '@STARTTLS', auth_plain(LOGINS[login], PASSWORDS[login]),
        'MAIL FROM:<bob@other.test>', 'RCPT TO:<alice@%s.mailstack.test>' % name, 'RSET',
        'MAIL FROM:<nobody@mailstack.test>', 'RCPT TO:<alice@%s.mailstack.test>' % name, 'RSET', 'QUIT']}
        for login in EXTRA]
    for login, result in zip(EXTRA, smtp_dialog(_other(name), programs)):
        assert result['steps'][2]['code'] == 235, result
        replies = rcpt_replies(result)
        assert len(replies) == 2, result
        for code, text in replies:
            assert code == 553 and '5.7.1' in text and 'not owned by user %s' % login in text, (login, replies)


# --- one login revoked alone (default-debian12) ------------------------------------------------

def _scenario_users():
    """sasl_users_list as molecule.yml gives it (its templates are left to Ansible)."""
    with open(os.path.join(os.environ['MOLECULE_SCENARIO_DIRECTORY'], 'molecule.yml')) as handle:
        return yaml.safe_load(handle)['provisioner']['inventory']['group_vars']['all']['sasl_users_list']


def _run_sasl_users(users):
    """The sasl_users role alone on REVOKED_ON with `users`; returns its recap counters."""
    recap, output = run_converge('-l', REVOKED_ON, '-e', json.dumps({'sasl_users_list': users, 'sasl_users_sasldb_file': SASLDB}),
                                 playbook='sasl_users.yml')
    assert recap[REVOKED_ON]['failed'] == 0 and recap[REVOKED_ON]['unreachable'] == 0, output[-4000:]
    assert not [password for password in PASSWORDS.values() if password in output], 'a password in the output'
    return recap[REVOKED_ON]


def _sasldb_users(box):
    return sorted(line.split(':')[0] for line in box.check_output('sasldblistusers2 -f %s' % SASLDB).splitlines())


def test_a_revoked_login_is_refused_and_the_others_still_send():
    box = container(REVOKED_ON)
    users = _scenario_users()
    revoked = copy.deepcopy(users)
    for login in next(user for user in revoked if user['name'] == 'alice')['logins']:
        if login['name'] == REVOKED:
            login.clear()
            login.update(name=REVOKED, state='absent')
    assert REVOKED + '@mailstack.test' in _sasldb_users(box)
    try:
        assert _run_sasl_users(revoked)['changed'] > 0
        assert REVOKED + '@mailstack.test' not in _sasldb_users(box)
        assert [owner for owner in _owners(box, ADDRESS) if owner.startswith(REVOKED)] == []
        probe, _token = _send(REVOKED_ON, REVOKED, ADDRESS)
        assert probe['auth'][0] == 535 and probe['rcpt'][0] >= 500, probe
        tokens = []
        for login in ('alice-laptop', 'alice'):
            probe, token = _send(REVOKED_ON, login, ADDRESS)
            _assert_sent(probe)
            tokens.append(token)
        _wait_delivered(box, tokens)
    finally:
        restored = _run_sasl_users(users)
    assert restored['changed'] > 0
    assert REVOKED + '@mailstack.test' in _sasldb_users(box)
    assert REVOKED in _owners(box, ADDRESS)
    probe, token = _send(REVOKED_ON, REVOKED, ALIAS)
    _assert_sent(probe)
    _wait_delivered(box, [token])
