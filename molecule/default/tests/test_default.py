"""Verify the default scenario's hosts."""


def test_systemd_is_pid_1(host):
    assert host.check_output('cat /proc/1/comm') == 'systemd'


def test_check_diff_after_converge_reports_no_change():
    from helpers.molecule import assert_check_diff_reports_no_change
    assert_check_diff_reports_no_change()
