"""SSH test hosts: reach podman containers of the project's image the way users reach theirs.

The test image (tests/hosts/build-images.sh) carries openssh-server with
ssh.service disabled and no host keys. For containers of that image,
`SshHosts` makes everything a per-run SSH inventory needs, in one private
work directory (mode 0700; a new temporary one unless the caller names one):

- `id_ed25519` (mode 0600) and `id_ed25519.pub`: a key generated for this
  run, never reused by another run;
- in each container, through `podman exec` with the public key on stdin:
  root's authorized_keys becomes that key, `ssh-keygen -A` makes the host
  keys and `systemctl enable --now ssh` starts sshd;
- `known_hosts`: each container's host keys, read through `podman exec`
  (a trusted channel, so no trust-on-first-use scan) and listed under its
  address, so that host key checking stays on (StrictHostKeyChecking=yes);
- `cp/`: the ControlPath sockets of the ssh connections (ControlMaster=auto,
  ControlPersist=60s): one TCP connection per host, reused by every task;
- an inventory (YAML, written where the caller says) that reaches each host
  at its container IP as root with ansible_connection=ssh, the key above,
  `ansible_pipelining: true` (a module is sent on the ssh channel's stdin
  instead of copied as a file) and /usr/bin/python3.

Every connection variable is a host variable, so the file can also be
added to an inventory that already lists the hosts with another connection:
Molecule's podman inventory in molecule/default, where Ansible reads this file
after Molecule's own (an inventory directory is read in ASCII order, and a
later source's host variables win).

Only the project's test networks are reached: a container whose address
is not in 198.18.0.0/15 (tests/hosts/containers.conf) is refused.

From Python (bench/fleet_converge.py, tests/hosts/test_ssh_hosts_live.py):

    hosts = SshHosts()              # or SshHosts(workdir)
    hosts.add(['fleet-01', 'fleet-02'])
    hosts.write_inventory(path, group='submission_servers', group_vars={...})
    ...
    hosts.close()                   # end the ControlPersist masters
    hosts.remove()                  # close, and delete the work directory

From the command line (molecule/default/prepare.yml and cleanup.yml):

    python tests/helpers/ssh_hosts.py setup --inventory FILE [--workdir DIR] [--group NAME] CONTAINER...
    python tests/helpers/ssh_hosts.py remove WORKDIR

`setup` prints the work directory; `remove` ends the master connections
and deletes the directory, and refuses a directory that `setup` did not make.

Needs podman (CONTAINERS_CONF defaults to tests/hosts/containers.conf) and
the OpenSSH client tools (ssh, ssh-keygen) on the controller.
"""

import argparse
import base64
import binascii
import concurrent.futures
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEST_NETWORKS = ipaddress.ip_network('198.18.0.0/15')
REMOTE_USER = 'root'
REMOTE_PYTHON = '/usr/bin/python3'
KEY_NAME = 'id_ed25519'
# Marks a work directory as ours, so that `remove` never deletes anything else.
MARKER = '.ssh_hosts_workdir'
CONTROL_PERSIST = '60s'
# A unix socket path holds at most 107 bytes, and ssh first binds the master
# socket at ControlPath plus a 17-byte random suffix; %C is 40 hex digits.
_MAX_CONTROL_DIR = 107 - 17 - len('/') - 40
_HOST_KEY_TYPES = ('ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-', 'ssh-dss', 'sk-')

# Run in each container with root's public key on stdin. The host public keys
# go to descriptor 3, the caller's stdout, and everything else to stderr, so
# that what ssh-keygen and systemctl print cannot be taken for a key.
_START_SSHD = r'''set -eu
exec 3>&1 1>&2
umask 077
mkdir -p /root/.ssh
cat > /root/.ssh/authorized_keys
ssh-keygen -A
systemctl enable --now ssh.service
systemctl is-active --quiet ssh.service
cat /etc/ssh/ssh_host_*_key.pub >&3
'''


class SshHostsError(Exception):
    """A test host cannot be made reachable over SSH; the message says which and why."""


