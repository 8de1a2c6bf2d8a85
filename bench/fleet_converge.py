"""Time the submission server over SSH on N fresh hosts: first converge, idempotent re-run and --check --diff.

For each fleet size N (default 1 and 10): N fresh containers of the
project's Debian 12 image on a network of the bench's own (its subnet from
the pool in tests/hosts/containers.conf, inside 198.18.0.0/15), reached the
way users reach their hosts: over SSH as root, with a key made for this run,
host keys checked, pipelining and ControlPersist (tests/helpers/ssh_hosts.py).
playbooks/submission_server.yml runs with forks=N, two SASL users and the
submission (587) and submissions (465) services enabled:

  1. first converge       (fresh hosts)
  2. idempotent re-run    (expected: changed=0)
  3. --check --diff       (on the converged hosts)

Each run is timed from start to end of ansible-playbook and starts without
an open SSH connection (the ControlPersist masters are closed before it), so
every figure includes its connection setup. Per host, the PLAY RECAP gives
the tasks run (ok + changed + failed) and skipped. Each run also reports the
controller's CPU time (ansible-playbook and the processes it waited for) per
task and host, skipped tasks included: it changes much less with the
machine's load than the wall time. It also reports the hosts' CPU time (the
containers' cgroups: sshd, the modules' Python, the daemons), which a real
fleet spends on the hosts' own processors but which here shares the same
cores as the controller. The table ends with each size's re-run
against the smallest size's (the N=10/N=1 ratio).

Usage (from the repository root):
  .venv/bin/python bench/fleet_converge.py [--sizes 1,10] [--checkout DIR] [--image IMAGE] [--baseline TASKS]

--baseline TASKS adds, for each size, a run of a playbook of TASKS
ansible.builtin.ping tasks and no facts: the cost of Ansible's own module
round trip on this machine, against which the N=10/N=1 ratio of the
collection's re-run can be read.

--checkout DIR runs the playbook and roles of another checkout of the
collection, e.g. a git worktree of an older commit (the "before" figures):
  git worktree add /tmp/before <commit>
  .venv/bin/python bench/fleet_converge.py --checkout /tmp/before

Needs the podman test image (tests/hosts/build-images.sh) and the OpenSSH
client. Containers (fleet-<run>-<N>-<i>), the network (fleet-<run>) and the
temporary directory (key, known_hosts, inventory) are removed at the end,
also after a failure or Ctrl-C. Traffic goes only to the bench's own
containers (and from them to the Debian archive for packages). Prints
figures; sets no threshold.
"""

import argparse
import ipaddress
import os
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'tests'))
from helpers import ssh_hosts  # noqa: E402 pylint: disable=wrong-import-position

PLAYBOOK = os.path.join('playbooks', 'submission_server.yml')
GROUP = 'submission_servers'
RECAP = re.compile(r'^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)'
                   r'\s+failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)', re.MULTILINE)
RUNS = (('first converge', ()), ('idempotent re-run', ()), ('check --diff', ('--check', '--diff')))
BASELINE = 'baseline pings'
MAX_SIZE = 30
# Each host runs the modules through this wrapper of its python3, which
# appends a line to MODULE_RUNS_LOG per run: module runs per host and play.
COUNTING_PYTHON = '/usr/local/bin/python3-counted'
MODULE_RUNS_LOG = '/var/tmp/mailstack-module-runs'
COUNTING_WRAPPER = '#!/bin/sh\necho run >> %s\nexec /usr/bin/python3 "$@"\n' % MODULE_RUNS_LOG


def server_vars():
    """Group variables of the measured play: two SASL users (passwords made for this run), submission and submissions."""
    return {
        # Reached as root; the image has no sudo.
        'ansible_become': False,
        'postfix_myhostname': '{{ inventory_hostname }}.mailstack.test',
        'postfix_mydomain': 'mailstack.test',
        'postfix_mydestination': ['$myhostname', 'localhost'],
        'postfix_mynetworks': ['127.0.0.0/8', '[::1]/128'],
        'postfix_submission_enabled': True,
        'postfix_submissions_enabled': True,
        'postfix_smtpd_sasl_local_domain': 'mailstack.test',
        # Nothing leaves the test network: mail for other domains stays queued.
        'postfix_main_cf_extra': {'defer_transports': 'smtp', 'smtpd_peername_lookup': False},
        'sasl_users_default_realm': 'mailstack.test',
        'sasl_users_exclusive': True,
        'sasl_users_list': [{'name': name, 'password': secrets.token_urlsafe(15)} for name in ('alice', 'bob')],
    }


