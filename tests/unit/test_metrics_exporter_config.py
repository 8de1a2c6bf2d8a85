"""The metrics_exporter_config filter: what the metrics role writes for its exporter, as data."""

import json

import pytest

from ansible_collections.mailstack.sasl_postfix.plugins.filter.metrics_exporter_config import metrics_exporter_config
from helpers.metrics import load_exporter

GOOD = {
    'metrics_listen_address': '127.0.0.1',
    'metrics_listen_port': 9154,
    'metrics_ipv4_prefix': 24,
    'metrics_ipv6_prefix': 64,
    'metrics_max_networks': 1000,
    'metrics_postfix_unit': 'postfix@-.service',
    'state_file': '/var/lib/mailstack-metrics/state.json',
    'logins_file': '/etc/mailstack/metrics/logins',
    'sasl_users_list': [],
    'sasl_users_backend': 'sasldb',
    'sasl_users_default_realm': '',
    'send_limit_enabled': False,
    'send_limit_message': 'Send limit reached, try again later',
    'fail2ban_enabled': False,
    'cyrus_sasl_pwcheck_method': 'auxprop',
    'metrics_summary_recipient': '',
    'metrics_summary_sender': '',
}
USERS = [
    {'name': 'alice', 'realm': 'example.org', 'password': 'secret-a',
     'logins': [{'name': 'alice-phone', 'password': 'secret-p'}, {'name': 'alice-old', 'state': 'absent'}]},
    {'name': 'bob', 'password': 'secret-b'},
    {'name': 'carol', 'realm': 'example.org', 'state': 'absent', 'logins': [{'name': 'carol-app'}]},
    {'name': 'dave@example.net', 'password': 'secret-d'},
]

# case -> (variables that differ from GOOD, the logins expected)
LOGINS = {
    'no users': ({}, []),
    'sasldb: each entry its realm, extra logins in their user realm, absent ones left out': (
        {'sasl_users_list': USERS}, ['alice-phone@example.org', 'alice@example.org', 'bob', 'dave@example.net']),
    'sasldb: the default realm for entries without one': (
        {'sasl_users_list': USERS, 'sasl_users_default_realm': 'example.com'},
        ['alice-phone@example.org', 'alice@example.org', 'bob@example.com', 'dave@example.net']),
    'saslauthd: the default realm for all (it ignores the entry realm)': (
        {'sasl_users_list': USERS, 'sasl_users_backend': 'system', 'sasl_users_default_realm': 'example.com'},
        ['alice-phone@example.com', 'alice@example.com', 'bob@example.com', 'dave@example.net']),
    'a login listed twice is written once': (
        {'sasl_users_list': [{'name': 'bob'}, {'name': 'bob'}]}, ['bob']),
}


@pytest.mark.parametrize('changes, expected', LOGINS.values(), ids=list(LOGINS))
def test_logins(changes, expected):
    assert metrics_exporter_config(dict(GOOD, **changes))['logins'] == expected


def test_no_password_is_in_what_the_role_writes():
    result = metrics_exporter_config(dict(GOOD, sasl_users_list=USERS))
    assert 'secret' not in repr(result)


# case -> (variables that differ from GOOD, the services expected, the send-limit message expected)
SERVICES = {
    'Postfix alone': ({}, {'postfix': 'postfix@-.service'}, None),
    'a source build': ({'metrics_postfix_unit': 'postfix.service'}, {'postfix': 'postfix.service'}, None),
    'with the send limit': ({'send_limit_enabled': True},
                            {'postfix': 'postfix@-.service', 'send_limit': 'policyd-rate-limit.service'},
                            'Send limit reached, try again later'),
    'send limit as text': ({'send_limit_enabled': 'yes', 'send_limit_message': 'Slow down'},
                           {'postfix': 'postfix@-.service', 'send_limit': 'policyd-rate-limit.service'}, 'Slow down'),
    'saslauthd and fail2ban': (
        {'cyrus_sasl_pwcheck_method': 'saslauthd', 'fail2ban_enabled': True},
        {'postfix': 'postfix@-.service', 'saslauthd': 'saslauthd.service', 'fail2ban': 'fail2ban.service'}, None),
}


@pytest.mark.parametrize('changes, services, message', SERVICES.values(), ids=list(SERVICES))
def test_services_and_send_limit(changes, services, message):
    config = metrics_exporter_config(dict(GOOD, **changes))['config']
    assert config['services'] == services
    assert config['send_limit_message'] == message


def test_the_config_the_exporter_reads():
    config = metrics_exporter_config(dict(GOOD, metrics_listen_port='9100'))
    assert config['config'] == {
        'listen_address': '127.0.0.1', 'listen_port': 9100, 'ipv4_prefix': 24, 'ipv6_prefix': 64, 'max_networks': 1000,
        'state_file': '/var/lib/mailstack-metrics/state.json', 'logins_file': '/etc/mailstack/metrics/logins',
        'send_limit_message': None, 'services': {'postfix': 'postfix@-.service'},
        'summary_recipient': None, 'summary_sender': None}


def test_the_exporter_accepts_the_config(tmp_path):
    """The config the filter makes passes the exporter's own check (the same keys, the right types)."""
    path = tmp_path / 'exporter.json'
    path.write_text(json.dumps(metrics_exporter_config(dict(GOOD, send_limit_enabled=True))['config']))
    loaded = load_exporter().load_config(str(path))
    assert loaded['services'] == {'postfix': 'postfix@-.service', 'send_limit': 'policyd-rate-limit.service'}


# case -> (variables that differ from GOOD, the summary's recipient and sender in the config)
SUMMARY = {
    'none set: no recipient, the default sender': ({}, None, None),
    'both set': ({'metrics_summary_recipient': 'postmaster@example.org', 'metrics_summary_sender': 'reports@example.org'},
                 'postmaster@example.org', 'reports@example.org'),
    'null as empty': ({'metrics_summary_recipient': None, 'metrics_summary_sender': None}, None, None),
}


@pytest.mark.parametrize('changes, recipient, sender', SUMMARY.values(), ids=list(SUMMARY))
def test_the_summary_addresses(tmp_path, changes, recipient, sender):
    config = metrics_exporter_config(dict(GOOD, **changes))['config']
    assert (config['summary_recipient'], config['summary_sender']) == (recipient, sender)
    path = tmp_path / 'exporter.json'
    path.write_text(json.dumps(config))
    loaded = load_exporter().load_config(str(path))  # the exporter accepts it
    assert (loaded['summary_recipient'], loaded['summary_sender']) == (recipient, sender)
