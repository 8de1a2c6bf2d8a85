"""Client privacy on 587 and 465 (postfix_submission_hide_client_session), with the real Postfix of this machine.

The role's own master.cf template and header_checks table are rendered by
ansible-playbook on localhost for each case (the installed Postfix version
given as __postfix_mail_version, as tasks/converge.yml gives it). Then:

- the master.cf of Postfix 3.10 and later sets smtpd_hide_client_session on
  both submission services; before 3.10 they name a cleanup service of their
  own, whose header_checks are the role's table (then the user's);
- this machine's postconf (Postfix 3.7) reads each pre-3.10 master.cf
  without a warning, with the overrides the role means;
- this machine's postmap, in header mode (-h: a folded header is one key,
  as cleanup sees it), runs the table over Received headers as Postfix 3.7's
  smtpd writes them (TLS session, the login, folded lines): the header of
  this host loses everything before "by", the others stay as they are.
The same renders give the INFO line of postfix_submission_log_sasl_login:
before 3.10 the submission services check the role's regexp table (run by
postmap here) before the policy services; from 3.10 on, nothing.
"""

import json
import os
import subprocess

import pytest
import yaml

from helpers.postfix import settled
from helpers.roles import role_play, run_playbook

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(REPO_ROOT, 'roles', 'postfix')
HOSTNAME = 'mx.example.org'
FACTS = {'os_family': 'Debian', 'fqdn': HOSTNAME}
TABLE = '/etc/postfix/submission_header_checks'
CLIENT_IP = '198.18.0.3'
LOGIN = 'bob@other.test'
# The platform's settings, which the role's main.yml loads before validate.yml.
with open(os.path.join(ROLE, 'vars', 'Debian.yml')) as _handle:
    DEBIAN = yaml.safe_load(_handle)

# case -> the variables that differ from the role's defaults (the Postfix version among them)
CASES = {
    '3.7': {'__postfix_mail_version': '3.7.11'},
    '3.10': {'__postfix_mail_version': '3.10.5'},
    '3.11 snapshot': {'__postfix_mail_version': '3.11-20250601'},
    '3.7 off': {'__postfix_mail_version': '3.7.11', 'postfix_submission_hide_client_session': False},
    '3.10 off': {'__postfix_mail_version': '3.10.5', 'postfix_submission_hide_client_session': False},
    '3.7 no submission service': {'__postfix_mail_version': '3.7.11', 'postfix_submission_enabled': False,
                                  'postfix_submissions_enabled': False},
    '3.7 own header_checks': {'__postfix_mail_version': '3.7.11',
                              'postfix_main_cf_extra': {'header_checks': ['regexp:/etc/postfix/header_checks',
                                                                          'pcre:/etc/postfix/more'],
                                                        'smtpd_sasl_authenticated_header': True}},
    '3.7 own nested_header_checks': {'__postfix_mail_version': '3.7.11',
                                     'postfix_main_cf_extra': {'header_checks': 'regexp:/etc/postfix/header_checks',
                                                               'nested_header_checks': ''}},
    '3.7 login logged': {'__postfix_mail_version': '3.7.11', 'postfix_submission_log_sasl_login': True,
                         'postfix_submission_policy_services': ['unix:ratelimit/policy']},
    '3.7 policy at DATA': {'__postfix_mail_version': '3.7.11',
                           'postfix_submission_data_policy_services': ['unix:ratelimit/policy']},
    '3.7 policy at DATA after the own': {'__postfix_mail_version': '3.7.11',
                                         'postfix_submission_data_policy_services': ['unix:ratelimit/policy'],
                                         'postfix_main_cf_extra': {'smtpd_data_restrictions': 'reject_unauth_pipelining'}},
    # Read by this machine's 3.7 postconf, which does not know 3.10's smtpd_hide_client_session.
    '3.10 login logged': {'__postfix_mail_version': '3.10.5', 'postfix_submission_log_sasl_login': True,
                          'postfix_submission_policy_services': ['unix:ratelimit/policy'],
                          'postfix_submission_hide_client_session': False},
    '3.7 host name with a parameter': {'__postfix_mail_version': '3.7.11', 'postfix_myhostname': 'mx.$mydomain'},
    '3.7 host name with a hyphen and an underscore': {'__postfix_mail_version': '3.7.11',
                                                      'postfix_myhostname': 'm-x_1.example.org'},
}

