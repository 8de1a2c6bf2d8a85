# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A self-signed key and certificate for Postfix's smtpd (private API).

What the postfix role did with community.crypto (openssl_privatekey,
openssl_csr_pipe, x509_certificate with the selfsigned provider), in one
pass: the key is kept while its type matches, the certificate while it is
for the key, the names and the usages, not due for renewal and not issued
for longer than asked. certificate_problems() is the pure decision, the
rest reads and writes files.

The certificate made is the one community.crypto made: version 3, subject
and issuer CN=common_name, a random serial, SHA-256, not before now, not
after now + valid_days, and the extensions subjectAltName, keyUsage,
extendedKeyUsage (serverAuth) and subjectKeyIdentifier, none critical
(openssl_csr's defaults; no basicConstraints). The key is PEM, PKCS#1 /
"traditional OpenSSL" (openssl_privatekey's default format), unencrypted.

python3-cryptography 38 (Debian 12) and newer: imported inside the functions.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import hashlib
import ipaddress
import os
import stat
import tempfile

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import ModuleError

# key_type -> what the key is, and the key usages of its certificate
# (keyEncipherment only for RSA key transport, which port 25 may still negotiate).
KEY_TYPES = {
    'ecdsa-p256': dict(kind='ec', curve='secp256r1', key_usage=['digitalSignature']),
    'ecdsa-p384': dict(kind='ec', curve='secp384r1', key_usage=['digitalSignature']),
    'rsa-2048': dict(kind='rsa', size=2048, key_usage=['digitalSignature', 'keyEncipherment']),
    'rsa-3072': dict(kind='rsa', size=3072, key_usage=['digitalSignature', 'keyEncipherment']),
    'rsa-4096': dict(kind='rsa', size=4096, key_usage=['digitalSignature', 'keyEncipherment']),
}
EXTENDED_KEY_USAGE = ['serverAuth']

DIR_MODE = 0o755
KEY_MODE = 0o600
CERT_MODE = 0o644

# cryptography's KeyUsage attributes -> the names community.crypto's options use.
_KEY_USAGE_NAMES = [
    ('digital_signature', 'digitalSignature'),
    ('content_commitment', 'nonRepudiation'),
    ('key_encipherment', 'keyEncipherment'),
    ('data_encipherment', 'dataEncipherment'),
    ('key_agreement', 'keyAgreement'),
    ('key_cert_sign', 'keyCertSign'),
    ('crl_sign', 'cRLSign'),
    ('encipher_only', 'encipherOnly'),
    ('decipher_only', 'decipherOnly'),
]
_EKU_NAMES = {
    '1.3.6.1.5.5.7.3.1': 'serverAuth',
    '1.3.6.1.5.5.7.3.2': 'clientAuth',
    '1.3.6.1.5.5.7.3.3': 'codeSigning',
    '1.3.6.1.5.5.7.3.4': 'emailProtection',
    '1.3.6.1.5.5.7.3.8': 'timeStamping',
    '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
}
_COMMON_NAME_OID = '2.5.4.3'
_SAN_PREFIXES = {'dns': 'DNS', 'ip': 'IP', 'email': 'email', 'uri': 'URI'}

_UTC = datetime.timezone.utc

# The certificate starts a minute in the past: a peer whose clock is a little behind still accepts it.
_BACKDATE = datetime.timedelta(minutes=1)


def _crypto():
    """The cryptography modules this file uses, imported on first use."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
    except ImportError:
        raise ModuleError('python3-cryptography is needed for the self-signed certificate: '
                          'install the python3-cryptography package on the host')
    return dict(x509=x509, hashes=hashes, serialization=serialization, ec=ec, rsa=rsa)


# --- the decision (pure) ------------------------------------------------------

def normalize_san(value):
    """A GeneralName string as community.crypto takes it (DNS:name, IP:addr, email:, URI:), written one way."""
    prefix, sep, rest = (value or '').partition(':')
    kind = _SAN_PREFIXES.get(prefix.strip().lower())
    if not sep or kind is None or not rest:
        raise ModuleError('subject_alt_names: %r is not DNS:name, IP:address, email:address or URI:uri' % value)
    if kind == 'IP':
        try:
            rest = str(ipaddress.ip_address(u'%s' % rest))
        except ValueError:
            raise ModuleError('subject_alt_names: %r is not an IP address' % value)
    return '%s:%s' % (kind, rest)


def due_for_renewal(not_after, now, renew_days):
    """True when the certificate ends within renew_days from now (x509_certificate_info's valid_at, negated)."""
    return now + datetime.timedelta(days=renew_days) > not_after


def certificate_problems(cert_facts, wanted, now):
    """Why the certificate must be made anew, in words; [] when it is what `wanted` asks.

    cert_facts: None (no certificate), {'unreadable': message}, or the dict
    certificate_facts() returns. wanted: public_key (sha256 hex of the key's
    SubjectPublicKeyInfo, or None for a key about to be made), common_name,
    subject_alt_names, key_usage, extended_key_usage, valid_days,
    renew_days. now: an aware datetime.
    """
    if cert_facts is None:
        return ['missing']
    if cert_facts.get('unreadable'):
        return ['unreadable']
    problems = []
    if wanted.get('public_key') is not None and cert_facts['public_key'] != wanted['public_key']:
        problems.append('not for the key')
    if [list(pair) for pair in cert_facts['subject']] != [['commonName', wanted['common_name']]]:
        problems.append('subject')
    if set(cert_facts['subject_alt_names']) != set(normalize_san(name) for name in wanted['subject_alt_names']):
        problems.append('names')
    if (set(cert_facts['key_usage']) != set(wanted['key_usage'])
            or set(cert_facts['extended_key_usage']) != set(wanted['extended_key_usage'])):
        problems.append('usages')
    if cert_facts['not_before'] > now:
        problems.append('not yet valid')
    if due_for_renewal(cert_facts['not_after'], now, wanted['renew_days']):
        problems.append('due for renewal')
    if (cert_facts['not_after'] - cert_facts['not_before']).days > wanted['valid_days']:
        problems.append('lifetime longer than asked')
    return problems


def check_spec(spec):
    """Reject a spec the functions below cannot honour; return it with defaults and SANs normalised."""
    spec = dict(spec)
    for option in ('dir', 'key_file', 'cert_file'):
        if not spec.get(option) or not os.path.isabs(spec[option]):
            raise ModuleError('tls_selfsigned.%s must be an absolute path, not %r' % (option, spec.get(option)))
    if spec.get('key_type') not in KEY_TYPES:
        raise ModuleError('tls_selfsigned.key_type %r is not one of %s'
                          % (spec.get('key_type'), ', '.join(sorted(KEY_TYPES))))
    if not spec.get('common_name'):
        raise ModuleError('tls_selfsigned.common_name must not be empty')
    names = spec.get('subject_alt_names') or []
    spec['subject_alt_names'] = [normalize_san(name) for name in names]
    try:
        valid_days, renew_days = int(spec.get('valid_days')), int(spec.get('renew_days'))
    except (TypeError, ValueError):
        raise ModuleError('tls_selfsigned.valid_days and renew_days must be numbers of days')
    if valid_days < 1 or not 0 <= renew_days < valid_days:
        raise ModuleError('tls_selfsigned: valid_days (%d) must be at least 1 and renew_days (%d) '
                          'at least 0 and less than it' % (valid_days, renew_days))
    spec['valid_days'], spec['renew_days'] = valid_days, renew_days
    return spec


def wanted_certificate(spec, public_key):
    """The `wanted` dict of certificate_problems() for a checked spec."""
    return dict(public_key=public_key, common_name=spec['common_name'],
                subject_alt_names=spec['subject_alt_names'],
                key_usage=KEY_TYPES[spec['key_type']]['key_usage'],
                extended_key_usage=EXTENDED_KEY_USAGE,
                valid_days=spec['valid_days'], renew_days=spec['renew_days'])


# --- reading keys and certificates ----------------------------------------------

def _utc(moment):
    """An aware UTC datetime (cryptography < 42 returns naive UTC ones)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=_UTC)
    return moment.astimezone(_UTC)


def _cert_time(cert, name):
    """not_valid_before/after as aware UTC: the *_utc properties (cryptography >= 42) or the naive ones."""
    value = getattr(cert, name + '_utc', None)
    if value is None:
        value = getattr(cert, name)
    return _utc(value)


def public_key_id(public_key):
    """sha256 hex of a public key's SubjectPublicKeyInfo (DER)."""
    serialization = _crypto()['serialization']
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def key_type_of(key):
    """The key_type name of a private key ('ecdsa-p256'...), or a description of another kind of key."""
    crypto = _crypto()
    if isinstance(key, crypto['ec'].EllipticCurvePrivateKey):
        for name, info in KEY_TYPES.items():
            if info['kind'] == 'ec' and info['curve'] == key.curve.name:
                return name
        return 'ecdsa-%s' % key.curve.name
    if isinstance(key, crypto['rsa'].RSAPrivateKey):
        return 'rsa-%d' % key.key_size
    return type(key).__name__


def _general_name(name):
    x509 = _crypto()['x509']
    if isinstance(name, x509.DNSName):
        return 'DNS:%s' % name.value
    if isinstance(name, x509.IPAddress):
        return 'IP:%s' % name.value
    if isinstance(name, x509.RFC822Name):
        return 'email:%s' % name.value
    if isinstance(name, x509.UniformResourceIdentifier):
        return 'URI:%s' % name.value
    return repr(name)


def _key_usage_names(usage):
    names = []
    for attribute, name in _KEY_USAGE_NAMES:
        try:
            if getattr(usage, attribute):
                names.append(name)
        except ValueError:  # encipher_only/decipher_only without key_agreement
            pass
    return names


def certificate_facts(pem):
    """The plain facts certificate_problems() reads, from a PEM certificate; {'unreadable': why} when it cannot."""
    x509 = _crypto()['x509']
    try:
        cert = x509.load_pem_x509_certificate(pem)
        extensions = dict((ext.oid.dotted_string, ext.value) for ext in cert.extensions)
        subject = [['commonName' if attr.oid.dotted_string == _COMMON_NAME_OID else attr.oid.dotted_string,
                    attr.value] for attr in cert.subject]
        facts = dict(
            public_key=public_key_id(cert.public_key()),
            subject=subject,
            serial=cert.serial_number,
            not_before=_cert_time(cert, 'not_valid_before'),
            not_after=_cert_time(cert, 'not_valid_after'),
        )
    except Exception as exc:  # cryptography raises ValueError, TypeError, its own errors...
        return dict(unreadable=str(exc) or type(exc).__name__)
    san = extensions.get(x509.oid.ExtensionOID.SUBJECT_ALTERNATIVE_NAME.dotted_string)
    usage = extensions.get(x509.oid.ExtensionOID.KEY_USAGE.dotted_string)
    eku = extensions.get(x509.oid.ExtensionOID.EXTENDED_KEY_USAGE.dotted_string)
    facts['subject_alt_names'] = [_general_name(name) for name in san] if san is not None else []
    facts['key_usage'] = _key_usage_names(usage) if usage is not None else []
    facts['extended_key_usage'] = [_EKU_NAMES.get(oid.dotted_string, oid.dotted_string)
                                   for oid in eku] if eku is not None else []
    return facts


def load_private_key(pem):
    """The private key of an unencrypted PEM file, or None when it is not one."""
    serialization = _crypto()['serialization']
    try:
        return serialization.load_pem_private_key(pem, password=None)
    except Exception:  # ValueError (not a key), TypeError (encrypted), UnsupportedAlgorithm
        return None


# --- making keys and certificates -----------------------------------------------

def generate_key(key_type):
    """A new private key of key_type."""
    crypto = _crypto()
    info = KEY_TYPES[key_type]
    if info['kind'] == 'ec':
        curve = {'secp256r1': crypto['ec'].SECP256R1, 'secp384r1': crypto['ec'].SECP384R1}[info['curve']]
        return crypto['ec'].generate_private_key(curve())
    return crypto['rsa'].generate_private_key(public_exponent=65537, key_size=info['size'])


def key_pem(key):
    """PEM of a private key, unencrypted, PKCS#1/SEC 1 ("BEGIN RSA/EC PRIVATE KEY") like openssl_privatekey."""
    serialization = _crypto()['serialization']
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def _san_object(name):
    x509 = _crypto()['x509']
    kind, _sep, value = name.partition(':')
    if kind == 'DNS':
        return x509.DNSName(value)
    if kind == 'IP':
        return x509.IPAddress(ipaddress.ip_address(u'%s' % value))
    if kind == 'email':
        return x509.RFC822Name(value)
    return x509.UniformResourceIdentifier(value)


def make_certificate(key, spec, now):
    """A self-signed certificate (PEM bytes) for `key`, shaped like community.crypto's selfsigned provider's."""
    crypto = _crypto()
    x509, hashes = crypto['x509'], crypto['hashes']
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, u'%s' % spec['common_name'])])
    usages = set(KEY_TYPES[spec['key_type']]['key_usage'])
    not_before = (now - _BACKDATE).replace(microsecond=0)
    builder = (x509.CertificateBuilder()
               .subject_name(name)
               .issuer_name(name)
               .serial_number(x509.random_serial_number())
               .not_valid_before(not_before)
               .not_valid_after(now.replace(microsecond=0) + datetime.timedelta(days=spec['valid_days']))
               .public_key(key.public_key()))
    if spec['subject_alt_names']:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_san_object(n) for n in spec['subject_alt_names']]), critical=False)
    builder = builder.add_extension(x509.KeyUsage(
        digital_signature='digitalSignature' in usages, content_commitment=False,
        key_encipherment='keyEncipherment' in usages, data_encipherment=False, key_agreement=False,
        key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False), critical=False)
    builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    cert = builder.sign(private_key=key, algorithm=hashes.SHA256())
    return cert.public_bytes(crypto['serialization'].Encoding.PEM)


