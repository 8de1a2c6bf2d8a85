# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The `files` of managed_state: files, directories, symlinks and absent paths (private API).

converge_files() reads each path's live state, asks the pure planner what
differs from the wanted state, then acts (skipped in check mode) and reports.
The planner (check_item, plan_item and the helpers they use) takes plain
dicts, no module, and is unit-tested with data tables; everything that
touches the file system is below it.

A live state is what _host_state.file_state returns (exists, type, mode,
owner, group, link_target), plus `content` (bytes) for a regular file whose
content is compared.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import grp
import os
import pwd
import re
import shutil
import tempfile

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import (
    ModuleError, find_tool, run_tool, write_atomic)
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._host_state import account_name, file_state

STATES = ('file', 'directory', 'link', 'absent')

# The mode of what this module creates when the item gives none.
DEFAULT_MODES = dict(file='0644', secret='0600', directory='0755')

# A regular file kept aside where a link is wanted (replace_file: move, when the link's target exists).
ASIDE_SUFFIX = '.before-link'

ATTRIBUTES = ('owner', 'group', 'mode')

_OCTAL_MODE = re.compile(r'^0?[0-7]{3,4}\Z')

# Options only the action plugin reads; the module never sees them when it runs through it.
_CONTROLLER_OPTIONS = ('template',)


# ---------------------------------------------------------------------------
# Checks and decisions (pure)
# ---------------------------------------------------------------------------

def normalize_mode(path, mode):
    """'644', '0644' -> '0644'; None stays None. Only octal strings: an unquoted YAML 0644 is the number 420."""
    if mode is None:
        return None
    if not isinstance(mode, str) or not _OCTAL_MODE.match(mode):
        raise ModuleError('files: %s: mode %r is not an octal string such as "0644" (quote it in YAML)' % (path, mode))
    return '%04o' % int(mode, 8)


def check_item(item):
    """A copy of one `files` item with its mode normalized; refuses options that do not go together.

    The message names the path and the option.
    """
    path, state = item.get('path'), item.get('state') or 'file'
    if not path or not os.path.isabs(path):
        raise ModuleError('files: %r is not an absolute path' % (path,))
    if state not in STATES:
        raise ModuleError('files: %s: state %r is not one of %s' % (path, state, ', '.join(STATES)))
    for name in _CONTROLLER_OPTIONS:
        if item.get(name) is not None:
            raise ModuleError('files: %s: %s is rendered by the managed_state action plugin on the controller; '
                              'run mailstack.sasl_postfix.managed_state as a task, or give content' % (path, name))
    allowed = dict(
        file=('content', 'initial', 'owner', 'group', 'mode'),
        directory=('owner', 'group', 'mode'),
        link=('src', 'replace_file'),
        absent=(),
    )[state]
    for name in ('content', 'initial', 'src', 'replace_file', 'owner', 'group', 'mode'):
        if item.get(name) is not None and name not in allowed:
            if name == 'src' and state == 'file':
                raise ModuleError('files: %s: src with state file names a role file, read by the managed_state action '
                                  'plugin; give content instead' % path)
            raise ModuleError('files: %s: %s does not go with state %s' % (path, name, state))
    if state == 'link' and not item.get('src'):
        raise ModuleError('files: %s: state link needs src, the link target' % path)
    if item.get('content') is not None and item.get('initial') is not None:
        raise ModuleError('files: %s: give content or initial, not both' % path)
    result = dict(item)
    result.update(state=state, secret=bool(item.get('secret')), mode=normalize_mode(path, item.get('mode')))
    return result


def attribute_changes(want, live):
    """[(name, before, after)] for each of owner, group, mode given in `want` that differs from `live`."""
    return [(name, live.get(name), want[name]) for name in ATTRIBUTES
            if want.get(name) is not None and want[name] != live.get(name)]


def _content_differs(want, live):
    return want.get('content') is not None and live.get('content') != want['content'].encode('utf-8')


def _wanted_attributes(want, kind, defaults):
    """The owner, group and mode a new file or directory gets: the item's, else `defaults` and DEFAULT_MODES."""
    mode = want.get('mode') or DEFAULT_MODES['secret' if kind == 'file' and want.get('secret') else kind]
    return dict(owner=want.get('owner') or defaults['owner'], group=want.get('group') or defaults['group'], mode=mode)


