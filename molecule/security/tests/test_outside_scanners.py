"""Outside tools: testssl.sh and nmap against the server, run from security-outside, and the direct VRFY/EXPN check.

The scanners run once, side by side, in one `podman exec` (the `scans` fixture):

- testssl (Debian's testssl.sh) against 587 (STARTTLS) and 465 (implicit TLS)
  with -p (protocols), -s (cipher categories: NULL, export, LOW, 3DES,
  obsoleted CBC, AEAD without forward secrecy, ...) and -P (the server's
  cipher order, which lists every suite the server accepts per protocol).
  Not -e: it tries 370 ciphers one by one, about 70 s a port, and -s with -P
  answers the same questions.
- nmap's smtp-open-relay and smtp-enum-users (VRFY and EXPN, with the
  scenario's user names) against 25.

nmap's smtp-enum-users reads a 252 reply as "VRFY not permitted", so it
misses the leak of a Postfix with VRFY enabled (252 for a user, 550 for an
unknown name): the direct check asks VRFY and EXPN for existing and unknown
names and requires the same refusal for all. RCPT-based enumeration is out of
scope (every MTA answers 550 for an unknown local user).

The expectations are Mozilla's intermediate profile, not one tool's verdict:
TLS 1.2 and 1.3 only; on TLS 1.2 only ECDHE suites with AES-GCM or
ChaCha20-Poly1305 (forward secrecy, AEAD, no DH group), chosen in the
server's order; an ECDSA P-256 certificate valid for at most 366 days.
"""

import json
import re
import shlex
from xml.etree import ElementTree

import pytest

from security_helpers import SERVER, dialog

SUBMISSION_PORTS = [587, 465]
SCAN_DIR = '/tmp/outside-scans'
# Existing accounts (SASL users with a local mailbox, root, an alias) and names that do not exist.
KNOWN_USERS = ['alice', 'bob', 'root', 'postmaster']
UNKNOWN_USERS = ['nosuch-7f3c9e', 'mallory']
# The ECDHE suites of Mozilla's intermediate profile for TLS 1.2 (IANA names): forward-secret and AEAD.
INTERMEDIATE_TLS12 = re.compile(r'^TLS_ECDHE_(ECDSA|RSA)_WITH_(AES_128_GCM_SHA256|AES_256_GCM_SHA384'
                                r'|CHACHA20_POLY1305_SHA256)$')
TLS13_SUITES = {'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'}


def _testssl(port, address):
    starttls = '--starttls smtp ' if port == 587 else ''
    command = ('testssl --quiet --color 0 --warnings off -p -s -P --jsonfile {dir}/testssl-{port}.json {starttls}'
               '{address}:{port} > {dir}/testssl-{port}.log 2>&1')
    return command.format(dir=SCAN_DIR, port=port, starttls=starttls, address=address)


@pytest.fixture(scope='module')
def server_address(outside):
    return outside.check_output('getent hosts %s' % SERVER).split()[0]


@pytest.fixture(scope='module')
def scans(outside, server_name, server_address):
    """Run every scanner at once on security-outside; return their parsed results."""
    relay_args = 'smtp-open-relay.domain=%s,smtp-open-relay.ip=%s' % (server_name, server_address)
    users_args = 'smtp-enum-users.methods={VRFY,EXPN},userdb=%s/users' % SCAN_DIR
    script = ' & '.join([
        _testssl(587, server_address),
        _testssl(465, server_address),
        'nmap -Pn -n -sT -p 25 --script smtp-open-relay --script-args %s -oX %s/open-relay.xml %s > /dev/null'
        % (shlex.quote(relay_args), SCAN_DIR, server_address),
        # -vv: the script names each account it finds as "METHOD, user".
        'nmap -vv -Pn -n -sT -p 25 --script smtp-enum-users --script-args %s -oX %s/enum-users.xml %s > /dev/null'
        % (shlex.quote(users_args), SCAN_DIR, server_address),
    ]) + ' & wait'
    outside.check_output('rm -rf {0} && mkdir {0} && printf "%s\\n" {1} > {0}/users'.format(
        SCAN_DIR, ' '.join(KNOWN_USERS + UNKNOWN_USERS)))
    outside.run('bash -c %s' % shlex.quote(script))
    results = {}
    for port in SUBMISSION_PORTS:
        raw = outside.run('cat %s/testssl-%d.json' % (SCAN_DIR, port)).stdout
        log = outside.run('tail -c 3000 %s/testssl-%d.log' % (SCAN_DIR, port)).stdout
        assert raw.strip(), 'testssl wrote no JSON for port %d:\n%s' % (port, log)
        results['testssl', port] = {entry['id']: entry['finding'] for entry in json.loads(raw)}
    for script_id in ('smtp-open-relay', 'smtp-enum-users'):
        name = script_id.split('-', 1)[1]
        results[script_id] = _nmap_script_output(outside.check_output('cat %s/%s.xml' % (SCAN_DIR, name)), script_id)
    return results


def _nmap_script_output(xml_text, script_id):
    root = ElementTree.fromstring(xml_text)
    port = root.find("./host/ports/port[@portid='25']")
    assert port is not None and port.find('state').get('state') == 'open', xml_text[-2000:]
    script = port.find("script[@id='%s']" % script_id)
    assert script is not None, 'nmap ran no %s on 25:\n%s' % (script_id, xml_text[-2000:])
    return script.get('output').strip()


