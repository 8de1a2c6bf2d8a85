#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: managed_state
short_description: Converge the files, Postfix configuration and host state a role owns, in one call
version_added: 0.2.0
description:
  - Brings everything a role manages to its wanted state in one remote call, and reports per item what changed.
    The module decides; nothing is predicted on the controller.
  - "The work is done in this order: O(packages), O(tls_selfsigned), O(files), O(postfix_config), O(aliases),
    the O(services) to stop or disable, the O(files) with O(files[].state=absent) (after the configuration that may
    still name them, and after the units whose file may be one of them), O(groups), the other O(services)."
  - When a package of O(packages) is not installed, nothing else is looked at or changed and RV(packages_missing)
    names the missing ones; the role installs them (with M(ansible.builtin.apt)) and runs the task again.
  - An action plugin of the same name runs on the controller first. It renders the role's templates named by
    O(files[].template), O(postfix_config.main_cf_template), O(postfix_config.master_cf_template) and
    O(aliases.template) as M(ansible.builtin.template) does (the role's C(templates/) directory, the task's
    variables, C(ansible_managed)), reads the role files named by O(files[].src) of a V(file) item, and passes
    their text as content.
  - RV(postfix_action) says whether Postfix needs a reload or a restart after the call.
author:
  - mailstack.sasl_postfix contributors (@mailstack)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mailstack.sasl_postfix.attributes
  - mailstack.sasl_postfix.attributes.files
attributes:
  action:
    description: Runs an action plugin on the controller (templates and role files are read there).
    support: full
  check_mode:
    support: full
    details:
      - Every item is decided on the states the earlier items would leave, and C(changed) is what a real run would
        report; nothing is written.
  diff_mode:
    support: full
    details:
      - One entry per changed file with its content before and after (never for O(files[].secret) files), and
        one with the other changes of an item (state, owner, group, mode, link target) as short lines.
  idempotent:
    support: full
