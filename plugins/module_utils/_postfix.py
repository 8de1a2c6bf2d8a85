# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Postfix helpers for the postconf, lookup_table and postfix_info modules (private API).

Everything that runs `postconf`/`postmap` or parses their output lives here;
the module files only declare options and call into this file.
Pure functions (parsers, validators, table rendering) take no module and are
unit-tested directly.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re
import tempfile

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import (
    ModuleError, check_token, find_tool, run_tool)

DEFAULT_CONFIG_DIR = '/etc/postfix'

# master.cf service types (master(5)).
SERVICE_TYPES = ('inet', 'unix', 'unix-dgram', 'fifo', 'pass')

# Map types that postmap builds into an indexed file, with the files it writes.
INDEX_SUFFIXES = {
    'hash': ('.db',),
    'btree': ('.db',),
    'lmdb': ('.lmdb',),
    'cdb': ('.cdb',),
    'dbm': ('.dir', '.pag'),
    'sdbm': ('.dir', '.pag'),
}

# Debian package that adds a dynamically loaded map type.
MAP_TYPE_PACKAGES = {
    'lmdb': 'postfix-lmdb',
    'cdb': 'postfix-cdb',
}

_PARAM_NAME = re.compile(r'^[A-Za-z0-9_]+\Z')
_SERVICE = re.compile(r'^([^/\s]+)/(%s)\Z' % '|'.join(re.escape(t) for t in SERVICE_TYPES))
_ASSIGNMENT = re.compile(r'^(\S+) =(?: (.*))?$')
_UNKNOWN = re.compile(r'warning: (\S+): unknown parameter')
_UNUSED = re.compile(r'warning: (\S+): unused parameter: ([A-Za-z0-9_]+)=(.*)$', re.M)
_NEWLINE_OR_CONTROL = re.compile(r'[\x00-\x08\x0a-\x1f\x7f]')
_WHITESPACE = re.compile(r'\s')

MASK = '********'


# ---------------------------------------------------------------------------
# Parsers and validators (pure)
# ---------------------------------------------------------------------------

def parse_assignments(text):
    """Parse `name = value` lines as printed by postconf (-n, -d, -P, -F) into an ordered dict."""
    result = {}
    for line in text.splitlines():
        match = _ASSIGNMENT.match(line)
        if match:
            result[match.group(1)] = match.group(2) or ''
    return result


