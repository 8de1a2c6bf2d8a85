"""The postfix_submission_options filter: how the postfix role sets up its submission services (587, 465), as data.

Each case gives the variables that differ from GOOD (the role's defaults,
with the installed Postfix 3.7.11 as tasks/converge.yml gives it) and what the
role writes for them: the way the services keep the client out of their
Received header (none, smtpd or cleanup) and its -o arguments, whether the
login of each recipient is logged (the INFO table), the -o arguments of the
sender login check and the policy services, and those of the services' own
cleanup service.

The tables were taken from the role's Jinja (vars/main.yml, before the
filter replaced it) by rendering it with ansible-playbook. The filter must
give the same; test_the_role_writes_what_the_tables_say renders the role's
variables for every case, in one run, so that the role and the tables cannot
drift apart.
"""

import json
import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.mailstack.sasl_postfix.plugins.filter.postfix_submission_options import (
    postfix_submission_options)
from helpers.roles import role_play, run_playbook

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(REPO_ROOT, 'roles', 'postfix')
# The platform's settings, which the role's main.yml loads before validate.yml.
with open(os.path.join(ROLE, 'vars', 'Debian.yml')) as _handle:
    DEBIAN = yaml.safe_load(_handle)

LOGIN_INFO = '/etc/postfix/submission_login_info'
HEADER_CHECKS = '/etc/postfix/submission_header_checks'
POLICY = 'unix:ratelimit/policy'
FACTS = {'os_family': 'Debian', 'fqdn': 'mx.example.org'}

# The role's defaults, for the variables the submission services read.
GOOD = {
    '__postfix_mail_version': '3.7.11',
    'postfix_submission_enabled': True,
    'postfix_submissions_enabled': True,
    'postfix_submission_hide_client_session': True,
    'postfix_submission_log_sasl_login': False,
    'postfix_submission_sender_restrictions': [],
    'postfix_submission_policy_services': [],
    'postfix_submission_data_policy_services': [],
    'postfix_smtpd_recipient_restrictions': [],
    'postfix_main_cf_extra': {},
}
# The names the role gives its files and cleanup service (vars/main.yml), which the filter is handed.
ROLE_NAMES = {
    '__postfix_submission_cleanup_service': 'submission-cleanup',
    '__postfix_submission_header_checks_file': HEADER_CHECKS,
    '__postfix_submission_login_info_file': LOGIN_INFO,
}

SMTPD = ['-o smtpd_hide_client_session=yes', '-o smtpd_sasl_authenticated_header=no']
CLEANUP = ['-o cleanup_service_name=submission-cleanup', '-o smtpd_sasl_authenticated_header=no']

# case -> (variables that differ from GOOD, the privacy method, its -o arguments on both submission services)
PRIVACY = {
    'Postfix 3.7': ({}, 'cleanup', CLEANUP),
    'Postfix 3.9': ({'__postfix_mail_version': '3.9.4'}, 'cleanup', CLEANUP),
    'Postfix 3.10': ({'__postfix_mail_version': '3.10'}, 'smtpd', SMTPD),
    'Postfix 3.10.1': ({'__postfix_mail_version': '3.10.1'}, 'smtpd', SMTPD),
    'a 3.10 snapshot': ({'__postfix_mail_version': '3.10-20240801'}, 'smtpd', SMTPD),
    'a 3.11 snapshot': ({'__postfix_mail_version': '3.11-20250601'}, 'smtpd', SMTPD),
    'Postfix 3.7, off': ({'postfix_submission_hide_client_session': False}, 'none', []),
    'Postfix 3.10.1, off': ({'__postfix_mail_version': '3.10.1', 'postfix_submission_hide_client_session': False},
                            'none', []),
    'off as the string "no"': ({'postfix_submission_hide_client_session': 'no'}, 'none', []),
    'on as the string "yes"': ({'postfix_submission_hide_client_session': 'yes'}, 'cleanup', CLEANUP),
    'Postfix 3.7, 587 only': ({'postfix_submissions_enabled': False}, 'cleanup', CLEANUP),
    'Postfix 3.7, 465 only': ({'postfix_submission_enabled': False}, 'cleanup', CLEANUP),
    'Postfix 3.10.1, 465 only': ({'__postfix_mail_version': '3.10.1', 'postfix_submission_enabled': False},
                                 'smtpd', SMTPD),
    'Postfix 3.7, neither service': ({'postfix_submission_enabled': False, 'postfix_submissions_enabled': False},
                                     'none', []),
    'Postfix 3.10.1, neither service': ({'__postfix_mail_version': '3.10.1', 'postfix_submission_enabled': False,
                                         'postfix_submissions_enabled': False}, 'none', []),
    'neither service, as strings': ({'postfix_submission_enabled': 'false', 'postfix_submissions_enabled': 'no'},
                                    'none', []),
}

