"""The metrics role's alert rules, checked and unit-tested with the real promtool (Debian's prometheus package).

The rules template is rendered by Ansible's template module with the role's
defaults (as the role renders it); `promtool check rules` checks it and
`promtool test rules` runs each file of tests/unit/metrics_rules/ against it:
series that model a brute force in progress, a login sending far above its
usual rate, a growing deferred queue and Postfix down, and the cases that
must not fire. promtool is a test dependency (bindep.txt): missing, the tests
fail rather than skip.
"""

import os
import shutil
import subprocess

import pytest
import yaml

from helpers.roles import run_playbook

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(REPO_ROOT, 'roles', 'metrics')
TEMPLATE = os.path.join(ROLE, 'templates', 'mailstack-alerts.yml.j2')
DEFAULTS = os.path.join(ROLE, 'defaults', 'main.yml')
CASES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'metrics_rules')
CASE_FILES = sorted(name for name in os.listdir(CASES) if name.endswith('.yml'))

PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.include_vars:
        file: {defaults}
    - ansible.builtin.template:
        src: {template}
        dest: {dest}
        mode: "0644"
"""


def promtool():
    path = shutil.which('promtool')
    assert path, 'promtool is missing: apt-get install prometheus (Debian), see bindep.txt'
    return path


def render(tmp_path, variables=None):
    """Render the rules into tmp_path/alerts.yml (the name the test files load) next to copies of the test files."""
    dest = tmp_path / 'alerts.yml'
    rc, out = run_playbook(tmp_path, PLAY.format(defaults=DEFAULTS, template=TEMPLATE, dest=dest), variables or {})
    assert rc == 0, out
    for name in CASE_FILES:
        shutil.copyfile(os.path.join(CASES, name), str(tmp_path / name))
    return dest


@pytest.fixture(scope='module')
def rendered(tmp_path_factory):
    return render(tmp_path_factory.mktemp('rules'))


def run_promtool(*args, cwd=None):
    proc = subprocess.run([promtool()] + list(args), capture_output=True, text=True, cwd=cwd, check=False,
                          env=dict(os.environ, LANG='C', LC_ALL='C'))
    return proc.returncode, proc.stdout + proc.stderr


def test_the_rules_pass_promtool_check_rules(rendered):
    rc, out = run_promtool('check', 'rules', str(rendered))
    assert rc == 0, out
    assert 'SUCCESS: 6 rules found' in out


def test_the_rules_file_names_each_case_once(rendered):
    rules = yaml.safe_load(rendered.read_text())['groups'][0]['rules']
    assert [rule['alert'] for rule in rules] == [
        'MailstackSmtpAuthBruteForce', 'MailstackSmtpAuthLoginAttacked', 'MailstackLoginSendingAboveUsual',
        'MailstackDeferredQueueGrowing', 'MailstackPostfixDown', 'MailstackServiceDown']
    assert rendered.read_text().startswith('#\n# Ansible managed\n')


@pytest.mark.parametrize('case', CASE_FILES)
def test_promtool_test_rules(rendered, case):
    rc, out = run_promtool('test', 'rules', case, cwd=str(rendered.parent))
    assert rc == 0, out
    assert 'SUCCESS' in out


def test_every_alert_has_a_case_that_fires_and_the_cases_cover_all():
    fired = set()
    for name in CASE_FILES:
        with open(os.path.join(CASES, name), encoding='utf-8') as handle:
            for test in yaml.safe_load(handle)['tests']:
                fired |= {check['alertname'] for check in test['alert_rule_test'] if check['exp_alerts']}
    assert fired == {'MailstackSmtpAuthBruteForce', 'MailstackSmtpAuthLoginAttacked', 'MailstackLoginSendingAboveUsual',
                     'MailstackDeferredQueueGrowing', 'MailstackPostfixDown', 'MailstackServiceDown'}


THRESHOLDS = {
    'a higher brute-force threshold: 40 failures in 10 min no longer fire': (
        {'metrics_alert_auth_failures': 45}, 'brute_force.yml', 'MailstackSmtpAuthBruteForce',
        'sum without (login) (increase(mailstack_smtp_auth_failures_by_login_total[10m])) > 45'),
    'a longer down period: Postfix down 2 min is only pending': (
        {'metrics_alert_down_for': '3m'}, 'down.yml', 'MailstackPostfixDown', None),
    'a higher sending factor: 100 times the usual rate no longer fires': (
        {'metrics_alert_sending_factor': 150}, 'sending.yml', 'MailstackLoginSendingAboveUsual',
        '> 150 * ('),
}


@pytest.mark.parametrize('variables, case, alert, expr', THRESHOLDS.values(), ids=list(THRESHOLDS))
def test_thresholds_come_from_the_role_variables(tmp_path, variables, case, alert, expr):
    """With another threshold the rendered rules differ, and the case built for the default fails on that alert."""
    rendered = render(tmp_path, variables)
    rules = {rule['alert']: rule for rule in yaml.safe_load(rendered.read_text())['groups'][0]['rules']}
    if expr:
        assert expr in rules[alert]['expr']
    else:
        assert rules[alert]['for'] == variables['metrics_alert_down_for']
    rc, out = run_promtool('test', 'rules', case, cwd=str(tmp_path))
    assert rc == 1, out
    assert 'alertname: %s' % alert in out