def parse_recap(output):
    """{host: {ok, changed, unreachable, failed, skipped}} from ansible-playbook's PLAY RECAP."""
    return {match.group('host'): {key: int(value) for key, value in match.groupdict().items() if key != 'host'}
            for match in RECAP.finditer(output)}


def tasks_run(counts):
    """Tasks that ran on a host: ok + changed + failed (skipped ones did not)."""
    return counts['ok'] + counts['changed'] + counts['failed']


def cpu_per_task(cpu, recap):
    """Controller CPU seconds per task and host, counting skipped tasks (they cost the controller too)."""
    tasks = sum(tasks_run(counts) + counts['skipped'] for counts in recap.values())
    return cpu / tasks if tasks else 0.0


def per_host(recap, value):
    """`value(counts)` over the hosts: one number when they agree, else "min-max"."""
    return spread(value(counts) for counts in recap.values())


def spread(numbers):
    """One number when they agree, else "min-max"; "-" for none."""
    values = sorted(numbers)
    if not values:
        return '-'
    return str(values[0]) if values[0] == values[-1] else '%d-%d' % (values[0], values[-1])


def check_checkout(checkout):
    """The absolute path of a checkout of mailstack.sasl_postfix with the measured playbook, or exit saying what is missing."""
    checkout = os.path.abspath(checkout)
    try:
        with open(os.path.join(checkout, 'galaxy.yml'), encoding='utf-8') as handle:
            meta = yaml.safe_load(handle)
    except OSError as exc:
        sys.exit('--checkout %s: no galaxy.yml (%s)' % (checkout, exc.strerror))
    if (meta.get('namespace'), meta.get('name')) != ('mailstack', 'sasl_postfix'):
        sys.exit('--checkout %s: galaxy.yml is %s.%s, not mailstack.sasl_postfix' % (checkout, meta.get('namespace'), meta.get('name')))
    if not os.path.isfile(os.path.join(checkout, PLAYBOOK)):
        sys.exit('--checkout %s: no %s' % (checkout, PLAYBOOK))
    return checkout


def describe(checkout):
    """The checkout's commit (and "-dirty" with uncommitted changes), for the report."""
    proc = subprocess.run(['git', '-C', checkout, 'describe', '--always', '--dirty'], capture_output=True, text=True,
                          check=False)
    return proc.stdout.strip() or 'not a git checkout'


def load():
    return '%.2f %.2f %.2f' % os.getloadavg()


def cgroup_cpu_seconds(cgroup_path, root='/sys/fs/cgroup'):
    """CPU seconds a cgroup has used (cgroup v2 cpu.stat, or v1 cpuacct.usage); None when neither is readable."""
    relative = cgroup_path.lstrip('/')
    try:
        with open(os.path.join(root, relative, 'cpu.stat'), encoding='ascii') as handle:
            for line in handle:
                key, _sep, value = line.partition(' ')
                if key == 'usage_usec':
                    return int(value) / 1e6
    except OSError:
        pass
    try:
        with open(os.path.join(root, 'cpuacct', relative, 'cpuacct.usage'), encoding='ascii') as handle:
            return int(handle.read()) / 1e9
    except (OSError, ValueError):
        return None