# case -> (variables that differ from GOOD, whether the submission services check the INFO table)
LOGIN_INFO_USED = {
    'off': ({}, False),
    'Postfix 3.7': ({'postfix_submission_log_sasl_login': True}, True),
    'Postfix 3.9': ({'postfix_submission_log_sasl_login': True, '__postfix_mail_version': '3.9.4'}, True),
    'Postfix 3.10': ({'postfix_submission_log_sasl_login': True, '__postfix_mail_version': '3.10'}, False),
    'Postfix 3.10.1': ({'postfix_submission_log_sasl_login': True, '__postfix_mail_version': '3.10.1'}, False),
    'a 3.11 snapshot': ({'postfix_submission_log_sasl_login': True, '__postfix_mail_version': '3.11-20250601'}, False),
    'Postfix 3.10.1, off': ({'__postfix_mail_version': '3.10.1'}, False),
    'on as the string "yes"': ({'postfix_submission_log_sasl_login': 'yes'}, True),
    'Postfix 3.7, client privacy off': ({'postfix_submission_log_sasl_login': True,
                                        'postfix_submission_hide_client_session': False}, True),
    # The table is then removed (the role's login_info_files).
    'Postfix 3.7, neither service': ({'postfix_submission_log_sasl_login': True, 'postfix_submission_enabled': False,
                                     'postfix_submissions_enabled': False}, True),
}

SENDER_CHECK = '-o smtpd_sender_restrictions=reject_authenticated_sender_login_mismatch'
RCPT_POLICY = '-o { smtpd_recipient_restrictions = check_policy_service unix:ratelimit/policy }'
RCPT_LOGIN = 'check_sasl_access regexp:%s' % LOGIN_INFO
DATA_POLICY = '-o { smtpd_data_restrictions = check_policy_service unix:ratelimit/policy }'