def plan_item(want, live, related):
    """What to do to bring one path from `live` to `want` (both checked with check_item / read as above).

    `related` holds the states of other paths the decision needs: `parent`
    (the directory of the path), `src` (a link's target), `aside` (PATH +
    ASIDE_SUFFIX) and `defaults` ({owner, group} a new file gets when the
    item names none). Returns a dict:

    - action: None, create, write, sasldb, mkdir, symlink, move_then_link,
      aside_then_link, remove or rmdir;
    - attributes: {owner, group, mode} to set (only those to change);
    - changes: [(what, before, after)], empty when nothing changes; what is
      state, content, owner, group, mode, link or moved (before/after None
      for content);
    - after: the path's state once done; `also`: {path: state} of other
      paths the action creates (a moved file).
    """
    path, state = want['path'], want['state']
    kind = live.get('type') if live.get('exists') else 'absent'
    plan = dict(action=None, attributes={}, changes=[], after=live, also={})
    handler = dict(file=_plan_file, directory=_plan_directory, link=_plan_link, absent=_plan_absent)[state]
    handler(plan, path, want, live, kind, related)
    return plan


def _created(plan, want, kind, related, action):
    attributes = _wanted_attributes(want, kind, related['defaults'])
    plan.update(action=action, attributes=attributes)
    plan['changes'].append(('state', 'absent', kind))
    plan['changes'].extend((name, None, attributes[name]) for name in ATTRIBUTES)
    after = dict(exists=True, type=kind, **attributes)
    if kind == 'file':
        after['content'] = want['content'].encode('utf-8') if want.get('content') is not None else b''
    plan['after'] = after


def _changed_attributes(plan, want, live):
    changes = attribute_changes(want, live)
    plan['attributes'] = dict((name, after) for name, dummy, after in changes)
    plan['changes'].extend(changes)
    after = dict(live)
    after.update(plan['attributes'])
    plan['after'] = after


def _plan_file(plan, path, want, live, kind, related):
    if kind == 'absent':
        parent = related['parent']
        if not (parent.get('exists') and parent.get('type') == 'directory'):
            raise ModuleError('files: %s: its directory %s does not exist' % (path, os.path.dirname(path)))
        if want.get('content') is not None:
            _created(plan, want, 'file', related, 'create')
        elif want.get('initial') == 'sasldb':
            _created(plan, want, 'file', related, 'sasldb')
        else:
            raise ModuleError('files: %s does not exist: give content, or initial to create it' % path)
        return
    if kind != 'file':
        raise ModuleError('files: %s is a %s, not a regular file: remove it first (state absent)' % (path, _kind_name(live)))
    _changed_attributes(plan, want, live)
    if _content_differs(want, live):
        plan['action'] = 'write'
        plan['changes'].insert(0, ('content', None, None))
        plan['after']['content'] = want['content'].encode('utf-8')


def _plan_directory(plan, path, want, live, kind, related):
    if kind == 'absent':
        _created(plan, want, 'directory', related, 'mkdir')
    elif kind != 'directory':
        raise ModuleError('files: %s is a %s, not a directory: remove it first (state absent)' % (path, _kind_name(live)))
    else:
        _changed_attributes(plan, want, live)


def _plan_link(plan, path, want, live, kind, related):
    target = want['src']
    link = dict(exists=True, type='link', link_target=target)
    if kind == 'link':
        if live.get('link_target') != target:
            plan.update(action='symlink', after=link, changes=[('link', live.get('link_target'), target)])
        return
    if kind == 'absent':
        plan.update(action='symlink', after=link, changes=[('state', 'absent', 'link'), ('link', None, target)])
        return
    if kind != 'file' or want.get('replace_file') != 'move':
        hint = ': set replace_file: move to move it out of the way' if kind == 'file' else ''
        raise ModuleError('files: %s is a %s, not a symlink to %s%s' % (path, _kind_name(live), target, hint))
    moved = dict(live)
    if not related['src'].get('exists'):
        plan.update(action='move_then_link', also={target: moved})
        plan['changes'].append(('moved', path, target))
    else:
        aside = path + ASIDE_SUFFIX
        if related['aside'].get('exists'):
            raise ModuleError('files: %s is a regular file and %s exists: cannot keep the file aside to link %s to %s'
                              % (path, aside, path, target))
        plan.update(action='aside_then_link', also={aside: moved})
        plan['changes'].append(('moved', path, aside))
    plan['changes'].extend([('state', 'file', 'link'), ('link', None, target)])
    plan['after'] = link


