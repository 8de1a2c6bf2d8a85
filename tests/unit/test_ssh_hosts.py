"""tests/helpers/ssh_hosts.py without containers: addresses, host keys, ssh options, the inventory and the key."""

import os
import stat
import subprocess
import sys

import pytest
import yaml

from helpers import ssh_hosts
from helpers.ssh_hosts import SshHostsError

ED25519 = 'AAAAC3NzaC1lZDI1NTE5AAAAIMgHaBbvV0zP7dcNEKZTPgJ76h4idH9argyUoqv0vvYv'
ECDSA = ('AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBB3gd2Rtn/8QIGxRZ0POprUlpxDMBu7/8jaNcN5YzSnMGy+daYC08o1'
         '/bt/G1CJVcuRF+t4XiwjWPBJQQT/fFu4=')


# --- which address a container is reached at ---------------------------------

def test_address_of_a_container_on_one_network():
    networks = {'mailstack-ssh': {'IPAddress': '198.18.4.2', 'Gateway': '198.18.4.1'}}
    assert ssh_hosts.address_from_networks('ssh-debian12', networks) == '198.18.4.2'


def test_address_on_the_named_network_when_there_are_several():
    networks = {'a': {'IPAddress': '198.18.4.2'}, 'b': {'IPAddress': '198.19.0.7'}}
    assert ssh_hosts.address_from_networks('c', networks, network='b') == '198.19.0.7'


@pytest.mark.parametrize('networks, network, message', [
    ({'a': {'IPAddress': '198.18.4.2'}, 'b': {'IPAddress': '198.18.5.2'}}, None, 'name the network'),
    ({}, None, 'no network'),
    ({'a': {'IPAddress': '198.18.4.2'}}, 'b', 'is not on network b'),
    ({'a': {'IPAddress': ''}}, None, 'no IP address'),
    ({'a': None}, None, 'no IP address'),
])
def test_address_that_cannot_be_chosen_is_an_error_naming_the_container(networks, network, message):
    with pytest.raises(SshHostsError, match=message) as exc:
        ssh_hosts.address_from_networks('web-7', networks, network)
    assert 'web-7' in str(exc.value)


@pytest.mark.parametrize('address', ['10.88.0.4', '192.168.1.10', '198.20.0.1', '127.0.0.1', '8.8.8.8'])
def test_addresses_outside_the_test_networks_are_refused(address):
    with pytest.raises(SshHostsError, match='only the project test networks'):
        ssh_hosts.address_from_networks('web-7', {'podman': {'IPAddress': address}})


@pytest.mark.parametrize('address', ['198.18.0.2', '198.19.255.254'])
def test_both_halves_of_the_test_range_are_accepted(address):
    assert ssh_hosts.address_from_networks('c', {'n': {'IPAddress': address}}) == address


# --- host keys and known_hosts --------------------------------------------------

def test_host_keys_lose_their_comments_and_become_known_hosts_lines_for_the_address():
    text = 'ecdsa-sha2-nistp256 %s root@ssh-debian12\n\nssh-ed25519 %s root@ssh-debian12\n' % (ECDSA, ED25519)
    keys = ssh_hosts.parse_host_keys(text)
    assert keys == [('ecdsa-sha2-nistp256', ECDSA), ('ssh-ed25519', ED25519)]
    assert ssh_hosts.known_hosts_lines('198.18.4.2', keys) == [
        '198.18.4.2 ecdsa-sha2-nistp256 ' + ECDSA,
        '198.18.4.2 ssh-ed25519 ' + ED25519,
    ]


@pytest.mark.parametrize('text, message', [
    ('', 'has no SSH host keys'),
    ('Created symlink /etc/systemd/system/multi-user.target.wants/ssh.service\n', 'unexpected host key line'),
    ('ssh-ed25519\n', 'unexpected host key line'),
    ('ssh-ed25519 not*base64 root@x\n', 'not base64'),
])
def test_anything_but_host_keys_is_refused(text, message):
    with pytest.raises(SshHostsError, match=message):
        ssh_hosts.parse_host_keys(text, 'ssh-debian13')


# --- connection variables and the inventory ----------------------------------------

