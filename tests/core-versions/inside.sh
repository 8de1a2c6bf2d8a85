#!/usr/bin/env bash
# The checks of one ansible-core version, run by tests/core-versions/run.sh
# inside that version's controller container (working directory: the
# checkout, mounted at its own path). Not meant to be run on a real machine:
# the Molecule scenario installs Postfix where it runs.
#
#   inside.sh LABEL
#
# LABEL names the pip requirements (tests/core-versions/LABEL.txt: that
# ansible-core, or the `ansible` package that brings it, Molecule, testinfra).
# The collection depends on no other collection: the install must leave the
# community.crypto of the environment (if any) the only copy.
#
# Steps, each timed: venv, build the artifact and install it offline into an
# empty collections path (it must bring nothing else), ansible-doc of every
# module and role, syntax check of every playbook by its FQCN, the Molecule
# scenario `submission` (converge, idempotence, verify), the module playbook.
set -euo pipefail

label=$1
here=tests/core-versions
requirements=$here/$label.txt
state=$PWD/.cache/core-versions/$label
venv=$state/venv
collections=$state/collections
installed=$collections/ansible_collections/mailstack/sasl_postfix

[ -f "$requirements" ] || { echo "inside.sh: no $requirements" >&2; exit 2; }
[ -n "${MAILSTACK_CORE_CONTAINER:-}" ] || { echo "inside.sh: run me through tests/core-versions/run.sh" >&2; exit 2; }

step_start=$SECONDS
step_done() {
  echo "core-versions[$label]: $1 ($((SECONDS - step_start)) s)"
  step_start=$SECONDS
}

# The venv is kept in the checkout's .cache/ (tests/tools/make-venv.sh
# rebuilds it when the pins or the Python change). Debian splits ensurepip,
# which venv needs, out of python3.
make_venv() {
  if ! tests/tools/make-venv.sh --is-current "$venv" "$requirements" /usr/bin/python3 &&
    ! /usr/bin/python3 -c 'import ensurepip' 2>/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  fi
  tests/tools/make-venv.sh "$venv" "$requirements" /usr/bin/python3
}

# --offline into an empty path: galaxy.yml declares no dependency, so the
# install needs nothing beforehand and must leave the collection alone there.
build_and_install() {
  local present
  rm -rf "$state/dist" "$collections"
  ansible-galaxy collection build --output-path "$state/dist" . >/dev/null
  ansible-galaxy collection install --offline -p "$collections" "$state"/dist/mailstack-sasl_postfix-*.tar.gz
  [ -f "$installed/MANIFEST.json" ] || { echo "inside.sh: the install left no MANIFEST.json" >&2; return 1; }
  present=$(cd "$collections/ansible_collections" && find . -mindepth 2 -maxdepth 2 -type d | sed 's|^\./||' | sort)
  [ "$present" = mailstack/sasl_postfix ] ||
    { echo "inside.sh: the install brought more than mailstack.sasl_postfix: $present" >&2; return 1; }
}

# The community.crypto this environment brings (the `ansible` package's, or
# none with bare ansible-core), shown so that each run says which one ran
# beside the collection, and never a second copy from the install.
report_community_crypto() {
  local listed copies
  listed=$(ansible-galaxy collection list community.crypto 2>/dev/null | grep '^community\.crypto ' || true)
  copies=$(grep -c . <<<"$listed" || true)
  [ "$copies" -le 1 ] ||
    { echo "inside.sh: ansible-galaxy collection list shows $copies copies of community.crypto" >&2; return 1; }
  echo "core-versions[$label]: community.crypto here: $(awk '{print $2}' <<<"$listed" | grep . || echo none) (copies: $copies)"
}

ansible_doc_everything() {
  local module role
  for module in $(find "$installed/plugins/modules" -name '*.py' ! -name '__init__.py' -exec basename {} .py \; | sort); do
    ansible-doc "mailstack.sasl_postfix.$module" >/dev/null
    echo "ansible-doc: mailstack.sasl_postfix.$module"
  done
  for role in $(find "$installed/roles" -mindepth 1 -maxdepth 1 -type d -exec basename {} \; | sort); do
    ansible-doc -t role "mailstack.sasl_postfix.$role" >/dev/null
    echo "ansible-doc: role mailstack.sasl_postfix.$role"
  done
}

syntax_check_playbooks() {
  local playbook
  for playbook in $(find "$installed/playbooks" -maxdepth 1 -name '*.yml' -exec basename {} .yml \; | sort); do
    ansible-playbook --syntax-check -i localhost, "mailstack.sasl_postfix.$playbook"
  done
}

run_scenario() {
  MOLECULE_GLOB="$here/molecule/*/molecule.yml" \
    molecule --base-config "$here/molecule/config.yml" test --scenario-name submission
}

run_module_playbook() {
  ansible-playbook -i core-host, -c local "$here/modules.yml"
}

make_venv
export PATH=$venv/bin:$PATH
ansible --version | head -n 1
python --version
step_done "venv"

export ANSIBLE_COLLECTIONS_PATH=$collections
export MAILSTACK_CORE_COLLECTIONS=$collections # tests/core-versions/molecule/config.yml
export ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3
export ANSIBLE_FORCE_COLOR=false

build_and_install
report_community_crypto
step_done "artifact built and installed offline"

ansible_doc_everything
step_done "ansible-doc of every module and role"

syntax_check_playbooks
step_done "syntax check of every playbook"

run_scenario
step_done "Molecule scenario submission (converge, idempotence, verify)"

run_module_playbook
step_done "module playbook"
