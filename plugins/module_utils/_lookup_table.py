# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Postfix lookup tables for the lookup_table module (private API).

The table model (parse a source file, edit it in place or render it whole,
mask secret values for diffs), the checks of keys and values, postmap, and
the module's flow. Pure functions take no module and are unit-tested directly.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import (
    ModuleError, check_token, find_tool, is_stale, read_text, run_tool, write_atomic)
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._postconf import (
    INDEX_SUFFIXES, Postconf, index_paths)
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils import _file_values

# Debian package that adds a dynamically loaded map type.
MAP_TYPE_PACKAGES = {
    'lmdb': 'postfix-lmdb',
    'cdb': 'postfix-cdb',
}

_NEWLINE_OR_CONTROL = re.compile(r'[\x00-\x08\x0a-\x1f\x7f]')

MASK = '********'

HEADER = ('# Managed by Ansible (mailstack.sasl_postfix.lookup_table).\n'
          '# Local changes are overwritten; edit the entries in the playbook.\n')


def check_map_type(map_type, supported):
    """Raise unless postmap can build `map_type` and the host's Postfix supports it."""
    if map_type not in INDEX_SUFFIXES:
        raise ModuleError('type %r is not an indexed map type that postmap builds; lookup_table supports %s'
                          % (map_type, ', '.join(sorted(INDEX_SUFFIXES))))
    if map_type not in supported:
        hint = ''
        if map_type in MAP_TYPE_PACKAGES:
            hint = ' (install the %s package)' % MAP_TYPE_PACKAGES[map_type]
        raise ModuleError('map type %r is not supported by this Postfix: postconf -m lists %s%s'
                          % (map_type, ', '.join(supported), hint))


# -- lookup table contents -------------------------------------------------

def check_key(key):
    """A table key: no whitespace or control characters, not empty, not a comment."""
    check_token('key', key)
    if key.startswith('#'):
        raise ModuleError('key %r starts with #: postmap would read the line as a comment' % key)


def check_value(key, value):
    """A table value: one line, no leading/trailing whitespace; never echoed (it may be secret)."""
    if value == '':
        raise ModuleError('value for key %r is empty: postmap would skip the line' % key)
    if _NEWLINE_OR_CONTROL.search(value):
        raise ModuleError('value for key %r contains a newline or control character (value not shown)' % key)
    if value != value.strip():
        raise ModuleError('value for key %r has leading or trailing whitespace, which postmap strips (value not shown)'
                          % key)


def _entry_value(key, value):
    if isinstance(value, bool):
        raise ModuleError('value for key %r is a boolean: quote it in YAML (yes/no/true/false become booleans)' % key)
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str):
        raise ModuleError('value for key %r must be a string' % key)
    return value


def normalize_entries(entries):
    """Turn `entries` (dict, or list of {key, value}) into a validated list of (key, value).

    Postmap folds keys to lower case, so keys that differ only in case are duplicates.
    """
    if entries is None:
        return []
    pairs = []
    if isinstance(entries, dict):
        pairs = list(entries.items())
    elif isinstance(entries, list):
        for index, item in enumerate(entries):
            if not isinstance(item, dict) or set(item) != set(['key', 'value']):
                raise ModuleError('entries[%d] must be a dict with exactly the keys key and value' % index)
            pairs.append((item['key'], item['value']))
    else:
        raise ModuleError('entries must be a dict or a list of {key, value} dicts')
    result = []
    seen = {}
    for key, value in pairs:
        if not isinstance(key, str):
            raise ModuleError('key %r must be a string' % (key,))
        check_key(key)
        value = _entry_value(key, value)
        check_value(key, value)
        folded = key.lower()
        if folded in seen:
            raise ModuleError('key %r duplicates key %r: postmap folds keys to lower case' % (key, seen[folded]))
        seen[folded] = key
        result.append((key, value))
    return result


def parse_table(text):
    """Split a table source into records: (key or None, [raw lines]).

    Comment and blank lines are records with key None; a line that starts
    with whitespace continues the previous record, as postmap reads it.
    """
    records = []
    for line in text.splitlines(True):
        stripped = line.strip()
        if stripped and line[0] in ' \t' and records and records[-1][0] is not None:
            records[-1][1].append(line)
            continue
        if not stripped or stripped.startswith('#'):
            records.append((None, [line]))
            continue
        records.append((stripped.split(None, 1)[0], [line]))
    return records


