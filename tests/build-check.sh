#!/usr/bin/env bash
# Build the collection artifact, install it into a temporary path, and check
# that it is installable, that ansible-doc finds every module by its FQCN and
# that no venv, cache, test image or molecule scenario went into it.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ansible-galaxy collection build --force --output-path "$work/dist" . >/dev/null
tarball=$(ls "$work"/dist/mailstack-sasl_postfix-*.tar.gz)
echo "build-check: built $(basename "$tarball") ($(du -h "$tarball" | cut -f1))"

forbidden=$(tar -tzf "$tarball" | grep -E '(^|/)(\.venv|\.cache|\.git|\.pytest_cache|__pycache__|molecule|bench|tests/hosts|tests/unit|tests/modules)(/|$)|\.pyc$' || true)
if [ -n "$forbidden" ]; then
  echo "build-check: the artifact holds files that must stay out:" >&2
  echo "$forbidden" | head -20 >&2
  exit 1
fi

# --offline: Galaxy is unreachable; dependencies come from the `ansible` package.
# The Makefile points ANSIBLE_COLLECTIONS_PATH at the checkout: ignore it here.
env -u ANSIBLE_COLLECTIONS_PATH ansible-galaxy collection install --force --offline --no-deps \
  -p "$work/installed" "$tarball" >/dev/null
installed="$work/installed/ansible_collections/mailstack/sasl_postfix"
[ -f "$installed/MANIFEST.json" ] || { echo "build-check: install left no MANIFEST.json" >&2; exit 1; }

modules=$(find plugins/modules -name '*.py' ! -name '__init__.py' -exec basename {} .py \; | sort)
for module in $modules; do
  ANSIBLE_COLLECTIONS_PATH="$work/installed" ansible-doc "mailstack.sasl_postfix.$module" >/dev/null \
    || { echo "build-check: ansible-doc cannot render mailstack.sasl_postfix.$module" >&2; exit 1; }
done
roles=$(find roles -mindepth 1 -maxdepth 1 -type d -exec basename {} \; 2>/dev/null | sort)
for role in $roles; do
  ANSIBLE_COLLECTIONS_PATH="$work/installed" ansible-doc -t role "mailstack.sasl_postfix.$role" >/dev/null \
    || { echo "build-check: ansible-doc cannot render role mailstack.sasl_postfix.$role" >&2; exit 1; }
done
echo "build-check: installed from the tarball; ansible-doc renders $(wc -w <<<"$modules") modules and $(wc -w <<<"$roles") roles"
