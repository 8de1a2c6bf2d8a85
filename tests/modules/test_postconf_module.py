"""mailstack.sasl_postfix.postconf against the real postconf, in temporary config directories."""

import re

import pytest

from helpers.modules import run_adhoc, run_module
from helpers.postfix import postconf, snapshot


def files(config_dir):
    return snapshot(config_dir + '/main.cf', config_dir + '/master.cf')


def test_set_main_cf_parameter_check_mode_then_real_then_idempotent(config_dir):
    args = dict(config_dir=config_dir, name='relayhost', value='[smtp.example.net]:587')
    untouched = files(config_dir)

    predicted = run_module('postconf', args, check_mode=True, diff=True)
    assert predicted['changed'] is True
    assert predicted['value'] == '[smtp.example.net]:587'
    assert predicted['diff']['before'] == 'relayhost =\n'
    assert predicted['diff']['after'] == 'relayhost = [smtp.example.net]:587\n'
    assert files(config_dir) == untouched

    done = run_module('postconf', args, diff=True)
    assert done['changed'] is True
    assert done['previous'] == ''
    assert done['diff'] == predicted['diff']
    assert postconf(config_dir, '-h', 'relayhost') == '[smtp.example.net]:587\n'

    changed_once = files(config_dir)
    again = run_module('postconf', args, diff=True)
    assert again['changed'] is False
    assert again['diff']['before'] == again['diff']['after']
    assert files(config_dir) == changed_once
    assert run_module('postconf', args, check_mode=True)['changed'] is False


def test_new_parameter_is_added_and_reset_to_default(config_dir):
    args = dict(config_dir=config_dir, name='smtp_tls_security_level', value='encrypt')
    assert run_module('postconf', args)['changed'] is True
    assert 'smtp_tls_security_level = encrypt\n' in open(config_dir + '/main.cf').read()

    reset = dict(config_dir=config_dir, name='smtp_tls_security_level', state='absent')
    before = files(config_dir)
    predicted = run_module('postconf', reset, check_mode=True, diff=True)
    assert predicted['changed'] is True
    assert predicted['diff'] == dict(before='smtp_tls_security_level = encrypt\n', after='',
                                     before_header=config_dir + '/main.cf', after_header=config_dir + '/main.cf')
    assert files(config_dir) == before
    default = postconf(config_dir, '-dh', 'smtp_tls_security_level').rstrip('\n')
    assert predicted['value'] == default

    done = run_module('postconf', reset)
    assert done['changed'] is True and done['explicit'] is False and done['value'] == default
    assert 'smtp_tls_security_level' not in open(config_dir + '/main.cf').read()
    assert run_module('postconf', reset)['changed'] is False


def test_read_returns_current_value_and_changes_nothing(config_dir):
    before = files(config_dir)
    result = run_module('postconf', dict(config_dir=config_dir, name='myhostname'))
    assert result['changed'] is False
    assert result['value'] == postconf(config_dir, '-h', 'myhostname').rstrip('\n') == 'mx.example.test'
    assert result['explicit'] is True
    unset = run_module('postconf', dict(config_dir=config_dir, name='default_database_type'))
    assert unset['explicit'] is False
    assert unset['value'] == unset['default'] == postconf(config_dir, '-h', 'default_database_type').rstrip('\n')
    assert files(config_dir) == before


def test_empty_value_is_explicit(config_dir):
    args = dict(config_dir=config_dir, name='smtp_sasl_security_options', value='')
    assert run_module('postconf', args)['changed'] is True
    assert postconf(config_dir, '-n', 'smtp_sasl_security_options') == 'smtp_sasl_security_options =\n'
    assert run_module('postconf', args)['changed'] is False


def test_whitespace_is_compared_as_postconf_prints_it(config_dir):
    args = dict(config_dir=config_dir, name='smtpd_relay_restrictions',
                value='  permit_mynetworks,\tpermit_sasl_authenticated,   reject_unauth_destination ')
    result = run_module('postconf', args)
    assert result['changed'] is True
    assert result['value'] == 'permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination'
    assert postconf(config_dir, '-h', 'smtpd_relay_restrictions') == result['value'] + '\n'
    assert run_module('postconf', args)['changed'] is False


def test_multi_line_value_in_main_cf_is_not_rewritten(config_dir):
    with open(config_dir + '/main.cf', 'a') as handle:
        handle.write('smtpd_recipient_restrictions = permit_mynetworks,\n    reject_unauth_destination\n')
    before = files(config_dir)
    args = dict(config_dir=config_dir, name='smtpd_recipient_restrictions',
                value='permit_mynetworks, reject_unauth_destination')
    assert run_module('postconf', args)['changed'] is False
    assert files(config_dir) == before


