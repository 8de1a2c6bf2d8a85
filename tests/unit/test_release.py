"""make release's checks (tests/tools/release.sh --check-only) in a temporary git repository.

Each case copies galaxy.yml, the changelog and the script into a new repository,
changes one thing, commits, tags, and runs the check: it passes only when
galaxy.yml, changelogs/changelog.yaml, CHANGELOG.rst and an annotated tag on
HEAD agree, and a refusal names what disagrees.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join('tests', 'tools', 'release.sh')
# A release that changelogs/changelog.yaml and CHANGELOG.rst hold.
RELEASED = '0.1.0'
GIT_ENV = {
    'GIT_AUTHOR_NAME': 'test', 'GIT_AUTHOR_EMAIL': 'test@example.invalid',
    'GIT_COMMITTER_NAME': 'test', 'GIT_COMMITTER_EMAIL': 'test@example.invalid',
    'GIT_CONFIG_GLOBAL': os.devnull, 'GIT_CONFIG_NOSYSTEM': '1',
}


def _git(repo, *args):
    subprocess.run(['git', '-C', repo, *args], check=True, capture_output=True,
                   env={**os.environ, **GIT_ENV})


def _set_galaxy_version(repo, version):
    path = os.path.join(repo, 'galaxy.yml')
    with open(path, encoding='utf-8') as handle:
        text = handle.read()
    text, count = re.subn(r'(?m)^version: .*$', 'version: ' + version, text)
    assert count == 1
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(text)


def _release_repo(tmp_path, galaxy_version=RELEASED, tag=RELEASED, lightweight=False,
                  tag_on_parent=False, fragment=False, dirty=False):
    """A repository whose one release commit has these properties."""
    repo = str(tmp_path / 'repo')
    for name in ('galaxy.yml', 'CHANGELOG.rst', '.gitignore', SCRIPT,
                 os.path.join('changelogs', 'changelog.yaml'), os.path.join('changelogs', 'config.yaml')):
        os.makedirs(os.path.dirname(os.path.join(repo, name)), exist_ok=True)
        shutil.copy2(os.path.join(REPO_ROOT, name), os.path.join(repo, name))
    os.makedirs(os.path.join(repo, 'changelogs', 'fragments'))
    open(os.path.join(repo, 'changelogs', 'fragments', '.keep'), 'w', encoding='utf-8').close()
    _set_galaxy_version(repo, galaxy_version)
    _git(repo, 'init', '-q')
    _git(repo, 'add', '-A')
    _git(repo, 'commit', '-q', '-m', 'before the release')
    if fragment:
        with open(os.path.join(repo, 'changelogs', 'fragments', 'late.yml'), 'w', encoding='utf-8') as handle:
            handle.write('bugfixes:\n  - a change after the release\n')
    with open(os.path.join(repo, 'README.md'), 'w', encoding='utf-8') as handle:
        handle.write('release commit\n')
    _git(repo, 'add', '-A')
    _git(repo, 'commit', '-q', '-m', 'release')
    if tag:
        target = 'HEAD^' if tag_on_parent else 'HEAD'
        if lightweight:
            _git(repo, 'tag', tag, target)
        else:
            _git(repo, 'tag', '-a', tag, '-m', 'release ' + tag, target)
    if dirty:
        with open(os.path.join(repo, 'README.md'), 'a', encoding='utf-8') as handle:
            handle.write('edited after the tag\n')
    return repo


def _check(repo, version=RELEASED):
    return subprocess.run(['bash', os.path.join(repo, SCRIPT), version, '--check-only'],
                          capture_output=True, text=True, cwd=repo, check=False,
                          env={**os.environ, **GIT_ENV, 'PYTHON': sys.executable})


def test_galaxy_changelog_and_tag_on_head_agree(tmp_path):
    result = _check(_release_repo(tmp_path))
    assert result.returncode == 0, result.stderr
    assert 'agree' in result.stdout
    assert result.stderr == ''


# (case, repository, version asked for, what the refusal must say, how many problems it lists)
REFUSALS = [
    ('wrong galaxy version', {'galaxy_version': '0.2.0'}, RELEASED,
     ['galaxy.yml says version 0.2.0, not 0.1.0'], 1),
    ('no changelog release', {'galaxy_version': '0.3.0', 'tag': '0.3.0'}, '0.3.0',
     ['changelogs/changelog.yaml has no release 0.3.0', 'CHANGELOG.rst has no section v0.3.0'], 2),
    ('no tag', {'tag': None}, RELEASED,
     ['no tag 0.1.0'], 1),
    ('tag not on HEAD', {'tag_on_parent': True}, RELEASED,
     ['tag 0.1.0 is on ', 'not on HEAD'], 1),
    ('lightweight tag', {'lightweight': True}, RELEASED,
     ['tag 0.1.0 is a lightweight tag'], 1),
    ('fragment left', {'fragment': True}, RELEASED,
     ['changelogs/fragments holds fragments no release describes (changelogs/fragments/late.yml)'], 1),
    ('dirty tree', {'dirty': True}, RELEASED,
     ['the working tree is not clean', 'README.md'], 1),
]


@pytest.mark.parametrize('case, repo_args, version, messages, problems', REFUSALS,
                         ids=[row[0] for row in REFUSALS])
def test_refused_with_what_disagrees(tmp_path, case, repo_args, version, messages, problems):
    result = _check(_release_repo(tmp_path, **repo_args), version)
    assert result.returncode == 1, (case, result.stdout, result.stderr)
    assert 'refused' in result.stderr
    for message in messages:
        assert message in result.stderr, (case, result.stderr)
    # Only what disagrees is named, one line each.
    assert result.stderr.count('\n  - ') == problems, result.stderr


@pytest.mark.parametrize('version', ['', '0.1', 'v0.1.0'])
def test_not_a_version(tmp_path, version):
    result = _check(_release_repo(tmp_path), version)
    assert result.returncode == 2
    assert 'version' in result.stderr
