"""module_utils/_managed_files.py: what differs between a path's live state and the wanted one, as data."""

import pytest

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import ModuleError
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils import _managed_files as mf

P = '/etc/postfix/x'
MISSING = {'exists': False}
DIR = {'exists': True, 'type': 'directory', 'mode': '0755', 'owner': 'root', 'group': 'root'}


def regular(content=b'old\n', mode='0644', owner='root', group='root'):
    return {'exists': True, 'type': 'file', 'mode': mode, 'owner': owner, 'group': group, 'content': content}


def link(target):
    return {'exists': True, 'type': 'link', 'mode': '0777', 'owner': 'root', 'group': 'root', 'link_target': target}


def want(**options):
    item = dict(path=P)
    item.update(options)
    return mf.check_item(item)


def related(parent=None, src=None, aside=None, empty_directory=False):
    return dict(parent=parent or DIR, src=src or MISSING, aside=aside or MISSING, empty_directory=empty_directory,
                defaults={'owner': 'root', 'group': 'root'})


# case -> (wanted item, live state, related states, expected action, expected attributes, expected changes)
PLANS = {
    'file: same content, nothing given': (
        want(content='old\n'), regular(), related(), None, {}, []),
    'file: other content': (
        want(content='new\n'), regular(), related(), 'write', {}, ['content']),
    'file: other content and mode': (
        want(content='new\n', mode='0600'), regular(), related(), 'write', {'mode': '0600'},
        ['content', 'mode 0644 -> 0600']),
    'file: only the owner differs': (
        want(content='old\n', owner='postfix'), regular(), related(), None, {'owner': 'postfix'},
        ['owner root -> postfix']),
    'file: created with the defaults': (
        want(content='new\n'), MISSING, related(), 'create', {'owner': 'root', 'group': 'root', 'mode': '0644'},
        ['state absent -> file', 'owner root', 'group root', 'mode 0644']),
    'file: a new secret file is private by default': (
        want(content='s', secret=True), MISSING, related(), 'create', {'owner': 'root', 'group': 'root', 'mode': '0600'},
        ['state absent -> file', 'owner root', 'group root', 'mode 0600']),
    'file: created with what is given': (
        want(content='', owner='daemon', group='nogroup', mode='640'), MISSING, related(), 'create',
        {'owner': 'daemon', 'group': 'nogroup', 'mode': '0640'},
        ['state absent -> file', 'owner daemon', 'group nogroup', 'mode 0640']),
    'file: empty content differs from some': (
        want(content=''), regular(), related(), 'write', {}, ['content']),
    'attributes only: all as wanted': (
        want(owner='root', group='root', mode='0644'), regular(), related(), None, {}, []),
    'attributes only: mode and group': (
        want(group='sasl', mode='0640'), regular(), related(), None, {'group': 'sasl', 'mode': '0640'},
        ['group root -> sasl', 'mode 0644 -> 0640']),
    'attributes only: the content is never looked at': (
        want(mode='0644'), regular(content=None), related(), None, {}, []),
    'initial sasldb: a missing file is made': (
        want(initial='sasldb', group='sasl', mode='0640', secret=True), MISSING, related(), 'sasldb',
        {'owner': 'root', 'group': 'sasl', 'mode': '0640'},
        ['state absent -> file', 'owner root', 'group sasl', 'mode 0640']),
    'initial sasldb: an existing one is kept': (
        want(initial='sasldb', mode='0640'), regular(content=b'\x00db'), related(), None, {'mode': '0640'},
        ['mode 0644 -> 0640']),
    'directory: as wanted': (
        want(state='directory', mode='0755'), DIR, related(), None, {}, []),
    'directory: mode': (
        want(state='directory', mode='0700'), DIR, related(), None, {'mode': '0700'}, ['mode 0755 -> 0700']),
    'directory: created': (
        want(state='directory'), MISSING, related(parent=MISSING), 'mkdir',
        {'owner': 'root', 'group': 'root', 'mode': '0755'},
        ['state absent -> directory', 'owner root', 'group root', 'mode 0755']),
    'link: as wanted': (
        want(state='link', src='/a'), link('/a'), related(), None, {}, []),
    'link: other target': (
        want(state='link', src='/a'), link('/b'), related(), 'symlink', {}, ['link /b -> /a']),
    'link: missing': (
        want(state='link', src='/a'), MISSING, related(), 'symlink', {}, ['state absent -> link', 'link /a']),
    'link: a file is moved to the free target': (
        want(state='link', src='/a', replace_file='move'), regular(), related(src=MISSING), 'move_then_link', {},
        ['moved %s -> /a' % P, 'state file -> link', 'link /a']),
    'link: a file is kept aside when the target exists': (
        want(state='link', src='/a', replace_file='move'), regular(), related(src=regular()), 'aside_then_link', {},
        ['moved %s -> %s.before-link' % (P, P), 'state file -> link', 'link /a']),
    'absent: already': (
        want(state='absent'), MISSING, related(), None, {}, []),
    'absent: a file': (
        want(state='absent'), regular(), related(), 'remove', {}, ['state file -> absent']),
    'absent: a link': (
        want(state='absent'), link('/a'), related(), 'remove', {}, ['state link -> absent']),
    'absent: an empty directory': (
        want(state='absent'), DIR, related(empty_directory=True), 'rmdir', {}, ['state directory -> absent']),
}


@pytest.mark.parametrize('case', list(PLANS))
def test_plan_item(case):
    wanted, live, rel, action, attributes, changes = PLANS[case]
    plan = mf.plan_item(wanted, live, rel)
    assert plan['action'] == action
    assert plan['attributes'] == attributes
    assert mf.describe_changes(plan['changes']) == changes


