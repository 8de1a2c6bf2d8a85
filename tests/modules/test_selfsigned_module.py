"""module_utils/_selfsigned.py for real: keys and certificates in a temporary directory.

converge_selfsigned runs with a real AnsibleModule (patch_module_args) and the
python3-cryptography of the test's interpreter, in the sequence a host sees:
a first run, a re-run, a renewal, a key type change (check mode, then for
real), a certificate for another key, owners and modes gone astray.
"""

import datetime
import os
import stat
import sys

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils import _selfsigned as ss
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import ModuleError

HOSTNAME = 'mail.example.org'

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='the pair is made root:root')


@pytest.fixture
def spec(tmp_path):
    tls = tmp_path / 'etc' / 'tls'
    return dict(dir=str(tls), key_file=str(tls / 'smtpd-selfsigned.key'), cert_file=str(tls / 'smtpd-selfsigned.crt'),
                key_type='ecdsa-p256', common_name=HOSTNAME, subject_alt_names=['DNS:' + HOSTNAME],
                valid_days=365, renew_days=30)


def converge(spec, check_mode=False, **changes):
    with patch_module_args({'_ansible_check_mode': check_mode}):
        module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    return ss.converge_selfsigned(module, dict(spec, **changes), module.check_mode)


def files(spec):
    """Each path's (uid, gid, mode, content) - None when missing."""
    snap = {}
    for name in ('dir', 'key_file', 'cert_file'):
        path = spec[name]
        if not os.path.lexists(path):
            snap[name] = None
            continue
        st = os.stat(path)
        content = None
        if name != 'dir':
            with open(path, 'rb') as handle:
                content = handle.read()
        snap[name] = (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), content)
    return snap


def cert_of(spec):
    return x509.load_pem_x509_certificate(files(spec)['cert_file'][3])


def lifetime(cert):
    # not_valid_*_utc only from cryptography 42: the module_utils' reader works with Debian 12's 38 too.
    return ss._cert_time(cert, 'not_valid_after') - ss._cert_time(cert, 'not_valid_before')


def assert_no_key_in(result, spec):
    key_pem = files(spec)['key_file'][3].decode()
    body = ''.join(key_pem.splitlines()[1:-1])
    assert body[:40] not in repr(result) and 'PRIVATE KEY' not in repr(result)


def test_check_mode_on_a_new_host_writes_nothing(spec):
    result = converge(spec, check_mode=True)
    assert result['changed'] and result['key_changed'] and result['cert_changed']
    assert result['reasons'] == ['new key', 'missing']
    assert files(spec) == dict(dir=None, key_file=None, cert_file=None)
    assert [d['after_header'] for d in result['diff']] == [spec['dir'], spec['key_file'], spec['cert_file']]


def test_first_run_makes_an_ecdsa_p256_pair_and_a_second_run_changes_nothing(spec):
    result = converge(spec)
    assert result['changed'] and result['key_changed'] and result['cert_changed']
    assert result['reasons'] == ['new key', 'missing']
    assert_no_key_in(result, spec)
    snap = files(spec)
    assert snap['dir'][:3] == (0, 0, 0o755)
    assert snap['key_file'][:3] == (0, 0, 0o600)
    assert snap['cert_file'][:3] == (0, 0, 0o644)
    # openssl_privatekey's default format: SEC 1 / PKCS#1, unencrypted.
    assert snap['key_file'][3].startswith(b'-----BEGIN EC PRIVATE KEY-----')

    cert = cert_of(spec)
    key = serialization.load_pem_private_key(snap['key_file'][3], password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == 'secp256r1'
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    assert cert.subject == cert.issuer == x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOSTNAME)])
    assert cert.version == x509.Version.v3
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    assert lifetime(cert).days == 365 and lifetime(cert) <= datetime.timedelta(days=366)
    now = datetime.datetime.now(datetime.timezone.utc)
    assert ss._cert_time(cert, 'not_valid_before') <= now < ss._cert_time(cert, 'not_valid_after')
    key.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    # The extensions of openssl_csr_pipe + x509_certificate (selfsigned): none critical, no basicConstraints.
    extensions = {ext.oid: ext for ext in cert.extensions}
    assert sorted(ext.oid._name for ext in cert.extensions) == sorted(
        ['subjectAltName', 'keyUsage', 'extendedKeyUsage', 'subjectKeyIdentifier'])
    assert not any(ext.critical for ext in cert.extensions)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [HOSTNAME] and len(san) == 1
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_encipherment and not usage.key_cert_sign
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH]
    assert extensions[x509.oid.ExtensionOID.SUBJECT_KEY_IDENTIFIER].value == \
        x509.SubjectKeyIdentifier.from_public_key(key.public_key())

    again = converge(spec)
    assert again == dict(changed=False, key_changed=False, cert_changed=False, reasons=[], diff=[])
    assert files(spec) == snap
    assert converge(spec, check_mode=True)['changed'] is False


