"""Stand-in for pip's get-pip.py, for ansible-test's --venv mode on machines without access to ci-files.testing.ansible.com.

ansible-test creates each sanity virtual environment without pip and runs a cached
get-pip.py in it with pip-install arguments (`pip==X ... --no-setuptools --no-wheel`).
This does the same from the interpreter's bundled ensurepip and PyPI.
"""

import subprocess
import sys

GET_PIP_ONLY_OPTIONS = ('--no-setuptools', '--no-wheel')

subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'], stdout=subprocess.DEVNULL)
pip_args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]
subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + pip_args)
