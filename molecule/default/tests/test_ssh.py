"""The default scenario really uses SSH: testinfra's `host` and Ansible reach the containers over it.

The scenario's other tests talk SMTP inside the containers through
`podman exec`; these check the transport that converge used.
"""

import ipaddress
import os
import subprocess
import sys

import pytest

TEST_NETWORKS = ipaddress.ip_network('198.18.0.0/15')


@pytest.fixture
def connection_vars(host):
    return host.ansible.get_variables()


def test_inventory_reaches_the_host_over_ssh_as_root(connection_vars):
    assert connection_vars['ansible_connection'] == 'ssh'
    assert connection_vars['ansible_user'] == 'root'
    assert connection_vars['ansible_pipelining'] is True
    assert ipaddress.ip_address(connection_vars['ansible_host']) in TEST_NETWORKS


def test_testinfra_commands_arrive_over_ssh(host, connection_vars):
    # SSH_CONNECTION: client address, client port, server address, server port.
    fields = host.check_output('printenv SSH_CONNECTION').split()
    assert fields[2:] == [connection_vars['ansible_host'], '22']
    assert host.check_output('id -un') == 'root'


def test_ansible_uses_ssh_with_pipelining_and_host_key_checking(host, connection_vars):
    """An ad-hoc command with the inventory and configuration Molecule's converge used."""
    env = dict(os.environ, ANSIBLE_FORCE_COLOR='false', ANSIBLE_NOCOLOR='true',
               ANSIBLE_CONFIG=os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'ansible.cfg'))
    inventory = os.path.dirname(os.environ['MOLECULE_INVENTORY_FILE'])
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible'), host.backend.get_hostname(),
                           '-i', inventory, '-m', 'ansible.builtin.command', '-a', 'printenv SSH_CONNECTION', '-vvv'],
                          capture_output=True, text=True, env=env, check=False, timeout=120)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert 'ESTABLISH SSH CONNECTION FOR USER: root' in output
    assert 'StrictHostKeyChecking=yes' in output and 'ControlPersist=60s' in output
    # Pipelining: the module goes down the ssh channel's stdin, no file is put on the host.
    assert 'PUT ' not in output, output[-4000:]
    assert '%s 22' % connection_vars['ansible_host'] in proc.stdout
