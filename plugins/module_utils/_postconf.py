# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Postfix's postconf command for the postconf and postfix_info modules (private API).

The postconf wrapper, the parsers of its output, the checks of parameter and
service names, and the flows of the two modules. Pure functions take no
module and are unit-tested directly. The lookup_table module builds on the
wrapper (see _lookup_table.py).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import (
    TOOL_DIRS, ModuleError, find_tool, is_stale, run_tool)

DEFAULT_CONFIG_DIR = '/etc/postfix'

# The config_dir option of every Postfix module; documented by the
# mailstack.sasl_postfix.postfix doc fragment.
CONFIG_DIR_OPTION = dict(config_dir=dict(type='path', default=DEFAULT_CONFIG_DIR))

# master.cf service types (master(5)).
SERVICE_TYPES = ('inet', 'unix', 'unix-dgram', 'fifo', 'pass')

# Map types that postmap (and postalias) build into an indexed file, with the files they write.
INDEX_SUFFIXES = {
    'hash': ('.db',),
    'btree': ('.db',),
    'lmdb': ('.lmdb',),
    'cdb': ('.cdb',),
    'dbm': ('.dir', '.pag'),
    'sdbm': ('.dir', '.pag'),
}

_PARAM_NAME = re.compile(r'^[A-Za-z0-9_]+\Z')
_SERVICE = re.compile(r'^([^/\s]+)/(%s)\Z' % '|'.join(re.escape(t) for t in SERVICE_TYPES))
_ASSIGNMENT = re.compile(r'^(\S+) =(?: (.*))?$')
_UNKNOWN = re.compile(r'warning: (\S+): unknown parameter')
_UNUSED = re.compile(r'warning: (\S+): unused parameter: ([A-Za-z0-9_]+)=(.*)$', re.M)
_NEWLINE_OR_CONTROL = re.compile(r'[\x00-\x08\x0a-\x1f\x7f]')
_WHITESPACE = re.compile(r'\s')


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


def parse_services(text, default_chroot=False):
    """Parse `postconf -F` into {'name/type': {'command': program, 'chroot': bool}}.

    `command` is the program without its arguments (smtpd, pickup, ...); a
    chroot field of '-' means the default.
    """
    services = {}
    for field, value in parse_assignments(text).items():
        parts = field.rsplit('/', 2)
        if len(parts) != 3:
            continue
        service = services.setdefault(parts[0] + '/' + parts[1], {'command': None, 'chroot': default_chroot})
        if parts[2] == 'chroot' and value != '-':
            service['chroot'] = value.lower() in ('y', 'yes')
        elif parts[2] == 'command':
            service['command'] = value.split()[0] if value.split() else ''
    return services


def parse_chroot(text, default_chroot=False):
    """Parse `postconf -F` into {'name/type': bool}; '-' means the default."""
    return dict((name, service['chroot']) for name, service in parse_services(text, default_chroot).items())


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


def index_paths(map_type, path):
    """The files postmap writes for `map_type:path` ([] for a type without an index file)."""
    return [path + suffix for suffix in INDEX_SUFFIXES.get(map_type, ())]


def table_state(table):
    """What postfix_info reports for one `type:name` table: its index files and whether they are there."""
    map_type, sep, path = table.partition(':')
    if not sep or not map_type or not path:
        raise ModuleError('tables: %r is not a Postfix table of the form type:name' % table)
    indexes = index_paths(map_type, path)
    present = all(os.path.exists(index) for index in indexes)
    return dict(type=map_type, path=path, indexed=bool(indexes), index_files=indexes, index_present=present,
                index_current=present and (not indexes or not os.path.exists(path) or not is_stale(path, indexes)))


# ---------------------------------------------------------------------------
# postconf wrapper
# ---------------------------------------------------------------------------

class Postconf(object):
    """Runs `postconf -c CONFIG_DIR ...`."""

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
        dummy, out, err = run_tool(self.module, [self.binary, '-c', self.config_dir] + list(args), check_rc=True)
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

    def services(self, mail_version):
        # master(5): the chroot default is n since Postfix 3.0, y before.
        default_chroot = version_tuple(mail_version) < (3, 0)
        return parse_services(self.run('-F')[0], default_chroot)


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


FACT_PARAMETERS = ('mail_version', 'config_directory', 'queue_directory', 'daemon_directory',
                   'data_directory', 'meta_directory', 'default_database_type')


def postfix_facts(pc, parameters=(), tables=()):
    """Everything postfix_info returns, read from the real postconf.

    `parameters`: more main.cf parameters whose values in effect are returned;
    `tables`: `type:name` tables whose index files are looked at.
    """
    for name in parameters:
        check_param_name('parameters', name)
    states = dict((table, table_state(table)) for table in tables)
    values = pc.get_many(list(FACT_PARAMETERS) + [name for name in parameters if name not in FACT_PARAMETERS])
    facts = dict((name, values.get(name)) for name in FACT_PARAMETERS)
    facts['parameters'] = dict((name, values.get(name)) for name in parameters)
    facts['tables'] = states
    facts['sasl_server_types'] = pc.sasl_server_types()
    facts['sasl_client_types'] = pc.sasl_client_types()
    facts['map_types'] = pc.map_types()
    services = pc.services(facts['mail_version'])
    facts['services'] = services
    facts['services_chroot'] = dict((name, service['chroot']) for name, service in services.items())
    facts['chroot_services'] = sorted(name for name, service in services.items() if service['chroot'])
    facts['tls_support'], facts['sasl_support'], facts['makedefs_file'] = build_features(facts['meta_directory'])
    return facts


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


def postfix_presence(postconf_path, config_dir):
    """Whether there is a Postfix to read: its postconf (a path, or None) and a main.cf in `config_dir`."""
    main_cf = os.path.join(config_dir or DEFAULT_CONFIG_DIR, 'main.cf')
    return dict(installed=bool(postconf_path), main_cf_exists=os.path.isfile(main_cf))


def run_postfix_info(module):
    """The postfix_info module: facts only, nothing changes.

    With allow_missing, a host without postconf or without main.cf is
    reported (installed, main_cf_exists) instead of failing the task.
    """
    p = module.params
    presence = postfix_presence(module.get_bin_path('postconf', opt_dirs=TOOL_DIRS), p['config_dir'])
    if p['allow_missing'] and not (presence['installed'] and presence['main_cf_exists']):
        return dict(presence, changed=False)
    pc = Postconf(module, p['config_dir'])
    result = postfix_facts(pc, p['parameters'], p['tables'])
    result.update(presence, changed=False)
    return result
