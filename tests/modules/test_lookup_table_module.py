"""mailstack.sasl_postfix.lookup_table against the real postconf and postmap, in temporary directories."""

import os
import pwd
import re

import pytest

from helpers.modules import mode_of, run_adhoc, run_module
from helpers.postfix import postconf, postmap_query, snapshot

RELAY = '[smtp.example.net]:587'
PASSWORD = 'client@example.org:Pa55-w0rd secret'  # a value with a space, as postmap keeps it


@pytest.fixture
def table(tmp_path):
    directory = tmp_path / 'tables'
    directory.mkdir()
    return str(directory / 'sasl_passwd')


def host_map_types(config_dir):
    return postconf(config_dir, '-m').split()


def test_create_check_mode_then_real_then_idempotent(config_dir, table):
    args = dict(config_dir=config_dir, path=table, entries={RELAY: PASSWORD, 'other.example': 'u:p'})
    default_type = postconf(config_dir, '-h', 'default_database_type').strip()

    predicted = run_module('lookup_table', args, check_mode=True, diff=True)
    assert predicted['changed'] is True and predicted['rebuilt'] is True
    assert predicted['type'] == default_type
    assert predicted['map'] == '%s:%s' % (default_type, table)
    assert predicted['added'] == [RELAY, 'other.example']
    assert predicted['diff']['before'] == ''
    assert predicted['diff']['after'].endswith('%s %s\nother.example u:p\n' % (RELAY, PASSWORD))
    assert os.listdir(os.path.dirname(table)) == []

    done = run_module('lookup_table', args, diff=True)
    assert done['changed'] is True and done['rebuilt'] is True
    assert done['diff'] == predicted['diff']
    assert open(table).read() == predicted['diff']['after']
    assert postmap_query(config_dir, RELAY, done['map']) == PASSWORD
    assert postmap_query(config_dir, '[SMTP.example.net]:587', done['map']) == PASSWORD
    assert mode_of(table) == 0o644
    files = [table] + done['index_files']
    first = snapshot(*files)
    assert len(first) == 2

    again = run_module('lookup_table', args, diff=True)
    assert again['changed'] is False and again['rebuilt'] is False
    assert again['added'] == again['updated'] == again['removed'] == []
    assert snapshot(*files) == first  # bytes and mtime_ns: postmap did not run
    assert run_module('lookup_table', args, check_mode=True)['changed'] is False


@pytest.mark.parametrize('map_type, suffixes', [
    ('hash', ['.db']), ('btree', ['.db']), ('lmdb', ['.lmdb']), ('cdb', ['.cdb']),
])
def test_map_types_build_their_index(config_dir, table, map_type, suffixes):
    if map_type not in host_map_types(config_dir):
        pytest.skip('%s is not installed on this host (postconf -m)' % map_type)
    args = dict(config_dir=config_dir, path=table, type=map_type, entries={RELAY: PASSWORD})
    result = run_module('lookup_table', args)
    assert result['changed'] is True
    assert result['index_files'] == [table + s for s in suffixes]
    assert all(os.path.isfile(f) for f in result['index_files'])
    assert postmap_query(config_dir, RELAY, '%s:%s' % (map_type, table)) == PASSWORD
    before = snapshot(table, *result['index_files'])
    assert run_module('lookup_table', args)['changed'] is False
    assert snapshot(table, *result['index_files']) == before


def test_missing_index_is_rebuilt(config_dir, table):
    args = dict(config_dir=config_dir, path=table, type='hash', entries={RELAY: PASSWORD})
    run_module('lookup_table', args)
    source = snapshot(table)
    os.unlink(table + '.db')
    predicted = run_module('lookup_table', args, check_mode=True)
    assert predicted['changed'] is True and predicted['rebuilt'] is True
    assert not os.path.exists(table + '.db')
    result = run_module('lookup_table', args)
    assert result['changed'] is True and result['rebuilt'] is True
    assert postmap_query(config_dir, RELAY, 'hash:' + table) == PASSWORD
    assert snapshot(table) == source  # the source was not rewritten


