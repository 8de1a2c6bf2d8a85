"""Pure logic of plugins/module_utils/_postconf.py and _lookup_table.py: parsers, validators, table editing."""

import pytest

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import ModuleError
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils import _lookup_table as lt
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils import _postconf as pc


# -- postconf output -------------------------------------------------------

@pytest.mark.parametrize('text, expected', [
    ('relayhost = [a.example]:587\n', {'relayhost': '[a.example]:587'}),
    ('relayhost =\n', {'relayhost': ''}),
    ('a = x = y\nb = c\n', {'a': 'x = y', 'b': 'c'}),
    ('submission/inet/syslog_name = postfix/submission\n',
     {'submission/inet/syslog_name': 'postfix/submission'}),
    ('not an assignment\n\n', {}),
])
def test_parse_assignments(text, expected):
    assert pc.parse_assignments(text) == expected


def test_unknown_and_unused_parameters():
    err = ('postconf: warning: relayhostx: unknown parameter\n'
           'postconf: warning: /tmp/x/main.cf: unused parameter: my_param=a b=c\n'
           'postconf: warning: /tmp/x/master.cf: unused parameter: bogus=1\n')
    assert pc.unknown_parameters(err) == {'relayhostx'}
    assert pc.unused_parameters(err, '/tmp/x/main.cf') == {'my_param': 'a b=c'}
    assert pc.unused_parameters(err, '/tmp/y/main.cf') == {}


@pytest.mark.parametrize('value, default, expected', [
    ('y', False, True), ('n', True, False), ('-', False, False), ('-', True, True), ('yes', False, True),
])
def test_parse_chroot(value, default, expected):
    text = 'smtp/inet/chroot = %s\npostlog/unix-dgram/chroot = n\n' % value
    assert pc.parse_chroot(text, default) == {'smtp/inet': expected, 'postlog/unix-dgram': False}


def test_parse_services_reads_program_and_chroot_of_every_service():
    text = ('smtp/inet/chroot = y\nsmtp/inet/command = smtpd\n'
            'submission/inet/chroot = -\nsubmission/inet/command = smtpd -o syslog_name=postfix/submission\n'
            'local/unix/chroot = n\nlocal/unix/command = local\n')
    assert pc.parse_services(text, default_chroot=False) == {
        'smtp/inet': {'command': 'smtpd', 'chroot': True},
        'submission/inet': {'command': 'smtpd', 'chroot': False},
        'local/unix': {'command': 'local', 'chroot': False},
    }


@pytest.mark.parametrize('table, indexed, suffixes', [
    ('hash:{d}/aliases', True, ['.db']),
    ('dbm:{d}/aliases', True, ['.dir', '.pag']),
    ('texthash:{d}/aliases', False, []),
])
def test_table_state_names_the_index_files_and_whether_they_are_there(tmp_path, table, indexed, suffixes):
    table = table.format(d=tmp_path)
    (tmp_path / 'aliases').write_text('postmaster: root\n')
    state = pc.table_state(table)
    assert state['indexed'] is indexed
    assert state['index_files'] == [str(tmp_path / 'aliases') + s for s in suffixes]
    assert state['index_present'] is not indexed
    for index in state['index_files']:
        open(index, 'w').close()
    assert pc.table_state(table)['index_present'] is True
    assert pc.table_state(table)['index_current'] is True


def test_table_state_refuses_a_name_without_type():
    with pytest.raises(ModuleError, match='type:name'):
        pc.table_state('/etc/aliases')


@pytest.mark.parametrize('version, expected', [
    ('3.7.11', (3, 7, 11)), ('2.11.3', (2, 11, 3)), ('3.8-20230101', (3,)), ('', ()),
])
def test_version_tuple(version, expected):
    assert pc.version_tuple(version) == expected


@pytest.mark.parametrize('text, expected', [
    ('# CCARGS=-DDEBIAN -DHAS_LMDB -DUSE_SASL_AUTH -DUSE_CYRUS_SASL -DUSE_TLS\n', (True, True)),
    ('CCARGS = -DHAS_PCRE\n', (False, False)),
    ('# CCARGS=-DUSE_TLSX\n', (False, False)),
    ('', (False, False)),
])
def test_parse_build_features(text, expected):
    assert pc.parse_build_features(text) == expected