def podman(*args, stdin=None, timeout=120):
    """Run podman with the project's containers.conf (unless CONTAINERS_CONF is set); returns the CompletedProcess."""
    env = dict(os.environ)
    env.setdefault('CONTAINERS_CONF', os.path.join(REPO, 'tests', 'hosts', 'containers.conf'))
    return subprocess.run(['podman'] + list(args), input=stdin, env=env, capture_output=True, text=True,
                          check=False, timeout=timeout)


def check_tools():
    """Fail with the missing tools' names when the controller lacks podman or the OpenSSH client."""
    missing = [tool for tool in ('podman', 'ssh', 'ssh-keygen') if not shutil.which(tool)]
    if missing:
        raise SshHostsError('missing on the controller: %s (Debian packages podman, openssh-client)' % ', '.join(missing))


def make_private_dir(path):
    """Create `path` (and parents) if needed and make it 0700; returns its absolute path."""
    path = os.path.abspath(path)
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def generate_key(workdir):
    """Make an ed25519 key pair without passphrase in `workdir` unless one is there; returns the private key's path."""
    key = os.path.join(workdir, KEY_NAME)
    if not os.path.exists(key):
        proc = subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'mailstack-test-run', '-f', key],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SshHostsError('ssh-keygen failed: %s' % proc.stderr.strip())
    os.chmod(key, 0o600)
    return key


def address_from_networks(container, networks, network=None):
    """The container's IPv4 address from `podman inspect`'s NetworkSettings.Networks.

    With several networks, `network` names the one to use. The address must
    be in the project's test range (198.18.0.0/15).
    """
    if network is not None:
        if network not in networks:
            raise SshHostsError('container %s is not on network %s (it is on: %s)'
                                % (container, network, ', '.join(sorted(networks)) or 'none'))
        chosen = networks[network]
    elif len(networks) == 1:
        chosen = next(iter(networks.values()))
    else:
        raise SshHostsError('container %s is on %s: name the network to reach it on'
                            % (container, ', '.join(sorted(networks)) or 'no network'))
    text = (chosen or {}).get('IPAddress') or ''
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise SshHostsError('container %s has no IP address on its network (%r)' % (container, text)) from None
    if address not in TEST_NETWORKS:
        raise SshHostsError('refusing %s at %s: only the project test networks (%s) are reached'
                            % (container, address, TEST_NETWORKS))
    return str(address)


def parse_host_keys(text, container='container'):
    """[(type, base64 key)] from the lines of ssh_host_*_key.pub files (their comments dropped)."""
    keys = []
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 2 or not fields[0].startswith(_HOST_KEY_TYPES):
            raise SshHostsError('unexpected host key line from %s: %r' % (container, line[:80]))
        try:
            base64.b64decode(fields[1], validate=True)
        except (binascii.Error, ValueError):
            raise SshHostsError('host key from %s is not base64: %r' % (container, fields[1][:40])) from None
        keys.append((fields[0], fields[1]))
    if not keys:
        raise SshHostsError('%s has no SSH host keys' % container)
    return keys


def known_hosts_lines(address, keys):
    """known_hosts lines listing `keys` for `address` (port 22)."""
    return ['%s %s %s' % (address, key_type, key) for key_type, key in keys]


def ssh_args(control_dir):
    """ssh_args: Ansible's default connection sharing, with the sockets in our own directory.

    Replaces Ansible's default `-C -o ControlMaster=auto -o ControlPersist=60s`
    without -C: compression costs CPU on both ends and gains nothing on a
    local bridge.
    """
    return '-o ControlMaster=auto -o ControlPersist=%s -o ControlPath=%s/%%C' % (CONTROL_PERSIST, control_dir)


def ssh_common_args(known_hosts):
    """ssh_common_args: host key checking against our known_hosts only, and only our key offered."""
    return ('-o UserKnownHostsFile=%s -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes '
            '-o IdentitiesOnly=yes -o BatchMode=yes' % known_hosts)


