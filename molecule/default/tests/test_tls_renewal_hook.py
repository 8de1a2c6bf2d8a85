"""The certificate-renewal hook on default-debian13, tested by swapping the files as a renewal does.

prepare.yml laid out a certificate as certbot does (RSA 3072) and the
postfix role serves it through the hook (postfix_tls_renewal_hook): Postfix
reads only the checked copy /etc/postfix/tls/smtpd-chain.pem. Each test puts
a new pair where certbot would, runs the hook from certbot's deploy
directory with certbot's RENEWED_LINEAGE, and asks the running Postfix with
openssl s_client which certificate it serves: a good renewal (an ECDSA key
this time: the hook does not care about the key type) is served on 25, 465 and
587; a mismatched key, an expired certificate and a wrong name are refused,
the previous certificate keeps serving (even after a reload) and the journal
says why.
"""

import shlex
import time

import pytest

from helpers.molecule import container, run_converge, wait_until
from helpers.certificates import fingerprint, served_fingerprint

HOST = 'default-debian13'
NAME = HOST + '.mailstack.test'
LIVE = '/etc/letsencrypt/live/' + NAME
HOOK = '/etc/letsencrypt/renewal-hooks/deploy/mailstack-postfix-tls-deploy'
CHAIN = '/etc/postfix/tls/smtpd-chain.pem'
WORK = '/root/renewal-test'
TAG = 'mailstack-postfix-tls-deploy'


@pytest.fixture(scope='module')
def box():
    return container(HOST)


def _wait_served(box, expected):
    wait_until('Postfix to serve %s on 25, 465 and 587 (value: port -> SHA-256 fingerprint served)' % expected,
               lambda: {port: served_fingerprint(box, port) for port in (25, 465, 587)}, 60, interval=2,
               until=lambda served: set(served.values()) == {expected})


# The names the role requires: myhostname and postfix_tls_renewal_hook_names.
NAMES = (NAME, HOST)
# An ECDSA P-256 key (openssl req's -newkey), as a renewal may bring another key type.
ECDSA = 'ec -pkeyopt ec_paramgen_curve:P-256'
# A validity that ended long ago (openssl x509 -days no longer takes a negative number).
EXPIRED = '-not_before 20200101000000Z -not_after 20200102000000Z'


def _make_pair(box, name, newkey='rsa:2048', names=NAMES, validity='-days 30'):
    """A self-signed pair in WORK/<name>.{crt,key} for the DNS names given, CN the first."""
    path = '%s/%s' % (WORK, name)
    ext = '%s.ext' % path
    san = 'subjectAltName=' + ','.join('DNS:' + dns_name for dns_name in names)
    box.check_output('mkdir -p %s && printf %%s %s > %s' % (WORK, shlex.quote(san), ext))
    box.check_output('openssl req -new -newkey %s -nodes -subj /CN=%s -keyout %s.key -out %s.csr 2>/dev/null'
                     % (newkey, names[0], path, path))
    box.check_output('openssl x509 -req -in %s.csr -signkey %s.key %s -extfile %s -out %s.crt 2>/dev/null'
                     % (path, path, validity, ext, path))
    return path + '.crt', path + '.key'


def _install(box, cert, key):
    """Put a pair where certbot keeps the lineage's current files."""
    box.check_output('cp %s %s/fullchain.pem && cp %s %s/privkey.pem' % (cert, LIVE, key, LIVE))


def _hook(box, lineage=LIVE):
    return box.run('RENEWED_LINEAGE=%s %s' % (lineage, HOOK))


def _journal(box):
    return box.check_output('journalctl --no-pager -o cat -t %s' % TAG)


@pytest.fixture(scope='module')
def renewed(box):
    """A good renewal: a new ECDSA pair in the lineage, deployed by the hook."""
    cert, key = _make_pair(box, 'renewed-ecdsa', newkey=ECDSA)
    _install(box, cert, key)
    result = _hook(box)
    return {'cert': cert, 'key': key, 'result': result, 'fingerprint': fingerprint(box, cert)}


