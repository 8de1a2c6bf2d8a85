"""Each role's vars/ holds constants and derivations of the role's inputs only (issue 21).

A value computed from a registered result, or from a fact set from one, lives
beside the task that registers it: no expression in vars/*.yml may name a
variable that a task of the role registers or sets with set_fact.
"""

import glob
import os
import re

import pytest
import yaml

ROLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'roles')


def _task_files(role, roles=ROLES):
    return glob.glob(os.path.join(roles, role, 'tasks', '*.yml'))


def _walk_tasks(tasks):
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        yield task
        for key in ('block', 'rescue', 'always'):
            yield from _walk_tasks(task.get(key))


def runtime_names(role, roles=ROLES):
    """The variables a role's tasks register or set with set_fact."""
    names = set()
    for path in _task_files(role, roles):
        with open(path) as handle:
            for task in _walk_tasks(yaml.safe_load(handle)):
                if task.get('register'):
                    names.add(task['register'])
                names.update((task.get('ansible.builtin.set_fact') or {}).keys())
    return names


def readers(role, names, roles=ROLES):
    """{vars file: [variables whose value names one of `names`]}."""
    found = {}
    for path in glob.glob(os.path.join(roles, role, 'vars', '*.yml')):
        with open(path) as handle:
            variables = yaml.safe_load(handle) or {}
        for variable, value in variables.items():
            text = yaml.safe_dump(value)
            if any(re.search(r'\b%s\b' % re.escape(name), text) for name in names):
                found.setdefault(os.path.basename(path), []).append(variable)
    return found


@pytest.mark.parametrize('role', sorted(os.listdir(ROLES)))
def test_vars_read_no_registered_result(role):
    assert readers(role, runtime_names(role)) == {}


def test_the_check_finds_a_registered_result(tmp_path):
    role = tmp_path / 'r'
    (role / 'tasks').mkdir(parents=True)
    (role / 'vars').mkdir()
    (role / 'tasks' / 'main.yml').write_text(
        '- {name: Read, ansible.builtin.command: "true", register: __r_read}\n'
        '- name: Note\n  ansible.builtin.set_fact:\n    __r_fact: 1\n')
    (role / 'vars' / 'main.yml').write_text('__r_ok: "{{ r_input }}"\n__r_bad: "{{ __r_read.stdout }}"\n'
                                            '__r_worse: "{{ __r_fact + 1 }}"\n')
    names = runtime_names('r', str(tmp_path))
    assert names == {'__r_read', '__r_fact'}
    assert readers('r', names, str(tmp_path)) == {'main.yml': ['__r_bad', '__r_worse']}
