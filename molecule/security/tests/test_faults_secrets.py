"""Secrets, faults and check mode, on the converged security-server.

Faults: a converge killed while installing main.cf is repaired by the next
one; a main.cf override that the validation rejects fails the run and leaves
the live configuration serving.

Secrets: the repair run is made at -vvv; every SASL and relay password is
looked for in its output, the server's journal and mail log, and every file
under /etc and the other places a run writes to (after the killed run, so
leftovers count too); only the sasldb and sasl_passwd(.db) may hold them.
Owners and modes of the files that hold or guard secrets.
"""

import json
import os
import signal
import subprocess
import time

import pytest

from helpers.molecule import assert_check_diff_reports_no_change, run_converge
from helpers.secrets import files_with_secrets, leaks, unintended
from security_helpers import PASSWORDS, SERVER, good_auth_from_server

RELAY_PASSWORD = 'Relay-Secret-3c71d0e5'
SASLDB = '/var/spool/postfix/etc/sasldb2'
SASL_PASSWD = '/etc/postfix/sasl_passwd'
# Each secret, and the only files that may hold it.
SECRETS = {PASSWORDS['alice']: {SASLDB}, PASSWORDS['bob']: {SASLDB},
           RELAY_PASSWORD: {SASL_PASSWD, SASL_PASSWD + '.db'}}
# Where a run could leave something behind on the server.
SEARCHED = ['/etc', '/root', '/tmp', '/var/tmp', '/var/lib/mailstack', '/var/log', '/var/spool/postfix',
            '/var/cache/debconf', '/usr/local']


def _leaks(text):
    return leaks(text, SECRETS)


def _sha256(server, path):
    return server.check_output('sha256sum %s' % path).split()[0]


def _serving_state(server):
    return {
        'main.cf': _sha256(server, '/etc/postfix/main.cf'),
        'master.cf': _sha256(server, '/etc/postfix/master.cf'),
        'postconf -n': server.check_output('postconf -n'),
        'master pid': server.check_output('cat /var/spool/postfix/pid/master.pid').strip(),
    }


# managed_state validates the pair in a private directory that it removes,
# whatever the outcome: a rejected configuration leaves nothing behind.
@pytest.mark.parametrize('extra, message', [
    # managed_state runs postfix check on a terminal, so its reason follows the message.
    ({'default_process_limit': 'many'}, 'postfix check rejected the candidate configuration'),
], ids=['non-numeric-value'])
def test_override_that_postfix_rejects_fails_and_old_config_serves(server, extra, message):
    before = _serving_state(server)
    recap, output = run_converge('-e', json.dumps({'postfix_main_cf_extra': dict(
        extra, defer_transports='smtp', smtpd_peername_lookup=False, anvil_rate_time_unit='10s')}))
    assert recap[SERVER]['failed'] >= 1, output[-4000:]
    assert 'Converge the TLS pair, the configuration, the aliases and the service' in output
    assert message in output
    assert _serving_state(server) == before
    assert good_auth_from_server(server) == 235


@pytest.fixture(scope='module')
def killed_run(server):
    """A converge that changes main.cf (banner), killed while installing it; then the repair run at -vvv.

    The repair run is the scenario's own converge, so it must change main.cf
    back; its -vvv output is what the secrets tests search (every password
    passes through the sasldb_users and lookup_table task arguments).
    """
    task = 'Converge the TLS pair, the configuration, the aliases and the service'
    main_cf = _sha256(server, '/etc/postfix/main.cf')
    proc = _start_converge('-e', json.dumps({'postfix_smtpd_banner': '$myhostname ESMTP interrupted'}))
    seen = []
    deadline = time.monotonic() + 900
    try:
        for line in proc.stdout:
            seen.append(line)
            if line.startswith('TASK') and task in line:
                time.sleep(1)  # let the task begin its work on the host
                break
            assert time.monotonic() < deadline, 'task %r not reached in 900 s' % task
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    recap, output = run_converge('-vvv')
    return {'reached': any(task in line for line in seen), 'returncode': proc.returncode,
            'main.cf before': main_cf, 'recap': recap[SERVER], 'output': output}


