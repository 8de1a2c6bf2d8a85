# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""main.cf + master.cf as one validated pair, and the aliases file, for managed_state (private API).

The pair is validated in a private temporary directory before either live
file is replaced (the checks that releases before 0.2.0 ran in a shell script, in Python):
postconf -n/-M/-P with nothing on stderr, postfix check, and the open-relay
guard over smtpd_relay_restrictions in main.cf and every master.cf override.
Pure functions take no module and are unit-tested directly.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import (
    C_LOCALE, ModuleError, find_tool, is_stale, read_text, run_tool, write_atomic)
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._postconf import (
    check_param_name, index_paths, parse_assignments)

PAIR = ('main.cf', 'master.cf')
SPEC_KEYS = {'main.cf': 'main_cf', 'master.cf': 'master_cf'}

# Every file written here is root:root 0644.
FILE_UID = 0
FILE_GID = 0
FILE_MODE = 0o644

# The first of these in smtpd_relay_restrictions keeps the server from relaying for anyone.
RELAY_STOPS = ('reject_unauth_destination', 'defer_unauth_destination', 'reject', 'defer')
RELAY_PARAMETER = 'smtpd_relay_restrictions'

# postconf (Postfix load_file) re-reads a main.cf or master.cf younger than two
# seconds until it is that old; the candidate files are dated back this much.
CANDIDATE_AGE = 60

_LIST_SEPARATORS = re.compile(r'[\s,]+')
_REFERENCE = re.compile(r'^\$(?:\{([A-Za-z0-9_]+)\}|\(([A-Za-z0-9_]+)\)|([A-Za-z0-9_]+))\Z')


# ---------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------

def split_restrictions(value):
    """A Postfix restriction list (commas and/or whitespace between items) as a list of tokens."""
    return [token for token in _LIST_SEPARATORS.split(value or '') if token]


def parameter_reference(token):
    """The NAME of a `$NAME`, `${NAME}` or `$(NAME)` token; None for anything else."""
    match = _REFERENCE.match(token)
    if not match:
        return None
    return match.group(1) or match.group(2) or match.group(3)


def relay_guard_problem(value, expand):
    """Why a smtpd_relay_restrictions value may relay for anyone, or None when it cannot.

    The value must reach reject_unauth_destination, defer_unauth_destination,
    reject or defer before any bare permit. `$name` tokens are replaced (one
    level) by expand(name): the parameter's value in the candidate main.cf.
    """
    tokens = []
    for token in split_restrictions(value):
        name = parameter_reference(token)
        tokens.extend(split_restrictions(expand(name)) if name else [token])
    for token in tokens:
        if token in RELAY_STOPS:
            return None
        if token == 'permit':
            return "has a bare 'permit' before reject_unauth_destination"
    return 'does not contain reject_unauth_destination (or defer_unauth_destination, reject, defer)'


def service_overrides(postconf_p_output, name):
    """{'service/type': value} of the master.cf -o overrides of parameter `name` (postconf -P output)."""
    result = {}
    for key, value in parse_assignments(postconf_p_output).items():
        parts = key.rsplit('/', 2)
        if len(parts) == 3 and parts[2] == name:
            result[parts[0] + '/' + parts[1]] = value
    return result


def attributes_ok(info):
    """True when an lstat result is a regular file owned root:root with mode 0644 (None: missing)."""
    return (info is not None and stat.S_ISREG(info.st_mode) and info.st_uid == FILE_UID
            and info.st_gid == FILE_GID and stat.S_IMODE(info.st_mode) == FILE_MODE)


def describe_attributes(info):
    """One line naming a file's type, owner, group and mode, for the diff; '' when it is missing."""
    if info is None:
        return ''
    kind = 'file' if stat.S_ISREG(info.st_mode) else 'link' if stat.S_ISLNK(info.st_mode) else 'other'
    return '%s, owner %d, group %d, mode %04o\n' % (kind, info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode))


WANTED_ATTRIBUTES = 'file, owner %d, group %d, mode %04o\n' % (FILE_UID, FILE_GID, FILE_MODE)


def file_diffs(path, before, after, before_info):
    """Diff entries for one file: its text when it differs, its attributes when they differ."""
    diffs = []
    if before != after:
        diffs.append(dict(before_header=path, after_header=path, before=before or '', after=after))
    if before_info is not None and not attributes_ok(before_info):
        header = '%s (type, owner, group, mode)' % path
        diffs.append(dict(before_header=header, after_header=header,
                          before=describe_attributes(before_info), after=WANTED_ATTRIBUTES))
    return diffs


