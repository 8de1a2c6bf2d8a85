"""bench/fleet_converge.py without containers: reading the PLAY RECAP and summing it up per host."""

import argparse
import importlib.util
import os
import shutil
import subprocess

import pytest
import yaml

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'bench',
                     'fleet_converge.py')
_spec = importlib.util.spec_from_file_location('fleet_converge', BENCH)
fleet_converge = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fleet_converge)

OUTPUT = '''
TASK [mailstack.sasl_postfix.sasl_users : Provision the SASL users] ************
ok: [fleet-1a2b3c-2-01]
ok: [fleet-1a2b3c-2-02]

PLAY RECAP *********************************************************************
fleet-1a2b3c-2-01          : ok=59   changed=0    unreachable=0    failed=0    skipped=46   rescued=0    ignored=0
fleet-1a2b3c-2-02          : ok=58   changed=1    unreachable=0    failed=1    skipped=45   rescued=0    ignored=0
'''


def test_recap_is_read_per_host():
    recap = fleet_converge.parse_recap(OUTPUT)
    assert recap == {
        'fleet-1a2b3c-2-01': {'ok': 59, 'changed': 0, 'unreachable': 0, 'failed': 0, 'skipped': 46},
        'fleet-1a2b3c-2-02': {'ok': 58, 'changed': 1, 'unreachable': 0, 'failed': 1, 'skipped': 45},
    }


def test_tasks_run_are_ok_changed_and_failed():
    recap = fleet_converge.parse_recap(OUTPUT)
    assert [fleet_converge.tasks_run(recap[host]) for host in sorted(recap)] == [59, 60]


def test_per_host_is_one_number_when_the_hosts_agree_else_the_range():
    recap = fleet_converge.parse_recap(OUTPUT)
    assert fleet_converge.per_host(recap, lambda counts: counts['unreachable']) == '0'
    assert fleet_converge.per_host(recap, fleet_converge.tasks_run) == '59-60'
    assert fleet_converge.per_host({}, fleet_converge.tasks_run) == '-'


def test_controller_cpu_is_spread_over_every_task_of_every_host():
    recap = fleet_converge.parse_recap(OUTPUT)
    assert fleet_converge.cpu_per_task(21.0, recap) == pytest.approx(21.0 / (105 + 105))
    assert fleet_converge.cpu_per_task(1.0, {}) == 0.0


@pytest.mark.parametrize('text, sizes', [('1,10', [1, 10]), ('10,1,10', [1, 10]), ('5', [5])])
def test_sizes(text, sizes):
    assert fleet_converge._sizes(text) == sizes  # pylint: disable=protected-access


@pytest.mark.parametrize('text', ['0', '1,31', ''])
def test_sizes_out_of_range_are_refused(text):
    with pytest.raises(argparse.ArgumentTypeError, match='sizes from 1 to 30'):
        fleet_converge._sizes(text)  # pylint: disable=protected-access


def test_server_vars_have_two_users_with_fresh_passwords_and_both_submission_services():
    first, second = fleet_converge.server_vars(), fleet_converge.server_vars()
    assert [user['name'] for user in first['sasl_users_list']] == ['alice', 'bob']
    assert first['sasl_users_list'][0]['password'] != second['sasl_users_list'][0]['password']
    assert first['postfix_submission_enabled'] and first['postfix_submissions_enabled']


def test_cgroup_cpu_seconds_reads_cgroup_v2(tmp_path):
    scope = tmp_path / 'machine.slice' / 'libpod-abc.scope'
    scope.mkdir(parents=True)
    (scope / 'cpu.stat').write_text('usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n')
    assert fleet_converge.cgroup_cpu_seconds('/machine.slice/libpod-abc.scope', root=str(tmp_path)) == 2.5


def test_cgroup_cpu_seconds_reads_cgroup_v1_cpuacct(tmp_path):
    group = tmp_path / 'cpuacct' / 'libpod_parent' / 'libpod-abc'
    group.mkdir(parents=True)
    (group / 'cpuacct.usage').write_text('1500000000\n')
    assert fleet_converge.cgroup_cpu_seconds('/libpod_parent/libpod-abc', root=str(tmp_path)) == 1.5


def test_cgroup_cpu_seconds_is_none_without_a_cgroup(tmp_path):
    assert fleet_converge.cgroup_cpu_seconds('/libpod_parent/gone', root=str(tmp_path)) is None


def test_ping_playbook_has_the_asked_number_of_ping_tasks_and_no_facts(tmp_path):
    fleet = fleet_converge.Fleet(str(tmp_path))
    try:
        with open(fleet.ping_playbook(3), encoding='utf-8') as handle:
            plays = yaml.safe_load(handle)
    finally:
        shutil.rmtree(fleet.tmp)
    assert len(plays) == 1 and plays[0]['gather_facts'] is False and plays[0]['hosts'] == 'all'
    assert [list(task) for task in plays[0]['tasks']] == [['name', 'ansible.builtin.ping']] * 3


def test_module_runs_spread_over_the_hosts():
    assert fleet_converge.spread([7, 7, 7]) == '7'
    assert fleet_converge.spread([9, 7, 8]) == '7-9'
    assert fleet_converge.spread([]) == '-'


def test_the_counting_wrapper_logs_a_line_and_runs_python(tmp_path):
    wrapper = tmp_path / 'python3-counted'
    log = tmp_path / 'runs'
    wrapper.write_text(fleet_converge.COUNTING_WRAPPER.replace(fleet_converge.MODULE_RUNS_LOG, str(log)))
    wrapper.chmod(0o755)
    for dummy in range(2):
        assert subprocess.run([str(wrapper), '-c', 'print(6 * 7)'], capture_output=True, text=True,
                              check=True).stdout == '42\n'
    assert log.read_text().splitlines() == ['run', 'run']
