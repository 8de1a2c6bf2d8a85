"""sasldb_user, sasldb_users and sasldb_info run for real against Cyrus's tools and libsasl2.

Needs on the host: sasl2-bin (saslpasswd2, sasldblistusers2), db-util (db_dump,
db_load), libsasl2-modules (PLAIN, CRAM-MD5), libsasl2-modules-db (sasldb), and
util-linux's unshare (to hide a tool from one module run).
"""

import os
import shutil
import signal
import stat
import subprocess
import sys
import time

import pytest

from helpers.modules import run_adhoc, run_module
from helpers.sasl_auth import authenticate

SASL_OK, SASL_BADAUTH, SASL_NOUSER = 0, -13, -20
SECRET = 'Zq7-unique-Secret-4711'
SECRET2 = 'Second-Secret-p4ss-8832'
CHROOT_DB = '/var/spool/postfix/etc/sasldb2'


# --- helpers -------------------------------------------------------------------------

def saslpasswd2(path, user, password, realm=None):
    argv = ['saslpasswd2', '-f', str(path), '-p'] + (['-u', realm] if realm else []) + [user]
    subprocess.run(argv, input=password, text=True, check=True)


def listed(path):
    """The entries Cyrus's sasldblistusers2 sees, as {'user@realm'}; fails if it cannot read the file."""
    proc = subprocess.run(['sasldblistusers2', '-f', str(path)], capture_output=True, text=True, check=True)
    assert proc.stderr == '', proc.stderr
    return set(line.split(': ')[0] for line in proc.stdout.splitlines())


def snapshot(path):
    """Everything about the file a rejected call must leave alone."""
    if not os.path.exists(path):
        return None
    st = os.stat(path)
    with open(path, 'rb') as f:
        return (f.read(), st.st_ino, st.st_mtime_ns, st.st_mode, st.st_uid, st.st_gid)


def leftovers(directory):
    return [n for n in os.listdir(str(directory)) if '.ansible-sasldb-' in n]


def host_realm():
    """The realm saslpasswd2 picks without -u, read back from a database it wrote."""
    probe = '/tmp/mailstack-realm-probe-%d' % os.getpid()
    try:
        saslpasswd2(probe, 'probe', 'x')
        (entry,) = listed(probe)
        return entry.split('@', 1)[1]
    finally:
        os.unlink(probe)


def user(name, realm='ex.org', password=None, state=None):
    entry = {'name': name, 'realm': realm}
    if password is not None:
        entry['password'] = password
    if state:
        entry['state'] = state
    return entry


def converge(module, args, expect_changed, expect_users, db):
    """check mode predicts and changes nothing; the real run does what was predicted; the re-run changes nothing."""
    before = snapshot(db)
    predicted = run_module(module, args, check_mode=True, diff=True)
    assert not predicted.get('failed'), predicted
    assert snapshot(db) == before, 'check mode changed the database'
    real = run_module(module, args, diff=True)
    assert not real.get('failed'), real
    assert real['changed'] == predicted['changed'] == expect_changed
    for key in ('added', 'updated', 'removed', 'diff', 'realm'):
        assert real.get(key) == predicted.get(key), key
    assert listed(db) == set(expect_users)
    again = run_module(module, args, diff=True)
    assert again['changed'] is False, again
    assert not leftovers(os.path.dirname(str(db)))
    return real


# --- sasldb_user --------------------------------------------------------------------------

