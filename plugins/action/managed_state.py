# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The controller side of managed_state: render the role's templates and files into content, then run the module once.

Templates are found and rendered as ansible.builtin.template does (the
role's templates/ directory and the play's search path, the task's
variables, ansible_managed), on ansible-core 2.16 and later: 2.19 changed the
templating API, so both ways are here.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import os

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.template import generate_ansible_template_vars

try:  # ansible-core 2.19 and later: a template read from a file must be marked trusted
    from ansible.template import trust_as_template
    AnsibleEnvironment = None
except ImportError:  # ansible-core 2.16 to 2.18
    from ansible.template import AnsibleEnvironment
    trust_as_template = None

MODULE = 'mailstack.sasl_postfix.managed_state'

# option -> [(the option naming a role template, the option its text goes to)]
TEMPLATED_OPTIONS = {
    'postfix_config': [('main_cf_template', 'main_cf'), ('master_cf_template', 'master_cf')],
    'aliases': [('template', 'content')],
}


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        if task_vars is None:
            task_vars = dict()
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # tmp no longer has any effect

        try:
            module_args = self._module_args(task_vars)
        except AnsibleActionFail as exc:
            result.update(failed=True, msg=to_text(exc))
            return result
        result.update(self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars))
        return result

    def _module_args(self, task_vars):
        """The task's arguments with every template and role file replaced by its text."""
        args = copy.deepcopy(dict(self._task.args))
        files = args.get('files') or []
        if not isinstance(files, list):
            raise AnsibleActionFail('files must be a list of dictionaries')
        for index, item in enumerate(files):
            if not isinstance(item, dict):
                raise AnsibleActionFail('files[%d] must be a dictionary' % index)
            label = 'files[%d] (%s)' % (index, item.get('path'))
            if item.get('template') is not None:
                self._no_content(label, item, 'content', 'template')
                item['content'] = self._render(item.pop('template'), item.get('path'), task_vars)
            elif item.get('src') is not None and (item.get('state') or 'file') == 'file':
                self._no_content(label, item, 'content', 'src')
                item['content'] = self._read(self._find('files', item.pop('src')))
        for option, pairs in TEMPLATED_OPTIONS.items():
            spec = args.get(option)
            if not isinstance(spec, dict):
                continue
            for template_option, content_option in pairs:
                if spec.get(template_option) is not None:
                    self._no_content(option, spec, content_option, template_option)
                    dest = spec.get('path') if option == 'aliases' else None
                    spec[content_option] = self._render(spec.pop(template_option), dest, task_vars)
        return args

    @staticmethod
    def _no_content(label, spec, content_option, source_option):
        if spec.get(content_option) is not None:
            raise AnsibleActionFail('%s: give %s or %s, not both' % (label, content_option, source_option))

    def _find(self, directory, name):
        try:
            return self._find_needle(directory, name)
        except AnsibleError as exc:
            raise AnsibleActionFail(to_text(exc))

    def _read(self, path):
        """The text of a file on the controller (decrypted when vaulted)."""
        real = self._loader.get_real_file(path)
        try:
            with open(real, 'rb') as handle:
                data = handle.read()
        finally:
            self._loader.cleanup_tmp_file(real)
        try:
            return to_text(data, errors='surrogate_or_strict')
        except UnicodeError:
            raise AnsibleActionFail('%s is not UTF-8 text' % path)

    def _render(self, name, dest, task_vars):
        """The role's template `name` rendered with the task's variables, as ansible.builtin.template renders it."""
        source = self._find('templates', name)
        text = self._read(source)
        # Includes and imports inside the template: each search path and its templates/ directory.
        searchpath = []
        for path in list(task_vars.get('ansible_search_path', [])) + [self._loader._basedir, os.path.dirname(source)]:
            searchpath.extend([os.path.join(path, 'templates'), path])
        template_vars = generate_ansible_template_vars(name, source, dest)
        if 'ansible_managed' in task_vars:
            template_vars.pop('ansible_managed', None)  # the user's own ansible_managed wins, as with template
        variables = task_vars.copy()
        variables.update(template_vars)
        try:
            if trust_as_template is not None:
                templar = self._templar.copy_with_new_env(searchpath=searchpath, available_variables=variables)
                rendered = templar.template(trust_as_template(text), preserve_trailing_newlines=True,
                                            escape_backslashes=False)
            else:
                templar = self._templar.copy_with_new_env(environment_class=AnsibleEnvironment, searchpath=searchpath,
                                                          newline_sequence='\n', available_variables=variables)
                rendered = templar.do_template(text, preserve_trailing_newlines=True, escape_backslashes=False)
        except AnsibleError as exc:
            raise AnsibleActionFail('template %s: %s' % (name, to_text(exc)))
        return to_text(rendered if rendered is not None else '')
