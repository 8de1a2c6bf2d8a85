"""Verify the submission servers with real SMTP clients run inside the containers.

Each host is checked on its own (AUTH over 587 and 465, and over 25 where
it is opted in) and against the other host of the scenario: the other
container is outside this host's mynetworks, so it is the unauthenticated
outside client of the relay tests. default-debian12 has the role's defaults
(AUTH only on the submission services, an ECDSA P-256 key); default-debian13
opts in to AUTH on port 25 and serves an RSA 3072 certificate it was given.
"""

import json
import re
import shlex
import uuid

import pytest

from helpers.molecule import assert_check_diff_reports_no_change, container, run_module, wait_until
from helpers.smtp import smtp_probe as _probe, swaks as _swaks

PASSWORDS = {'alice': 'alice-test-password', 'bob@other.test': 'bob-test-password'}
OUTSIDE_DOMAIN = 'example.net'


def _hostname(host):
    return host.backend.get_hostname()


@pytest.fixture
def box(host):
    """The container of `host` through `podman exec`: the same machine, many times faster than Ansible per command."""
    return container(host)


def _other(host):
    """The other container of the scenario, as a testinfra host."""
    name = _hostname(host)
    other = name.replace('debian12', 'debian13') if name.endswith('debian12') else name.replace('debian13', 'debian12')
    return other, container(other)


def _auth_on_25(host):
    """Whether the scenario opts this host in to AUTH on port 25 (postfix_smtpd_sasl_auth_enable)."""
    return _hostname(host).endswith('debian13')


# (port, TLS mode of the smtplib probe, swaks TLS option) of the submission services.
SUBMISSION = [(587, 'starttls', '-tls'), (465, 'wrapper', '--tls-on-connect')]
SUBMISSION_IDS = ['587', '465']


def _myhostname(host):
    return host.check_output('postconf -h myhostname')


def _mech_list(host):
    for line in host.file('/etc/postfix/sasl/smtpd.conf').content_string.splitlines():
        if line.startswith('mech_list:'):
            return line.split(':', 1)[1].split()
    raise AssertionError('no mech_list in smtpd.conf')


# --- configuration on disk --------------------------------------------------

def test_systemd_is_pid_1(box):
    assert box.check_output('cat /proc/1/comm') == 'systemd'


def test_postfix_runs_and_listens(box):
    assert box.service('postfix').is_running
    assert box.service('postfix').is_enabled
    for port in (25, 465, 587):
        assert box.socket('tcp://0.0.0.0:%d' % port).is_listening


def test_sasldb_is_inside_the_chroot_and_readable_by_postfix(box):
    sasldb = box.file('/var/spool/postfix/etc/sasldb2')
    assert sasldb.is_file
    assert (sasldb.user, sasldb.group, sasldb.mode) == ('root', 'sasl', 0o640)
    link = box.file('/etc/sasldb2')
    assert link.is_symlink and link.linked_to == '/var/spool/postfix/etc/sasldb2'
    assert 'sasl' in box.user('postfix').groups
    users = box.check_output('sasldblistusers2 -f /var/spool/postfix/etc/sasldb2')
    # alice's extra logins (app passwords) are SASL users of their own.
    assert sorted(line.split(':')[0] for line in users.splitlines()) == \
        ['alice-laptop@mailstack.test', 'alice-phone@mailstack.test', 'alice@mailstack.test', 'bob@other.test']


def test_relay_restrictions_cannot_relay_openly(box):
    assert box.check_output('postconf -h smtpd_relay_restrictions') == \
        'permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination'
    assert box.check_output('postconf -h smtpd_tls_auth_only') == 'yes'