RENDER = """    - ansible.builtin.template:
        src: {template}
        dest: {out}/master.cf
        mode: "0644"
      vars: {variables}
    - ansible.builtin.copy:
        content: "{{{{ {{'privacy': __postfix_submission_privacy, 'files': __postfix_submission_privacy_files,
                       'login_info_files': __postfix_submission_login_info_files}} | to_json }}}}"
        dest: {out}/result.json
        mode: "0644"
      vars: {variables}
"""


@pytest.fixture(scope='module')
def rendered(tmp_path_factory):
    """{case: (master.cf text, {privacy, files})}, all rendered by one ansible-playbook run."""
    tmp = tmp_path_factory.mktemp('privacy')
    renders = ''
    for index, variables in enumerate(CASES.values()):
        out = tmp / str(index)
        out.mkdir()
        renders += RENDER.format(template=os.path.join(ROLE, 'templates', 'master.cf.j2'), out=out,
                                 variables=json.dumps(variables))
    rc, output = run_playbook(tmp, role_play('postfix', 'validate', renders, end_play=True), dict(DEBIAN, ansible_facts=FACTS))
    assert rc == 0, output
    result = {}
    for index, case in enumerate(CASES):
        out = tmp / str(index)
        result[case] = ((out / 'master.cf').read_text(), json.loads((out / 'result.json').read_text()))
    return result


def _service(master_cf, name):
    """The lines of one master.cf service: its own line and its -o lines."""
    lines, inside = [], False
    for line in master_cf.splitlines():
        if line and not line[0].isspace():
            inside = line.split()[0] == name
        if inside:
            lines.append(line.strip())
    return lines


def _table(result):
    """The content of the role's header_checks table, when the role writes it."""
    files = [item for item in result['files'] if item['path'] == TABLE]
    assert len(files) == 1, result
    return files[0].get('content') if files[0].get('state', 'file') != 'absent' else None


# --- master.cf ---------------------------------------------------------------

@pytest.mark.parametrize('case', ['3.10', '3.11 snapshot'])
def test_postfix_3_10_hides_the_client_in_smtpd(rendered, case):
    master_cf, result = rendered[case]
    assert result['privacy'] == 'smtpd'
    for name in ('submission', 'submissions'):
        service = _service(master_cf, name)
        assert service[-2:] == ['-o smtpd_hide_client_session=yes', '-o smtpd_sasl_authenticated_header=no'], service
    assert _service(master_cf, 'submission-cleanup') == []
    assert 'cleanup_service_name' not in master_cf
    assert _table(result) is None


def test_postfix_3_7_has_a_cleanup_service_for_submission(rendered):
    master_cf, result = rendered['3.7']
    assert result['privacy'] == 'cleanup'
    for name in ('submission', 'submissions'):
        service = _service(master_cf, name)
        assert service[-2:] == ['-o cleanup_service_name=submission-cleanup', '-o smtpd_sasl_authenticated_header=no'], \
            service
    assert 'smtpd_hide_client_session' not in master_cf
    assert _service(master_cf, 'submission-cleanup') == [
        'submission-cleanup unix       n       -       y       -       0       cleanup',
        '-o { header_checks = regexp:%s }' % TABLE,
        '-o nested_header_checks=',
    ]
    # Port 25 and the usual cleanup service are as before.
    assert _service(master_cf, 'smtp')[:1] == ['smtp       inet       n       -       y       -       -       smtpd']
    assert _service(master_cf, 'cleanup') == ['cleanup    unix       n       -       y       -       0       cleanup']
    assert _table(result).startswith('# Written by the mailstack.sasl_postfix.postfix role')


@pytest.mark.parametrize('case', ['3.7 off', '3.10 off', '3.7 no submission service'])
def test_without_privacy_the_services_are_as_before(rendered, case):
    master_cf, result = rendered[case]
    assert result['privacy'] == 'none'
    for word in ('smtpd_hide_client_session', 'cleanup_service_name', 'smtpd_sasl_authenticated_header',
                 'submission-cleanup'):
        assert word not in master_cf
    assert _table(result) is None