def test_master_cf_service_parameter(config_dir):
    args = dict(config_dir=config_dir, service='submission/inet', name='smtpd_sasl_auth_enable', value='yes')
    before = files(config_dir)
    predicted = run_module('postconf', args, check_mode=True, diff=True)
    assert predicted['changed'] is True
    assert predicted['diff']['before'] == ''
    assert predicted['diff']['after'] == 'submission/inet/smtpd_sasl_auth_enable = yes\n'
    assert files(config_dir) == before

    assert run_module('postconf', args)['changed'] is True
    assert postconf(config_dir, '-P', 'submission/inet/smtpd_sasl_auth_enable') == \
        'submission/inet/smtpd_sasl_auth_enable = yes\n'
    assert run_module('postconf', args)['changed'] is False
    assert files(config_dir)[config_dir + '/main.cf'] == before[config_dir + '/main.cf']

    inherited = run_module('postconf', dict(config_dir=config_dir, service='submission/inet', name='smtpd_tls_auth_only'))
    assert inherited['explicit'] is False
    assert inherited['value'] == postconf(config_dir, '-h', 'smtpd_tls_auth_only').rstrip('\n')

    remove = dict(config_dir=config_dir, service='submission/inet', name='smtpd_sasl_auth_enable', state='absent')
    assert run_module('postconf', remove)['changed'] is True
    assert 'smtpd_sasl_auth_enable' not in postconf(config_dir, '-P')
    assert run_module('postconf', remove)['changed'] is False


def test_used_user_parameter_is_known_without_force(config_dir):
    # mua_client_restrictions is referenced as $mua_client_restrictions in master.cf
    args = dict(config_dir=config_dir, name='mua_client_restrictions', value='permit_sasl_authenticated, defer')
    assert run_module('postconf', args)['changed'] is True
    assert run_module('postconf', args)['changed'] is False


def test_force_sets_an_unused_user_parameter_idempotently(config_dir):
    args = dict(config_dir=config_dir, name='my_relay_list', value='a.example, b.example', force=True)
    result = run_module('postconf', args, diff=True)
    assert result['changed'] is True and result['default'] is None
    assert 'my_relay_list = a.example, b.example\n' in open(config_dir + '/main.cf').read()
    again = run_module('postconf', args)
    assert again['changed'] is False and again['previous'] == 'a.example, b.example'
    removed = run_module('postconf', dict(config_dir=config_dir, name='my_relay_list', state='absent', force=True))
    assert removed['changed'] is True
    assert 'my_relay_list' not in open(config_dir + '/main.cf').read()


BAD_INPUT = [
    (dict(name='relayhostx', value='x'), "unknown Postfix parameter 'relayhostx'.*force=true"),
    (dict(name='relay host', value='x'), "name 'relay host' is not a Postfix parameter name"),
    (dict(name='relayhost\n', value='x'), 'is not a Postfix parameter name'),
    (dict(name='relayhost', value='[a]:587\nmydestination = evil'), 'newline'),
    (dict(name='relayhost', value='a\x00'), 'control character'),
    (dict(name='relayhost', value='x', state='absent'), 'value must not be set with state=absent'),
    (dict(service='submission/inet', name='smtpd_client_restrictions', value='permit_sasl_authenticated, reject'),
     'must not contain whitespace'),
    (dict(service='nosuch/inet', name='syslog_name', value='x'), 'service nosuch/inet is not defined in .*master.cf'),
    (dict(service='submission', name='syslog_name', value='x'), "service 'submission' is not a master.cf service"),
    (dict(service='submission/inet', name='smtpd_bogus', value='x'), "unknown Postfix parameter 'smtpd_bogus'"),
    (dict(name='relayhost', value='x', state='gone'), 'state'),
]


@pytest.mark.parametrize('args, message', BAD_INPUT)
def test_bad_input_fails_and_leaves_files_unchanged(config_dir, args, message):
    before = files(config_dir)
    result = run_module('postconf', dict(args, config_dir=config_dir))
    assert result.get('failed') is True
    assert result['msg']
    assert re.search(message, result['msg']), result['msg']
    assert files(config_dir) == before


def test_missing_config_dir_is_a_clear_error(tmp_path):
    result = run_module('postconf', dict(config_dir=str(tmp_path), name='relayhost'))
    assert result['failed'] is True
    assert result['msg'] == 'config_dir %s has no main.cf: not a Postfix configuration directory' % tmp_path


def test_through_ansible_with_fqcn_check_and_diff(config_dir):
    args = dict(config_dir=config_dir, name='relayhost', value='[smtp.example.net]:587')
    before = files(config_dir)
    result, output = run_adhoc('postconf', args, check_mode=True, diff=True)
    assert result['changed'] is True
    assert result['diff']['after'] == 'relayhost = [smtp.example.net]:587\n'
    assert files(config_dir) == before
    result, output = run_adhoc('postconf', args)
    assert result['changed'] is True
    result, output = run_adhoc('postconf', args)
    assert result['changed'] is False