# The role's validation of main.cf and master.cf (managed_state's
# postfix_config), asked in check mode on a copy of the live pair.
@pytest.mark.parametrize('parameter, message', [
    ('smtpd_relay_restrictions=permit_sasl_authenticated, permit, reject_unauth_destination', "bare 'permit'"),
    ('smtpd_relay_restrictions=permit_mynetworks, permit_sasl_authenticated', 'does not contain reject_unauth_destination'),
    ('smtpd_sasl_auth_enabel=yes', 'unused parameter'),
])
def test_the_validation_rejects_a_bad_candidate(host, box, parameter, message):
    result = _validate_copy(host, box, '-e', parameter)
    assert result.get('failed'), result
    assert 'were not installed' in result['msg'] and message in result['msg'], result['msg']


def test_the_validation_rejects_an_open_relay_override_in_master_cf(host, box):
    result = _validate_copy(host, box, '-P', 'submission/inet/smtpd_relay_restrictions=permit')
    assert result.get('failed'), result
    assert 'submission/inet/smtpd_relay_restrictions in master.cf' in result['msg'], result['msg']


def test_the_validation_accepts_the_live_configuration(host, box):
    result = _validate_copy(host, box)
    assert not result.get('failed') and not result['changed'], result


def _validate_copy(host, box, *postconf_args):
    """Ask managed_state, in check mode, to install a copy of the live main.cf and master.cf.

    With `postconf_args`, the copy is first changed with `postconf -c COPY ARGS`.
    The live files must stay as they are whatever the answer.
    """
    live = box.check_output('sha256sum /etc/postfix/main.cf /etc/postfix/master.cf')
    tmp = box.check_output('mktemp -d')
    try:
        box.check_output('cp /etc/postfix/main.cf /etc/postfix/master.cf %s/' % tmp)
        if postconf_args:
            box.check_output('postconf -c %s %s' % (tmp, ' '.join(shlex.quote(a) for a in postconf_args)))
        pair = {'config_dir': '/etc/postfix', 'main_cf': box.file(tmp + '/main.cf').content_string,
                'master_cf': box.file(tmp + '/master.cf').content_string}
    finally:
        box.run('rm -rf %s' % tmp)
    result = run_module(_hostname(host), 'mailstack.sasl_postfix.managed_state', {'postfix_config': pair},
                        check_mode=True)
    assert box.check_output('sha256sum /etc/postfix/main.cf /etc/postfix/master.cf') == live
    return result


# --- AUTH from inside the container -------------------------------------------

@pytest.mark.parametrize('port', [25, 587])
def test_auth_is_not_advertised_before_starttls(box, port):
    dialog = _swaks(box, '-s', '127.0.0.1', '-p', str(port), '--quit-after', 'EHLO')
    assert '250-STARTTLS' in dialog
    assert 'AUTH' not in dialog
    probe = _probe(box, '--port', str(port), '--tls', 'starttls')
    assert 'auth' not in probe['features_before_tls']
    assert 'starttls' in probe['features_before_tls']
    # Port 25 offers AUTH only where the host opts in.
    assert ('auth' in probe['features']) == (port == 587 or _auth_on_25(box)), probe['features']


@pytest.mark.parametrize('port, probe_tls, swaks_tls', SUBMISSION, ids=SUBMISSION_IDS)
@pytest.mark.parametrize('mech', ['PLAIN', 'LOGIN'])
def test_auth_on_the_submission_services_with_swaks(box, port, probe_tls, swaks_tls, mech):
    dialog = _swaks(box, '-s', '127.0.0.1', '-p', str(port), swaks_tls, '-a', mech,
                    '-au', 'alice', '-ap', PASSWORDS['alice'], '--quit-after', 'AUTH')
    assert '235 2.7.0 Authentication successful' in dialog, dialog


@pytest.mark.parametrize('port, probe_tls, swaks_tls', SUBMISSION, ids=SUBMISSION_IDS)
@pytest.mark.parametrize('mech', ['PLAIN', 'LOGIN'])
def test_auth_on_the_submission_services_with_smtplib(box, port, probe_tls, swaks_tls, mech):
    probe = _probe(box, '--port', str(port), '--tls', probe_tls, '--mech', mech,
                   '--user', 'bob@other.test', '--password', PASSWORDS['bob@other.test'])
    assert probe['auth'][0] == 235, probe


