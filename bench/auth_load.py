"""AUTH load test: N STARTTLS + AUTH PLAIN sessions, C at a time, against a test container.

Each session: connect, EHLO, STARTTLS, EHLO, AUTH PLAIN, QUIT. Prints
sessions per second, p50/p95/max latency of a whole session and the
failures (any session that does not end with 235 after AUTH).

Bounded: --sessions (default 50), --concurrency (default 10) and a hard
--timeout (default 60 s) for the whole run; unfinished sessions count as
failures.

Only the project's test hosts are ever contacted: the target must be
127.0.0.1 (run inside the container) or an address of the project's podman
networks (198.18.0.0/15). Postfix's anvil limits AUTH commands per client
(smtpd_client_auth_rate_limit) except for $mynetworks, so a load test from
outside would measure the rate limit; the default is to run inside the
server container against 127.0.0.1:

  CONTAINERS_CONF=$PWD/tests/hosts/containers.conf \\
    .venv/bin/python bench/auth_load.py --container security-server --password Alice-Secret-7f3c9e1a

(--container copies this script into the container with `podman exec -i`
and runs it there with the same arguments.)

Side by side (--side-by-side): the bench builds two Debian 12 containers of
the project's image on a network of its own, one with stock Debian Postfix
(sasldb, the snakeoil RSA-2048 certificate, Debian's submission service
uncommented) and one deployed by playbooks/submission_server.yml with the
roles' defaults, creates the same SASL user in both, then runs the same load
in each against its own 127.0.0.1, ROUNDS times, alternating, and prints
sessions/s for both and the ratio role/stock. The containers and network are
removed at the end. --checkout DIR deploys the roles of another checkout (a
git worktree of an older commit, to compare before and after):

  CONTAINERS_CONF=$PWD/tests/hosts/containers.conf PATH=$PWD/.venv/bin:$PATH \\
    .venv/bin/python bench/auth_load.py --side-by-side --sessions 400 --concurrency 50 --rounds 2

Metrics on and off (--metrics-on-off): the same, with two containers both
deployed by the roles, one without and one with the metrics role
(metrics_enabled: true: the exporter follows the journal during the load);
the ratio printed is on/off:

  CONTAINERS_CONF=$PWD/tests/hosts/containers.conf PATH=$PWD/.venv/bin:$PATH \\
    .venv/bin/python bench/auth_load.py --metrics-on-off --sessions 400 --concurrency 50 --rounds 3

The password is random for each run and reaches the load client in the
environment (BENCH_AUTH_PASSWORD), never on a command line.
"""

import argparse
import asyncio
import base64
import ipaddress
import json
import os
import secrets
import ssl
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALLOWED_NETWORKS = [ipaddress.ip_network('127.0.0.0/8'), ipaddress.ip_network('198.18.0.0/15')]


async def _reply(reader):
    """Read one SMTP reply; return (code, last line)."""
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError('connection closed')
        text = line.decode('ascii', 'replace').rstrip('\r\n')
        if len(text) < 4 or text[3] != '-':
            return int(text[:3]), text


async def _command(reader, writer, line):
    writer.write(line.encode() + b'\r\n')
    await writer.drain()
    return await _reply(reader)


async def _session(args, context):
    start = time.monotonic()
    reader, writer = await asyncio.open_connection(args.server, args.port)
    try:
        code, text = await _reply(reader)
        if code != 220:
            raise RuntimeError('greeting: ' + text)
        code, text = await _command(reader, writer, 'EHLO load.mailstack.test')
        code, text = await _command(reader, writer, 'STARTTLS')
        if code != 220:
            raise RuntimeError('STARTTLS: ' + text)
        await writer.start_tls(context, server_hostname=None)
        code, text = await _command(reader, writer, 'EHLO load.mailstack.test')
        token = base64.b64encode(('\0%s\0%s' % (args.user, args.password)).encode()).decode()
        code, text = await _command(reader, writer, 'AUTH PLAIN ' + token)
        if code != 235:
            raise RuntimeError('AUTH: ' + text)
        await _command(reader, writer, 'QUIT')
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (OSError, ssl.SSLError):
            pass
    return time.monotonic() - start


async def _run(args):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test server's certificate is self-signed
    semaphore = asyncio.Semaphore(args.concurrency)
    latencies, failures = [], []

    async def one():
        async with semaphore:
            try:
                latencies.append(await _session(args, context))
            except (OSError, RuntimeError, ConnectionError, ssl.SSLError, ValueError) as exc:
                failures.append('%s: %s' % (type(exc).__name__, exc))

    tasks = [asyncio.ensure_future(one()) for _session in range(args.sessions)]
    start = time.monotonic()
    done, pending = await asyncio.wait(tasks, timeout=args.timeout)
    elapsed = time.monotonic() - start
    for task in pending:
        task.cancel()
    failures.extend(['timeout: unfinished after %ds' % args.timeout] * len(pending))
    return latencies, failures, elapsed