def host_vars(address, key, known_hosts, control_dir):
    """The inventory variables that reach one host over SSH."""
    return {
        'ansible_host': address,
        'ansible_port': 22,
        'ansible_connection': 'ssh',
        'ansible_user': REMOTE_USER,
        'ansible_ssh_private_key_file': key,
        'ansible_ssh_args': ssh_args(control_dir),
        'ansible_ssh_common_args': ssh_common_args(known_hosts),
        'ansible_host_key_checking': True,
        'ansible_pipelining': True,
        'ansible_python_interpreter': REMOTE_PYTHON,
    }


def inventory(hosts, group=None, group_vars=None):
    """An inventory dict: `hosts` ({name: host variables}) under `all`, or under `group` with `group_vars`."""
    if group is None:
        if group_vars:
            raise SshHostsError('group_vars need a group')
        return {'all': {'hosts': hosts}}
    entry = {'hosts': hosts}
    if group_vars:
        entry['vars'] = group_vars
    return {'all': {'children': {group: entry}}}


class _NoAliasDumper(yaml.SafeDumper):
    """Writes repeated values out in full: an inventory reader should not need to follow YAML anchors."""

    def ignore_aliases(self, data):
        return True


def dump_inventory(data):
    """YAML text of an inventory dict."""
    return '---\n' + yaml.dump(data, Dumper=_NoAliasDumper, default_flow_style=False, sort_keys=False, width=1000)


def close_masters(control_dir):
    """End every ControlPersist master whose socket is in `control_dir` (they would otherwise outlive the run by 60 s)."""
    if not os.path.isdir(control_dir):
        return
    for name in os.listdir(control_dir):
        # A ControlPath without tokens names the socket itself: the destination is not used.
        subprocess.run(['ssh', '-o', 'ControlPath=' + os.path.join(control_dir, name), '-O', 'exit', 'control-socket'],
                       capture_output=True, check=False, timeout=30)


def remove_workdir(workdir):
    """End the masters of a work directory made by `SshHosts` and delete it; refuse any other directory.

    A directory that is already gone is no error (cleanup may run twice).
    """
    if not os.path.exists(workdir):
        return
    if not os.path.isfile(os.path.join(workdir, MARKER)):
        raise SshHostsError('%s is not a work directory of ssh_hosts (no %s): not removed' % (workdir, MARKER))
    close_masters(os.path.join(workdir, 'cp'))
    shutil.rmtree(workdir)


