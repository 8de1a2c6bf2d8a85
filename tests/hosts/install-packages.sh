#!/usr/bin/env bash
# apt-get install the given Debian packages that are not installed yet, with
# their recommends (podman's bring netavark's helpers, swaks's the Perl TLS
# modules). Prints nothing when all are there. Usage: install-packages.sh PKG...
set -euo pipefail

missing=()
for package in "$@"; do
  dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null | grep -q 'install ok installed' ||
    missing+=("$package")
done
[ ${#missing[@]} -gt 0 ] || exit 0

echo "install-packages: installing ${missing[*]}"
# Postfix's debconf question would otherwise stop a non-interactive install.
echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