@pytest.mark.parametrize('mech', ['PLAIN', 'LOGIN'])
def test_auth_on_25_only_with_the_opt_in(box, mech):
    # smtplib sends AUTH whether or not the server offers it.
    probe = _probe(box, '--port', '25', '--tls', 'starttls', '--mech', mech,
                   '--user', 'bob@other.test', '--password', PASSWORDS['bob@other.test'])
    if _auth_on_25(box):
        assert probe['auth'][0] == 235, probe
        dialog = _swaks(box, '-s', '127.0.0.1', '-p', '25', '-tls', '-a', mech,
                        '-au', 'alice', '-ap', PASSWORDS['alice'], '--quit-after', 'AUTH')
        assert '235 2.7.0 Authentication successful' in dialog, dialog
    else:
        assert 'auth' not in probe['features'], probe
        assert probe['auth'][0] == 503 and 'authentication not enabled' in probe['auth'][1], probe


def test_auth_on_submissions_with_implicit_tls(box):
    dialog = _swaks(box, '-s', '127.0.0.1', '-p', '465', '--tls-on-connect', '-a', 'PLAIN',
                    '-au', 'alice', '-ap', PASSWORDS['alice'], '--quit-after', 'AUTH')
    assert '235 2.7.0 Authentication successful' in dialog, dialog
    probe = _probe(box, '--port', '465', '--tls', 'wrapper', '--mech', 'LOGIN',
                   '--user', 'alice', '--password', PASSWORDS['alice'])
    assert probe['auth'][0] == 235, probe


def test_advertised_mechanisms_are_the_mech_list(box):
    probe = _probe(box, '--port', '587', '--tls', 'starttls')
    assert sorted(probe['features']['auth'].split()) == sorted(_mech_list(box))


def test_scenario_enables_challenge_response_mechanisms(box):
    # So that the test below is not vacuous: the scenario puts CRAM-MD5 on both hosts, DIGEST-MD5 on debian12.
    expected = {'CRAM-MD5', 'DIGEST-MD5'} if _hostname(box).endswith('debian12') else {'CRAM-MD5'}
    assert expected <= set(_mech_list(box))


@pytest.mark.parametrize('mech', ['CRAM-MD5', 'DIGEST-MD5'])
def test_challenge_response_mechanisms_in_mech_list_work(box, mech):
    if mech not in _mech_list(box):
        dialog = _swaks(box, '-s', '127.0.0.1', '-p', '587', '-tls', '-a', mech,
                        '-au', 'alice', '-ap', PASSWORDS['alice'], '--quit-after', 'AUTH')
        assert '235 ' not in dialog
        return
    dialog = _swaks(box, '-s', '127.0.0.1', '-p', '587', '-tls', '-a', mech,
                    '-au', 'alice', '-ap', PASSWORDS['alice'], '--quit-after', 'AUTH')
    assert '235 2.7.0 Authentication successful' in dialog, dialog
    if mech == 'CRAM-MD5':
        probe = _probe(box, '--port', '465', '--tls', 'wrapper', '--mech', mech,
                       '--user', 'alice', '--password', PASSWORDS['alice'])
        assert probe['auth'][0] == 235, probe


# msmtp's TLS options for the submission services: STARTTLS on 587, implicit TLS on 465.
MSMTP_TLS = {587: ['--tls=on', '--tls-starttls=on'], 465: ['--tls=on', '--tls-starttls=off']}