def record_value(lines):
    """The value postmap stores for a record (continuation lines joined by one space)."""
    text = ' '.join(line.strip() for line in lines)
    parts = text.split(None, 1)
    return parts[1] if len(parts) > 1 else ''


def table_entries(records):
    """{folded key: (key, value)} of the first record for each key (the one postmap keeps)."""
    result = {}
    for key, lines in records:
        if key is not None and key.lower() not in result:
            result[key.lower()] = (key, record_value(lines))
    return result


def render_exclusive(entries):
    return HEADER + ''.join('%s %s\n' % (key, value) for key, value in entries)


def edit_table(records, set_entries=(), remove_keys=()):
    """Apply updates to parsed records in place of their lines; return the new text.

    Existing keys keep their position (later duplicates are dropped), new keys
    are appended, removed keys disappear; comments and blank lines stay.
    """
    wanted = dict((key.lower(), (key, value)) for key, value in set_entries)
    removed = set(key.lower() for key in remove_keys)
    done = set()
    out = []
    for key, lines in records:
        if key is None:
            out.extend(lines)
            continue
        folded = key.lower()
        if folded in removed or folded in done:
            continue
        if folded in wanted:
            new_key, value = wanted[folded]
            if key == new_key and record_value(lines) == value:
                out.extend(lines)
            else:
                out.append('%s %s\n' % (new_key, value))
            done.add(folded)
            continue
        out.extend(lines)
        done.add(folded)
    if out and not out[-1].endswith('\n'):
        out[-1] += '\n'
    for key, value in set_entries:
        if key.lower() not in done:
            out.append('%s %s\n' % (key, value))
    return ''.join(out)


def mask_table(text, reference=None):
    """The table text with every value replaced by a mask, for diffs of secret tables.

    With `reference` ({folded key: (key, value)}), values that differ from it
    are shown as changed, so the diff still says which entry changed.
    """
    out = []
    for key, lines in parse_table(text):
        if key is None:
            out.extend(lines)
            continue
        mask = MASK
        if reference is not None:
            old = reference.get(key.lower())
            if old is None or old[1] != record_value(lines):
                mask = MASK + ' (changed)'
        out.append('%s %s\n' % (key, mask))
    return ''.join(out)


def postmap(module, config_dir, map_type, path):
    """Build the index of `map_type:path` with the host's postmap."""
    binary = find_tool(module, 'postmap', 'postfix')
    # -o: keep root privileges for a source owned by another user; without it
    # postmap runs as that owner, who usually cannot write next to the file.
    # The module applies owner/group/mode to the index afterwards.
    argv = [binary, '-o', '-c', config_dir, '%s:%s' % (map_type, path)]
    # postmap creates a new index with the source's mode, but keep it
    # private until the module applies the requested mode.
    old_umask = os.umask(0o077)
    try:
        run_tool(module, argv, check_rc=True)
    finally:
        os.umask(old_umask)


# ---------------------------------------------------------------------------
# Module flow: check -> decide -> act (skipped in check mode) -> report
# ---------------------------------------------------------------------------

def _secret_values(entries):
    """Raw values of `entries` as strings, for module.no_log_values."""
    if isinstance(entries, dict):
        values = list(entries.values())
    elif isinstance(entries, list):
        values = [item.get('value') for item in entries if isinstance(item, dict)]
    else:
        values = []
    return set(str(v) for v in values if v is not None and str(v) != '')


