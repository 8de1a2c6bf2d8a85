"""Verify SMTP AUTH through saslauthd with real clients run inside the containers.

saslauthd-debian12 checks system accounts with PAM (smtpd chrooted),
saslauthd-debian13 with shadow (smtpd not chrooted), saslauthd-ldap binds to
a local slapd over StartTLS (smtpd chrooted). The accounts on the first two come from the
sasl_users role; the LDAP entries from prepare.yml.
"""

import shlex

import pytest

from helpers.molecule import assert_check_diff_reports_no_change, container, run_converge, wait_until
from helpers.secrets import files_with_secrets, leaks, unintended
from helpers.smtp import smtp_probe as _probe, swaks

# alice-phone is an extra login of alice (app password): an account of its own.
SYSTEM_PASSWORDS = {'alice': 'alice-test-password', 'alice-phone': 'alice-phone-test-password', 'bob': 'bob-test-password'}
LDAP_PASSWORDS = {'erin': 'erin-test-password', 'gina': 'gina-test-password'}
EXPECTED = {
    # host: (mechanism, socket directory on the host, socket directory as smtpd sees it)
    'saslauthd-debian12': ('pam', '/var/spool/postfix/var/run/saslauthd', '/var/run/saslauthd'),
    'saslauthd-debian13': ('shadow', '/var/run/saslauthd', '/var/run/saslauthd'),
    'saslauthd-ldap': ('ldap', '/var/spool/postfix/var/run/saslauthd', '/var/run/saslauthd'),
}


@pytest.fixture
def host(host):
    """The same container through podman exec: much faster than a module run per command."""
    return container(host)


def _name(host):
    return host.backend.get_hostname()


def _is_ldap(host):
    return _name(host) == 'saslauthd-ldap'


def _good_users(host):
    return LDAP_PASSWORDS if _is_ldap(host) else SYSTEM_PASSWORDS


def _auth(host, user, password, mech='PLAIN', port=587):
    """AUTH with smtplib after STARTTLS (587) or with implicit TLS (465); returns the SMTP reply code."""
    probe = _probe(host, '--port', str(port), '--tls', 'wrapper' if port == 465 else 'starttls', '--mech', mech,
                   '--user', user, '--password', password)
    assert probe.get('starttls', 220) == 220, probe
    return probe['auth'][0]


def _swaks(host, user, password, mech='LOGIN', port=587):
    """AUTH with swaks after STARTTLS (587) or with implicit TLS (465); returns the dialog."""
    return swaks(host, '-s', '127.0.0.1', '-p', str(port), '--tls-on-connect' if port == 465 else '-tls', '-a', mech,
                 '-au', user, '-ap', password, '--quit-after', 'AUTH')


# --- configuration on disk -------------------------------------------------------

def test_smtpd_conf_points_at_the_socket_smtpd_sees(host):
    conf = host.file('/etc/postfix/sasl/smtpd.conf').content_string
    smtpd_dir = EXPECTED[_name(host)][2]
    assert 'pwcheck_method: saslauthd' in conf
    assert 'saslauthd_path: %s/mux' % smtpd_dir in conf
    mech_line = [line for line in conf.splitlines() if line.startswith('mech_list:')]
    assert mech_line == ['mech_list: PLAIN LOGIN']


def test_chroot_matches_the_socket_location(host):
    expected = 'n' if _name(host) == 'saslauthd-debian13' else 'y'
    for service in ('smtp/inet', 'submission/inet'):
        assert host.check_output('postconf -Fh %s/chroot' % service) == expected


def test_saslauthd_runs_with_the_chosen_mechanism_and_socket(host):
    mechanism, host_dir = EXPECTED[_name(host)][:2]
    assert host.service('saslauthd').is_running
    assert host.service('saslauthd').is_enabled
    cmdline = host.check_output('cat /proc/$(pgrep -o -x saslauthd)/cmdline | tr "\\0" " "').split()
    assert cmdline[cmdline.index('-a') + 1] == mechanism
    assert cmdline[cmdline.index('-m') + 1] == host_dir
    assert cmdline[cmdline.index('-n') + 1] == '3'
    assert '-c' in cmdline and cmdline[cmdline.index('-t') + 1] == '600'
    directory = host.file(host_dir)
    assert (directory.user, directory.group, directory.mode) == ('root', 'sasl', 0o710)
    assert host.file(host_dir + '/mux').is_socket
    assert 'sasl' in host.user('postfix').groups