def _plan_absent(plan, path, want, live, kind, related):
    if kind == 'absent':
        return
    if kind == 'directory' and not related.get('empty_directory'):
        raise ModuleError('files: %s is a directory that is not empty: not removed' % path)
    plan.update(action='rmdir' if kind == 'directory' else 'remove', after=dict(exists=False))
    plan['changes'].append(('state', kind, 'absent'))


def _kind_name(live):
    return dict(file='regular file', other='special file').get(live.get('type'), live.get('type'))


def describe_changes(changes):
    """The changes of a plan as short texts: "mode 0644 -> 0600", "content", "moved /a -> /b"."""
    texts = []
    for what, before, after in changes:
        if what == 'content':
            texts.append('content')
        elif before is None:
            texts.append('%s %s' % (what, after))
        else:
            texts.append('%s %s -> %s' % (what, before, after))
    return texts


def plan_diff(want, live, plan):
    """The diff entries of one planned item: its content (not of a secret file) and its other changes."""
    if not plan['changes']:
        return []
    path = want['path']
    diffs = []
    content_changed = plan['action'] in ('create', 'write') or (plan['action'] == 'remove' and live.get('type') == 'file')
    if content_changed and not want.get('secret'):
        before = live.get('content')
        diffs.append(dict(before_header=path, after_header=path,
                          before=before.decode('utf-8', 'replace') if before else '',
                          after=want.get('content') or ''))
    others = [change for change in plan['changes'] if change[0] != 'content']
    if others:
        diffs.append(dict(before_header=path, after_header=path,
                          before=''.join('%s %s\n' % (what, before) for what, before, dummy in others if before is not None),
                          after=''.join('%s %s\n' % (what, after) for what, dummy, after in others if after is not None)))
    return diffs


# ---------------------------------------------------------------------------
# The file system
# ---------------------------------------------------------------------------

def _resolve_account(path, option, value, by_name, by_id):
    """The canonical name of a user or group given by name or number; ModuleError when the host has none."""
    if value is None:
        return None
    try:
        number = int(value) if value.isdigit() else by_name(value)[2]
    except KeyError:
        raise ModuleError('files: %s: %s %s does not exist on the host' % (path, option, value))
    return account_name(by_id, number)


def _live_state(path, with_content):
    state = file_state(path, checksum=False)
    if with_content and state.get('type') == 'file':
        try:
            with open(path, 'rb') as handle:
                state['content'] = handle.read()
        except (IOError, OSError) as exc:
            raise ModuleError('files: cannot read %s: %s' % (path, exc))
    return state


def _empty_directory(path):
    try:
        return not os.listdir(path)
    except OSError:
        return False


def _account_id(name, by_name):
    """The number of a user or group name (-1, left alone, for None); a number without a name is itself."""
    if name is None:
        return -1
    return int(name) if name.isdigit() else by_name(name)[2]


def _ids(attributes):
    return _account_id(attributes.get('owner'), pwd.getpwnam), _account_id(attributes.get('group'), grp.getgrnam)


def _set_attributes(path, attributes):
    """chown, then chmod: a file whose owner changes keeps its old (or the private new) mode until then."""
    uid, gid = _ids(attributes)
    if uid != -1 or gid != -1:
        os.chown(path, uid, gid)
    if attributes.get('mode') is not None:
        os.chmod(path, int(attributes['mode'], 8))


def _create_sasldb(module, path, attributes):
    """An empty hash sasldb made in a private temporary directory beside `path`, then renamed into place."""
    db_load = find_tool(module, 'db_load', 'db-util')
    tmpdir = tempfile.mkdtemp(prefix='.%s.' % os.path.basename(path), dir=os.path.dirname(path))
    try:
        tmp = os.path.join(tmpdir, os.path.basename(path))
        run_tool(module, [db_load, '-T', '-t', 'hash', '-f', '/dev/null', tmp], check_rc=True)
        _set_attributes(tmp, attributes)
        os.rename(tmp, path)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _symlink(path, target):
    """Point `path` at `target`, replacing a symlink there in one rename."""
    tmp = os.path.join(os.path.dirname(path), '.%s.%d.link' % (os.path.basename(path), os.getpid()))
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target, tmp)
    try:
        os.rename(tmp, path)
    except OSError:
        os.unlink(tmp)
        raise