# case -> (variables that differ from GOOD, the -o arguments added after those of the submission services)
POLICY_ARGS = {
    'nothing': ({}, []),
    'the sender login check': ({'postfix_submission_sender_restrictions': ['reject_authenticated_sender_login_mismatch']},
                               [SENDER_CHECK]),
    'two sender restrictions': (
        {'postfix_submission_sender_restrictions': ['reject_authenticated_sender_login_mismatch',
                                                    'reject_unknown_sender_domain']},
        [SENDER_CHECK + ',reject_unknown_sender_domain']),
    'a policy service at RCPT': ({'postfix_submission_policy_services': [POLICY]}, [RCPT_POLICY]),
    'two policy services at RCPT': (
        {'postfix_submission_policy_services': [POLICY, 'inet:127.0.0.1:10031']},
        ['-o { smtpd_recipient_restrictions = check_policy_service unix:ratelimit/policy, '
         'check_policy_service inet:127.0.0.1:10031 }']),
    'a policy service at RCPT after main.cf\'s restrictions': (
        {'postfix_submission_policy_services': [POLICY],
         'postfix_smtpd_recipient_restrictions': ['reject_unknown_recipient_domain', 'permit_sasl_authenticated']},
        ['-o { smtpd_recipient_restrictions = reject_unknown_recipient_domain, permit_sasl_authenticated, '
         'check_policy_service unix:ratelimit/policy }']),
    'main.cf\'s recipient restrictions alone': (
        {'postfix_smtpd_recipient_restrictions': ['reject_unknown_recipient_domain']}, []),
    'the login logged, Postfix 3.7': (
        {'postfix_submission_log_sasl_login': True},
        ['-o { smtpd_recipient_restrictions = %s }' % RCPT_LOGIN]),
    'the login logged before the policy service, Postfix 3.7': (
        {'postfix_submission_log_sasl_login': True, 'postfix_submission_policy_services': [POLICY]},
        ['-o { smtpd_recipient_restrictions = %s, check_policy_service unix:ratelimit/policy }' % RCPT_LOGIN]),
    'the login logged after main.cf\'s restrictions, Postfix 3.7': (
        {'postfix_submission_log_sasl_login': True,
         'postfix_smtpd_recipient_restrictions': ['reject_unknown_recipient_domain']},
        ['-o { smtpd_recipient_restrictions = reject_unknown_recipient_domain, %s }' % RCPT_LOGIN]),
    'the login not logged, Postfix 3.10.1': (
        {'postfix_submission_log_sasl_login': True, '__postfix_mail_version': '3.10.1'}, []),
    'the login not logged before the policy service, Postfix 3.10.1': (
        {'postfix_submission_log_sasl_login': True, '__postfix_mail_version': '3.10.1',
         'postfix_submission_policy_services': [POLICY]}, [RCPT_POLICY]),
    'a policy service at DATA': ({'postfix_submission_data_policy_services': [POLICY]}, [DATA_POLICY]),
    'a policy service at DATA after main.cf\'s, a string': (
        {'postfix_submission_data_policy_services': [POLICY],
         'postfix_main_cf_extra': {'smtpd_data_restrictions': 'reject_unauth_pipelining'}},
        ['-o { smtpd_data_restrictions = reject_unauth_pipelining, check_policy_service unix:ratelimit/policy }']),
    'a policy service at DATA after main.cf\'s, a list': (
        {'postfix_submission_data_policy_services': [POLICY],
         'postfix_main_cf_extra': {'smtpd_data_restrictions': ['reject_unauth_pipelining', '',
                                                               'reject_multi_recipient_bounce']}},
        ['-o { smtpd_data_restrictions = reject_unauth_pipelining, reject_multi_recipient_bounce, '
         'check_policy_service unix:ratelimit/policy }']),
    'a policy service at DATA, main.cf\'s an empty string': (
        {'postfix_submission_data_policy_services': [POLICY], 'postfix_main_cf_extra': {'smtpd_data_restrictions': ''}},
        [DATA_POLICY]),
    'a policy service at DATA, main.cf\'s an empty list': (
        {'postfix_submission_data_policy_services': [POLICY], 'postfix_main_cf_extra': {'smtpd_data_restrictions': []}},
        [DATA_POLICY]),
    'a policy service at DATA, main.cf\'s null': (
        {'postfix_submission_data_policy_services': [POLICY],
         'postfix_main_cf_extra': {'smtpd_data_restrictions': None}},
        [DATA_POLICY]),
    'main.cf\'s data restrictions alone': (
        {'postfix_main_cf_extra': {'smtpd_data_restrictions': 'reject_unauth_pipelining'}}, []),
    'everything, Postfix 3.7': (
        {'postfix_submission_sender_restrictions': ['reject_authenticated_sender_login_mismatch'],
         'postfix_submission_log_sasl_login': True, 'postfix_submission_policy_services': [POLICY],
         'postfix_submission_data_policy_services': ['inet:[::1]:10032'],
         'postfix_smtpd_recipient_restrictions': ['reject_unknown_recipient_domain'],
         'postfix_main_cf_extra': {'smtpd_data_restrictions': ['reject_unauth_pipelining']}},
        [SENDER_CHECK,
         '-o { smtpd_recipient_restrictions = reject_unknown_recipient_domain, %s, '
         'check_policy_service unix:ratelimit/policy }' % RCPT_LOGIN,
         '-o { smtpd_data_restrictions = reject_unauth_pipelining, check_policy_service inet:[::1]:10032 }']),
    'everything, Postfix 3.10.1': (
        {'__postfix_mail_version': '3.10.1',
         'postfix_submission_sender_restrictions': ['reject_authenticated_sender_login_mismatch'],
         'postfix_submission_log_sasl_login': True, 'postfix_submission_policy_services': [POLICY],
         'postfix_submission_data_policy_services': [POLICY]},
        [SENDER_CHECK, RCPT_POLICY, DATA_POLICY]),
    # The services are written only when enabled (master.cf.j2); their arguments do not depend on it.
    'neither service': ({'postfix_submission_enabled': False, 'postfix_submissions_enabled': False,
                         'postfix_submission_policy_services': [POLICY]}, [RCPT_POLICY]),
}

ROLE_TABLE = '-o { header_checks = regexp:%s }' % HEADER_CHECKS
NO_NESTED = '-o nested_header_checks='
USER_TABLE = 'regexp:/etc/postfix/header_checks'
USER_TABLES = ['regexp:/etc/postfix/header_checks', 'pcre:/etc/postfix/more']