def test_the_users_header_checks_follow_the_roles_table(rendered):
    master_cf, _result = rendered['3.7 own header_checks']
    assert _service(master_cf, 'submission-cleanup')[1:] == [
        '-o { header_checks = regexp:%s, regexp:/etc/postfix/header_checks, pcre:/etc/postfix/more }' % TABLE,
        '-o { nested_header_checks = regexp:/etc/postfix/header_checks, pcre:/etc/postfix/more }',
    ]
    # main.cf's smtpd_sasl_authenticated_header (port 25 here) does not reach 587 and 465.
    assert '-o smtpd_sasl_authenticated_header=no' in _service(master_cf, 'submission')


def test_the_users_nested_header_checks_are_kept(rendered):
    master_cf, _result = rendered['3.7 own nested_header_checks']
    assert _service(master_cf, 'submission-cleanup')[1:] == [
        '-o { header_checks = regexp:%s, regexp:/etc/postfix/header_checks }' % TABLE,
        '-o nested_header_checks=',
    ]


def _postconf_overrides(master_cf, tmp_path):
    """The service overrides (`postconf -P`) of `master_cf` as this machine's postconf reads it, with no warning."""
    config_dir = tmp_path / 'etc'
    config_dir.mkdir(parents=True)
    (config_dir / 'main.cf').write_text('compatibility_level = 3.6\nmyhostname = %s\n' % HOSTNAME)
    (config_dir / 'master.cf').write_text(master_cf)
    settled(config_dir / 'main.cf', config_dir / 'master.cf')
    proc = subprocess.run(['postconf', '-c', str(config_dir), '-P'], capture_output=True, text=True, check=True,
                          env=dict(os.environ, LANG='C', LC_ALL='C'))
    assert proc.stderr == ''
    return proc.stdout.splitlines()


@pytest.mark.parametrize('case', ['3.7', '3.7 own header_checks', '3.7 own nested_header_checks'])
def test_postconf_reads_the_overrides_without_a_warning(rendered, tmp_path, case):
    master_cf, _result = rendered[case]
    all_overrides = _postconf_overrides(master_cf, tmp_path)
    overrides = [line for line in all_overrides
                 if line.startswith('submission-cleanup/') or '/cleanup_service_name' in line
                 or '/smtpd_sasl_authenticated_header' in line]
    user = dict(CASES[case].get('postfix_main_cf_extra') or {})
    nested = user.get('nested_header_checks', user.get('header_checks', []))
    nested = nested if isinstance(nested, str) else ', '.join(nested)
    checks = user.get('header_checks', [])
    checks = ', '.join(['regexp:' + TABLE] + ([checks] if isinstance(checks, str) else checks))
    assert sorted(overrides) == sorted([
        'submission-cleanup/unix/header_checks = %s' % checks,
        ('submission-cleanup/unix/nested_header_checks = %s' % nested).rstrip(),
        'submission/inet/cleanup_service_name = submission-cleanup',
        'submission/inet/smtpd_sasl_authenticated_header = no',
        'submissions/inet/cleanup_service_name = submission-cleanup',
        'submissions/inet/smtpd_sasl_authenticated_header = no',
    ]), all_overrides


# --- the header_checks table, run by postmap over real headers ------------------

def _received(host, tls=True, login=None, recipients=('alice@%s' % HOSTNAME,), helo='client.home.test',
              name='unknown', protocol='ESMTPSA', queue_id='4Xk3pQ1bZ2z9sWs'):
    """A Received header as Postfix 3.7's smtpd writes it, folded as in the queue file."""
    lines = ['Received: from %s (%s [%s])' % (helo, name, CLIENT_IP)]
    if tls:
        lines += ['\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)',
                  '\t key-exchange X25519 server-signature ECDSA (prime256v1) server-digest SHA256)',
                  '\t(No client certificate requested)']
    if login:
        lines.append('\t(Authenticated sender: %s)' % login)
    date = 'Thu,  3 Dec 2026 21:27:47 +0000 (UTC)'
    if len(recipients) == 1:
        lines += ['\tby %s (Postfix) with %s id %s' % (host, protocol, queue_id), '\tfor <%s>; %s' % (recipients[0], date)]
    else:
        lines += ['\tby %s (Postfix) with %s id %s;' % (host, protocol, queue_id), '\t%s' % date]
    return '\n'.join(lines)


