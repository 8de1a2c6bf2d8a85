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
"""

import argparse
import asyncio
import base64
import ipaddress
import os
import ssl
import subprocess
import sys
import time

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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--server', default='127.0.0.1', help='IP address (127.0.0.1 or 198.18.0.0/15)')
    parser.add_argument('--port', type=int, default=587)
    parser.add_argument('--user', default='alice')
    parser.add_argument('--password', required=True)
    parser.add_argument('--sessions', type=int, default=50)
    parser.add_argument('--concurrency', type=int, default=10)
    parser.add_argument('--timeout', type=int, default=60, help='hard limit for the whole run, seconds')
    parser.add_argument('--container', help='run inside this podman container (against its 127.0.0.1)')
    args = parser.parse_args()
    if args.sessions < 1 or args.concurrency < 1 or not 1 <= args.timeout <= 600 or args.sessions > 10000:
        sys.exit('sessions 1..10000, concurrency >= 1, timeout 1..600')
    _check_target(args.server)

    if args.container:
        argv = list(sys.argv[1:])
        index = argv.index('--container')
        del argv[index:index + 2]
        with open(os.path.abspath(__file__), 'rb') as handle:
            proc = subprocess.run(['podman', 'exec', '-i', args.container, 'python3', '-', '--inside', args.container] + argv,
                                  stdin=handle, check=False, timeout=args.timeout + 60)
        sys.exit(proc.returncode)

    latencies, failures, elapsed = asyncio.run(_run(args))
    where = 'inside container %s' % _INSIDE if _INSIDE else 'from this host'
    exempt = ' (127.0.0.0/8 is in mynetworks: exempt from smtpd_client_auth_rate_limit)' if args.server.startswith('127.') else ''
    print('target: %s:%d %s%s' % (args.server, args.port, where, exempt))
    print('sessions: %d, concurrency: %d, elapsed: %.2f s' % (args.sessions, args.concurrency, elapsed))
    print('sessions/s: %.1f' % (len(latencies) / elapsed if elapsed else 0.0))
    if latencies:
        print('latency p50: %.0f ms, p95: %.0f ms, max: %.0f ms' % (
            1000 * _percentile(latencies, 0.5), 1000 * _percentile(latencies, 0.95), 1000 * max(latencies)))
    print('failures: %d' % len(failures))
    for failure in sorted(set(failures))[:10]:
        print('  %s' % failure)
    sys.exit(1 if failures else 0)


_INSIDE = None
if __name__ == '__main__':
    if '--inside' in sys.argv:
        _i = sys.argv.index('--inside')
        _INSIDE = sys.argv[_i + 1]
        del sys.argv[_i:_i + 2]
    main()