def _options(args):
    words = args.split()
    assert words[::2] == ['-o'] * (len(words) // 2), args
    return dict(option.split('=', 1) for option in words[1::2])


def test_ssh_args_share_one_connection_per_host_with_sockets_in_the_run_directory():
    assert _options(ssh_hosts.ssh_args('/tmp/fleet-x/cp')) == {
        'ControlMaster': 'auto', 'ControlPersist': '60s', 'ControlPath': '/tmp/fleet-x/cp/%C'}


def test_ssh_common_args_keep_host_key_checking_on_against_the_run_known_hosts():
    options = _options(ssh_hosts.ssh_common_args('/tmp/fleet-x/known_hosts'))
    assert options['UserKnownHostsFile'] == '/tmp/fleet-x/known_hosts'
    assert options['GlobalKnownHostsFile'] == '/dev/null'
    assert options['StrictHostKeyChecking'] == 'yes'
    assert options['IdentitiesOnly'] == 'yes'
    assert options['BatchMode'] == 'yes'


def test_host_vars_reach_the_container_ip_as_root_over_ssh_with_pipelining():
    hostvars = ssh_hosts.host_vars('198.18.4.2', '/tmp/r/id_ed25519', '/tmp/r/known_hosts', '/tmp/r/cp')
    assert hostvars['ansible_host'] == '198.18.4.2'
    assert hostvars['ansible_connection'] == 'ssh'
    assert hostvars['ansible_user'] == 'root'
    assert hostvars['ansible_pipelining'] is True
    assert hostvars['ansible_host_key_checking'] is True
    assert hostvars['ansible_ssh_private_key_file'] == '/tmp/r/id_ed25519'
    assert 'ControlPersist=60s' in hostvars['ansible_ssh_args']
    assert 'UserKnownHostsFile=/tmp/r/known_hosts' in hostvars['ansible_ssh_common_args']
    assert hostvars['ansible_python_interpreter'] == '/usr/bin/python3'


def test_inventory_in_a_group_keeps_connection_settings_per_host():
    # Host variables, not group variables: they must beat a host variable of
    # another inventory source (Molecule's podman connection).
    shared = ssh_hosts.host_vars('198.18.4.2', '/k', '/kh', '/cp')
    data = ssh_hosts.inventory({'a': shared, 'b': dict(shared, ansible_host='198.18.4.3')},
                               group='submission_servers', group_vars={'postfix_submission_enabled': True})
    text = ssh_hosts.dump_inventory(data)
    assert '&' not in text and '*' not in text.replace('%C', '')  # no YAML anchors or aliases
    loaded = yaml.safe_load(text)
    group = loaded['all']['children']['submission_servers']
    assert group['vars'] == {'postfix_submission_enabled': True}
    assert group['hosts']['a']['ansible_connection'] == 'ssh'
    assert group['hosts']['b']['ansible_host'] == '198.18.4.3'
    assert group['hosts']['b']['ansible_ssh_common_args'] == shared['ansible_ssh_common_args']


def test_inventory_without_a_group_lists_the_hosts_under_all():
    assert ssh_hosts.inventory({'a': {'ansible_host': '198.18.4.2'}}) == {'all': {'hosts': {'a': {'ansible_host': '198.18.4.2'}}}}
    with pytest.raises(SshHostsError, match='need a group'):
        ssh_hosts.inventory({'a': {}}, group_vars={'x': 1})


def test_ansible_reads_the_written_inventory(tmp_path):
    path = tmp_path / 'inventory.yml'
    path.write_text(ssh_hosts.dump_inventory(ssh_hosts.inventory(
        {'ssh-a': ssh_hosts.host_vars('198.18.4.2', '/k', '/kh', '/cp')}, group='servers', group_vars={'x': 1})))
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-inventory'), '-i', str(path), '--host', 'ssh-a'],
                          capture_output=True, text=True, check=True)
    hostvars = yaml.safe_load(proc.stdout)
    assert hostvars['ansible_connection'] == 'ssh' and hostvars['ansible_pipelining'] is True and hostvars['x'] == 1
    assert hostvars['ansible_ssh_args'].endswith('ControlPath=/cp/%C')


# --- the run directory and its key -----------------------------------------------------

def test_key_is_generated_once_with_private_modes(tmp_path):
    workdir = ssh_hosts.make_private_dir(str(tmp_path / 'run'))
    key = ssh_hosts.generate_key(workdir)
    assert stat.S_IMODE(os.stat(workdir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    with open(key + '.pub', encoding='ascii') as handle:
        assert handle.read().startswith('ssh-ed25519 ')
    before = os.stat(key).st_mtime_ns
    assert ssh_hosts.generate_key(workdir) == key
    assert os.stat(key).st_mtime_ns == before


def test_a_work_directory_too_long_for_control_sockets_is_refused(tmp_path):
    with pytest.raises(SshHostsError, match='ControlPath directory'):
        ssh_hosts.SshHosts(str(tmp_path / ('x' * 60)))


def test_the_written_inventory_and_known_hosts_are_private(tmp_path, monkeypatch):
    monkeypatch.setattr(ssh_hosts, 'container_address', lambda name, network=None: '198.18.4.2')
    monkeypatch.setattr(ssh_hosts, 'wait_for_systemd', lambda name, timeout=120: 'running')
    monkeypatch.setattr(ssh_hosts, 'start_sshd', lambda name, public_key: [('ssh-ed25519', ED25519)])
    hosts = ssh_hosts.SshHosts()
    try:
        assert stat.S_IMODE(os.stat(hosts.workdir).st_mode) == 0o700
        hosts.add(['ssh-a'])
        path = hosts.write_inventory(str(tmp_path / 'inventory.yml'), group='g', group_vars={'secret': 'x'})
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(hosts.known_hosts).st_mode) == 0o600
        with open(hosts.known_hosts, encoding='ascii') as handle:
            assert handle.read() == '198.18.4.2 ssh-ed25519 %s\n' % ED25519
    finally:
        hosts.remove()
    assert not os.path.exists(hosts.workdir)


def test_remove_deletes_only_a_work_directory_it_made(tmp_path):
    (tmp_path / 'precious').write_text('keep me')
    with pytest.raises(SshHostsError, match='not a work directory of ssh_hosts'):
        ssh_hosts.remove_workdir(str(tmp_path))
    assert (tmp_path / 'precious').read_text() == 'keep me'
    hosts = ssh_hosts.SshHosts()
    ssh_hosts.remove_workdir(hosts.workdir)
    assert not os.path.exists(hosts.workdir)
    ssh_hosts.remove_workdir(hosts.workdir)  # already gone: nothing to do
