#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: lookup_table
short_description: Manage a Postfix lookup table and its postmap index
version_added: 0.1.0
description:
  - Writes the source file of an indexed Postfix lookup table (C(hash), C(lmdb), C(cdb), C(btree), ...)
    atomically and runs C(postmap type:path) when the content changed or the indexed file
    (C(path.db), C(path.lmdb), C(path.cdb), ...) is missing or older than the source.
  - With O(state=present) and O(exclusive=true) (the default) the file holds exactly O(entries),
    in the given order, below a two-line comment saying the file is managed; anything else in the file is replaced.
  - With O(state=present) and O(exclusive=false) the keys of O(entries) are added or updated in place;
    other keys, comments and blank lines stay.
  - With O(state=absent) and O(keys) those keys are removed and the rest of the file stays;
    with O(state=absent) and no O(keys) the source file and its indexed files are removed.
  - Keys and values are checked before anything changes; a key with whitespace or a control character,
    a key starting with C(#), a value with a newline or control character, an empty value,
    a value with leading or trailing whitespace (postmap would strip it) or two keys that differ only in case
    (postmap folds keys to lower case) fail the task and leave the files untouched.
  - Error messages name the key, never the value.
requirements:
  - C(postconf) and C(postmap) on the managed host (Debian package C(postfix)).
  - For O(type=lmdb) or O(type=cdb), the Debian package C(postfix-lmdb) or C(postfix-cdb).
author:
  - mailstack.sasl_postfix contributors (@mailstack)
extends_documentation_fragment:
  - ansible.builtin.files
  - ansible.builtin.action_common_attributes
  - mailstack.sasl_postfix.attributes
  - mailstack.sasl_postfix.attributes.files
  - mailstack.sasl_postfix.postfix
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the source file. With O(secret=true) every value is replaced by C(********),
        and C(******** (changed)) marks a value that is added or changed.
  idempotent:
    support: full
options:
  path:
    description:
      - Absolute path of the table's source file, for example C(/etc/postfix/sasl_passwd).
      - The indexed file is written next to it by C(postmap); its name depends on O(type).
      - The directory must exist.
    type: path
    required: true
  entries:
    description:
      - The table's entries, either a dictionary of key to value, or a list of dictionaries with C(key) and C(value).
        A list keeps its order, which matters to the reader of the file only (postmap keys are unique).
        A JSON string of either form is accepted too (for ad-hoc C(-a) arguments).
      - Ansible does not template dictionary keys; when a key comes from a variable, use the list form.
      - Values are strings; numbers are written as they print; booleans are refused (quote C(yes)/C(no) in YAML).
      - Required with O(state=present), not allowed with O(state=absent).
    type: raw
  keys:
    description:
      - Keys to remove with O(state=absent). Matched case-insensitively, as postmap folds keys to lower case.
      - When omitted with O(state=absent), the whole table (source and indexed files) is removed.
    type: list
    elements: str
  exclusive:
    description:
      - With O(state=present), whether the file holds exactly O(entries) (V(true)) or O(entries) are merged
        into the existing file (V(false)).
    type: bool
    default: true
  state:
    description:
      - V(present) writes O(entries); V(absent) removes O(keys), or the whole table.
    type: str
    choices: [present, absent]
    default: present
  type:
    description:
      - Postfix map type of the indexed file, one that C(postmap) builds and C(postconf -m) lists,
        that is V(hash), V(btree), V(lmdb), V(cdb), V(dbm) or V(sdbm).
      - Defaults to the host's C(default_database_type) (C(postconf -h default_database_type)).
      - V(lmdb) and V(cdb) need the Debian packages C(postfix-lmdb) and C(postfix-cdb).
    type: str
  file_values:
    description:
      - Each value names files, by absolute path, separated by commas or blanks, and the index holds their content
        instead (C(postmap -F), Postfix 3.4 and later), as C(tls_server_sni_maps) wants, for example a key followed
        by its certificate chain.
      - The index is rebuilt when the source changed, an index file is missing or older than the source, or it does not
        hold the files' content as they are now (read back with C(postmap -q -)), so a changed file is indexed again.
        It is built in a private directory beside O(path) and renamed over the live one, and a file C(postmap) cannot
        read fails the task (C(postmap -F) only warns and leaves the key out) with the live index as it was.
      - A named file that does not exist fails the task before anything changes; in check mode, where an earlier task
        may be to create it, the index is predicted to be rebuilt.
      - When O(mode) is not given, the source and indexed files are made C(0600), as the index holds the files' content,
        such as private keys. The content is never returned.
    type: bool
    default: false
    version_added: 0.2.0
  secret:
    description:
      - The values are secrets, for example in C(smtp_sasl_password_maps). They are kept out of the diff
        and every result and error message, as if each value were marked C(no_log).
      - When O(mode) is not given, the source and indexed files are made C(0600).
      - Also set C(no_log) on a task that loops over secrets, as the loop item is printed by Ansible itself.
    type: bool
    default: false
  mode:
    description:
      - Mode of the source file and the indexed files.
      - When not given, a new file gets C(0644), or C(0600) with O(secret=true); an existing file keeps its mode
        (but is made C(0600) with O(secret=true)). The indexed files get the source file's mode.
  owner:
    description:
      - Owner of the source file and the indexed files. C(postmap) runs with C(-o), keeping the privileges of the module
        (not dropping to the source owner, who usually cannot write next to the file), and the indexed files get this owner after.
  group:
    description:
      - Group of the source file and the indexed files.
notes:
  - C(postmap) runs only when needed, so the indexed file's modification time does not change on a run that changes nothing.
  - Use RV(map) in C(main.cf), for example as C(smtp_sasl_password_maps), so the type there cannot drift from the file.
seealso:
  - module: mailstack.sasl_postfix.postconf
  - module: mailstack.sasl_postfix.postfix_info
  - name: Postfix lookup table overview
    description: DATABASE_README, the map types and their files.
    link: https://www.postfix.org/DATABASE_README.html
  - name: postmap(1)
    description: How postmap reads a table's source file.
    link: https://www.postfix.org/postmap.1.html
'''

EXAMPLES = r'''
- name: Relay credentials, keyed exactly like relayhost (list form, as the key is a variable)
  mailstack.sasl_postfix.lookup_table:
    path: /etc/postfix/sasl_passwd
    entries:
      - key: "{{ relayhost }}"
        value: "client@example.org:{{ relay_password }}"
    secret: true
    owner: root
    group: root
    mode: "0600"
  register: sasl_passwd

- name: Point Postfix at the table
  mailstack.sasl_postfix.postconf:
    name: smtp_sasl_password_maps
    value: "{{ sasl_passwd.map }}"

- name: Sender-dependent relayhosts, as a list that keeps its order, as an lmdb table
  mailstack.sasl_postfix.lookup_table:
    path: /etc/postfix/sender_relay
    type: lmdb
    entries:
      - key: "@example.org"
        value: "[smtp.example.net]:587"
      - key: "@example.com"
        value: "[mail.example.com]:submission"

- name: Add one access rule and keep the rest of a hand-written file
  mailstack.sasl_postfix.lookup_table:
    path: /etc/postfix/client_access
    exclusive: false
    entries:
      192.0.2.7: REJECT

- name: Certificates per TLS SNI name (the index holds each key and chain, postmap -F)
  mailstack.sasl_postfix.lookup_table:
    path: /etc/postfix/tls/sni
    file_values: true
    entries:
      - key: mail.example.net
        value: /etc/postfix/tls/sni-chains/mail.example.net.pem
      - key: mail.example.com
        value: /etc/postfix/tls/mail.example.com.key, /etc/postfix/tls/mail.example.com.crt
    owner: root
    group: root
    mode: "0600"

- name: Remove one key
  mailstack.sasl_postfix.lookup_table:
    path: /etc/postfix/client_access
    state: absent
    keys:
      - 192.0.2.7

- name: Remove the whole table
  mailstack.sasl_postfix.lookup_table:
    path: /etc/postfix/old_table
    state: absent
'''

RETURN = r'''
path:
  description: The source file.
  returned: success
  type: str
  sample: /etc/postfix/sasl_passwd
type:
  description: The map type used (the host's C(default_database_type) when O(type) was not given).
  returned: success
  type: str
  sample: hash
map:
  description: The C(type:path) reference to use in C(main.cf).
  returned: success
  type: str
  sample: hash:/etc/postfix/sasl_passwd
index_files:
  description: The files C(postmap) writes for this type.
  returned: success
  type: list
  elements: str
  sample: [/etc/postfix/sasl_passwd.db]
rebuilt:
  description: Whether C(postmap) ran (or would run in check mode).
  returned: success
  type: bool
added:
  description: Keys added to the table.
  returned: success
  type: list
  elements: str
  sample: ["[smtp.example.net]:587"]
updated:
  description: Keys whose value changed (the values are not returned).
  returned: success
  type: list
  elements: str
removed:
  description: Keys removed from the table.
  returned: success
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import exit_with_result
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._lookup_table import run_lookup_table
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._postconf import CONFIG_DIR_OPTION


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            entries=dict(type='raw'),
            keys=dict(type='list', elements='str', no_log=False),
            exclusive=dict(type='bool', default=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            type=dict(type='str'),
            secret=dict(type='bool', default=False),
            file_values=dict(type='bool', default=False),
            **CONFIG_DIR_OPTION
        ),
        required_if=[('state', 'present', ['entries'])],
        add_file_common_args=True,
        supports_check_mode=True,
    )
    exit_with_result(module, run_lookup_table)


if __name__ == '__main__':
    main()
