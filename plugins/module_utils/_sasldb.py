# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Cyrus SASL sasldb access for the sasldb_* modules (private API).

A sasldb is a Berkeley DB hash file.  Each key is ``user NUL realm NUL
property`` and each value is the property's value; ``userPassword`` holds the
password in plain text (that is how Cyrus stores it, so that shared-secret
mechanisms such as CRAM-MD5 work).

Design (see docs/modules-sasldb.md):

* read: one ``db_dump`` process dumps the whole database in hex; the module
  parses it in memory and compares passwords in-process (constant time).
  Nothing read is ever returned, logged or put into an error message.
* write: the complete new content goes to ``db_load`` on stdin, which builds a
  new database inside a private (0700) directory next to the target; Cyrus's
  own ``sasldblistusers2`` must then list exactly the expected entries before
  ``atomic_move`` renames the candidate over the target.  A run that is
  interrupted leaves either the old or the new database, never a half-written
  one; leftover candidate directories are removed by the next run.
* one writer at a time: an exclusive ``flock`` on the database's directory
  serialises the modules; a database changed by some other program (such as
  ``saslpasswd2``) while the module worked is detected and the work redone.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import binascii
import errno
import fcntl
import glob
import hmac
import os
import shutil
import socket
import tempfile

from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import (
    ModuleError,
    check_token,
    find_tool,
    run_tool,
)

DEFAULT_PATH = '/etc/sasldb2'
PASSWORD_PROPERTY = b'userPassword'
# saslpasswd2 creates the database with mode 0640; a new file made by the module gets the same.
NEW_FILE_UMASK = 0o137
_TMP_MARK = '.ansible-sasldb-'
_MAX_ATTEMPTS = 5

# sasldb_user's options, and the options of each sasldb_users users[] element.
USER_OPTIONS = dict(
    name=dict(type='str', required=True),
    realm=dict(type='str'),
    password=dict(type='str', no_log=True),
    state=dict(type='str', default='present', choices=['present', 'absent']),
)
# The options both writing modules share besides the user(s); documented by the
# mailstack.sasl_postfix.sasldb doc fragment, which changes together with this.
WRITE_OPTIONS = dict(
    update_password=dict(type='str', default='always', choices=['always', 'on_create'], no_log=False),
    path=dict(type='path', default=DEFAULT_PATH),
)


# --- input checks -----------------------------------------------------------

def check_ident(option, value):
    """Check a user name or realm: not empty, no whitespace/control characters, no '@' or ':'."""
    check_token(option, value)
    for char in '@:':
        if char in value:
            raise ModuleError('%s %r must not contain %r' % (option, value, char))


def check_password(option, password, who):
    """Check a password without ever showing it."""
    if password == '':
        raise ModuleError('%s for %s must not be empty' % (option, who))
    if '\x00' in password:
        raise ModuleError('%s for %s must not contain a NUL character' % (option, who))


def user_label(user):
    """'name@realm' for a (name, realm) pair."""
    return '%s@%s' % user


# --- the realm saslpasswd2 uses when given no -u -----------------------------

def default_realm():
    """The realm saslpasswd2 uses without -u: libsasl2's get_fqhostname(), lower-cased.

    libsasl2 takes gethostname(); if it has no dot it asks getaddrinfo() for
    the canonical name and uses it when that has a dot; otherwise it keeps the
    short name.  This repeats those steps.
    """
    name = socket.gethostname()
    if '.' not in name:
        try:
            infos = socket.getaddrinfo(name, None, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_CANONNAME)
        except (socket.error, UnicodeError):
            infos = []
        canon = infos[0][3] if infos else ''
        if canon and '.' in canon:
            name = canon
    return name.lower()


# --- dump format --------------------------------------------------------------

class NotSasldb(ValueError):
    """The file is a database, but not a sasldb."""


def parse_dump(text):
    """Parse `db_dump` (bytevalue format) output into (header dict, list of (key, value) bytes).

    Raises NotSasldb when the content is not a single hash database whose keys
    all look like ``user NUL realm NUL property``.
    """
    lines = text.splitlines()
    try:
        end = lines.index('HEADER=END')
    except ValueError:
        raise NotSasldb('no database header')
    header = {}
    for line in lines[:end]:
        key, sep, value = line.partition('=')
        if sep:
            header[key] = value
    if header.get('type') != 'hash':
        raise NotSasldb('it is a %s database, a sasldb is a hash' % header.get('type', 'unknown'))
    if 'database' in header or header.get('format') != 'bytevalue':
        raise NotSasldb('it holds named sub-databases or is in an unexpected dump format')
    body = lines[end + 1:]
    if 'DATA=END' not in body:
        raise NotSasldb('the dump is incomplete')
    stop = body.index('DATA=END')
    if any(line.strip() for line in body[stop + 1:]):
        raise NotSasldb('it holds more than one database')
    body = body[:stop]
    if len(body) % 2:
        raise NotSasldb('odd number of key and value lines')
    items = []
    for i in range(0, len(body), 2):
        try:
            key = binascii.unhexlify(body[i][1:])
            value = binascii.unhexlify(body[i + 1][1:])
        except (binascii.Error, TypeError, ValueError):
            raise NotSasldb('unreadable entry in the dump')
        parts = key.split(b'\x00')
        if len(parts) != 3 or not parts[0] or not parts[2]:
            raise NotSasldb('a key is not of the form user NUL realm NUL property')
        items.append((key, value))
    return header, items


