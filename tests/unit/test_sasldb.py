"""Pure logic of plugins/module_utils/_sasldb.py: input checks, dump format, planning."""

import pytest

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils import _sasldb
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import ModuleError

GOOD_IDENTS = ['alice', 'a.b-c_d+e', 'j\u00f6rg', 'mail.example.org', 'x' * 200]
BAD_IDENTS = [
    ('', 'must not be empty'),
    ('a@b', "must not contain '@'"),
    ('a:b', "must not contain ':'"),
    ('a b', 'whitespace or a control character'),
    ('a\tb', 'whitespace or a control character'),
    ('a\nb', 'whitespace or a control character'),
    ('a\x00b', 'whitespace or a control character'),
    ('a\x7fb', 'whitespace or a control character'),
    (' alice', 'whitespace or a control character'),
    ('alice\r', 'whitespace or a control character'),
]


@pytest.mark.parametrize('value', GOOD_IDENTS)
def test_check_ident_accepts(value):
    _sasldb.check_ident('name', value)


@pytest.mark.parametrize('value,message', BAD_IDENTS)
def test_check_ident_rejects_and_names_option(value, message):
    with pytest.raises(ModuleError) as exc:
        _sasldb.check_ident('users[3].realm', value)
    assert message in str(exc.value)
    assert 'users[3].realm' in str(exc.value)


@pytest.mark.parametrize('password,message', [('', 'must not be empty'), ('a\x00b', 'NUL')])
def test_check_password_rejects_without_showing_it(password, message):
    with pytest.raises(ModuleError) as exc:
        _sasldb.check_password('password', password, 'alice@ex.org')
    assert message in str(exc.value)
    assert 'alice@ex.org' in str(exc.value)
    if password:
        assert password not in str(exc.value)


def _items(*triples):
    return [(b'\0'.join((u.encode(), r.encode(), b'userPassword')), p.encode()) for u, r, p in triples]


def test_dump_round_trip_keeps_every_byte():
    items = _items(('alice', 'ex.org', 'pw with spaces \\ and \xe9'), ('bob', 'h', 'x'))
    items.append((b'carol\0ex.org\0cmusaslsecretOTP', b'\x00\x01\xff'))
    text = _sasldb.render_dump(items, '4096')
    header, parsed = _sasldb.parse_dump(text)
    assert parsed == items
    assert header['type'] == 'hash' and header['db_pagesize'] == '4096'


@pytest.mark.parametrize('text,message', [
    ('garbage\n', 'no database header'),
    ('VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\nDATA=END\n', 'btree'),
    ('VERSION=3\nformat=bytevalue\ntype=hash\ndatabase=sub\nHEADER=END\nDATA=END\n', 'sub-databases'),
    ('VERSION=3\nformat=bytevalue\ntype=hash\nHEADER=END\n 61\n', 'incomplete'),
    ('VERSION=3\nformat=bytevalue\ntype=hash\nHEADER=END\n 6100\n 62\nDATA=END\n', 'user NUL realm NUL property'),
    ('VERSION=3\nformat=bytevalue\ntype=hash\nHEADER=END\n 610062\n 62\nDATA=END\n', 'user NUL realm NUL property'),
    ('VERSION=3\nformat=bytevalue\ntype=hash\nHEADER=END\n 00620063\n 62\nDATA=END\n', 'user NUL realm NUL property'),
    ('VERSION=3\nformat=bytevalue\ntype=hash\nHEADER=END\n 6100620063\nDATA=END\n', 'odd number'),
    ('VERSION=3\nformat=bytevalue\ntype=hash\nHEADER=END\n zz\n 62\nDATA=END\n', 'unreadable'),
])
def test_parse_dump_rejects_what_is_not_a_sasldb(text, message):
    with pytest.raises(_sasldb.NotSasldb) as exc:
        _sasldb.parse_dump(text)
    assert message in str(exc.value)


def _current(*triples):
    return _sasldb.group_users(_items(*triples))


def _want(name, realm='ex.org', password=None, state='present'):
    return {'name': name, 'realm': realm, 'password': password, 'state': state}


A = ('alice', 'ex.org')
B = ('bob', 'ex.org')
C = ('carol', 'other.org')