class Fleet:
    """The bench's containers, network and temporary directory; `close()` removes all of them."""

    def __init__(self, checkout):
        self.run_id = 'fleet-' + uuid.uuid4().hex[:6]
        self.checkout = checkout
        self.containers = []
        self.network = None
        self.tmp = tempfile.mkdtemp(prefix=self.run_id + '-')
        self.ssh = None
        self.collections = os.path.join(self.tmp, 'collections')
        namespace = os.path.join(self.collections, 'ansible_collections', 'mailstack')
        os.makedirs(namespace)
        os.symlink(checkout, os.path.join(namespace, 'sasl_postfix'))

    def env(self):
        env = dict(os.environ)
        env.pop('ANSIBLE_CALLBACKS_ENABLED', None)  # plain output: no timing callbacks in the figures
        env.update({
            'CONTAINERS_CONF': os.path.join(REPO, 'tests', 'hosts', 'containers.conf'),
            'ANSIBLE_COLLECTIONS_PATH': self.collections,
            'PATH': os.path.join(REPO, '.venv', 'bin') + os.pathsep + env['PATH'],
            'ANSIBLE_PIPELINING': 'True',
            'ANSIBLE_HOST_KEY_CHECKING': 'True',
            'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.default',
            'ANSIBLE_FORCE_COLOR': 'false',
            'ANSIBLE_NOCOLOR': 'true',
        })
        return env

    def create_network(self):
        self.network = self.run_id
        self._podman('network', 'create', self.network)
        subnets = self._podman('network', 'inspect', '--format', '{{range .Subnets}}{{.Subnet}} {{end}}', self.network).split()
        if not subnets or not all(ipaddress.ip_network(s).subnet_of(ssh_hosts.TEST_NETWORKS) for s in subnets):
            raise ssh_hosts.SshHostsError('network %s got %s, outside %s: check CONTAINERS_CONF'
                                          % (self.network, subnets, ssh_hosts.TEST_NETWORKS))
        return subnets

    def start_hosts(self, size, image):
        """Start `size` fresh containers and make them reachable over SSH; returns the inventory path."""
        names = ['%s-%d-%02d' % (self.run_id, size, index) for index in range(1, size + 1)]
        for name in names:
            self.containers.append(name)
            self._podman('run', '--detach', '--name', name, '--hostname', name, '--network', self.network,
                         '--systemd=always', image, '/sbin/init')
            self._podman('exec', name, 'sh', '-c', 'printf %%s "$0" > %s && chmod 0755 %s'
                         % (COUNTING_PYTHON, COUNTING_PYTHON), COUNTING_WRAPPER)
        self.ssh = ssh_hosts.SshHosts(os.path.join(self.tmp, 'ssh-%d' % size))
        self.ssh.add(names, network=self.network)
        inventory = self.ssh.inventory(GROUP, server_vars())
        for host in inventory['all']['children'][GROUP]['hosts'].values():
            host['ansible_python_interpreter'] = COUNTING_PYTHON
        path = os.path.join(self.tmp, 'inventory-%d.yml' % size)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, 'w', encoding='utf-8') as handle:
            handle.write(ssh_hosts.dump_inventory(inventory))
        return path

    def module_runs(self):
        """{container: module runs since the last call}, read from each host's log, which is then emptied."""
        runs = {}
        for name in self.containers:
            out = self._podman('exec', name, 'sh', '-c', 'wc -l < %s 2>/dev/null || echo 0; : > %s'
                               % (MODULE_RUNS_LOG, MODULE_RUNS_LOG))
            runs[name] = int(out.split()[0])
        return runs

    def ping_playbook(self, tasks):
        """A playbook of `tasks` ansible.builtin.ping tasks, no facts: the cheapest module round trip, repeated."""
        path = os.path.join(self.tmp, 'ping-%d.yml' % tasks)
        play = {'name': 'Baseline', 'hosts': 'all', 'gather_facts': False,
                'tasks': [{'name': 'Ping %d' % number, 'ansible.builtin.ping': None} for number in range(1, tasks + 1)]}
        with open(path, 'w', encoding='utf-8') as handle:
            yaml.safe_dump([play], handle, sort_keys=False)
        return path

    def hosts_cpu(self):
        """CPU seconds the fleet's containers have used so far (None when a cgroup cannot be read)."""
        total = 0.0
        for name in self.containers:
            path = self._podman('inspect', '--format', '{{.State.CgroupPath}}', name).strip()
            seconds = cgroup_cpu_seconds(path)
            if seconds is None:
                return None
            total += seconds
        return total

    def remove_hosts(self):
        if self.ssh is not None:
            self.ssh.close()
            self.ssh = None
        if self.containers:
            ssh_hosts.podman('rm', '--force', '--time', '0', *self.containers, timeout=300)
            self.containers = []

    def close_connections(self):
        """End the ControlPersist masters, so that the next run opens its own connections."""
        self.ssh.close()

    def close(self):
        self.remove_hosts()
        if self.network is not None:
            ssh_hosts.podman('network', 'rm', self.network)
            self.network = None
        shutil.rmtree(self.tmp, ignore_errors=True)

    def ansible(self, program, inventory, forks, *args):
        """Run `program` (ansible or ansible-playbook) against the fleet.

        Returns (wall seconds, controller CPU seconds, rc, output). The CPU
        time is that of the program and the processes it waited for (its
        forks, the ssh clients), user and system; it depends much less than
        the wall time on what else the machine runs.
        """
        argv = [program, '-i', inventory, '--forks', str(forks)] + list(args)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        proc = subprocess.run(argv, cwd=self.tmp, env=self.env(), capture_output=True, text=True, check=False)
        seconds = time.monotonic() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return seconds, cpu, proc.returncode, proc.stdout + proc.stderr

    @staticmethod
    def _podman(*args):
        proc = ssh_hosts.podman(*args, timeout=300)
        if proc.returncode != 0:
            raise ssh_hosts.SshHostsError('podman %s failed: %s' % (' '.join(args[:2]), proc.stderr.strip()))
        return proc.stdout