def _msmtp_login(box, port, mech, user, password):
    """Log in to box's port from the other container with msmtp and `mech`; returns (exit status, --debug output).

    msmtp's SASL is GNU SASL, a client independent of Cyrus. It runs from the
    other host because Debian 13's GNU SASL (2.2.2) will not start a SCRAM
    exchange without -PLUS once TLS offers channel binding ("Error
    authenticating user" before AUTH is sent), and Postfix gives Cyrus no
    channel binding, so no server of ours offers -PLUS; Debian 12's msmtp
    (GNU SASL 2.2.0) logs in (roles/cyrus_sasl/README.md). It runs in its
    Remote Message Queue Starting mode (--rmqs: EHLO, TLS and AUTH as for a
    mail, then ETRN instead of a transaction), so it sends no mail and no
    recipient counts toward debian13's send limit; the ETRN reply does not
    matter. The debug output holds the SMTP dialogue (`--> AUTH ...`,
    `<-- 235 ...`).
    """
    argv = ['msmtp', '--debug', '--host=' + _hostname(box), '--port=%d' % port] + MSMTP_TLS[port] + [
        '--tls-certcheck=off', '--auth=' + mech.lower(), '--user=' + user,
        '--passwordeval=' + shlex.join(['echo', password]), '--rmqs=' + OUTSIDE_DOMAIN]
    cmd = _other(box)[1].run(shlex.join(argv) + ' </dev/null')
    return cmd.rc, cmd.stdout + cmd.stderr


def _sent_auth(dialog, mech):
    """Whether msmtp sent AUTH with exactly `mech` (not SCRAM-SHA-1 for SCRAM-SHA-256, nor a -PLUS variant).

    msmtp's debug lines end in CRLF, as on the wire; an initial response may follow the name.
    """
    return re.search(r'^--> AUTH %s(?: \S+)?\r?$' % re.escape(mech), dialog, re.M) is not None


@pytest.mark.parametrize('port', [587, 465])
@pytest.mark.parametrize('mech', ['SCRAM-SHA-256', 'SCRAM-SHA-1'])
def test_scram_mechanisms_work_with_a_real_client(box, mech, port):
    # default-debian13 offers both from its sasldb (the plaintext userPassword
    # the sasl_users role writes; Cyrus derives the SCRAM keys from it).
    dummy, dialog = _msmtp_login(box, port, mech, 'alice', PASSWORDS['alice'])
    if mech not in _mech_list(box):
        # Not offered (default-debian12): msmtp does not even try it.
        assert 'does not support authentication method %s' % mech in dialog, dialog
        assert not _sent_auth(dialog, mech) and '<-- 235 ' not in dialog, dialog
        return
    assert _sent_auth(dialog, mech), dialog
    assert '<-- 235 2.7.0 Authentication successful' in dialog, dialog
    rc, dialog = _msmtp_login(box, port, mech, 'alice', 'wrong-password')
    assert _sent_auth(dialog, mech), dialog
    assert '<-- 535 5.7.8 ' in dialog and '<-- 235 ' not in dialog, dialog
    assert rc == 77, dialog  # EX_NOPERM: msmtp's "authentication failed"


@pytest.mark.parametrize('user, password', [
    ('alice', 'wrong-password'),
    ('nobody', 'alice-test-password'),
    ('carol', 'carol-test-password'),  # listed as absent
    ('bob', 'bob-test-password'),  # bob exists only in realm other.test
])
@pytest.mark.parametrize('port, probe_tls, swaks_tls', SUBMISSION, ids=SUBMISSION_IDS)
def test_bad_credentials_get_535(box, user, password, port, probe_tls, swaks_tls):
    probe = _probe(box, '--port', str(port), '--tls', probe_tls, '--mech', 'PLAIN', '--user', user, '--password', password)
    assert probe['auth'][0] == 535, probe
    dialog = _swaks(box, '-s', '127.0.0.1', '-p', str(port), swaks_tls, '-a', 'LOGIN',
                    '-au', user, '-ap', password, '--quit-after', 'AUTH')
    assert '535 5.7.8' in dialog, dialog