# (id, current users, wanted, update_password, exclusive, added, updated, removed)
PLAN_CASES = [
    ('create', [], [_want('alice', password='a')], 'always', False, [A], [], []),
    ('same password', [('alice', 'ex.org', 'a')], [_want('alice', password='a')], 'always', False, [], [], []),
    ('new password', [('alice', 'ex.org', 'a')], [_want('alice', password='b')], 'always', False, [], [A], []),
    ('on_create keeps', [('alice', 'ex.org', 'a')], [_want('alice', password='b')], 'on_create', False, [], [], []),
    ('on_create creates', [], [_want('alice', password='b')], 'on_create', False, [A], [], []),
    ('no password keeps', [('alice', 'ex.org', 'a')], [_want('alice')], 'always', False, [], [], []),
    ('absent removes', [('alice', 'ex.org', 'a')], [_want('alice', state='absent')], 'always', False, [], [], [A]),
    ('absent missing', [], [_want('alice', state='absent')], 'always', False, [], [], []),
    ('realm matters', [('alice', 'other.org', 'a')], [_want('alice', password='a')], 'always', False, [A], [], []),
    ('prefix password differs', [('alice', 'ex.org', 'ab')], [_want('alice', password='a')], 'always', False, [], [A], []),
    ('exclusive', [('alice', 'ex.org', 'a'), ('bob', 'ex.org', 'b'), ('carol', 'other.org', 'c')],
     [_want('alice', password='a')], 'always', True, [], [], [B, C]),
    ('exclusive empty', [('alice', 'ex.org', 'a'), ('bob', 'ex.org', 'b')], [], 'always', True, [], [], [A, B]),
    ('exclusive absent listed', [('alice', 'ex.org', 'a'), ('bob', 'ex.org', 'b')],
     [_want('alice', state='absent'), _want('bob', password='b')], 'always', True, [], [], [A]),
    ('mixed', [('alice', 'ex.org', 'a'), ('bob', 'ex.org', 'b')],
     [_want('alice', password='A'), _want('bob', state='absent'), _want('carol', 'other.org', 'c')], 'always', False, [C], [A], [B]),
]


@pytest.mark.parametrize('case_id,current,wanted,update_password,exclusive,added,updated,removed', PLAN_CASES,
                         ids=[c[0] for c in PLAN_CASES])
def test_plan(case_id, current, wanted, update_password, exclusive, added, updated, removed):
    users, order = _current(*current)
    result = _sasldb.plan(users, order, wanted, update_password, exclusive)
    assert (result.added, result.updated, result.removed) == (added, updated, removed)
    assert result.changed == bool(added or updated or removed)
    # the new content holds exactly the surviving and new users
    expected = (set(order) - set(removed)) | set(added)
    assert set(result.after_order) == expected == set(result.after_users)
    for entry in wanted:
        user = (entry['name'], entry['realm'])
        if user in added or user in updated:
            assert result.after_users[user][b'userPassword'] == entry['password'].encode()
    # planning never touches its input
    assert _current(*current) == (users, order)


def test_plan_keeps_other_properties():
    users, order = _sasldb.group_users([(b'alice\0ex.org\0userPassword', b'a'), (b'alice\0ex.org\0cmusaslsecretOTP', b'otp')])
    result = _sasldb.plan(users, order, [_want('alice', password='b')])
    assert result.after_users[A] == {b'userPassword': b'b', b'cmusaslsecretOTP': b'otp'}


def test_plan_rejects_duplicates():
    with pytest.raises(ModuleError, match='alice@ex.org is listed more than once'):
        _sasldb.plan({}, [], [_want('alice', password='a'), _want('alice', state='absent')])


def test_plan_requires_password_for_new_user():
    with pytest.raises(ModuleError, match='password is required to create user alice@ex.org'):
        _sasldb.plan({}, [], [_want('alice')])


def test_diff_lists_users_and_marks_updates_without_secrets():
    users, order = _current(('alice', 'ex.org', 'old-secret'), ('bob', 'ex.org', 'b'))
    result = _sasldb.plan(users, order, [_want('alice', password='new-secret'), _want('bob', state='absent'),
                                         _want('carol', 'other.org', 'c-secret')])
    diff = result.diff('/x/sasldb2')
    assert diff['before'] == 'alice@ex.org\nbob@ex.org\n'
    assert diff['after'] == 'alice@ex.org  # password changed\ncarol@other.org\n'
    assert 'secret' not in repr(diff)


def test_normalize_users_fills_default_realm_once():
    calls = []

    def realm():
        calls.append(1)
        return 'host.example'
    wanted, default = _sasldb.normalize_users(
        [{'name': 'a', 'realm': None, 'password': 'x', 'state': 'present'},
         {'name': 'b', 'realm': 'r', 'password': None, 'state': 'absent'},
         {'name': 'c', 'realm': None, 'password': 'y', 'state': 'present'}], realm, indexed=True)
    assert default == 'host.example' and len(calls) == 1
    assert [(w['name'], w['realm']) for w in wanted] == [('a', 'host.example'), ('b', 'r'), ('c', 'host.example')]


def test_normalize_users_names_the_bad_entry():
    with pytest.raises(ModuleError, match=r"users\[1\]\.name 'b@c' must not contain '@'"):
        _sasldb.normalize_users([{'name': 'a', 'realm': 'r', 'password': 'x', 'state': 'present'},
                                 {'name': 'b@c', 'realm': 'r', 'password': 'x', 'state': 'present'}], None, indexed=True)
