#!/usr/bin/env bash
# The demo: a Debian 12 container with systemd, configured by playbooks/site.yml
# as an SMTP AUTH submission server, then a real AUTH session with swaks
# inside it (port 587, STARTTLS, AUTH PLAIN) whose dialog is printed.
#
#   tests/hosts/demo.sh up       (make demo)        start, converge, talk SMTP
#   tests/hosts/demo.sh session  one AUTH session as $MAILSTACK_DEMO_USER
#                                with $MAILSTACK_DEMO_PASSWORD (both from the
#                                environment), against a demo that is up
#   tests/hosts/demo.sh down     (make demo-clean)  remove the container and network
#
# Needs: podman (+ runc, netavark, iptables), the image
# localhost/mailstack-debian:12, the venv and the collection tree: `make demo`
# provides all of them.
#
# The password never appears on a command line: Ansible reads it from the
# environment, and swaks reads it from its standard input when it prompts
# for it (bash's builtin printf writes it there, so no process's argv holds
# it). swaks's own environment and config-file options are parsed like its
# command line, so a password beginning with "-" would be taken for an option.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export CONTAINERS_CONF="$ROOT/tests/hosts/containers.conf"
export ANSIBLE_COLLECTIONS_PATH="$ROOT/.cache/collections"
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_FORCE_COLOR=false ANSIBLE_NOCOLOR=true
export ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_PYTHON_INTERPRETER="$ROOT/.venv/bin/python"

NAME=mailstack-demo
NETWORK=mailstack-demo
IMAGE=${MAILSTACK_DEMO_IMAGE:-localhost/mailstack-debian:12}
MAILHOST=mail.demo.mailstack.test
USER_NAME=demo
PORT=587

say() { printf '\n=== %s\n' "$*"; }
in_demo() { podman exec "$NAME" "$@"; }

down() {
    podman rm --force --time 5 "$NAME" >/dev/null 2>&1 || true
    podman network rm "$NETWORK" >/dev/null 2>&1 || true
    echo "demo removed (container and network $NAME)"
}

start_container() {
    say "Starting container $NAME ($IMAGE, systemd) on network $NETWORK"
    podman network exists "$NETWORK" || podman network create "$NETWORK" >/dev/null
    if ! podman container exists "$NAME"; then
        podman run --detach --name "$NAME" --hostname "$MAILHOST" --network "$NETWORK" \
            --systemd=always "$IMAGE" /sbin/init >/dev/null
    fi
    podman start "$NAME" >/dev/null
    local state=unknown
    for _ in $(seq 60); do
        state=$(in_demo systemctl is-system-running 2>/dev/null || true)
        [[ $state == running || $state == degraded ]] && break
        sleep 1
    done
    echo "systemd in the container: $state"
}

converge() {
    say "Applying playbooks/site.yml (roles postfix, cyrus_sasl, sasl_users)"
    (cd "$ROOT" && ansible-playbook -i playbooks/demo/inventory.yml playbooks/site.yml)
}

install_client() {
    say "Installing swaks in the container and a local mailbox owner ($USER_NAME)"
    in_demo bash -c "id $USER_NAME >/dev/null 2>&1 || useradd --create-home $USER_NAME"
    podman exec -e DEBIAN_FRONTEND=noninteractive "$NAME" apt-get install -y -qq --no-install-recommends \
        swaks libnet-ssleay-perl libio-socket-ssl-perl >/dev/null
}

# What was deployed, read back from the running Postfix and Cyrus SASL.
show_deployment() {
    say "Deployed"
    local address service services=()
    address=$(podman inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$NAME")
    for service in $(in_demo postconf -M | awk '$2 == "inet" { print $1 }'); do
        case $service in
            smtp) services+=("25 (smtp, STARTTLS offered)") ;;
            submission) services+=("587 (submission, STARTTLS)") ;;
            submissions) services+=("465 (submissions, implicit TLS)") ;;
            *) services+=("$service") ;;
        esac
    done
    echo "host:        $NAME, hostname $(in_demo postconf -h myhostname), address $address (network $NETWORK)"
    echo "listening:   ${services[0]}"
    printf '             %s\n' "${services[@]:1}"
    local sasl_dir
    sasl_dir=$(in_demo postconf -h cyrus_sasl_config_path)
    echo "mechanisms:  $(in_demo sed -n 's/^mech_list: *//p' "${sasl_dir:-/etc/postfix/sasl}/smtpd.conf")"
    echo "SASL users:  $USER_NAME@$(in_demo postconf -h smtpd_sasl_local_domain) (password generated for this run, not shown)"
}

