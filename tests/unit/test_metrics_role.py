"""The metrics role's checks and what it writes for the exporter, run for real on localhost (tasks/validate.yml only).

The cases of the checks are the filters' (test_metrics_problems.py,
test_metrics_exporter_config.py); these make sure the task hands the role's
variables to them and fails with every problem, and that the config the role
derives from the playbook's variables is one the exporter accepts.
"""

import json
import re

import pytest

from helpers.roles import run_role_tasks
from helpers.metrics import load_exporter

FAILURES = {
    'two problems in one message': (
        {'metrics_listen_address': 'localhost', 'metrics_alert_down_for': 'soon'},
        'metrics_listen_address is an IPv4 or IPv6 address, not a name (got "localhost"). metrics_alert_down_for is a '
        'Prometheus duration longer than 0, such as 10m, 1h or 7d (got "soon").'),
    'a line break': (
        {'metrics_alert_auth_window': '10m\n- alert: x'},
        'These variables contain a line break, which would inject lines into the exporter configuration or the alert '
        'rules: metrics_alert_auth_window.'),
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


@pytest.mark.parametrize('method, unit', [('package', 'postfix@-.service'), ('source', 'postfix.service')])
def test_the_postfix_unit_follows_the_install_method(tmp_path, method, unit):
    rc, output = run_role_tasks(tmp_path, 'metrics', 'validate', {'postfix_install_method': method},
                                messages=['UNIT={{ __metrics_exporter.config.services.postfix }}=END'])
    assert rc == 0, output
    assert 'UNIT=%s=END' % unit in output