def wait_for_systemd(container, timeout=120):
    """Wait until systemd in `container` has finished starting (running or degraded)."""
    deadline = time.monotonic() + timeout
    state = 'unknown'
    while time.monotonic() < deadline:
        try:
            proc = podman('exec', container, 'systemctl', 'is-system-running', '--wait',
                          timeout=max(5, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            break
        state = proc.stdout.strip() or proc.stderr.strip()
        if state in ('running', 'degraded'):
            return state
        time.sleep(1)
    raise SshHostsError('systemd in %s did not finish starting within %d s (last state: %s)' % (container, timeout, state))


def start_sshd(container, public_key):
    """Authorize `public_key` for root, make host keys and start sshd in `container`; returns its host keys."""
    proc = podman('exec', '-i', container, 'sh', '-c', _START_SSHD, stdin=public_key)
    if proc.returncode != 0:
        raise SshHostsError('starting sshd in %s failed (rc=%d): %s' % (container, proc.returncode, proc.stderr.strip()[-2000:]))
    return parse_host_keys(proc.stdout, container)


def container_address(container, network=None):
    """The address of `container` in the project's test range."""
    proc = podman('inspect', '--format', '{{json .NetworkSettings.Networks}}', container)
    if proc.returncode != 0:
        raise SshHostsError('podman inspect %s failed: %s' % (container, proc.stderr.strip()))
    return address_from_networks(container, json.loads(proc.stdout or 'null') or {}, network)


class SshHosts:
    """Per-run SSH access to podman containers of the project's image (see the module docstring)."""

    def __init__(self, workdir=None):
        check_tools()
        workdir = os.path.abspath(workdir) if workdir else None
        # Checked before anything is made; mkdtemp names are the prefix and 8 characters.
        control_dir = os.path.join(workdir or os.path.join(tempfile.gettempdir(), 'ssh-12345678'), 'cp')
        if len(control_dir) > _MAX_CONTROL_DIR:
            raise SshHostsError('ControlPath directory %s is longer than %d characters (a unix socket path is short): '
                                'choose a shorter work directory or TMPDIR' % (control_dir, _MAX_CONTROL_DIR))
        self.workdir = make_private_dir(workdir) if workdir else tempfile.mkdtemp(prefix='ssh-')
        with open(os.path.join(self.workdir, MARKER), 'w', encoding='ascii'):
            pass
        self.control_dir = make_private_dir(os.path.join(self.workdir, 'cp'))
        self.key = generate_key(self.workdir)
        self.known_hosts = os.path.join(self.workdir, 'known_hosts')
        self.addresses = {}
        self._host_keys = {}

    def add(self, containers, network=None, timeout=120):
        """Make each container reachable over SSH (in parallel); the inventory name is the container name."""
        with open(self.key + '.pub', encoding='ascii') as handle:
            public_key = handle.read()

        def prepare(container):
            address = container_address(container, network)
            wait_for_systemd(container, timeout)
            return container, address, start_sshd(container, public_key)

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            for container, address, keys in pool.map(prepare, containers):
                self.addresses[container] = address
                self._host_keys[container] = keys
        self._write_known_hosts()

    def _write_known_hosts(self):
        lines = []
        for container in sorted(self.addresses):
            lines.extend(known_hosts_lines(self.addresses[container], self._host_keys[container]))
        descriptor = os.open(self.known_hosts + '.new', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, 'w', encoding='ascii') as handle:
            handle.write('\n'.join(lines) + '\n')
        os.replace(self.known_hosts + '.new', self.known_hosts)

    def host_vars(self, container):
        """The connection variables of one added container."""
        return host_vars(self.addresses[container], self.key, self.known_hosts, self.control_dir)

    def inventory(self, group=None, group_vars=None):
        """The inventory dict of every added container."""
        return inventory({name: self.host_vars(name) for name in sorted(self.addresses)}, group, group_vars)

    def write_inventory(self, path, group=None, group_vars=None):
        """Write the inventory (mode 0600: group_vars may hold test passwords); returns `path`."""
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, 'w', encoding='utf-8') as handle:
            handle.write(dump_inventory(self.inventory(group, group_vars)))
        return path

    def close(self):
        """End the ControlPersist master connections: the next connection starts from scratch."""
        close_masters(self.control_dir)

    def remove(self):
        """End the master connections and delete the work directory."""
        remove_workdir(self.workdir)


def _setup(args):
    hosts = SshHosts(args.workdir)
    try:
        hosts.add(args.containers, network=args.network, timeout=args.timeout)
        hosts.write_inventory(args.inventory, group=args.group)
    except BaseException:
        if not args.workdir:
            hosts.remove()
        raise
    print('work directory: %s' % hosts.workdir)
    for name in sorted(hosts.addresses):
        print('%s: root@%s over ssh' % (name, hosts.addresses[name]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    actions = parser.add_subparsers(dest='action', required=True)
    setup = actions.add_parser('setup', help='make containers reachable over SSH and write their inventory')
    setup.add_argument('--inventory', required=True, help='inventory file to write (YAML)')
    setup.add_argument('--workdir', help='private directory for the key, known_hosts and sockets (default: a new temporary one)')
    setup.add_argument('--group', help='put the hosts in this group (default: directly under all)')
    setup.add_argument('--network', help='podman network to reach the containers on (needed if they are on several)')
    setup.add_argument('--timeout', type=int, default=120, help='seconds to wait for systemd in each container')
    setup.add_argument('containers', nargs='+', metavar='CONTAINER')
    remove = actions.add_parser('remove', help='end the master connections and delete a work directory')
    remove.add_argument('workdir')
    args = parser.parse_args(argv)
    try:
        if args.action == 'setup':
            _setup(args)
        else:
            remove_workdir(args.workdir)
    except (SshHostsError, subprocess.TimeoutExpired) as exc:
        sys.exit('ssh_hosts: %s' % exc)


if __name__ == '__main__':
    main()
