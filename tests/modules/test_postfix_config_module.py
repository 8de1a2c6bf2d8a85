"""_postfix_config against the real postconf, postfix and postalias, in temporary directories.

A real AnsibleModule (args patched as ansible's own unit tests do) runs the
tools. Every main.cf sets queue_directory and data_directory to temporary
directories, so `postfix check` never looks at the host's /var/spool/postfix;
the host's /etc/postfix is only read (its master.cf is the base of the test's).
Postfix is never started.
"""

import os
import re
import stat
import time

import pytest

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._common import ModuleError
from ansible_collections.mailstack.sasl_postfix.plugins.module_utils._postfix_config import (
    converge_aliases, converge_postfix_config)
from helpers.postfix import HOST_MASTER_CF, snapshot

MAIN_CF = """\
# main.cf for _postfix_config tests
compatibility_level = 3.6
myhostname = mx.example.test
queue_directory = {queue}
data_directory = {data}
inet_interfaces = loopback-only
alias_maps = hash:{aliases}
alias_database = hash:{aliases}
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
mua_relay_restrictions = permit_sasl_authenticated, reject
"""

SUBMISSION = """\
submission inet n       -       y       -       -       smtpd
  -o syslog_name=postfix/submission
  -o smtpd_relay_restrictions=$mua_relay_restrictions
"""

with open(HOST_MASTER_CF) as _handle:
    MASTER_CF = _handle.read() + SUBMISSION

# A second submission service, its relay restrictions given as an -o override.
SMTPS = """\
smtps     inet  n       -       y       -       -       smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_relay_restrictions={}
"""

RESTART_PARAMETERS = ['inet_interfaces', 'inet_protocols']


@pytest.fixture
def module():
    with patch_module_args({}):
        return AnsibleModule(argument_spec={}, supports_check_mode=True)


@pytest.fixture
def site(tmp_path):
    """Paths of one test: an empty live config dir, queue and data directories, the aliases file."""
    paths = dict((name, str(tmp_path / name)) for name in ('etc', 'queue', 'data'))
    for path in paths.values():
        os.mkdir(path)
    paths['aliases'] = str(tmp_path / 'etc' / 'aliases')
    paths['main_cf'] = MAIN_CF.format(**paths)
    return paths


def spec(site, main_cf=None, master_cf=None):
    return dict(config_dir=site['etc'], main_cf=site['main_cf'] if main_cf is None else main_cf,
                master_cf=MASTER_CF if master_cf is None else master_cf, restart_parameters=RESTART_PARAMETERS)


def live(site):
    return snapshot(os.path.join(site['etc'], 'main.cf'), os.path.join(site['etc'], 'master.cf'))


def age(*paths):
    """Date files back a minute: postconf waits until a main.cf/master.cf is two seconds old."""
    past = time.time() - 60
    for path in paths:
        os.utime(path, (past, past))


def install_good_pair(module, site):
    result = converge_postfix_config(module, spec(site), False)
    assert result['changed'] is True
    age(os.path.join(site['etc'], 'main.cf'), os.path.join(site['etc'], 'master.cf'))
    return live(site)


def attributes(path):
    info = os.lstat(path)
    return stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid


# -- main.cf + master.cf -----------------------------------------------------

def test_good_pair_predicted_installed_then_unchanged(module, site):
    main_cf, master_cf = os.path.join(site['etc'], 'main.cf'), os.path.join(site['etc'], 'master.cf')

    predicted = converge_postfix_config(module, spec(site), True)
    assert predicted['changed'] is True
    assert predicted['changed_files'] == ['main.cf', 'master.cf']
    assert predicted['restart'] is False  # no live main.cf: the service will be started
    assert os.listdir(site['etc']) == []

    done = converge_postfix_config(module, spec(site), False)
    assert done == predicted
    assert done['diff'] == [
        dict(before_header=main_cf, after_header=main_cf, before='', after=site['main_cf']),
        dict(before_header=master_cf, after_header=master_cf, before='', after=MASTER_CF),
    ]
    for path, text in ((main_cf, site['main_cf']), (master_cf, MASTER_CF)):
        with open(path) as handle:
            assert handle.read() == text
        assert attributes(path) == (stat.S_IFREG, 0o644, 0, 0)
    assert sorted(os.listdir(site['etc'])) == ['main.cf', 'master.cf']

    age(main_cf, master_cf)
    before = live(site)
    for check_mode in (True, False):
        again = converge_postfix_config(module, spec(site), check_mode)
        assert again == dict(changed=False, changed_files=[], restart=False, diff=[])
    assert live(site) == before