USER_STEPS = [
    # (id, args, changed, users after, {login: password that must work})
    ('create', {'name': 'alice', 'realm': 'ex.org', 'password': SECRET}, True, {'alice@ex.org'}, {'alice@ex.org': SECRET}),
    ('same password', {'name': 'alice', 'realm': 'ex.org', 'password': SECRET}, False, {'alice@ex.org'}, {'alice@ex.org': SECRET}),
    ('on_create ignores new password', {'name': 'alice', 'realm': 'ex.org', 'password': SECRET2, 'update_password': 'on_create'},
     False, {'alice@ex.org'}, {'alice@ex.org': SECRET}),
    ('no password keeps it', {'name': 'alice', 'realm': 'ex.org'}, False, {'alice@ex.org'}, {'alice@ex.org': SECRET}),
    ('new password', {'name': 'alice', 'realm': 'ex.org', 'password': SECRET2}, True, {'alice@ex.org'}, {'alice@ex.org': SECRET2}),
    ('second user', {'name': 'bob', 'realm': 'other.org', 'password': SECRET}, True, {'alice@ex.org', 'bob@other.org'},
     {'alice@ex.org': SECRET2, 'bob@other.org': SECRET}),
    ('mode only', {'name': 'bob', 'realm': 'other.org', 'mode': '0600'}, True, {'alice@ex.org', 'bob@other.org'}, {}),
    ('remove', {'name': 'alice', 'realm': 'ex.org', 'state': 'absent'}, True, {'bob@other.org'}, {'bob@other.org': SECRET}),
    ('remove again', {'name': 'alice', 'realm': 'ex.org', 'state': 'absent'}, False, {'bob@other.org'}, {}),
]


def test_sasldb_user_steps(tmp_path):
    db = tmp_path / 'sasldb2'
    for step_id, args, changed, users, logins in USER_STEPS:
        result = converge('sasldb_user', dict(args, path=str(db)), changed, users, db)
        assert result['name'] == args['name'] and result['realm'] == args['realm'], step_id
        assert 'password' not in result
        for login, password in logins.items():
            assert authenticate(str(db), login, password, 'PLAIN') == SASL_OK, step_id
            assert authenticate(str(db), login, password + 'x', 'PLAIN') == SASL_BADAUTH, step_id
    assert authenticate(str(db), 'alice@ex.org', SECRET2) == SASL_NOUSER
    assert stat.S_IMODE(os.stat(str(db)).st_mode) == 0o600


def test_new_database_mode_and_diff(tmp_path):
    db = tmp_path / 'sasldb2'
    result = run_module('sasldb_user', {'name': 'alice', 'realm': 'ex.org', 'password': SECRET, 'path': str(db)}, diff=True)
    assert stat.S_IMODE(os.stat(str(db)).st_mode) == 0o640  # what saslpasswd2 creates
    assert result['diff']['before'] == '' and result['diff']['after'] == 'alice@ex.org\n'
    result = run_module('sasldb_user', {'name': 'alice', 'realm': 'ex.org', 'password': SECRET2, 'path': str(db)}, diff=True)
    assert result['diff']['before'] == 'alice@ex.org\n'
    assert result['diff']['after'] == 'alice@ex.org  # password changed\n'


def test_default_realm_is_the_one_saslpasswd2_uses(tmp_path):
    db = tmp_path / 'sasldb2'
    realm = host_realm()
    result = converge('sasldb_user', {'name': 'alice', 'password': SECRET, 'path': str(db)}, True, {'alice@' + realm}, db)
    assert result['realm'] == realm
    # a user saslpasswd2 created without -u is the same user for the module
    saslpasswd2(db, 'bob', SECRET)
    assert run_module('sasldb_user', {'name': 'bob', 'password': SECRET, 'path': str(db)})['changed'] is False
    users = run_module('sasldb_users', {'users': [user('carol', None, SECRET)], 'path': str(db)})
    assert users['default_realm'] == realm and users['added'] == ['carol@' + realm]