# swaks already replaces the password (--auth-hide-password); the base64
# of the AUTH PLAIN line, which also carries the user name, is hidden too.
mask_credentials() { sed -E 's/^( *~> AUTH PLAIN)( .*)?$/\1 <credentials hidden>/'; }

# Whether the dialog shows the password or the base64 of the AUTH PLAIN
# response. A password shorter than 8 characters is not looked for: it could
# match any part of a dialog.
credentials_shown() {
    local user=$1 dialog=$2 encoded
    encoded=$(printf '\0%s\0%s' "$user" "$MAILSTACK_DEMO_PASSWORD" | base64 -w0)
    grep -qF -- "$encoded" <<<"$dialog" && return 0
    [[ ${#MAILSTACK_DEMO_PASSWORD} -ge 8 ]] && grep -qF -- "$MAILSTACK_DEMO_PASSWORD" <<<"$dialog"
}

# One AUTH PLAIN session after STARTTLS on $PORT, with a message to the
# user's own mailbox; checks acceptance, delivery, and that the dialog
# shows no credentials.
session() {
    local user=${MAILSTACK_DEMO_USER:-$USER_NAME}
    : "${MAILSTACK_DEMO_PASSWORD:?MAILSTACK_DEMO_PASSWORD must be set}"
    local token dialog shown rc ok=true
    token="mailstack-demo-$(date +%s%N)"
    say "SMTP dialog: swaks -> 127.0.0.1:$PORT, STARTTLS, AUTH PLAIN as $user (credentials masked)"
    set +e
    dialog=$(printf '%s\n' "$MAILSTACK_DEMO_PASSWORD" | podman exec --interactive "$NAME" \
        swaks --server 127.0.0.1 --port "$PORT" --tls \
        --auth PLAIN --auth-user "$user" --auth-hide-password \
        --from "$USER_NAME@$MAILHOST" --to "$USER_NAME@$MAILHOST" \
        --header "Subject: $token" --body "Sent by make demo." --timeout 30 2>&1)
    rc=$?
    set -e
    # swaks prompts "Password: " before reading it from stdin.
    shown=$(printf '%s\n' "${dialog#Password: }" | mask_credentials)
    printf '%s\n' "$shown"

    say "Result"
    if credentials_shown "$user" "$shown"; then
        echo "the credentials appeared in the dialog: NOT masked"; ok=false
    fi
    if grep -q '^ *<~ *235 2.7.0 Authentication successful' <<<"$dialog"; then
        echo "AUTH PLAIN after STARTTLS on $PORT: accepted (235)"
    else
        echo "AUTH PLAIN after STARTTLS on $PORT: FAILED"; ok=false
    fi
    if [[ $rc -eq 0 ]] && grep -q '250 2.0.0 Ok: queued as' <<<"$dialog"; then
        echo "message: accepted for delivery ($(grep -o 'queued as [A-Z0-9]*' <<<"$dialog"))"
    else
        echo "message: NOT accepted (swaks exit $rc)"; ok=false
    fi
    if $ok && wait_for_delivery "$token"; then
        echo "delivered to /var/mail/$USER_NAME:"
        in_demo grep -E "^(From |Subject: $token)" "/var/mail/$USER_NAME" | tail -n 2 | sed 's/^/    /'
    elif $ok; then
        echo "delivery to /var/mail/$USER_NAME: NOT seen"; ok=false
    fi
    $ok
}

wait_for_delivery() {
    for _ in $(seq 30); do
        in_demo grep -qF -- "$1" "/var/mail/$USER_NAME" 2>/dev/null && return 0
        sleep 1
    done
    return 1
}

up() {
    podman image exists "$IMAGE" || "$ROOT/tests/hosts/build-images.sh" bookworm
    start_container
    # A fresh password for each demo run, kept only in this process's environment.
    MAILSTACK_DEMO_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(15))')
    export MAILSTACK_DEMO_PASSWORD
    converge
    install_client
    show_deployment
    if session; then
        echo; echo "DEMO OK - the container stays up; 'make demo-clean' removes it."
    else
        echo; echo "DEMO FAILED - 'make demo-clean' removes the container."; exit 1
    fi
}

case "${1:-up}" in
    up) up ;;
    session) session ;;
    down) down ;;
    *) echo "usage: $0 up|session|down" >&2; exit 2 ;;
esac
