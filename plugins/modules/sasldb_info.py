#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: sasldb_info
short_description: List the users of a Cyrus SASL sasldb
version_added: 0.1.0
description:
  - Returns the users (name and realm) stored in a Cyrus SASL C(sasldb) database. Nothing secret is
    returned.
  - Reads the database with one C(db_dump) call and never changes it.
author:
  - mailstack.sasl_postfix contributors (@mailstack)
requirements:
  - C(db_dump) on the managed host (Debian package C(db-util)).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mailstack.sasl_postfix.attributes
  - mailstack.sasl_postfix.attributes.info_module
options:
  path:
    description:
      - The sasldb file. If it does not exist, the module returns no users and RV(exists=false).
    type: path
    default: /etc/sasldb2
seealso:
  - module: mailstack.sasl_postfix.sasldb_user
  - module: mailstack.sasl_postfix.sasldb_users
"""

EXAMPLES = r"""
- name: Read the users of Postfix's sasldb
  mailstack.sasl_postfix.sasldb_info:
    path: /var/spool/postfix/etc/sasldb2
  register: sasldb

- name: Show them
  ansible.builtin.debug:
    msg: "{{ sasldb.users | map(attribute='name') | list }}"
"""

RETURN = r"""
users:
  description: The users, sorted by name and realm.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: User name.
      type: str
      returned: always
      sample: alice
    realm:
      description: Realm.
      type: str
      returned: always
      sample: mail.example.org
  sample: [{name: alice, realm: mail.example.org}]
exists:
  description: Whether the database file exists.
  returned: always
  type: bool
  sample: true
path:
  description: The database file read (symlinks resolved).
  returned: always
  type: str
  sample: /etc/sasldb2
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import exit_with_result
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils import _sasldb


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', default=_sasldb.DEFAULT_PATH),
        ),
        supports_check_mode=True,
    )
    exit_with_result(module, _sasldb.run_sasldb_info)


if __name__ == '__main__':
    main()
