#!/usr/bin/env bash
# Build the documentation site into build/docs/html (make docs):
#   1. .cache/docs-venv from docs/requirements.txt (remade when that changes);
#   2. antsibull-docs writes the RST of the modules (DOCUMENTATION, EXAMPLES,
#      RETURN), the filters, the roles (meta/argument_specs.yml), the
#      changelog (docs/docsite/config.yml), reading the collection through
#      ANSIBLE_COLLECTIONS_PATH (make collection-tree) with ansible-doc;
#   3. the front page docs/sphinx/index.rst and the Markdown pages of docs/
#      (guides/, read by myst-parser) are copied into the source tree;
#   4. sphinx-build -W: any warning fails the build;
#   5. antsibull-docs lint-collection-docs --plugin-docs (labels, references,
#      the plugins' and roles' docs), sphinx linkcheck with the external
#      links skipped (the network cannot be reached from here), and
#      check-links.py, which checks every internal link and anchor of the
#      built pages (linkcheck leaves in-page anchors unchecked);
#   6. browser-check.py opens a module page and a role page in headless
#      Chromium (Debian's chromium): the option table must be in the
#      rendered DOM and drawn in a screenshot (build/docs/screenshots/).
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=$PWD/.cache/docs-venv
out=$PWD/build/docs
collection=mailstack.sasl_postfix
: "${ANSIBLE_COLLECTIONS_PATH:?run through make docs (ANSIBLE_COLLECTIONS_PATH, collection-tree)}"

if ! cmp -s docs/requirements.txt "$venv/requirements.txt"; then
  echo "docs: installing docs/requirements.txt into $venv"
  rm -rf "$venv"
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r docs/requirements.txt
  cp docs/requirements.txt "$venv/requirements.txt"
fi
export PATH=$venv/bin:$PATH
# The collection as the checkout links it, not an installed copy.
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false

rm -rf "$out"
mkdir -p "$out/rst"
chmod og-w "$out/rst" # antsibull-docs wants its directory writable by itself only
antsibull-docs collection --use-current --fail-on-error \
  --cleanup everything --dest-dir "$out/rst" "$collection"

cp docs/sphinx/index.rst "$out/rst/index.rst"
mkdir -p "$out/rst/guides"
cp docs/*.md "$out/rst/guides/"

grep -v '^#' docs/sphinx/ansible-devel-inventory.txt | "$venv/bin/python" -c '
import sys, zlib
lines = []
for line in sys.stdin:
    if line.strip():
        name, uri, title = line.rstrip("\n").split("\t")
        lines.append(f"{name} std:label -1 {uri} {title}\n")
header = "# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n# The remainder of this file is compressed using zlib.\n"
with open(sys.argv[1], "wb") as handle:
    handle.write(header.encode() + zlib.compress("".join(lines).encode()))
' "$out/ansible-devel.inv"
export MAILSTACK_ANSIBLE_DEVEL_INV=$out/ansible-devel.inv

sphinx-build -q -W --keep-going -b html -c docs/sphinx -d "$out/doctrees" "$out/rst" "$out/html"

antsibull-docs lint-collection-docs --plugin-docs \
  "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/mailstack/sasl_postfix"
sphinx-build -q -W --keep-going -b linkcheck -c docs/sphinx -d "$out/doctrees" "$out/rst" "$out/linkcheck"
"$venv/bin/python" docs/sphinx/check-links.py "$out/html"
# A module page and a role page in headless Chromium: the option table is in
# the rendered DOM and drawn in the screenshot.
python3 docs/sphinx/browser-check.py "$out/html" "$out/screenshots" \
  collections/mailstack/sasl_postfix/sasldb_users_module.html:path,users,exclusive,update_password \
  collections/mailstack/sasl_postfix/postfix_role.html:postfix_myhostname,postfix_relayhost,postfix_submission_recipient_limit
echo "docs: built $out/html/index.html (internal links checked: $out/linkcheck/output.txt; screenshots: $out/screenshots)"
