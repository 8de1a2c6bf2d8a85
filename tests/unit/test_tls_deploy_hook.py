"""The renewal hook (roles/postfix/files/postfix-tls-deploy.sh) with SNI pairs, run for real in temporary directories.

The hook runs with MAIL_CONFIG naming a temporary Postfix configuration
(postconf, postfix check and postmap read it; Postfix is not running there,
so nothing is reloaded) and a settings file as the role writes it: the
default pair, two SNI pairs laid out as certbot's lineages, and the SNI table
whose source the role writes (lookup_table, file_values). The table is read
back with the real postmap: each name must hold the key and chain of its own
certificate, after a good renewal the new one, after a bad one the previous.
"""

import base64
import datetime
import os
import shutil
import stat
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from helpers.postfix import make_config_dir, postmap_query, snapshot

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOOK = os.path.join(REPO_ROOT, 'roles', 'postfix', 'files', 'postfix-tls-deploy.sh')
MYHOSTNAME = 'mx.example.test'  # tests/helpers/postfix.py's main.cf
SNI = {
    'a': ('mail.example.net', 'smtp.example.net'),
    'b': ('mail.example.com',),
}


def make_pair(directory, names, expired=False):
    """A self-signed ECDSA pair in `directory` (fullchain.pem, privkey.pem) for the DNS names, CN the first."""
    os.makedirs(directory, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = (now - datetime.timedelta(days=30), now - datetime.timedelta(days=1)) if expired else \
        (now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=30))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in names]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = os.path.join(directory, 'fullchain.pem'), os.path.join(directory, 'privkey.pem')
    with open(cert_file, 'wb') as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_file, 'wb') as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return cert_file, key_file


def read(path):
    with open(path, 'rb') as handle:
        return handle.read()


def served(cert, key):
    """What the hook's copy of a pair holds: the key, then the chain, without blank lines."""
    lines = (read(key) + b'\n' + read(cert)).split(b'\n')
    return b''.join(line + b'\n' for line in lines if line)


class Host(object):
    """A Postfix configuration, certbot's lineages and the hook's settings, in a temporary directory."""

    def __init__(self, root, map_type='hash'):
        self.root = str(root)
        self.config_dir = make_config_dir(root / 'postfix')
        self.tls = os.path.join(self.root, 'tls')
        os.makedirs(self.tls)
        self.live = os.path.join(self.root, 'live')
        self.chain = os.path.join(self.tls, 'smtpd-chain.pem')
        self.sni_dir = os.path.join(self.tls, 'sni-chains')
        self.table = os.path.join(self.tls, 'sni')
        self.map = '%s:%s' % (map_type, self.table)
        self.map_type = map_type
        self.settings = os.path.join(self.root, 'tls-deploy.conf')
        self.lineage('default', (MYHOSTNAME,))
        for name, names in SNI.items():
            self.lineage(name, names)
        self.write_settings(SNI)

    def lineage(self, name, names, **kwargs):
        return make_pair(os.path.join(self.live, name), names, **kwargs)

    def pair(self, name):
        directory = os.path.join(self.live, name)
        return os.path.join(directory, 'fullchain.pem'), os.path.join(directory, 'privkey.pem')

    def copy(self, name):
        return os.path.join(self.sni_dir, SNI[name][0] + '.pem')

    def write_settings(self, sni):
        cert, key = self.pair('default')
        lines = ['cert=' + cert, 'key=' + key, 'chain=' + self.chain, 'names=', 'lineage=' + os.path.dirname(cert),
                 'sni_dir=' + self.sni_dir]
        if sni:
            lines.append('sni_table=' + self.map)
        for name, names in sni.items():
            lines.append('sni=%s %s %s %s' % ((self.copy(name),) + self.pair(name) + (' '.join(names),)))
        with open(self.settings, 'w') as handle:
            handle.write('\n'.join(lines) + '\n')

    def write_table(self):
        """The table's source as the role writes it: each name, then the copy that serves it."""
        lines = ['%s %s' % (MYHOSTNAME, self.chain)]
        for name, names in SNI.items():
            lines.extend('%s %s' % (dns_name, self.copy(name)) for dns_name in names)
        with open(self.table, 'w') as handle:
            handle.write('\n'.join(lines) + '\n')
        os.chmod(self.table, 0o600)
        subprocess.run(['postmap', '-c', self.config_dir, '-F', self.map], check=True)

    def hook(self, *args, lineage=None):
        env = dict(os.environ, MAIL_CONFIG=self.config_dir)
        env.pop('RENEWED_LINEAGE', None)
        if lineage is not None:
            env['RENEWED_LINEAGE'] = os.path.join(self.live, lineage)
        return subprocess.run(['sh', HOOK, '--config', self.settings] + list(args), env=env, capture_output=True,
                              text=True, check=False)

    def held(self, name):
        """The key and chain the SNI table holds for `name` (base64-decoded), or None."""
        value = postmap_query(self.config_dir, name, self.map)
        return None if value is None else base64.b64decode(value)

    def files(self):
        paths = [os.path.join(directory, name) for directory in (self.tls, self.sni_dir)
                 if os.path.isdir(directory) for name in sorted(os.listdir(directory))]
        return snapshot(*[path for path in paths if os.path.isfile(path)])