# case -> (wanted item, live state, related states, words the message must hold)
REFUSED = {
    'file missing, no content, no initial': (want(mode='0644'), MISSING, related(), 'does not exist: give content'),
    'file in a missing directory': (want(content='x'), MISSING, related(parent=MISSING), 'its directory /etc/postfix'),
    'file where a directory is': (want(content='x'), DIR, related(), 'is a directory, not a regular file'),
    'file where a link is': (want(mode='0644'), link('/a'), related(), 'is a link, not a regular file'),
    'directory where a file is': (want(state='directory'), regular(), related(), 'is a regular file, not a directory'),
    'link where a file is, no replace_file': (want(state='link', src='/a'), regular(), related(),
                                              'set replace_file: move'),
    'link where a directory is': (want(state='link', src='/a', replace_file='move'), DIR, related(),
                                  'is a directory, not a symlink'),
    'link: file, target and aside all there': (want(state='link', src='/a', replace_file='move'), regular(),
                                               related(src=regular(), aside=regular()), '.before-link exists'),
    'absent: a directory that is not empty': (want(state='absent'), DIR, related(), 'not empty'),
}


@pytest.mark.parametrize('case', list(REFUSED))
def test_plan_item_refuses(case):
    wanted, live, rel, words = REFUSED[case]
    with pytest.raises(ModuleError, match=words) as info:
        mf.plan_item(wanted, live, rel)
    assert P in str(info.value)


# case -> (item, words the message must hold)
BAD_ITEMS = {
    'relative path': ({'path': 'etc/x', 'content': 'x'}, 'not an absolute path'),
    'unknown state': ({'path': P, 'state': 'hard'}, "state 'hard'"),
    'mode as a number (unquoted YAML 0644)': ({'path': P, 'content': 'x', 'mode': 420}, 'quote it in YAML'),
    'symbolic mode': ({'path': P, 'content': 'x', 'mode': 'u=rw'}, 'not an octal string'),
    'mode with an 8': ({'path': P, 'content': 'x', 'mode': '0648'}, 'not an octal string'),
    'content and initial': ({'path': P, 'content': 'x', 'initial': 'sasldb'}, 'content or initial, not both'),
    'content on a directory': ({'path': P, 'state': 'directory', 'content': 'x'}, 'content does not go with state directory'),
    'link without src': ({'path': P, 'state': 'link'}, 'needs src'),
    'mode on a link': ({'path': P, 'state': 'link', 'src': '/a', 'mode': '0644'}, 'mode does not go with state link'),
    'replace_file on a file': ({'path': P, 'content': 'x', 'replace_file': 'move'}, 'replace_file does not go'),
    'owner on absent': ({'path': P, 'state': 'absent', 'owner': 'root'}, 'owner does not go with state absent'),
    'src on a file (a role file, for the action plugin)': ({'path': P, 'src': 'x.conf'}, 'names a role file'),
    'template (for the action plugin)': ({'path': P, 'template': 'x.j2'}, 'action plugin'),
}


@pytest.mark.parametrize('case', list(BAD_ITEMS))
def test_check_item_refuses(case):
    item, words = BAD_ITEMS[case]
    with pytest.raises(ModuleError, match=words):
        mf.check_item(item)


@pytest.mark.parametrize('mode, expected', [('644', '0644'), ('0644', '0644'), ('0600', '0600'), ('2755', '2755'),
                                            (None, None)])
def test_normalize_mode(mode, expected):
    assert mf.normalize_mode(P, mode) == expected


def test_predicted_states_of_a_move():
    """In check mode the next items see the file where the link's move would put it."""
    live = regular(mode='0640', group='sasl')
    plan = mf.plan_item(want(state='link', src='/a', replace_file='move'), live, related(src=MISSING))
    assert plan['after'] == {'exists': True, 'type': 'link', 'link_target': '/a'}
    assert plan['also'] == {'/a': live}


def test_predicted_state_of_a_new_file():
    plan = mf.plan_item(want(content='x', mode='0600'), MISSING, related())
    assert plan['after'] == {'exists': True, 'type': 'file', 'owner': 'root', 'group': 'root', 'mode': '0600',
                             'content': b'x'}


# case -> (wanted item, live state, expected diff entries (before, after) in order)
DIFFS = {
    'content only': (want(content='new\n'), regular(), [('old\n', 'new\n')]),
    'content and mode': (want(content='new\n', mode='0600'), regular(),
                         [('old\n', 'new\n'), ('mode 0644\n', 'mode 0600\n')]),
    'a secret file shows no content': (want(content='new\n', mode='0600', secret=True), regular(),
                                       [('mode 0644\n', 'mode 0600\n')]),
    'a secret file, content only: no entry': (want(content='new\n', secret=True), regular(), []),
    'new file': (want(content='x\n'), MISSING,
                 [('', 'x\n'), ('state absent\n', 'state file\nowner root\ngroup root\nmode 0644\n')]),
    'removed file': (want(state='absent'), regular(), [('old\n', ''), ('state file\n', 'state absent\n')]),
    'removed secret file': (want(state='absent', secret=True), regular(), [('state file\n', 'state absent\n')]),
    'nothing changes': (want(content='old\n'), regular(), []),
    'directory mode': (want(state='directory', mode='0700'), DIR, [('mode 0755\n', 'mode 0700\n')]),
    'link target': (want(state='link', src='/a'), link('/b'), [('link /b\n', 'link /a\n')]),
}


@pytest.mark.parametrize('case', list(DIFFS))
def test_plan_diff(case):
    wanted, live, expected = DIFFS[case]
    plan = mf.plan_item(wanted, live, related())
    diffs = mf.plan_diff(wanted, live, plan)
    assert [(d['before'], d['after']) for d in diffs] == expected
    assert all(d['before_header'] == d['after_header'] == P for d in diffs)