def test_database_written_by_saslpasswd2_is_read_and_kept(tmp_path):
    db = tmp_path / 'sasldb2'
    saslpasswd2(db, 'alice', SECRET, 'ex.org')
    saslpasswd2(db, 'bob', SECRET2, 'ex.org')
    assert run_module('sasldb_user', {'name': 'alice', 'realm': 'ex.org', 'password': SECRET, 'path': str(db)})['changed'] is False
    assert run_module('sasldb_user', {'name': 'alice', 'realm': 'ex.org', 'password': SECRET2, 'path': str(db)})['changed'] is True
    assert authenticate(str(db), 'bob@ex.org', SECRET2) == SASL_OK
    # and saslpasswd2 can keep working on what the module wrote
    saslpasswd2(db, 'carol', SECRET, 'ex.org')
    assert listed(db) == {'alice@ex.org', 'bob@ex.org', 'carol@ex.org'}
    assert run_module('sasldb_user', {'name': 'carol', 'realm': 'ex.org', 'password': SECRET, 'path': str(db)})['changed'] is False


@pytest.mark.parametrize('mech', ['PLAIN', 'CRAM-MD5'])
def test_libsasl2_accepts_the_credentials(tmp_path, mech):
    """The stored secret is the plain password: shared-secret CRAM-MD5 works as well as PLAIN."""
    db = tmp_path / 'sasldb2'
    name, password = 'j\u00f6rg', 'p\u00e4ss w\u00f6rd:with@odd\\chars'
    run_module('sasldb_users', {'users': [user(name, 'ex.org', password), user('bob', 'ex.org', SECRET)], 'path': str(db)})
    assert authenticate(str(db), name + '@ex.org', password, mech) == SASL_OK
    assert authenticate(str(db), 'bob@ex.org', SECRET, mech) == SASL_OK
    assert authenticate(str(db), 'bob@ex.org', SECRET2, mech) == SASL_BADAUTH
    assert run_module('sasldb_users', {'users': [user(name, 'ex.org', password)], 'path': str(db)})['changed'] is False


def test_symlink_is_followed(tmp_path):
    target = tmp_path / 'chroot' / 'sasldb2'
    target.parent.mkdir()
    link = tmp_path / 'sasldb2'
    link.symlink_to(target)
    result = run_module('sasldb_user', {'name': 'alice', 'realm': 'ex.org', 'password': SECRET, 'path': str(link)})
    assert result['changed'] and result['path'] == str(target)
    assert os.path.islink(str(link)) and listed(target) == {'alice@ex.org'}


# --- the chroot location -----------------------------------------------------------------

def _chroot_case(db):
    args = {'users': [user('alice', 'mail.example.org', SECRET)], 'path': str(db), 'owner': 'root', 'group': 'sasl', 'mode': '0640'}
    converge('sasldb_users', args, True, {'alice@mail.example.org'}, db)
    st = os.stat(str(db))
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, _gid('sasl'), 0o640)
    assert authenticate(str(db), 'alice@mail.example.org', SECRET) == SASL_OK
    # an update keeps owner, group and mode
    run_module('sasldb_users', dict(args, users=[user('alice', 'mail.example.org', SECRET2)], owner=None, group=None, mode=None))
    st = os.stat(str(db))
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, _gid('sasl'), 0o640)


def _gid(group):
    import grp
    return grp.getgrnam(group).gr_gid


def test_chroot_layout_in_tmp(tmp_path):
    directory = tmp_path / 'var' / 'spool' / 'postfix' / 'etc'
    directory.mkdir(parents=True)
    _chroot_case(directory / 'sasldb2')


def test_real_chroot_path():
    """The real /var/spool/postfix/etc/sasldb2 on this host, if Postfix is installed and the file is not in use."""
    if not os.path.isdir('/var/spool/postfix'):
        pytest.skip('Postfix is not installed')
    if os.path.exists(CHROOT_DB):
        pytest.skip('%s already exists; not touching it' % CHROOT_DB)
    made_dir = not os.path.isdir(os.path.dirname(CHROOT_DB))
    if made_dir:
        os.mkdir(os.path.dirname(CHROOT_DB))
    try:
        _chroot_case(CHROOT_DB)
    finally:
        if os.path.exists(CHROOT_DB):
            os.unlink(CHROOT_DB)
        if made_dir:
            os.rmdir(os.path.dirname(CHROOT_DB))