options:
  packages:
    description:
      - Debian packages that must be installed, as C(dpkg-query) names them.
      - When any is not installed, the module changes nothing and returns them in RV(packages_missing).
    type: list
    elements: str
    default: []
  tls_selfsigned:
    description:
      - A self-signed key and certificate pair for Postfix, kept while it matches these options.
      - The directory is made C(root:root 0755), the key C(root:root 0600), the certificate C(root:root 0644).
    type: dict
    suboptions:
      dir:
        description: The directory of the key and the certificate.
        type: path
        default: /etc/postfix/tls
      key_file:
        description: The private key (PEM).
        type: path
        required: true
      cert_file:
        description: The certificate (PEM).
        type: path
        required: true
      key_type:
        description: The key's algorithm and size. A key of another type is replaced.
        type: str
        choices: [ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096]
        default: ecdsa-p256
      common_name:
        description: The subject's common name, for example the host's name.
        type: str
        required: true
      subject_alt_names:
        description: The subject alternative names, as C(DNS:name) or C(IP:address) as in community.crypto.
        type: list
        elements: str
        default: []
      valid_days:
        description: How long a new certificate is valid.
        type: int
        default: 365
      renew_days:
        description: A certificate that expires within this many days is made again.
        type: int
        default: 30
  files:
    description:
      - Files, directories, symlinks and paths to remove, handled in the order given; the paths to remove after
        O(postfix_config) and O(aliases).
      - A path may be listed once.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      state:
        description:
          - V(file) a regular file, V(directory), V(link) a symlink to O(files[].src), V(absent) nothing there
            (an empty directory is removed, a directory that is not empty is an error).
          - A path of another type than the wanted one is an error, except for O(files[].replace_file).
        type: str
        choices: [file, directory, link, absent]
        default: file
      content:
        description:
          - With O(files[].state=file), the whole content of the file. The file is replaced atomically when it differs.
          - When omitted, only the owner, group and mode are managed; the file must exist, unless
            O(files[].initial) says how to make it.
        type: str
      template:
        description:
          - A template of the role, rendered on the controller into O(files[].content) by the action plugin.
        type: str
      initial:
        description:
          - With no O(files[].content), how to create a missing file. V(sasldb) makes an empty Berkeley DB hash
            database (C(db_load -T -t hash -f /dev/null), package C(db-util)), a sasldb with no users.
        type: str
        choices: [sasldb]
      src:
        description:
          - With O(files[].state=link), the link's target.
          - With O(files[].state=file), a file of the role's C(files/) directory that the action plugin reads into
            O(files[].content).
        type: path
      replace_file:
        description:
          - With O(files[].state=link), what to do with a regular file at O(files[].path). V(move) moves it to
            O(files[].src) when nothing is there yet, otherwise renames it to O(files[].path)C(.before-link)
            (an error when that exists too); then the link is made.
          - When omitted, a regular file where the link belongs is an error.
        type: str
        choices: [move]
      owner:
        description:
          - The owner (a name, or a number) of a file or directory. When omitted an existing one keeps its owner,
            a new one is the module's user's.
        type: str
      group:
        description: The group (a name, or a number), as O(files[].owner).
        type: str
      mode:
        description:
          - The mode as an octal string, for example V("0644"); quote it in YAML, an unquoted C(0644) is a number and
            is refused.
          - When omitted an existing file keeps its mode; a new file gets V("0644") (V("0600") with
            O(files[].secret=true)), a new directory V("0755").
        type: raw
      secret:
        description:
          - The content is secret. It is never returned nor shown in the diff; the file's owner, group and mode
            changes still are.
          - Also set C(no_log) on the task when the content comes from a variable that must not be logged.
        type: bool
        default: false
  postfix_config:
    description:
      - C(main.cf) and C(master.cf), validated together in a private temporary directory on the host
        (C(postconf -n), C(-M) and C(-P) without a warning, C(postfix check), no open relay), then each changed one
        replaced atomically (C(root:root 0644)). A pair that fails validation fails the task and leaves the live
        files untouched.
    type: dict
    suboptions:
      config_dir:
        description: The Postfix configuration directory.
        type: path
        default: /etc/postfix
      main_cf:
        description: The whole content of C(main.cf).
        type: str
      master_cf:
        description: The whole content of C(master.cf).
        type: str
      main_cf_template:
        description: A template of the role rendered into O(postfix_config.main_cf) by the action plugin.
        type: str
      master_cf_template:
        description: A template of the role rendered into O(postfix_config.master_cf) by the action plugin.
        type: str
      restart_parameters:
        description:
          - C(main.cf) parameters whose change needs a restart of Postfix rather than a reload.
        type: list
        elements: str
        default: [inet_interfaces, inet_protocols]
  aliases:
    description:
      - The aliases file, and its indexed maps rebuilt (C(postalias)) when the content changed or an index is missing
        or older than the file.
    type: dict
    suboptions:
      path:
        description: The aliases file.
        type: path
        default: /etc/aliases
      content:
        description: The whole content of the aliases file.
        type: str
      template:
        description: A template of the role rendered into O(aliases.content) by the action plugin.
        type: str
      config_dir:
        description: The Postfix configuration directory C(postalias) reads.
        type: path
        default: /etc/postfix
      maps:
        description:
          - The indexed alias maps of the file, as C(type:path). Defaults to V(hash:PATH) with O(aliases.path).
        type: list
        elements: str
  groups:
    description:
      - Supplementary groups appended to users (C(usermod -a -G)); groups a user has are kept.
    type: list
    elements: dict
    default: []
    suboptions:
      user:
        description: The user, which must exist.
        type: str
        required: true
      groups:
        description: The groups the user must be in; each must exist.
        type: list
        elements: str
        required: true
  services:
    description:
      - systemd units started or stopped, enabled or disabled (C(systemctl)). A unit to stop or disable is handled
        before the O(files) to remove (one may be its unit file, which C(systemctl disable) needs to remove the unit's
        symlinks), the others after everything else.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The unit.
        type: str
        required: true
      state:
        description: V(started) or V(stopped); when omitted, left as it is.
        type: str
        choices: [started, stopped]
      enabled:
        description: Whether the unit starts at boot; when omitted, left as it is.
        type: bool