# --- files --------------------------------------------------------------------------

def _read_bytes(path, what):
    """The bytes of a regular file, None when it does not exist; ModuleError for anything else there."""
    try:
        st = os.stat(path)
    except OSError:
        if os.path.lexists(path):
            raise ModuleError('%s %s is a dangling link' % (what, path))
        return None
    if not stat.S_ISREG(st.st_mode):
        raise ModuleError('%s %s exists and is not a regular file' % (what, path))
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        raise ModuleError('cannot read %s %s: %s' % (what, path, exc))


def _attribute_changes(st, mode):
    """What differs from root:root `mode` in a stat result, in words."""
    changes = []
    if st.st_uid != 0:
        changes.append('owner %d -> root' % st.st_uid)
    if st.st_gid != 0:
        changes.append('group %d -> root' % st.st_gid)
    if stat.S_IMODE(st.st_mode) != mode:
        changes.append('mode %04o -> %04o' % (stat.S_IMODE(st.st_mode), mode))
    return changes


def _fix_attributes(path, mode, check_mode):
    """Make an existing path root:root `mode`; return what was (or would be) changed."""
    changes = _attribute_changes(os.stat(path), mode)
    if changes and not check_mode:
        try:
            os.chmod(path, mode)  # first: a key loses its wider mode before anything else
            os.chown(path, 0, 0)
        except OSError as exc:
            raise ModuleError('cannot make %s root:root %04o: %s' % (path, mode, exc))
    return changes


