#!/usr/bin/env bash
# Check that a release's version agrees everywhere, then build its artifact.
# Usage: release.sh X.Y.Z [--check-only]      (make release VERSION=X.Y.Z)
#
# Refuses, naming what disagrees, unless all of these hold:
#   - X.Y.Z is a version (three numbers);
#   - galaxy.yml's `version` is X.Y.Z;
#   - changelogs/changelog.yaml has the release X.Y.Z (antsibull-changelog
#     release wrote it) and CHANGELOG.rst its section `vX.Y.Z` (generated from
#     it), and no fragment is left in changelogs/fragments (a fragment there
#     is a change the release does not describe);
#   - the working tree is clean (the artifact is what the tag holds);
#   - the annotated tag X.Y.Z exists and points at HEAD. The script never
#     creates it: tagging is the maintainer's deliberate step after the
#     release commit (docs/releasing.md), and the tag must exist before the
#     artifact is built from it.
# Then it builds build/mailstack-sasl_postfix-X.Y.Z.tar.gz with
# ansible-galaxy collection build (not with --check-only).
# PYTHON (default python3) must have PyYAML.
set -euo pipefail

usage="usage: release.sh X.Y.Z [--check-only]"
version=${1:-}
check_only=false
case ${2:-} in
  '') ;;
  --check-only) check_only=true ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
python=${PYTHON:-python3}

cd "$(dirname "$0")/../.."

problems=()
problem() { problems+=("$*"); }

if [ -z "$version" ]; then
  echo "release: no version given (make release VERSION=X.Y.Z)" >&2
  exit 2
fi
if ! [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "release: '$version' is not a version X.Y.Z" >&2
  exit 2
fi

# galaxy.yml and changelogs/changelog.yaml, read as YAML.
galaxy_version=$("$python" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["version"])' galaxy.yml)
[ "$galaxy_version" = "$version" ] ||
  problem "galaxy.yml says version $galaxy_version, not $version (set it in the release commit)"

released=$("$python" -c '
import sys, yaml
data = yaml.safe_load(open(sys.argv[1])) or {}
print("yes" if sys.argv[2] in (data.get("releases") or {}) else "no")
' changelogs/changelog.yaml "$version")
[ "$released" = yes ] ||
  problem "changelogs/changelog.yaml has no release $version (run antsibull-changelog release --version $version)"

grep -qx "v${version//./\\.}" CHANGELOG.rst ||
  problem "CHANGELOG.rst has no section v$version (antsibull-changelog release writes it from changelogs/changelog.yaml)"

fragments=$(find changelogs/fragments -type f ! -name .keep 2>/dev/null | sort)
[ -z "$fragments" ] ||
  problem "changelogs/fragments holds fragments no release describes ($(tr '\n' ' ' <<<"$fragments" | sed 's/ $//')): antsibull-changelog release consumes them"

dirty=$(git status --porcelain)
[ -z "$dirty" ] ||
  problem "the working tree is not clean (commit or remove: $(head -5 <<<"$dirty" | sed 's/^ *//' | paste -sd ';' | sed 's/;/; /g'))"

head_commit=$(git rev-parse HEAD)
if ! git rev-parse -q --verify "refs/tags/$version" >/dev/null; then
  problem "no tag $version (git tag -a $version -m 'mailstack.sasl_postfix $version' on the release commit)"
else
  [ "$(git cat-file -t "refs/tags/$version")" = tag ] ||
    problem "tag $version is a lightweight tag, not an annotated one (git tag -a)"
  tag_commit=$(git rev-parse "refs/tags/$version^{commit}")
  [ "$tag_commit" = "$head_commit" ] ||
    problem "tag $version is on ${tag_commit:0:12}, not on HEAD (${head_commit:0:12})"
fi

if [ ${#problems[@]} -gt 0 ]; then
  echo "release $version refused: galaxy.yml, the changelog and the tag do not agree:" >&2
  printf '  - %s\n' "${problems[@]}" >&2
  exit 1
fi
echo "release $version: galaxy.yml, changelogs/changelog.yaml, CHANGELOG.rst and tag $version (HEAD ${head_commit:0:12}) agree"
$check_only && exit 0

mkdir -p build
ansible-galaxy collection build --force --output-path build . >/dev/null
tarball=build/mailstack-sasl_postfix-$version.tar.gz
[ -f "$tarball" ] || { echo "release: ansible-galaxy did not write $tarball" >&2; exit 1; }
echo "release $version: built $tarball; publish it and push the tag (git push origin $version)"