# -- validators ------------------------------------------------------------

@pytest.mark.parametrize('name', ['relayhost', 'smtpd_sasl_auth_enable', 'a1_b2'])
def test_param_name_ok(name):
    pc.check_param_name('name', name)


@pytest.mark.parametrize('name', ['', 'relay host', 'relayhost\n', 'a=b', 'a-b', 'sub/inet'])
def test_param_name_refused(name):
    with pytest.raises(ModuleError, match='not a Postfix parameter name'):
        pc.check_param_name('name', name)


@pytest.mark.parametrize('service', ['submission/inet', '127.0.0.1:smtp/inet', 'postlog/unix-dgram', 'x/unix'])
def test_service_ok(service):
    pc.check_service(service)


@pytest.mark.parametrize('service', ['submission', 'submission/tcp', 'a b/inet', 'a/inet/x', '/inet', '', 'submission/inet\n'])
def test_service_refused(service):
    with pytest.raises(ModuleError, match='not a master.cf service'):
        pc.check_service(service)


@pytest.mark.parametrize('value, service, message', [
    ('a\nb', None, 'newline'),
    ('a\rb', None, 'newline'),
    ('a\x00b', None, 'control'),
    ('permit_sasl_authenticated, reject', 'submission/inet', 'whitespace'),
    ('a\tb', 'submission/inet', 'whitespace'),
])
def test_param_value_refused(value, service, message):
    with pytest.raises(ModuleError, match=message):
        pc.check_param_value(value, service)


@pytest.mark.parametrize('value, service', [
    ('permit_sasl_authenticated, reject', None),
    ('a\tb', None),
    ('', None),
    ('permit_sasl_authenticated,reject', 'submission/inet'),
])
def test_param_value_ok(value, service):
    pc.check_param_value(value, service)


@pytest.mark.parametrize('map_type, supported, message', [
    ('regexp', ['hash', 'regexp'], "type 'regexp' is not an indexed map type"),
    ('nosuch', ['hash'], "type 'nosuch' is not an indexed map type"),
    ('lmdb', ['hash', 'btree'], "map type 'lmdb' is not supported.*postfix-lmdb"),
    ('dbm', ['hash'], "map type 'dbm' is not supported by this Postfix: postconf -m lists hash$"),
])
def test_map_type_refused(map_type, supported, message):
    with pytest.raises(ModuleError, match=message):
        lt.check_map_type(map_type, supported)


@pytest.mark.parametrize('map_type, suffixes', [
    ('hash', ['.db']), ('btree', ['.db']), ('lmdb', ['.lmdb']), ('cdb', ['.cdb']), ('dbm', ['.dir', '.pag']),
])
def test_index_paths(map_type, suffixes):
    lt.check_map_type(map_type, list(pc.INDEX_SUFFIXES))
    assert pc.index_paths(map_type, '/x/t') == ['/x/t' + s for s in suffixes]


# -- entries ---------------------------------------------------------------

@pytest.mark.parametrize('entries, expected', [
    ({'a': 'b', '[h]:587': 'u:p w'}, [('a', 'b'), ('[h]:587', 'u:p w')]),
    ([{'key': 'z', 'value': '1'}, {'key': 'a', 'value': 2}], [('z', '1'), ('a', '2')]),
    ({}, []),
    (None, []),
])
def test_normalize_entries(entries, expected):
    assert lt.normalize_entries(entries) == expected


SECRET = 'S3cr3t-value'

BAD_ENTRIES = [
    ({'a b': 'x'}, 'whitespace'),
    ({'a\nb': 'x'}, 'whitespace or a control'),
    ({'': 'x'}, 'must not be empty'),
    ({'#a': 'x'}, 'comment'),
    ({'a': SECRET + '\nb c'}, "key 'a' contains a newline"),
    ({'a': SECRET + '\x01'}, "key 'a' contains a newline or control"),
    ({'a': ''}, "key 'a' is empty"),
    ({'a': ' ' + SECRET}, 'leading or trailing whitespace'),
    ({'a': SECRET + ' '}, 'leading or trailing whitespace'),
    ({'a': True}, 'boolean'),
    ({'a': ['x']}, 'must be a string'),
    ({'Key': 'x', 'key': 'y'}, "'key' duplicates key 'Key'"),
    ([{'key': 'a'}], r'entries\[0\] must be a dict'),
    ([{'key': 'a', 'value': 'b', 'x': 1}], r'entries\[0\]'),
    (['a b'], r'entries\[0\]'),
    ('a b', 'entries must be a dict or a list'),
]


