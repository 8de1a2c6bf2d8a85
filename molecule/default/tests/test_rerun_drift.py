"""The lean re-run path still notices drift, and repairs it.

A converged host's re-run skips the install, the service, the group change
and the sasldb tasks when one postfix_info read says they have nothing to do.
Here each of those is undone by hand on both hosts (a package removed,
Postfix stopped and disabled, the Postfix user taken out of the sasldb's
group, the sasldb's mode widened); the next converge must put every one of
them back, AUTH must work again, and the run after it must change nothing.
"""

import pytest

from helpers.molecule import container, run_converge
from helpers.smtp import smtp_probe

HOSTS = ['default-debian12', 'default-debian13']
SASLDB = '/var/spool/postfix/etc/sasldb2'
PACKAGE = 'db-util'  # one of the cyrus_sasl role's packages that nothing else depends on
PASSWORD = 'bob-test-password'


def _box(name):
    return container(name)


def _state(box):
    return {
        'package': box.run("dpkg-query --show --showformat='${db:Status-Status}' " + PACKAGE).stdout,
        'active': box.run('systemctl is-active postfix').stdout.strip(),
        'enabled': box.run('systemctl is-enabled postfix').stdout.strip(),
        'postfix in sasl': 'sasl' in box.check_output('id -Gn postfix').split(),
        'sasldb': box.check_output('stat -c %%a:%%U:%%G %s' % SASLDB),
    }


@pytest.fixture(scope='module')
def drift():
    """Undo by hand what the re-run path skips on a converged host; then converge twice."""
    before = {name: _state(_box(name)) for name in HOSTS}
    for name in HOSTS:
        box = _box(name)
        box.check_output('DEBIAN_FRONTEND=noninteractive apt-get remove -y -q %s' % PACKAGE)
        box.check_output('systemctl disable --now postfix')
        box.check_output('gpasswd -d postfix sasl')
        box.check_output('chmod 0666 %s' % SASLDB)
    drifted = {name: _state(_box(name)) for name in HOSTS}
    repair = run_converge()
    again = run_converge()
    return dict(before=before, drifted=drifted, repair=repair, again=again,
                after={name: _state(_box(name)) for name in HOSTS})


def test_the_drift_was_made(drift):
    for name in HOSTS:
        assert drift['before'][name] == {'package': 'installed', 'active': 'active', 'enabled': 'enabled',
                                         'postfix in sasl': True, 'sasldb': '640:root:sasl'}
        drifted = dict(drift['drifted'][name])
        assert drifted.pop('package') != 'installed', drift['drifted'][name]
        assert drifted == {'active': 'inactive', 'enabled': 'disabled', 'postfix in sasl': False,
                           'sasldb': '666:root:sasl'}, drift['drifted'][name]


def test_the_next_converge_repairs_every_drift(drift):
    recap, output = drift['repair']
    for name in HOSTS:
        assert recap[name]['failed'] == 0 and recap[name]['unreachable'] == 0, output[-4000:]
        assert recap[name]['changed'] >= 4, output[-6000:]
        assert drift['after'][name] == drift['before'][name]


def test_the_run_after_the_repair_changes_nothing(drift):
    recap, output = drift['again']
    for name in HOSTS:
        assert recap[name]['changed'] == 0 and recap[name]['failed'] == 0, output[-6000:]


@pytest.mark.parametrize('name', HOSTS)
def test_auth_works_after_the_repair(drift, name):
    probe = smtp_probe(_box(name), '--port', '587', '--tls', 'starttls', '--mech', 'PLAIN',
                       '--user', 'bob@other.test', '--password', PASSWORD)
    assert probe['auth'][0] == 235, probe
