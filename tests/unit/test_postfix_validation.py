"""The postfix role's host-free checks (tasks/validate.yml), run for real by ansible-playbook on localhost.

The cases themselves are the postfix_problems filter's (test_postfix_problems.py);
these make sure the task hands the role's variables to it, adds the line
break check and the platform, and fails with every problem.
"""

import os

import pytest
import yaml

from helpers.roles import run_role_tasks

FACTS = {'os_family': 'Debian', 'fqdn': 'mx.example.org'}
# The platform's settings, which the role's main.yml loads before validate.yml
# (ansible-core before 2.19 renders __postfix_main_cf_managed whole).
with open(os.path.join(os.path.dirname(__file__), '..', '..', 'roles', 'postfix', 'vars', 'Debian.yml')) as _handle:
    DEBIAN = yaml.safe_load(_handle)

CASES = [
    ('the defaults', {}, None),
    ('another platform', {'ansible_facts': {'os_family': 'RedHat', 'fqdn': 'mx.example.org'}},
     'The postfix role supports Debian; this host is RedHat.'),
    ('a line break', {'postfix_smtpd_banner': 'ESMTP\nrelayhost = evil'},
     'These variables contain a line break, which would inject lines into main.cf or master.cf: postfix_smtpd_banner.'),
    ('a managed parameter', {'postfix_main_cf_extra': {'mynetworks': '0.0.0.0/0'}},
     'these parameters are managed by role variables, set those instead: mynetworks.'),
    ('no recipient cap', {'postfix_submission_recipient_limit': 0},
     'postfix_submission_recipient_limit is the most recipients one message may have on 587 and 465'),
    ('privacy that is no boolean', {'postfix_submission_hide_client_session': 'maybe'},
     'postfix_submission_hide_client_session is true (the Received header of 587 and 465 does not name the client) '
     'or false (got "maybe").'),
    ('two problems', {'postfix_myhostname': '', 'postfix_submission_tls_ciphers': []},
     'postfix_myhostname is empty. postfix_submission_tls_ciphers is empty'),
]


@pytest.mark.parametrize('variables, message', [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_postfix_validate(tmp_path, variables, message):
    rc, output = run_role_tasks(tmp_path, 'postfix', 'validate', dict(DEBIAN, ansible_facts=FACTS) | variables)
    if message is None:
        assert rc == 0, output
    else:
        assert rc != 0, output
        assert message in ' '.join(output.split()), output
