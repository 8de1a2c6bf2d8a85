# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tables whose values name files, indexed with `postmap -F` (private API of lookup_table's file_values).

`postmap -F` stores, for each key, the base64 of the named files' content
(joined by newlines), not the file names: tls_server_sni_maps reads its keys
and certificate chains that way. The index is then out of date as soon as a
named file changes, which the source's modification time cannot tell; the
module compares what the index holds (`postmap -q -`, which every map type
answers) with the files. A new index is built in a private directory beside
the table and renamed over the live one: `postmap -F` only warns about a file
it cannot read and leaves its key out, so a warning fails the build and the
previous index stays.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import binascii
import os
import re
import shutil
import tempfile

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import ModuleError, find_tool, run_tool
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._postconf import INDEX_SUFFIXES

# postmap -F: "one or more filenames separated by comma and/or whitespace".
_FILE_SEPARATOR = re.compile(r'[\s,]+')


def value_files(key, value):
    """The files a value names, each an absolute path."""
    files = [name for name in _FILE_SEPARATOR.split(value) if name]
    relative = [name for name in files if not os.path.isabs(name)]
    if not files or relative:
        raise ModuleError('value for key %r must name files by absolute path (file_values), separated by commas or '
                          'blanks: %s is not one' % (key, ', '.join(relative) or repr(value)))
    return files


def read_files(key, files):
    """What postmap -F stores for a value, decoded: the files' content joined by newlines; None when one is missing.

    A file that exists but cannot be read, or is no regular file, is an error.
    """
    parts = []
    for name in files:
        if not os.path.exists(name):
            return None
        if not os.path.isfile(name):
            raise ModuleError('value for key %r names %s, which is not a regular file (file_values)' % (key, name))
        try:
            with open(name, 'rb') as handle:
                parts.append(handle.read())
        except (IOError, OSError) as exc:
            raise ModuleError('value for key %r names %s, which cannot be read (file_values): %s' % (key, name, exc))
    return b'\n'.join(parts)


def wanted_contents(entries, check_mode):
    """{folded key: bytes} the index must hold for [(key, value)]; None when a file is missing in check mode.

    Outside check mode a missing file is an error (postmap -F would leave the
    key out); in check mode an earlier task may still be to create it, and
    the index is predicted to change.
    """
    wanted = {}
    for key, value in entries:
        files = value_files(key, value)
        content = read_files(key, files)
        if content is None:
            if check_mode:
                return None
            missing = [name for name in files if not os.path.exists(name)]
            raise ModuleError('value for key %r names %s, which does not exist (file_values)' % (key, ', '.join(missing)))
        wanted[key.lower()] = content
    return wanted


def parse_query_output(text):
    """{folded key: bytes} from the `key<TAB>base64` lines of postmap -q -; None when a value is not base64."""
    held = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, dummy, value = line.partition('\t')
        try:
            held[key.strip().lower()] = binascii.a2b_base64(value.strip().encode('ascii'))
        except (binascii.Error, UnicodeError, ValueError):
            return None
    return held


def indexed_contents(module, config_dir, map_type, path, keys):
    """{folded key: bytes} the index of `map_type:path` holds for `keys`; None when postmap cannot read it.

    The output holds the files' content (private keys): it is never returned
    nor put in a message.
    """
    binary = find_tool(module, 'postmap', 'postfix')
    rc, out, dummy = run_tool(module, [binary, '-c', config_dir, '-q', '-', '%s:%s' % (map_type, path)],
                              data='\n'.join(keys))
    # 1: none of the keys found.
    if rc not in (0, 1):
        return None
    return parse_query_output(out) if rc == 0 else {}


def build_index(module, config_dir, map_type, path, text):
    """Index the source `text` with postmap -F beside `path`, then rename each index file over path's.

    The temporary source and index are private (umask 077; postmap gives the
    index the source's group and other permissions). A warning of postmap (a
    file it could not read) fails the build and leaves the live index as it
    was.
    """
    binary = find_tool(module, 'postmap', 'postfix')
    old_umask = os.umask(0o077)
    work = tempfile.mkdtemp(prefix='.%s.' % os.path.basename(path), dir=os.path.dirname(path))
    try:
        source = os.path.join(work, os.path.basename(path))
        with open(source, 'wb') as handle:
            handle.write(text.encode('utf-8'))
        rc, out, err = run_tool(module, [binary, '-o', '-F', '-c', config_dir, '%s:%s' % (map_type, source)])
        said = (err or out).strip().replace(source, path)
        if rc != 0 or said:
            raise ModuleError('postmap -F %s:%s failed, the index is left as it was: %s'
                              % (map_type, path, said or 'exit status %d' % rc))
        for suffix in INDEX_SUFFIXES[map_type]:
            os.rename(source + suffix, path + suffix)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        os.umask(old_umask)
