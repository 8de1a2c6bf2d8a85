"""The send_limit_problems filter: the send_limit role's host-free checks, as data.

Each case gives the variables that differ from GOOD (the role's defaults)
and a piece of the one problem expected, or None when they are fine.
"""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mailstack.sasl_postfix.plugins.filter.send_limit_problems import send_limit_problems
from helpers.problems import assert_problem

GOOD = {
    'send_limit_limits': [{'recipients': 200, 'seconds': 3600}, {'recipients': 1000, 'seconds': 86400}],
    'send_limit_per_login': {},
    'send_limit_message': 'Send limit reached, try again later',
}

# case -> (variables that differ from GOOD, a piece of the problem expected or None)
CASES = {
    'the defaults': ({}, None),
    'limits as strings of digits': ({'send_limit_limits': [{'recipients': '0', 'seconds': '60'}]}, None),
    'per login, and no limit for one': ({'send_limit_per_login': {'alice@example.org': [{'recipients': 10, 'seconds': 60}],
                                                                  'robot@example.org': []}}, None),
    'no limit': ({'send_limit_limits': []}, 'send_limit_limits is a non-empty list of limits (got [])'),
    'limits as a string': ({'send_limit_limits': '200/3600'}, 'send_limit_limits is a non-empty list of limits (got "200/3600")'),
    'a limit without seconds': ({'send_limit_limits': [{'recipients': 10}]},
                                'A limit of send_limit_limits or send_limit_per_login is {recipients: N, seconds: S} with N 0 or '
                                'more and S 1 or more (wrong: {"recipients": 10}).'),
    'a window of 0 seconds': ({'send_limit_limits': [{'recipients': 10, 'seconds': 0}]}, '(wrong: {"recipients": 10, "seconds": 0})'),
    'negative recipients': ({'send_limit_limits': [{'recipients': -1, 'seconds': 60}]}, '(wrong: {"recipients": -1, "seconds": 60})'),
    'a limit that is no dictionary': ({'send_limit_limits': [200]}, '(wrong: 200)'),
    'a wrong limit per login': ({'send_limit_per_login': {'alice': [{'recipients': 'ten', 'seconds': 60}]}},
                                '(wrong: {"recipients": "ten", "seconds": 60})'),
    'per login not a mapping': ({'send_limit_per_login': [{'alice': []}]}, 'send_limit_per_login maps logins to lists of limits (got'),
    'a string per login': ({'send_limit_per_login': {'alice': '10/60'}},
                           'send_limit_per_login maps logins to lists of limits, not strings (wrong for: "alice")'),
    'a login with a blank': ({'send_limit_per_login': {'alice smith': []}},
                             'send_limit_per_login: a login has no spaces, commas, colons or quotes and is not empty (wrong: '
                             '"alice smith")'),
    'a login with a colon': ({'send_limit_per_login': {'alice:x': []}}, '(wrong: "alice:x")'),
    'an empty login': ({'send_limit_per_login': {'': []}}, '(wrong: "")'),
    'no message': ({'send_limit_message': ''}, 'send_limit_message must not be empty.'),
}


@pytest.mark.parametrize('case', list(CASES))
def test_send_limit_problems(case):
    changes, expected = CASES[case]
    problems = send_limit_problems(dict(GOOD, **changes))
    assert_problem(problems, expected)


def test_send_limit_problems_wants_every_variable():
    with pytest.raises(AnsibleFilterError, match='needs the variables send_limit_per_login, send_limit_message'):
        send_limit_problems({'send_limit_limits': []})
