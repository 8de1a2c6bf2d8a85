"""The check every data table of a `*_problems` filter makes of one row."""


def assert_problem(problems, expected, secret=None):
    """No problem when `expected` is None, else exactly one that contains it; `secret` is in none."""
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1, problems
        assert expected in problems[0]
    if secret is not None:
        assert secret not in ' '.join(problems)
