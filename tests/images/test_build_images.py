"""tests/hosts/build-images.sh: the path every new machine takes.

Real podman and the real script; only debootstrap is replaced, through PATH,
by a stand-in that unpacks the project's existing image (or fails, or leaves
python3 out), so that a build takes seconds and its failures can be chosen.
The images are built under a throw-away name (MAILSTACK_IMAGE_REPO) and
removed afterwards; `make setup` has built the real ones the stand-in copies.
"""

import os
import subprocess
import uuid

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(REPO, 'tests', 'hosts', 'build-images.sh')
CONTAINERS_CONF = os.path.join(REPO, 'tests', 'hosts', 'containers.conf')
SOURCE_IMAGES = {'bookworm': 'localhost/mailstack-debian:12', 'trixie': 'localhost/mailstack-debian:13'}

# Called as: debootstrap --variant=minbase --include=... RELEASE ROOTFS MIRROR
FAKE_DEBOOTSTRAP = r'''#!/bin/bash
set -euo pipefail
release=$3 rootfs=$4
echo "$release" >> "$FAKE_DEBOOTSTRAP_CALLS"
if [ "$FAKE_DEBOOTSTRAP_MODE" = fail ]; then
  echo "E: Couldn't download packages: fake-package" >&2
  exit 1
fi
case "$release" in bookworm) image=%(bookworm)s ;; trixie) image=%(trixie)s ;; esac
mkdir -p "$rootfs"
container=$(podman create "$image")
podman export "$container" | tar -x -C "$rootfs"
podman rm "$container" >/dev/null
if [ "$FAKE_DEBOOTSTRAP_MODE" = no-python ]; then
  rm -f "$rootfs"/usr/bin/python3*
fi
''' % SOURCE_IMAGES


def _podman(*args):
    env = dict(os.environ, CONTAINERS_CONF=CONTAINERS_CONF)
    return subprocess.run(['podman', *args], env=env, check=False, capture_output=True, text=True)


@pytest.fixture(name='build')
def fixture_build(tmp_path):
    """Run build-images.sh with the stand-in debootstrap; yields a runner."""
    for image in SOURCE_IMAGES.values():
        assert _podman('image', 'exists', image).returncode == 0, '%s is missing: run make images' % image
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    fake = bin_dir / 'debootstrap'
    fake.write_text(FAKE_DEBOOTSTRAP)
    fake.chmod(0o755)
    scratch = tmp_path / 'tmp'
    scratch.mkdir()
    repo = 'localhost/mailstack-buildtest-' + uuid.uuid4().hex[:8]
    calls = tmp_path / 'debootstrap-calls'
    calls.touch()

    def run(*releases, mode='ok', path=None):
        env = dict(os.environ, CONTAINERS_CONF=CONTAINERS_CONF, MAILSTACK_IMAGE_REPO=repo, TMPDIR=str(scratch),
                   FAKE_DEBOOTSTRAP_MODE=mode, FAKE_DEBOOTSTRAP_CALLS=str(calls),
                   PATH=path or '%s:%s' % (bin_dir, os.environ['PATH']))
        return subprocess.run([SCRIPT, *releases], env=env, check=False, capture_output=True, text=True)

    run.repo = repo
    run.scratch = scratch
    run.calls = calls
    yield run
    listing = _podman('images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'reference=' + repo)
    for name in listing.stdout.split():
        _podman('rmi', '--force', name)


def _tags(repo):
    listing = _podman('images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'reference=' + repo)
    return sorted(listing.stdout.split())


def _label(image):
    return _podman('image', 'inspect', '--format', '{{ index .Labels "mailstack.recipe" }}', image).stdout.strip()


def test_builds_both_releases_in_one_run(build):
    # The run that broke every new machine: two images built, then main returned.
    result = build('bookworm', 'trixie')
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'unbound variable' not in result.stderr
    assert _tags(build.repo) == [build.repo + ':12', build.repo + ':13']
    assert _label(build.repo + ':12') == _label(SOURCE_IMAGES['bookworm'])
    assert list(build.scratch.iterdir()) == []


def test_second_run_keeps_current_images(build):
    assert build('bookworm').returncode == 0
    result = build('bookworm')
    assert result.returncode == 0, result.stderr
    assert 'exists, skipping' in result.stdout
    assert build.calls.read_text().split() == ['bookworm']


def test_image_has_sshd_off_and_no_host_keys(build):
    assert build('bookworm').returncode == 0
    probe = _podman('run', '--rm', '--network', 'none', build.repo + ':12', 'sh', '-c',
                    'systemctl is-enabled ssh.service; ls /etc/ssh/ssh_host_* 2>/dev/null | wc -l')
    assert probe.stdout.split() == ['disabled', '0'], probe.stdout + probe.stderr


def test_failed_debootstrap_names_release_and_step(build):
    result = build('trixie', mode='fail')
    assert result.returncode == 1
    assert "build-images: trixie: step 'debootstrap' failed" in result.stderr
    assert "E: Couldn't download packages: fake-package" in result.stderr
    assert _tags(build.repo) == []
    assert list(build.scratch.iterdir()) == []


def test_image_that_cannot_run_python_is_never_tagged(build):
    result = build('bookworm', mode='no-python')
    assert result.returncode == 1
    assert "build-images: bookworm: step 'smoke test (python3 in the image)' failed" in result.stderr
    assert _tags(build.repo) == []  # neither the image nor its candidate name
    assert list(build.scratch.iterdir()) == []


def test_failure_stops_before_the_next_release(build):
    result = build('bookworm', 'trixie', mode='fail')
    assert result.returncode == 1
    assert build.calls.read_text().split() == ['bookworm']


def test_missing_host_tools_are_named(build, tmp_path):
    # /usr/sbin holds debootstrap and iptables on Debian: leave it out.
    bin_dir = tmp_path / 'only-podman'
    bin_dir.mkdir()
    (bin_dir / 'podman').symlink_to('/usr/bin/podman')
    result = build('bookworm', path='%s:/usr/bin:/bin' % bin_dir)
    assert result.returncode == 1
    assert 'missing host tools: debootstrap iptables ' in result.stderr
    assert "run 'make container-packages'" in result.stderr
    assert build.calls.read_text() == ''


def test_unknown_release_is_refused_before_anything(build):
    result = build('buster')
    assert result.returncode == 2
    assert "unknown release 'buster' (bookworm or trixie)" in result.stderr
    assert build.calls.read_text() == ''