def test_renewal_keeps_the_key_and_a_longer_certificate_is_replaced(spec):
    converge(spec)
    before = files(spec)
    # Valid for 365 days, it ends inside a 365-day renewal window.
    renewed = converge(spec, valid_days=366, renew_days=365)
    assert renewed['changed'] and renewed['cert_changed'] and not renewed['key_changed']
    assert renewed['reasons'] == ['due for renewal']
    after = files(spec)
    assert after['key_file'] == before['key_file']
    assert after['cert_file'][:3] == (0, 0, 0o644)
    cert = cert_of(spec)
    assert lifetime(cert).days == 366
    assert cert.serial_number != x509.load_pem_x509_certificate(before['cert_file'][3]).serial_number

    # The 366-day certificate is longer than the 365 days asked again.
    shorter = converge(spec)
    assert shorter['reasons'] == ['lifetime longer than asked'] and not shorter['key_changed']
    assert lifetime(cert_of(spec)).days == 365
    assert files(spec)['key_file'] == before['key_file']


def test_a_key_type_change_in_check_mode_then_for_real(spec):
    converge(spec)
    before = files(spec)
    predicted = converge(spec, check_mode=True, key_type='rsa-3072')
    assert predicted['changed'] and predicted['key_changed'] and predicted['cert_changed']
    assert predicted['reasons'] == ['new key', 'usages']
    assert files(spec) == before
    assert_no_key_in(predicted, spec)

    done = converge(spec, key_type='rsa-3072')
    assert {k: done[k] for k in ('changed', 'key_changed', 'cert_changed', 'reasons')} == {
        k: predicted[k] for k in ('changed', 'key_changed', 'cert_changed', 'reasons')}
    assert_no_key_in(done, spec)
    snap = files(spec)
    assert snap['key_file'][:3] == (0, 0, 0o600)
    assert snap['key_file'][3].startswith(b'-----BEGIN RSA PRIVATE KEY-----')
    cert = cert_of(spec)
    assert isinstance(cert.public_key(), rsa.RSAPublicKey) and cert.public_key().key_size == 3072
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_encipherment
    assert converge(spec, key_type='rsa-3072')['changed'] is False


def test_a_certificate_for_another_key_is_remade_with_the_kept_key(spec, tmp_path):
    converge(spec)
    kept = files(spec)['key_file']
    other = dict(spec, dir=str(tmp_path / 'other'), key_file=str(tmp_path / 'other' / 'k'),
                 cert_file=str(tmp_path / 'other' / 'c'))
    converge(other)
    with open(other['cert_file'], 'rb') as src, open(spec['cert_file'], 'wb') as dst:
        dst.write(src.read())
    result = converge(spec)
    assert result['reasons'] == ['not for the key'] and not result['key_changed'] and result['cert_changed']
    assert files(spec)['key_file'] == kept
    key = serialization.load_pem_private_key(kept[3], password=None)
    assert cert_of(spec).public_key().public_numbers() == key.public_key().public_numbers()


@pytest.mark.parametrize('changes, reasons', [
    (dict(common_name='smtp.example.org'), ['subject']),
    (dict(subject_alt_names=['DNS:' + HOSTNAME, 'IP:192.0.2.25']), ['names']),
    (dict(key_type='ecdsa-p384'), ['new key']),
])
def test_other_names_or_key_remake_the_certificate(spec, changes, reasons):
    converge(spec)
    result = converge(spec, **changes)
    assert result['reasons'] == reasons and result['cert_changed']
    assert converge(spec, **changes)['changed'] is False


def test_unreadable_files_are_made_anew(spec):
    converge(spec)
    with open(spec['cert_file'], 'wb') as handle:
        handle.write(b'not a certificate\n')
    assert converge(spec)['reasons'] == ['unreadable']
    with open(spec['key_file'], 'wb') as handle:
        handle.write(b'not a key\n')
    result = converge(spec)
    assert result['key_changed'] and result['reasons'] == ['new key']
    assert converge(spec)['changed'] is False


def test_owners_and_modes_are_fixed_without_a_new_pair(spec):
    converge(spec)
    before = files(spec)
    os.chmod(spec['dir'], 0o700)
    os.chmod(spec['key_file'], 0o644)
    os.chown(spec['cert_file'], 1234, 1234)
    astray = files(spec)

    predicted = converge(spec, check_mode=True)
    assert predicted['changed'] and predicted['key_changed'] and predicted['cert_changed']
    assert predicted['reasons'] == []
    assert files(spec) == astray
    assert_no_key_in(predicted, spec)

    done = converge(spec)
    assert {k: done[k] for k in ('changed', 'key_changed', 'cert_changed', 'reasons')} == {
        k: predicted[k] for k in ('changed', 'key_changed', 'cert_changed', 'reasons')}
    assert files(spec) == before
    assert converge(spec)['changed'] is False


def test_a_file_where_the_directory_should_be_fails(spec):
    os.makedirs(os.path.dirname(spec['dir']))
    open(spec['dir'], 'w').close()
    with pytest.raises(ModuleError, match='tls_selfsigned.dir'):
        converge(spec)


def test_without_cryptography_the_error_names_the_package(spec, monkeypatch):
    for name in [n for n in sys.modules if n == 'cryptography' or n.startswith('cryptography.')]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, 'cryptography', None)
    with pytest.raises(ModuleError, match='python3-cryptography'):
        converge(spec)
    assert not os.path.exists(spec['dir'])