def parse_list(text):
    """Parse one-name-a-line output (postconf -a/-A/-m)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def unknown_parameters(stderr):
    """Names postconf warned about as `unknown parameter`."""
    return set(_UNKNOWN.findall(stderr or ''))


def unused_parameters(stderr, config_file):
    """{name: value} of parameters postconf reported as unused in `config_file`.

    postconf -n omits a user-defined parameter nothing refers to, and only
    names it (with its value) in this warning.
    """
    result = {}
    for path, name, value in _UNUSED.findall(stderr or ''):
        if path == config_file:
            result[name] = value.strip()
    return result


def parse_chroot(text, default_chroot=False):
    """Parse `postconf -F '*/*/chroot'` into {'name/type': bool}; '-' means the default."""
    services = {}
    for field, value in parse_assignments(text).items():
        parts = field.rsplit('/', 2)
        if len(parts) != 3 or parts[2] != 'chroot':
            continue
        service = parts[0] + '/' + parts[1]
        if value == '-':
            services[service] = default_chroot
        else:
            services[service] = value.lower() in ('y', 'yes')
    return services


def version_tuple(version):
    """'3.7.11' -> (3, 7, 11); non-numeric parts end the tuple."""
    parts = []
    for part in (version or '').split('.'):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def check_param_name(option, name):
    if not name or not _PARAM_NAME.match(name):
        raise ModuleError('%s %r is not a Postfix parameter name (letters, digits and _ only)' % (option, name))


def check_service(service):
    if not _SERVICE.match(service or ''):
        raise ModuleError('service %r is not a master.cf service: use name/type, type one of %s (e.g. submission/inet)'
                          % (service, ', '.join(SERVICE_TYPES)))


def check_param_value(value, service=None):
    """A parameter value must be one line; a master.cf -o value must also have no whitespace."""
    if _NEWLINE_OR_CONTROL.search(value):
        raise ModuleError('value for the parameter contains a newline or control character: '
                          'a Postfix parameter value is a single line')
    if service is not None and _WHITESPACE.search(value.strip()):
        raise ModuleError('value for a master.cf -o parameter of %s must not contain whitespace '
                          '(postconf -P cannot write it): join list items with commas, '
                          'or set a main.cf parameter and use $name' % service)


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


def index_paths(map_type, path):
    return [path + suffix for suffix in INDEX_SUFFIXES[map_type]]


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


HEADER = ('# Managed by Ansible (mailstack.sasl_postfix.lookup_table).\n'
          '# Local changes are overwritten; edit the entries in the playbook.\n')


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


# ---------------------------------------------------------------------------
# postconf wrapper
# ---------------------------------------------------------------------------

class Postconf(object):
    """Runs `postconf -c CONFIG_DIR ...` and `postmap -c CONFIG_DIR ...`."""

    def __init__(self, module, config_dir=DEFAULT_CONFIG_DIR):
        self.module = module
        self.config_dir = config_dir or DEFAULT_CONFIG_DIR
        self.binary = find_tool(module, 'postconf', 'postfix')
        if not os.path.isfile(os.path.join(self.config_dir, 'main.cf')):
            raise ModuleError('config_dir %s has no main.cf: not a Postfix configuration directory' % self.config_dir)
        self.main_cf = os.path.join(self.config_dir, 'main.cf')
        self.master_cf = os.path.join(self.config_dir, 'master.cf')

    def run(self, *args):
        """Return (stdout, stderr); raise ModuleError when postconf fails."""
        argv = [self.binary, '-c', self.config_dir] + list(args)
        rc, out, err = run_tool(self.module, argv)
        if rc != 0:
            raise ModuleError('%s failed (rc=%d): %s' % (' '.join(argv), rc, (err or out).strip()))
        return out, err

    # -- main.cf -----------------------------------------------------------

    def lookup(self, name):
        """(known, value in effect) in one postconf call; value is None for an unknown name.

        Known are built-in parameters (postconf -d), per-service parameters of
        master.cf services, and user-defined parameters that main.cf or
        master.cf actually use ($name); postconf warns about anything else.
        """
        out, err = self.run(name)
        if name in unknown_parameters(err):
            return False, None
        return True, parse_assignments(out).get(name)

    def explicit(self, name):
        """The value set in main.cf (postconf -n), or None when main.cf does not set it."""
        out, err = self.run('-n')
        values = unused_parameters(err, self.main_cf)
        values.update(parse_assignments(out))
        return values.get(name)

    def effective(self, name):
        out, dummy = self.run(name)
        return parse_assignments(out).get(name)

    def default(self, name):
        out, dummy = self.run('-d', name)
        return parse_assignments(out).get(name)

    def set(self, name, value):
        self.run('-e', '%s = %s' % (name, value))

    def remove(self, name):
        self.run('-X', name)

    def get_many(self, names, defaults=False):
        args = ['-d'] if defaults else []
        out, dummy = self.run(*(args + list(names)))
        return parse_assignments(out)

    # -- master.cf ---------------------------------------------------------

    def service_exists(self, service):
        out, err = self.run('-M', service)
        return bool(out.strip()) and 'unmatched request' not in err

    def service_param(self, service, name):
        """The -o value of `name` for `service` in master.cf, or None."""
        key = '%s/%s' % (service, name)
        out, dummy = self.run('-P', key)
        return parse_assignments(out).get(key)

    def set_service_param(self, service, name, value):
        self.run('-P', '-e', '%s/%s=%s' % (service, name, value))

    def remove_service_param(self, service, name):
        self.run('-P', '-X', '%s/%s' % (service, name))

    # -- facts -------------------------------------------------------------

    def map_types(self):
        return parse_list(self.run('-m')[0])

    def sasl_server_types(self):
        return parse_list(self.run('-a')[0])

    def sasl_client_types(self):
        return parse_list(self.run('-A')[0])

    def chroot_services(self, mail_version):
        # master(5): the chroot default is n since Postfix 3.0, y before.
        default_chroot = version_tuple(mail_version) < (3, 0)
        return parse_chroot(self.run('-F', '*/*/chroot')[0], default_chroot)

    # -- postmap -----------------------------------------------------------

    def postmap(self, map_type, path):
        binary = find_tool(self.module, 'postmap', 'postfix')
        # -o: keep root privileges for a source owned by another user; without it
        # postmap runs as that owner, who usually cannot write next to the file.
        # The module applies owner/group/mode to the index afterwards.
        argv = [binary, '-o', '-c', self.config_dir, '%s:%s' % (map_type, path)]
        # postmap creates a new index with the source's mode, but keep it
        # private until the module applies the requested mode.
        old_umask = os.umask(0o077)
        try:
            rc, out, err = run_tool(self.module, argv)
        finally:
            os.umask(old_umask)
        if rc != 0:
            raise ModuleError('%s failed (rc=%d): %s' % (' '.join(argv), rc, (err or out).strip()))


def postfix_facts(pc):
    """Everything postfix_info returns, read from the real postconf."""
    names = ['mail_version', 'config_directory', 'queue_directory', 'daemon_directory',
             'data_directory', 'meta_directory', 'default_database_type']
    values = pc.get_many(names)
    facts = dict((name, values.get(name)) for name in names)
    facts['sasl_server_types'] = pc.sasl_server_types()
    facts['sasl_client_types'] = pc.sasl_client_types()
    facts['map_types'] = pc.map_types()
    services = pc.chroot_services(facts['mail_version'])
    facts['services_chroot'] = services
    facts['chroot_services'] = sorted(name for name, chrooted in services.items() if chrooted)
    facts['tls_support'], facts['sasl_support'], facts['makedefs_file'] = build_features(facts['meta_directory'])
    return facts


# Where makedefs.out is: meta_directory upstream (Postfix >= 3.0) and on Debian 12;
# Debian 13 ships it only in /usr/share/postfix.
MAKEDEFS_FALLBACKS = ('/usr/share/postfix',)


def build_features(meta_directory, fallbacks=MAKEDEFS_FALLBACKS):
    """(tls, sasl, path) from the CCARGS recorded in makedefs.out.

    (None, None, None) when no makedefs.out is found: the build options are unknown.
    """
    for directory in (meta_directory or DEFAULT_CONFIG_DIR,) + tuple(fallbacks):
        path = os.path.join(directory, 'makedefs.out')
        try:
            with open(path) as handle:
                text = handle.read()
        except (IOError, OSError):
            continue
        tls, sasl = parse_build_features(text)
        return tls, sasl, path
    return None, None, None


def parse_build_features(text):
    ccargs = ''
    for line in text.splitlines():
        match = re.match(r'^#?\s*CCARGS\s*=(.*)$', line)
        if match:
            ccargs += ' ' + match.group(1)
    flags = ccargs.split()
    return '-DUSE_TLS' in flags, '-DUSE_SASL_AUTH' in flags


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------

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


def is_stale(source, indexes):
    """True when an index file is missing or older than the source."""
    source_mtime = os.stat(source).st_mtime
    for index in indexes:
        if not os.path.exists(index) or os.stat(index).st_mtime < source_mtime:
            return True
    return False


# ---------------------------------------------------------------------------
# Module flows: check -> decide -> act (skipped in check mode) -> report
# ---------------------------------------------------------------------------

def _line(prefix, name, value):
    if value is None:
        return ''
    return ('%s%s = %s' % (prefix, name, value)).rstrip() + '\n'


def run_postconf(module):
    """The postconf module: read, set or reset one main.cf or master.cf parameter."""
    p = module.params
    name, service, state, value = p['name'], p['service'], p['state'], p['value']
    check_param_name('name', name)
    if service is not None:
        check_service(service)
    if value is not None:
        if state == 'absent':
            raise ModuleError('value must not be set with state=absent: the parameter is removed')
        check_param_value(value, service)
        # postconf prints values with each run of whitespace as one space.
        value = ' '.join(value.split())

    pc = Postconf(module, p['config_dir'])
    # Every read happens before the write: postconf keeps re-reading a main.cf or
    # master.cf until it is two seconds old (Postfix load_file), so reading right
    # after writing would cost up to two seconds.
    known, main_value = pc.lookup(name)
    if not p['force'] and not known:
        raise ModuleError('unknown Postfix parameter %r: postconf -d does not know it and nothing in %s uses it '
                          'as a user-defined parameter; check the spelling, or set force=true' % (name, pc.config_dir))
    default = pc.default(name) if known else None
    if service is not None:
        if not pc.service_exists(service):
            raise ModuleError('service %s is not defined in %s' % (service, pc.master_cf))
        before = pc.service_param(service, name)
    else:
        before = pc.explicit(name)

    if state == 'absent':
        after = None
    elif value is None:
        after = before  # read only
    else:
        after = value
    changed = after != before

    if changed and not module.check_mode:
        if service is not None and after is None:
            pc.remove_service_param(service, name)
        elif service is not None:
            pc.set_service_param(service, name, after)
        elif after is None:
            pc.remove(name)
        else:
            pc.set(name, after)

    if after is not None:
        effective = after
    elif service is None and changed:
        effective = default  # what main.cf falls back to once the line is gone
    else:
        effective = main_value  # unset in main.cf, or a service inheriting main.cf
    result = dict(changed=changed, name=name, service=service, value=effective,
                  explicit=after is not None, previous=before, default=default,
                  config_file=pc.master_cf if service else pc.main_cf)
    if module._diff:
        prefix = service + '/' if service else ''
        result['diff'] = dict(before=_line(prefix, name, before), after=_line(prefix, name, after),
                              before_header=result['config_file'], after_header=result['config_file'])
    return result


def run_postfix_info(module):
    pc = Postconf(module, module.params['config_dir'])
    result = postfix_facts(pc)
    result['changed'] = False
    return result


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
    changed = content_changed or needs_postmap
    if content_changed and not module.check_mode:
        write_atomic(module, path, new)

    file_args = module.load_file_common_arguments(module.params, path=path)
    if file_args.get('mode') is None and (secret or old is None):
        file_args['mode'] = '0600' if secret else '0644'
    if os.path.exists(path):
        changed = module.set_fs_attributes_if_different(file_args, changed)

    if needs_postmap and not module.check_mode:
        pc.postmap(map_type, path)
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
