"""The sasldb modules on the Debian 12 and 13 test images, with each release's own packages.

Skipped when podman or the images (tests/hosts/build-images.sh) are missing.
The container needs the Debian archive (apt-get install sasl2-bin db-util).
"""

import os
import shutil
import subprocess
import sys
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CONTAINERS_CONF = os.path.join(REPO, 'tests', 'hosts', 'containers.conf')
PLAYBOOK = os.path.join(HERE, 'files', 'sasldb_on_debian.yml')
HELPER = os.path.join(REPO, 'tests', 'helpers', 'sasl_auth.py')


def _podman(*args, **kwargs):
    env = dict(os.environ, CONTAINERS_CONF=CONTAINERS_CONF)
    return subprocess.run(['podman'] + list(args), env=env, capture_output=True, text=True, check=False, **kwargs)


@pytest.mark.parametrize('release', ['12', '13'])
def test_sasldb_modules_on_debian_image(release):
    image = 'localhost/mailstack-debian:' + release
    if not shutil.which('podman') or _podman('image', 'exists', image).returncode != 0:
        pytest.skip('podman or %s not available (tests/hosts/build-images.sh)' % image)
    name = 'mailstack-sasldb-%s-%s' % (release, uuid.uuid4().hex[:8])
    started = _podman('run', '-d', '--rm', '--name', name, image, 'sleep', 'infinity')
    assert started.returncode == 0, started.stderr
    try:
        env = dict(os.environ, CONTAINERS_CONF=CONTAINERS_CONF, ANSIBLE_PYTHON_INTERPRETER='/usr/bin/python3')
        proc = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', name + ',',
             '-c', 'containers.podman.podman', PLAYBOOK, '-e', 'sasl_auth_helper=' + HELPER],
            env=env, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
        for secret in ('Alice-Pw-1', 'Bob-Pw-2', 'Bob-Pw-new', 'Carol-Pw-3'):
            assert secret not in proc.stdout
    finally:
        _podman('rm', '-f', '-t', '0', name)
