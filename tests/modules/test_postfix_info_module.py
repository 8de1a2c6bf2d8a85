"""mailstack.sasl_postfix.postfix_info: every fact equals what the real postconf prints."""

import os
import subprocess

import pytest

from helpers.modules import run_adhoc, run_module
from helpers.postfix import postconf, snapshot


@pytest.fixture
def info(config_dir):
    return run_module('postfix_info', dict(config_dir=config_dir))


@pytest.mark.parametrize('fact', ['mail_version', 'queue_directory', 'daemon_directory', 'data_directory',
                                  'meta_directory', 'default_database_type'])
def test_parameters_match_postconf(config_dir, info, fact):
    assert info[fact] == postconf(config_dir, '-h', fact).rstrip('\n')
    assert info[fact]


def test_config_directory_is_the_given_one(config_dir, info):
    assert info['config_directory'] == config_dir


@pytest.mark.parametrize('fact, option', [('sasl_server_types', '-a'), ('sasl_client_types', '-A'), ('map_types', '-m')])
def test_type_lists_match_postconf(config_dir, info, fact, option):
    assert info[fact] == postconf(config_dir, option).split()


def test_debian_postfix_has_cyrus_sasl_and_tls(info):
    # Debian's postfix package: cyrus and dovecot servers, the cyrus client, TLS and SASL built in.
    assert 'cyrus' in info['sasl_server_types'] and 'cyrus' in info['sasl_client_types']
    assert info['tls_support'] is True and info['sasl_support'] is True
    assert info['makedefs_file'] == os.path.join(info['meta_directory'], 'makedefs.out')
    assert '-DUSE_TLS' in open(info['makedefs_file']).read()


def test_chroot_services_match_postconf_F(config_dir, info):
    expected = {}
    for line in postconf(config_dir, '-F', '*/*/chroot').splitlines():
        field, value = line.split(' = ')
        name, kind, dummy = field.rsplit('/', 2)
        expected[name + '/' + kind] = value == 'y'  # Postfix >= 3.0: '-' means n
    assert info['services_chroot'] == expected
    assert info['chroot_services'] == sorted(s for s, c in expected.items() if c)
    assert 'submission/inet' in info['chroot_services']  # the test master.cf's submission line has chroot y


def test_chroot_default_dash_means_no(config_dir):
    with open(config_dir + '/master.cf', 'a') as handle:
        handle.write('dashed    unix  -       -       -       -       -       smtp\n')
    result = run_module('postfix_info', dict(config_dir=config_dir))
    assert result['services_chroot']['dashed/unix'] is False


def test_unknown_build_features_are_null(config_dir, tmp_path):
    meta = tmp_path / 'meta'
    meta.mkdir()
    with open(config_dir + '/main.cf', 'a') as handle:
        handle.write('meta_directory = %s\n' % meta)
    result = run_module('postfix_info', dict(config_dir=config_dir))
    if os.path.exists('/usr/share/postfix/makedefs.out'):  # Debian's second copy (the only one on Debian 13)
        assert result['makedefs_file'] == '/usr/share/postfix/makedefs.out'
        assert result['tls_support'] is True
    else:
        assert result['tls_support'] is None and result['sasl_support'] is None and result['makedefs_file'] is None


def test_check_mode_and_no_changes(config_dir):
    before = snapshot(config_dir + '/main.cf', config_dir + '/master.cf')
    result, dummy = run_adhoc('postfix_info', dict(config_dir=config_dir), check_mode=True)
    assert result['changed'] is False
    assert result['mail_version'] == postconf(config_dir, '-h', 'mail_version').rstrip('\n')
    assert snapshot(config_dir + '/main.cf', config_dir + '/master.cf') == before


def test_missing_config_dir(tmp_path):
    result = run_module('postfix_info', dict(config_dir=str(tmp_path)))
    assert result['failed'] is True
    assert 'has no main.cf' in result['msg']


def test_services_name_the_program_of_every_service(config_dir, info):
    expected = {}
    for line in postconf(config_dir, '-F', '*/*/command').splitlines():
        field, value = line.split(' = ', 1)
        expected[field.rsplit('/', 1)[0]] = value.split()[0]
    assert {name: s['command'] for name, s in info['services'].items()} == expected
    assert {name: s['chroot'] for name, s in info['services'].items()} == info['services_chroot']
    assert info['services']['submission/inet'] == {'command': 'smtpd', 'chroot': True}


def test_parameters_are_the_values_in_effect(config_dir):
    with open(config_dir + '/main.cf', 'a') as handle:
        handle.write('inet_interfaces = 127.0.0.1, [::1]\n')
    result = run_module('postfix_info', dict(config_dir=config_dir, parameters=['inet_interfaces', 'inet_protocols']))
    assert result['parameters'] == {
        'inet_interfaces': '127.0.0.1, [::1]',
        'inet_protocols': postconf(config_dir, '-h', 'inet_protocols').rstrip('\n'),
    }


def test_bad_parameter_name_is_refused(config_dir):
    result = run_module('postfix_info', dict(config_dir=config_dir, parameters=['inet interfaces']))
    assert result['failed'] is True
    assert "'inet interfaces'" in result['msg']


def test_tables_report_whether_the_index_is_built(config_dir, tmp_path):
    source = tmp_path / 'aliases'
    source.write_text('postmaster: root\n')
    table = 'hash:%s' % source
    before = run_module('postfix_info', dict(config_dir=config_dir, tables=[table, 'regexp:/etc/postfix/x']))
    assert before['tables'][table] == {'type': 'hash', 'path': str(source), 'indexed': True,
                                       'index_files': [str(source) + '.db'], 'index_present': False,
                                       'index_current': False}
    assert before['tables']['regexp:/etc/postfix/x']['indexed'] is False
    subprocess.run(['postalias', '-c', config_dir, table], check=True)
    after = run_module('postfix_info', dict(config_dir=config_dir, tables=[table]))
    assert after['tables'][table]['index_present'] is True
    assert after['tables'][table]['index_current'] is True


def test_allow_missing_reports_a_host_without_postfix(tmp_path):
    result = run_module('postfix_info', dict(config_dir=str(tmp_path / 'none'), allow_missing=True))
    assert not result.get('failed')
    assert result['main_cf_exists'] is False
    assert result['installed'] is True  # postconf is on the machine that runs these tests
    assert 'mail_version' not in result and 'parameters' not in result


def test_allow_missing_on_a_configured_postfix_reads_it(config_dir):
    result = run_module('postfix_info', dict(config_dir=config_dir, allow_missing=True, parameters=['mynetworks']))
    assert result['installed'] is True and result['main_cf_exists'] is True
    assert result['parameters']['mynetworks'] == postconf(config_dir, '-h', 'mynetworks').rstrip('\n')


@pytest.mark.parametrize('option, value', [
    ('packages', ['postfix']),
    ('users', ['postfix']),
    ('systemd_units', ['postfix']),
    ('files', ['/etc/postfix/main.cf']),
    ('secret_files', ['/etc/sasldb2']),
])
def test_host_state_options_are_gone(config_dir, option, value):
    # Host state is managed_state's (module_utils/_host_state.py); postfix_info answers about Postfix only.
    result = run_module('postfix_info', dict(config_dir=config_dir, **{option: value}))
    assert result['failed'] is True
    assert option in result['msg']