def test_only_the_changed_file_is_replaced(module, site):
    before = install_good_pair(module, site)
    main_cf = os.path.join(site['etc'], 'main.cf')
    new_main = site['main_cf'].replace('mx.example.test', 'mx2.example.test')
    result = converge_postfix_config(module, spec(site, main_cf=new_main), False)
    assert result['changed_files'] == ['main.cf']
    assert result['restart'] is False
    assert [d['before_header'] for d in result['diff']] == [main_cf]
    after = live(site)
    assert after[main_cf][0] == new_main.encode()
    master_cf = os.path.join(site['etc'], 'master.cf')
    assert after[master_cf] == before[master_cf]


def test_guarded_master_cf_override_is_accepted(module, site):
    install_good_pair(module, site)
    for value in ('permit_sasl_authenticated,reject', '$mua_relay_restrictions'):
        result = converge_postfix_config(module, spec(site, master_cf=MASTER_CF + SMTPS.format(value)), False)
        assert result['changed_files'] == ['master.cf']
        age(os.path.join(site['etc'], 'master.cf'))


def test_attributes_alone_are_corrected(module, site):
    install_good_pair(module, site)
    main_cf = os.path.join(site['etc'], 'main.cf')
    os.chmod(main_cf, 0o600)
    os.chown(main_cf, 0, 105)
    predicted = converge_postfix_config(module, spec(site), True)
    assert predicted['changed_files'] == ['main.cf']
    assert predicted['diff'][0]['before'] == 'file, owner 0, group 105, mode 0600\n'
    assert attributes(main_cf) == (stat.S_IFREG, 0o600, 0, 105)
    done = converge_postfix_config(module, spec(site), False)
    assert done['changed'] is True and done['restart'] is False
    assert attributes(main_cf) == (stat.S_IFREG, 0o644, 0, 0)
    with open(main_cf) as handle:
        assert handle.read() == site['main_cf']


@pytest.mark.parametrize('old, new, restart', [
    ('inet_interfaces = loopback-only', 'inet_interfaces = all', True),
    ('inet_interfaces = loopback-only', 'inet_interfaces = loopback-only\ninet_protocols = ipv4', True),
    ('myhostname = mx.example.test', 'myhostname = mx2.example.test', False),
    # the value in effect is the same: written out or left to the default
    ('inet_interfaces = loopback-only', 'inet_interfaces = loopback-only\ninet_protocols = all', False),
])
def test_restart_when_a_restart_parameter_changes(module, site, old, new, restart):
    install_good_pair(module, site)
    new_main = site['main_cf'].replace(old, new)
    assert new_main != site['main_cf']
    for check_mode in (True, False):
        result = converge_postfix_config(module, spec(site, main_cf=new_main), check_mode)
        assert result['changed'] is True
        assert result['restart'] is restart


def open_relay_cases():
    good_main = MAIN_CF
    return [
        ('main.cf permit', dict(main=good_main.replace(
            'permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination', 'permit')),
         r"smtpd_relay_restrictions in main.cf has a bare 'permit' before reject_unauth_destination"),
        ('main.cf without a stop', dict(main=good_main.replace(
            'permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination', 'permit_mynetworks')),
         r'smtpd_relay_restrictions in main.cf does not contain reject_unauth_destination'),
        ('main.cf $reference', dict(main=good_main.replace(
            'permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination',
            '$open_relay_list') + 'open_relay_list = permit_mynetworks, permit\n'),
         r"smtpd_relay_restrictions in main.cf has a bare 'permit'"),
        ('master.cf override', dict(master=SMTPS.format('permit_mynetworks,permit')),
         r"smtps/inet/smtpd_relay_restrictions in master.cf has a bare 'permit'"),
        ('master.cf $reference', dict(main=good_main + 'open_relay_list = permit\n',
                                      master=SMTPS.format('$open_relay_list')),
         r"smtps/inet/smtpd_relay_restrictions in master.cf has a bare 'permit'"),
    ]


BAD_PAIRS = [
    ('misspelt parameter', dict(main=MAIN_CF + 'smtpd_relay_restrictionz = permit\n'),
     r'postconf reported problems in the candidate configuration:\n'
     r'.*main\.cf: unused parameter: smtpd_relay_restrictionz=permit'),
    ('broken master.cf line', dict(master='broken inet n - y -\n'),
     r'postconf -n failed \(rc=1\):\n.*master\.cf: line \d+: bad field count'),
    ('missing queue directory', dict(main=MAIN_CF.replace('{queue}', '{queue}/nosuch')),
     r'postfix check rejected the candidate configuration \(rc=1\):\n.*chdir\(.*/queue/nosuch\)'),
] + open_relay_cases()


