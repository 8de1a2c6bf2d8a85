"""The demo's AUTH session works for every password the demo can generate.

Runs against a demo that is up (`make demo`, then `make demo-test`; the
fresh-machine guard does both). The users are provisioned the way the demo
provisions its own: playbooks/submission_server.yml with the demo inventory,
the users and passwords in a vars file (never on a command line). Each
password is then used through `tests/hosts/demo.sh session`, the demo's own
client path, with shims that record the argument vectors of `podman` on this
machine and of `swaks` in the container, to prove that no password appears
on any command line.
"""

import concurrent.futures
import os
import secrets
import shutil
import stat
import subprocess

import pytest
import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO_SH = os.path.join(REPO_ROOT, 'tests', 'hosts', 'demo.sh')
CONTAINER = 'mailstack-demo'
CONTAINER_ARGV_LOG = '/var/tmp/swaks-argv.log'
# What tests/hosts/demo.sh generates: secrets.token_urlsafe(15), 20 characters
# of A-Z a-z 0-9 - _. One in 64 begins with "-", which swaks once took for an
# option; those are forced in below, beside the random ones.
GENERATED = 96
GENERATED_LEADING_DASH = 16
AWKWARD = [
    '-leading-dash-secret',
    '--auth-user=root',
    "it's \"double\" and 'single' quoted",
    'dollar $HOME $(id) `id` ${PATH}',
    '  spaces  inside and around  ',
    'back\\slash ;&|<>*? #hash',
    'ümlaut-päss-wört-€',
    '{{ lookup("env", "HOME") }}',
]
JOBS = 6


def _generated_passwords():
    passwords = [secrets.token_urlsafe(15) for _index in range(GENERATED)]
    passwords += ['-' + secrets.token_urlsafe(15)[1:] for _index in range(GENERATED_LEADING_DASH)]
    return passwords


PASSWORDS = _generated_passwords() + AWKWARD
USERS = {'pwtest%03d' % index: password for index, password in enumerate(PASSWORDS)}


class UnsafeString(str):
    """A string dumped with YAML's !unsafe tag, so Ansible never templates it."""


yaml.SafeDumper.add_representer(
    UnsafeString, lambda dumper, value: dumper.represent_scalar('!unsafe', str(value), style='"'))


def _podman(*args, **kwargs):
    return subprocess.run(['podman', *args], check=False, capture_output=True, text=True, **kwargs)


@pytest.fixture(scope='module')
def demo_env():
    env = dict(os.environ)
    env['CONTAINERS_CONF'] = os.path.join(REPO_ROOT, 'tests', 'hosts', 'containers.conf')
    state = subprocess.run(['podman', 'container', 'inspect', '--format', '{{.State.Running}}', CONTAINER],
                           env=env, check=False, capture_output=True, text=True)
    if state.stdout.strip() != 'true':
        pytest.fail('the demo container %s is not running: run `make demo` first' % CONTAINER)
    return env


@pytest.fixture(scope='module')
def provisioned(demo_env, tmp_path_factory):
    """The test users in the demo's sasldb, through the demo's playbook."""
    work = tmp_path_factory.mktemp('demo-passwords')
    vars_file = work / 'users.yml'
    users = [{'name': name, 'password': UnsafeString(password)} for name, password in USERS.items()]
    vars_file.write_text(yaml.safe_dump({'sasl_users_list': users, 'sasl_users_exclusive': False},
                                        allow_unicode=True))
    vars_file.chmod(0o600)
    env = dict(demo_env)
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': os.path.join(REPO_ROOT, '.cache', 'collections'),
        'ANSIBLE_NOCOLOR': 'true',
        'PATH': os.path.join(REPO_ROOT, '.venv', 'bin') + os.pathsep + env['PATH'],
    })
    run = subprocess.run(
        ['ansible-playbook', '-i', 'playbooks/demo/inventory.yml', 'playbooks/submission_server.yml',
         '-e', '@' + str(vars_file)],
        cwd=REPO_ROOT, env=env, check=False, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    for password in PASSWORDS:
        assert password not in run.stdout + run.stderr, 'a password reached the playbook output'
    return work


@pytest.fixture(scope='module')
def argv_logs(demo_env, provisioned):
    """Shims that log every argv of podman (here) and swaks (in the container)."""
    shim_dir = provisioned / 'shims'
    shim_dir.mkdir()
    host_log = provisioned / 'podman-argv.log'
    real_podman = shutil.which('podman')
    shim = shim_dir / 'podman'
    shim.write_text('#!/bin/sh\nfor arg in "$@"; do printf "%%s\\n" "$arg"; done >> %s\nexec %s "$@"\n'
                    % (host_log, real_podman))
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    container_shim = ('#!/bin/sh\nfor arg in "$@"; do printf "%%s\\n" "$arg"; done >> %s\n'
                      'exec /usr/bin/swaks "$@"\n' % CONTAINER_ARGV_LOG)
    install = _podman('exec', '-i', CONTAINER, 'sh', '-c',
                      'cat > /usr/local/bin/swaks && chmod 0755 /usr/local/bin/swaks && : > %s'
                      % CONTAINER_ARGV_LOG, input=container_shim, env=demo_env)
    assert install.returncode == 0, install.stderr
    env = dict(demo_env)
    env['PATH'] = str(shim_dir) + os.pathsep + env['PATH']
    yield env, host_log
    _podman('exec', CONTAINER, 'rm', '-f', '/usr/local/bin/swaks', CONTAINER_ARGV_LOG, env=demo_env)


def _session(env, user, password):
    env = dict(env, MAILSTACK_DEMO_USER=user, MAILSTACK_DEMO_PASSWORD=password)
    return subprocess.run([DEMO_SH, 'session'], env=env, check=False, capture_output=True,
                          text=True, timeout=180)


@pytest.fixture(scope='module')
def sessions(argv_logs):
    env = argv_logs[0]
    with concurrent.futures.ThreadPoolExecutor(max_workers=JOBS) as pool:
        futures = {user: pool.submit(_session, env, user, password) for user, password in USERS.items()}
        return {user: future.result() for user, future in futures.items()}


@pytest.mark.parametrize('user', sorted(USERS))
def test_session_authenticates_and_delivers(sessions, user):
    result = sessions[user]
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert 'accepted (235)' in result.stdout
    assert 'delivered to /var/mail/demo' in result.stdout
    assert '~> AUTH PLAIN <credentials hidden>' in result.stdout


@pytest.mark.parametrize('user', sorted(USERS))
def test_password_not_in_the_dialog(sessions, user):
    assert USERS[user] not in sessions[user].stdout + sessions[user].stderr


def test_no_password_on_any_command_line(demo_env, sessions, argv_logs):
    host_log = argv_logs[1]
    container_log = _podman('exec', CONTAINER, 'cat', CONTAINER_ARGV_LOG, env=demo_env)
    assert container_log.returncode == 0, container_log.stderr
    swaks_argv = container_log.stdout
    podman_argv = host_log.read_text()
    # The shims saw every session: one swaks call and several podman calls each.
    assert swaks_argv.count('--auth-user') == len(USERS)
    assert podman_argv.count('swaks') >= len(USERS)
    for user, password in USERS.items():
        assert password not in swaks_argv, 'password of %s on the swaks command line' % user
        assert password not in podman_argv, 'password of %s on a podman command line' % user
