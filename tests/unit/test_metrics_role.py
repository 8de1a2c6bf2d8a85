"""The metrics role's checks and what it writes for the exporter, run for real on localhost (tasks/validate.yml only).

The cases of the checks are the filters' (test_metrics_problems.py,
test_metrics_exporter_config.py); these make sure the task hands the role's
variables to them and fails with every problem, and that the config the role
derives from the playbook's variables is one the exporter accepts.
"""

import base64
import json
import re

import pytest

from helpers.roles import run_role_tasks as _run_role_tasks
from helpers.metrics import load_exporter

# The facts the role gathers before its checks (the Postfix unit follows the release).
FACTS = {'os_family': 'Debian', 'distribution_major_version': '12'}


def run_role_tasks(tmp_path, role, tasks_from, variables, **kwargs):
    return _run_role_tasks(tmp_path, role, tasks_from, dict({'ansible_facts': FACTS}, **variables), **kwargs)


FAILURES = {
    'two problems in one message': (
        {'metrics_listen_address': 'localhost', 'metrics_alert_down_for': 'soon'},
        'metrics_listen_address is an IPv4 or IPv6 address, not a name (got "localhost"). metrics_alert_down_for is a '
        'Prometheus duration longer than 0, such as 10m, 1h or 7d (got "soon").'),
    'a line break': (
        {'metrics_alert_auth_window': '10m\n- alert: x'},
        'These variables contain a line break, which would inject lines into the exporter configuration, the alert '
        'rules or the summary timer: metrics_alert_auth_window.'),
    'the summary without a recipient': (
        {'metrics_summary_enabled': True},
        'metrics_summary_recipient is needed with metrics_summary_enabled: the mail address the daily summary is sent '
        'to, such as postmaster@example.org (got "").'),
    'a calendar event systemd cannot parse': (
        {'metrics_summary_enabled': True, 'metrics_summary_recipient': 'postmaster@example.org',
         'metrics_summary_on_calendar': 'every morning'},
        'metrics_summary_on_calendar is a systemd calendar event (systemd.time(7)), such as "*-*-* 06:00:00" or "daily" '
        '(got "every morning"): Failed to parse calendar specification \'every morning\': Invalid argument'),
}


@pytest.mark.parametrize('variables, message', FAILURES.values(), ids=list(FAILURES))
def test_the_checks_fail_with_every_problem(tmp_path, variables, message):
    rc, output = run_role_tasks(tmp_path, 'metrics', 'validate', variables)
    assert rc != 0, output
    assert message in ' '.join(output.replace('\\"', '"').split()), output


def test_the_config_from_the_playbook_variables_is_one_the_exporter_accepts(tmp_path):
    variables = {
        'sasl_users_list': [{'name': 'alice', 'realm': 'example.org', 'password': 'pw-alice',
                             'logins': [{'name': 'alice-phone', 'password': 'pw-phone'}]}],
        'send_limit_enabled': True,
        'fail2ban_enabled': True,
    }
    rc, output = run_role_tasks(tmp_path, 'metrics', 'validate', variables,
                                messages=['EXPORTER={{ __metrics_exporter | to_json }}=END'])
    assert rc == 0, output
    found = re.search(r'EXPORTER=(.*?)=END', output.replace('\\"', '"'))
    assert found, output
    written = json.loads(found.group(1))
    assert written['logins'] == ['alice-phone@example.org', 'alice@example.org']
    assert 'pw-' not in output
    path = tmp_path / 'exporter.json'
    path.write_text(json.dumps(written['config']))
    config = load_exporter().load_config(str(path))
    assert (config['listen_address'], config['listen_port']) == ('127.0.0.1', 9154)
    assert config['services'] == {'postfix': 'postfix@-.service', 'send_limit': 'policyd-rate-limit.service',
                                  'fail2ban': 'fail2ban.service'}
    assert config['send_limit_message'] == 'Send limit reached, try again later'


@pytest.mark.parametrize('method, release, unit', [('package', '12', 'postfix@-.service'),
                                                   ('package', '13', 'postfix.service'),
                                                   ('source', '12', 'postfix.service')])
