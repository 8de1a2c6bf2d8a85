"""tests/molecule_stages.py: the stage times of a `molecule test` run, from its real output lines."""

import io

import pytest

from molecule_stages import format_times, stage_event, time_stages

# Lines as Molecule 25 prints them into .cache/molecule-logs/<scenario>.log (colours included).
EXECUTING = '\x1b[36mINFO    \x1b[0m \x1b[32mrelay\x1b[0m ➜ \x1b[33mconverge\x1b[0m: \x1b[36mExecuting\x1b[0m\n'
EXECUTED = '\x1b[36mINFO    \x1b[0m \x1b[32mrelay\x1b[0m ➜ \x1b[33mconverge\x1b[0m: \x1b[32mExecuted: Successful\x1b[0m\n'
VERIFIER = '\x1b[36mINFO    \x1b[0m \x1b[32mrelay\x1b[0m ➜ \x1b[33mverify\x1b[0m: Verifier completed successfully.\n'
RECAP = '\x1b[32mrelay\x1b[0m ➜ \x1b[33mconverge\x1b[0m: \x1b[32mExecuted: Successful\x1b[0m\n'


@pytest.mark.parametrize('line, expected', [
    (EXECUTING, ('converge', 'start', None)),
    (EXECUTED, ('converge', 'end', 'Successful')),
    (VERIFIER, None),
    ('TASK [Converge the TLS pair] ****\n', None),
])
def test_stage_event(line, expected):
    assert stage_event(line) == expected


def _clock(*ticks):
    return iter(ticks).__next__


def test_every_line_reaches_the_log_and_each_stage_is_timed():
    lines = [EXECUTING, 'TASK [x]\n', EXECUTED, EXECUTING.replace('converge', 'verify'), VERIFIER,
             EXECUTED.replace('converge', 'verify')]
    log = io.StringIO()
    times = time_stages(lines, log, clock=_clock(10.0, 250.4, 251.0, 400.0))
    assert log.getvalue() == ''.join(lines)
    assert times == [('converge', pytest.approx(240.4), 'Successful'), ('verify', pytest.approx(149.0), 'Successful')]
    assert format_times(times) == 'converge 240 s\nverify 149 s\n'


def test_the_recap_at_the_end_adds_no_stage():
    times = time_stages([EXECUTING, EXECUTED, RECAP], io.StringIO(), clock=_clock(0.0, 5.0))
    assert [stage for stage, dummy, dummy in times] == ['converge']


def test_a_stage_that_never_ends_is_the_failed_one():
    times = time_stages([EXECUTING, 'fatal: [relay-client]: FAILED!\n'], io.StringIO(), clock=_clock(0.0, 31.0))
    assert format_times(times) == 'converge 31 s (failed)\n'
