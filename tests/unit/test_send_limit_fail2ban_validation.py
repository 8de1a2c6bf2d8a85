"""The send_limit and fail2ban roles' host-free checks (the first task of tasks/validate.yml), run for real on localhost.

The cases themselves are the filters' (test_send_limit_problems.py,
test_fail2ban_problems.py); these make sure each task hands the role's
variables to its filter and adds the line break check, failing with every
problem before the tasks that read the host. Only failures are run: past the
checks, validate.yml reads this machine's Postfix.
"""

import pytest

from helpers.roles import run_role_tasks

CASES = [
    ('send_limit', {'send_limit_message': '', 'send_limit_per_login': {'alice smith': []}},
     'send_limit_per_login: a login has no spaces, commas, colons or quotes and is not empty (wrong: "alice smith"). '
     'send_limit_message must not be empty.'),
    ('send_limit', {'send_limit_message': 'Over\nthe limit'},
     'These variables contain a line break, which would inject lines into the policyd-rate-limit configuration: send_limit_message.'),
    ('fail2ban', {'fail2ban_postfix_sasl_maxretry': 0, 'fail2ban_postfix_sasl_ignoreip': ['mx.example.org']},
     'fail2ban_postfix_sasl_maxretry (0) is not. fail2ban settings: fail2ban_postfix_sasl_ignoreip takes IPv4 or IPv6 addresses '
     'or networks (wrong: "mx.example.org").'),
    ('fail2ban', {'fail2ban_postfix_sasl_ignoreip': ['192.0.2.7\n']},
     'These variables contain a line break, which would inject lines into the jail file: fail2ban_postfix_sasl_ignoreip.'),
]


@pytest.mark.parametrize('role, variables, message', CASES, ids=['%s: %s' % (case[0], ', '.join(case[1])) for case in CASES])
def test_the_checks_fail_before_the_host_is_read(tmp_path, role, variables, message):
    rc, output = run_role_tasks(tmp_path, role, 'validate', variables)
    assert rc != 0, output
    assert message in ' '.join(output.replace('\\"', '"').split()), output
    assert "Read Postfix's" not in output
