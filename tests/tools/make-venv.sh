#!/usr/bin/env bash
# Create (or re-create) a venv from a pip requirements file, unless it already
# exists for the same requirements and the same Python:
#
#   make-venv.sh [--is-current] VENV REQUIREMENTS [PYTHON]   (PYTHON default: python3)
#
# --is-current only answers (exit 0 or 1) whether the venv is up to date.
# Used for the tools that must not share .venv (galaxy-importer's pins) and
# inside the ansible-core version containers.
set -euo pipefail

only_check=false
if [ "${1:-}" = --is-current ]; then
  only_check=true
  shift
fi
venv=$1
requirements=$2
python=${3:-python3}

stamp="$(sha256sum "$requirements" | cut -c1-16) $("$python" -c 'import platform; print(platform.python_version())')"
if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.stamp" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi
"$only_check" && exit 1
echo "make-venv: $venv from $requirements"
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/pip" install -q -r "$requirements"
echo "$stamp" >"$venv/.stamp"
