"""Extra logins (app passwords): the whole sasl_users role run on localhost against a sasldb and a map in a temp dir.

The real sasldb_users module (db_dump, db_load, sasldblistusers2) writes the
users and their extra logins; each login is then checked with the real
libsasl2 (tests/helpers/sasl_auth.py, as smtpd asks it), and the sender login
map with the real postmap. One login set to state absent is refused while
the other and the user still log in, and the map drops it; check mode
predicts each run, and a re-run changes nothing. No password may appear in
the output.
"""

import re
import subprocess

import pytest

from helpers.postfix import make_config_dir
from helpers.roles import run_playbook
from helpers.sasl_auth import authenticate

SASL_OK, SASL_NOUSER = 0, -20
REALM = 'mailstack.test'
PASSWORDS = {'alice': 'Alice-S3cret-main', 'alice-phone': 'Alice-S3cret-phone', 'alice-laptop': 'Alice-S3cret-laptop',
             'bob': 'Bob-S3cret-main'}
# The role's main entry point (argument_specs included); lookup_table gets a Postfix
# configuration directory of the test's own (this machine's /etc/postfix is not one).
PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    mailstack.sasl_postfix.lookup_table:
      config_dir: {config_dir}
  tasks:
    - ansible.builtin.include_role:
        name: mailstack.sasl_postfix.sasl_users