def test_killed_converge_is_repaired_by_the_next_one(server, killed_run):
    assert killed_run['reached'] and killed_run['returncode'] == -signal.SIGKILL
    recap = killed_run['recap']
    assert recap['failed'] == 0 and recap['unreachable'] == 0, killed_run['output'][-4000:]
    assert _sha256(server, '/etc/postfix/main.cf') == killed_run['main.cf before']
    assert 'interrupted' not in server.check_output('postconf -h smtpd_banner')
    assert good_auth_from_server(server) == 235
    assert good_auth_from_server(server, 'bob') == 235
    assert server.check_output('postfix status 2>&1; echo rc=$?').endswith('rc=0')


def test_vvv_converge_output_holds_no_password(killed_run):
    output = killed_run['output']
    # -vvv prints each connection step as '<host> ...' lines.
    assert '<%s> ' % SERVER in output and 'sasldb_users' in output, 'not a -vvv transcript'
    assert _leaks(output) == []


def test_postfix_log_holds_no_password(server, killed_run):
    journal = server.run('journalctl --no-pager -o cat').stdout
    assert 'postfix/' in journal, 'no Postfix lines in the journal: the check would be vacuous'
    assert _leaks(journal) == []
    for log in ('/var/log/mail.log', '/var/log/syslog'):
        if server.file(log).exists:
            assert _leaks(server.file(log).content_string) == []


def test_only_the_intended_files_hold_passwords(server, killed_run):
    found = files_with_secrets(server, SECRETS, SEARCHED)
    # The search finds the plain-text auxprop database and the relay table: it is not blind.
    assert SASLDB in found[PASSWORDS['alice']]
    assert SASL_PASSWD in found[RELAY_PASSWORD]
    assert unintended(found, SECRETS) == {}


@pytest.mark.parametrize('path, kind, user, group, mode', [
    (SASLDB, 'file', 'root', 'sasl', 0o640),
    (SASL_PASSWD, 'file', 'root', 'root', 0o600),
    (SASL_PASSWD + '.db', 'file', 'root', 'root', 0o600),
    ('/etc/sasldb2', 'symlink', 'root', 'root', None),
    ('/etc/postfix/sasl/smtpd.conf', 'file', 'root', 'root', 0o644),
    ('/etc/postfix/tls/smtpd-selfsigned.key', 'file', 'root', 'root', 0o600),
    ('/etc/postfix/main.cf', 'file', 'root', 'root', 0o644),
])
def test_owner_and_mode_of_secret_files(server, path, kind, user, group, mode):
    target = server.file(path)
    assert target.exists
    if kind == 'symlink':
        assert target.is_symlink and target.linked_to == SASLDB
        return
    assert target.is_file
    assert (target.user, target.group, target.mode) == (user, group, mode)


@pytest.mark.parametrize('path', [SASLDB, SASL_PASSWD, SASL_PASSWD + '.db'])
def test_unprivileged_users_cannot_read_secrets(server, path):
    assert server.run('runuser -u nobody -- cat %s' % path).rc != 0


def test_postfix_can_read_the_sasldb(server):
    assert 'sasl' in server.user('postfix').groups


# --- faults ------------------------------------------------------------------------------------

def _start_converge(*extra_args):
    scenario_dir = os.environ['MOLECULE_SCENARIO_DIRECTORY']
    env = dict(os.environ, ANSIBLE_FORCE_COLOR='false', PYTHONUNBUFFERED='1')
    env.setdefault('ANSIBLE_CONFIG', os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'ansible.cfg'))
    argv = ['ansible-playbook', '-i', os.environ['MOLECULE_INVENTORY_FILE'],
            os.path.join(scenario_dir, 'converge.yml')] + list(extra_args)
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)


def test_check_diff_after_converge_reports_no_change():
    assert_check_diff_reports_no_change()