# --- sasldb_users --------------------------------------------------------------------------

def test_sasldb_users_bulk_exclusive_and_on_create(tmp_path):
    db = tmp_path / 'sasldb2'
    many = [user('u%04d' % i, 'ex.org', 'pw-%d' % i) for i in range(300)]
    r = converge('sasldb_users', {'users': many, 'path': str(db)}, True, {'u%04d@ex.org' % i for i in range(300)}, db)
    assert len(r['added']) == 300 and r['updated'] == [] and r['removed'] == []
    saslpasswd2(db, 'stranger', SECRET, 'ex.org')

    # change two passwords, remove one listed as absent, add one; stranger stays (not exclusive)
    step = [dict(u) for u in many]
    step[5]['password'] = 'changed-5'
    step[7]['password'] = 'changed-7'
    step[9] = user('u0009', state='absent')
    step.append(user('new', 'other.org', SECRET))
    expected = {'u%04d@ex.org' % i for i in range(300) if i != 9} | {'stranger@ex.org', 'new@other.org'}
    r = converge('sasldb_users', {'users': step, 'path': str(db)}, True, expected, db)
    assert (r['added'], r['updated'], r['removed']) == (['new@other.org'], ['u0005@ex.org', 'u0007@ex.org'], ['u0009@ex.org'])
    assert 'u0009@ex.org\n' in r['diff']['before'] and 'u0009@ex.org' not in r['diff']['after']
    assert 'u0005@ex.org  # password changed\n' in r['diff']['after']
    assert authenticate(str(db), 'u0005@ex.org', 'changed-5') == SASL_OK

    # on_create: listed passwords differ from the stored ones, nothing changes
    on_create = [user(u['name'], u['realm'], 'other') for u in step if u.get('state') != 'absent']
    converge('sasldb_users', {'users': on_create, 'path': str(db), 'update_password': 'on_create'}, False, expected, db)
    assert authenticate(str(db), 'u0005@ex.org', 'changed-5') == SASL_OK

    # exclusive: everything not listed goes, including the user saslpasswd2 added
    keep = [user('u%04d' % i, 'ex.org') for i in range(10) if i != 9]
    r = converge('sasldb_users', {'users': keep, 'path': str(db), 'exclusive': True}, True,
                 {'u%04d@ex.org' % i for i in range(9)}, db)
    assert 'stranger@ex.org' in r['removed'] and 'new@other.org' in r['removed'] and len(r['removed']) == 292
    r = converge('sasldb_users', {'users': [], 'path': str(db), 'exclusive': True}, True, set(), db)
    assert len(r['removed']) == 9 and r['diff']['after'] == ''


def test_nothing_to_add_creates_no_file(tmp_path):
    db = tmp_path / 'sasldb2'
    for module, args in [('sasldb_users', {'users': [], 'exclusive': True}),
                         ('sasldb_users', {'users': [user('a', state='absent')]}),
                         ('sasldb_user', {'name': 'a', 'state': 'absent', 'mode': '0600'})]:
        for check_mode in (True, False):
            result = run_module(module, dict(args, path=str(db)), check_mode=check_mode)
            assert result['changed'] is False, result
            assert not db.exists()


def test_empty_file_counts_as_empty_database(tmp_path):
    db = tmp_path / 'sasldb2'
    db.write_bytes(b'')
    converge('sasldb_user', {'name': 'alice', 'realm': 'ex.org', 'password': SECRET, 'path': str(db)}, True, {'alice@ex.org'}, db)


# --- sasldb_info ---------------------------------------------------------------------------