def _percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def _check_target(server):
    address = ipaddress.ip_address(server)
    if not any(address in network for network in ALLOWED_NETWORKS):
        sys.exit('refusing to load %s: only 127.0.0.1 or the project podman networks (198.18.0.0/15)' % server)


def _summary(latencies, failures, elapsed):
    return {
        'sessions_per_s': len(latencies) / elapsed if elapsed else 0.0,
        'p50_ms': 1000 * _percentile(latencies, 0.5) if latencies else None,
        'p95_ms': 1000 * _percentile(latencies, 0.95) if latencies else None,
        'max_ms': 1000 * max(latencies) if latencies else None,
        'elapsed_s': elapsed,
        'failures': failures,
    }


def _print_summary(args, result):
    where = 'inside container %s' % _INSIDE if _INSIDE else 'from this host'
    exempt = ' (127.0.0.0/8 is in mynetworks: exempt from smtpd_client_auth_rate_limit)' if args.server.startswith('127.') else ''
    print('target: %s:%d %s%s' % (args.server, args.port, where, exempt))
    print('sessions: %d, concurrency: %d, elapsed: %.2f s' % (args.sessions, args.concurrency, result['elapsed_s']))
    print('sessions/s: %.1f' % result['sessions_per_s'])
    if result['p50_ms'] is not None:
        print('latency p50: %.0f ms, p95: %.0f ms, max: %.0f ms' % (result['p50_ms'], result['p95_ms'], result['max_ms']))
    print('failures: %d' % len(result['failures']))
    for failure in sorted(set(result['failures']))[:10]:
        print('  %s' % failure)


def _load_in_container(container, args, env=None, extra=()):
    """Run this script inside a container against its 127.0.0.1; returns its stdout."""
    argv = ['--server', '127.0.0.1', '--port', str(args.port), '--user', args.user, '--sessions', str(args.sessions),
            '--concurrency', str(args.concurrency), '--timeout', str(args.timeout)] + list(extra)
    with open(os.path.abspath(__file__), 'rb') as handle:
        proc = subprocess.run(['podman', 'exec', '-i', '-e', 'BENCH_AUTH_PASSWORD', container, 'python3', '-',
                               '--inside', container] + argv,
                              stdin=handle, env=env, check=False, capture_output=True, timeout=args.timeout + 60)
    return proc


# --- side by side: stock Debian Postfix and the roles' deployment ---------------------------

BENCH_PREFIX = 'bench-auth'
REALM = 'bench.mailstack.test'
# Stock Debian 12: the package's own main.cf (snakeoil certificate, smtpd
# chrooted), SASL with a sasldb in the chroot, and the submission service
# as Debian's master.cf template has it (commented out there).
STOCK_SETUP = r"""
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
echo 'postfix postfix/main_mailer_type select Internet Site' | debconf-set-selections
echo "postfix postfix/mailname string $(hostname)" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq postfix sasl2-bin libsasl2-modules ssl-cert >/dev/null
printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\n' > /etc/postfix/sasl/smtpd.conf
postconf -e smtpd_sasl_auth_enable=yes smtpd_sasl_local_domain=%(realm)s \
  'smtpd_relay_restrictions=permit_mynetworks permit_sasl_authenticated defer_unauth_destination'
postconf -M 'submission/inet=submission inet n - y - - smtpd'
postconf -P submission/inet/syslog_name=postfix/submission submission/inet/smtpd_tls_security_level=encrypt \
  submission/inet/smtpd_sasl_auth_enable=yes
mkdir -p /var/spool/postfix/etc
printf '%%s' "$BENCH_AUTH_PASSWORD" | saslpasswd2 -p -c -u %(realm)s -f /var/spool/postfix/etc/sasldb2 %(user)s
chown root:sasl /var/spool/postfix/etc/sasldb2
chmod 0640 /var/spool/postfix/etc/sasldb2
adduser --quiet postfix sasl
systemctl restart postfix
"""


def _podman(*argv, env=None, check=True, **kwargs):
    proc = subprocess.run(['podman'] + list(argv), env=env, check=False, capture_output=True, text=True, **kwargs)
    if check and proc.returncode != 0:
        sys.exit('podman %s failed: %s' % (' '.join(argv[:3]), proc.stderr.strip()[-2000:]))
    return proc