def measure(fleet, size, image, baseline_tasks=0):
    """Start `size` hosts, run the timed runs with forks=size; returns {run label: (seconds, cpu, recap, hosts cpu)}.

    With baseline_tasks, a last run of that many ansible.builtin.ping tasks
    shows what Ansible's own round trip costs on this machine.
    """
    start = time.monotonic()
    inventory = fleet.start_hosts(size, image)
    rc, output = fleet.ansible('ansible', inventory, size, 'all', '-m', 'ansible.builtin.ping')[2:]
    if rc != 0:
        raise RuntimeError('the hosts do not answer over SSH:\n' + output[-4000:])
    fleet.module_runs()
    print('N=%-3d %-20s %6.1f s (containers, sshd, ping; not part of the figures)' % (size, 'setup', time.monotonic() - start))
    playbook = os.path.join(fleet.checkout, PLAYBOOK)
    results = {}
    for label, args in RUNS:
        results[label] = timed_run(fleet, inventory, size, label, playbook, *args)
    if baseline_tasks:
        results[BASELINE] = timed_run(fleet, inventory, size, BASELINE, fleet.ping_playbook(baseline_tasks))
    fleet.remove_hosts()
    return results


def timed_run(fleet, inventory, size, label, playbook, *args):
    """One ansible-playbook run with forks=size from closed connections.

    Prints and returns (seconds, cpu, recap, hosts cpu, module runs per host).
    """
    fleet.close_connections()
    hosts_before = fleet.hosts_cpu()
    seconds, cpu, rc, output = fleet.ansible('ansible-playbook', inventory, size, playbook, *args)
    hosts_after = fleet.hosts_cpu()
    recap = parse_recap(output)
    if rc != 0 or len(recap) != size:
        raise RuntimeError('%s with N=%d failed (rc=%d):\n%s' % (label, size, rc, output[-6000:]))
    hosts = None if hosts_before is None or hosts_after is None else hosts_after - hosts_before
    runs = spread(fleet.module_runs().values())
    print('N=%-3d %-20s %6.1f s  controller CPU %6.1f s (%.3f s per task per host)  hosts CPU %s  per host: '
          'tasks run=%s skipped=%s ok=%s changed=%s module runs=%s  (load %s)' % (
              size, label, seconds, cpu, cpu_per_task(cpu, recap), seconds_or_dash(hosts), per_host(recap, tasks_run),
              per_host(recap, lambda c: c['skipped']), per_host(recap, lambda c: c['ok']),
              per_host(recap, lambda c: c['changed']), runs, load()))
    return seconds, cpu, recap, hosts, runs


def seconds_or_dash(seconds):
    return '-' if seconds is None else '%.1f s' % seconds