def test_sasldb_info(tmp_path):
    db = tmp_path / 'sasldb2'
    missing = run_module('sasldb_info', {'path': str(db)})
    assert missing['exists'] is False and missing['users'] == [] and missing['changed'] is False
    saslpasswd2(db, 'bob', SECRET, 'ex.org')
    saslpasswd2(db, 'alice', SECRET2, 'ex.org')
    before = snapshot(db)
    for check_mode in (False, True):
        result, output = run_adhoc('sasldb_info', {'path': str(db)}, check_mode=check_mode, verbosity=3)
        assert result['users'] == [{'name': 'alice', 'realm': 'ex.org'}, {'name': 'bob', 'realm': 'ex.org'}]
        assert result['exists'] is True and result['changed'] is False
        assert SECRET not in output and SECRET2 not in output
    assert snapshot(db) == before


# --- bad input: a clear error and the database byte-for-byte unchanged -------------------

NEW = {'name': 'new', 'realm': 'ex.org', 'password': SECRET2}
BAD_INPUT = [
    # (id, module, args (path filled in), expected message part)
    ('empty name', 'sasldb_user', dict(NEW, name=''), 'name must not be empty'),
    ('@ in name', 'sasldb_user', dict(NEW, name='a@b'), "name 'a@b' must not contain '@'"),
    (': in name', 'sasldb_user', dict(NEW, name='a:b'), "name 'a:b' must not contain ':'"),
    ('space in name', 'sasldb_user', dict(NEW, name='a b'), "name 'a b' contains whitespace"),
    ('tab in name', 'sasldb_user', dict(NEW, name='a\tb'), 'contains whitespace or a control character'),
    ('newline in name', 'sasldb_user', dict(NEW, name='a\n'), 'contains whitespace or a control character'),
    ('control char in name', 'sasldb_user', dict(NEW, name='a\x01b'), 'contains whitespace or a control character'),
    ('empty realm', 'sasldb_user', dict(NEW, realm=''), 'realm must not be empty'),
    ('@ in realm', 'sasldb_user', dict(NEW, realm='a@b'), "realm 'a@b' must not contain '@'"),
    (': in realm', 'sasldb_user', dict(NEW, realm='a:b'), "realm 'a:b' must not contain ':'"),
    ('space in realm', 'sasldb_user', dict(NEW, realm='ex .org'), "realm 'ex .org' contains whitespace"),
    ('control char in realm', 'sasldb_user', dict(NEW, realm='ex\x7forg'), 'contains whitespace or a control character'),
    ('missing password', 'sasldb_user', {'name': 'new', 'realm': 'ex.org'}, 'password is required to create user new@ex.org'),
    ('empty password', 'sasldb_user', dict(NEW, password=''), 'password for new@ex.org must not be empty'),
    ('users: @ in second name', 'sasldb_users', {'users': [dict(NEW), dict(NEW, name='x@y')]}, "users[1].name 'x@y' must not contain '@'"),
    ('users: bad realm', 'sasldb_users', {'users': [dict(NEW, realm='a:b')]}, "users[0].realm 'a:b' must not contain ':'"),
    ('users: missing password', 'sasldb_users', {'users': [dict(NEW), {'name': 'nopw', 'realm': 'ex.org'}]},
     'password is required to create user nopw@ex.org'),
    ('users: listed twice', 'sasldb_users', {'users': [dict(NEW), dict(NEW, state='absent')]}, 'new@ex.org is listed more than once'),
    ('users: exclusive with an error', 'sasldb_users', {'users': [dict(NEW, name='')], 'exclusive': True}, 'users[0].name must not be empty'),
    ('bad state', 'sasldb_user', dict(NEW, state='gone'), 'state'),
]


@pytest.fixture()
def populated(tmp_path):
    db = tmp_path / 'sasldb2'
    saslpasswd2(db, 'alice', SECRET, 'ex.org')
    saslpasswd2(db, 'bob', SECRET, 'other.org')
    return db


