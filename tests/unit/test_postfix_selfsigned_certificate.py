"""The postfix role's self-signed pair, run for real on localhost.

ansible-playbook loads the role's defaults and vars and converges the pair
the role declares (__postfix_tls_selfsigned) with managed_state, as
tasks/converge.yml does, writing the key and the certificate into a
temporary directory. One sequence of runs, as a host sees them over time:
the first run, a re-run, a run inside the renewal window, a run after the
lifetime was shortened, a key type change in check mode and for real.
"""

import os
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from helpers.roles import run_playbook

HOSTNAME = 'mail.example.org'
ROLE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'roles', 'postfix')
PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.include_vars: {role}/defaults/main.yml
    - ansible.builtin.include_vars: {role}/vars/main.yml
    - mailstack.sasl_postfix.managed_state:
        tls_selfsigned: "{{{{ __postfix_tls_selfsigned }}}}"
""".format(role=ROLE)
RECAP = re.compile(r'localhost\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)')


def _snapshot(tmp_path, rc, output):
    tls = tmp_path / 'tls'
    match = RECAP.search(output)
    assert match, output[-3000:]
    return {
        'rc': rc,
        'output': output,
        'changed': int(match.group(1)),
        'failed': int(match.group(2)),
        'cert_pem': (tls / 'smtpd-selfsigned.crt').read_bytes(),
        'key_pem': (tls / 'smtpd-selfsigned.key').read_bytes(),
        'key_mode': (tls / 'smtpd-selfsigned.key').stat().st_mode & 0o777,
    }


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """Run tls.yml in sequence on one directory; return a snapshot after each step."""
    tmp_path = tmp_path_factory.mktemp('selfsigned')
    base = {'postfix_myhostname': HOSTNAME, 'postfix_tls_selfsigned_dir': str(tmp_path / 'tls')}
    steps = [
        ('first', {}, ()),
        ('again', {}, ()),
        # Valid for 365 days, it ends inside a 365-day renewal window.
        ('renewal-window', {'postfix_tls_selfsigned_valid_days': 366, 'postfix_tls_selfsigned_renew_days': 365}, ()),
        # The 366-day certificate is longer than the 365 days asked again.
        ('shorter-lifetime', {}, ()),
        ('rsa-check-mode', {'postfix_tls_selfsigned_key_type': 'rsa-3072'}, ('--check',)),
        ('rsa', {'postfix_tls_selfsigned_key_type': 'rsa-3072'}, ()),
    ]
    snapshots = {}
    for name, variables, extra in steps:
        rc, output = run_playbook(tmp_path, PLAY, dict(base, **variables), extra_args=extra)
        snapshots[name] = _snapshot(tmp_path, rc, output)
    return snapshots


def _cert(snapshot):
    return x509.load_pem_x509_certificate(snapshot['cert_pem'])


def _lifetime_days(cert):
    return (cert.not_valid_after_utc - cert.not_valid_before_utc).days


def _ok(snapshot):
    assert snapshot['rc'] == 0 and snapshot['failed'] == 0, snapshot['output'][-3000:]


def test_first_run_makes_an_ecdsa_p256_certificate_for_a_year(runs):
    _ok(runs['first'])
    cert = _cert(runs['first'])
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == 'secp256r1'
    assert _lifetime_days(cert) == 365
    assert cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName) == [HOSTNAME]
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_encipherment
    assert runs['first']['key_mode'] == 0o600


def test_a_second_run_changes_nothing(runs):
    _ok(runs['again'])
    assert runs['again']['changed'] == 0, runs['again']['output'][-3000:]
    assert runs['again']['cert_pem'] == runs['first']['cert_pem']
    assert runs['again']['key_pem'] == runs['first']['key_pem']


def test_a_certificate_inside_the_renewal_window_is_renewed_with_the_same_key(runs):
    _ok(runs['renewal-window'])
    before, after = _cert(runs['again']), _cert(runs['renewal-window'])
    assert after.serial_number != before.serial_number
    assert _lifetime_days(after) == 366
    assert runs['renewal-window']['key_pem'] == runs['again']['key_pem']


def test_a_certificate_issued_for_longer_than_asked_is_replaced(runs):
    _ok(runs['shorter-lifetime'])
    assert _lifetime_days(_cert(runs['shorter-lifetime'])) == 365


def test_check_mode_predicts_a_key_type_change_and_writes_nothing(runs):
    _ok(runs['rsa-check-mode'])
    assert runs['rsa-check-mode']['changed'] >= 1
    assert runs['rsa-check-mode']['cert_pem'] == runs['shorter-lifetime']['cert_pem']
    assert runs['rsa-check-mode']['key_pem'] == runs['shorter-lifetime']['key_pem']


def test_a_key_type_change_replaces_key_and_certificate(runs):
    _ok(runs['rsa'])
    cert = _cert(runs['rsa'])
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 3072
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_encipherment
    assert runs['rsa']['key_mode'] == 0o600