"""
RECAP = re.compile(r'^localhost\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)', re.M)


def _users(phone_state='present'):
    phone = {'name': 'alice-phone', 'password': PASSWORDS['alice-phone']}
    if phone_state == 'absent':
        phone = {'name': 'alice-phone', 'state': 'absent'}
    return [
        {'name': 'alice', 'password': PASSWORDS['alice'], 'aliases': ['sales@%s' % REALM],
         'logins': [phone, {'name': 'alice-laptop', 'password': PASSWORDS['alice-laptop']}]},
        {'name': 'bob', 'realm': 'other.test', 'password': PASSWORDS['bob']},
    ]


@pytest.fixture
def paths(tmp_path):
    sasldb = tmp_path / 'sasldb2'
    sasldb.write_bytes(b'')  # the cyrus_sasl role creates it; the role writes into an existing one
    return {'sasldb': str(sasldb), 'map': str(tmp_path / 'sender_login'), 'config_dir': make_config_dir(tmp_path / 'postfix')}


def _role(tmp_path, paths, variables, extra_args=()):
    """Run the role with `variables` as extra vars; returns (rc, output)."""
    return run_playbook(tmp_path, PLAY.format(config_dir=paths['config_dir']), variables, extra_args)


def _run(tmp_path, paths, users, *extra_args):
    """The role on localhost, which must succeed; returns (changed, output)."""
    variables = {'sasl_users_backend': 'sasldb', 'sasl_users_sasldb_file': paths['sasldb'], 'sasl_users_default_realm': REALM,
                 'sasl_users_exclusive': True, 'sasl_users_sender_login_map': 'hash:' + paths['map'],
                 'sasl_users_list': users}
    rc, output = _role(tmp_path, paths, variables, extra_args)
    assert rc == 0, output
    recap = RECAP.search(output)
    assert recap and recap.group(2) == '0', output
    assert not [password for password in PASSWORDS.values() if password in output], output
    return int(recap.group(1)), output


def _listed(paths):
    out = subprocess.run(['sasldblistusers2', '-f', paths['sasldb']], capture_output=True, text=True, check=True).stdout
    return sorted(line.split(':')[0] for line in out.splitlines())


def _owners(paths, address):
    proc = subprocess.run(['postmap', '-c', paths['config_dir'], '-q', address, 'hash:' + paths['map']], capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def _converge(tmp_path, paths, users):
    """Check mode predicts a change and writes nothing; the run makes it; the next run changes nothing."""
    before = (_listed(paths), open(paths['sasldb'], 'rb').read())
    changed, output = _run(tmp_path, paths, users, '--check')
    assert changed > 0, output
    assert (_listed(paths), open(paths['sasldb'], 'rb').read()) == before, 'check mode changed the sasldb'
    changed, output = _run(tmp_path, paths, users)
    assert changed > 0, output
    changed, output = _run(tmp_path, paths, users)
    assert changed == 0, output


def test_each_login_logs_in_and_owns_the_addresses_and_one_is_revoked_alone(tmp_path, paths):
    _converge(tmp_path, paths, _users())
    assert _listed(paths) == ['alice-laptop@mailstack.test', 'alice-phone@mailstack.test', 'alice@mailstack.test',
                              'bob@other.test']
    for login in ('alice', 'alice-phone', 'alice-laptop'):
        assert authenticate(paths['sasldb'], '%s@%s' % (login, REALM), PASSWORDS[login]) == SASL_OK, login
    # One login's password is not another's.
    assert authenticate(paths['sasldb'], 'alice-phone@' + REALM, PASSWORDS['alice-laptop']) != SASL_OK
    owners = ('alice@mailstack.test, alice, alice-phone@mailstack.test, alice-phone, '
              'alice-laptop@mailstack.test, alice-laptop')
    assert _owners(paths, 'alice@' + REALM) == owners
    assert _owners(paths, 'sales@' + REALM) == owners
    assert _owners(paths, 'bob@other.test') == 'bob@other.test'

    _converge(tmp_path, paths, _users(phone_state='absent'))
    assert authenticate(paths['sasldb'], 'alice-phone@' + REALM, PASSWORDS['alice-phone']) == SASL_NOUSER
    for login in ('alice', 'alice-laptop'):
        assert authenticate(paths['sasldb'], '%s@%s' % (login, REALM), PASSWORDS[login]) == SASL_OK, login
    owners = 'alice@mailstack.test, alice, alice-laptop@mailstack.test, alice-laptop'
    assert _owners(paths, 'alice@' + REALM) == owners
    assert _owners(paths, 'sales@' + REALM) == owners

    # Listed again: back, with its password.
    _converge(tmp_path, paths, _users())
    assert authenticate(paths['sasldb'], 'alice-phone@' + REALM, PASSWORDS['alice-phone']) == SASL_OK


def test_an_absent_user_takes_its_logins_and_exclusive_drops_unlisted_ones(tmp_path, paths):
    _run(tmp_path, paths, _users())
    users = _users()
    del users[0]['logins'][1]  # alice-laptop no longer listed: exclusive removes it
    _run(tmp_path, paths, users)
    assert _listed(paths) == ['alice-phone@mailstack.test', 'alice@mailstack.test', 'bob@other.test']
    users[0]['state'] = 'absent'
    _converge(tmp_path, paths, users)
    assert _listed(paths) == ['bob@other.test']
    assert _owners(paths, 'alice@' + REALM) is None


@pytest.mark.parametrize('logins, message', [
    ([{'name': 'bob', 'password': 'x'}], None),  # bob is in another realm: a login of its own
    ([{'name': 'alice', 'password': 'x'}], 'listed more than once: alice@mailstack.test (user alice, login of alice)'),
    ([{'name': 'alice-phone'}], 'needs its own password; missing or empty for: alice-phone of alice'),
    ([{'name': 'alice phone', 'password': 'x'}], 'wrong for: "alice phone" of alice'),
    ([{'name': 'alice-phone', 'password': 'x', 'state': 'gone'}], 'value of state must be one of: present, absent, got: gone'),
    ([{'name': 'alice-phone', 'password': 'x', 'realm': 'other.test'}],
     'sasl_users_list.logins.realm. Supported parameters include: name, password, state.'),
])
def test_bad_logins_are_refused_before_anything_is_written(tmp_path, paths, logins, message):
    users = [{'name': 'alice', 'password': PASSWORDS['alice'], 'logins': logins}]
    variables = {'sasl_users_backend': 'sasldb', 'sasl_users_sasldb_file': paths['sasldb'], 'sasl_users_default_realm': REALM,
                 'sasl_users_sender_login_map': 'hash:' + paths['map'], 'sasl_users_list': users}
    rc, output = _role(tmp_path, paths, variables)
    if message is None:
        assert rc == 0, output
        return
    assert rc != 0, output
    assert message in ' '.join(output.split()), output
    assert _listed(paths) == [] and _owners(paths, 'alice@' + REALM) is None
    assert PASSWORDS['alice'] not in output
