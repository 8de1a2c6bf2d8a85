#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: sasldb_user
short_description: Manage one user in a Cyrus SASL sasldb
version_added: 0.1.0
description:
  - >-
    Adds, updates or removes one user in a Cyrus SASL C(sasldb) database, the user store behind
    C(pwcheck_method: auxprop) with C(auxprop_plugin: sasldb) (for example Postfix C(smtpd) SMTP AUTH).
  - Idempotent on passwords. The stored password is compared in the module, so an unchanged password
    reports C(changed=false). The password is never returned, logged or shown in a diff.
  - The whole database is read with one C(db_dump) call. A change builds a complete new database with
    C(db_load) next to the old one, checks it with Cyrus's C(sasldblistusers2), and renames it over the
    old one. An interrupted run therefore leaves the old or the new database, never a broken one.
  - To manage many users, use M(mailstack.sasl_postfix.sasldb_users). It does the same in one call and
    is much faster than a loop over this module.
author:
  - mailstack.sasl_postfix contributors (@mailstack)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.files
  - mailstack.sasl_postfix.attributes
  - mailstack.sasl_postfix.attributes.files
  - mailstack.sasl_postfix.sasldb
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff lists the users (V(name@realm)) before and after. An updated password is marked, never shown.
  safe_file_operations:
    details:
      - A new database is built in a private directory next to the old one and renamed over it with C(atomic_move).
  idempotent:
    support: full
    details:
      - Passwords included. An unchanged password is found by comparing with the stored one.
options:
  name:
    description:
      - The user name without the realm.
      - Must not be empty. Must not contain V(@), V(:), whitespace or control characters.
    type: str
    required: true
  realm:
    description:
      - The realm (SASL user domain) of the user.
      - If not given, the module uses the realm that C(saslpasswd2) uses without C(-u). That is the
        host's fully qualified name as libsasl2 computes it, lower-cased, or the short host name if
        there is no FQDN. The result returns the realm used.
      - Same character rules as O(name).
    type: str
  password:
    description:
      - The password to store. Required when O(state=present) and the user does not exist yet.
      - If omitted for an existing user, the stored password is kept.
      - Must not be empty or contain a NUL character.
    type: str
  state:
    description:
      - Whether the user should exist.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: mailstack.sasl_postfix.sasldb_users
  - module: mailstack.sasl_postfix.sasldb_info
"""

EXAMPLES = r"""
- name: Add or update a submission user in Postfix's chroot sasldb
  mailstack.sasl_postfix.sasldb_user:
    name: alice
    realm: mail.example.org
    password: "{{ vault_alice_password }}"
    path: /var/spool/postfix/etc/sasldb2
    owner: root
    group: sasl
    mode: "0640"

- name: Create a user but never reset a password the user has changed
  mailstack.sasl_postfix.sasldb_user:
    name: bob
    password: "{{ initial_password }}"
    update_password: on_create

- name: Remove a user
  mailstack.sasl_postfix.sasldb_user:
    name: carol
    realm: mail.example.org
    state: absent
"""

RETURN = r"""
name:
  description: The user name.
  returned: always
  type: str
  sample: alice
realm:
  description: The realm used. With O(realm) omitted, this is the host's default realm.
  returned: always
  type: str
  sample: mail.example.org
path:
  description: The database file written (symlinks resolved).
  returned: always
  type: str
  sample: /var/spool/postfix/etc/sasldb2
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import exit_with_result
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils import _sasldb


def main():
    module = AnsibleModule(
        argument_spec=dict(_sasldb.USER_OPTIONS, **_sasldb.WRITE_OPTIONS),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    exit_with_result(module, _sasldb.run_sasldb_user)


if __name__ == '__main__':
    main()
