"""module_utils/_selfsigned.py: the decision about the self-signed certificate, as data."""

import datetime

import pytest

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils import _selfsigned as ss
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import ModuleError

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
DAY = datetime.timedelta(days=1)

WANTED = dict(public_key='aa' * 32, common_name='mail.example.org', subject_alt_names=['DNS:mail.example.org'],
              key_usage=['digitalSignature'], extended_key_usage=['serverAuth'], valid_days=365, renew_days=30)


def current(**changes):
    """The facts of a certificate made 10 days ago as WANTED asks, with `changes`."""
    facts = dict(public_key='aa' * 32, subject=[['commonName', 'mail.example.org']],
                 subject_alt_names=['DNS:mail.example.org'], key_usage=['digitalSignature'],
                 extended_key_usage=['serverAuth'], serial=1,
                 not_before=NOW - 10 * DAY, not_after=NOW + 355 * DAY)
    facts.update(changes)
    return facts


def wanted(**changes):
    return dict(WANTED, **changes)


@pytest.mark.parametrize('facts, want, reasons', [
    pytest.param(current(), WANTED, [], id='current'),
    pytest.param(None, WANTED, ['missing'], id='missing'),
    pytest.param({'unreadable': 'no PEM'}, WANTED, ['unreadable'], id='unreadable'),
    pytest.param(current(public_key='bb' * 32), WANTED, ['not for the key'], id='another key'),
    # A key about to be made: its id is unknown, the other checks still speak.
    pytest.param(current(public_key='bb' * 32), wanted(public_key=None), [], id='key to be made'),
    pytest.param(current(subject=[['commonName', 'old.example.org']]), WANTED, ['subject'], id='other CN'),
    pytest.param(current(subject=[['2.5.4.10', 'Example'], ['commonName', 'mail.example.org']]), WANTED,
                 ['subject'], id='more than CN'),
    pytest.param(current(subject=[]), WANTED, ['subject'], id='empty subject'),
    pytest.param(current(subject_alt_names=[]), WANTED, ['names'], id='no SAN'),
    pytest.param(current(subject_alt_names=['DNS:mail.example.org', 'DNS:smtp.example.org']), WANTED, ['names'],
                 id='a SAN too many'),
    pytest.param(current(subject_alt_names=['DNS:smtp.example.org', 'IP:192.0.2.1']),
                 wanted(subject_alt_names=['ip:192.0.2.1', 'DNS:smtp.example.org']), [], id='SANs as a set'),
    pytest.param(current(subject_alt_names=['IP:2001:db8::1']),
                 wanted(subject_alt_names=['IP:2001:0db8:0:0:0:0:0:1']), [], id='IPv6 written another way'),
    pytest.param(current(key_usage=['digitalSignature', 'keyEncipherment']), WANTED, ['usages'],
                 id='RSA usages on ECDSA'),
    pytest.param(current(), wanted(key_usage=['digitalSignature', 'keyEncipherment']), ['usages'],
                 id='ECDSA usages for RSA'),
    pytest.param(current(key_usage=[]), WANTED, ['usages'], id='no key usage'),
    pytest.param(current(extended_key_usage=['serverAuth', 'clientAuth']), WANTED, ['usages'], id='EKU more'),
    pytest.param(current(extended_key_usage=[]), WANTED, ['usages'], id='no EKU'),
    pytest.param(current(not_before=NOW + DAY, not_after=NOW + 300 * DAY), WANTED, ['not yet valid'],
                 id='not yet valid'),
    pytest.param(current(not_before=NOW - 340 * DAY, not_after=NOW + 25 * DAY), WANTED, ['due for renewal'],
                 id='due'),
    pytest.param(current(not_before=NOW - 400 * DAY, not_after=NOW - DAY), WANTED,
                 ['due for renewal', 'lifetime longer than asked'], id='expired and long'),
    pytest.param(current(not_before=NOW - 100 * DAY, not_after=NOW + 3550 * DAY), WANTED,
                 ['lifetime longer than asked'], id='ten years (0.1.0)'),
    pytest.param(current(not_before=NOW - DAY, not_after=NOW + 365 * DAY), WANTED,
                 ['lifetime longer than asked'], id='366 days for 365'),
    # community.crypto computes not_before and not_after a moment apart: seconds over are the same day.
    pytest.param(current(not_before=NOW, not_after=NOW + 365 * DAY + datetime.timedelta(seconds=2)), WANTED, [],
                 id='365 days and 2 seconds'),
    pytest.param(current(not_before=NOW - datetime.timedelta(minutes=1), not_after=NOW + 365 * DAY), WANTED, [],
                 id='backdated a minute'),
    pytest.param(current(public_key='bb' * 32, subject=[], subject_alt_names=[], key_usage=[],
                         not_before=NOW - 3650 * DAY, not_after=NOW + DAY), WANTED,
                 ['not for the key', 'subject', 'names', 'usages', 'due for renewal', 'lifetime longer than asked'],
                 id='all at once, in order'),
])
def test_certificate_problems(facts, want, reasons):
    assert ss.certificate_problems(facts, want, NOW) == reasons