@pytest.mark.parametrize('check_mode', [True, False], ids=['check', 'real'])
@pytest.mark.parametrize('case, change, message', BAD_PAIRS, ids=[case[0] for case in BAD_PAIRS])
def test_bad_pair_is_refused_and_live_files_untouched(module, site, check_mode, case, change, message):
    before = install_good_pair(module, site)
    main_cf = change['main'].format(**site) if 'main' in change else None
    master_cf = MASTER_CF + change['master'] if 'master' in change else None
    with pytest.raises(ModuleError) as error:
        converge_postfix_config(module, spec(site, main_cf=main_cf, master_cf=master_cf), check_mode)
    text = str(error.value)
    assert text.startswith('postfix_config: the new main.cf/master.cf for %s were not installed: ' % site['etc'])
    assert re.search(message, text, re.S), text
    assert live(site) == before
    assert sorted(os.listdir(site['etc'])) == ['main.cf', 'master.cf']


def test_candidate_directory_is_removed(module, site, monkeypatch, tmp_path):
    candidates = tmp_path / 'tmp'
    candidates.mkdir()
    monkeypatch.setattr('tempfile.tempdir', str(candidates))
    converge_postfix_config(module, spec(site), True)
    with pytest.raises(ModuleError):
        converge_postfix_config(module, spec(site, main_cf=site['main_cf'] + 'bogus_name = 1\n'), False)
    assert os.listdir(str(candidates)) == []


# -- aliases ---------------------------------------------------------------

ALIASES = 'postmaster: root\nabuse: root\n'


@pytest.fixture
def alias_site(site):
    with open(os.path.join(site['etc'], 'main.cf'), 'w') as handle:
        handle.write(site['main_cf'])
    age(os.path.join(site['etc'], 'main.cf'))
    return site


def aliases_spec(site, content=ALIASES):
    return dict(path=site['aliases'], content=content, config_dir=site['etc'], maps=['hash:' + site['aliases']])


def test_aliases_written_indexed_and_kept(module, alias_site):
    path, index = alias_site['aliases'], alias_site['aliases'] + '.db'
    predicted = converge_aliases(module, aliases_spec(alias_site), True)
    assert predicted == dict(changed=True, rebuilt=True,
                             diff=[dict(before_header=path, after_header=path, before='', after=ALIASES)])
    assert not os.path.exists(path) and not os.path.exists(index)

    assert converge_aliases(module, aliases_spec(alias_site), False) == predicted
    with open(path) as handle:
        assert handle.read() == ALIASES
    assert attributes(path) == (stat.S_IFREG, 0o644, 0, 0)
    assert os.path.exists(index)

    for check_mode in (True, False):
        assert converge_aliases(module, aliases_spec(alias_site), check_mode) == dict(
            changed=False, rebuilt=False, diff=[])


def test_aliases_index_rebuilt_when_missing_or_stale(module, alias_site):
    path, index = alias_site['aliases'], alias_site['aliases'] + '.db'
    converge_aliases(module, aliases_spec(alias_site), False)
    os.unlink(index)
    assert converge_aliases(module, aliases_spec(alias_site), True) == dict(changed=True, rebuilt=True, diff=[])
    assert not os.path.exists(index)
    assert converge_aliases(module, aliases_spec(alias_site), False) == dict(changed=True, rebuilt=True, diff=[])
    assert os.path.exists(index)

    past = time.time() - 60
    os.utime(index, (past, past))  # older than the source: stale
    assert converge_aliases(module, aliases_spec(alias_site), False)['rebuilt'] is True
    assert os.stat(index).st_mtime >= os.stat(path).st_mtime
    assert converge_aliases(module, aliases_spec(alias_site), False)['changed'] is False


def test_aliases_changed_content_rebuilds_the_index(module, alias_site):
    converge_aliases(module, aliases_spec(alias_site), False)
    new = ALIASES + 'hostmaster: root\n'
    result = converge_aliases(module, aliases_spec(alias_site, new), False)
    assert result['changed'] is True and result['rebuilt'] is True
    assert result['diff'][0]['before'] == ALIASES and result['diff'][0]['after'] == new
    query = module.run_command(['postalias', '-c', alias_site['etc'], '-q', 'hostmaster', 'hash:' + alias_site['aliases']])
    assert query[0] == 0 and query[1].strip() == 'root'
