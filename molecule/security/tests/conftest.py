"""Fixtures of the security scenario, and the summary lines of its matrices.

The tests address the two containers by name instead of through testinfra's
per-host `host` fixture: every case runs once, with its client in
security-outside (outside the server's mynetworks) or, for checks that must
not be throttled by anvil, inside security-server against 127.0.0.1.
"""

import pytest

from security_helpers import OUTSIDE, SERVER, get_host

# Matrix name -> test file; pytest_terminal_summary prints one line per matrix.
_MATRICES = {
    'attack matrix': 'test_attack_matrix.py',
    'bad-input matrix': 'test_bad_input.py',
    'faults and secrets': 'test_faults_secrets.py',
}
_COUNTS = {name: {'passed': 0, 'failed': 0} for name in _MATRICES}


@pytest.fixture(scope='session')
def server():
    return get_host(SERVER)


@pytest.fixture(scope='session')
def outside():
    return get_host(OUTSIDE)


@pytest.fixture(scope='session')
def server_name(server):
    return server.check_output('postconf -h myhostname')


def pytest_runtest_logreport(report):
    for name, filename in _MATRICES.items():
        if report.nodeid.split('::')[0].endswith(filename):
            if report.when == 'call' and report.passed:
                _COUNTS[name]['passed'] += 1
            elif report.failed:
                _COUNTS[name]['failed'] += 1


def pytest_terminal_summary(terminalreporter):
    terminalreporter.section('security scenario')
    for name, filename in _MATRICES.items():
        terminalreporter.write_line('%s (%s):' % (name, filename))
        terminalreporter.write_line('%d passed, %d failed' % (_COUNTS[name]['passed'], _COUNTS[name]['failed']))
