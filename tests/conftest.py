"""Test harness: make the repository importable and loadable as mailstack.sasl_postfix.

Ansible finds collections only below an `ansible_collections/<ns>/<name>` tree,
so the session links the checkout into such a tree in a temporary directory and
points both Python imports and ANSIBLE_COLLECTIONS_PATH at it.
"""

import os
import sys
import tempfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS_ROOT = tempfile.mkdtemp(prefix='mailstack-collections-')
_namespace_dir = os.path.join(COLLECTIONS_ROOT, 'ansible_collections', 'mailstack')
os.makedirs(_namespace_dir)
os.symlink(REPO_ROOT, os.path.join(_namespace_dir, 'sasl_postfix'))

sys.path.insert(0, COLLECTIONS_ROOT)
sys.path.insert(0, os.path.join(REPO_ROOT, 'tests'))
os.environ['ANSIBLE_COLLECTIONS_PATH'] = COLLECTIONS_ROOT
# Interpreter discovery on this machine kind picks a pyenv shim that cannot run:
# modules run with the interpreter that runs the tests.
os.environ['ANSIBLE_PYTHON_INTERPRETER'] = sys.executable
os.environ.setdefault('ANSIBLE_LOCALHOST_WARNING', 'false')
os.environ.setdefault('ANSIBLE_INVENTORY_UNPARSED_WARNING', 'false')
