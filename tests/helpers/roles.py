"""Run a small playbook on localhost that includes parts of the collection's roles."""

import json
import os
import subprocess
import sys


def run_playbook(tmp_path, playbook, variables):
    """Run `playbook` (YAML text) on localhost with `variables` as extra vars; return (rc, output)."""
    path = tmp_path / 'play.yml'
    path.write_text(playbook)
    extra = tmp_path / 'vars.json'
    extra.write_text(json.dumps(variables))
    env = dict(os.environ, ANSIBLE_FORCE_COLOR='false', ANSIBLE_NOCOLOR='true')
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,',
            '-e', '@' + str(extra), str(path)]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    return proc.returncode, proc.stdout + proc.stderr
