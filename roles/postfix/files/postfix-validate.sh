#!/bin/sh
# Managed by the mailstack.sasl_postfix.postfix role.
#
# Validate a candidate Postfix configuration before it replaces the live one.
# Usage: mailstack-postfix-validate CANDIDATE_FILE
# The directory of CANDIDATE_FILE must hold the complete candidate pair,
# main.cf and master.cf. Exit status 0 means both may go live.
#
# Checks:
#  1. postconf parses main.cf (-n), master.cf (-M) and the service
#     overrides (-P) without any warning: a misspelt or unknown parameter,
#     or a malformed master.cf line, fails the check.
#  2. postfix check accepts the directory.
#  3. No open relay: smtpd_relay_restrictions, in main.cf and in every
#     master.cf -o override, reaches reject_unauth_destination,
#     defer_unauth_destination, reject or defer before any bare permit.
set -eu
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

dir=$(dirname "$1")
for f in main.cf master.cf; do
    if [ ! -f "$dir/$f" ]; then
        echo "candidate $dir/$f is missing" >&2
        exit 2
    fi
done

errors=$(mktemp)
trap 'rm -f "$errors"' EXIT

for option in -n -M -P; do
    if ! postconf -c "$dir" "$option" >/dev/null 2>>"$errors"; then
        cat "$errors" >&2
        exit 1
    fi
done
if [ -s "$errors" ]; then
    echo "postconf reported problems in the candidate configuration:" >&2
    cat "$errors" >&2
    exit 1
fi

if ! postfix -c "$dir" check >/dev/null 2>"$errors"; then
    echo "postfix check rejected the candidate configuration:" >&2
    cat "$errors" >&2
    exit 1
fi

# relay_guard WHERE VALUE: fail unless VALUE denies unauthenticated relaying.
relay_guard() {
    where=$1
    # Expand one level of $parameter references through the candidate main.cf.
    tokens=""
    for token in $(printf '%s\n' "$2" | tr ',' ' '); do
        case "$token" in
            \$*) tokens="$tokens $(postconf -c "$dir" -xh "${token#\$}" | tr ',' ' ')" ;;
            *) tokens="$tokens $token" ;;
        esac
    done
    for token in $tokens; do
        case "$token" in
            reject_unauth_destination|defer_unauth_destination|reject|defer) return 0 ;;
            permit)
                echo "open relay: $where has a bare 'permit' before reject_unauth_destination" >&2
                exit 1 ;;
        esac
    done
    echo "open relay: $where does not contain reject_unauth_destination" >&2
    exit 1
}

relay_guard "smtpd_relay_restrictions in main.cf" "$(postconf -c "$dir" -xh smtpd_relay_restrictions)"
postconf -c "$dir" -P 2>/dev/null | grep '/smtpd_relay_restrictions = ' > "$errors" || true
while IFS= read -r line; do
    relay_guard "${line%% = *} in master.cf" "${line#* = }"
done < "$errors"
exit 0