def test_stale_index_is_rebuilt(config_dir, table):
    args = dict(config_dir=config_dir, path=table, type='hash', entries={RELAY: PASSWORD})
    run_module('lookup_table', args)
    st = os.stat(table)
    os.utime(table + '.db', ns=(st.st_atime_ns, st.st_mtime_ns - 10 ** 9))  # index one second older
    stale = os.stat(table + '.db').st_mtime_ns
    result = run_module('lookup_table', args)
    assert result['changed'] is True and result['rebuilt'] is True
    assert os.stat(table + '.db').st_mtime_ns >= st.st_mtime_ns > stale
    assert run_module('lookup_table', args)['changed'] is False


def test_changed_value_rewrites_and_rebuilds(config_dir, table):
    args = dict(config_dir=config_dir, path=table, type='hash', entries={RELAY: PASSWORD, 'b': 'keep'})
    run_module('lookup_table', args)
    args['entries'] = {RELAY: 'client@example.org:new', 'b': 'keep'}
    result = run_module('lookup_table', args, diff=True)
    assert result['changed'] is True and result['updated'] == [RELAY]
    assert '-%s %s' % (RELAY, PASSWORD) not in result['diff']['after']
    assert postmap_query(config_dir, RELAY, 'hash:' + table) == 'client@example.org:new'


def test_exclusive_replaces_a_hand_written_file(config_dir, table):
    with open(table, 'w') as handle:
        handle.write('# old\nstale value\n%s %s\n' % (RELAY, PASSWORD))
    result = run_module('lookup_table', dict(config_dir=config_dir, path=table, type='hash', entries={RELAY: PASSWORD}))
    assert result['changed'] is True and result['removed'] == ['stale']
    assert postmap_query(config_dir, 'stale', 'hash:' + table) is None
    assert 'old' not in open(table).read()


def test_merge_keeps_other_lines_and_remove_single_keys(config_dir, table):
    hand = '# hand-written, kept\n192.0.2.1 OK\n\n198.51.100.0 REJECT\n'
    with open(table, 'w') as handle:
        handle.write(hand)
    merge = dict(config_dir=config_dir, path=table, type='hash', exclusive=False,
                 entries=[{'key': '192.0.2.7', 'value': 'REJECT'}, {'key': '192.0.2.1', 'value': 'OK'}])
    result = run_module('lookup_table', merge)
    assert result['changed'] is True
    assert result['added'] == ['192.0.2.7'] and result['updated'] == []
    assert open(table).read() == hand + '192.0.2.7 REJECT\n'
    assert postmap_query(config_dir, '192.0.2.7', 'hash:' + table) == 'REJECT'
    assert run_module('lookup_table', merge)['changed'] is False

    remove = dict(config_dir=config_dir, path=table, type='hash', state='absent', keys=['192.0.2.1', 'not-there'])
    predicted = run_module('lookup_table', remove, check_mode=True, diff=True)
    assert predicted['changed'] is True and predicted['removed'] == ['192.0.2.1']
    assert '192.0.2.1 OK\n' in predicted['diff']['before'] and '192.0.2.1' not in predicted['diff']['after']
    assert open(table).read() == hand + '192.0.2.7 REJECT\n'
    assert run_module('lookup_table', remove)['changed'] is True
    assert open(table).read() == '# hand-written, kept\n\n198.51.100.0 REJECT\n192.0.2.7 REJECT\n'
    assert postmap_query(config_dir, '192.0.2.1', 'hash:' + table) is None
    assert run_module('lookup_table', remove)['changed'] is False


def test_merge_creates_a_missing_file_and_absent_keys_of_a_missing_file_do_nothing(config_dir, table):
    remove = dict(config_dir=config_dir, path=table, type='hash', state='absent', keys=['a'])
    assert run_module('lookup_table', remove)['changed'] is False
    assert not os.path.exists(table)
    merge = dict(config_dir=config_dir, path=table, type='hash', exclusive=False, entries={'a': 'b'})
    assert run_module('lookup_table', merge)['changed'] is True
    assert open(table).read() == 'a b\n'
    assert postmap_query(config_dir, 'a', 'hash:' + table) == 'b'


