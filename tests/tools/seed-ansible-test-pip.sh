#!/usr/bin/env bash
# ansible-test --venv bootstraps pip in each virtual environment with a get-pip.py
# that it downloads from a host this machine cannot reach. Seed its cache with
# tests/tools/get_pip_offline.py under the name ansible-test looks for.
set -euo pipefail
python=${1:?usage: seed-ansible-test-pip.sh PYTHON}
here=$(cd "$(dirname "$0")" && pwd)
version=$("$python" - <<'PY'
import inspect, re
from ansible_test._internal import python_requirements
print(re.search(r"pip='([0-9.]+)'", inspect.getsource(python_requirements.get_venv_packages)).group(1))
PY
)
cache="$HOME/.ansible/test/cache/get_pip_${version//./_}.py"
install -D -m 0644 "$here/get_pip_offline.py" "$cache"
