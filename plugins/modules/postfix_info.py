#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: postfix_info
short_description: Report what the host's Postfix supports and where it keeps things
version_added: 0.1.0
description:
  - Returns the Postfix version, the SASL server and client plugin types, the lookup table types,
    whether the build has TLS and SASL support, the main directories, the C(master.cf) services (program and chroot),
    all read from the real C(postconf) command.
  - On request also the values of more parameters (O(parameters)) and whether the index files of lookup tables are
    there (O(tables)), so that a role reads the live state once instead of parsing C(postconf) output itself.
  - It answers questions about Postfix only. Host state (Debian packages, users' groups, systemd units, files) is
    asked through M(mailstack.sasl_postfix.managed_state) (its C(packages) option for the packages); the options
    that read it here (C(packages), C(users), C(systemd_units), C(files), C(secret_files)) were removed before
    0.2.0 was released.
author:
  - mailstack.sasl_postfix contributors (@mailstack)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mailstack.sasl_postfix.attributes
  - mailstack.sasl_postfix.attributes.info_module
  - mailstack.sasl_postfix.postfix
options:
  parameters:
    description:
      - More C(main.cf) parameters whose values in effect (C(postconf name ...)) are returned in RV(parameters),
        for example V(inet_interfaces).
    type: list
    elements: str
    default: []
    version_added: 0.2.0
  tables:
    description:
      - Lookup tables, as V(type:name) (for example V(hash:/etc/aliases)), whose index files are looked at and
        returned in RV(tables). Nothing is built; use M(mailstack.sasl_postfix.lookup_table) or C(postalias) for that.
    type: list
    elements: str
    default: []
    version_added: 0.2.0
  allow_missing:
    description:
      - When V(true), a host without Postfix (no C(postconf) command) or without C(main.cf) in O(config_dir) is not an
        error. The module then returns only RV(installed) and RV(main_cf_exists); this is how a role asks
        whether Postfix is installed.
      - When V(false), such a host fails the task with a message saying what is missing.
    type: bool
    default: false
    version_added: 0.2.0
seealso:
  - module: mailstack.sasl_postfix.managed_state
  - module: mailstack.sasl_postfix.postconf
  - module: mailstack.sasl_postfix.lookup_table
'''

EXAMPLES = r'''
- name: Learn what this Postfix supports
  mailstack.sasl_postfix.postfix_info:
  register: postfix

- name: Stop early when the SASL client cannot work
  ansible.builtin.assert:
    that:
      - "'cyrus' in postfix.sasl_client_types"
      - postfix.tls_support

- name: Use the host's default table type
  mailstack.sasl_postfix.lookup_table:
    path: /etc/postfix/sasl_passwd
    type: "{{ postfix.default_database_type }}"
    entries: "{{ sender_relays }}"

- name: Find out where smtpd runs and whether the aliases index is there
  mailstack.sasl_postfix.postfix_info:
    parameters: [inet_interfaces]
    tables: [hash:/etc/aliases]
  register: postfix

- name: Rebuild the aliases index when it is missing
  ansible.builtin.command: newaliases
  when: not postfix.tables['hash:/etc/aliases'].index_present

- name: Learn whether Postfix is installed and configured, without failing on a new host
  mailstack.sasl_postfix.postfix_info:
    allow_missing: true
  register: postfix

- name: Say what is missing
  ansible.builtin.debug:
    msg: "postconf found: {{ postfix.installed }}, main.cf: {{ postfix.main_cf_exists }}"
  when: not (postfix.installed and postfix.main_cf_exists)
'''

RETURN = r'''
installed:
  description: Whether the C(postconf) command was found (in the C(PATH), C(/usr/sbin), C(/sbin) or C(/usr/local/sbin)).
  returned: always
  type: bool
  version_added: 0.2.0
  sample: true
main_cf_exists:
  description: Whether O(config_dir) has a C(main.cf).
  returned: always
  type: bool
  version_added: 0.2.0
  sample: true
mail_version:
  description: The Postfix version (C(postconf -h mail_version)).
  returned: when Postfix was read (always, unless O(allow_missing) found none)
  type: str
  sample: 3.7.11
sasl_server_types:
  description: SASL server plugin types (C(postconf -a)).
  returned: when Postfix was read (always, unless O(allow_missing) found none)
  type: list
  elements: str
  sample: [cyrus, dovecot]
sasl_client_types:
  description: SASL client plugin types (C(postconf -A)).
  returned: when Postfix was read (always, unless O(allow_missing) found none)
  type: list
  elements: str
  sample: [cyrus]
map_types:
  description: Lookup table types this Postfix supports (C(postconf -m)), dynamically loaded ones included.
  returned: when Postfix was read (always, unless O(allow_missing) found none)
  type: list
  elements: str
  sample: [btree, cidr, hash, lmdb, regexp, texthash]
default_database_type:
  description: The default lookup table type (C(default_database_type)).
  returned: when Postfix was read (always, unless O(allow_missing) found none)
  type: str
  sample: hash
tls_support:
  description:
    - Whether Postfix was built with TLS (C(-DUSE_TLS) in the C(CCARGS) recorded in C(makedefs.out), see RV(makedefs_file)).
    - Null when no C(makedefs.out) is found (Postfix older than 3.0, or removed).
  returned: when Postfix was read (always, unless O(allow_missing) found none)
  type: bool
  sample: true
makedefs_file:
  description:
    - The C(makedefs.out) read for RV(tls_support) and RV(sasl_support), from C(meta_directory) (upstream, Debian 12)
      or C(/usr/share/postfix) (Debian 13); null when none was found.
  returned: when Postfix was read (always, unless O(allow_missing) found none)
  type: str
  sample: /etc/postfix/makedefs.out
sasl_support:
  description: Whether Postfix was built with SASL authentication (C(-DUSE_SASL_AUTH) in the same C(CCARGS)), or null.
  returned: when Postfix was read (always, unless O(allow_missing) found none)
  type: bool
  sample: true
config_directory:
  description: The configuration directory (C(config_directory)).
  returned: when Postfix was read (always, unless O(allow_missing) found none)
  type: str
  sample: /etc/postfix
queue_directory:
  description: The queue directory, also the chroot directory of chrooted services (C(queue_directory)).
  returned: when Postfix was read (always, unless O(allow_missing) found none)
  type: str
  sample: /var/spool/postfix
daemon_directory:
  description: Where the Postfix daemons are (C(daemon_directory)).
  returned: when Postfix was read (always, unless O(allow_missing) found none)
  type: str
  sample: /usr/lib/postfix/sbin
data_directory:
  description: The data directory (C(data_directory)).
  returned: when Postfix was read (always, unless O(allow_missing) found none)
  type: str
  sample: /var/lib/postfix
meta_directory:
  description: The directory of C(makedefs.out), C(postfix-files) and C(dynamicmaps.cf) (C(meta_directory)).
  returned: when Postfix was read (always, unless O(allow_missing) found none)
  type: str
  sample: /etc/postfix
chroot_services:
  description: The C(master.cf) services (C(name/type)) that run chrooted in C(queue_directory), sorted.
  returned: when Postfix was read (always, unless O(allow_missing) found none)
  type: list
  elements: str
  sample: [smtp/inet, submission/inet, pickup/unix]
services:
  description:
    - Every C(master.cf) service (C(name/type)) with its program (C(command), without arguments) and whether it
      runs chrooted (C(chroot); C(-) in C(master.cf) means the default, C(n) since Postfix 3.0), from C(postconf -F).
  returned: when Postfix was read (always, unless O(allow_missing) found none)
  type: dict
  version_added: 0.2.0
  sample: {smtp/inet: {command: smtpd, chroot: true}, local/unix: {command: local, chroot: false}}
parameters:
  description: The values in effect of the parameters named in O(parameters); null for a name C(postconf) does not know.
  returned: when Postfix was read (always, unless O(allow_missing) found none)
  type: dict
  version_added: 0.2.0
  sample: {inet_interfaces: all, inet_protocols: all}
tables:
  description:
    - For each table of O(tables), keyed by the name as given.
    - C(type) and C(path) split from it; C(indexed) whether C(postmap) builds an index file for that type;
      C(index_files) those files; C(index_present) whether all of them exist (true for a type without index file);
      C(index_current) whether they also are not older than the source file.
  returned: when Postfix was read (always, unless O(allow_missing) found none)
  type: dict
  version_added: 0.2.0
  sample: {"hash:/etc/aliases": {type: hash, path: /etc/aliases, indexed: true, index_files: [/etc/aliases.db],
           index_present: true, index_current: true}}
services_chroot:
  description:
    - Every C(master.cf) service and whether it runs chrooted (C(postconf -F '*/*/chroot');
      C(-) means the default, C(n) since Postfix 3.0).
  returned: when Postfix was read (always, unless O(allow_missing) found none)
  type: dict
  sample: {smtp/inet: true, local/unix: false}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import exit_with_result
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._postconf import CONFIG_DIR_OPTION, run_postfix_info


def main():
    module = AnsibleModule(
        argument_spec=dict(
            parameters=dict(type='list', elements='str', default=[]),
            tables=dict(type='list', elements='str', default=[]),
            allow_missing=dict(type='bool', default=False),
            **CONFIG_DIR_OPTION
        ),
        supports_check_mode=True,
    )
    exit_with_result(module, run_postfix_info)


if __name__ == '__main__':
    main()