def _offered(findings, protocol):
    """The IANA names of the suites testssl found for a protocol (tls1_2, tls1_3), from -P."""
    return [finding.split()[-1] for key, finding in findings.items() if key.startswith('cipher-%s_x' % protocol)]


# --- testssl on the submission services ---------------------------------------------------

@pytest.mark.parametrize('port', SUBMISSION_PORTS)
def test_testssl_protocols_are_tls12_and_tls13_only(scans, port):
    findings = scans['testssl', port]
    for protocol in ('SSLv2', 'SSLv3', 'TLS1', 'TLS1_1'):
        assert findings[protocol] == 'not offered', (protocol, findings[protocol])
    assert findings['TLS1_2'] == 'offered', findings['TLS1_2']
    assert findings['TLS1_3'].startswith('offered'), findings['TLS1_3']


@pytest.mark.parametrize('port', SUBMISSION_PORTS)
def test_testssl_finds_no_cbc_and_no_weak_suite(scans, port):
    findings = scans['testssl', port]
    for category in ('NULL', 'aNULL', 'EXPORT', 'LOW', '3DES_IDEA', 'OBSOLETED'):
        assert findings['cipherlist_' + category] == 'not offered', (category, findings['cipherlist_' + category])


@pytest.mark.parametrize('port', SUBMISSION_PORTS)
def test_testssl_finds_only_forward_secret_aead_suites(scans, port):
    findings = scans['testssl', port]
    assert findings['cipherlist_STRONG_NOFS'] == 'not offered', findings['cipherlist_STRONG_NOFS']
    assert findings['cipherlist_STRONG_FS'] == 'offered', findings['cipherlist_STRONG_FS']
    tls12, tls13 = _offered(findings, 'tls1_2'), _offered(findings, 'tls1_3')
    assert tls12 and all(INTERMEDIATE_TLS12.match(suite) for suite in tls12), tls12
    assert tls13 and set(tls13) <= TLS13_SUITES, tls13


@pytest.mark.parametrize('port', SUBMISSION_PORTS)
def test_testssl_server_chooses_in_its_own_order(server, scans, port):
    findings = scans['testssl', port]
    assert findings['cipher_order'] == 'server', findings['cipher_order']
    # The configured order, less the suites an ECDSA key cannot serve (RSA authentication).
    configured = server.check_output('postconf -Ph submission/inet/tls_high_cipherlist').split(':')
    expected = [suite for suite in configured if '-ECDSA-' in suite]
    assert findings['cipherorder_TLSv1_2'].split() == expected


@pytest.mark.parametrize('port', SUBMISSION_PORTS)
def test_certificate_is_ecdsa_p256_for_at_most_a_year(outside, server_address, port):
    starttls = '-starttls smtp ' if port == 587 else ''
    text = outside.check_output(
        'openssl s_client %s-connect %s:%d </dev/null 2>/dev/null | openssl x509 -noout -text -dates'
        % (starttls, server_address, port))
    assert 'Public Key Algorithm: id-ecPublicKey' in text and 'NIST CURVE: P-256' in text, text
    dates = dict(line.split('=', 1) for line in text.splitlines() if line.startswith(('notBefore=', 'notAfter=')))
    days = int(outside.check_output('echo $(( ($(date -d %s +%%s) - $(date -d %s +%%s)) / 86400 ))'
                                    % (shlex.quote(dates['notAfter']), shlex.quote(dates['notBefore']))))
    assert 1 <= days <= 366, dates


# --- nmap against port 25 ------------------------------------------------------------------

def test_nmap_smtp_open_relay_finds_no_open_relay(server, scans):
    assert scans['smtp-open-relay'].startswith("Server doesn't seem to be an open relay"), scans['smtp-open-relay']
    queued = server.check_output('postqueue -j')
    assert 'nmap' not in queued and 'scanme' not in queued, queued


def test_nmap_smtp_enum_users_finds_no_account(scans):
    output = scans['smtp-enum-users']
    found = [line.strip() for line in output.splitlines() if re.match(r'\s*(VRFY|EXPN|RCPT), ', line)]
    assert not found, output
    for user in KNOWN_USERS:
        assert not re.search(r'\b%s\b' % user, output), output


# --- VRFY and EXPN directly -----------------------------------------------------------------

def _vrfy_expn_steps():
    return ['%s %s' % (command, user) for command in ('VRFY', 'EXPN') for user in KNOWN_USERS + UNKNOWN_USERS]


@pytest.mark.parametrize('port', [25, 587, 465])
def test_vrfy_and_expn_answer_the_same_for_every_name(outside, port):
    steps = _vrfy_expn_steps()
    if port == 465:
        result = dialog(outside, ['@EHLO'] + steps + ['QUIT'], server=SERVER, port=port, tls='wrapper')
    else:
        result = dialog(outside, ['@EHLO'] + (['@STARTTLS'] if port == 587 else []) + steps + ['QUIT'],
                        server=SERVER, port=port)
    replies = {entry['step']: (entry['code'], entry['text']) for entry in result['steps'] if entry['step'] in steps}
    for command in ('VRFY', 'EXPN'):
        answers = {replies['%s %s' % (command, user)] for user in KNOWN_USERS + UNKNOWN_USERS}
        assert len(answers) == 1, (command, answers)
        code, text = answers.pop()
        assert 500 <= code < 600, (command, code, text)
    assert replies['VRFY alice'][0] == 502 and 'VRFY command is disabled' in replies['VRFY alice'][1], replies
