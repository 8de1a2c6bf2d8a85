# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the host has beside Postfix, for managed_state (private API).

Debian packages (as dpkg lists them), a user's groups, systemd units' states
and the state of a path: the live state a role would otherwise read with one
task each; and the two changes managed_state makes to it (a user's groups, a
unit's state). Parsers and decisions are pure functions, unit-tested directly.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import grp
import hashlib
import os
import pwd
import stat

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import ModuleError, find_tool, run_tool

DPKG_STATUS_FORMAT = '${Package} ${db:Status-Status}\n'


def installed_packages(dpkg_output):
    """The names dpkg-query printed as "NAME installed" (not config-files, half-installed...)."""
    names = set()
    for line in dpkg_output.splitlines():
        name, _sep, status = line.partition(' ')
        if status.strip() == 'installed':
            names.add(name)
    return names


def missing_packages(module, names):
    """The packages of `names` that dpkg does not list as installed, in the order given.

    A name dpkg does not know (dpkg-query exits 1), or one written with a
    version or an architecture, counts as missing: apt decides about it.
    """
    if not names:
        return []
    dpkg_query = find_tool(module, 'dpkg-query', 'dpkg')
    rc, out, err = run_tool(module, [dpkg_query, '--show', '--showformat=' + DPKG_STATUS_FORMAT] + list(names))
    if rc not in (0, 1):
        raise ModuleError('dpkg-query --show %s failed (rc=%d): %s' % (' '.join(names), rc, err.strip()))
    installed = installed_packages(out)
    return [name for name in names if name not in installed]


def account_name(lookup, number):
    """The name of a user or group id (lookup: pwd.getpwuid or grp.getgrgid); the number when the host has none."""
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def user_groups(name):
    """{exists, primary_group, groups (supplementary, sorted)} of a local user."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return dict(exists=False)
    groups = sorted(group.gr_name for group in grp.getgrall() if name in group.gr_mem)
    return dict(exists=True, primary_group=account_name(grp.getgrgid, entry.pw_gid), groups=groups)


def unit_state(module, unit):
    """{active, enabled} of a systemd unit as systemctl is-active/is-enabled print them; None without systemctl."""
    systemctl = module.get_bin_path('systemctl')
    if not systemctl:
        return None
    state = {}
    for key, verb in (('active', 'is-active'), ('enabled', 'is-enabled')):
        out = run_tool(module, [systemctl, verb, unit])[1]
        state[key] = out.strip() or 'unknown'
    return state


def file_state(path, checksum=True):
    """The state of one path (not followed when a symlink), as postfix_info reports it.

    exists; and when it exists: type (file, directory, link or other), mode
    (four octal digits), owner and group (names, or numbers without a name),
    checksum (SHA-1 of a regular file, as ansible.builtin.stat reports it;
    left out without `checksum`) and link_target (of a symlink).
    """
    if not path or not os.path.isabs(path):
        raise ModuleError('files: %r is not an absolute path' % path)
    try:
        info = os.lstat(path)
    except OSError:
        return dict(exists=False)
    result = dict(exists=True, mode='%04o' % stat.S_IMODE(info.st_mode),
                  owner=account_name(pwd.getpwuid, info.st_uid), group=account_name(grp.getgrgid, info.st_gid))
    if stat.S_ISREG(info.st_mode):
        result['type'] = 'file'
        if checksum:
            result['checksum'] = _sha1(path)
    elif stat.S_ISDIR(info.st_mode):
        result['type'] = 'directory'
    elif stat.S_ISLNK(info.st_mode):
        result.update(type='link', link_target=os.readlink(path))
    else:
        result['type'] = 'other'
    return result


def _sha1(path):
    digest = hashlib.sha1()
    try:
        with open(path, 'rb') as handle:
            for block in iter(lambda: handle.read(65536), b''):
                digest.update(block)
    except (IOError, OSError) as exc:
        raise ModuleError('cannot read %s: %s' % (path, exc))
    return digest.hexdigest()


# --- changes ------------------------------------------------------------------

def groups_to_add(state, wanted):
    """The groups of `wanted` a user is not in yet (neither its primary group nor a supplementary one), in order.

    `state` is what user_groups returns.
    """
    have = set(state.get('groups', ())) | set([state.get('primary_group')])
    added = []
    for group in wanted:
        if group not in have and group not in added:
            added.append(group)
    return added


def add_user_groups(module, user, groups, check_mode):
    """Append `groups` to the supplementary groups of `user` (usermod -a -G); return the groups added.

    In check mode the groups that would be added are returned and nothing changes.
    """
    state = user_groups(user)
    if not state['exists']:
        raise ModuleError('groups: user %s does not exist on the host' % user)
    for group in groups:
        try:
            grp.getgrnam(group)
        except KeyError:
            raise ModuleError('groups: group %s (for user %s) does not exist on the host' % (group, user))
    added = groups_to_add(state, groups)
    if added and not check_mode:
        usermod = find_tool(module, 'usermod', 'passwd')
        run_tool(module, [usermod, '-a', '-G', ','.join(added), user], check_rc=True)
    return added


# systemctl is-active states in which a unit runs or is about to; is-enabled
# states for which there is nothing to enable (static units cannot be).
RUNNING_STATES = ('active', 'activating', 'reloading', 'refreshing')
ENABLED_STATES = ('enabled', 'enabled-runtime', 'static', 'alias', 'indirect', 'generated', 'transient')


def unit_actions(name, active, enabled, want_state, want_enabled):
    """The systemctl verbs that bring a unit from (active, enabled) to the wanted state, in order.

    `active` and `enabled` are what systemctl is-active/is-enabled print;
    `want_state` started, stopped or None (left alone), `want_enabled` a bool
    or None (left alone).
    """
    if (want_state == 'started' or want_enabled) and enabled in ('not-found', 'masked', 'masked-runtime'):
        raise ModuleError('services: unit %s cannot be %s: systemctl is-enabled says %s'
                          % (name, 'started' if want_state == 'started' else 'enabled', enabled))
    verbs = []
    running = active in RUNNING_STATES
    if want_state == 'started' and not running:
        verbs.append('start')
    elif want_state == 'stopped' and running:
        verbs.append('stop')
    if want_enabled is True and enabled not in ENABLED_STATES:
        verbs.append('enable')
    elif want_enabled is False and enabled in ('enabled', 'enabled-runtime'):
        verbs.append('disable')
    return verbs


def ensure_unit(module, name, state, enabled, check_mode):
    """Start or stop, enable or disable a systemd unit as asked; return {changed, started}.

    `started` is true when this call started the unit (or would, in check mode).
    """
    systemctl = find_tool(module, 'systemctl', 'systemd')
    live = unit_state(module, name)
    verbs = unit_actions(name, live['active'], live['enabled'], state, enabled)
    if not check_mode:
        for verb in verbs:
            run_tool(module, [systemctl, verb, name], check_rc=True)
    return dict(changed=bool(verbs), started='start' in verbs)
