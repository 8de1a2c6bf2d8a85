#!/bin/sh
# Managed by the mailstack.sasl_postfix.postfix role.
#
# Deploy renewed TLS certificates to Postfix, only those that are good.
# Usage: mailstack-postfix-tls-deploy [--check] [--no-reload] [--config FILE]
#                                     [--cert FILE --key FILE] [--hostname NAME]
#                                     [--sni 'COPY CERT KEY NAME...']...
#
# Run by certbot from its renewal-hooks/deploy directory (certbot sets
# RENEWED_LINEAGE; the pairs of other lineages are left alone, a renewal of a
# certificate Postfix does not use is ignored), or by any tool that can run a
# command after a renewal (acme.sh --reloadcmd, ...).
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
# SNI (tls_server_sni_maps): each `sni=COPY CERT KEY NAME...` line of the
# configuration is one more certificate, served to the clients that ask for
# one of its names. It passes the same checks (4. with its own names) and gets
# its own copy COPY; a refused one keeps its previous copy while the others
# are deployed. When a copy changed, the table `sni_table=TYPE:FILE` (the
# role writes FILE: each name, then the copy to serve) is rebuilt with
# `postmap -F`, which stores the copies' content in the index: built beside
# the live index and renamed over it, so Postfix always finds a checked pair
# for every name. Copies in `sni_dir` that no `sni=` line names are removed.
#
# --check runs every check and reports "would deploy" or "unchanged" without
# changing anything; --no-reload replaces the copies but leaves the reload to
# the caller. --sni (repeated) replaces the configuration's sni= lines; with
# --sni and no certificate, only those pairs are checked. Output on success:
# "deployed", "unchanged" or "would deploy".
set -u
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C
tag=mailstack-postfix-tls-deploy
config=/etc/postfix/tls-deploy.conf
check=no
reload=yes
cert='' key='' chain='' names='' lineage='' hostname=''
sni_lines='' sni_table='' sni_dir=''
opt_sni='' opt_sni_given=no
nl='
'

usage() {
    echo "usage: $tag [--check] [--no-reload] [--config FILE] [--cert FILE --key FILE] [--hostname NAME]" \
        "[--sni 'COPY CERT KEY NAME...']..." >&2
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
        --sni) [ $# -ge 2 ] || usage; opt_sni="$opt_sni$2$nl"; opt_sni_given=yes; shift ;;
        *) usage ;;
    esac
    shift
done

# The configuration: key=value lines (cert, key, chain, names, lineage, and
# sni, sni_table, sni_dir), not run as shell code.
if [ -r "$config" ]; then
    while IFS='=' read -r name value; do
        case "$name" in
            cert) cert=$value ;;
            key) key=$value ;;
            chain) chain=$value ;;
            names) names=$value ;;
            lineage) lineage=$value ;;
            sni) sni_lines="$sni_lines$value$nl" ;;
            sni_table) sni_table=$value ;;
            sni_dir) sni_dir=$value ;;
        esac
    done < "$config"
fi
cert=${opt_cert:-$cert}
key=${opt_key:-$key}
chain=${opt_chain:-$chain}
names=${opt_names:-$names}
[ "$opt_sni_given" = no ] || sni_lines=$opt_sni
if [ -n "$cert$key$chain" ] || [ -z "$sni_lines" ]; then
    if [ -z "$cert" ] || [ -z "$key" ] || [ -z "$chain" ]; then
        echo "$tag: no certificate, key or chain file configured ($config)" >&2
        exit 2
    fi
fi

failed=no
say_error() {
    echo "$tag: $*" >&2
    logger -t "$tag" -p mail.err -- "$*" 2>/dev/null || true
    failed=yes
}

# refuse CERT KEY FOR REASON: one pair is not deployed, its previous copy stays.
refuse() {
    say_error "refused the certificate $1 with the key $2$3: $4; Postfix keeps serving the previous certificate"
}