def _ensure_dir(path, check_mode):
    """The directory root:root 0755, created with its parents when missing; what changed, in words."""
    if os.path.lexists(path) and not os.path.isdir(path):
        raise ModuleError('tls_selfsigned.dir %s exists and is not a directory' % path)
    if not os.path.isdir(path):
        if not check_mode:
            try:
                os.makedirs(path, DIR_MODE)
                os.chmod(path, DIR_MODE)
                os.chown(path, 0, 0)
            except OSError as exc:
                raise ModuleError('cannot create %s: %s' % (path, exc))
        return ['created']
    return _fix_attributes(path, DIR_MODE, check_mode)


def write_private_atomic(path, data, mode):
    """Write `data` to a temporary file made root:root `mode` before any byte is written, then rename it over path.

    Not module.atomic_move: it copies the replaced file's mode onto the new
    one, and a key must never be readable by others, not even for a moment.
    """
    directory = os.path.dirname(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)  # mode 0600
    except OSError as exc:
        raise ModuleError('cannot write in %s: %s' % (directory, exc))
    try:
        try:
            with os.fdopen(fd, 'wb') as handle:
                st = os.fstat(handle.fileno())
                if st.st_uid != 0 or st.st_gid != 0:
                    os.fchown(handle.fileno(), 0, 0)
                os.fchmod(handle.fileno(), mode)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.rename(tmp, path)
        except OSError as exc:
            raise ModuleError('cannot write %s: %s' % (path, exc))
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# --- the whole pair ---------------------------------------------------------------------