@pytest.mark.parametrize('check_mode', [False, True], ids=['run', 'check'])
@pytest.mark.parametrize('case_id,module,args,message', BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_is_rejected_and_changes_nothing(populated, case_id, module, args, message, check_mode):
    before = snapshot(populated)
    result = run_module(module, dict(args, path=str(populated)), check_mode=check_mode)
    assert result.get('failed') is True, result
    assert message in result['msg']
    assert SECRET2 not in result['msg']
    assert snapshot(populated) == before
    assert not leftovers(populated.parent)


def _write_db(path, dump):
    subprocess.run(['db_load', str(path)], input=dump.encode(), check=True)


BAD_FILES = [
    # (id, file maker, message part)
    ('text file', lambda p: p.write_text('alice:secret\n'), 'is not a sasldb (a Berkeley DB hash file)'),
    ('postfix-style hash map', lambda p: _write_db(p, 'VERSION=3\nformat=print\ntype=hash\nHEADER=END\n alice@ex.org\\00\n OK\\00\nDATA=END\n'),
     'is not a sasldb: a key is not of the form user NUL realm NUL property'),
    ('btree database', lambda p: _write_db(p, 'VERSION=3\nformat=print\ntype=btree\nHEADER=END\n a\\00b\\00userPassword\n x\nDATA=END\n'),
     'is not a sasldb: it is a btree database'),
    ('sub-databases', lambda p: (_write_db(p, 'VERSION=3\nformat=print\ndatabase=one\ntype=hash\nHEADER=END\n a\\00b\\00c\n x\nDATA=END\n'),
                                 _write_db(p, 'VERSION=3\nformat=print\ndatabase=two\ntype=hash\nHEADER=END\n a\\00b\\00c\n x\nDATA=END\n')),
     'is not a sasldb'),
]


@pytest.mark.parametrize('module,args', [
    ('sasldb_user', NEW),
    ('sasldb_users', {'users': [NEW], 'exclusive': True}),
    ('sasldb_info', {}),
], ids=['sasldb_user', 'sasldb_users', 'sasldb_info'])
@pytest.mark.parametrize('case_id,make,message', BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_not_a_sasldb_is_rejected_and_unchanged(tmp_path, case_id, make, message, module, args):
    db = tmp_path / 'sasldb2'
    make(db)
    before = snapshot(db)
    result = run_module(module, dict(args, path=str(db)))
    assert result.get('failed') is True, result
    assert message in result['msg']
    assert snapshot(db) == before
    assert not leftovers(tmp_path)


@pytest.mark.parametrize('module,args', [('sasldb_user', NEW), ('sasldb_users', {'users': [NEW]}), ('sasldb_info', {})])
def test_bad_paths(tmp_path, module, args):
    result = run_module(module, dict(args, path=str(tmp_path / 'missing' / 'sasldb2')))
    if module == 'sasldb_info':
        assert result['exists'] is False
    else:
        assert result['failed'] and 'directory %s does not exist' % (tmp_path / 'missing') in result['msg']
        assert not (tmp_path / 'missing').exists()
    result = run_module(module, dict(args, path=str(tmp_path)))
    assert result['failed'] and 'is a directory, not a sasldb file' in result['msg']


def _hide(tmp_path, *tools):
    """An unshare prefix that bind-mounts a non-executable file over each tool, for one module run."""
    blank = tmp_path / 'not-a-tool'
    blank.write_text('')
    blank.chmod(0o644)
    mounts = ' && '.join('mount --bind %s %s' % (blank, shutil.which(t) or '/usr/sbin/' + t) for t in tools)
    return ['unshare', '--mount', 'sh', '-c', mounts + ' && exec "$@"', 'sh']


MISSING_TOOLS = [
    ('sasldb_user', NEW, 'sasldblistusers2', 'sasldblistusers2 not found on the host: install the sasl2-bin package'),
    ('sasldb_users', {'users': [NEW]}, 'sasldblistusers2', 'install the sasl2-bin package'),
    ('sasldb_user', NEW, 'db_dump', 'db_dump not found on the host: install the db-util package'),
    ('sasldb_users', {'users': [NEW]}, 'db_load', 'db_load not found on the host: install the db-util package'),
    ('sasldb_info', {}, 'db_dump', 'db_dump not found on the host: install the db-util package'),
]


@pytest.mark.skipif(not shutil.which('unshare'), reason='needs unshare (util-linux)')
@pytest.mark.parametrize('module,args,tool,message', MISSING_TOOLS, ids=['%s-%s' % (c[0], c[2]) for c in MISSING_TOOLS])
def test_missing_tools_name_the_package(populated, module, args, tool, message):
    before = snapshot(populated)
    result = run_module(module, dict(args, path=str(populated)), prefix=_hide(populated.parent, tool))
    assert result.get('failed') is True, result
    assert message in result['msg']
    assert snapshot(populated) == before


# --- no secret in any output ----------------------------------------------------------------

SECRET_RUNS = [
    ('sasldb_user', {'name': 'alice', 'realm': 'ex.org', 'password': SECRET}),
    ('sasldb_user', {'name': 'alice', 'realm': 'ex.org', 'password': SECRET2}),
    ('sasldb_user', {'name': 'alice', 'realm': 'bad realm', 'password': SECRET}),
    ('sasldb_users', {'users': [{'name': 'alice', 'realm': 'ex.org', 'password': SECRET},
                                {'name': 'bob', 'realm': 'ex.org', 'password': SECRET2}]}),
    ('sasldb_users', {'users': [{'name': 'alice', 'realm': 'ex.org', 'password': SECRET2}], 'exclusive': True}),
    ('sasldb_users', {'users': [{'name': 'alice', 'realm': 'ex.org', 'password': SECRET}, {'name': 'x@y', 'password': SECRET2}]}),
    ('sasldb_info', {}),
]


@pytest.mark.parametrize('check_mode', [True, False], ids=['check', 'run'])
def test_no_secret_in_output(tmp_path, check_mode):
    db = tmp_path / 'sasldb2'
    saslpasswd2(db, 'carol', SECRET2, 'ex.org')
    for module, args in SECRET_RUNS:
        result, output = run_adhoc(module, dict(args, path=str(db)), check_mode=check_mode, diff=True, verbosity=3)
        assert SECRET not in output and SECRET2 not in output, (module, args)
        assert 'password' not in result or result['password'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'


# --- faults: interruption, stale candidates, concurrent runs -----------------------------------

def _module_process(module, args):
    from helpers.modules import _module_env
    import json
    proc = subprocess.Popen(
        [sys.executable, '-m', 'ansible_collections.mailstack.sasl_postfix.plugins.modules.' + module],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_module_env(), start_new_session=True)
    proc.stdin.write(json.dumps({'ANSIBLE_MODULE_ARGS': args}).encode())
    proc.stdin.close()
    proc.stdin = None
    return proc


def _wait_for(condition, timeout=30):
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError('condition not reached')
        time.sleep(0.001)


KILL_POINTS = {
    # while Ansible parses the arguments or db_dump reads the database
    'early': lambda tmp: time.sleep(0.05) or True,
    # as soon as the private candidate directory exists (db_load about to start)
    'candidate dir': lambda tmp: bool(leftovers(tmp)),
    # while db_load writes the candidate file
    'candidate file': lambda tmp: any(os.path.exists(os.path.join(str(tmp), d, 'sasldb2')) for d in leftovers(tmp)),
    # while the candidate is being checked, before the rename
    'candidate written': lambda tmp: any(os.path.getsize(os.path.join(str(tmp), d, 'sasldb2')) > 200000
                                         for d in leftovers(tmp) if os.path.exists(os.path.join(str(tmp), d, 'sasldb2'))),
}


@pytest.mark.parametrize('point', sorted(KILL_POINTS))
def test_interrupted_run_leaves_a_usable_database_and_rerun_converges(tmp_path, point):
    db = tmp_path / 'sasldb2'
    old = [user('old%05d' % i, 'ex.org', 'old-%d' % i) for i in range(3000)]
    run_module('sasldb_users', {'users': old, 'path': str(db)})
    old_set = listed(db)
    new_set = {'new%05d@ex.org' % i for i in range(8000)}
    new = [user('new%05d' % i, 'ex.org', 'new-%d' % i) for i in range(8000)]
    args = {'users': new, 'path': str(db), 'exclusive': True}
    proc = _module_process('sasldb_users', args)
    _wait_for(lambda: KILL_POINTS[point](tmp_path))
    os.killpg(proc.pid, signal.SIGKILL)  # the module and its db_dump/db_load/sasldblistusers2 children
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL, 'the module finished before it could be interrupted'
    # the database is the old one or the new one, never a mix, and Cyrus reads it
    now = listed(db)
    assert now in (old_set, new_set)
    login, password = ('old00001@ex.org', 'old-1') if now == old_set else ('new00001@ex.org', 'new-1')
    assert authenticate(str(db), login, password) == SASL_OK
    # the re-run converges and removes a candidate left behind
    run_module('sasldb_users', args)
    assert listed(db) == new_set
    assert run_module('sasldb_users', args)['changed'] is False
    assert not leftovers(tmp_path)


def test_stale_candidate_is_removed(tmp_path):
    db = tmp_path / 'sasldb2'
    saslpasswd2(db, 'alice', SECRET, 'ex.org')
    stale = tmp_path / '.sasldb2.ansible-sasldb-deadbeef'
    stale.mkdir()
    (stale / 'sasldb2').write_bytes(b'half written')
    result = run_module('sasldb_user', {'name': 'bob', 'realm': 'ex.org', 'password': SECRET, 'path': str(db)})
    assert result['changed'] is True
    assert not leftovers(tmp_path) and listed(db) == {'alice@ex.org', 'bob@ex.org'}


def test_concurrent_runs_lose_no_update(tmp_path):
    db = tmp_path / 'sasldb2'
    batches = [[user('b%d-%04d' % (b, i), 'ex.org', 'pw') for i in range(1500)] for b in range(3)]
    procs = [_module_process('sasldb_users', {'users': batch, 'path': str(db)}) for batch in batches]
    for proc in procs:
        out, err = proc.communicate()
        assert proc.returncode == 0, err
    assert listed(db) == {'b%d-%04d@ex.org' % (b, i) for b in range(3) for i in range(1500)}


def test_large_database_idempotent(tmp_path):
    db = tmp_path / 'sasldb2'
    users = [user('user%05d' % i, 'ex.org', 'secret-%d' % i) for i in range(10000)]
    first = run_module('sasldb_users', {'users': users, 'path': str(db)})
    assert len(first['added']) == 10000
    again = run_module('sasldb_users', {'users': users, 'path': str(db), 'exclusive': True}, check_mode=True)
    assert again['changed'] is False and again['added'] == again['updated'] == again['removed'] == []
    users[1234]['password'] = 'other'
    third = run_module('sasldb_users', {'users': users, 'path': str(db)})
    assert third['updated'] == ['user01234@ex.org'] and third['added'] == []
    assert authenticate(str(db), 'user01234@ex.org', 'other') == SASL_OK
    assert authenticate(str(db), 'user09999@ex.org', 'secret-9999') == SASL_OK


def test_sasldb_users_create_false_refuses_a_missing_database(tmp_path):
    db = tmp_path / 'sasldb2'
    args = {'users': [NEW], 'path': str(db), 'create': False}
    result = run_module('sasldb_users', args)
    assert result.get('failed') is True, result
    assert 'the sasldb %s does not exist and create is false' % db in result['msg']
    assert not db.exists() and not leftovers(tmp_path)
    # Check mode predicts the users an earlier task of the run would get a database for.
    result = run_module('sasldb_users', args, check_mode=True)
    assert not result.get('failed') and result['changed'] and result['added'], result
    assert not db.exists()
    # An existing database is written as with create: true.
    assert run_module('sasldb_users', dict(args, create=True))['changed']
    result = run_module('sasldb_users', args)
    assert not result.get('failed') and not result['changed'], result