def render_dump(items, pagesize=None):
    """Build `db_load` input (bytevalue format) for a hash database holding `items`."""
    out = ['VERSION=3', 'format=bytevalue', 'type=hash']
    if pagesize:
        out.append('db_pagesize=%d' % int(pagesize))
    out.append('HEADER=END')
    for key, value in items:
        out.append(' ' + to_text(binascii.hexlify(key)))
        out.append(' ' + to_text(binascii.hexlify(value)))
    out.append('DATA=END')
    return '\n'.join(out) + '\n'


def _dec(value):
    return to_text(value, errors='surrogate_or_strict')


def _enc(value):
    return to_bytes(value, errors='surrogate_or_strict')


def group_users(items):
    """{(name, realm): {property: value}} (text names, byte properties and values), in database order."""
    users = {}
    order = []
    for key, value in items:
        name, realm, prop = key.split(b'\x00')
        user = (_dec(name), _dec(realm))
        if user not in users:
            users[user] = {}
            order.append(user)
        users[user][prop] = value
    return users, order


def flatten_users(users, order):
    """Inverse of group_users: list of (key, value)."""
    items = []
    for user in order:
        name, realm = _enc(user[0]), _enc(user[1])
        for prop, value in users[user].items():
            items.append((b'\x00'.join((name, realm, prop)), value))
    return items


# --- planning (pure) -------------------------------------------------------------

class Plan(object):
    """What a run changes; users are (name, realm) text pairs."""

    def __init__(self, before, after_users, after_order, added, updated, removed):
        self.before = before
        self.after_users = after_users
        self.after_order = after_order
        self.added = added
        self.updated = updated
        self.removed = removed
        self.path = None

    @property
    def changed(self):
        return bool(self.added or self.updated or self.removed)

    def diff(self, header):
        """before/after user lists; an updated password is marked, never shown."""
        updated = set(self.updated)
        before = ''.join('%s\n' % user_label(u) for u in sorted(self.before))
        after = ''.join('%s%s\n' % (user_label(u), '  # password changed' if u in updated else '')
                        for u in sorted(self.after_order))
        return {'before': before, 'after': after, 'before_header': header, 'after_header': header}


def plan(current_users, current_order, wanted, update_password='always', exclusive=False):
    """Decide what to change.

    current_users/current_order: from group_users() (empty for a new database).
    wanted: list of dicts with name, realm, password (text or None), state; already checked.
    Raises ModuleError for a user listed twice or a new user without password.
    """
    users = dict((u, dict(props)) for u, props in current_users.items())
    new_users = []
    added, updated, removed = [], [], []
    listed = {}
    for entry in wanted:
        user = (entry['name'], entry['realm'])
        if user in listed:
            raise ModuleError('user %s is listed more than once' % user_label(user))
        listed[user] = entry['state']
        if entry['state'] == 'absent':
            if user in users:
                del users[user]
                removed.append(user)
            continue
        password = entry.get('password')
        if user not in users:
            if password is None:
                raise ModuleError('password is required to create user %s' % user_label(user))
            users[user] = {PASSWORD_PROPERTY: _enc(password)}
            new_users.append(user)
            added.append(user)
            continue
        if password is None or update_password == 'on_create':
            continue
        stored = users[user].get(PASSWORD_PROPERTY)
        new = _enc(password)
        if stored is None or not hmac.compare_digest(stored, new):
            users[user][PASSWORD_PROPERTY] = new
            updated.append(user)
    if exclusive:
        for user in current_order:
            if user not in listed:
                del users[user]
                removed.append(user)
    # database order for the users kept, then the new ones (dicts keep no order on Python < 3.7)
    order = [u for u in current_order if u in users] + new_users
    return Plan(list(current_order), users, order, added, updated, removed)