# check_pair CERT KEY NAME...: the checks 1 to 4 of one pair. Sets reason and
# returns 1 when the pair is bad.
check_pair() {
    c=$1 k=$2
    shift 2
    reason=''
    if [ ! -r "$c" ]; then reason="the certificate file is missing or unreadable"; return 1; fi
    if [ ! -r "$k" ]; then reason="the key file is missing or unreadable"; return 1; fi
    if ! c_pub=$(openssl x509 -in "$c" -noout -pubkey 2>/dev/null); then
        reason="the certificate is not a PEM certificate"
        return 1
    fi
    if ! k_pub=$(openssl pkey -in "$k" -pubout -passin pass: 2>/dev/null); then
        reason="the key is not a PEM private key, or it is encrypted"
        return 1
    fi
    if [ "$c_pub" != "$k_pub" ]; then
        reason="the key does not belong to the certificate (their public keys differ)"
        return 1
    fi
    not_after=$(openssl x509 -in "$c" -noout -enddate | cut -d= -f2)
    if ! openssl x509 -in "$c" -noout -checkend 0 >/dev/null; then
        reason="the certificate expired on $not_after"
        return 1
    fi
    not_before=$(openssl x509 -in "$c" -noout -startdate | cut -d= -f2)
    if [ "$(date -d "$not_before" +%s)" -gt "$(date +%s)" ]; then
        reason="the certificate is not valid before $not_before"
        return 1
    fi
    for name in "$@"; do
        if ! openssl x509 -in "$c" -noout -checkhost "$name" | grep -q ' does match certificate'; then
            reason="the certificate does not cover the name $name"
            return 1
        fi
    done
    return 0
}

# The served file of a pair: the key, then the certificate chain.
chain_content() {
    { cat "$2"; echo; cat "$1"; } | grep -v '^$'
}

# current CERT KEY COPY: whether COPY already holds this pair.
current() {
    [ -f "$3" ] && chain_content "$1" "$2" | cmp -s - "$3"
}

# certbot runs every deploy hook after each renewal: act only on the pairs of
# the renewed lineage.
ours=''
renewed() {
    [ -n "${RENEWED_LINEAGE:-}" ] || return 0
    ours="$ours $1"
    [ "$(readlink -f "$RENEWED_LINEAGE")" = "$(readlink -f "$1")" ]
}

# The pairs that passed and whose copy differs: the default one (todo_default)
# and "COPY CERT KEY" lines for the SNI ones. Every SNI copy is listed in
# sni_copies, to rebuild the table and to keep them.
matched=no passed=no todo_default=no todo_sni='' sni_copies=''
if [ -n "$cert" ] && renewed "${lineage:-$(dirname "$cert")}"; then
    matched=yes
    # Word splitting: the names are separated by blanks.
    # shellcheck disable=SC2086
    if [ -z "$hostname" ] && ! hostname=$(postconf -h myhostname 2>/dev/null); then
        refuse "$cert" "$key" '' "postconf cannot tell myhostname"
    elif check_pair "$cert" "$key" $hostname $names; then
        passed=yes
        current "$cert" "$key" "$chain" || todo_default=yes
    else
        refuse "$cert" "$key" '' "$reason"
    fi
fi
while read -r s_copy s_cert s_key s_names; do
    [ -n "$s_copy" ] || continue
    sni_copies="$sni_copies $s_copy"
    renewed "$(dirname "$s_cert")" || continue
    matched=yes
    # shellcheck disable=SC2086
    if check_pair "$s_cert" "$s_key" $s_names; then
        passed=yes
        current "$s_cert" "$s_key" "$s_copy" || todo_sni="$todo_sni$s_copy $s_cert $s_key$nl"
    else
        refuse "$s_cert" "$s_key" " (SNI: $s_names)" "$reason"
    fi
done <<EOF
$sni_lines
EOF

if [ "$matched" = no ]; then
    echo "not this certificate: $RENEWED_LINEAGE (Postfix uses$ours)"
    exit 0
fi

if [ "$passed" = yes ] && ! problems=$(postfix check 2>&1); then
    say_error "refused every certificate: postfix check failed: $problems; Postfix keeps serving the previous certificates"
    exit 1
fi

# The table's index files: postmap writes these beside FILE for TYPE:FILE.
table_type=${sni_table%%:*}
table_file=${sni_table#*:}
case "$table_type" in
    hash | btree) table_suffixes=.db ;;
    lmdb) table_suffixes=.lmdb ;;
    cdb) table_suffixes=.cdb ;;
    dbm | sdbm) table_suffixes='.dir .pag' ;;
    *) table_suffixes='' ;;
esac