@pytest.fixture
def host(tmp_path):
    """A host after the role's run: the pairs deployed by the hook, then the table written and indexed."""
    box = Host(tmp_path)
    first = box.hook('--no-reload')
    assert (first.returncode, first.stdout) == (0, 'deployed\n'), first.stderr
    box.write_table()
    return box


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_first_deployment_copies_every_pair_and_leaves_the_table_to_the_role(tmp_path):
    box = Host(tmp_path)
    result = box.hook('--no-reload')
    assert (result.returncode, result.stdout, result.stderr) == (0, 'deployed\n', '')
    assert read(box.chain) == served(*box.pair('default'))
    for name in SNI:
        assert read(box.copy(name)) == served(*box.pair(name))
        assert mode_of(box.copy(name)) == 0o600
    assert mode_of(box.sni_dir) == 0o700
    assert not os.path.exists(box.table + '.db')  # no source yet: the role writes it next


def test_each_name_holds_its_own_pair_and_a_second_run_changes_nothing(host):
    assert host.held(MYHOSTNAME) == served(*host.pair('default'))
    for name, names in SNI.items():
        for dns_name in names:
            assert host.held(dns_name) == served(*host.pair(name))
    assert host.held('unknown.example.org') is None
    before = host.files()
    result = host.hook()
    assert (result.returncode, result.stdout) == (0, 'unchanged\n'), result.stderr
    assert host.files() == before


def test_a_renewal_of_one_domain_is_deployed_and_indexed_alone(host):
    before = host.files()
    new = host.lineage('b', SNI['b'])
    assert host.hook('--check', lineage='b').stdout == 'would deploy\n'
    assert host.files() == before

    result = host.hook(lineage='b')
    assert (result.returncode, result.stdout) == (0, 'deployed\n'), result.stderr
    assert read(host.copy('b')) == served(*new)
    assert host.held('mail.example.com') == served(*new)
    after = host.files()
    for path in (host.chain, host.copy('a')):
        assert after[path] == before[path]  # bytes and mtime
    assert host.held('mail.example.net') == served(*host.pair('a'))
    assert host.held(MYHOSTNAME) == served(*host.pair('default'))
    assert mode_of(host.table + '.db') == 0o600
    assert [name for name in os.listdir(host.tls) if name.startswith('.')] == []
    assert host.hook(lineage='b').stdout == 'unchanged\n'


def test_a_renewal_of_the_default_pair_is_indexed_for_its_names_too(host):
    new = host.lineage('default', (MYHOSTNAME,))
    result = host.hook(lineage='default')
    assert (result.returncode, result.stdout) == (0, 'deployed\n'), result.stderr
    assert read(host.chain) == served(*new)
    assert host.held(MYHOSTNAME) == served(*new)


def mismatched_key(box):
    """The lineage's key replaced by another one."""
    shutil.copyfile(box.lineage('other', SNI['a'])[1], box.pair('a')[1])


BAD = {
    'mismatched key': ('the key does not belong to the certificate', mismatched_key),
    'a name not covered': ('the certificate does not cover the name smtp.example.net',
                           lambda box: box.lineage('a', ('mail.example.net',))),
    'expired': ('the certificate expired on', lambda box: box.lineage('a', SNI['a'], expired=True)),
}


