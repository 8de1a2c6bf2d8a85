"""Drift on the converged saslauthd hosts: the saslauthd settings edited by hand, repaired by the next converge.

Edited on each host, then saslauthd restarted so that the edits are live:
the service's settings (/etc/default/saslauthd), on the Debian 13 hosts the
drop-in of the native unit (another thread count), on saslauthd-ldap the
LDAP settings (peer check off, made world-readable: they hold the bind
password), and on the pam and shadow hosts an unlisted member of the SASL
users group (sasl_users_exclusive is on). ONE converge must put every file
back, run saslauthd with the role's command line again and remove the
unlisted account; AUTH must work, and the run after the repair must change
nothing.

This file runs before test_saslauthd.py (file order), which then checks the
repaired hosts too.
"""

import shlex

import pytest

from helpers.drift import Item, file_state, make_drift
from helpers.molecule import container
from helpers.smtp import smtp_probe

HOSTS = ['saslauthd-debian12', 'saslauthd-debian13', 'saslauthd-ldap']
# Debian 13's sasl2-bin ships a native unit, which the role gives a drop-in.
NATIVE_UNIT = ['saslauthd-debian13', 'saslauthd-ldap']
# sasl_users' system backend (pam, shadow); the LDAP host has no local SASL users.
SYSTEM_USERS = ['saslauthd-debian12', 'saslauthd-debian13']
DEFAULTS = '/etc/default/saslauthd'
DROPIN = '/etc/systemd/system/saslauthd.service.d/mailstack.conf'
LDAP_CONF = '/etc/saslauthd.conf'
GROUP = 'smtpusers'
UNLISTED = 'mallory'
# The test account of each host (molecule.yml: cyrus_sasl_saslauthd_test_user).
LOGINS = {'saslauthd-debian12': ('alice', 'alice-test-password'),
          'saslauthd-debian13': ('bob', 'bob-test-password'),
          'saslauthd-ldap': ('erin', 'erin-test-password')}


def _running(box):
    """The command line of the running saslauthd (its oldest process), None when none runs."""
    out = box.run('pid=$(pgrep -o -x saslauthd) && tr "\\0" " " < /proc/$pid/cmdline')
    return out.stdout.split() if out.rc == 0 else None


def _read_with_daemon(path):
    return lambda box: {'file': file_state(box, path), 'running saslauthd': _running(box)}


def _read_group(box):
    members = box.run('getent group %s' % GROUP).stdout.strip()
    return {'%s exists' % UNLISTED: box.run('getent passwd %s' % UNLISTED).rc == 0,
            '%s members' % GROUP: sorted(filter(None, members.split(':')[-1].split(','))) if members else None}


def _restart_saslauthd(box):
    box.check_output('systemctl daemon-reload && systemctl restart saslauthd')


ITEMS = [
    Item('saslauthd-defaults-file', HOSTS, _read_with_daemon(DEFAULTS),
         lambda box: box.check_output("sed -i 's/^THREADS=.*/THREADS=7/' %s" % DEFAULTS)),
    # A second -n at the end of the command line: saslauthd takes the last one.
    Item('saslauthd-unit-drop-in', NATIVE_UNIT, _read_with_daemon(DROPIN),
         lambda box: box.check_output("sed -i '/^ExecStart=./s/$/ -n 7/' %s" % DROPIN)),
    Item('saslauthd-ldap-config', ['saslauthd-ldap'], _read_with_daemon(LDAP_CONF),
         lambda box: box.check_output("sed -i 's/^ldap_tls_check_peer: yes$/ldap_tls_check_peer: no/' %s && chmod 0644 %s"
                                      % (LDAP_CONF, LDAP_CONF))),
    Item('system-unlisted-user-exclusive', SYSTEM_USERS, _read_group,
         lambda box: box.check_output('useradd -M -N -G %s -s /usr/sbin/nologin %s' % (GROUP, shlex.quote(UNLISTED)))),
]


@pytest.fixture(scope='module')
def drift():
    return make_drift(ITEMS, finish=_restart_saslauthd)


def test_the_converged_state_is_the_wanted_one(drift):
    for name in HOSTS:
        running = drift.before['saslauthd-defaults-file'][name]['running saslauthd']
        assert running and running[running.index('-n') + 1] == '3', running
    ldap = drift.before['saslauthd-ldap-config']['saslauthd-ldap']['file']
    assert (ldap['owner'], ldap['mode']) == ('root:root', '600'), ldap
    for name in SYSTEM_USERS:
        assert drift.before['system-unlisted-user-exclusive'][name]['%s exists' % UNLISTED] is False


@pytest.mark.parametrize('item', [item.name for item in ITEMS])
def test_the_next_converge_repairs_the_drift(drift, item):
    drift.assert_repaired(item)


def test_the_repair_run_did_the_work(drift):
    drift.assert_repair_changed(HOSTS)


def test_the_run_after_the_repair_changes_nothing(drift):
    drift.assert_again_changes_nothing(HOSTS)


@pytest.mark.parametrize('name', HOSTS)
def test_auth_works_after_the_repair(drift, name):
    user, password = LOGINS[name]
    probe = smtp_probe(container(name), '--port', '587', '--tls', 'starttls', '--mech', 'PLAIN',
                       '--user', user, '--password', password)
    assert probe['auth'][0] == 235, probe