notes:
  - The content of a O(files[].secret) file is left out of the line Ansible's module machinery logs on the host
    (syslog or the journal), and masked in the result. The task's arguments still pass through the controller's
    output at high verbosity and through callbacks; use C(no_log) on a task whose other arguments are secret.
requirements:
  - C(dpkg-query) for O(packages); C(db_load) (Debian package C(db-util)) for O(files[].initial=sasldb);
    C(usermod) for O(groups); C(systemctl) for O(services); Postfix's C(postconf), C(postfix) and C(postalias)
    for O(postfix_config) and O(aliases); the Python C(cryptography) library for O(tls_selfsigned).
seealso:
  - module: mailstack.sasl_postfix.postfix_info
  - module: mailstack.sasl_postfix.lookup_table
  - module: ansible.builtin.template
'''

EXAMPLES = r'''
- name: Converge the SASL configuration in one call
  mailstack.sasl_postfix.managed_state:
    packages: [sasl2-bin, libsasl2-modules, db-util]
    files:
      - path: /var/spool/postfix/etc
        state: directory
        owner: root
        group: root
        mode: "0755"
      - path: /etc/sasldb2
        state: link
        src: /var/spool/postfix/etc/sasldb2
        replace_file: move
      - path: /var/spool/postfix/etc/sasldb2
        initial: sasldb
        owner: root
        group: sasl
        mode: "0640"
        secret: true
      - path: /etc/postfix/sasl/smtpd.conf
        template: smtpd.conf.j2
        mode: "0644"
    groups:
      - user: postfix
        groups: [sasl]
  register: sasl_state

- name: Install what is missing, then run the task above again
  ansible.builtin.apt:
    name: "{{ sasl_state.packages_missing }}"
  when: sasl_state.packages_missing | length > 0

- name: Postfix's configuration pair, its aliases and the service
  mailstack.sasl_postfix.managed_state:
    postfix_config:
      main_cf_template: main.cf.j2
      master_cf_template: master.cf.j2
    aliases:
      template: aliases.j2
    services:
      - name: postfix
        state: started
        enabled: true
  register: postfix_state
  # Handlers listening to this topic read postfix_state.postfix_action, for example
  # `when: postfix_state.postfix_action == 'restart'` on the restart handler.
  notify: Postfix state changed
'''

RETURN = r'''
packages_missing:
  description:
    - The packages of O(packages) that are not installed, in the order given. When not empty, nothing else was looked
      at or changed and no other key but C(changed) is returned.
  returned: always
  type: list
  elements: str
  sample: [sasl2-bin]
files:
  description:
    - For each path of O(files), C(changed), its wanted C(state) and C(changes), short texts of what differed
      (C(content) for the content; C(mode 0644 -> 0600); C(state absent -> file); C(moved /etc/sasldb2 -> /var/...)).
  returned: when the packages are installed
  type: dict
  sample: {"/etc/postfix/sasl/smtpd.conf": {changed: true, state: file, changes: [content, mode 0600 -> 0644]}}
tls:
  description:
    - For O(tls_selfsigned), C(changed), C(key_changed), C(cert_changed) and C(reasons), why the certificate is made
      (for example V(missing), V(due for renewal)).
  returned: when O(tls_selfsigned) is given and the packages are installed
  type: dict
  sample: {changed: true, key_changed: false, cert_changed: true, reasons: [due for renewal]}
postfix_config:
  description:
    - For O(postfix_config), C(changed), C(changed_files) (V(main.cf), V(master.cf)) and C(restart), whether a
      parameter of O(postfix_config.restart_parameters) changed its value.
  returned: when O(postfix_config) is given and the packages are installed
  type: dict
  sample: {changed: true, changed_files: [main.cf], restart: false}
