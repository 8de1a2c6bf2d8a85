"""Copy `molecule test` output to its log and time each stage of the scenario.

Usage: molecule test -s S 2>&1 | python3 tests/molecule_stages.py LOG TIMES

Molecule prints "<scenario> ➜ <stage>: Executing" when a stage starts and
"... Executed: Successful" when it ends, without a clock. Each line is
written to LOG as it comes; TIMES gets one line per stage run, in order
("converge 212 s"), and a failed stage ends there with "(failed)".
"""

import re
import sys
import time

ANSI_ESCAPE = re.compile(r'\x1b\[[0-9;]*m')
STAGE_LINE = re.compile(r'➜ (?P<stage>[a-z_]+): (?P<event>Executing$|Executed: (?P<result>\w+))')


def stage_event(line):
    """(stage, 'start' | 'end', result) for a Molecule stage line, else None."""
    match = STAGE_LINE.search(ANSI_ESCAPE.sub('', line).rstrip())
    if match is None:
        return None
    if match['event'] == 'Executing':
        return match['stage'], 'start', None
    return match['stage'], 'end', match['result']


def time_stages(lines, log, clock=time.monotonic):
    """Write each line to `log`; return [(stage, seconds, result)] in order of their end."""
    times, started = [], {}
    for line in lines:
        log.write(line)
        log.flush()
        event = stage_event(line)
        if event is None:
            continue
        stage, kind, result = event
        if kind == 'start':
            started[stage] = clock()
        elif stage in started:
            times.append((stage, clock() - started.pop(stage), result))
    # A stage that started and never ended is the one that failed.
    times.extend((stage, clock() - start, 'failed') for stage, start in started.items())
    return times


def format_times(times):
    return ''.join('%s %d s%s\n' % (stage, round(seconds), '' if result == 'Successful' else ' (%s)' % result)
                   for stage, seconds, result in times)


def main(log_path, times_path):
    with open(log_path, 'w', encoding='utf-8') as log:
        times = time_stages(sys.stdin, log)
    with open(times_path, 'w', encoding='utf-8') as out:
        out.write(format_times(times))


if __name__ == '__main__':
    main(*sys.argv[1:])
