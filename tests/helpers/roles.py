"""Run a task file of one of the collection's roles on localhost, for tests of checks that need no host."""

import json
import os
import subprocess
import sys


PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: mailstack.sasl_postfix.{role}
        tasks_from: {tasks_from}
        public: true
{tasks}{end}"""


def role_play(role, tasks_from, tasks='', end_play=False):
    """The playbook text that includes `tasks_from` of `role` on localhost, its variables public, then `tasks`.

    `tasks` is YAML text of tasks indented for the play's task list;
    end_play=True ends the play before the role's handlers run.
    """
    end = '    - ansible.builtin.meta: end_play\n' if end_play else ''
    return PLAYBOOK.format(role=role, tasks_from=tasks_from, tasks=tasks, end=end)


def run_role_tasks(tmp_path, role, tasks_from, variables, messages=(), run_handlers=True, extra_args=()):
    """Include `tasks_from` of `role` with `variables` as extra vars, then print each of `messages`.

    A message is a template, printed with ansible.builtin.debug after the
    role's tasks (for example to show a variable the role computed).
    run_handlers=False ends the play before the role's handlers run (they
    would check and reload this machine's Postfix). extra_args go to
    ansible-playbook (such as --check).
    Returns (rc, output).
    """
    debug = ''.join('    - ansible.builtin.debug:\n        msg: %s\n' % json.dumps(m) for m in messages)
    play = role_play(role, tasks_from, tasks=debug, end_play=not run_handlers)
    return run_playbook(tmp_path, play, variables, extra_args)


def run_playbook(tmp_path, play, variables, extra_args=()):
    """Run the playbook text `play` on localhost with `variables` as extra vars. Returns (rc, output)."""
    path = tmp_path / 'play.yml'
    path.write_text(play)
    extra = tmp_path / 'vars.json'
    extra.write_text(json.dumps(variables))
    env = dict(os.environ, ANSIBLE_FORCE_COLOR='false', ANSIBLE_NOCOLOR='true')
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,',
            '-e', '@' + str(extra), str(path)] + list(extra_args)
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    return proc.returncode, proc.stdout + proc.stderr
