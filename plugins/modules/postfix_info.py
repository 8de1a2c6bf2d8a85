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
    whether the build has TLS and SASL support, the main directories, and which C(master.cf) services run chrooted,
    all read from the real C(postconf) command.
author:
  - mailstack.sasl_postfix contributors (@mailstack)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mailstack.sasl_postfix.attributes
  - mailstack.sasl_postfix.attributes.info_module
options:
  config_dir:
    description:
      - Postfix configuration directory (C(postconf -c)).
    type: path
    default: /etc/postfix
seealso:
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
'''

RETURN = r'''
mail_version:
  description: The Postfix version (C(postconf -h mail_version)).
  returned: success
  type: str
  sample: 3.7.11
sasl_server_types:
  description: SASL server plugin types (C(postconf -a)).
  returned: success
  type: list
  elements: str
  sample: [cyrus, dovecot]
sasl_client_types:
  description: SASL client plugin types (C(postconf -A)).
  returned: success
  type: list
  elements: str
  sample: [cyrus]
map_types:
  description: Lookup table types this Postfix supports (C(postconf -m)), dynamically loaded ones included.
  returned: success
  type: list
  elements: str
  sample: [btree, cidr, hash, lmdb, regexp, texthash]
default_database_type:
  description: The default lookup table type (C(default_database_type)).
  returned: success
  type: str
  sample: hash
tls_support:
  description:
    - Whether Postfix was built with TLS (C(-DUSE_TLS) in the C(CCARGS) recorded in C(makedefs.out), see RV(makedefs_file)).
    - Null when no C(makedefs.out) is found (Postfix older than 3.0, or removed).
  returned: success
  type: bool
  sample: true
makedefs_file:
  description:
    - The C(makedefs.out) read for RV(tls_support) and RV(sasl_support), from C(meta_directory) (upstream, Debian 12)
      or C(/usr/share/postfix) (Debian 13); null when none was found.
  returned: success
  type: str
  sample: /etc/postfix/makedefs.out
sasl_support:
  description: Whether Postfix was built with SASL authentication (C(-DUSE_SASL_AUTH) in the same C(CCARGS)), or null.
  returned: success
  type: bool
  sample: true
config_directory:
  description: The configuration directory (C(config_directory)).
  returned: success
  type: str
  sample: /etc/postfix
queue_directory:
  description: The queue directory, also the chroot directory of chrooted services (C(queue_directory)).
  returned: success
  type: str
  sample: /var/spool/postfix
daemon_directory:
  description: Where the Postfix daemons are (C(daemon_directory)).
  returned: success
  type: str
  sample: /usr/lib/postfix/sbin
data_directory:
  description: The data directory (C(data_directory)).
  returned: success
  type: str
  sample: /var/lib/postfix
meta_directory:
  description: The directory of C(makedefs.out), C(postfix-files) and C(dynamicmaps.cf) (C(meta_directory)).
  returned: success
  type: str
  sample: /etc/postfix
chroot_services:
  description: The C(master.cf) services (C(name/type)) that run chrooted in C(queue_directory), sorted.
  returned: success
  type: list
  elements: str
  sample: [smtp/inet, submission/inet, pickup/unix]
services_chroot:
  description:
    - Every C(master.cf) service and whether it runs chrooted (C(postconf -F '*/*/chroot');
      C(-) means the default, C(n) since Postfix 3.0).
  returned: success
  type: dict
  sample: {smtp/inet: true, local/unix: false}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import exit_with_result
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._postfix import run_postfix_info


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config_dir=dict(type='path', default='/etc/postfix'),
        ),
        supports_check_mode=True,
    )
    exit_with_result(module, run_postfix_info)


if __name__ == '__main__':
    main()
