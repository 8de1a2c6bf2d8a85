"""Verify postfix_install_method: source on Debian 12 with real clients inside the container.

The binaries must come from the build (no package owns them), support Cyrus
SASL, TLS and the map types asked for; AUTH must work after STARTTLS and fail
with 535 for a bad password; and a later run with the same inputs must not
rebuild (the installed files and the build record stay as they are), while
changed inputs are either rebuilt or refused before anything is compiled.
"""

import hashlib
import json
import os
import shutil
import tempfile
import time

import pytest

from helpers.molecule import assert_check_diff_reports_no_change, container, run_converge, wait_until
from helpers.smtp import smtp_probe as _probe, swaks as _swaks

PASSWORD = 'alice-test-password'
STAMP = '/usr/local/share/postfix-source/build.json'
# Files a build replaces: the build record, the command and two daemons.
BUILT_FILES = [STAMP, '/usr/sbin/postfix', '/usr/sbin/postconf', '/usr/libexec/postfix/smtpd', '/usr/libexec/postfix/master']


@pytest.fixture
def host(host):
    """The same container through podman exec: much faster than a module run per command."""
    return container(host)


def _fingerprints(host):
    """mtime (ns), inode and sha256 of the files a build would replace."""
    out = host.check_output('stat -c "%n %Y.%y %i" ' + ' '.join(BUILT_FILES) + ' && sha256sum ' + ' '.join(BUILT_FILES))
    return sorted(out.splitlines())


def _build_dirs(host):
    return host.run('ls -d /var/tmp/postfix-build-* 2>/dev/null').stdout.split()


def _source():
    cache = os.path.join(os.environ['MOLECULE_PROJECT_DIRECTORY'], '.cache', 'postfix-source', 'source.json')
    with open(cache) as f:
        return json.load(f)


# --- what the build installed ----------------------------------------------------

def test_postfix_is_not_from_a_package(host):
    assert host.run('dpkg-query -W -f "${db:Status-Status}" postfix').stdout != 'installed'
    for path in ('/usr/sbin/postfix', '/usr/sbin/sendmail', '/usr/libexec/postfix/smtpd'):
        assert host.file(path).exists
        assert host.run('dpkg-query --search %s' % path).rc != 0, path


def test_build_record_matches_the_installed_version(host):
    stamp = json.loads(host.file(STAMP).content_string)
    source = _source()
    assert stamp['record']['version'] == source['version']
    assert stamp['record']['sha256'] == source['sha256']
    assert host.check_output('postconf -d -h mail_version') == source['version']
    for word in ('-DUSE_SASL_AUTH', '-DUSE_CYRUS_SASL', '-DUSE_TLS', '-DHAS_LMDB', '-DHAS_PCRE=2'):
        assert word in stamp['record']['ccargs']
    assert stamp['record']['auxlibs'] == ['-lsasl2', '-lssl', '-lcrypto']


def test_sasl_tls_and_maps_are_built_in(host):
    assert 'cyrus' in host.check_output('postconf -a').split()
    assert 'cyrus' in host.check_output('postconf -A').split()
    assert {'hash', 'btree', 'lmdb', 'pcre'} <= set(host.check_output('postconf -m').split())
    # smtpd links the libraries named in AUXLIBS.
    libs = host.check_output('ldd /usr/libexec/postfix/smtpd')
    for lib in ('libsasl2.so', 'libssl.so', 'libcrypto.so', 'liblmdb.so', 'libpcre2-8.so'):
        assert lib in libs


def test_install_parameters_are_compiled_in(host):
    # main.cf (written by the role) does not repeat them: they are the built-in defaults.
    defaults = dict(line.split(' = ', 1) for line in host.check_output(
        'postconf -d daemon_directory data_directory queue_directory mail_owner setgid_group sendmail_path').splitlines())
    assert defaults == {'daemon_directory': '/usr/libexec/postfix', 'data_directory': '/var/lib/postfix',
                        'queue_directory': '/var/spool/postfix', 'mail_owner': 'postfix',
                        'setgid_group': 'postdrop', 'sendmail_path': '/usr/sbin/sendmail'}
    assert host.file('/usr/sbin/postdrop').group == 'postdrop'
    assert host.file('/usr/sbin/postdrop').mode & 0o2000


def test_build_directory_was_removed(host):
    assert _build_dirs(host) == []


def test_postfix_runs_from_the_source_unit(host):
    assert host.check_output('systemctl show -p FragmentPath --value postfix') == '/etc/systemd/system/postfix.service'
    assert host.service('postfix').is_running
    assert host.service('postfix').is_enabled
    assert host.run('postfix status').rc == 0
    for port in (25, 465, 587):
        assert host.socket('tcp://0.0.0.0:%d' % port).is_listening
    # The chroot got the files name resolution needs.
    assert host.file('/var/spool/postfix/etc/hosts').exists


def test_aliases_use_lmdb(host):
    assert host.file('/etc/aliases.lmdb').exists
    assert host.check_output('postalias -q postmaster lmdb:/etc/aliases') == 'root'


# --- STARTTLS and AUTH with real clients ------------------------------------------

@pytest.mark.parametrize('port', [25, 587])
def test_auth_only_after_starttls_and_only_on_submission(host, port):
    dialog = _swaks(host, '-s', '127.0.0.1', '-p', str(port), '--quit-after', 'EHLO')
    assert '250-STARTTLS' in dialog
    assert 'AUTH' not in dialog
    probe = _probe(host, '--port', str(port), '--tls', 'starttls')
    assert probe['starttls'] == 220
    # The role's default: AUTH on the submission services only, not on 25.
    assert ('auth' in probe['features']) == (port == 587), probe['features']