def test_postfix_serves_the_checked_copy_of_the_given_pair(box):
    assert box.check_output('postconf -h smtpd_tls_chain_files') == CHAIN
    # Expanded: smtpd_tls_key_file defaults to $smtpd_tls_cert_file.
    assert box.check_output('postconf -hx smtpd_tls_cert_file smtpd_tls_key_file').strip() == ''
    chain = box.file(CHAIN)
    assert (chain.user, chain.group, chain.mode) == ('root', 'root', 0o600)
    assert box.file(HOOK).is_symlink and box.file(HOOK).linked_to == '/usr/local/sbin/mailstack-postfix-tls-deploy'
    assert 'Public-Key: (3072 bit)' in box.check_output('openssl x509 -in %s/fullchain.pem -noout -text' % LIVE)
    _wait_served(box, fingerprint(box, LIVE + '/fullchain.pem'))


def test_a_good_renewal_is_checked_deployed_and_served(box, renewed):
    assert renewed['result'].rc == 0 and renewed['result'].stdout.strip() == 'deployed', renewed['result'].stderr
    _wait_served(box, renewed['fingerprint'])
    assert 'deployed the certificate %s/fullchain.pem (SHA-256 %s' % (LIVE, renewed['fingerprint']) in _journal(box)
    # The same files again: nothing to do.
    assert _hook(box).stdout.strip() == 'unchanged'


BAD = {
    'mismatched-key': ('the key does not belong to the certificate', lambda box: (
        _make_pair(box, 'other-a')[0], _make_pair(box, 'other-b')[1])),
    'expired': ('the certificate expired on', lambda box: _make_pair(box, 'expired', validity=EXPIRED)),
    'wrong-name': ('the certificate does not cover the name %s' % NAME,
                   lambda box: _make_pair(box, 'wrong-name', names=('mail.example.org',))),
}


@pytest.mark.parametrize('case', list(BAD))
def test_a_bad_renewal_is_refused_and_the_old_certificate_keeps_serving(box, renewed, case):
    reason, make = BAD[case]
    before = box.check_output('sha256sum %s' % CHAIN)
    cert, key = make(box)
    _install(box, cert, key)
    try:
        result = _hook(box)
        assert result.rc == 1, (result.stdout, result.stderr)
        assert reason in result.stderr and 'Postfix keeps serving the previous certificate' in result.stderr, result.stderr
        assert reason in _journal(box)
        assert box.check_output('sha256sum %s' % CHAIN) == before
        # Not even a reload (or a new smtpd process) picks up the bad pair.
        box.check_output('postfix reload')
        time.sleep(2)
        _wait_served(box, renewed['fingerprint'])
    finally:
        _install(box, renewed['cert'], renewed['key'])


def test_a_renewal_of_another_certificate_is_ignored(box, renewed):
    before = box.check_output('sha256sum %s' % CHAIN)
    result = _hook(box, lineage='/etc/letsencrypt/live/www.example.org')
    assert result.rc == 0 and 'not this certificate' in result.stdout, result.stdout
    assert box.check_output('sha256sum %s' % CHAIN) == before


def test_the_role_refuses_a_bad_pair_naming_the_variables_and_changes_nothing(box, renewed):
    state = 'sha256sum %s /etc/postfix/main.cf /etc/postfix/master.cf; cat /var/spool/postfix/pid/master.pid' % CHAIN
    before = box.check_output(state)
    cert, key = _make_pair(box, 'role-mismatch-a')[0], _make_pair(box, 'role-mismatch-b')[1]
    _install(box, cert, key)
    try:
        recap, output = run_converge('--limit', HOST)
        assert recap[HOST]['failed'] >= 1, output[-3000:]
        assert 'postfix_smtpd_tls_cert_file and postfix_smtpd_tls_key_file' in output, output[-3000:]
        assert 'the key does not belong to the certificate' in output
        assert box.check_output(state) == before
        _wait_served(box, renewed['fingerprint'])
    finally:
        _install(box, renewed['cert'], renewed['key'])


def test_after_a_renewal_the_role_predicts_no_change(box, renewed):
    recap, output = run_converge('--check', '--diff', '--limit', HOST)
    assert recap[HOST]['changed'] == 0 and recap[HOST]['failed'] == 0, output[-4000:]