@pytest.mark.parametrize('not_after, renew_days, due', [
    (NOW + 30 * DAY, 30, False),  # valid at now + 30 days, as x509_certificate_info's valid_at says
    (NOW + 30 * DAY - datetime.timedelta(seconds=1), 30, True),
    (NOW + 30 * DAY + datetime.timedelta(seconds=1), 30, False),
    (NOW + 365 * DAY, 365, False),
    (NOW + 365 * DAY - datetime.timedelta(seconds=1), 365, True),
    (NOW, 0, False),
    (NOW - datetime.timedelta(seconds=1), 0, True),
])
def test_renewal_window_edges(not_after, renew_days, due):
    assert ss.due_for_renewal(not_after, NOW, renew_days) is due
    facts = current(not_before=min(NOW, not_after), not_after=not_after)
    expected = ['due for renewal'] if due else []
    assert ss.certificate_problems(facts, wanted(renew_days=renew_days), NOW) == expected


@pytest.mark.parametrize('value, normal', [
    ('DNS:mail.example.org', 'DNS:mail.example.org'),
    ('dns:mail.example.org', 'DNS:mail.example.org'),
    ('IP:192.0.2.1', 'IP:192.0.2.1'),
    ('IP:2001:DB8:0::1', 'IP:2001:db8::1'),
    ('email:postmaster@example.org', 'email:postmaster@example.org'),
    ('URI:https://example.org/', 'URI:https://example.org/'),
])
def test_normalize_san(value, normal):
    assert ss.normalize_san(value) == normal


@pytest.mark.parametrize('value', ['mail.example.org', 'DNS:', 'IP:300.1.1.1', 'RID:1.2.3', ''])
def test_normalize_san_rejects(value):
    with pytest.raises(ModuleError, match='subject_alt_names'):
        ss.normalize_san(value)


SPEC = dict(dir='/etc/postfix/tls', key_file='/etc/postfix/tls/k.key', cert_file='/etc/postfix/tls/c.crt',
            key_type='ecdsa-p256', common_name='mail.example.org', subject_alt_names=['DNS:mail.example.org'],
            valid_days=365, renew_days=30)


@pytest.mark.parametrize('changes, message', [
    (dict(key_type='ed25519'), 'key_type'),
    (dict(key_file='relative.key'), 'key_file'),
    (dict(dir=''), 'dir'),
    (dict(common_name=''), 'common_name'),
    (dict(valid_days=0), 'valid_days'),
    (dict(renew_days=365), 'renew_days'),
    (dict(renew_days=-1), 'renew_days'),
    (dict(valid_days='a year'), 'valid_days'),
    (dict(subject_alt_names=['mail.example.org']), 'subject_alt_names'),
])
def test_check_spec_rejects(changes, message):
    with pytest.raises(ModuleError, match=message):
        ss.check_spec(dict(SPEC, **changes))


def test_check_spec_normalises():
    spec = ss.check_spec(dict(SPEC, valid_days='366', renew_days='365', subject_alt_names=['ip:::1']))
    assert (spec['valid_days'], spec['renew_days'], spec['subject_alt_names']) == (366, 365, ['IP:::1'])


@pytest.mark.parametrize('key_type, usages', [
    ('ecdsa-p256', ['digitalSignature']),
    ('ecdsa-p384', ['digitalSignature']),
    ('rsa-2048', ['digitalSignature', 'keyEncipherment']),
    ('rsa-4096', ['digitalSignature', 'keyEncipherment']),
])
def test_wanted_usages_follow_the_key_type(key_type, usages):
    want = ss.wanted_certificate(ss.check_spec(dict(SPEC, key_type=key_type)), 'cc')
    assert want['key_usage'] == usages and want['extended_key_usage'] == ['serverAuth']
