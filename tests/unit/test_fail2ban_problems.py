"""The fail2ban_problems filter: the fail2ban role's host-free checks, as data.

Each case gives the variables that differ from GOOD (the role's defaults and
its address pattern, read from vars/main.yml) and a piece of the one problem
expected, or None when they are fine.
"""

import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.mailstack.sasl_postfix.plugins.filter.fail2ban_problems import fail2ban_problems
from helpers.problems import assert_problem

with open(os.path.join(os.path.dirname(__file__), '..', '..', 'roles', 'fail2ban', 'vars', 'main.yml')) as _handle:
    ADDRESS_PATTERN = yaml.safe_load(_handle)['__fail2ban_address_pattern']

GOOD = {
    'fail2ban_postfix_sasl_maxretry': 5,
    'fail2ban_postfix_sasl_findtime': 600,
    'fail2ban_postfix_sasl_bantime': 3600,
    'fail2ban_postfix_sasl_ports': [25, 465, 587],
    'fail2ban_postfix_sasl_ignoreip': [],
    '__fail2ban_address_pattern': ADDRESS_PATTERN,
    'fail2ban_log_to_journal': False,
}

# case -> (variables that differ from GOOD, a piece of the problem expected or None)
CASES = {
    'the defaults': ({}, None),
    'addresses and networks': ({'fail2ban_postfix_sasl_ignoreip': ['192.0.2.7', '198.51.100.0/24', '2001:db8::/32', '::1']}, None),
    'ports as strings': ({'fail2ban_postfix_sasl_ports': ['25', '587']}, None),
    'no retry': ({'fail2ban_postfix_sasl_maxretry': 0},
                 'fail2ban settings: fail2ban_postfix_sasl_maxretry, fail2ban_postfix_sasl_findtime and fail2ban_postfix_sasl_bantime '
                 'must be 1 or more; fail2ban_postfix_sasl_maxretry (0) is not.'),
    'a negative ban': ({'fail2ban_postfix_sasl_bantime': -1, 'fail2ban_postfix_sasl_findtime': 'x'},
                       'fail2ban_postfix_sasl_findtime (x), fail2ban_postfix_sasl_bantime (-1) is not.'),
    'no port': ({'fail2ban_postfix_sasl_ports': []}, 'fail2ban_postfix_sasl_ports must list ports from 1 to 65535 (it is empty).'),
    'port 0 and a name': ({'fail2ban_postfix_sasl_ports': [25, 0, 'smtp']}, '(wrong: 0, "smtp")'),
    'port 65536': ({'fail2ban_postfix_sasl_ports': [65536]}, '(wrong: 65536)'),
    'bans to the journal': ({'fail2ban_log_to_journal': 'yes'}, None),
    'a log target that is no boolean': ({'fail2ban_log_to_journal': 'journal'},
                                        'fail2ban settings: fail2ban_log_to_journal is true (fail2ban logs to the '
                                        'journal) or false (got "journal").'),
    'a host name': ({'fail2ban_postfix_sasl_ignoreip': ['mx.example.org']},
                    'fail2ban settings: fail2ban_postfix_sasl_ignoreip takes IPv4 or IPv6 addresses or networks (wrong: '
                    '"mx.example.org").'),
    'an address with a newline': ({'fail2ban_postfix_sasl_ignoreip': ['192.0.2.7\n']}, r'(wrong: "192.0.2.7\n")'),
}


@pytest.mark.parametrize('case', list(CASES))
def test_fail2ban_problems(case):
    changes, expected = CASES[case]
    problems = fail2ban_problems(dict(GOOD, **changes))
    assert_problem(problems, expected)


def test_fail2ban_problems_wants_every_variable():
    with pytest.raises(AnsibleFilterError, match='needs the variables'):
        fail2ban_problems({'fail2ban_postfix_sasl_maxretry': 5})
