"""Benchmark: provision N sasldb users three ways, then re-run each (idempotent run).

  1. command loop  - ansible.builtin.command: saslpasswd2, one task iteration per user
                     (what existing roles do; it cannot tell an unchanged password,
                     so its re-run does all the work again)
  2. sasldb_user   - mailstack.sasl_postfix.sasldb_user in a loop
  3. sasldb_users  - one mailstack.sasl_postfix.sasldb_users call

Each variant gets a fresh database, runs `ansible-playbook -c local` against
localhost twice, and checks the result with sasldblistusers2. The loop variants
are skipped above --loop-cap users (default 1,000; 10,000 loop iterations take
about 45 minutes each).

Usage: .venv/bin/python bench/sasldb_users.py [N ...] [--loop-cap 1000]
       (default N: 100 1000)
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(REPO, '.venv', 'bin')
REALM = 'bench.example.org'

PLAYBOOKS = {
    'command loop': """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: saslpasswd2 per user
      ansible.builtin.command:
        argv: [saslpasswd2, -f, "{{ db }}", -p, -u, "{{ realm }}", "{{ item.name }}"]
        stdin: "{{ item.password }}"
        stdin_add_newline: false
      loop: "{{ bench_users }}"
      loop_control:
        label: "{{ item.name }}"
      no_log: true
""",
    'sasldb_user loop': """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: sasldb_user per user
      mailstack.sasl_postfix.sasldb_user:
        path: "{{ db }}"
        name: "{{ item.name }}"
        realm: "{{ realm }}"
        password: "{{ item.password }}"
      loop: "{{ bench_users }}"
      loop_control:
        label: "{{ item.name }}"
""",
    'sasldb_users': """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: sasldb_users, one call
      mailstack.sasl_postfix.sasldb_users:
        path: "{{ db }}"
        users: "{{ bench_users | map('combine', {'realm': realm}) }}"
""",
}
LOOPS = ('command loop', 'sasldb_user loop')


def collections_tree():
    """Link the checkout into a temporary ansible_collections tree, as tests/conftest.py does."""
    root = tempfile.mkdtemp(prefix='mailstack-bench-collections-')
    namespace = os.path.join(root, 'ansible_collections', 'mailstack')
    os.makedirs(namespace)
    os.symlink(REPO, os.path.join(namespace, 'sasl_postfix'))
    return root


def run_playbook(env, workdir, variant, users_file, db):
    playbook = os.path.join(workdir, 'play.yml')
    with open(playbook, 'w') as f:
        f.write(PLAYBOOKS[variant])
    argv = [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local', playbook,
            '-e', '@' + users_file, '-e', json.dumps({'db': db, 'realm': REALM,
                                                      'ansible_python_interpreter': os.path.join(VENV_BIN, 'python')})]
    start = time.monotonic()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit('%s failed:\n%s\n%s' % (variant, proc.stdout[-3000:], proc.stderr[-3000:]))
    return seconds


def count_users(db):
    out = subprocess.run(['sasldblistusers2', '-f', db], capture_output=True, text=True, check=True).stdout
    return len([line for line in out.splitlines() if line.endswith(': userPassword')])


def bench(n, loop_cap, env, workdir):
    users_file = os.path.join(workdir, 'users-%d.json' % n)
    with open(users_file, 'w') as f:
        json.dump({'bench_users': [{'name': 'user%05d' % i, 'password': 'pw-%d-%s' % (i, os.urandom(6).hex())}
                                   for i in range(n)]}, f)
    rows = {}
    for variant in PLAYBOOKS:
        if variant in LOOPS and n > loop_cap:
            rows[variant] = None
            continue
        db = os.path.join(workdir, 'sasldb2-%d-%s' % (n, variant.replace(' ', '_')))
        first = run_playbook(env, workdir, variant, users_file, db)
        assert count_users(db) == n, variant
        again = run_playbook(env, workdir, variant, users_file, db)
        assert count_users(db) == n, variant
        rows[variant] = (first, again)
        print('  N=%d %-17s first %8.2f s  re-run %8.2f s' % (n, variant, first, again), file=sys.stderr)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('sizes', nargs='*', type=int, default=[100, 1000], help='numbers of users (default: 100 1000)')
    parser.add_argument('--loop-cap', type=int, default=1000,
                        help='skip the two loop variants above this many users (default: 1000)')
    args = parser.parse_args()
    for tool in ('saslpasswd2', 'sasldblistusers2', 'db_dump', 'db_load'):
        if not shutil.which(tool) and not os.path.exists('/usr/sbin/' + tool):
            sys.exit('%s not found: apt-get install sasl2-bin db-util' % tool)
    root = collections_tree()
    workdir = tempfile.mkdtemp(prefix='mailstack-bench-')
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=root, ANSIBLE_PYTHON_INTERPRETER=os.path.join(VENV_BIN, 'python'),
               ANSIBLE_LOCALHOST_WARNING='false', ANSIBLE_INVENTORY_UNPARSED_WARNING='false',
               PATH=VENV_BIN + os.pathsep + os.environ.get('PATH', '') + os.pathsep + '/usr/sbin:/sbin')
    try:
        results = [(n, bench(n, args.loop_cap, env, workdir)) for n in args.sizes]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)

    print('%7s  %-17s %10s %10s %14s %14s' % ('users', 'method', 'first s', 're-run s', 'x vs loop', 're-run x'))
    for n, rows in results:
        base = rows.get('command loop')
        for variant in PLAYBOOKS:
            row = rows[variant]
            if row is None:
                print('%7d  %-17s %10s %10s %14s %14s' % (n, variant, 'skipped', 'skipped', '', '(> --loop-cap %d)' % args.loop_cap))
                continue
            ratio = ('%13.1fx' % (base[0] / row[0])) if base else '%14s' % '-'
            ratio_again = ('%13.1fx' % (base[1] / row[1])) if base else '%14s' % '-'
            print('%7d  %-17s %10.2f %10.2f %s %s' % (n, variant, row[0], row[1], ratio, ratio_again))
    print('(x vs loop: command-loop seconds divided by this method\'s seconds, same N; '
          'machine: %d CPUs, %s)' % (os.cpu_count(), os.uname().release))


if __name__ == '__main__':
    main()
