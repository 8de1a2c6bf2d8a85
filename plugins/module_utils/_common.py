# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Helpers shared by every module of the collection (private API): errors, external tools, file I/O."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import tempfile

# The C locale keeps tool output parseable and error messages in English.
C_LOCALE = {'LANG': 'C', 'LC_ALL': 'C', 'LC_MESSAGES': 'C'}

# Where the system tools are when PATH lacks the sbin directories.
TOOL_DIRS = ['/usr/sbin', '/sbin', '/usr/local/sbin']

_CONTROL_OR_SPACE = re.compile(r'[\s\x00-\x1f\x7f]')


class ModuleError(Exception):
    """A problem to report with fail_json(msg=...); the message names the bad value."""


def exit_with_result(module, action, **failure_extras):
    """Exit with the result dict of action(module); a ModuleError fails the task with its message."""
    try:
        result = action(module)
    except ModuleError as exc:
        module.fail_json(msg=str(exc), **failure_extras)
    module.exit_json(**result)


def run_tool(module, argv, data=None, check_rc=False):
    """Run an external tool in the C locale; secrets go through `data` (stdin), never argv.

    Returns (rc, stdout, stderr). With check_rc, a non-zero exit raises
    ModuleError naming the command line and what the tool said.
    """
    rc, out, err = module.run_command(
        argv, data=data, binary_data=data is not None and isinstance(data, bytes),
        environ_update=C_LOCALE, check_rc=False)
    if check_rc and rc != 0:
        raise ModuleError('%s failed (rc=%d): %s' % (' '.join(argv), rc, (err or out).strip()))
    return rc, out, err


def find_tool(module, name, package):
    """Return the path of an external tool, or raise an error that names the package to install."""
    path = module.get_bin_path(name, opt_dirs=TOOL_DIRS)
    if not path:
        raise ModuleError('%s not found on the host: install the %s package' % (name, package))
    return path


def check_token(option, value):
    """Reject an empty value or one with whitespace or control characters."""
    if value is None or value == '':
        raise ModuleError('%s must not be empty' % option)
    if _CONTROL_OR_SPACE.search(value):
        raise ModuleError('%s %r contains whitespace or a control character' % (option, value))


# --- files ------------------------------------------------------------------

def read_text(path):
    """The file's text, or None when it does not exist."""
    try:
        with open(path, 'rb') as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        if not os.path.exists(path):
            return None
        raise ModuleError('cannot read %s: %s' % (path, exc))
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError:
        raise ModuleError('%s is not UTF-8 text' % path)


def write_atomic(module, path, text):
    """Write through a private temporary file in the same directory, then rename over `path`."""
    directory = os.path.dirname(path) or '.'
    old_umask = os.umask(0o077)
    try:
        fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
        try:
            with os.fdopen(fd, 'wb') as handle:
                handle.write(text.encode('utf-8'))
                handle.flush()
                os.fsync(handle.fileno())
            module.atomic_move(tmp, path, unsafe_writes=module.params.get('unsafe_writes', False))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    finally:
        os.umask(old_umask)


def is_stale(source, derived):
    """True when a file derived from `source` (such as a postmap index) is missing or older than it."""
    source_mtime = os.stat(source).st_mtime
    for path in derived:
        if not os.path.exists(path) or os.stat(path).st_mtime < source_mtime:
            return True
    return False