def test_native_unit_has_the_drop_in(host):
    # Debian 13 ships a systemd unit whose PIDFile is in /run/saslauthd; without the
    # drop-in a socket directory in the chroot makes every start time out.
    dropin = host.file('/etc/systemd/system/saslauthd.service.d/mailstack.conf')
    host_dir = EXPECTED[_name(host)][1]
    if host.file('/usr/lib/systemd/system/saslauthd.service').exists:
        assert 'PIDFile=%s/saslauthd.pid' % host_dir in dropin.content_string
        # systemd prints /var/run as /run.
        assert host.check_output('systemctl show -P PIDFile saslauthd') == \
            host.check_output('realpath -m %s/saslauthd.pid' % host_dir)
    else:
        assert not dropin.exists
        assert 'START=yes' in host.file('/etc/default/saslauthd').content_string


def test_ldap_config_is_private(host):
    conf = host.file('/etc/saslauthd.conf')
    if not _is_ldap(host):
        assert not conf.exists
        return
    assert (conf.user, conf.group, conf.mode) == ('root', 'root', 0o600)
    content = conf.content_string
    assert 'ldap_servers: ldap://127.0.0.1/' in content
    assert 'ldap_start_tls: yes' in content
    assert 'ldap_tls_check_peer: yes' in content
    assert 'ldap_tls_cacert_file: /etc/ldap/slapd-test.crt' in content
    assert 'ldap_search_base: ou=people,dc=mailstack,dc=test' in content
    assert 'ldap_filter: (uid=%u)' in content


def _ldapwhoami(host, *args):
    user, password = 'erin', LDAP_PASSWORDS['erin']
    return host.run('LDAPTLS_CACERT=/etc/ldap/slapd-test.crt ldapwhoami -x -H ldap://127.0.0.1/ -D %s -w %s %s'
                    % (shlex.quote('uid=%s,ou=people,dc=mailstack,dc=test' % user), shlex.quote(password), ' '.join(args)))


def test_slapd_accepts_simple_binds_only_over_tls(host):
    """What makes the LDAP host's successful AUTHs proof that saslauthd used StartTLS."""
    if not _is_ldap(host):
        return
    plain = _ldapwhoami(host)
    assert plain.rc != 0 and 'Confidentiality required' in plain.stderr, plain.stdout + plain.stderr
    over_tls = _ldapwhoami(host, '-ZZ')
    assert over_tls.rc == 0 and over_tls.stdout.strip() == 'dn:uid=erin,ou=people,dc=mailstack,dc=test', \
        over_tls.stdout + over_tls.stderr


def test_system_accounts(host):
    if _is_ldap(host):
        assert not host.user('alice').exists
        return
    for name in ('alice', 'alice-phone', 'bob', 'dave', 'dave-phone'):
        user = host.user(name)
        assert user.exists
        assert user.shell == '/usr/sbin/nologin'
        assert not host.file(user.home).exists
        assert 'smtpusers' in user.groups
        assert user.uid >= 1000
    shadow = host.check_output('getent shadow alice alice-phone dave dave-phone')
    hashes = {line.split(':')[0]: line.split(':')[1] for line in shadow.splitlines()}
    assert hashes['alice'].startswith('$6$')
    assert hashes['alice-phone'].startswith('$6$') and hashes['alice-phone'] != hashes['alice']
    assert hashes['dave'].startswith('!$6$')  # locked
    assert hashes['dave-phone'].startswith('!$6$')  # locked with dave
    assert not host.user('carol').exists  # listed as absent
    assert not host.user('frank').exists  # unlisted member of smtpusers (exclusive)


# --- AUTH with the health-check tool and real SMTP clients -----------------------------

def test_testsaslauthd_through_the_socket(host):
    host_dir = EXPECTED[_name(host)][1]
    user, password = sorted(_good_users(host).items())[0]
    ok = host.run('testsaslauthd -f %s/mux -s smtp -u %s -p %s' % (host_dir, user, shlex.quote(password)))
    assert ok.rc == 0 and '0: OK' in ok.stdout, ok.stdout + ok.stderr
    bad = host.run('testsaslauthd -f %s/mux -s smtp -u %s -p wrong-password' % (host_dir, user))
    assert bad.rc != 0 and '0: NO' in bad.stdout, bad.stdout + bad.stderr


@pytest.mark.parametrize('mech', ['PLAIN', 'LOGIN'])
@pytest.mark.parametrize('port', [587, 465])
def test_auth_on_the_submission_services_succeeds(host, mech, port):
    for user, password in sorted(_good_users(host).items()):
        assert _auth(host, user, password, mech, port) == 235, user
    user, password = sorted(_good_users(host).items())[-1]
    assert '235 2.7.0 Authentication successful' in _swaks(host, user, password, mech, port)


