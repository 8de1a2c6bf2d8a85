"""Pure logic of plugins/module_utils/_postfix_config.py: the open-relay guard and the change decisions."""

import os
import stat

import pytest

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import ModuleError
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils import _postfix_config as pfc

PARAMETERS = {
    'mua_relay_restrictions': 'permit_sasl_authenticated, reject',
    'open_list': 'permit',
    'empty_list': '',
    'polite_list': 'permit_mynetworks defer_unauth_destination',
}

BARE_PERMIT = "has a bare 'permit' before reject_unauth_destination"
NO_STOP = 'does not contain reject_unauth_destination (or defer_unauth_destination, reject, defer)'


@pytest.mark.parametrize('value, problem', [
    ('permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination', None),
    ('permit_mynetworks permit_sasl_authenticated defer_unauth_destination', None),
    ('permit_sasl_authenticated,reject', None),
    ('defer', None),
    ('check_client_access hash:/etc/postfix/relay_clients, reject_unauth_destination, permit', None),
    ('reject_unauth_destination\n    permit', None),
    ('permit', BARE_PERMIT),
    ('permit_mynetworks, permit, reject_unauth_destination', BARE_PERMIT),
    ('  , permit ,', BARE_PERMIT),
    ('permit_mynetworks, permit_sasl_authenticated', NO_STOP),
    ('', NO_STOP),
    ('reject_unauth_pipelining', NO_STOP),
    ('rejected', NO_STOP),
    # one level of $parameter references
    ('$mua_relay_restrictions', None),
    ('${mua_relay_restrictions}', None),
    ('$(mua_relay_restrictions)', None),
    ('$polite_list, permit', None),
    ('$open_list', BARE_PERMIT),
    ('${open_list}, reject_unauth_destination', BARE_PERMIT),
    ('$empty_list', NO_STOP),
    ('$nosuch_list, reject', None),
    ('$nosuch_list', NO_STOP),
    # not a plain reference: a token of its own, neither a stop nor a bare permit
    ('${open_list?permit}', NO_STOP),
])
def test_relay_guard_problem(value, problem):
    assert pfc.relay_guard_problem(value, lambda name: PARAMETERS.get(name, '')) == problem


@pytest.mark.parametrize('value, tokens', [
    ('a, b,c  d\n\te', ['a', 'b', 'c', 'd', 'e']),
    ('', []),
    (None, []),
    (' , ,', []),
])
def test_split_restrictions(value, tokens):
    assert pfc.split_restrictions(value) == tokens


@pytest.mark.parametrize('token, name', [
    ('$abc_1', 'abc_1'), ('${abc}', 'abc'), ('$(abc)', 'abc'),
    ('abc', None), ('$', None), ('${abc', None), ('${abc?x}', None), ('$abc,', None), ('x$abc', None),
])
def test_parameter_reference(token, name):
    assert pfc.parameter_reference(token) == name


def test_service_overrides():
    text = ('submission/inet/syslog_name = postfix/submission\n'
            'submission/inet/smtpd_relay_restrictions = permit_sasl_authenticated,reject\n'
            'smtps/inet/smtpd_relay_restrictions = $mua_relay_restrictions\n'
            'relay/unix/smtp_relay_restrictions_x = permit\n'
            'garbage line\n')
    assert pfc.service_overrides(text, 'smtpd_relay_restrictions') == {
        'submission/inet': 'permit_sasl_authenticated,reject',
        'smtps/inet': '$mua_relay_restrictions',
    }
    assert pfc.service_overrides('', 'smtpd_relay_restrictions') == {}


def fake_stat(kind=stat.S_IFREG, mode=0o644, uid=0, gid=0):
    return os.stat_result((kind | mode, 0, 0, 1, uid, gid, 0, 0, 0, 0))


@pytest.mark.parametrize('info, ok', [
    (fake_stat(), True),
    (None, False),
    (fake_stat(mode=0o600), False),
    (fake_stat(mode=0o664), False),
    (fake_stat(uid=102), False),
    (fake_stat(gid=105), False),
    (fake_stat(kind=stat.S_IFLNK, mode=0o777), False),
    (fake_stat(kind=stat.S_IFDIR, mode=0o644), False),
])
def test_attributes_ok(info, ok):
    assert pfc.attributes_ok(info) is ok


@pytest.mark.parametrize('before, after, info, expected', [
    ('a\n', 'a\n', fake_stat(), []),
    ('a\n', 'b\n', fake_stat(), [dict(before_header='/p', after_header='/p', before='a\n', after='b\n')]),
    (None, 'b\n', None, [dict(before_header='/p', after_header='/p', before='', after='b\n')]),
    ('a\n', 'a\n', fake_stat(mode=0o600, gid=5), [
        dict(before_header='/p (type, owner, group, mode)', after_header='/p (type, owner, group, mode)',
             before='file, owner 0, group 5, mode 0600\n', after='file, owner 0, group 0, mode 0644\n')]),
    ('a\n', 'b\n', fake_stat(kind=stat.S_IFLNK, mode=0o777), [
        dict(before_header='/p', after_header='/p', before='a\n', after='b\n'),
        dict(before_header='/p (type, owner, group, mode)', after_header='/p (type, owner, group, mode)',
             before='link, owner 0, group 0, mode 0777\n', after='file, owner 0, group 0, mode 0644\n')]),
])
def test_file_diffs(before, after, info, expected):
    assert pfc.file_diffs('/p', before, after, info) == expected


@pytest.mark.parametrize('before, after, names, expected', [
    ({'inet_interfaces': 'all'}, {'inet_interfaces': 'all'}, ['inet_interfaces'], []),
    ({'inet_interfaces': 'all'}, {'inet_interfaces': 'loopback-only'}, ['inet_interfaces'], ['inet_interfaces']),
    ({'inet_interfaces': 'all', 'inet_protocols': 'all'}, {'inet_interfaces': 'all', 'inet_protocols': 'ipv4'},
     ['inet_interfaces', 'inet_protocols'], ['inet_protocols']),
    ({}, {'inet_interfaces': 'all'}, ['inet_interfaces'], ['inet_interfaces']),
    ({'x': '1'}, {'x': '2'}, [], []),
])
def test_differing_values(before, after, names, expected):
    assert pfc.differing_values(before, after, names) == expected


@pytest.mark.parametrize('table, expected', [
    ('hash:/etc/aliases', ('hash', '/etc/aliases')),
    ('lmdb:/etc/aliases', ('lmdb', '/etc/aliases')),
    ('inline:{a=b}', ('inline', '{a=b}')),
])
def test_split_map(table, expected):
    assert pfc.split_map('aliases.maps', table) == expected


@pytest.mark.parametrize('table', ['/etc/aliases', 'hash:', ':/etc/aliases', '', None])
def test_split_map_rejects(table):
    with pytest.raises(ModuleError, match=r'aliases.maps: .* is not a Postfix table of the form type:name'):
        pfc.split_map('aliases.maps', table)
