"""The line_break_names filter: which variables hold a line break, as data."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mailstack.sasl_postfix.plugins.filter.line_break_names import line_break_names, line_break_problems

# case -> (variables, names expected)
CASES = {
    'none': ({'postfix_banner': '$myhostname ESMTP', 'postfix_limit': 10, 'postfix_flag': True, 'postfix_none': None}, []),
    'newline in a string': ({'postfix_banner': 'a\nb', 'postfix_ok': 'x'}, ['postfix_banner']),
    'carriage return': ({'postfix_banner': 'a\rb'}, ['postfix_banner']),
    'in a list item': ({'postfix_restrictions': ['permit', 'reject\n -o x=y']}, ['postfix_restrictions']),
    'in a dict value': ({'postfix_extra': {'a': '1\n2'}}, ['postfix_extra']),
    'in a dict key': ({'postfix_extra': {'a\nb': '1'}}, ['postfix_extra']),
    'one level below a list item': ({'postfix_services': [{'name': 'smtp', 'command': 'smtpd\n'}]}, ['postfix_services']),
    'one level below a dict value': ({'postfix_maps': {'a': ['x', 'y\n']}}, ['postfix_maps']),
    # Two levels below is not looked into (nor was it before the filter).
    'two levels below': ({'postfix_deep': [{'args': ['x\n']}]}, []),
    'sorted names': ({'postfix_b': 'x\n', 'postfix_a': ['\n']}, ['postfix_a', 'postfix_b']),
    'empty': ({}, []),
}


@pytest.mark.parametrize('case', list(CASES))
def test_line_break_names(case):
    variables, expected = CASES[case]
    assert line_break_names(variables) == expected


@pytest.mark.parametrize('value', [['postfix_a'], 'postfix_a', None])
def test_line_break_names_wants_a_dict(value):
    with pytest.raises(AnsibleFilterError, match='dictionary'):
        line_break_names(value)


# case -> (variables, the sentence expected or None)
PROBLEM_CASES = {
    'none': ({'postfix_banner': 'x', 'postfix_limit': 1}, None),
    'named, sorted, never shown': ({'postfix_b': 'secret\n', 'postfix_a': ['x\r']},
                                   'These variables contain a line break, which would inject lines into main.cf: postfix_a, postfix_b.'),
}


@pytest.mark.parametrize('case', list(PROBLEM_CASES))
def test_line_break_problems(case):
    variables, expected = PROBLEM_CASES[case]
    assert line_break_problems(variables, 'main.cf') == ([] if expected is None else [expected])