def _start_container(name, network, env):
    _podman('run', '--detach', '--name', name, '--hostname', name + '.' + REALM, '--network', network,
            '--systemd=always', 'localhost/mailstack-debian:12', '/sbin/init', env=env)
    for _attempt in range(60):
        state = _podman('exec', name, 'systemctl', 'is-system-running', env=env, check=False).stdout.strip()
        if state in ('running', 'degraded'):
            return
        time.sleep(1)
    sys.exit('%s: systemd did not come up' % name)


def _deploy_stock(name, args, env):
    script = STOCK_SETUP % {'realm': REALM, 'user': args.user}
    _podman('exec', '-i', '-e', 'BENCH_AUTH_PASSWORD', name, 'bash', '-s', input=script, env=env)


def _deploy_role(name, args, env, workdir, extra_vars=None):
    checkout = os.path.abspath(args.checkout or REPO)
    collections = os.path.join(workdir, name, 'collections')
    os.makedirs(os.path.join(collections, 'ansible_collections', 'mailstack'))
    os.symlink(checkout, os.path.join(collections, 'ansible_collections', 'mailstack', 'sasl_postfix'))
    inventory = os.path.join(workdir, name, 'inventory.json')
    with open(inventory, 'w', encoding='utf-8') as handle:
        json.dump({'submission_servers': {'hosts': {name: dict(extra_vars or {}, **{
            'ansible_connection': 'containers.podman.podman',
            'ansible_python_interpreter': '/usr/bin/python3',
            'ansible_become': False,
            'postfix_myhostname': name + '.' + REALM,
            'postfix_mydomain': REALM,
            'postfix_smtpd_sasl_local_domain': REALM,
            'postfix_submission_enabled': True,
            'postfix_main_cf_extra': {'defer_transports': 'smtp', 'smtpd_peername_lookup': False},
            'sasl_users_default_realm': REALM,
            'sasl_users_list': [{'name': args.user,
                                 'password': "{{ lookup('ansible.builtin.env', 'BENCH_AUTH_PASSWORD') }}"}],
        })}}}, handle)
    role_env = dict(env, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR='true')
    # The podman connection plugin comes from the venv's `ansible` package.
    proc = subprocess.run(['ansible-playbook', '-i', inventory, os.path.join(checkout, 'playbooks', 'submission_server.yml')],
                          env=role_env, check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit('the roles did not converge:\n' + proc.stdout[-4000:])


def _load_round(name, args, env):
    proc = _load_in_container(name, args, env=env, extra=['--json'])
    try:
        return json.loads(proc.stdout.decode())
    except ValueError:
        sys.exit('load in %s failed (rc=%d): %s' % (name, proc.returncode, proc.stderr.decode()[-2000:]))


def _side_by_side(args):
    """stock Debian Postfix vs the roles, or (--metrics-on-off) the roles without and with the metrics role."""
    env = dict(os.environ, BENCH_AUTH_PASSWORD=secrets.token_urlsafe(18))
    env.setdefault('CONTAINERS_CONF', os.path.join(REPO, 'tests', 'hosts', 'containers.conf'))
    network = BENCH_PREFIX
    if args.metrics_on_off:
        containers = {'off': BENCH_PREFIX + '-metrics-off', 'on': BENCH_PREFIX + '-metrics-on'}
    else:
        containers = {'stock': BENCH_PREFIX + '-stock', 'role': BENCH_PREFIX + '-role'}
    workdir = tempfile.mkdtemp(prefix='bench-auth-')
    try:
        _podman('network', 'create', network, env=env)
        for name in containers.values():
            _start_container(name, network, env)
        for label, name in containers.items():
            start = time.monotonic()
            if label == 'stock':
                _deploy_stock(name, args, env)
                print('stock Debian Postfix deployed in %.0f s' % (time.monotonic() - start))
                continue
            extra = {'metrics_enabled': label == 'on'} if args.metrics_on_off else {}
            _deploy_role(name, args, env, workdir, extra)
            print('roles deployed in %.0f s (%s%s)' % (time.monotonic() - start, args.checkout or 'this checkout',
                                                       ', metrics ' + label if args.metrics_on_off else ''))
        _report_rounds(args, containers, env)
        if args.metrics_on_off:
            _report_exporter_counts(containers['on'], args, env)
    finally:
        for name in containers.values():
            _podman('rm', '--force', '--time', '0', name, env=env, check=False)
        _podman('network', 'rm', network, env=env, check=False)
        subprocess.run(['rm', '-rf', workdir], check=False)


SCRAPE = ("import sys, urllib.request; "
          "sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:9154/metrics', timeout=10).read().decode())")


def _report_exporter_counts(name, args, env):
    """What the exporter counted of the load: every session's AUTH succeeded, so rounds x sessions, once it caught up."""
    expected = args.rounds * args.sessions
    deadline = time.monotonic() + 60
    while True:
        text = _podman('exec', name, 'python3', '-c', SCRAPE, env=env).stdout
        counted = sum(float(line.rsplit(' ', 1)[1]) for line in text.splitlines()
                      if line.startswith('mailstack_smtp_auth_successes_total{'))
        if counted >= expected or time.monotonic() > deadline:
            break
        time.sleep(1)
    print('metrics on: the exporter counted %d AUTH successes of the %d sessions' % (counted, expected))


def _report_rounds(args, containers, env):
    """ROUNDS rounds of the same load in each container, alternating; the ratio is the second to the first."""
    baseline, candidate = list(containers)
    print('load: %d STARTTLS + AUTH PLAIN sessions, %d concurrent, port %d, inside each container to 127.0.0.1'
          % (args.sessions, args.concurrency, args.port))
    print('%-6s %-6s %12s %8s %8s %9s' % ('round', 'target', 'sessions/s', 'p50 ms', 'p95 ms', 'failures'))
    totals = {label: [] for label in containers}
    for round_number in range(1, args.rounds + 1):
        for label, name in containers.items():
            result = _load_round(name, args, env)
            totals[label].append(result)
            print('%-6d %-6s %12.1f %8.0f %8.0f %9d' % (
                round_number, label, result['sessions_per_s'], result['p50_ms'] or 0, result['p95_ms'] or 0,
                len(result['failures'])))
        ratio = totals[candidate][-1]['sessions_per_s'] / max(totals[baseline][-1]['sessions_per_s'], 1e-9)
        print('round %d: %s/%s = %.2fx' % (round_number, candidate, baseline, ratio))
    mean = {label: sum(r['sessions_per_s'] for r in results) / len(results) for label, results in totals.items()}
    print('mean sessions/s: %s %.1f, %s %.1f; %s/%s = %.2fx; failures: %s %d, %s %d' % (
        baseline, mean[baseline], candidate, mean[candidate], candidate, baseline,
        mean[candidate] / max(mean[baseline], 1e-9),
        baseline, sum(len(r['failures']) for r in totals[baseline]),
        candidate, sum(len(r['failures']) for r in totals[candidate])))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--server', default='127.0.0.1', help='IP address (127.0.0.1 or 198.18.0.0/15)')
    parser.add_argument('--port', type=int, default=587)
    parser.add_argument('--user', default='alice')
    parser.add_argument('--password', help='default: $BENCH_AUTH_PASSWORD')
    parser.add_argument('--sessions', type=int, default=50)
    parser.add_argument('--concurrency', type=int, default=10)
    parser.add_argument('--timeout', type=int, default=60, help='hard limit for one load run, seconds')
    parser.add_argument('--container', help='run inside this podman container (against its 127.0.0.1)')
    parser.add_argument('--side-by-side', action='store_true',
                        help='stock Debian Postfix and the roles\' deployment, same load, ROUNDS times')
    parser.add_argument('--metrics-on-off', action='store_true',
                        help='side by side: the roles without and with the metrics role (metrics_enabled)')
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--checkout', help='with --side-by-side: deploy the roles of this checkout')
    parser.add_argument('--json', action='store_true', help='print the result as JSON')
    args = parser.parse_args()
    if args.sessions < 1 or args.concurrency < 1 or not 1 <= args.timeout <= 600 or args.sessions > 10000:
        sys.exit('sessions 1..10000, concurrency >= 1, timeout 1..600')
    _check_target(args.server)
    if args.side_by_side or args.metrics_on_off:
        _side_by_side(args)
        return
    args.password = args.password or os.environ.get('BENCH_AUTH_PASSWORD')
    if not args.password:
        sys.exit('give --password or BENCH_AUTH_PASSWORD')

    if args.container:
        os.environ['BENCH_AUTH_PASSWORD'] = args.password
        proc = _load_in_container(args.container, args)
        sys.stdout.write(proc.stdout.decode())
        sys.stderr.write(proc.stderr.decode())
        sys.exit(proc.returncode)

    result = _summary(*asyncio.run(_run(args)))
    if args.json:
        print(json.dumps(result))
    else:
        _print_summary(args, result)
    sys.exit(1 if result['failures'] else 0)


_INSIDE = None
if __name__ == '__main__':
    if '--inside' in sys.argv:
        _i = sys.argv.index('--inside')
        _INSIDE = sys.argv[_i + 1]
        del sys.argv[_i:_i + 2]
    main()