def test_auth_plain_succeeds(host):
    dialog = _swaks(host, '-s', '127.0.0.1', '-p', '587', '-tls', '-a', 'PLAIN',
                    '-au', 'alice', '-ap', PASSWORD, '--quit-after', 'AUTH')
    assert '235 2.7.0 Authentication successful' in dialog, dialog
    probe = _probe(host, '--port', '587', '--tls', 'starttls', '--mech', 'LOGIN', '--user', 'alice', '--password', PASSWORD)
    assert probe['auth'][0] == 235, probe


def test_auth_on_submissions_with_implicit_tls(host):
    dialog = _swaks(host, '-s', '127.0.0.1', '-p', '465', '--tls-on-connect', '-a', 'PLAIN',
                    '-au', 'alice', '-ap', PASSWORD, '--quit-after', 'AUTH')
    assert '235 2.7.0 Authentication successful' in dialog, dialog
    probe = _probe(host, '--port', '465', '--tls', 'wrapper', '--mech', 'LOGIN', '--user', 'alice', '--password', PASSWORD)
    assert probe['auth'][0] == 235, probe


@pytest.mark.parametrize('user, password', [('alice', 'wrong-password'), ('carol', 'carol-test-password')])
def test_bad_credentials_get_535(host, user, password):
    dialog = _swaks(host, '-s', '127.0.0.1', '-p', '587', '-tls', '-a', 'PLAIN',
                    '-au', user, '-ap', password, '--quit-after', 'AUTH')
    assert '535 5.7.8' in dialog, dialog
    probe = _probe(host, '--port', '465', '--tls', 'wrapper', '--mech', 'PLAIN', '--user', user, '--password', password)
    assert probe['auth'][0] == 535, probe


def test_authenticated_mail_is_delivered_locally(host):
    host.run('id alice || useradd -m alice')
    token = 'source-build-%d' % time.time_ns()
    probe = _probe(host, '--port', '587', '--tls', 'starttls', '--user', 'alice', '--password', PASSWORD,
                   '--sender', 'alice@source-debian12.mailstack.test', '--to', 'alice@source-debian12.mailstack.test',
                   '--subject', token)
    assert probe['data'][0] == 250, probe
    wait_until('%s in /var/mail/alice (value: grep -q exit status)' % token,
               lambda: host.run('grep -q %s /var/mail/alice' % token).rc, 60, until=lambda rc: rc == 0,
               diagnose=lambda: host.run('postqueue -p').stdout)
    assert token in host.file('/var/mail/alice').content_string


# --- idempotence: no rebuild, and refusals before any compile ---------------------

def test_second_converge_changes_nothing_and_does_not_rebuild(host):
    before = _fingerprints(host)
    started = time.monotonic()
    recap, output = run_converge()
    elapsed = time.monotonic() - started
    counters = recap['source-debian12']
    assert counters['changed'] == 0 and counters['failed'] == 0, output[-6000:]
    assert 'Compile Postfix' not in output
    assert _fingerprints(host) == before
    assert _build_dirs(host) == []
    print('idempotent converge took %.1f s' % elapsed)


def test_changed_build_option_is_predicted_as_a_rebuild_in_check_mode(host):
    before = _fingerprints(host)
    recap, output = run_converge('--check', '-e', json.dumps({'postfix_source_map_types': ['lmdb', 'pcre', 'cdb']}))
    counters = recap['source-debian12']
    assert counters['failed'] == 0, output[-6000:]
    assert counters['changed'] > 0
    assert 'would be built from source: the version, checksum or build options changed' in output
    assert _fingerprints(host) == before


def _tampered_tarball():
    """A copy of the release with one byte appended: a matching checksum, but a bad signature."""
    source = _source()
    tmpdir = tempfile.mkdtemp(prefix='postfix-tampered-')
    path = os.path.join(tmpdir, 'postfix-%s.tar.gz' % source['version'])
    shutil.copyfile(source['tarball'], path)
    with open(path, 'ab') as f:
        f.write(b'\0')
    with open(path, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return tmpdir, path, digest


@pytest.mark.parametrize('case', ['unverified', 'wrong-checksum', 'bad-signature'])
def test_unverifiable_tarball_is_refused_before_building(host, case):
    before = _fingerprints(host)
    tmpdir = None
    if case == 'unverified':
        extra = {'postfix_source_sha256': ''}
        message = 'Refusing to build Postfix'
    elif case == 'wrong-checksum':
        extra = {'postfix_source_sha256': '0' * 64}
        message = 'Refusing to build from this tarball'
    else:
        tmpdir, path, digest = _tampered_tarball()
        extra = {'postfix_source_tarball_src': path, 'postfix_source_sha256': digest}
        message = 'Refusing to build: the signature'
    try:
        recap, output = run_converge('-e', json.dumps(extra))
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir)
    assert recap['source-debian12']['failed'] == 1, output[-6000:]
    assert message in output
    assert 'Compile Postfix' not in output
    assert _fingerprints(host) == before
    assert _build_dirs(host) == []


def test_check_diff_after_converge_reports_no_change():
    assert_check_diff_reports_no_change()