def normalize_users(entries, realm_default, indexed):
    """Check user entries (dicts from the module options) and fill in the default realm.

    The default realm is computed only when some entry lacks a realm; it is
    returned (or None) so that the result can say which realm was used.
    """
    used_default = None
    result = []
    for index, entry in enumerate(entries):
        prefix = 'users[%d].' % index if indexed else ''
        name = entry.get('name')
        check_ident(prefix + 'name', name)
        realm = entry.get('realm')
        if realm is None:
            if used_default is None:
                used_default = realm_default()
            realm = used_default
            check_ident(prefix + 'realm (the default, from the host name)', realm)
        else:
            check_ident(prefix + 'realm', realm)
        state = entry.get('state') or 'present'
        password = entry.get('password')
        if password is not None and state == 'present':
            check_password(prefix + 'password', password, user_label((name, realm)))
        result.append({'name': name, 'realm': realm, 'password': password, 'state': state})
    return result, used_default


# --- Ansible's no_log with thousands of passwords -------------------------------------

NO_LOG_MASK = 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'


def quiet_no_log(module, option):
    """Make the module's output safe and fast with thousands of no_log values.

    `option` (the list of users) is declared no_log, so Ansible never logs it,
    and Ansible would then replace every one of its strings in every string of
    the result: names, realms and passwords against each output string, an
    O(users x output) scan that takes minutes at 10,000 users and censors the
    user names the result is meant to show.  The result of the sasldb modules
    is built from names and realms only (never from a password; the tests run
    with -vvv and search the output for the passwords), so the module clears
    that list and reports its invocation itself, with the whole option masked
    as Ansible does for a no_log option.
    Returns the invocation to pass to exit_json/fail_json.
    """
    module.no_log_values = set()
    args = dict(module.params)
    args[option] = NO_LOG_MASK
    return {'module_args': args}


# --- the database file --------------------------------------------------------------

def _signature(path):
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class Sasldb(object):
    """One sasldb file on the managed host."""

    def __init__(self, module, path, write=True):
        self.module = module
        self.given_path = path
        if not path:
            raise ModuleError('path must not be empty')
        # Follow a symlink such as /etc/sasldb2 -> /var/spool/postfix/etc/sasldb2: write its target.
        self.path = os.path.realpath(path)
        self.directory = os.path.dirname(self.path)
        if write and not os.path.isdir(self.directory):
            raise ModuleError('path %s: directory %s does not exist' % (path, self.directory))
        if os.path.isdir(self.path):
            raise ModuleError('path %s is a directory, not a sasldb file' % path)
        self.db_dump = find_tool(module, 'db_dump', 'db-util')
        if write:
            self.db_load = find_tool(module, 'db_load', 'db-util')
            self.listusers = find_tool(module, 'sasldblistusers2', 'sasl2-bin')
        self._lock_fd = None
        self.signature = None
        self.pagesize = None

    @property
    def exists(self):
        return os.path.exists(self.path)

    def lock(self):
        """Take an exclusive lock on the directory, held until the module exits; remove stale candidates."""
        if self._lock_fd is None:
            self._lock_fd = os.open(self.directory, os.O_RDONLY)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            for stale in glob.glob(os.path.join(glob.escape(self.directory), '.%s%s*' % (glob.escape(os.path.basename(self.path)), _TMP_MARK))):
                shutil.rmtree(stale, ignore_errors=True)

    def read(self):
        """Return (users, order) from the database; empty for a missing or empty file."""
        for dummy in range(_MAX_ATTEMPTS):
            before = _signature(self.path)
            users, order = self._read_once(before)
            after = _signature(self.path)
            if before == after:
                self.signature = before
                return users, order
        raise ModuleError('%s keeps changing while being read; is another program writing it?' % self.given_path)

    def _read_once(self, signature):
        if signature is None or signature[2] == 0:
            # saslpasswd2 also treats an empty file as an empty database
            self.pagesize = None
            return {}, []
        if not os.access(self.path, os.R_OK):
            raise ModuleError('%s is not readable' % self.given_path)
        rc, out, err = run_tool(self.module, [self.db_dump, self.path])
        if rc != 0:
            # stderr only: stdout would hold secrets
            raise ModuleError('%s is not a sasldb (a Berkeley DB hash file): %s' % (self.given_path, (err or '').strip()))
        try:
            header, items = parse_dump(out)
        except NotSasldb as exc:
            raise ModuleError('%s is not a sasldb: %s' % (self.given_path, exc))
        finally:
            out = None
        self.pagesize = header.get('db_pagesize')
        return group_users(items)

    def changed_since_read(self):
        return _signature(self.path) != self.signature

    def write(self, users, order):
        """Replace the database with exactly these users, atomically."""
        items = flatten_users(users, order)
        tmpdir = tempfile.mkdtemp(prefix='.%s%s' % (os.path.basename(self.path), _TMP_MARK), dir=self.directory)
        try:
            candidate = os.path.join(tmpdir, os.path.basename(self.path))
            rc, dummy, err = run_tool(self.module, [self.db_load, candidate], data=to_bytes(render_dump(items, self.pagesize)))
            if rc != 0:
                raise ModuleError('db_load could not build the new database: %s' % (err or '').strip())
            self._verify(candidate, items)
            if self.changed_since_read():
                return False
            old_umask = os.umask(NEW_FILE_UMASK)
            try:
                if not self.exists:
                    os.chmod(candidate, 0o640)
                self.module.atomic_move(candidate, self.path)
            finally:
                os.umask(old_umask)
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
        self.signature = _signature(self.path)
        return True

    def _verify(self, candidate, items):
        """Cyrus's own sasldblistusers2 must read the candidate and list exactly the expected entries."""
        rc, out, err = run_tool(self.module, [self.listusers, '-f', candidate])
        expected = sorted('%s@%s: %s' % tuple(_dec(part) for part in key.split(b'\x00')) for key, dummy in items)
        listed = sorted(line for line in out.splitlines() if line)
        # sasldblistusers2 exits 0 even when it fails; it then says so on stderr
        if rc != 0 or (err or '').strip() or listed != expected:
            raise ModuleError('the new database failed the check with sasldblistusers2 (rc=%d, %d of %d entries listed): %s; '
                              '%s is unchanged' % (rc, len(listed), len(expected), (err or '').strip(), self.given_path))