def test_the_postfix_unit_follows_the_install_method_and_release(tmp_path, method, release, unit):
    facts = dict(FACTS, distribution_major_version=release)
    rc, output = run_role_tasks(tmp_path, 'metrics', 'validate', {'postfix_install_method': method, 'ansible_facts': facts},
                                messages=['UNIT={{ __metrics_exporter.config.services.postfix }}=END'])
    assert rc == 0, output
    assert 'UNIT=%s=END' % unit in output


SUMMARY_ON = {'metrics_summary_enabled': True, 'metrics_summary_recipient': 'postmaster@example.org',
              'metrics_summary_on_calendar': 'Mon *-*-* 07:00'}


def _shown(output, name):
    """The value a message NAME={{ value | to_json | b64encode }}=END showed."""
    found = re.search(name + r'=([A-Za-z0-9+/=]*?)=END', output)
    assert found, output
    return json.loads(base64.b64decode(found.group(1)))


def test_the_summary_units_and_what_the_exporter_is_told(tmp_path):
    messages = ['SERVICE={{ __metrics_summary_service_item | to_json | b64encode }}=END',
                'TIMER={{ __metrics_summary_timer_item | to_json | b64encode }}=END',
                'CONFIG={{ __metrics_exporter.config | to_json | b64encode }}=END']
    rc, output = run_role_tasks(tmp_path, 'metrics', 'validate', SUMMARY_ON, messages=messages)
    assert rc == 0, output
    service, timer = _shown(output, 'SERVICE'), _shown(output, 'TIMER')
    assert (service['path'], timer['path']) == ('/etc/systemd/system/mailstack-metrics-summary.service',
                                                '/etc/systemd/system/mailstack-metrics-summary.timer')
    assert [(item['owner'], item['group'], item['mode']) for item in (service, timer)] == [('root', 'root', '0644')] * 2
    unit = service['content'].splitlines()
    assert 'Type=oneshot' in unit and 'User=mailstack-metrics' in unit
    assert ('ExecStart=/usr/bin/python3 /usr/local/lib/mailstack/mailstack-metrics-exporter --config '
            '/etc/mailstack/metrics/exporter.json --summary /var/lib/mailstack-metrics/summary-snapshot.json --mail') in unit
    # postdrop is setgid and writes the maildrop queue: nothing that sets or implies NoNewPrivileges=.
    assert 'ReadWritePaths=/var/spool/postfix/maildrop' in unit and 'ProtectSystem=strict' in unit
    settings = {line.split('=', 1)[0] for line in unit if '=' in line and not line.startswith('#')}
    assert not settings & {'NoNewPrivileges', 'SystemCallFilter', 'PrivateDevices', 'RestrictNamespaces',
                           'MemoryDenyWriteExecute', 'ProtectKernelTunables', 'RestrictSUIDSGID', 'LockPersonality'}
    assert ['OnCalendar=Mon *-*-* 07:00', 'Persistent=true', 'WantedBy=timers.target'] == [
        line for line in timer['content'].splitlines() if line.split('=')[0] in ('OnCalendar', 'Persistent', 'WantedBy')]
    config = _shown(output, 'CONFIG')
    assert (config['summary_recipient'], config['summary_sender']) == ('postmaster@example.org', None)


def test_the_summary_units_go_when_it_is_off(tmp_path):
    messages = ['SERVICE={{ __metrics_summary_service_item | to_json | b64encode }}=END',
                'TIMER={{ __metrics_summary_timer_item | to_json | b64encode }}=END']
    rc, output = run_role_tasks(tmp_path, 'metrics', 'validate', {}, messages=messages)
    assert rc == 0, output
    assert _shown(output, 'SERVICE') == {'path': '/etc/systemd/system/mailstack-metrics-summary.service', 'state': 'absent'}
    assert _shown(output, 'TIMER') == {'path': '/etc/systemd/system/mailstack-metrics-summary.timer', 'state': 'absent'}


def test_postdrop_writes_the_queue_directory_of_a_source_build(tmp_path):
    rc, output = run_role_tasks(tmp_path, 'metrics', 'validate',
                                dict(SUMMARY_ON, postfix_install_method='source', postfix_source_queue_directory='/srv/pq'),
                                messages=['UNIT={{ __metrics_summary_unit | to_json | b64encode }}=END'])
    assert rc == 0, output
    assert 'ReadWritePaths=/srv/pq/maildrop' in _shown(output, 'UNIT')