aliases:
  description: For O(aliases), C(changed) and C(rebuilt), whether C(postalias) ran.
  returned: when O(aliases) is given and the packages are installed
  type: dict
  sample: {changed: false, rebuilt: true}
groups_changed:
  description: "The groups added, each as V(USER: +GROUP)."
  returned: when the packages are installed
  type: list
  elements: str
  sample: ["postfix: +sasl"]
services:
  description: For each unit of O(services), C(changed) and C(started), whether this call started it.
  returned: when the packages are installed
  type: dict
  sample: {postfix: {changed: false, started: false}}
postfix_action:
  description:
    - What Postfix needs after this call. V(restart) when a parameter of O(postfix_config.restart_parameters) changed
      its value or the C(postfix) user was added to a group; V(reload) when the configuration pair, the aliases, the
      TLS pair or a file of O(files) changed; V(none) when nothing of these did, or when this call started Postfix
      itself.
  returned: when the packages are installed
  type: str
  choices: [none, reload, restart]
  sample: reload
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import exit_with_result
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._managed_state import (
    run_managed_state, without_secret_contents)

ARGUMENT_SPEC = dict(
    packages=dict(type='list', elements='str', default=[]),
    tls_selfsigned=dict(type='dict', options=dict(
        dir=dict(type='path', default='/etc/postfix/tls'),
        key_file=dict(type='path', required=True, no_log=False),
        cert_file=dict(type='path', required=True),
        key_type=dict(type='str', default='ecdsa-p256', no_log=False,
                      choices=['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096']),
        common_name=dict(type='str', required=True),
        subject_alt_names=dict(type='list', elements='str', default=[]),
        valid_days=dict(type='int', default=365),
        renew_days=dict(type='int', default=30),
    )),
    files=dict(type='list', elements='dict', default=[], options=dict(
        path=dict(type='path', required=True),
        state=dict(type='str', default='file', choices=['file', 'directory', 'link', 'absent']),
        content=dict(type='str'),
        template=dict(type='str'),
        initial=dict(type='str', choices=['sasldb']),
        src=dict(type='path'),
        replace_file=dict(type='str', choices=['move']),
        owner=dict(type='str'),
        group=dict(type='str'),
        mode=dict(type='raw'),
        secret=dict(type='bool', default=False, no_log=False),
    )),
    postfix_config=dict(type='dict', options=dict(
        config_dir=dict(type='path', default='/etc/postfix'),
        main_cf=dict(type='str'),
        master_cf=dict(type='str'),
        main_cf_template=dict(type='str'),
        master_cf_template=dict(type='str'),
        restart_parameters=dict(type='list', elements='str', default=['inet_interfaces', 'inet_protocols']),
    )),
    aliases=dict(type='dict', options=dict(
        path=dict(type='path', default='/etc/aliases'),
        content=dict(type='str'),
        template=dict(type='str'),
        config_dir=dict(type='path', default='/etc/postfix'),
        maps=dict(type='list', elements='str'),
    )),
    groups=dict(type='list', elements='dict', default=[], options=dict(
        user=dict(type='str', required=True),
        groups=dict(type='list', elements='str', required=True),
    )),
    services=dict(type='list', elements='dict', default=[], options=dict(
        name=dict(type='str', required=True),
        state=dict(type='str', choices=['started', 'stopped']),
        enabled=dict(type='bool'),
    )),
)


class ManagedStateModule(AnsibleModule):
    """AnsibleModule whose log line on the host (syslog or the journal) leaves out the content of secret files.

    AnsibleModule logs every parameter not marked no_log; `content` cannot
    be, as the diff of the other files would be masked too.
    """

    def _log_invocation(self):
        params = self.params
        self.params = without_secret_contents(params)
        try:
            super(ManagedStateModule, self)._log_invocation()
        finally:
            self.params = params


def main():
    module = ManagedStateModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    exit_with_result(module, run_managed_state)


if __name__ == '__main__':
    main()