# case -> (postfix_main_cf_extra, the -o arguments of the submission services' cleanup service)
CLEANUP_ARGS = {
    'no main.cf_extra': ({}, [ROLE_TABLE, NO_NESTED]),
    'other parameters only': ({'smtpd_sasl_authenticated_header': True, 'smtpd_helo_required': True},
                              [ROLE_TABLE, NO_NESTED]),
    'header_checks, a string': (
        {'header_checks': USER_TABLE},
        ['-o { header_checks = regexp:%s, %s }' % (HEADER_CHECKS, USER_TABLE),
         '-o { nested_header_checks = %s }' % USER_TABLE]),
    'header_checks, a list': (
        {'header_checks': USER_TABLES},
        ['-o { header_checks = regexp:%s, %s }' % (HEADER_CHECKS, ', '.join(USER_TABLES)),
         '-o { nested_header_checks = %s }' % ', '.join(USER_TABLES)]),
    'header_checks, a list with an empty item': (
        {'header_checks': ['', USER_TABLE, '']},
        ['-o { header_checks = regexp:%s, %s }' % (HEADER_CHECKS, USER_TABLE),
         '-o { nested_header_checks = %s }' % USER_TABLE]),
    'header_checks, an empty string': ({'header_checks': ''}, [ROLE_TABLE, NO_NESTED]),
    'header_checks, an empty list': ({'header_checks': []}, [ROLE_TABLE, NO_NESTED]),
    'header_checks, null': ({'header_checks': None}, [ROLE_TABLE, NO_NESTED]),
    'nested_header_checks alone, a string': (
        {'nested_header_checks': USER_TABLE}, [ROLE_TABLE, '-o { nested_header_checks = %s }' % USER_TABLE]),
    'nested_header_checks alone, a list': (
        {'nested_header_checks': USER_TABLES},
        [ROLE_TABLE, '-o { nested_header_checks = %s }' % ', '.join(USER_TABLES)]),
    'nested_header_checks an empty string': (
        {'header_checks': USER_TABLE, 'nested_header_checks': ''},
        ['-o { header_checks = regexp:%s, %s }' % (HEADER_CHECKS, USER_TABLE), NO_NESTED]),
    'nested_header_checks an empty list': (
        {'header_checks': USER_TABLES, 'nested_header_checks': []},
        ['-o { header_checks = regexp:%s, %s }' % (HEADER_CHECKS, ', '.join(USER_TABLES)), NO_NESTED]),
    'nested_header_checks null: header_checks': (
        {'header_checks': USER_TABLE, 'nested_header_checks': None},
        ['-o { header_checks = regexp:%s, %s }' % (HEADER_CHECKS, USER_TABLE),
         '-o { nested_header_checks = %s }' % USER_TABLE]),
    'both, each its own': (
        {'header_checks': USER_TABLES, 'nested_header_checks': 'pcre:/etc/postfix/nested'},
        ['-o { header_checks = regexp:%s, %s }' % (HEADER_CHECKS, ', '.join(USER_TABLES)),
         '-o { nested_header_checks = pcre:/etc/postfix/nested }']),
    'both with the data restrictions': (
        {'header_checks': USER_TABLE, 'nested_header_checks': [USER_TABLE, ''],
         'smtpd_data_restrictions': 'reject_unauth_pipelining'},
        ['-o { header_checks = regexp:%s, %s }' % (HEADER_CHECKS, USER_TABLE),
         '-o { nested_header_checks = %s }' % USER_TABLE]),
}


def _cases():
    """Every case of the tables: {'table/case': (variables, {key: expected})}."""
    cases = {}
    for case, (changes, privacy, args) in PRIVACY.items():
        cases['privacy/' + case] = (dict(GOOD, **changes), {'privacy': privacy, 'privacy_args': args})
    for case, (changes, used) in LOGIN_INFO_USED.items():
        cases['login_info/' + case] = (dict(GOOD, **changes), {'login_info': used})
    for case, (changes, args) in POLICY_ARGS.items():
        cases['policy_args/' + case] = (dict(GOOD, **changes), {'policy_args': args})
    for case, (extra, args) in CLEANUP_ARGS.items():
        cases['cleanup_args/' + case] = (dict(GOOD, postfix_main_cf_extra=extra), {'cleanup_args': args})
    return cases


CASES = _cases()


# --- the filter -------------------------------------------------------------------

@pytest.mark.parametrize('case', list(CASES))
def test_the_filter_gives_what_the_tables_say(case):
    variables, expected = CASES[case]
    result = postfix_submission_options(dict(variables, **ROLE_NAMES))
    assert sorted(result) == ['cleanup_args', 'login_info', 'policy_args', 'privacy', 'privacy_args']
    assert {key: result[key] for key in expected} == expected