def differing_values(before, after, names):
    """The names whose values differ between two {name: value} dicts, in the order given."""
    return [name for name in names if before.get(name) != after.get(name)]


def split_map(option, table):
    """'hash:/etc/aliases' -> ('hash', '/etc/aliases'); anything else is an error naming the option."""
    map_type, sep, path = (table or '').partition(':')
    if not sep or not map_type or not path:
        raise ModuleError('%s: %r is not a Postfix table of the form type:name' % (option, table))
    return map_type, path


# ---------------------------------------------------------------------------
# Host helpers
# ---------------------------------------------------------------------------

def _lstat(path):
    try:
        return os.lstat(path)
    except OSError:
        return None


def _install(module, path, text, info, content_changed):
    """Make `path` a regular root:root 0644 file holding `text`."""
    if content_changed or info is None or not stat.S_ISREG(info.st_mode):
        write_atomic(module, path, text)
    os.chown(path, FILE_UID, FILE_GID)
    os.chmod(path, FILE_MODE)


def run_on_terminal(argv):
    """Run argv with its stderr on a pseudo-terminal; return (rc, what it printed).

    The postfix command and postfix-script write their messages to stderr only
    when it is a terminal (otherwise only to syslog), so `postfix check` runs
    here rather than through module.run_command, which would get no reason.
    """
    master, slave = os.openpty()
    try:
        env = dict(os.environ, **C_LOCALE)
        with open(os.devnull, 'rb') as devnull:
            proc = subprocess.Popen(argv, stdin=devnull, stdout=slave, stderr=slave, env=env, close_fds=True)
        os.close(slave)
        slave = None
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError as exc:
                if exc.errno == errno.EIO:  # Linux: every writer closed the terminal
                    break
                raise
            if not chunk:
                break
            chunks.append(chunk)
        rc = proc.wait()
    finally:
        os.close(master)
        if slave is not None:
            os.close(slave)
    return rc, b''.join(chunks).decode('utf-8', 'replace').replace('\r\n', '\n')


class PairValidator(object):
    """Runs the checks of a candidate main.cf + master.cf held in `directory`."""

    def __init__(self, module, postconf, postfix, directory, config_dir):
        self.module = module
        self.postconf = postconf
        self.postfix = postfix
        self.directory = directory
        self.config_dir = config_dir

    def fail(self, what, words):
        raise ModuleError('postfix_config: the new main.cf/master.cf for %s were not installed: %s:\n%s'
                          % (self.config_dir, what, words.strip()))

    def postconf_run(self, *args):
        return run_tool(self.module, [self.postconf, '-c', self.directory] + list(args))

    def validate(self):
        self.check_postconf()
        self.check_postfix()
        self.check_relay()

    def check_postconf(self):
        warnings = []
        for option in ('-n', '-M', '-P'):
            rc, dummy, err = self.postconf_run(option)
            if rc != 0:
                self.fail('postconf %s failed (rc=%d)' % (option, rc), err)
            if err.strip():
                warnings.append(err.strip())
        if warnings:
            self.fail('postconf reported problems in the candidate configuration', '\n'.join(warnings))

    def check_postfix(self):
        rc, output = run_on_terminal([self.postfix, '-c', self.directory, 'check'])
        if rc != 0:
            self.fail('postfix check rejected the candidate configuration (rc=%d)' % rc,
                      output or '(postfix printed no reason; see the mail log)')

    def expand(self, name):
        rc, out, err = self.postconf_run('-xh', name)
        if rc != 0:
            self.fail('postconf -xh %s failed (rc=%d)' % (name, rc), err)
        return out.strip()

    def check_relay(self):
        problems = []
        problem = relay_guard_problem(self.expand(RELAY_PARAMETER), self.expand)
        if problem:
            problems.append('%s in main.cf %s' % (RELAY_PARAMETER, problem))
        dummy, out, dummy_err = self.postconf_run('-P')
        for service, value in sorted(service_overrides(out, RELAY_PARAMETER).items()):
            problem = relay_guard_problem(value, self.expand)
            if problem:
                problems.append('%s/%s in master.cf %s' % (service, RELAY_PARAMETER, problem))
        if problems:
            self.fail('open relay', '\n'.join(problems))


def _parameter_values(module, postconf, directory, names):
    """{name: value} in `directory`'s main.cf; None when postconf cannot read it."""
    rc, out, dummy = run_tool(module, [postconf, '-c', directory] + list(names))
    if rc != 0:
        return None
    return parse_assignments(out)


# ---------------------------------------------------------------------------
# main.cf + master.cf
# ---------------------------------------------------------------------------

