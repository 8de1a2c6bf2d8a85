"""The metrics_problems filter: the metrics role's host-free checks, as data.

Each case gives the variables that differ from GOOD (the role's defaults)
and a piece of the one problem expected, or None when they are fine.
"""

import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.mailstack.sasl_postfix.plugins.filter.metrics_problems import metrics_problems
from helpers.problems import assert_problem

DEFAULTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        'roles', 'metrics', 'defaults', 'main.yml')
with open(DEFAULTS, encoding='utf-8') as _handle:
    # The defaults as the role hands them over: the templated one rendered (a package install).
    GOOD = dict(yaml.safe_load(_handle), metrics_postfix_unit='postfix@-.service')

# case -> (variables that differ from GOOD, a piece of the problem expected or None)
CASES = {
    'the defaults': ({}, None),
    'all addresses': ({'metrics_listen_address': '0.0.0.0'}, None),
    'an IPv6 address': ({'metrics_listen_address': '::1'}, None),
    'a port as digits': ({'metrics_listen_port': '9100'}, None),
    'durations of several units': ({'metrics_alert_sending_baseline': '1w2d', 'metrics_alert_down_for': '90s'}, None),
    'thresholds of 0': ({'metrics_alert_auth_failures': 0, 'metrics_alert_deferred_min': 0}, None),
    'a host name': ({'metrics_listen_address': 'localhost'},
                    'metrics_listen_address is an IPv4 or IPv6 address, not a name (got "localhost").'),
    'an address with a port': ({'metrics_listen_address': '127.0.0.1:9154'}, '(got "127.0.0.1:9154")'),
    'no address': ({'metrics_listen_address': None}, '(got null)'),
    'port 0': ({'metrics_listen_port': 0}, 'metrics_listen_port is a whole number from 1 to 65535 (got 0).'),
    'port too high': ({'metrics_listen_port': 70000}, '(got 70000)'),
    'port as a fraction': ({'metrics_listen_port': 9154.5}, '(got 9154.5)'),
    'port as a boolean': ({'metrics_listen_port': True}, '(got true)'),
    'an IPv4 prefix too long': ({'metrics_ipv4_prefix': 33}, 'metrics_ipv4_prefix is a whole number from 0 to 32 (got 33).'),
    'an IPv6 prefix too long': ({'metrics_ipv6_prefix': 129}, 'metrics_ipv6_prefix is a whole number from 0 to 128'),
    'no networks': ({'metrics_max_networks': 0}, 'metrics_max_networks is a whole number 1 or more (got 0).'),
    'a negative threshold': ({'metrics_alert_auth_failures': -1},
                             'metrics_alert_auth_failures is a whole number 0 or more (got -1).'),
    'a factor of 0': ({'metrics_alert_sending_factor': 0}, 'metrics_alert_sending_factor is a whole number 1 or more'),
    'a threshold as words': ({'metrics_alert_login_failures': 'ten'}, '(got "ten")'),
    'a growth of 0 (a stable queue would alert)': ({'metrics_alert_deferred_growth': 0},
                                                   'metrics_alert_deferred_growth is a whole number 1 or more'),
    'a duration without a unit': ({'metrics_alert_auth_window': '600'},
                                  'metrics_alert_auth_window is a Prometheus duration longer than 0, such as 10m, 1h or 7d '
                                  '(got "600").'),
    'a duration of 0': ({'metrics_alert_down_for': '0m'}, 'metrics_alert_down_for is a Prometheus duration'),
    'a duration with a blank': ({'metrics_alert_sending_window': '1 h'}, '(got "1 h")'),
    'units out of order': ({'metrics_alert_sending_baseline': '1h7d'}, '(got "1h7d")'),
    'an empty duration': ({'metrics_alert_deferred_window': ''}, '(got "")'),
    'a duration as a number': ({'metrics_alert_deferred_window': 30}, '(got 30)'),
    'a source build': ({'metrics_postfix_unit': 'postfix.service'}, None),
    'a unit that is no service': ({'metrics_postfix_unit': 'postfix'},
                                  'metrics_postfix_unit is a systemd service unit, such as postfix@-.service (got "postfix").'),
    'a unit with a blank': ({'metrics_postfix_unit': 'postfix .service'}, '(got "postfix .service")'),
    'a relative rules path': ({'metrics_alert_rules_path': 'alerts.yml'},
                              'metrics_alert_rules_path is an absolute file path without blanks (got "alerts.yml").'),
    'a rules directory': ({'metrics_alert_rules_path': '/etc/prometheus/rules/'}, '(got "/etc/prometheus/rules/")'),
    'a line break': ({'metrics_alert_down_for': '2m\n- alert: x'}, '(got "2m\\n- alert: x")'),
    # The daily summary
    'the summary on, with a recipient': ({'metrics_summary_enabled': True,
                                          'metrics_summary_recipient': 'postmaster@example.org'}, None),
    'the summary on as text, an address with + and an apostrophe': (
        {'metrics_summary_enabled': 'yes', 'metrics_summary_recipient': "o'brien+summary@mail.example.org"}, None),
    'a sender and another calendar': ({'metrics_summary_sender': 'reports@example.org',
                                       'metrics_summary_on_calendar': 'Mon *-*-* 07:00'}, None),
    'a recipient set while the summary is off': ({'metrics_summary_recipient': 'postmaster@example.org'}, None),
    'the summary on without a recipient': (
        {'metrics_summary_enabled': True},
        'metrics_summary_recipient is needed with metrics_summary_enabled: the mail address the daily summary is sent '
        'to, such as postmaster@example.org (got "").'),
    'the summary on with a null recipient': ({'metrics_summary_enabled': True, 'metrics_summary_recipient': None},
                                             'metrics_summary_recipient is needed'),
    'the summary enabled as a word': ({'metrics_summary_enabled': 'sometimes'},
                                      'metrics_summary_enabled is true (mail a daily summary) or false (got "sometimes").'),
    'a recipient without a domain': ({'metrics_summary_recipient': 'postmaster'},
                                     'metrics_summary_recipient is one mail address such as postmaster@example.org, '
                                     'without a name, blank or line break (got "postmaster").'),
    'two recipients': ({'metrics_summary_recipient': 'a@example.org, b@example.org'},
                       '(got "a@example.org, b@example.org")'),
    'two recipients as a list': ({'metrics_summary_recipient': ['a@example.org', 'b@example.org']},
                                 '(got ["a@example.org", "b@example.org"])'),
    'a recipient with a name': ({'metrics_summary_recipient': 'Postmaster <postmaster@example.org>'},
                                '(got "Postmaster <postmaster@example.org>")'),
    'a recipient with a header after it': ({'metrics_summary_recipient': 'a@example.org\nBcc: x@example.net'},
                                           '(got "a@example.org\\nBcc: x@example.net")'),
    'a recipient with a blank': ({'metrics_summary_recipient': 'post master@example.org'}, 'metrics_summary_recipient'),
    'a domain ending in a dot': ({'metrics_summary_recipient': 'postmaster@example.org.'}, 'metrics_summary_recipient'),
    'a sender without a domain': ({'metrics_summary_sender': 'reports'},
                                  "metrics_summary_sender is empty (mailstack-metrics@ Postfix's myhostname) or one "
                                  'mail address such as reports@example.org (got "reports").'),
    'an empty calendar': ({'metrics_summary_on_calendar': ''},
                          'metrics_summary_on_calendar is a systemd calendar event on one line, such as '
                          '"*-*-* 06:00:00" or "daily" (got "").'),
    'a calendar with a line break': ({'metrics_summary_on_calendar': 'daily\nExecStart=/bin/sh'},
                                     '(got "daily\\nExecStart=/bin/sh")'),
    'a calendar as a number': ({'metrics_summary_on_calendar': 6}, '(got 6)'),
}


@pytest.mark.parametrize('case', list(CASES))
def test_metrics_problems(case):
    changes, expected = CASES[case]
    assert_problem(metrics_problems(dict(GOOD, **changes)), expected)


def test_every_problem_is_named():
    bad = dict(GOOD, metrics_listen_port=0, metrics_alert_down_for='soon')
    assert metrics_problems(bad) == [
        'metrics_listen_port is a whole number from 1 to 65535 (got 0).',
        'metrics_alert_down_for is a Prometheus duration longer than 0, such as 10m, 1h or 7d (got "soon").']


def test_a_missing_variable_is_named():
    variables = dict(GOOD)
    del variables['metrics_alert_sending_factor']
    with pytest.raises(AnsibleFilterError, match='metrics_problems needs the variables metrics_alert_sending_factor'):
        metrics_problems(variables)