def test_realm_in_the_login_is_dropped(host):
    # smtpd passes the realm separately; saslauthd without -r ignores it.
    user, password = sorted(_good_users(host).items())[0]
    assert _auth(host, user + '@other.test', password) == 235


def test_auth_is_not_offered_before_starttls(host):
    probe = _probe(host, '--port', '587', '--tls', 'starttls')
    assert 'auth' not in probe['features_before_tls']
    assert sorted(probe['features']['auth'].split()) == ['LOGIN', 'PLAIN']


def _bad_logins(host):
    if _is_ldap(host):
        return [('erin', 'wrong-password'), ('gina', LDAP_PASSWORDS['erin']), ('nobody', 'x'),
                ('alice', SYSTEM_PASSWORDS['alice']), ('root', 'root')]
    return [('alice', 'wrong-password'), ('bob', SYSTEM_PASSWORDS['alice']), ('nobody', 'x'),
            ('dave', 'dave-test-password'),  # locked
            ('dave-phone', 'dave-phone-test-password'),  # an extra login of dave, locked with him
            ('alice-phone', SYSTEM_PASSWORDS['alice']),  # an extra login has its own password
            ('carol', 'carol-test-password'),  # removed (state absent)
            ('frank', 'frank-test-password'),  # removed (unlisted member, exclusive)
            ('postfix', 'postfix')]


def test_bad_credentials_get_535(host):
    for user, password in _bad_logins(host):
        assert _auth(host, user, password) == 535, user
        assert '535 5.7.8' in _swaks(host, user, password), user


def test_stopped_saslauthd_never_authenticates(host):
    user, password = sorted(_good_users(host).items())[0]
    assert _auth(host, user, password) == 235
    host.check_output('systemctl stop saslauthd')
    try:
        assert not host.service('saslauthd').is_running
        code = _auth(host, user, password)
        assert code in (454, 535), code
        assert '235 ' not in _swaks(host, user, password)
    finally:
        host.check_output('systemctl start saslauthd')
    host_dir = EXPECTED[_name(host)][1]
    assert wait_until('saslauthd\'s socket %s/mux (value: whether it is a socket)' % host_dir,
                      lambda: host.file(host_dir + '/mux').is_socket, 30, interval=0.5)
    assert _auth(host, user, password) == 235


# --- secrets -------------------------------------------------------------------------

LDAP_BIND_PASSWORD = 'ldap-admin-test-password'
LOCKED_PASSWORDS = {'dave-test-password', 'dave-phone-test-password'}
SECRETS = sorted(set(SYSTEM_PASSWORDS.values()) | set(LDAP_PASSWORDS.values()) | LOCKED_PASSWORDS | {LDAP_BIND_PASSWORD})
# saslauthd reads the bind password from its private config; prepare.yml
# preseeded slapd with the same password, and debconf keeps preseeded answers.
ALLOWED_FILES = {LDAP_BIND_PASSWORD: {'/etc/saslauthd.conf', '/var/cache/debconf/passwords.dat'}}


@pytest.fixture(scope='module')
def vvv_converge():
    """One more converge of all three hosts at -vvv: what the secrets tests search."""
    recap, output = run_converge('-vvv')
    failed = {host: counters for host, counters in recap.items() if counters['failed'] or counters['unreachable']}
    assert not failed, output[-6000:]
    assert '<saslauthd-ldap> ' in output and 'Hash the passwords' in output, 'not a -vvv transcript'
    return output


def test_vvv_converge_output_holds_no_password(vvv_converge):
    assert leaks(vvv_converge, SECRETS) == []


def test_vvv_converge_output_holds_no_password_hash(host, vvv_converge):
    if _is_ldap(host):
        return
    hashes = [line.split(':')[1].lstrip('!') for line in host.check_output('getent shadow alice alice-phone bob dave dave-phone').splitlines()]
    assert all(h.startswith('$6$') for h in hashes), hashes
    assert leaks(vvv_converge, hashes) == []


def test_journal_holds_no_password(host, vvv_converge):
    journal = host.run('journalctl --no-pager -o cat').stdout
    assert 'saslauthd' in journal, 'no saslauthd lines in the journal: the check would be vacuous'
    assert leaks(journal, SECRETS) == []


def test_only_the_intended_files_hold_passwords(host, vvv_converge):
    assert unintended(files_with_secrets(host, SECRETS), ALLOWED_FILES) == {}
    if _is_ldap(host):
        assert host.file('/etc/saslauthd.conf').contains(LDAP_BIND_PASSWORD)


# --- idempotence of check mode ----------------------------------------------------

def test_check_diff_after_converge_reports_no_change():
    assert_check_diff_reports_no_change()