def converge_postfix_config(module, spec, check_mode):
    """Make config_dir's main.cf and master.cf those of `spec`, validated together.

    spec: config_dir, main_cf, master_cf (the whole contents), restart_parameters.
    Returns dict(changed, changed_files, restart, diff). A candidate pair that
    fails validation raises ModuleError (in check mode too) and no live file
    is touched. `restart`: a restart_parameters value differs between the live
    and the new main.cf (never when there is no live main.cf yet).
    Note: `postfix check` creates missing queue directories of the candidate's
    queue_directory, as it would for the live configuration.
    """
    config_dir = spec.get('config_dir') or '/etc/postfix'
    wanted = {}
    for name in PAIR:
        wanted[name] = spec.get(SPEC_KEYS[name])
        if wanted[name] is None:
            raise ModuleError('postfix_config.%s is required' % SPEC_KEYS[name])
    restart_parameters = list(spec.get('restart_parameters') or [])
    for parameter in restart_parameters:
        check_param_name('postfix_config.restart_parameters', parameter)
    if not os.path.isdir(config_dir):
        raise ModuleError('postfix_config.config_dir %s is not a directory' % config_dir)

    paths = dict((name, os.path.join(config_dir, name)) for name in PAIR)
    infos = dict((name, _lstat(paths[name])) for name in PAIR)
    live = dict((name, read_text(paths[name]) if infos[name] is not None else None) for name in PAIR)
    changed_files = [name for name in PAIR if live[name] != wanted[name] or not attributes_ok(infos[name])]
    result = dict(changed=bool(changed_files), changed_files=changed_files, restart=False, diff=[])
    if not changed_files:
        return result

    postconf = find_tool(module, 'postconf', 'postfix')
    postfix = find_tool(module, 'postfix', 'postfix')
    candidate = tempfile.mkdtemp(prefix='mailstack-postfix-candidate-')
    try:
        past = time.time() - CANDIDATE_AGE
        for name in PAIR:
            path = os.path.join(candidate, name)
            with open(path, 'wb') as handle:
                handle.write(wanted[name].encode('utf-8'))
            os.utime(path, (past, past))
        PairValidator(module, postconf, postfix, candidate, config_dir).validate()
        if restart_parameters and live['main.cf'] is not None:
            before = _parameter_values(module, postconf, config_dir, restart_parameters)
            after = _parameter_values(module, postconf, candidate, restart_parameters)
            # A live main.cf postconf cannot read: restart rather than guess.
            result['restart'] = before is None or bool(differing_values(before, after or {}, restart_parameters))
    finally:
        shutil.rmtree(candidate, ignore_errors=True)

    for name in changed_files:
        result['diff'].extend(file_diffs(paths[name], live[name], wanted[name], infos[name]))
        if not check_mode:
            _install(module, paths[name], wanted[name], infos[name], live[name] != wanted[name])
    return result


# ---------------------------------------------------------------------------
# aliases
# ---------------------------------------------------------------------------

def converge_aliases(module, spec, check_mode):
    """Make the aliases file hold spec content (root:root 0644) and its indexed maps current.

    spec: path, content, config_dir, maps (type:path tables postalias builds,
    such as hash:/etc/aliases). A map is rebuilt (postalias -c CONFIG_DIR MAP)
    when the file changed or an index file is missing or older than its source.
    Returns dict(changed, rebuilt, diff); check mode writes nothing.
    """
    path = spec.get('path')
    content = spec.get('content')
    config_dir = spec.get('config_dir') or '/etc/postfix'
    if not path or not os.path.isabs(path):
        raise ModuleError('aliases.path %r is not an absolute path' % (path,))
    if content is None:
        raise ModuleError('aliases.content is required')
    maps = [split_map('aliases.maps', table) for table in spec.get('maps') or []]

    info = _lstat(path)
    before = read_text(path) if info is not None else None
    file_changed = before != content or not attributes_ok(info)
    to_rebuild = []
    for map_type, map_path in maps:
        indexes = index_paths(map_type, map_path)
        if not indexes:
            continue  # texthash, inline, ...: nothing to build
        if file_changed or not os.path.exists(map_path) or is_stale(map_path, indexes):
            to_rebuild.append('%s:%s' % (map_type, map_path))

    result = dict(changed=bool(file_changed or to_rebuild), rebuilt=bool(to_rebuild),
                  diff=file_diffs(path, before, content, info) if file_changed else [])
    if check_mode or not result['changed']:
        return result
    if file_changed:
        _install(module, path, content, info, before != content)
    if to_rebuild:
        postalias = find_tool(module, 'postalias', 'postfix')
        for table in to_rebuild:
            run_tool(module, [postalias, '-c', config_dir, table], check_rc=True)
    return result