# A header as Postfix 3.7.11 (Debian 12) wrote it into the queue file (postcat -h): 587 with STARTTLS, AUTH PLAIN,
# smtpd_sasl_authenticated_header=yes, smtpd_peername_lookup=no.
REAL_3_7 = ('Received: from helo-token.client.test (unknown [198.18.0.3])\n'
            '\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\n'
            '\t key-exchange X25519 server-signature ECDSA (prime256v1) server-digest SHA256)\n'
            '\t(No client certificate requested)\n'
            '\t(Authenticated sender: bob@other.test)\n'
            '\tby mx.example.org (Postfix) with ESMTPSA id E8E2A2B4550\n'
            '\tfor <rcpt@example.net>; Thu,  3 Dec 2026 23:50:02 +0000 (UTC)')


def _by_part(header):
    """What the role's table keeps of a header: 'Received: ' and everything from 'by' on."""
    return 'Received: ' + header[header.index('\tby ') + 1:]


OTHER_HOP = ('Received: from mail.sender.example (mail.sender.example [192.0.2.25])\n'
             '\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\n'
             '\tby relay.sender.example (Postfix) with ESMTPS id 4Ab1cD2EfGz9;\n'
             '\tWed,  2 Dec 2026 08:00:00 +0000 (UTC)')

REAL_3_7_REWRITTEN = ('Received: by mx.example.org (Postfix) with ESMTPSA id E8E2A2B4550\n'
                      '\tfor <rcpt@example.net>; Thu,  3 Dec 2026 23:50:02 +0000 (UTC)')
TWO_RECIPIENTS = _received(HOSTNAME, recipients=('a@x.test', 'b@x.test'))
NO_TLS_HELO = _received(HOSTNAME, tls=False, protocol='SMTP')
BY_HELO = _received(HOSTNAME, helo='by.%s' % HOSTNAME)

# case -> [(a header of the message, what the table makes of it, or None: left alone)]
HEADERS = {
    'as Postfix 3.7 writes it': [(REAL_3_7, REAL_3_7_REWRITTEN)],
    'TLS, one recipient': [(_received(HOSTNAME), _by_part(_received(HOSTNAME)))],
    'the login in the header': [(_received(HOSTNAME, login=LOGIN), _by_part(_received(HOSTNAME, login=LOGIN)))],
    'two recipients': [(TWO_RECIPIENTS, _by_part(TWO_RECIPIENTS))],
    'a host name in upper case': [(_received(HOSTNAME.upper()), _by_part(_received(HOSTNAME.upper())))],
    'a client with a name': [(_received(HOSTNAME, name='host.isp.test'), _by_part(_received(HOSTNAME, name='host.isp.test')))],
    'HELO instead of EHLO, no TLS': [(NO_TLS_HELO, _by_part(NO_TLS_HELO))],
    'a HELO that looks like the by part': [(BY_HELO, _by_part(BY_HELO))],
    # A client that sends a message again with its old headers (resent): only this host's header loses its from part.
    'another hop below': [(_received(HOSTNAME), _by_part(_received(HOSTNAME))), (OTHER_HOP, None)],
    'another host of the same domain': [(_received('mx2.example.org'), None)],
    'a host whose name ends in this one': [(_received('smx.example.org'), None)],
    'a host whose name differs in a dot': [(_received('mxxexample.org'), None)],
    'not a Received header': [('X-Received: from client (unknown [%s])\n\tby %s (Postfix) with ESMTPSA id 4X'
                               % (CLIENT_IP, HOSTNAME), None)],
}


def _postmap_header(tmp_path, table, header):
    """What postmap -h -q - regexp:TABLE makes of a message with `header`: its result, or None.

    In header mode a folded header is one key, as cleanup(8) matches it.
    """
    config_dir = tmp_path / 'etc'
    config_dir.mkdir(exist_ok=True)
    (config_dir / 'main.cf').write_text('compatibility_level = 3.6\n')
    path = config_dir / 'submission_header_checks'
    path.write_text(table)
    settled(config_dir / 'main.cf', path)
    message = header + '\nSubject: test\n\nbody\n'
    proc = subprocess.run(['postmap', '-c', str(config_dir), '-h', '-q', '-', 'regexp:%s' % path], input=message,
                          capture_output=True, text=True, check=False, env=dict(os.environ, LANG='C', LC_ALL='C'))
    assert proc.stderr == '', proc.stderr
    if proc.returncode == 1 and proc.stdout == '':
        return None
    # The key (the header, with its folded lines), a tab, the result.
    assert proc.returncode == 0 and proc.stdout.startswith(header + '\t'), proc.stdout
    return proc.stdout[len(header) + 1:].rstrip('\n')


