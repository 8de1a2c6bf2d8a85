"""One certificate per domain (TLS SNI) on default-debian13, through the renewal hook.

prepare.yml laid out two more certbot lineages, mail.sni-one.test (for
mail.sni-one.test and smtp.sni-one.test) and mail.sni-two.test, which
molecule.yml lists in postfix_tls_sni_certificates. The role deployed a
checked copy of each (/etc/postfix/tls/sni-chains) and the table
tls_server_sni_maps names (/etc/postfix/tls/sni, postmap -F: its index holds
the copies' content, root-only). openssl s_client asks the running Postfix
for each name, on 465 (implicit TLS) and on 587 (STARTTLS): each name gets its
own certificate, an unknown name and no name the default one. Then the
lineage of one domain is renewed and the hook run as certbot runs it: that
name gets the new certificate, the others theirs. A bad renewal of one domain
(a key of another certificate, a certificate without one of its names) is
refused, and every name keeps its certificate, even after a reload. Last,
the role, run in check mode, finds the table the hook rebuilt current.

Runs after test_tls_renewal_hook.py (which renews the default pair); each
test leaves every lineage holding the pair that is served.
"""

import shlex
import time

import pytest

from helpers.certificates import fingerprint, served_fingerprint
from helpers.molecule import container, run_converge, wait_until

HOST = 'default-debian13'
LIVE = '/etc/letsencrypt/live/'
DEFAULT = LIVE + HOST + '.mailstack.test'
DOMAINS = {
    'one': ('mail.sni-one.test', 'smtp.sni-one.test'),
    'two': ('mail.sni-two.test',),
}
HOOK = '/etc/letsencrypt/renewal-hooks/deploy/mailstack-postfix-tls-deploy'
TABLE = '/etc/postfix/tls/sni'
COPIES = '/etc/postfix/tls/sni-chains'
WORK = '/root/sni-test'
TAG = 'mailstack-postfix-tls-deploy'
PORTS = (465, 587)
UNKNOWN = 'unknown.sni-one.test'


@pytest.fixture(scope='module')
def box():
    return container(HOST)


def _lineage(domain):
    return LIVE + DOMAINS[domain][0]


def _cert(domain):
    return (_lineage(domain) if domain in DOMAINS else DEFAULT) + '/fullchain.pem'


def _served(box):
    """{(name, port): fingerprint served}, every SNI name, an unknown name and none, on 465 and 587."""
    names = [name for names in DOMAINS.values() for name in names] + [UNKNOWN, None]
    return {(name, port): served_fingerprint(box, port, name) for name in names for port in PORTS}


def _expected(box):
    """What _served must find: each name its lineage's certificate; the unknown name and none the default one."""
    prints = {domain: fingerprint(box, _cert(domain)) for domain in list(DOMAINS) + ['default']}
    expected = {(name, port): prints[domain] for domain, names in DOMAINS.items() for name in names for port in PORTS}
    expected.update({(name, port): prints['default'] for name in (UNKNOWN, None) for port in PORTS})
    return expected


def _wait_served(box, expected):
    wait_until('Postfix to serve each name its certificate on 465 and 587 (value: (name, port) -> fingerprint)',
               lambda: _served(box), 60, interval=2, until=lambda served: served == expected)


def _map(box):
    return box.check_output('postconf -h tls_server_sni_maps')


def _make_pair(box, label, names):
    """A new ECDSA pair in WORK/<label>.{crt,key} for the DNS names, CN the first."""
    path = '%s/%s' % (WORK, label)
    san = 'subjectAltName=' + ','.join('DNS:' + name for name in names)
    box.check_output('mkdir -p %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 '
                     '-subj /CN=%s -addext %s -keyout %s.key -out %s.crt 2>/dev/null'
                     % (WORK, names[0], shlex.quote(san), path, path))
    return path + '.crt', path + '.key'


def _install(box, domain, cert, key):
    """Put a pair where certbot keeps the lineage's current files."""
    box.check_output('cp %s %s/fullchain.pem && cp %s %s/privkey.pem' % (cert, _lineage(domain), key, _lineage(domain)))


def _keep(box, domain, label):
    """A copy of the lineage's current pair in WORK, to put back later."""
    path = '%s/%s' % (WORK, label)
    box.check_output('mkdir -p %s && cp %s/fullchain.pem %s.crt && cp %s/privkey.pem %s.key'
                     % (WORK, _lineage(domain), path, _lineage(domain), path))
    return path + '.crt', path + '.key'


def _hook(box, domain):
    return box.run('RENEWED_LINEAGE=%s %s' % (_lineage(domain), HOOK))