def print_table(figures):
    print()
    print('| hosts (forks) | first converge | idempotent re-run | re-run / first | check --diff '
          '| tasks run / skipped per host, first | tasks run / skipped per host, re-run | changed on re-run '
          '| module runs per host, re-run | controller CPU per task per host, re-run | controller / hosts CPU, re-run |')
    print('|---|---|---|---|---|---|---|---|---|---|---|')
    for size in sorted(figures):
        first, rerun, check = (figures[size][label] for label, _args in RUNS)
        print('| %d (%d) | %.1f s | %.1f s | %.0f%% | %.1f s | %s / %s | %s / %s | %s | %s | %.3f s | %.1f s / %s |' % (
            size, size, first[0], rerun[0], 100 * rerun[0] / first[0], check[0],
            per_host(first[2], tasks_run), per_host(first[2], lambda c: c['skipped']),
            per_host(rerun[2], tasks_run), per_host(rerun[2], lambda c: c['skipped']),
            per_host(rerun[2], lambda c: c['changed']), rerun[4], cpu_per_task(rerun[1], rerun[2]), rerun[1],
            seconds_or_dash(rerun[3])))
    smallest = min(figures)
    for size in sorted(figures)[1:]:
        rerun, base = figures[size]['idempotent re-run'], figures[smallest]['idempotent re-run']
        hosts = '-' if None in (rerun[3], base[3]) or not base[3] else '%.2fx' % (rerun[3] / base[3])
        print('re-run N=%d / N=%d: %.2fx wall time, %.2fx controller CPU, %s hosts CPU   first converge N=%d / N=%d: '
              '%.2fx' % (size, smallest, rerun[0] / base[0], rerun[1] / base[1], hosts,
                         size, smallest, figures[size]['first converge'][0] / figures[smallest]['first converge'][0]))
        if BASELINE in figures[size] and BASELINE in figures[smallest]:
            print('baseline (ping tasks only) N=%d / N=%d: %.2fx wall time' % (
                size, smallest, figures[size][BASELINE][0] / figures[smallest][BASELINE][0]))


def _sizes(text):
    sizes = sorted({int(word) for word in text.split(',') if word.strip()})
    if not sizes or sizes[0] < 1 or sizes[-1] > MAX_SIZE:
        raise argparse.ArgumentTypeError('comma-separated sizes from 1 to %d' % MAX_SIZE)
    return sizes


def _interrupt(signum, _frame):
    raise KeyboardInterrupt('signal %d' % signum)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--sizes', type=_sizes, default=[1, 10], help='fleet sizes, comma-separated (default 1,10)')
    parser.add_argument('--checkout', default=REPO, help='checkout of the collection to run (default: this one)')
    parser.add_argument('--image', default='localhost/mailstack-debian:12')
    parser.add_argument('--baseline', type=int, default=0, metavar='TASKS',
                        help="also time a playbook of TASKS ansible.builtin.ping tasks per size (Ansible's own cost here)")
    args = parser.parse_args()
    checkout = check_checkout(args.checkout)
    if ssh_hosts.podman('image', 'exists', args.image).returncode != 0:
        sys.exit('image %s not found: run tests/hosts/build-images.sh' % args.image)
    version = subprocess.run([os.path.join(REPO, '.venv', 'bin', 'ansible'), '--version'], capture_output=True, text=True,
                             check=True).stdout.splitlines()[0]
    print('checkout %s at %s; %s; image %s; %d cores; load %s' % (
        checkout, describe(checkout), version, args.image, os.cpu_count(), load()))

    # Ctrl-C, kill and a closed terminal all end in the clean-up (a shell
    # starts a background job with SIGINT ignored: take it back).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    fleet = Fleet(checkout)
    figures = {}
    try:
        print('network %s: %s' % (fleet.run_id, ' '.join(fleet.create_network())))
        for size in args.sizes:
            figures[size] = measure(fleet, size, args.image, args.baseline)
    except (RuntimeError, ssh_hosts.SshHostsError, subprocess.TimeoutExpired) as exc:
        sys.exit('fleet_converge: %s' % exc)
    except KeyboardInterrupt:
        sys.exit('fleet_converge: interrupted; containers, network and %s removed' % fleet.tmp)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not stop the clean-up
        fleet.close()
    print_table(figures)
    print('load at the end: %s' % load())


if __name__ == '__main__':
    main()