@pytest.mark.parametrize('case', sorted(HEADERS))
def test_the_table_keeps_only_the_by_part_of_this_hosts_header(rendered, tmp_path, case):
    table = _table(rendered['3.7'][1])
    for header, expected in HEADERS[case]:
        assert _postmap_header(tmp_path, table, header) == (None if expected is None else 'REPLACE ' + expected)
        if expected is not None:
            assert expected.startswith('Received: by ') and 'TLS' not in expected
            for secret in (CLIENT_IP, LOGIN, 'client.home.test', 'helo-token', 'unknown', 'host.isp.test'):
                assert secret not in expected


def test_a_host_name_with_a_parameter_matches_any_host(rendered, tmp_path):
    table = _table(rendered['3.7 host name with a parameter'][1])
    header = _received('mx.example.org')
    assert _postmap_header(tmp_path, table, header) == 'REPLACE ' + _by_part(header)


def test_the_dots_of_the_host_name_are_literal(rendered, tmp_path):
    table = _table(rendered['3.7 host name with a hyphen and an underscore'][1])
    header = _received('m-x_1.example.org')
    assert _postmap_header(tmp_path, table, header) == 'REPLACE ' + _by_part(header)
    assert _postmap_header(tmp_path, table, _received('m-x_1xexample.org')) is None


# --- the login of each recipient (postfix_submission_log_sasl_login) -------------

LOGIN_INFO = '/etc/postfix/submission_login_info'


def _recipient_restrictions(master_cf, tmp_path, parameter='smtpd_recipient_restrictions'):
    """{service: parameter} of the submission services, as this machine's postconf reads them."""
    return {line.split('/')[0]: line.split(' = ', 1)[1] for line in _postconf_overrides(master_cf, tmp_path)
            if '/inet/%s = ' % parameter in line}


def test_before_3_10_each_recipient_logs_its_login_before_the_policy_service(rendered, tmp_path):
    master_cf, result = rendered['3.7 login logged']
    expected = 'check_sasl_access regexp:%s, check_policy_service unix:ratelimit/policy' % LOGIN_INFO
    assert _recipient_restrictions(master_cf, tmp_path) == {'submission': expected, 'submissions': expected}
    [table] = result['login_info_files']
    assert (table['path'], table['mode'], table['owner']) == (LOGIN_INFO, '0644', 'root')
    path = tmp_path / 'submission_login_info'
    path.write_text(table['content'])
    for login in ('bob@other.test', 'alice'):
        proc = subprocess.run(['postmap', '-c', str(tmp_path / 'etc'), '-q', login, 'regexp:%s' % path],
                              capture_output=True, text=True, check=True, env=dict(os.environ, LANG='C', LC_ALL='C'))
        assert proc.stdout == 'INFO mailstack_login=%s\n' % login


@pytest.mark.parametrize('case', ['3.10 login logged', '3.7'])
def test_from_3_10_on_or_when_off_no_login_is_logged(rendered, tmp_path, case):
    """3.10 ends its reject records with the login; off, the policy services alone (or nothing) remain."""
    master_cf, result = rendered[case]
    restrictions = _recipient_restrictions(master_cf, tmp_path)
    assert 'check_sasl_access' not in master_cf
    assert restrictions == ({'submission': 'check_policy_service unix:ratelimit/policy',
                             'submissions': 'check_policy_service unix:ratelimit/policy'} if case != '3.7' else {})
    assert result['login_info_files'] == [{'path': LOGIN_INFO, 'state': 'absent'}]


def test_a_policy_service_at_data_follows_the_main_cf_data_restrictions(rendered, tmp_path):
    """The send limit on Debian 13 (postfix_submission_data_policy_services): the whole message, at DATA."""
    for case, own in (('3.7 policy at DATA', ''), ('3.7 policy at DATA after the own', 'reject_unauth_pipelining, ')):
        master_cf = rendered[case][0]
        expected = own + 'check_policy_service unix:ratelimit/policy'
        assert _recipient_restrictions(master_cf, tmp_path / case.replace(' ', '-'), 'smtpd_data_restrictions') == {
            'submission': expected, 'submissions': expected}
        assert 'smtpd_recipient_restrictions' not in master_cf
