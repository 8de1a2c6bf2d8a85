#!/usr/bin/env bash
# Build the collection artifact and check it as a user and as Galaxy would:
#
# 1. contents: the licence, the changelog, the EE metadata and every role's
#    README are in; nothing else but what a user runs or reads (an allowlist
#    of top-level entries, and development files that must stay out);
# 2. it installs offline into an empty collections path with nothing
#    installed first (galaxy.yml declares no dependency) and adds no other
#    collection: the path then holds mailstack.sasl_postfix alone, and
#    `ansible-galaxy collection list community.crypto` shows no copy of its
#    own, only the one the `ansible` package in .venv bundles, if any; and
#    ansible-doc renders every module and role from the installed copy;
# 3. ansible-builder introspect finds bindep.txt's packages through
#    meta/execution-environment.yml;
# 4. galaxy-importer, what Ansible Galaxy runs on an upload (ansible-doc,
#    ansible-lint, metadata), imports it and prints no ERROR.
#
# galaxy-importer and ansible-builder live in .cache/venv-galaxy-importer
# (tests/galaxy-importer.txt); their pins do not mix with .venv's.
set -euo pipefail
cd "$(dirname "$0")/.."

importer_venv=$PWD/.cache/venv-galaxy-importer

fail() { echo "build-check: $*" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ansible-galaxy collection build --force --output-path "$work/dist" . >/dev/null
tarball=$(ls "$work"/dist/mailstack-sasl_postfix-*.tar.gz)
echo "build-check: built $(basename "$tarball") ($(du -h "$tarball" | cut -f1))"

# --- 1. contents
contents=$(tar -tzf "$tarball")
unexpected=$(grep -Ev '^(MANIFEST\.json|FILES\.json|README\.md|LICENSE|LICENSES|CHANGELOG\.rst|bindep\.txt|changelogs|docs|meta|playbooks|plugins|roles)(/|$)' <<<"$contents" || true)
[ -z "$unexpected" ] || fail "the artifact holds top-level entries no user needs (build_ignore in galaxy.yml):
$(head -20 <<<"$unexpected")"
forbidden=$(grep -E '(^|/)(\.venv|\.cache|\.git|\.pytest_cache|__pycache__|molecule|bench|tests)(/|$)|\.pyc$|^changelogs/(fragments/|\.plugin-cache\.yaml)|^docs/testing\.md$|^playbooks/demo/' <<<"$contents" || true)
[ -z "$forbidden" ] || fail "the artifact holds development files:
$(head -20 <<<"$forbidden")"
roles=$(find roles -mindepth 1 -maxdepth 1 -type d -exec basename {} \; | sort)
required="LICENSE LICENSES/GPL-3.0-or-later.txt README.md CHANGELOG.rst changelogs/changelog.yaml
  meta/runtime.yml meta/execution-environment.yml bindep.txt"
for role in $roles; do required="$required roles/$role/README.md roles/$role/meta/argument_specs.yml"; done
for file in $required; do
  grep -qx "$file" <<<"$contents" || fail "the artifact lacks $file"
done
tar -xzf "$tarball" -C "$work" LICENSE
if ! grep -q 'GNU GENERAL PUBLIC LICENSE' "$work/LICENSE" || ! grep -q 'Version 3, 29 June 2007' "$work/LICENSE"; then
  fail "LICENSE is not the GNU GPL v3 text that galaxy.yml's GPL-3.0-or-later names"
fi
echo "build-check: contents: licence, changelog, EE metadata and $(wc -w <<<"$roles") role READMEs in; no development files"

# --- 2. offline install with nothing installed first, nothing else pulled in, ansible-doc
installed_root=$work/installed
# Not the checkout the Makefile points ANSIBLE_COLLECTIONS_PATH at: only the
# artifact, into an empty path.
ANSIBLE_COLLECTIONS_PATH=$installed_root \
  ansible-galaxy collection install --offline -p "$installed_root" "$tarball" >/dev/null
installed=$installed_root/ansible_collections/mailstack/sasl_postfix
[ -f "$installed/MANIFEST.json" ] || fail "install left no MANIFEST.json"
present=$(cd "$installed_root/ansible_collections" && find . -mindepth 2 -maxdepth 2 -type d | sed 's|^\./||' | sort)
[ "$present" = mailstack/sasl_postfix ] || fail "the install brought more than mailstack.sasl_postfix:
$present"
# The `ansible` package in .venv bundles a community.crypto; the install must
# not have added a second copy beside it (0.1.0's range did, from Galaxy).
crypto_copies=$(ANSIBLE_COLLECTIONS_PATH=$installed_root ansible-galaxy collection list community.crypto 2>/dev/null |
  grep -c '^community\.crypto ' || true)
[ "$crypto_copies" -le 1 ] || fail "ansible-galaxy collection list shows $crypto_copies copies of community.crypto"

modules=$(find plugins/modules -name '*.py' ! -name '__init__.py' -exec basename {} .py \; | sort)
for module in $modules; do
  ANSIBLE_COLLECTIONS_PATH=$installed_root ansible-doc "mailstack.sasl_postfix.$module" >/dev/null ||
    fail "ansible-doc cannot render mailstack.sasl_postfix.$module"
done
for role in $roles; do
  ANSIBLE_COLLECTIONS_PATH=$installed_root ansible-doc -t role "mailstack.sasl_postfix.$role" >/dev/null ||
    fail "ansible-doc cannot render role mailstack.sasl_postfix.$role"
done
echo "build-check: installed offline into an empty path, alone (community.crypto copies listed: $crypto_copies, from the ansible package, not the install); ansible-doc renders $(wc -w <<<"$modules") modules and $(wc -w <<<"$roles") roles"

# --- 3. execution-environment metadata
tests/tools/make-venv.sh "$importer_venv" tests/galaxy-importer.txt
introspected=$("$importer_venv/bin/ansible-builder" introspect --sanitize "$installed_root")
packages=$(sed -e 's/#.*//' -e '/^\s*$/d' bindep.txt)
while read -r entry; do
  grep -qF "'$entry  # from collection mailstack.sasl_postfix'" <<<"$introspected" ||
    fail "ansible-builder introspect does not list '$entry':
$introspected"
done <<<"$packages"
echo "build-check: ansible-builder introspect lists the $(wc -l <<<"$packages") bindep.txt packages"

# --- 4. galaxy-importer
# The importer sees no collection but the artifact, as on Galaxy. An importer
# venv made before the dependency went holds the community.crypto that
# build-check put into its site-packages then: removed.
site_packages=$("$importer_venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
rm -rf "$site_packages/ansible_collections/community/crypto"
status=0
(cd "$work" && env -u ANSIBLE_COLLECTIONS_PATH PATH="$importer_venv/bin:$PATH" \
  python -m galaxy_importer.main "$tarball") >"$work/importer.log" 2>&1 || status=$?
if [ "$status" -ne 0 ] || grep -q 'ERROR' "$work/importer.log"; then
  cat "$work/importer.log" >&2
  fail "galaxy-importer failed (exit $status) or printed an ERROR"
fi
grep -q '^Importer processing completed successfully' "$work/importer.log" || {
  cat "$work/importer.log" >&2
  fail "galaxy-importer did not say it completed"
}
warnings=$(grep -c '^WARNING' "$work/importer.log" || true)
grep '^WARNING' "$work/importer.log" || true
echo "build-check: galaxy-importer $("$importer_venv/bin/pip" show galaxy-importer | sed -n 's/^Version: //p'): imported, no ERROR, $warnings warnings"