def test_the_filter_wants_every_variable():
    with pytest.raises(AnsibleFilterError, match='needs the variables __postfix_submission_login_info_file$'):
        postfix_submission_options(dict(GOOD, __postfix_submission_cleanup_service='submission-cleanup',
                                        __postfix_submission_header_checks_file=HEADER_CHECKS))


# A list variable given as one string is one item, as postfix_problems checks it (argument_specs lets a string
# through as a list). The role's Jinja used it as a list of its characters; not in the tables above.
# case -> (variables that differ from GOOD, the policy_args expected)
ONE_STRING = {
    'sender restrictions': ({'postfix_submission_sender_restrictions': 'reject_authenticated_sender_login_mismatch'},
                            [SENDER_CHECK]),
    'policy services at RCPT': ({'postfix_submission_policy_services': POLICY}, [RCPT_POLICY]),
    'policy services at DATA': ({'postfix_submission_data_policy_services': POLICY}, [DATA_POLICY]),
    'main.cf\'s recipient restrictions': (
        {'postfix_submission_policy_services': [POLICY],
         'postfix_smtpd_recipient_restrictions': 'reject_unknown_recipient_domain'},
        ['-o { smtpd_recipient_restrictions = reject_unknown_recipient_domain, '
         'check_policy_service unix:ratelimit/policy }']),
}


@pytest.mark.parametrize('changes, expected', ONE_STRING.values(), ids=list(ONE_STRING))
def test_a_string_for_a_list_is_one_item(changes, expected):
    assert postfix_submission_options(dict(GOOD, **dict(ROLE_NAMES, **changes)))['policy_args'] == expected


# case -> the variables that differ from GOOD; the version matters, and it is empty or cannot be compared
NO_VERSION = {
    'privacy, empty': {'__postfix_mail_version': ''},
    'privacy, null': {'__postfix_mail_version': None},
    'the login, empty': {'__postfix_mail_version': '', 'postfix_submission_hide_client_session': False,
                         'postfix_submission_log_sasl_login': True},
    'a word': {'__postfix_mail_version': 'three.ten'},
}


@pytest.mark.parametrize('changes', NO_VERSION.values(), ids=list(NO_VERSION))
def test_a_version_that_matters_must_be_one(changes):
    with pytest.raises(AnsibleFilterError, match='__postfix_mail_version'):
        postfix_submission_options(dict(GOOD, **dict(ROLE_NAMES, **changes)))


def test_the_version_is_compared_only_when_it_matters():
    result = postfix_submission_options(dict(GOOD, __postfix_mail_version='', postfix_submission_hide_client_session=False,
                                             **ROLE_NAMES))
    assert (result['privacy'], result['login_info']) == ('none', False)


# --- the role's variables, rendered by ansible-playbook ---------------------------

# One task for every case: each variable from the loop item, as task vars (above the role's defaults).
TASKS = """    - ansible.builtin.debug:
        msg:
          privacy: "{{{{ __postfix_submission_privacy }}}}"
          privacy_args: "{{{{ __postfix_submission_privacy_args }}}}"
          login_info: "{{{{ __postfix_submission_login_info | bool }}}}"
          policy_args: "{{{{ __postfix_submission_policy_args }}}}"
          cleanup_args: "{{{{ __postfix_submission_cleanup_args }}}}"
      vars:
{variables}      loop: "{{{{ __cases }}}}"
      register: __rendered
    - ansible.builtin.copy:
        content: "{{{{ __rendered.results | map(attribute='msg') | to_json }}}}"
        dest: {out}
        mode: "0644"
"""


@pytest.fixture(scope='module')
def role_values(tmp_path_factory):
    """{case: what the role's vars/main.yml makes of its variables}, all rendered by one ansible-playbook run."""
    tmp = tmp_path_factory.mktemp('submission')
    variables = ''.join('        %s: "{{ item.%s }}"\n' % (name, name) for name in GOOD)
    play = role_play('postfix', 'validate', TASKS.format(variables=variables, out=tmp / 'rendered.json'), end_play=True)
    extra = dict(DEBIAN, ansible_facts=FACTS, __cases=[case[0] for case in CASES.values()])
    rc, output = run_playbook(tmp, play, extra)
    assert rc == 0, output
    return dict(zip(CASES, json.loads((tmp / 'rendered.json').read_text())))


@pytest.mark.parametrize('case', list(CASES))
def test_the_role_writes_what_the_tables_say(role_values, case):
    _variables, expected = CASES[case]
    assert {key: role_values[case][key] for key in expected} == expected
