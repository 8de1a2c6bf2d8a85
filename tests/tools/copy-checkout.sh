#!/usr/bin/env bash
# Copy what a clean clone of this checkout would hold (tracked files and
# untracked ones git does not ignore, as they are in the working tree) to DEST.
# Usage: copy-checkout.sh DEST
set -euo pipefail
dest=${1:?usage: copy-checkout.sh DEST}
cd "$(dirname "$0")/../.."
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -C "$dest" -xf -
