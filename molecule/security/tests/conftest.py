"""Fixtures of the security scenario, and the summary lines of its matrices.

The tests address the two containers by name instead of through testinfra's
per-host `host` fixture: every case runs once, with its client in
security-outside (outside the server's mynetworks) or, for checks that must
not be throttled by anvil, inside security-server against 127.0.0.1.
"""

import time

import pytest

from helpers.molecule import container
from security_helpers import OUTSIDE, SEND_LIMIT, SERVER, send_limit_rcpts, send_limit_refusals

# Matrix name -> test file; pytest_terminal_summary prints one line per matrix.
_MATRICES = {
    'attack matrix': 'test_attack_matrix.py',
    'bad-input matrix': 'test_bad_input.py',
    'faults and secrets': 'test_faults_secrets.py',
    'outside tools': 'test_outside_scanners.py',
}
# Matrices whose summary line also names each test and its outcome.
_NAMED = {'outside tools'}
_COUNTS = {name: {'passed': 0, 'failed': 0} for name in _MATRICES}
_OUTCOMES = {name: {} for name in _NAMED}


@pytest.fixture(scope='session')
def server():
    return container(SERVER)


@pytest.fixture(scope='session')
def outside():
    return container(OUTSIDE)


@pytest.fixture(scope='session', autouse=True)
def carol_over_the_limit(server):
    """carol crosses her send limit first in the session, so its window runs out while the other modules test
    (test_send_limit.py checks what was answered, then that the window reset, without waiting for it)."""
    refusals_before = send_limit_refusals(server)
    started = time.monotonic()
    over = send_limit_rcpts(server, 'carol', SEND_LIMIT + 1)
    return {'started': started, 'refusals_before': refusals_before, 'over': over,
            'dave': send_limit_rcpts(server, 'dave', 2), 'carol_again': send_limit_rcpts(server, 'carol', 1)}


@pytest.fixture(scope='session')
def server_name(server):
    return server.check_output('postconf -h myhostname')


def pytest_runtest_logreport(report):
    for name, filename in _MATRICES.items():
        if report.nodeid.split('::')[0].endswith(filename):
            outcome = None
            if report.when == 'call' and report.passed:
                outcome = 'passed'
            elif report.failed:
                outcome = 'failed'
            if outcome:
                _COUNTS[name][outcome] += 1
                if name in _NAMED:
                    _OUTCOMES[name][report.nodeid.split('::')[-1][len('test_'):]] = outcome


def pytest_terminal_summary(terminalreporter):
    terminalreporter.section('security scenario')
    for name, filename in _MATRICES.items():
        terminalreporter.write_line('%s (%s):' % (name, filename))
        line = '%d passed, %d failed' % (_COUNTS[name]['passed'], _COUNTS[name]['failed'])
        if name in _NAMED:
            line += ': ' + ', '.join('%s %s' % (test, outcome) for test, outcome in _OUTCOMES[name].items())
        terminalreporter.write_line(line)