def _move(source, destination):
    """Rename; across file systems copy with owner, mode and times."""
    try:
        os.rename(source, destination)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        info = os.lstat(source)
        shutil.copy2(source, destination)
        os.chown(destination, info.st_uid, info.st_gid)
        os.unlink(source)


def _make_parents(directory):
    if not os.path.isdir(directory):
        old_umask = os.umask(0o022)
        try:
            os.makedirs(directory)
        finally:
            os.umask(old_umask)


def apply_plan(module, want, plan):
    """Carry out a plan (outside check mode)."""
    path, action, attributes = want['path'], plan['action'], plan['attributes']
    if action == 'create':
        # write_atomic makes the file 0600 (umask 077) and root's; chown, then chmod, make it what is asked.
        write_atomic(module, path, want['content'])
        _set_attributes(path, attributes)
    elif action == 'write':
        # atomic_move gives the new file the old one's owner and mode: set them first, so that the new
        # content is never there with the old, maybe wider, mode.
        _set_attributes(path, attributes)
        write_atomic(module, path, want['content'])
    elif action == 'sasldb':
        _create_sasldb(module, path, attributes)
    elif action == 'mkdir':
        _make_parents(os.path.dirname(path))
        os.mkdir(path, 0o700)
        _set_attributes(path, attributes)
    elif action in ('symlink', 'move_then_link', 'aside_then_link'):
        if action == 'move_then_link':
            _move(path, want['src'])
        elif action == 'aside_then_link':
            _move(path, path + ASIDE_SUFFIX)
        _symlink(path, want['src'])
    elif action == 'remove':
        os.unlink(path)
    elif action == 'rmdir':
        os.rmdir(path)
    elif attributes:
        _set_attributes(path, attributes)


def converge_files(module, items, check_mode):
    """Bring every item of `files` to its wanted state, in order; return {changed, files, diff}.

    files: {path: {changed, state, changes}} (changes as describe_changes
    prints them). diff: the entries of plan_diff, none for a secret file's
    content. In check mode nothing is written: each item is decided on the
    states the earlier items would leave.
    """
    wants = [check_item(item) for item in items or ()]
    seen = set()
    for want in wants:
        if want['path'] in seen:
            raise ModuleError('files: %s is listed twice' % want['path'])
        seen.add(want['path'])
    predicted = {}  # path -> state, in check mode: what the earlier items would leave

    def state_of(path, with_content=False):
        if path in predicted:
            return predicted[path]
        return _live_state(path, with_content)

    defaults = dict(owner=account_name(pwd.getpwuid, os.geteuid()), group=account_name(grp.getgrgid, os.getegid()))
    result = dict(changed=False, files={}, diff=[])
    for want in wants:
        path = want['path']
        for name, by_name, by_id in (('owner', pwd.getpwnam, pwd.getpwuid), ('group', grp.getgrnam, grp.getgrgid)):
            want[name] = _resolve_account(path, name, want.get(name), by_name, by_id)
        live = state_of(path, with_content=want['state'] in ('file', 'absent'))
        related = dict(defaults=defaults, parent=state_of(os.path.dirname(path)))
        if want['state'] == 'link':
            related.update(src=state_of(want['src']), aside=state_of(path + ASIDE_SUFFIX))
        if want['state'] == 'absent' and live.get('type') == 'directory':
            related['empty_directory'] = _empty_directory(path)
        plan = plan_item(want, live, related)
        if plan['action'] is not None or plan['attributes']:
            if check_mode:
                predicted[path] = plan['after']
                predicted.update(plan['also'])
            else:
                try:
                    apply_plan(module, want, plan)
                except (IOError, OSError) as exc:
                    raise ModuleError('files: %s: %s' % (path, exc))
        changed = bool(plan['changes'])
        result['changed'] = result['changed'] or changed
        result['files'][path] = dict(changed=changed, state=want['state'], changes=describe_changes(plan['changes']))
        result['diff'].extend(plan_diff(want, live, plan))
    return result