@pytest.mark.parametrize('case', list(BAD))
def test_a_bad_renewal_of_one_domain_is_refused_and_every_name_keeps_its_pair(host, case):
    reason, make = BAD[case]
    old = served(*host.pair('a'))
    saved = {path: read(path) for path in host.pair('a')}
    make(host)
    # With no RENEWED_LINEAGE (a run by hand, or by the role) the good renewal of b goes through.
    new_b = host.lineage('b', SNI['b'])
    assert saved != {path: read(path) for path in host.pair('a')}

    result = host.hook()
    assert result.returncode == 1, (result.stdout, result.stderr)
    cert, key = host.pair('a')
    assert ('refused the certificate %s with the key %s (SNI: mail.example.net smtp.example.net): %s'
            % (cert, key, reason)) in result.stderr
    assert 'Postfix keeps serving the previous certificate' in result.stderr
    assert result.stdout == 'deployed\n'
    assert read(host.copy('a')) == old
    for dns_name in SNI['a']:
        assert host.held(dns_name) == old
    assert host.held('mail.example.com') == served(*new_b)
    assert host.held(MYHOSTNAME) == served(*host.pair('default'))


def test_a_table_that_postmap_cannot_build_keeps_the_live_index(host):
    before = snapshot(host.table + '.db')
    with open(host.table, 'a') as handle:
        handle.write('new.example.org %s/missing.pem\n' % host.sni_dir)
    host.lineage('b', SNI['b'])
    result = host.hook()
    assert result.returncode == 1
    assert 'postmap -F %s failed, Postfix keeps serving the previous SNI table' % host.map in result.stderr
    assert 'missing.pem' in result.stderr
    assert snapshot(host.table + '.db') == before
    # The copy is deployed: the next run finds the index older than it and builds it again.
    os.unlink(host.table)
    host.write_table()
    assert host.held('mail.example.com') == served(*host.pair('b'))


def test_an_index_older_than_a_copy_is_rebuilt(host):
    os.utime(host.table + '.db', (0, 0))
    assert host.hook('--check').stdout == 'would deploy\n'
    result = host.hook()
    assert (result.returncode, result.stdout) == (0, 'deployed\n'), result.stderr
    assert os.stat(host.table + '.db').st_mtime > 0


def test_a_renewal_of_another_certificate_is_ignored(host):
    before = host.files()
    result = host.hook(lineage='www')
    assert result.returncode == 0 and result.stdout.startswith('not this certificate: %s/www' % host.live)
    assert host.files() == before


def test_copies_of_certificates_no_longer_listed_are_removed(host):
    host.write_settings({'a': SNI['a']})
    result = host.hook()
    assert (result.returncode, result.stdout) == (0, 'unchanged\n'), result.stderr
    assert os.path.exists(host.copy('a')) and not os.path.exists(host.copy('b'))
    host.write_settings({})
    assert host.hook().returncode == 0
    assert not os.path.exists(host.sni_dir)


def test_the_role_check_of_sni_pairs_alone(host):
    """The role's check before it writes anything: --check, no settings file, the pairs as --sni options."""
    args = ['--check', '--config', '/nonexistent']
    for name, names in SNI.items():
        args += ['--sni', '%s %s %s %s' % ((host.copy(name),) + host.pair(name) + (' '.join(names),))]
    env = dict(os.environ, MAIL_CONFIG=host.config_dir)

    def run():
        return subprocess.run(['sh', HOOK] + args, env=env, capture_output=True, text=True, check=False)

    assert run().stdout == 'unchanged\n'
    host.lineage('a', SNI['a'])
    assert run().stdout == 'would deploy\n'
    host.lineage('a', ('mail.example.net',))
    result = run()
    assert result.returncode == 1
    assert 'the certificate does not cover the name smtp.example.net' in result.stderr
    assert not os.path.exists(os.path.join(host.tls, '.sni-table'))


@pytest.mark.parametrize('map_type', ['lmdb', 'cdb'])
def test_other_table_types(tmp_path, map_type):
    box = Host(tmp_path, map_type)
    supported = subprocess.run(['postconf', '-c', box.config_dir, '-m'], capture_output=True, text=True, check=True).stdout
    if map_type not in supported.split():
        pytest.skip('%s is not installed on this host' % map_type)
    assert box.hook('--no-reload').returncode == 0
    box.write_table()
    new = box.lineage('a', SNI['a'])
    result = box.hook(lineage='a')
    assert (result.returncode, result.stdout) == (0, 'deployed\n'), result.stderr
    assert box.held('smtp.example.net') == served(*new)
    assert mode_of(box.table + '.' + map_type) == 0o600