@pytest.mark.parametrize('entries, message', BAD_ENTRIES)
def test_normalize_entries_refused(entries, message):
    with pytest.raises(ModuleError, match=message) as info:
        lt.normalize_entries(entries)
    assert SECRET not in str(info.value)


# -- table text ------------------------------------------------------------

TABLE = ('# hand-written\n'
         'alpha one\n'
         '\n'
         'Beta two\n'
         '  continued\n'
         'beta shadowed\n'
         'gamma three\n')


def test_parse_table_and_entries():
    records = lt.parse_table(TABLE)
    assert [key for key, dummy in records] == [None, 'alpha', None, 'Beta', 'beta', 'gamma']
    assert lt.table_entries(records) == {
        'alpha': ('alpha', 'one'), 'beta': ('Beta', 'two continued'), 'gamma': ('gamma', 'three')}


@pytest.mark.parametrize('set_entries, remove_keys, expected', [
    ([], [], TABLE.replace('beta shadowed\n', '')),
    ([('alpha', 'one')], [], TABLE.replace('beta shadowed\n', '')),
    ([('ALPHA', 'new'), ('delta', 'four')], [],
     '# hand-written\nALPHA new\n\nBeta two\n  continued\ngamma three\ndelta four\n'),
    ([], ['BETA', 'missing'], '# hand-written\nalpha one\n\ngamma three\n'),
])
def test_edit_table(set_entries, remove_keys, expected):
    assert lt.edit_table(lt.parse_table(TABLE), set_entries, remove_keys) == expected


def test_edit_table_adds_newline_before_append():
    assert lt.edit_table(lt.parse_table('a 1'), [('b', '2')]) == 'a 1\nb 2\n'


def test_render_exclusive():
    text = lt.render_exclusive([('b', '2'), ('a', '1')])
    assert text == lt.HEADER + 'b 2\na 1\n'
    assert lt.table_entries(lt.parse_table(text)) == {'a': ('a', '1'), 'b': ('b', '2')}


def test_mask_table_marks_changes_and_hides_values():
    old = lt.render_exclusive([('a', SECRET), ('b', 'same')])
    new = lt.render_exclusive([('a', SECRET + 'x'), ('b', 'same'), ('c', 'new')])
    before = lt.table_entries(lt.parse_table(old))
    masked_old = lt.mask_table(old)
    masked_new = lt.mask_table(new, reference=before)
    assert SECRET not in masked_old + masked_new and 'same' not in masked_new
    assert masked_old == lt.HEADER + 'a ********\nb ********\n'
    assert masked_new == lt.HEADER + 'a ******** (changed)\nb ********\nc ******** (changed)\n'


def test_build_features_falls_back_to_usr_share(tmp_path):
    meta, share = tmp_path / 'meta', tmp_path / 'share'
    meta.mkdir()
    share.mkdir()
    (share / 'makedefs.out').write_text('# CCARGS=-DUSE_TLS\n')
    assert pc.build_features(str(meta), (str(share),)) == (True, False, str(share / 'makedefs.out'))
    (meta / 'makedefs.out').write_text('# CCARGS=-DUSE_SASL_AUTH\n')
    assert pc.build_features(str(meta), (str(share),)) == (False, True, str(meta / 'makedefs.out'))
    assert pc.build_features(str(tmp_path / 'none'), ()) == (None, None, None)


# -- postfix_info: presence and files ---------------------------------------

@pytest.mark.parametrize('postconf_path, main_cf, expected', [
    ('/usr/sbin/postconf', True, {'installed': True, 'main_cf_exists': True}),
    ('/usr/sbin/postconf', False, {'installed': True, 'main_cf_exists': False}),
    (None, True, {'installed': False, 'main_cf_exists': True}),
    (None, False, {'installed': False, 'main_cf_exists': False}),
])
def test_postfix_presence(tmp_path, postconf_path, main_cf, expected):
    if main_cf:
        (tmp_path / 'main.cf').write_text('')
    assert pc.postfix_presence(postconf_path, str(tmp_path)) == expected
