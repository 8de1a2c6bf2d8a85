# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The managed_state module's flow and decisions (private API).

One call converges, in this order: the packages (when one is missing,
nothing else), the self-signed TLS pair, the files, main.cf and master.cf as
a validated pair, the aliases, the services to stop or disable, the files to
remove (after the configuration that named them, and after the units whose
file may be one of them), the users' groups and the other services; then it
says what Postfix needs (postfix_action).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import ModuleError
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._host_state import (
    add_user_groups, ensure_unit, missing_packages)
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._managed_files import converge_files
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._postfix_config import (
    converge_aliases, converge_postfix_config)
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._selfsigned import converge_selfsigned

# The user whose new groups need a restart of Postfix (its processes keep the groups they started with).
POSTFIX_USER = 'postfix'

# Options the action plugin turns into content; present only when the module runs without it.
CONTROLLER_OPTIONS = dict(postfix_config=('main_cf_template', 'master_cf_template'), aliases=('template',))


def is_postfix_unit(name):
    """postfix, postfix.service, postfix@-.service, ...: the units that run Debian's Postfix."""
    return name in ('postfix', 'postfix.service') or name.startswith('postfix@')


def postfix_action(postfix_config=None, aliases=None, tls=None, postfix_groups_added=False, postfix_started=False,
                   files=None):
    """none, reload or restart: what Postfix needs after the changes of one call (the parts' results, or None).

    Starting Postfix reads everything anew; new groups of the postfix user
    and a changed restart parameter need new processes; a changed pair,
    aliases, TLS pair or file (such as the SASL config smtpd reads) a reload.
    """
    if postfix_started:
        return 'none'
    if postfix_groups_added or (postfix_config or {}).get('restart'):
        return 'restart'
    if any((part or {}).get('changed') for part in (postfix_config, aliases, tls, files)):
        return 'reload'
    return 'none'


def check_controller_options(params):
    for option, names in CONTROLLER_OPTIONS.items():
        for name in names:
            if (params.get(option) or {}).get(name) is not None:
                raise ModuleError('%s.%s is rendered by the managed_state action plugin on the controller; run '
                                  'mailstack.sasl_postfix.managed_state as a task, or give the content' % (option, name))


def hide_secrets(module, items):
    """Keep the content of secret files out of everything the module returns (the invocation included)."""
    for item in items:
        if item.get('secret') and item.get('content'):
            module.no_log_values.add(item['content'])


def without_secret_contents(params):
    """A copy of the parameters in which the content of each secret file is replaced by NOT_LOGGING_PARAMETER."""
    files = []
    for item in params.get('files') or []:
        if item.get('secret') and item.get('content') is not None:
            item = dict(item, content='NOT_LOGGING_PARAMETER')
        files.append(item)
    return dict(params, files=files)


def _part(spec, drop=()):
    return dict((key, value) for key, value in spec.items() if key not in drop)


def stops_first(item):
    """Whether a `services` item stops or disables its unit. Those come before the files to remove: the unit's own
    file may be one of them, and systemctl cannot disable a unit whose file is gone (its symlinks would stay)."""
    return item.get('state') == 'stopped' or item.get('enabled') is False


def converge_services(module, items, check_mode, result):
    """Bring each unit of `items` to its wanted state, noted in result['services']; returns the units started."""
    started = []
    for item in items:
        unit = ensure_unit(module, item['name'], item['state'], item['enabled'], check_mode)
        result['services'][item['name']] = unit
        result['changed'] = result['changed'] or unit['changed']
        if unit['started']:
            started.append(item['name'])
    return started


def run_managed_state(module):
    """packages -> tls_selfsigned -> files -> postfix_config -> aliases -> services to stop or disable -> files to
    remove -> groups -> the other services."""
    p, check_mode = module.params, module.check_mode
    hide_secrets(module, p['files'])
    check_controller_options(p)
    missing = missing_packages(module, p['packages'])
    if missing:
        return dict(changed=False, packages_missing=missing)

    result = dict(changed=False, packages_missing=[])
    diff = []

    def take(key, part):
        diff.extend(part.pop('diff', None) or [])
        result['changed'] = result['changed'] or bool(part.get('changed'))
        result[key] = part
        return part

    tls = None
    if p['tls_selfsigned']:
        tls = take('tls', converge_selfsigned(module, dict(p['tls_selfsigned']), check_mode))
    # What is to go is removed after the configuration that may name it.
    present = [item for item in p['files'] if item['state'] != 'absent']
    absent = [item for item in p['files'] if item['state'] == 'absent']
    files = converge_files(module, present, check_mode)
    config = aliases = None
    if p['postfix_config']:
        spec = _part(p['postfix_config'], CONTROLLER_OPTIONS['postfix_config'])
        config = take('postfix_config', converge_postfix_config(module, spec, check_mode))
    if p['aliases']:
        spec = _part(p['aliases'], CONTROLLER_OPTIONS['aliases'])
        spec['maps'] = spec.get('maps') or ['hash:%s' % spec['path']]
        aliases = take('aliases', converge_aliases(module, spec, check_mode))
    result['services'] = {}
    started = converge_services(module, [item for item in p['services'] if stops_first(item)], check_mode, result)
    removed = converge_files(module, absent, check_mode)
    files = dict(changed=files['changed'] or removed['changed'], files=dict(files['files'], **removed['files']),
                 diff=files['diff'] + removed['diff'])
    diff.extend(files['diff'])
    result['changed'] = result['changed'] or files['changed']
    result['files'] = files['files']

    result['groups_changed'] = []
    postfix_groups_added = False
    for item in p['groups']:
        added = add_user_groups(module, item['user'], item['groups'], check_mode)
        result['groups_changed'].extend('%s: +%s' % (item['user'], group) for group in added)
        postfix_groups_added = postfix_groups_added or (item['user'] == POSTFIX_USER and bool(added))
    result['changed'] = result['changed'] or bool(result['groups_changed'])

    started += converge_services(module, [item for item in p['services'] if not stops_first(item)], check_mode, result)
    postfix_started = any(is_postfix_unit(name) for name in started)

    result['postfix_action'] = postfix_action(config, aliases, tls, postfix_groups_added, postfix_started, files)
    if module._diff:
        result['diff'] = diff
    return result