# --- TLS: the submission services at Mozilla's intermediate profile, port 25 opportunistic ---------

def _rsa_key(host):
    """Whether this host serves an RSA key: default-debian13 serves the RSA 3072 pair prepare.yml lays out as certbot does."""
    return _hostname(host).endswith('debian13')


def _s_client(box, port, *options):
    """openssl s_client against 127.0.0.1:port (STARTTLS on 25 and 587); returns (rc, output)."""
    starttls = '-starttls smtp ' if port in (25, 587) else ''
    cmd = box.run('openssl s_client %s-connect 127.0.0.1:%d %s </dev/null' % (starttls, port, ' '.join(options)))
    return cmd.rc, cmd.stdout + cmd.stderr


def test_self_signed_certificate_has_the_chosen_key_and_lasts_a_year(box):
    if _rsa_key(box):
        # A certificate was given: the role generates no self-signed pair.
        assert not box.file('/etc/postfix/tls/smtpd-selfsigned.crt').exists
        return
    text = box.check_output('openssl x509 -in /etc/postfix/tls/smtpd-selfsigned.crt -noout -text')
    assert 'id-ecPublicKey' in text and 'NIST CURVE: P-256' in text, text
    days = box.check_output(
        'echo $(( ($(date -d "$(openssl x509 -in /etc/postfix/tls/smtpd-selfsigned.crt -noout -enddate | cut -d= -f2)" +%s)'
        ' - $(date -d "$(openssl x509 -in /etc/postfix/tls/smtpd-selfsigned.crt -noout -startdate | cut -d= -f2)" +%s))'
        ' / 86400 ))')
    assert days == '365'


@pytest.mark.parametrize('port', [587, 465])
def test_submission_refuses_old_protocols_cbc_and_rsa_key_exchange(box, port):
    auth = 'RSA' if _rsa_key(box) else 'ECDSA'
    for option in ('-tls1_1', '-tls1'):
        rc, output = _s_client(box, port, option)
        assert rc != 0, (option, output)
    for cipher in ('ECDHE-%s-AES128-SHA' % auth, 'ECDHE-%s-AES256-SHA384' % auth, 'AES128-GCM-SHA256', 'AES256-SHA'):
        rc, output = _s_client(box, port, '-tls1_2', '-cipher', cipher)
        assert rc != 0, (cipher, output)
    rc, output = _s_client(box, port, '-tls1_2')
    assert rc == 0 and 'Cipher is ECDHE-%s-AES128-GCM-SHA256' % auth in output, output


def test_port_25_stays_opportunistic(box):
    # A CBC suite that the submission services refuse still gets TLS on 25 rather than plaintext.
    cipher = 'ECDHE-%s-AES128-SHA' % ('RSA' if _rsa_key(box) else 'ECDSA')
    rc, output = _s_client(box, 25, '-tls1_2', '-cipher', cipher)
    assert rc == 0 and 'Cipher is ' + cipher in output, output


@pytest.mark.parametrize('port', [587, 465])
def test_submission_uses_no_dh_group(box, port):
    # ECDHE only: not even an RSA key (Debian 13 here) makes the submission services accept DHE.
    rc, output = _s_client(box, port, '-tls1_2', '-cipher', 'DHE-RSA-AES128-GCM-SHA256')
    assert rc != 0, output
    rc, output = _s_client(box, port, '-tls1_2')
    assert rc == 0 and re.search(r'(Server|Peer) Temp Key: (X25519|ECDH)', output), output


# --- relay policy, tested from the other container (outside mynetworks) ---------

def _queued_recipients(host):
    recipients = []
    for line in host.check_output('postqueue -j').splitlines():
        entry = json.loads(line)
        recipients.extend(r['address'] for r in entry['recipients'])
    return recipients