# Whether the table's index misses a copy's content: after a deployment, or
# when an index file is missing or older than a copy it was built from. The
# role writes the table's source after its first deployment: no source, no
# table yet.
deployed=no
table_stale() {
    [ -n "$sni_table" ] && [ -f "$table_file" ] || return 1
    [ "$deployed" = no ] || return 0
    for suffix in $table_suffixes; do
        [ -f "$table_file$suffix" ] || return 0
        for copy in $chain $sni_copies; do
            [ -z "$(find "$copy" -newer "$table_file$suffix" 2>/dev/null)" ] || return 0
        done
    done
    return 1
}

if [ "$check" = yes ]; then
    if [ "$todo_default" = yes ] || [ -n "$todo_sni" ] || table_stale; then
        echo "would deploy"
    else
        echo unchanged
    fi
    [ "$failed" = no ] || exit 1
    exit 0
fi

work=''
trap 'rm -rf "$work"' EXIT

# install CERT KEY COPY: write the copy next to the live file and rename it
# over it (atomic).
install_copy() {
    mkdir -p "$(dirname "$3")" || { say_error "cannot create the directory of $3"; return 1; }
    work=$(umask 077 && mktemp "$3.XXXXXX") || { say_error "cannot write next to $3"; return 1; }
    if ! chain_content "$1" "$2" > "$work" || ! chmod 0600 "$work" || ! mv -f "$work" "$3"; then
        say_error "cannot replace $3"
        return 1
    fi
    work=''
    fingerprint=$(openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2)
    not_after=$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)
    logger -t "$tag" -p mail.info -- "deployed the certificate $1 (SHA-256 $fingerprint, valid until $not_after) to $3" \
        2>/dev/null || true
}

if [ "$todo_default" = yes ] && install_copy "$cert" "$key" "$chain"; then
    deployed=yes
fi
while read -r s_copy s_cert s_key; do
    [ -n "$s_copy" ] || continue
    if [ ! -d "$(dirname "$s_copy")" ]; then
        (umask 077 && mkdir -p "$(dirname "$s_copy")") || true
    fi
    if install_copy "$s_cert" "$s_key" "$s_copy"; then
        deployed=yes
    fi
done <<EOF
$todo_sni
EOF

# The table, built from its source in a private directory beside it, then
# each index file renamed over the live one. postmap -F only warns about a
# file it cannot read, and leaves that name out: a warning is a failure here.
table_built=no
if table_stale; then
    if [ -z "$table_suffixes" ]; then
        say_error "the SNI table type $table_type is not one postmap indexes (hash, btree, lmdb, cdb)"
    elif ! work=$(umask 077 && mktemp -d "$(dirname "$table_file")/.sni-table.XXXXXX"); then
        say_error "cannot build the SNI table next to $table_file"
    elif ! cp "$table_file" "$work/table" || ! chmod 0600 "$work/table"; then
        say_error "cannot copy the SNI table $table_file"
    elif ! problems=$(umask 077 && postmap -F "$table_type:$work/table" 2>&1) || [ -n "$problems" ]; then
        say_error "postmap -F $sni_table failed, Postfix keeps serving the previous SNI table: $problems"
    else
        for suffix in $table_suffixes; do
            if ! chmod 0600 "$work/table$suffix" || ! mv -f "$work/table$suffix" "$table_file$suffix"; then
                say_error "cannot replace $table_file$suffix"
            fi
        done
        table_built=yes
        logger -t "$tag" -p mail.info -- "rebuilt the SNI table $sni_table" 2>/dev/null || true
    fi
    rm -rf "$work"
    work=''
fi

# Copies no sni= line names any more: the index holds its own copy of what it
# serves, so they can go once the table is rebuilt (or needed no rebuild).
if [ -n "$sni_dir" ] && [ -d "$sni_dir" ] && [ "$opt_sni_given" = no ] && [ "$failed" = no ]; then
    for file in "$sni_dir"/*.pem; do
        [ -f "$file" ] || continue
        case " $sni_copies " in
            *" $file "*) ;;
            *)
                rm -f "$file"
                logger -t "$tag" -p mail.info -- "removed $file (no SNI certificate uses it)" 2>/dev/null || true
                ;;
        esac
    done
    [ -n "$sni_copies" ] || rmdir "$sni_dir" 2>/dev/null || true
fi

if [ "$deployed" = yes ] || [ "$table_built" = yes ]; then
    if [ "$reload" = yes ] && postfix status >/dev/null 2>&1 && ! postfix reload >/dev/null 2>&1; then
        say_error "deployed, but postfix reload failed"
    fi
    echo deployed
else
    echo unchanged
fi
[ "$failed" = no ] || exit 1