def _describe_cert(facts, mode_text):
    """A person's view of a certificate for the diff (no secret in it)."""
    if facts is None:
        return ''
    if facts.get('unreadable'):
        return 'unreadable: %s\n' % facts['unreadable']
    lines = [
        'subject: %s' % ', '.join('%s=%s' % tuple(pair) for pair in facts['subject']),
        'names: %s' % ', '.join(sorted(facts['subject_alt_names'])),
        'key usage: %s' % ', '.join(facts['key_usage']),
        'extended key usage: %s' % ', '.join(facts['extended_key_usage']),
        'not before: %s' % facts['not_before'].strftime('%Y-%m-%d %H:%M:%SZ'),
        'not after: %s' % facts['not_after'].strftime('%Y-%m-%d %H:%M:%SZ'),
        'public key sha256: %s' % facts['public_key'],
        mode_text,
    ]
    return '\n'.join(lines) + '\n'


def _file_words(st):
    return 'owner %d, group %d, mode %04o' % (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))


def _wanted_words(mode):
    return 'owner 0, group 0, mode %04o' % mode


def _diff(path, before, after):
    return dict(before_header=path, after_header=path, before=before, after=after)


def _converge_key(spec, check_mode):
    """Keep or make the key; return (key or None in check mode, its public key id or None, changed, diff)."""
    path, key_type = spec['key_file'], spec['key_type']
    data = _read_bytes(path, 'tls_selfsigned.key_file')
    key = load_private_key(data) if data is not None else None
    found = key_type_of(key) if key is not None else ('missing' if data is None else 'unreadable')
    if found == key_type:
        st = os.stat(path)
        changes = _fix_attributes(path, KEY_MODE, check_mode)
        diff = [_diff(path, '%s key, %s\n' % (found, _file_words(st)),
                      '%s key, %s\n' % (found, _wanted_words(KEY_MODE)))] if changes else []
        return key, public_key_id(key.public_key()), bool(changes), False, diff
    before = '' if data is None else '%s key, %s\n' % (found, _file_words(os.stat(path)))
    diff = [_diff(path, before, 'new %s key, %s\n' % (key_type, _wanted_words(KEY_MODE)))]
    if check_mode:
        return None, None, True, True, diff
    key = generate_key(key_type)
    write_private_atomic(path, key_pem(key), KEY_MODE)
    return key, public_key_id(key.public_key()), True, True, diff


