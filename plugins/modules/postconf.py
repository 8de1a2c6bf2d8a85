#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: postconf
short_description: Read, set or reset a Postfix main.cf or master.cf parameter with postconf
version_added: 0.1.0
description:
  - Reads, sets or removes one parameter in C(main.cf) (C(postconf -e), C(postconf -X)), or one C(-o) parameter
    of a C(master.cf) service (C(postconf -P)), through the host's real C(postconf) command.
  - The module compares the value set explicitly in the file (what C(postconf -n) or C(postconf -P) prints) with
    O(value). Setting a parameter to its default value still writes the line, and removing it falls back to the default.
  - With O(state=present) and no O(value), nothing changes and the current value is returned.
  - Parameter names that this Postfix does not know are refused unless O(force=true). Known are the built-in
    parameters (C(postconf -d)), the per-service parameters of services in C(master.cf) (such as
    C(relay_destination_concurrency_limit)), and user-defined parameters that C(main.cf) or C(master.cf) already
    uses as C($name). To add a new user-defined parameter, set it before the parameter that refers to it with
    O(force=true), or set the referring parameter first.
  - Values with a newline or control character are refused; so are C(master.cf) values with whitespace, which
    C(postconf -P) cannot write (join list items with commas, or refer to a C(main.cf) parameter as C($name)).
  - The module does not reload Postfix; notify a handler that runs C(postfix check) and C(postfix reload).
author:
  - mailstack.sasl_postfix contributors (@mailstack)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mailstack.sasl_postfix.attributes
  - mailstack.sasl_postfix.postfix
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the parameter's line in the file before and after (empty when the file does not set it).
  idempotent:
    support: full
options:
  name:
    description:
      - Parameter name, for example V(relayhost), or for O(service) the name of a C(-o) parameter, for example
        V(smtpd_sasl_auth_enable).
    type: str
    required: true
  value:
    description:
      - The value to set, on one line. Leading and trailing whitespace is dropped and each run of whitespace becomes
        one space, as C(postconf) prints values; the comparison with the current value is made that way.
      - An empty string sets the parameter to an empty value explicitly.
      - Omit it to read the current value.
      - Not allowed with O(state=absent).
    type: str
  service:
    description:
      - A C(master.cf) service as C(name/type), for example V(submission/inet) or V(127.0.0.1:smtp/inet).
        O(name) is then a C(-o) parameter of that service. The service must exist.
    type: str
  state:
    description:
      - V(present) sets O(value) (or reads when O(value) is omitted); V(absent) removes the parameter from C(main.cf),
        or the C(-o) parameter from the service.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - Accept a parameter name that C(postconf) does not know.
    type: bool
    default: false
seealso:
  - module: mailstack.sasl_postfix.lookup_table
  - module: mailstack.sasl_postfix.postfix_info
  - name: postconf(1)
    description: The command this module runs.
    link: https://www.postfix.org/postconf.1.html
  - name: postconf(5)
    description: The Postfix parameters.
    link: https://www.postfix.org/postconf.5.html
'''

EXAMPLES = r'''
- name: Relay through the smarthost on the submission port
  mailstack.sasl_postfix.postconf:
    name: relayhost
    value: "[smtp.example.net]:587"
  notify: Reload postfix

- name: Require SASL authentication on submission
  mailstack.sasl_postfix.postconf:
    service: submission/inet
    name: smtpd_sasl_auth_enable
    value: "yes"

- name: Restrictions with more than one item in master.cf (commas, no spaces)
  mailstack.sasl_postfix.postconf:
    service: submission/inet
    name: smtpd_client_restrictions
    value: permit_sasl_authenticated,reject

- name: Back to the default
  mailstack.sasl_postfix.postconf:
    name: smtp_tls_security_level
    state: absent

- name: Read a value
  mailstack.sasl_postfix.postconf:
    name: default_database_type
  register: dbtype
'''

RETURN = r'''
name:
  description: The parameter name.
  returned: success
  type: str
  sample: relayhost
service:
  description: The C(master.cf) service, or null for C(main.cf).
  returned: success
  type: str
  sample: submission/inet
value:
  description:
    - The value in effect after the run (predicted in check mode); for a service, its C(-o) value, or the
      C(main.cf) value the service inherits.
  returned: success
  type: str
  sample: "[smtp.example.net]:587"
explicit:
  description: Whether the file sets the parameter after the run.
  returned: success
  type: bool
previous:
  description: The value the file set before the run, or null.
  returned: success
  type: str
default:
  description: The built-in default (C(postconf -d)), or null for a parameter C(postconf) does not know.
  returned: success
  type: str
  sample: ""
config_file:
  description: The file the parameter lives in.
  returned: success
  type: str
  sample: /etc/postfix/main.cf
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import exit_with_result
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._postconf import CONFIG_DIR_OPTION, run_postconf


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            value=dict(type='str'),
            service=dict(type='str'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            force=dict(type='bool', default=False),
            **CONFIG_DIR_OPTION
        ),
        supports_check_mode=True,
    )
    exit_with_result(module, run_postconf)


if __name__ == '__main__':
    main()