def test_remove_whole_table(config_dir, table):
    args = dict(config_dir=config_dir, path=table, type='hash', entries={RELAY: PASSWORD})
    run_module('lookup_table', args)
    absent = dict(config_dir=config_dir, path=table, type='hash', state='absent')
    assert run_module('lookup_table', absent, check_mode=True)['changed'] is True
    assert os.path.exists(table) and os.path.exists(table + '.db')
    assert run_module('lookup_table', absent)['changed'] is True
    assert not os.path.exists(table) and not os.path.exists(table + '.db')
    assert run_module('lookup_table', absent)['changed'] is False


def test_secret_tables_are_private_and_modes_apply_to_the_index(config_dir, table):
    args = dict(config_dir=config_dir, path=table, type='hash', entries={RELAY: PASSWORD}, secret=True)
    run_module('lookup_table', args)
    assert mode_of(table) == 0o600 and mode_of(table + '.db') == 0o600

    os.chmod(table + '.db', 0o644)  # someone loosened the index: the module tightens it, postmap need not run
    mtime = os.stat(table + '.db').st_mtime_ns
    result = run_module('lookup_table', args)
    assert result['changed'] is True and result['rebuilt'] is False
    assert mode_of(table + '.db') == 0o600 and os.stat(table + '.db').st_mtime_ns == mtime

    args['mode'] = '0640'
    result = run_module('lookup_table', args)
    assert result['changed'] is True and result['rebuilt'] is False
    assert mode_of(table) == 0o640 and mode_of(table + '.db') == 0o640
    assert run_module('lookup_table', args)['changed'] is False


def test_owner_applies_to_source_and_index(config_dir, table):
    args = dict(config_dir=config_dir, path=table, type='hash', entries={RELAY: PASSWORD}, owner='nobody', mode='0640')
    result = run_module('lookup_table', args)
    assert result['changed'] is True, result
    nobody = pwd.getpwnam('nobody').pw_uid
    assert os.stat(table).st_uid == nobody and os.stat(table + '.db').st_uid == nobody
    assert mode_of(table + '.db') == 0o640
    assert postmap_query(config_dir, RELAY, 'hash:' + table) == PASSWORD
    assert run_module('lookup_table', args)['changed'] is False


def test_secret_values_never_appear_in_output(config_dir, table):
    args = dict(config_dir=config_dir, path=table, type='hash', entries={RELAY: PASSWORD}, secret=True)
    result, output = run_adhoc('lookup_table', args, diff=True, verbosity=3)
    assert result['changed'] is True
    assert RELAY in output  # keys are shown
    assert '******** (changed)' in result['diff']['after']
    assert PASSWORD not in output and 'Pa55-w0rd' not in output

    args['entries'] = {RELAY: 'client@example.org:Other-Secret-9'}
    result, output = run_adhoc('lookup_table', args, check_mode=True, diff=True, verbosity=3)
    assert result['changed'] is True and result['updated'] == [RELAY]
    assert 'Other-Secret-9' not in output and 'Pa55-w0rd' not in output

    # an error about one value names its key, not any value
    args['entries'] = {RELAY: 'client@example.org:Other-Secret-9', 'b.example': 'Third-Secret\nx y'}
    result, output = run_adhoc('lookup_table', args, verbosity=3)
    assert result['failed'] is True
    assert "key 'b.example' contains a newline" in result['msg']
    assert 'Other-Secret-9' not in output and 'Third-Secret' not in output and 'Pa55-w0rd' not in output


def test_non_secret_diff_shows_values(config_dir, table):
    result = run_module('lookup_table', dict(config_dir=config_dir, path=table, type='hash',
                                             entries={'@example.org': RELAY}), diff=True)
    assert '@example.org %s\n' % RELAY in result['diff']['after']