def converge_selfsigned(module, spec, check_mode):
    """Converge the self-signed pair of `spec` (see check_spec); nothing is written in check mode.

    Returns dict(changed, key_changed, cert_changed, reasons, diff): reasons
    says why the certificate is (re)made ('missing', 'new key', 'not for
    the key', 'subject', 'names', 'usages', 'due for renewal', 'lifetime
    longer than asked', ...); an owner or mode fixed counts as a change but
    is no reason. The key never appears in the result.
    """
    _crypto()
    spec = check_spec(spec)
    now = datetime.datetime.now(_UTC)
    diff = []
    dir_changes = _ensure_dir(spec['dir'], check_mode)
    if dir_changes:
        diff.append(_diff(spec['dir'], '' if dir_changes == ['created'] else 'directory\n',
                          'directory, %s\n' % _wanted_words(DIR_MODE)))
    dir_exists = os.path.isdir(spec['dir'])  # False only in check mode

    if dir_exists:
        key, public_key, key_changed, key_new, key_diff = _converge_key(spec, check_mode)
    else:
        key, public_key, key_changed, key_new = None, None, True, True
        key_diff = [_diff(spec['key_file'], '', 'new %s key, %s\n' % (spec['key_type'], _wanted_words(KEY_MODE)))]
    diff.extend(key_diff)

    cert_path = spec['cert_file']
    pem = _read_bytes(cert_path, 'tls_selfsigned.cert_file') if dir_exists else None
    facts = certificate_facts(pem) if pem is not None else None
    # A new key: the old certificate is not for it; check mode cannot know its id, so neither run asks.
    reasons = certificate_problems(facts, wanted_certificate(spec, None if key_new else public_key), now)
    if key_new:
        reasons = ['new key'] + reasons
    cert_changed = bool(reasons)
    if cert_changed:
        before_st = os.stat(cert_path) if pem is not None else None
        before = _describe_cert(facts, _file_words(before_st) if before_st else '')
        if check_mode:
            after = 'a new certificate for %s (%s), %d days, %s\n' % (
                spec['common_name'], ', '.join(spec['subject_alt_names']), spec['valid_days'],
                _wanted_words(CERT_MODE))
        else:
            new_pem = make_certificate(key, spec, now)
            write_private_atomic(cert_path, new_pem, CERT_MODE)
            after = _describe_cert(certificate_facts(new_pem), _wanted_words(CERT_MODE))
        diff.append(_diff(cert_path, before, after))
    else:
        st = os.stat(cert_path)
        changes = _fix_attributes(cert_path, CERT_MODE, check_mode)
        if changes:
            cert_changed = True
            diff.append(_diff(cert_path, _describe_cert(facts, _file_words(st)),
                              _describe_cert(facts, _wanted_words(CERT_MODE))))
    return dict(changed=bool(dir_changes) or key_changed or cert_changed, key_changed=key_changed,
                cert_changed=cert_changed, reasons=reasons, diff=diff)