def test_relay_without_auth_from_outside_is_denied(box):
    other_name, other = _other(box)
    rcpt = 'relay-noauth-%s@%s' % (uuid.uuid4().hex[:12], OUTSIDE_DOMAIN)
    # This box's Postfix, reached from the other container over the scenario network.
    probe = _probe(other, '--server', _hostname(box), '--port', '25', '--tls', 'starttls',
                   '--sender', 'someone@%s' % OUTSIDE_DOMAIN, '--to', rcpt)
    assert probe['rcpt'][0] == 554, probe
    assert '5.7.1' in probe['rcpt'][1] and 'Relay access denied' in probe['rcpt'][1], probe
    dialog = _swaks(other, '-s', _hostname(box), '-p', '25', '-f', 'someone@' + OUTSIDE_DOMAIN, '-t', rcpt)
    assert '554 5.7.1' in dialog and 'Relay access denied' in dialog, dialog
    assert rcpt not in _queued_recipients(box)
    assert other_name != _hostname(box)


@pytest.mark.parametrize('port, probe_tls', [(25, 'starttls'), (587, 'starttls'), (465, 'wrapper')], ids=['25', '587', '465'])
def test_relay_with_auth_from_outside_is_queued(box, port, probe_tls):
    other = _other(box)[1]
    rcpt = 'relay-auth-%d-%s@%s' % (port, uuid.uuid4().hex[:12], OUTSIDE_DOMAIN)
    probe = _probe(other, '--server', _hostname(box), '--port', str(port), '--tls', probe_tls,
                   '--user', 'alice', '--password', PASSWORDS['alice'],
                   '--sender', 'alice@' + _myhostname(box), '--to', rcpt)
    if port == 25 and not _auth_on_25(box):
        # Without the opt-in, AUTH on 25 is refused and so is the relay.
        assert probe['auth'][0] == 503 and probe['rcpt'][0] == 554, probe
        assert rcpt not in _queued_recipients(box)
        return
    assert probe['auth'][0] == 235, probe
    assert probe['rcpt'][0] == 250, probe
    assert probe['data'][0] == 250 and 'queued as' in probe['data'][1], probe
    assert rcpt in _queued_recipients(box)


def test_submission_port_requires_auth_even_for_local_recipients(box):
    other = _other(box)[1]
    probe = _probe(other, '--server', _hostname(box), '--port', '587', '--tls', 'starttls',
                   '--sender', 'someone@' + OUTSIDE_DOMAIN, '--to', 'alice@' + _myhostname(box))
    assert probe['rcpt'][0] >= 500, probe


def test_submission_port_refuses_plaintext(box):
    other = _other(box)[1]
    dialog = _swaks(other, '-s', _hostname(box), '-p', '587', '-f', 'someone@' + OUTSIDE_DOMAIN,
                    '-t', 'alice@' + _myhostname(box))
    assert '530 5.7.0 Must issue a STARTTLS command first' in dialog, dialog


# --- local delivery ------------------------------------------------------------

def test_authenticated_submission_to_local_user_is_delivered(box):
    token = 'delivery-%s' % uuid.uuid4().hex
    probe = _probe(box, '--port', '587', '--tls', 'starttls', '--user', 'alice', '--password', PASSWORDS['alice'],
                   '--sender', 'alice@' + _myhostname(box), '--to', 'alice@' + _myhostname(box), '--subject', token)
    assert probe['data'][0] == 250, probe
    # Delivery is asynchronous: wait for the local agent, at least a minute.
    wait_until('%s in /var/mail/alice (value: grep -q exit status)' % token,
               lambda: box.run('grep -q %s /var/mail/alice' % token).rc, 60, until=lambda rc: rc == 0,
               diagnose=lambda: box.run('postqueue -p').stdout)
    mailbox = box.file('/var/mail/alice')
    assert mailbox.exists and token in mailbox.content_string


# --- idempotence of check mode ----------------------------------------------------

def test_check_diff_after_converge_reports_no_change():
    assert_check_diff_reports_no_change()