def run_lookup_table(module):
    """The lookup_table module; returns the result dict."""
    p = module.params
    path, state, secret = p['path'], p['state'], p['secret']
    if isinstance(p['entries'], str):
        # entries=... on an ad-hoc command line arrives as a JSON string.
        if secret:
            module.no_log_values.add(p['entries'])
        try:
            p['entries'] = json.loads(p['entries'])
        except ValueError:
            raise ModuleError('entries must be a dict or a list of {key, value} dicts (a string must be JSON)')
    if secret:
        module.no_log_values.update(_secret_values(p['entries']))

    # Validate everything before touching anything.
    if state == 'present' and p['keys'] is not None:
        raise ModuleError('keys is only used with state=absent; with state=present, give entries')
    if state == 'absent' and p['entries'] is not None:
        raise ModuleError('entries is only used with state=present; with state=absent, give keys to remove '
                          '(or neither, to remove the whole table)')
    entries = normalize_entries(p['entries'])
    remove_keys = p['keys'] or []
    for key in remove_keys:
        check_key(key)
    if not os.path.isabs(path):
        raise ModuleError('path %r must be absolute' % path)
    if os.path.isdir(path):
        raise ModuleError('path %s is a directory' % path)
    if not os.path.isdir(os.path.dirname(path)):
        raise ModuleError('directory %s of path does not exist' % os.path.dirname(path))
    pc = Postconf(module, p['config_dir'])
    map_type = p['type'] or pc.effective('default_database_type')
    check_map_type(map_type, pc.map_types())
    indexes = index_paths(map_type, path)

    old = read_text(path)
    before = table_entries(parse_table(old or ''))
    if state == 'absent' and not remove_keys:
        new = None
    elif state == 'absent':
        new = edit_table(parse_table(old), remove_keys=remove_keys) if old is not None else None
    elif p['exclusive']:
        new = render_exclusive(entries)
    else:
        new = edit_table(parse_table(old or ''), set_entries=entries)
    after = table_entries(parse_table(new or ''))

    result = dict(path=path, type=map_type, map='%s:%s' % (map_type, path), index_files=indexes,
                  added=[after[k][0] for k in after if k not in before],
                  removed=[before[k][0] for k in before if k not in after],
                  updated=[after[k][0] for k in after if k in before and before[k] != after[k]],
                  rebuilt=False)

    if new is None:
        # Remove the whole table, or nothing to do for keys of a missing table.
        existing = [f for f in [path] + indexes if os.path.exists(f)] if not remove_keys else []
        changed = bool(existing)
        if changed and not module.check_mode:
            for name in existing:
                os.unlink(name)
        result['changed'] = changed
        if module._diff:
            result['diff'] = _table_diff(path, old, '' if changed else old, secret, before)
        return result

    content_changed = new != old
    needs_postmap = content_changed or is_stale(path, indexes)
    file_values = p['file_values']
    if file_values:
        # postmap -F indexes the files' content: a change of a file needs a new index too.
        # Every value is checked first; None: a file is missing, in check mode.
        wanted = _file_values.wanted_contents(after.values(), module.check_mode)
        if not needs_postmap:
            needs_postmap = wanted is None or _file_values.indexed_contents(
                module, pc.config_dir, map_type, path, [key for key, dummy in after.values()]) != wanted
    changed = content_changed or needs_postmap
    if content_changed and not module.check_mode:
        write_atomic(module, path, new)
    if file_values and needs_postmap and not module.check_mode:
        _file_values.build_index(module, pc.config_dir, map_type, path, new)

    file_args = module.load_file_common_arguments(module.params, path=path)
    if file_args.get('mode') is None and (secret or file_values or old is None):
        file_args['mode'] = '0600' if secret or file_values else '0644'
    if os.path.exists(path):
        changed = module.set_fs_attributes_if_different(file_args, changed)

    if needs_postmap and not module.check_mode and not file_values:
        postmap(module, pc.config_dir, map_type, path)
    result['rebuilt'] = needs_postmap
    for index in indexes:
        if not os.path.exists(index):
            continue
        index_args = dict(file_args, path=index)
        if index_args.get('mode') is None:
            index_args['mode'] = os.stat(path).st_mode & 0o7777
        changed = module.set_fs_attributes_if_different(index_args, changed)

    result['changed'] = changed
    if module._diff:
        result['diff'] = _table_diff(path, old, new, secret, before)
    return result


def _table_diff(path, old, new, secret, before):
    if secret:
        old_text = mask_table(old or '')
        new_text = mask_table(new or '', reference=before)
    else:
        old_text, new_text = old or '', new or ''
    return dict(before=old_text, after=new_text, before_header=path, after_header=path)
