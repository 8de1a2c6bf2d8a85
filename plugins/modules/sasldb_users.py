#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: sasldb_users
short_description: Manage many users of a Cyrus SASL sasldb in one call
version_added: 0.1.0
description:
  - Adds, updates and removes many users of a Cyrus SASL C(sasldb) database in one task. With
    O(exclusive=true) it also removes every user that is not listed.
  - It reads the database once, compares passwords in the module and writes at most one new database.
    An idempotent run over 10,000 users takes a few seconds, and no process is started per user.
  - Passwords are never returned, logged or shown in a diff.
  - Writes are atomic. The new database is built with C(db_load) next to the old one, checked with
    Cyrus's C(sasldblistusers2), and renamed over the old one.
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
      - The diff lists the users (V(name@realm)) before and after. Updated passwords are marked, never shown.
  safe_file_operations:
    details:
      - A new database is built in a private directory next to the old one and renamed over it with C(atomic_move).
  idempotent:
    support: full
    details:
      - Passwords included. An unchanged password is found by comparing with the stored one.
options:
  users:
    description:
      - The users to manage. A V(name@realm) pair may appear only once.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The user name without the realm. Must not be empty. Must not contain V(@), V(:), whitespace or
            control characters.
        type: str
        required: true
      realm:
        description:
          - The realm. If not given, the module uses the realm C(saslpasswd2) uses without C(-u), the
            host's fully qualified name as libsasl2 computes it. That realm is returned in RV(default_realm).
        type: str
      password:
        description:
          - The password. Required for a user that does not exist yet. If omitted for an existing user,
            the stored password is kept.
        type: str
      state:
        description:
          - Whether the user should exist.
        type: str
        choices: [present, absent]
        default: present
  exclusive:
    description:
      - Remove every user in the database that is not listed in O(users).
      - With O(exclusive=true) and an empty O(users), every user is removed.
    type: bool
    default: false
  create:
    description:
      - Whether a missing database is created.
      - With V(false), a missing database fails the task with a message naming it, and nothing is written; in
        check mode the module reports what it would do to an empty database instead, because an earlier task of
        the same run (the cyrus_sasl role) may create it.
    type: bool
    default: true
    version_added: 0.2.0
notes:
  - If no user is to be added, the module does not create the file.
seealso:
  - module: mailstack.sasl_postfix.sasldb_user
  - module: mailstack.sasl_postfix.sasldb_info
"""

EXAMPLES = r"""
- name: Provision all submission users; remove everyone else
  mailstack.sasl_postfix.sasldb_users:
    path: /var/spool/postfix/etc/sasldb2
    owner: root
    group: sasl
    mode: "0640"
    exclusive: true
    users: "{{ mail_users | map('combine', {'realm': 'mail.example.org'}) }}"
  no_log: true  # the users list holds passwords; the module never returns them

- name: Add two users, remove one
  mailstack.sasl_postfix.sasldb_users:
    users:
      - name: alice
        realm: example.org
        password: "{{ vault_alice }}"
      - name: bob
        realm: example.org
        password: "{{ vault_bob }}"
      - name: mallory
        realm: example.org
        state: absent
"""

RETURN = r"""
added:
  description: Users created, as V(name@realm).
  returned: always
  type: list
  elements: str
  sample: [alice@example.org]
updated:
  description: Users whose password was changed, as V(name@realm).
  returned: always
  type: list
  elements: str
  sample: [bob@example.org]
removed:
  description: Users deleted, as V(name@realm). These are users listed as absent and, with O(exclusive), unlisted users.
  returned: always
  type: list
  elements: str
  sample: [mallory@example.org]
default_realm:
  description: The default realm given to users without O(users[].realm). Null if every user had a realm.
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
        argument_spec=dict(
            # no_log on the whole list keeps it out of the host's log; see _sasldb.quiet_no_log
            users=dict(type='list', elements='dict', required=True, no_log=True, options=_sasldb.USER_OPTIONS),
            exclusive=dict(type='bool', default=False),
            create=dict(type='bool', default=True),
            **_sasldb.WRITE_OPTIONS
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    invocation = _sasldb.quiet_no_log(module, 'users')
    exit_with_result(module, lambda m: _sasldb.run_sasldb_users(m, invocation), invocation=invocation)


if __name__ == '__main__':
    main()