def _held(box):
    """{name: what the table holds for it, decoded (postmap -Fq)}: the SNI names and the default name."""
    names = [name for names in DOMAINS.values() for name in names] + [box.check_output('postconf -h myhostname')]
    return {name: box.check_output('postmap -Fq %s %s' % (name, _map(box))) for name in names}


def test_the_table_is_root_only_and_holds_each_names_key_and_chain(box):
    sni_map = _map(box)
    map_type, table_path = sni_map.split(':', 1)
    assert table_path == TABLE, sni_map
    index = TABLE + {'hash': '.db', 'btree': '.db', 'lmdb': '.lmdb', 'cdb': '.cdb'}[map_type]
    for path in (TABLE, index):
        table = box.file(path)
        assert (table.user, table.group, table.mode) == ('root', 'root', 0o600), path
    assert (box.file(COPIES).user, box.file(COPIES).mode) == ('root', 0o700)
    for domain, names in DOMAINS.items():
        leaf = box.check_output('openssl x509 -in %s' % _cert(domain))
        for name in names:
            held = box.check_output('postmap -Fq %s %s' % (name, sni_map))
            assert '-----BEGIN PRIVATE KEY-----' in held and leaf in held, name
    # myhostname and the default pair's other names point at the default copy; other names are not in the table.
    default_leaf = box.check_output('openssl x509 -in %s' % _cert('default'))
    for name in (box.check_output('postconf -h myhostname'), HOST):
        assert default_leaf in box.check_output('postmap -Fq %s %s' % (name, sni_map)), name
    assert box.run('postmap -Fq %s %s' % (UNKNOWN, sni_map)).rc == 1


def test_each_name_gets_its_certificate_on_465_and_587(box):
    _wait_served(box, _expected(box))
    # Not only another fingerprint: the certificate of that domain.
    subject = box.check_output('openssl s_client -connect 127.0.0.1:587 -starttls smtp -servername smtp.sni-one.test'
                               ' </dev/null 2>/dev/null | openssl x509 -noout -subject -ext subjectAltName')
    assert 'CN=mail.sni-one.test' in subject and 'DNS:smtp.sni-one.test' in subject, subject


def test_a_renewal_of_one_domain_is_served_after_the_hook(box):
    expected = _expected(box)
    cert, key = _make_pair(box, 'two-renewed', DOMAINS['two'])
    _install(box, 'two', cert, key)
    result = _hook(box, 'two')
    assert (result.rc, result.stdout.strip()) == (0, 'deployed'), result.stderr
    renewed = fingerprint(box, cert)
    assert renewed != expected[('mail.sni-two.test', 465)]
    expected.update({('mail.sni-two.test', port): renewed for port in PORTS})
    _wait_served(box, expected)
    assert 'deployed the certificate %s/fullchain.pem (SHA-256 %s' % (_lineage('two'), renewed) in \
        box.check_output('journalctl --no-pager -o cat -t %s' % TAG)
    assert _hook(box, 'two').stdout.strip() == 'unchanged'


BAD = {
    'mismatched-key': ('the key does not belong to the certificate',
                       lambda box, good: (good[0], _make_pair(box, 'other', DOMAINS['one'])[1])),
    'name-not-covered': ('the certificate does not cover the name smtp.sni-one.test',
                         lambda box, good: _make_pair(box, 'one-name-missing', DOMAINS['one'][:1])),
}


@pytest.mark.parametrize('case', list(BAD))
def test_a_bad_renewal_of_one_domain_leaves_every_name_its_certificate(box, case):
    reason, make = BAD[case]
    expected = _expected(box)
    good = _keep(box, 'one', 'one-good')
    chains = 'sha256sum %s/*.pem /etc/postfix/tls/smtpd-chain.pem' % COPIES
    before, held = box.check_output(chains), _held(box)
    _install(box, 'one', *make(box, good))
    try:
        result = _hook(box, 'one')
        assert result.rc == 1, (result.stdout, result.stderr)
        assert '(SNI: %s): %s' % (' '.join(DOMAINS['one']), reason) in result.stderr, result.stderr
        assert 'Postfix keeps serving the previous certificate' in result.stderr
        assert box.check_output(chains) == before and _held(box) == held
        # Not even a reload (new smtpd processes open the table again) picks up the bad pair.
        box.check_output('postfix reload')
        time.sleep(2)
        _wait_served(box, expected)
    finally:
        _install(box, 'one', *good)


def test_after_the_renewals_the_role_predicts_no_change(box):
    recap, output = run_converge('--check', '--diff', '--limit', HOST)
    assert recap[HOST]['changed'] == 0 and recap[HOST]['failed'] == 0, output[-4000:]
