#!/bin/sh
# Managed by the mailstack.sasl_postfix.postfix role.
#
# Deploy a renewed TLS certificate to Postfix, only if it is good.
# Usage: mailstack-postfix-tls-deploy [--check] [--no-reload] [--config FILE]
#                                     [--cert FILE --key FILE] [--hostname NAME]
#
# Run by certbot from its renewal-hooks/deploy directory (certbot sets
# RENEWED_LINEAGE; a renewal of another certificate is ignored), or by any
# tool that can run a command after a renewal (acme.sh --reloadcmd, ...).
#
# Postfix never reads the certificate and key files the renewal tool writes:
# it serves a checked copy, one file holding the key followed by the
# certificate chain (smtpd_tls_chain_files), which is replaced atomically. The
# new pair must pass, in order:
#   1. both files are readable PEM, the key is not encrypted;
#   2. the key belongs to the certificate (same public key; any key type);
#   3. the certificate is valid now (not expired, not valid only later);
#   4. it covers myhostname (postconf -h myhostname) and every extra name;
#   5. `postfix check` passes.
# Only then is the copy replaced and Postfix reloaded. Otherwise the previous
# certificate keeps serving, the reason goes to stderr and to the journal
# (identifier mailstack-postfix-tls-deploy, facility mail), and the exit
# status is 1.
#
# --check runs every check and reports "would deploy" or "unchanged" without
# changing anything; --no-reload replaces the copy but leaves the reload to the
# caller. Output on success: "deployed", "unchanged" or "would deploy".
set -u
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C
tag=mailstack-postfix-tls-deploy
config=/etc/postfix/tls-deploy.conf
check=no
reload=yes
cert='' key='' chain='' names='' lineage='' hostname=''

usage() {
    echo "usage: $tag [--check] [--no-reload] [--config FILE] [--cert FILE --key FILE] [--hostname NAME]" >&2
    exit 2
}

# Options first: --config names the file the other settings default to.
while [ $# -gt 0 ]; do
    case "$1" in
        --check) check=yes ;;
        --no-reload) reload=no ;;
        --config) [ $# -ge 2 ] || usage; config=$2; shift ;;
        --cert) [ $# -ge 2 ] || usage; opt_cert=$2; shift ;;
        --key) [ $# -ge 2 ] || usage; opt_key=$2; shift ;;
        --chain) [ $# -ge 2 ] || usage; opt_chain=$2; shift ;;
        --hostname) [ $# -ge 2 ] || usage; hostname=$2; shift ;;
        --names) [ $# -ge 2 ] || usage; opt_names=$2; shift ;;
        *) usage ;;
    esac
    shift
done

# The configuration: key=value lines (cert, key, chain, names, lineage), not
# run as shell code.
if [ -r "$config" ]; then
    while IFS='=' read -r name value; do
        case "$name" in
            cert) cert=$value ;;
            key) key=$value ;;
            chain) chain=$value ;;
            names) names=$value ;;
            lineage) lineage=$value ;;
        esac
    done < "$config"
fi
cert=${opt_cert:-$cert}
key=${opt_key:-$key}
chain=${opt_chain:-$chain}
names=${opt_names:-$names}
if [ -z "$cert" ] || [ -z "$key" ] || [ -z "$chain" ]; then
    echo "$tag: no certificate, key or chain file configured ($config)" >&2
    exit 2
fi

fail() {
    message="refused the certificate $cert with the key $key: $*; Postfix keeps serving the previous certificate"
    echo "$tag: $message" >&2
    logger -t "$tag" -p mail.err -- "$message" 2>/dev/null || true
    exit 1
}

# certbot runs every deploy hook after each renewal: act only on ours.
if [ -n "${RENEWED_LINEAGE:-}" ]; then
    ours=$(readlink -f "${lineage:-$(dirname "$cert")}")
    if [ "$(readlink -f "$RENEWED_LINEAGE")" != "$ours" ]; then
        echo "not this certificate: $RENEWED_LINEAGE (Postfix uses $ours)"
        exit 0
    fi
fi

[ -r "$cert" ] || fail "the certificate file is missing or unreadable"
[ -r "$key" ] || fail "the key file is missing or unreadable"
cert_pub=$(openssl x509 -in "$cert" -noout -pubkey 2>/dev/null) || fail "the certificate is not a PEM certificate"
key_pub=$(openssl pkey -in "$key" -pubout -passin pass: 2>/dev/null) ||
    fail "the key is not a PEM private key, or it is encrypted"
[ "$cert_pub" = "$key_pub" ] || fail "the key does not belong to the certificate (their public keys differ)"

not_after=$(openssl x509 -in "$cert" -noout -enddate | cut -d= -f2)
openssl x509 -in "$cert" -noout -checkend 0 >/dev/null || fail "the certificate expired on $not_after"
not_before=$(openssl x509 -in "$cert" -noout -startdate | cut -d= -f2)
if [ "$(date -d "$not_before" +%s)" -gt "$(date +%s)" ]; then
    fail "the certificate is not valid before $not_before"
fi

[ -n "$hostname" ] || hostname=$(postconf -h myhostname 2>/dev/null) || fail "postconf cannot tell myhostname"
for name in $hostname $names; do
    openssl x509 -in "$cert" -noout -checkhost "$name" | grep -q ' does match certificate' ||
        fail "the certificate does not cover the name $name"
done

if ! problems=$(postfix check 2>&1); then
    fail "postfix check failed: $problems"
fi

# The served file: the key, then the certificate chain.
chain_content() {
    { cat "$key"; echo; cat "$cert"; } | grep -v '^$'
}
if [ -f "$chain" ] && chain_content | cmp -s - "$chain"; then
    echo unchanged
    exit 0
fi
if [ "$check" = yes ]; then
    echo "would deploy"
    exit 0
fi

# Written next to the live file and renamed over it: atomic.
mkdir -p "$(dirname "$chain")" || fail "cannot create the directory of $chain"
umask 077
candidate=$(mktemp "$chain.XXXXXX") || fail "cannot write next to $chain"
trap 'rm -f "$candidate"' EXIT
chain_content > "$candidate" || fail "cannot write $candidate"
chmod 0600 "$candidate"
mv -f "$candidate" "$chain" || fail "cannot replace $chain"
trap - EXIT
fingerprint=$(openssl x509 -in "$cert" -noout -fingerprint -sha256 | cut -d= -f2)
logger -t "$tag" -p mail.info -- "deployed the certificate $cert (SHA-256 $fingerprint, valid until $not_after) to $chain" \
    2>/dev/null || true
if [ "$reload" = yes ] && postfix status >/dev/null 2>&1; then
    if ! postfix reload >/dev/null 2>&1; then
        echo "$tag: deployed $chain, but postfix reload failed" >&2
        logger -t "$tag" -p mail.err -- "deployed $chain, but postfix reload failed" 2>/dev/null || true
        exit 1
    fi
fi
echo deployed