BAD_INPUT = [
    (dict(entries={'a b': 'x'}), "key 'a b' contains whitespace"),
    (dict(entries={'a\nb': 'x'}), 'contains whitespace or a control character'),
    (dict(entries={'#a': 'x'}), 'comment'),
    (dict(entries={'ok': 'fine', 'a': 'x\nevil y'}), "value for key 'a' contains a newline"),
    (dict(entries={'a': ''}), "value for key 'a' is empty"),
    (dict(entries={'a': 'x '}), 'leading or trailing whitespace'),
    (dict(entries={'a': True}), "value for key 'a' is a boolean"),
    (dict(entries={'Relay': 'x', 'relay': 'y'}), "key 'relay' duplicates key 'Relay'"),
    (dict(entries=[{'key': 'a'}]), r'entries\[0\] must be a dict with exactly the keys key and value'),
    (dict(entries='a=b'), r'entries must be a dict or a list of \{key, value\} dicts \(a string must be JSON\)'),
    (dict(entries='"a"'), 'entries must be a dict or a list of'),
    (dict(entries={'a': 'b'}, keys=['a']), 'keys is only used with state=absent'),
    (dict(state='absent', entries={'a': 'b'}), 'entries is only used with state=present'),
    (dict(state='absent', keys=['a b']), "key 'a b' contains whitespace"),
    (dict(), 'state is present but all of the following are missing: entries'),
    (dict(entries={'a': 'b'}, type='regexp'), "type 'regexp' is not an indexed map type"),
    (dict(entries={'a': 'b'}, type='nosuch'), "type 'nosuch' is not an indexed map type"),
    (dict(entries={'a': 'b'}, type='dbm'), "map type 'dbm' is not supported by this Postfix: postconf -m lists "),
]


@pytest.mark.parametrize('args, message', BAD_INPUT)
def test_bad_input_fails_and_changes_nothing(config_dir, table, args, message):
    run_module('lookup_table', dict(config_dir=config_dir, path=table, type='hash', entries={'keep': 'me'}))
    before = snapshot(table, table + '.db')
    call = dict(dict(config_dir=config_dir, path=table, type='hash'), **args)
    result = run_module('lookup_table', call)
    assert result.get('failed') is True, result
    assert re.search(message, result['msg']), result['msg']
    assert snapshot(table, table + '.db') == before
    assert sorted(os.listdir(os.path.dirname(table))) == ['sasl_passwd', 'sasl_passwd.db']


def test_unsupported_type_error_names_type_and_package(config_dir, table, tmp_path):
    # A config dir whose meta_directory has no dynamicmaps.cf: the dynamically loaded types vanish from postconf -m.
    meta = tmp_path / 'meta'
    meta.mkdir()
    with open(config_dir + '/main.cf', 'a') as handle:
        handle.write('meta_directory = %s\n' % meta)
    assert 'lmdb' not in host_map_types(config_dir)
    result = run_module('lookup_table', dict(config_dir=config_dir, path=table, type='lmdb', entries={'a': 'b'}))
    assert result['failed'] is True
    assert "map type 'lmdb' is not supported by this Postfix" in result['msg']
    assert 'install the postfix-lmdb package' in result['msg']
    assert not os.path.exists(table)


def test_entries_as_json_string_from_the_command_line(config_dir, table):
    args = dict(config_dir=config_dir, path=table, type='hash', entries='{"%s": "%s"}' % (RELAY, PASSWORD), secret=True)
    result, output = run_adhoc('lookup_table', args, verbosity=3)
    assert result['changed'] is True and result['added'] == [RELAY]
    assert 'Pa55-w0rd' not in output
    assert postmap_query(config_dir, RELAY, 'hash:' + table) == PASSWORD


def test_missing_directory_is_a_clear_error(config_dir, tmp_path):
    path = str(tmp_path / 'nope' / 'table')
    result = run_module('lookup_table', dict(config_dir=config_dir, path=path, entries={'a': 'b'}))
    assert result['failed'] is True
    assert result['msg'] == 'directory %s of path does not exist' % os.path.dirname(path)
