#!/usr/bin/env bash
# The demo: a Debian 12 container with systemd, configured by playbooks/site.yml
# as an SMTP AUTH submission server, then a real AUTH session with swaks
# inside it (port 587, STARTTLS, AUTH PLAIN) whose dialog is printed.
#
#   tests/hosts/demo.sh up      (make demo)        build/start, converge, talk SMTP
#   tests/hosts/demo.sh down    (make demo-clean)  remove the container and network
#
# Needs: podman (+ runc), the image localhost/mailstack-debian:12 (make images),
# the venv (make venv) and the collection tree (make collection-tree).
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

say() { printf '\n=== %s\n' "$*"; }

down() {
    podman rm --force --time 5 "$NAME" >/dev/null 2>&1 || true
    podman network rm "$NETWORK" >/dev/null 2>&1 || true
    echo "demo removed (container and network $NAME)"
}

up() {
    podman image exists "$IMAGE" || "$ROOT/tests/hosts/build-images.sh"

    say "Starting container $NAME ($IMAGE, systemd) on network $NETWORK"
    podman network exists "$NETWORK" || podman network create "$NETWORK" >/dev/null
    if ! podman container exists "$NAME"; then
        podman run --detach --name "$NAME" --hostname "$MAILHOST" --network "$NETWORK" \
            --systemd=always "$IMAGE" /sbin/init >/dev/null
    fi
    podman start "$NAME" >/dev/null
    for _ in $(seq 60); do
        state=$(podman exec "$NAME" systemctl is-system-running 2>/dev/null || true)
        [[ $state == running || $state == degraded ]] && break
        sleep 1
    done
    echo "systemd in the container: ${state:-unknown}"

    # A fresh password for each demo run, kept only in this process's environment.
    MAILSTACK_DEMO_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(15))')
    export MAILSTACK_DEMO_PASSWORD

    say "Applying playbooks/site.yml (roles postfix, cyrus_sasl, sasl_users)"
    (cd "$ROOT" && ansible-playbook -i playbooks/demo/inventory.yml playbooks/site.yml)

    say "Installing swaks in the container and a local mailbox owner ($USER_NAME)"
    podman exec "$NAME" bash -c "id $USER_NAME >/dev/null 2>&1 || useradd --create-home $USER_NAME"
    podman exec -e DEBIAN_FRONTEND=noninteractive "$NAME" apt-get install -y -qq --no-install-recommends \
        swaks libnet-ssleay-perl libio-socket-ssl-perl >/dev/null

    local token
    token="mailstack-demo-$(date +%s)"
    say "SMTP dialog: swaks -> 127.0.0.1:587, STARTTLS, AUTH PLAIN as $USER_NAME (password not shown)"
    set +e
    dialog=$(podman exec "$NAME" swaks --server 127.0.0.1 --port 587 --tls \
        --auth PLAIN --auth-user "$USER_NAME" --auth-password "$MAILSTACK_DEMO_PASSWORD" \
        --from "$USER_NAME@$MAILHOST" --to "$USER_NAME@$MAILHOST" \
        --header "Subject: $token" --body "Sent by make demo." --timeout 30 2>&1)
    rc=$?
    set -e
    # AUTH PLAIN carries the password in base64: mask that line.
    printf '%s\n' "$dialog" | sed -E 's/^( *~> AUTH PLAIN) .*/\1 <credentials hidden>/'

    say "Result"
    ok=true
    if grep -q '235 2.7.0 Authentication successful' <<<"$dialog"; then
        echo "AUTH PLAIN after STARTTLS on 587: accepted (235)"
    else
        echo "AUTH PLAIN after STARTTLS on 587: FAILED"; ok=false
    fi
    if [[ $rc -eq 0 ]] && grep -q '250 2.0.0 Ok: queued as' <<<"$dialog"; then
        echo "message: accepted for delivery ($(grep -o 'queued as [A-Z0-9]*' <<<"$dialog"))"
    else
        echo "message: NOT accepted (swaks exit $rc)"; ok=false
    fi
    for _ in $(seq 30); do
        podman exec "$NAME" grep -q "$token" "/var/mail/$USER_NAME" 2>/dev/null && break
        sleep 1
    done
    if podman exec "$NAME" grep -q "$token" "/var/mail/$USER_NAME" 2>/dev/null; then
        echo "delivered to /var/mail/$USER_NAME:"
        podman exec "$NAME" grep -E "^(From |Subject: $token)" "/var/mail/$USER_NAME" | tail -n 2 | sed 's/^/    /'
    else
        echo "delivery to /var/mail/$USER_NAME: NOT seen"; ok=false
    fi
    if $ok; then
        echo; echo "DEMO OK - the container stays up; 'make demo-clean' removes it."
    else
        echo; echo "DEMO FAILED"; exit 1
    fi
}

case "${1:-up}" in
    up) up ;;
    down) down ;;
    *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
