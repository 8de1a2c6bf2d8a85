"""tests/helpers/ssh_hosts.py against a real container: Ansible reaches it over SSH, with host keys checked.

One Debian 12 container of the project's image on a network of its own
(its subnet from the pool in tests/hosts/containers.conf). Skipped when
podman or the image (tests/hosts/build-images.sh) is missing.
"""

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import uuid

import pytest

from helpers import ssh_hosts

IMAGE = 'localhost/mailstack-debian:12'
ANSIBLE = os.path.join(os.path.dirname(sys.executable), 'ansible')


@pytest.fixture(scope='module')
def container():
    """(name, SshHosts) for one fresh container made reachable over SSH; all removed afterwards."""
    if not shutil.which('podman') or ssh_hosts.podman('image', 'exists', IMAGE).returncode != 0:
        pytest.skip('podman or %s not available (tests/hosts/build-images.sh)' % IMAGE)
    name = 'ssh-it-' + uuid.uuid4().hex[:8]
    hosts = None
    try:
        created = ssh_hosts.podman('network', 'create', name)
        assert created.returncode == 0, created.stderr
        started = ssh_hosts.podman('run', '-d', '--name', name, '--hostname', name, '--network', name,
                                   '--systemd=always', IMAGE, '/sbin/init')
        assert started.returncode == 0, started.stderr
        hosts = ssh_hosts.SshHosts()
        hosts.add([name])
        yield name, hosts
    finally:
        if hosts is not None:
            hosts.remove()
        ssh_hosts.podman('rm', '--force', '--time', '0', name)
        ssh_hosts.podman('network', 'rm', name)


def _ansible(inventory, *args):
    env = dict(os.environ, ANSIBLE_FORCE_COLOR='false', ANSIBLE_NOCOLOR='true')
    return subprocess.run([ANSIBLE, 'all', '-i', inventory] + list(args), capture_output=True, text=True,
                          env=env, check=False, timeout=120)


def test_ansible_pings_the_container_over_ssh_with_pipelining(container, tmp_path):
    name, hosts = container
    inventory = hosts.write_inventory(str(tmp_path / 'inventory.yml'))
    proc = _ansible(inventory, '-m', 'ansible.builtin.ping', '-vvv')
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert '%s | SUCCESS' % name in output
    assert 'ESTABLISH SSH CONNECTION FOR USER: root' in output
    assert 'ControlPersist=60s' in output and 'StrictHostKeyChecking=yes' in output
    # Pipelining: the module goes down the ssh channel's stdin, no file is put on the host.
    assert 'PUT ' not in output and 'sftp' not in output, output[-4000:]


def test_the_connection_ends_as_root_inside_that_container(container, tmp_path):
    name, hosts = container
    inventory = hosts.write_inventory(str(tmp_path / 'inventory.yml'))
    proc = _ansible(inventory, '-m', 'ansible.builtin.command', '-a', 'sh -c "id -un; hostname; cat /proc/1/comm"')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.split()[-3:] == ['root', name, 'systemd']


def _ssh(hosts, name, known_hosts):
    """One ssh connection with the inventory's options, but its own known_hosts and no shared master."""
    argv = (['ssh', '-o', 'ControlPath=none', '-i', hosts.key]
            + shlex.split(ssh_hosts.ssh_common_args(known_hosts))
            + ['%s@%s' % (ssh_hosts.REMOTE_USER, hosts.addresses[name]), 'true'])
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)


def test_a_host_key_not_in_known_hosts_is_refused(container, tmp_path):
    name, hosts = container
    stranger = tmp_path / 'known_hosts'
    stranger.write_text('%s ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMgHaBbvV0zP7dcNEKZTPgJ76h4idH9argyUoqv0vvYv\n'
                        % hosts.addresses[name])
    refused = _ssh(hosts, name, str(stranger))
    assert refused.returncode == 255
    assert 'Host key verification failed' in refused.stderr, refused.stderr
    assert _ssh(hosts, name, hosts.known_hosts).returncode == 0  # the same options with the collected keys


def test_ansible_does_not_reach_a_host_whose_key_it_does_not_know(container, tmp_path):
    name, hosts = container
    stranger = tmp_path / 'known_hosts'
    stranger.write_text('')
    hostvars = ssh_hosts.host_vars(hosts.addresses[name], hosts.key, str(stranger), hosts.control_dir)
    # Its own ControlPath (tmp_path is too long for a socket): the master of
    # the other tests would let this connection skip the key exchange.
    control_dir = tempfile.mkdtemp(prefix='ssh-it-')
    hostvars['ansible_ssh_args'] = ssh_hosts.ssh_args(control_dir)
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text(ssh_hosts.dump_inventory(ssh_hosts.inventory({name: hostvars})))
    try:
        proc = _ansible(str(inventory), '-m', 'ansible.builtin.ping')
    finally:
        shutil.rmtree(control_dir, ignore_errors=True)
    # With pipelining, Ansible may report only the broken pipe, not ssh's reason.
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert '%s | UNREACHABLE!' % name in proc.stdout, proc.stdout