# --- module flows: check -> plan -> write (skipped in check mode) -> report ----------------

def run_users(module, path, wanted, update_password, exclusive, create=True):
    """Check, plan, write (unless check mode) and set file attributes. Returns (plan, changed, diff).

    With create=False a missing database is an error, except in check mode.
    """
    db = Sasldb(module, path, write=True)
    if not create and not db.exists and not module.check_mode:
        raise ModuleError('the sasldb %s does not exist and create is false: nothing was written. Create it first, '
                          'with its owner, group and mode (the mailstack.sasl_postfix.cyrus_sasl role does)' % path)
    if not module.check_mode:
        db.lock()
    for dummy in range(_MAX_ATTEMPTS):
        users, order = db.read()
        result = plan(users, order, wanted, update_password, exclusive)
        if not result.changed or module.check_mode:
            break
        if db.write(result.after_users, result.after_order):
            break
    else:
        raise ModuleError('%s was changed by another program during every attempt to update it; nothing was written' % path)
    result.path = db.path
    diff = result.diff(db.path)
    changed = result.changed
    if db.exists:
        # owner/group/mode (and SELinux attributes) of the database count toward changed
        file_args = module.load_file_common_arguments(module.params, path=db.path)
        changed = module.set_fs_attributes_if_different(file_args, changed)
    return result, changed, diff


def run_sasldb_user(module):
    """The sasldb_user module: one user."""
    params = module.params
    wanted, dummy = normalize_users(
        [dict((k, params[k]) for k in ('name', 'realm', 'password', 'state'))], default_realm, indexed=False)
    result, changed, diff = run_users(module, params['path'], wanted, params['update_password'], exclusive=False)
    report = dict(changed=changed, name=wanted[0]['name'], realm=wanted[0]['realm'], path=result.path)
    if module._diff:
        report['diff'] = diff
    return report


def run_sasldb_users(module, invocation):
    """The sasldb_users module: many users in one database write; `invocation` from quiet_no_log()."""
    params = module.params
    wanted, realm = normalize_users(params['users'], default_realm, indexed=True)
    result, changed, diff = run_users(module, params['path'], wanted, params['update_password'], params['exclusive'],
                                      create=params['create'])
    report = dict(
        changed=changed,
        added=[user_label(u) for u in result.added],
        updated=[user_label(u) for u in result.updated],
        removed=[user_label(u) for u in result.removed],
        default_realm=realm,
        path=result.path,
        invocation=invocation,
    )
    if module._diff:
        report['diff'] = diff
    return report


def run_sasldb_info(module):
    """The sasldb_info module: list the users, change nothing."""
    users, exists, path = list_users(module, module.params['path'])
    return dict(changed=False, users=users, exists=exists, path=path)


def list_users(module, path):
    """Users in the database as a sorted list of {'name', 'realm'}; (users, exists, resolved path)."""
    db = Sasldb(module, path, write=False)
    exists = db.exists
    users, dummy = db.read()
    return [{'name': n, 'realm': r} for n, r in sorted(users)], exists, db.path
