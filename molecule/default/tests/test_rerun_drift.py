"""Drift on the converged submission servers: hand edits that the next converge must repair.

Every file and state the roles manage on these hosts (issue 21's list) is
edited by hand, all at once: main.cf (a parameter added, mynetworks widened),
master.cf, smtpd.conf, the header_checks table of the submission services
(default-debian12, Postfix 3.7), the aliases and their index, the TLS key's mode, the
TLS directory, a replaced certificate, the sasldb's mode and link, an
unlisted sasldb user (sasl_users_exclusive is on), Postfix's group
membership, a removed package and Postfix stopped. Then ONE converge: each
item's test checks that its edit had changed the state and that the state
is back as it was before the edit (a replaced certificate comes back as the
role's own: for its key, names and mode, served by Postfix). AUTH works
again, the unlisted user is refused, and the run after the repair changes
nothing.

The self-signed pair exists on default-debian12 only (default-debian13
serves a given certificate through the renewal hook). The aliases file is
edited (and its index rebuilt from the edit, so the drift is live) on
default-debian12; the index alone is removed on default-debian13, which
leaves the aliases file as it is.
"""

import datetime
import shlex

import pytest

from helpers.drift import Item, file_state, index_files, make_drift, package_state, service_state, table_dump, tables
from helpers.molecule import container, wait_until
from helpers.smtp import smtp_probe
from helpers.certificates import fingerprint, served_fingerprint

HOSTS = ['default-debian12', 'default-debian13']
SELFSIGNED = ['default-debian12']
MAIN_CF = '/etc/postfix/main.cf'
MASTER_CF = '/etc/postfix/master.cf'
SMTPD_CONF = '/etc/postfix/sasl/smtpd.conf'
SUBMISSION_HEADER_CHECKS = '/etc/postfix/submission_header_checks'
ALIASES = '/etc/aliases'
TLS_DIR = '/etc/postfix/tls'
KEY = TLS_DIR + '/smtpd-selfsigned.key'
CERT = TLS_DIR + '/smtpd-selfsigned.crt'
SASLDB = '/var/spool/postfix/etc/sasldb2'
SASLDB_LINK = '/etc/sasldb2'
PACKAGE = 'libsasl2-modules'  # the PLAIN and LOGIN plugins (cyrus_sasl role); sasl2-bin, which the readers use, does not need it
PASSWORD = 'bob-test-password'
UNLISTED, UNLISTED_PASSWORD = 'mallory', 'drift-test-password'
OUTSIDER = 'drift-copy@example.net'


def _without(state, *keys):
    return None if state is None else {k: v for k, v in state.items() if k not in keys}


# --- main.cf, master.cf, smtpd.conf ------------------------------------------------------

def _read_always_bcc(box):
    return {'main.cf': file_state(box, MAIN_CF), 'postconf -n always_bcc': box.run('postconf -n always_bcc').stdout.strip()}


def _read_mynetworks(box):
    return {'main.cf': file_state(box, MAIN_CF), 'mynetworks': box.check_output('postconf -h mynetworks')}


def _read_master_cf(box):
    return {'master.cf': file_state(box, MASTER_CF),
            'submission TLS level': box.check_output('postconf -P submission/inet/smtpd_tls_security_level').split(' = ', 1)[-1]}


# --- the aliases and their index ---------------------------------------------------------

def _alias_tables(box):
    # The indexed alias maps the role names (alias_database); their type says which index file postalias makes.
    found = tables(box, 'alias_database')
    assert found, 'alias_database is empty: no alias index to check'
    return found


def _alias_answers(box):
    """What each alias index answers ({table: entries}); None for a table whose index file is missing."""
    return {table: table_dump(box, table, command='postalias')
            if all(file_state(box, path) for path in index_files(table)) else None
            for table in _alias_tables(box)}


def _read_aliases(box):
    return {'aliases': file_state(box, ALIASES), 'index answers': _alias_answers(box)}


def _read_alias_index(box):
    # An index made again holds the same entries, not always the same bytes: its owner and mode, and what it answers.
    return {'index files': {path: _without(file_state(box, path), 'sha256')
                            for table in _alias_tables(box) for path in index_files(table)},
            'index answers': _alias_answers(box)}


def _remove_alias_index(box):
    paths = [path for table in _alias_tables(box) for path in index_files(table)]
    box.check_output('rm -f %s' % ' '.join(shlex.quote(path) for path in paths))


# --- TLS: the self-signed pair -------------------------------------------------------------

def _days(box, path):
    """The certificate's lifetime in days (notAfter - notBefore)."""
    dates = dict(line.split('=', 1) for line in box.check_output('openssl x509 -in %s -noout -startdate -enddate' % path).splitlines())
    parsed = {key: datetime.datetime.strptime(value.strip(), '%b %d %H:%M:%S %Y %Z') for key, value in dates.items()}
    return (parsed['notAfter'] - parsed['notBefore']).days


def _read_cert(box):
    """What matters of the certificate: for the key file, its names, lifetime, owner and mode (and its fingerprint)."""
    san = box.run('openssl x509 -in %s -noout -ext subjectAltName' % CERT).stdout.splitlines()[1:]
    return {
        'for the key file': box.check_output('openssl x509 -in %s -noout -pubkey' % CERT)
        == box.check_output('openssl pkey -in %s -pubout' % KEY),
        'subject': box.check_output('openssl x509 -in %s -noout -subject -nameopt RFC2253' % CERT).split('=', 1)[1].strip(),
        'subject alt names': sorted(name.strip() for name in ','.join(san).split(',') if name.strip()),
        'days': _days(box, CERT),
        'file': _without(file_state(box, CERT), 'sha256'),
        'fingerprint': fingerprint(box, CERT),
    }


def _replace_cert(box):
    """A different self-signed certificate (its own key, another name) written over the role's, mode and owner kept."""
    box.check_output(
        'd=$(mktemp -d) && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30'
        ' -subj /CN=drift.example.net -keyout "$d/key" -out "$d/crt" 2>/dev/null'
        ' && cat "$d/crt" > %s && rm -rf "$d"' % CERT)


def _check_cert(box, before, after):
    """The role may issue a new certificate rather than restore the old bytes: what matters must be as before."""
    name = box.backend.get_hostname()
    assert after['for the key file'], 'the certificate is not for the key file %s' % KEY
    assert after['subject'] == 'CN=%s.mailstack.test' % name, after['subject']
    assert after['subject alt names'] == ['DNS:%s.mailstack.test' % name], after['subject alt names']
    assert after['file'] == {'type': 'regular file', 'owner': 'root:root', 'mode': '644'}, after['file']
    assert _without(after, 'fingerprint') == _without(before, 'fingerprint'), 'not as before (fingerprint aside)'
    wait_until('Postfix to serve %s on 587 and 465 (value: port -> fingerprint served)' % CERT,
               lambda: {port: served_fingerprint(box, port) for port in (587, 465)}, 60, interval=2,
               until=lambda served: set(served.values()) == {after['fingerprint']})


# --- the sasldb ----------------------------------------------------------------------------

def _sasldb_users(box):
    return sorted(line.split(':')[0] for line in box.check_output('sasldblistusers2 -f %s' % SASLDB).splitlines())


def _add_unlisted_user(box):
    # saslpasswd2 -p reads the password from stdin: it never is on a command line.
    box.check_output('printf %%s %s | saslpasswd2 -p -c -f %s -u mailstack.test %s' % (UNLISTED_PASSWORD, SASLDB, UNLISTED))


# --- the list: (id, hosts, read, edit[, check]); edits are made in this order ---------------

ITEMS = [
    Item('main.cf-parameter-added', HOSTS, _read_always_bcc,
         lambda box: box.check_output('postconf -e always_bcc=%s' % OUTSIDER)),
    Item('main.cf-mynetworks-widened', HOSTS, _read_mynetworks,
         lambda box: box.check_output("postconf -e 'mynetworks=0.0.0.0/0'")),
    Item('master.cf', HOSTS, _read_master_cf,
         lambda box: box.check_output("postconf -P 'submission/inet/smtpd_tls_security_level=may'")),
    Item('smtpd.conf', HOSTS, lambda box: file_state(box, SMTPD_CONF),
         lambda box: box.check_output("sed -i 's/^mech_list:.*/& ANONYMOUS/' %s" % SMTPD_CONF)),
    Item('aliases', ['default-debian12'], _read_aliases,
         lambda box: box.check_output("printf 'root: %s\\n' >> %s && newaliases" % (OUTSIDER, ALIASES))),
    Item('aliases-index', ['default-debian13'], _read_alias_index, _remove_alias_index),
    Item('tls-key-mode', SELFSIGNED, lambda box: file_state(box, KEY),
         lambda box: box.check_output('chmod 0644 %s' % KEY)),
    # The header_checks table that hides the client on 587 and 465 (Postfix 3.7 only: 3.10 needs none).
    Item('submission-header-checks-emptied', ['default-debian12'], lambda box: file_state(box, SUBMISSION_HEADER_CHECKS),
         lambda box: box.check_output(': > %s && chmod 0600 %s' % (SUBMISSION_HEADER_CHECKS, SUBMISSION_HEADER_CHECKS))),
    Item('tls-directory', HOSTS, lambda box: file_state(box, TLS_DIR),
         lambda box: box.check_output('chown nobody:nogroup %s && chmod 0777 %s' % (TLS_DIR, TLS_DIR))),
    Item('tls-certificate-replaced', SELFSIGNED, _read_cert, _replace_cert, check=_check_cert),
    Item('sasldb-unlisted-user-exclusive', HOSTS, _sasldb_users, _add_unlisted_user),
    # The sasldb's content changes with its users: its owner, group and mode here.
    Item('sasldb-mode', HOSTS, lambda box: _without(file_state(box, SASLDB), 'sha256'),
         lambda box: box.check_output('chmod 0666 %s' % SASLDB)),
    Item('sasldb-link', HOSTS, lambda box: file_state(box, SASLDB_LINK),
         lambda box: box.check_output('ln -sfn %s.drift %s' % (SASLDB_LINK, SASLDB_LINK))),
    Item('group-membership', HOSTS, lambda box: sorted(box.check_output('id -Gn postfix').split()),
         lambda box: box.check_output('gpasswd -d postfix sasl')),
    Item('package-removed', HOSTS, lambda box: package_state(box, PACKAGE),
         lambda box: box.check_output('DEBIAN_FRONTEND=noninteractive apt-get remove -y -q %s' % PACKAGE)),
    Item('postfix-stopped', HOSTS, lambda box: service_state(box, 'postfix'),
         lambda box: box.check_output('systemctl disable --now postfix')),
]


@pytest.fixture(scope='module')
def drift():
    """All the edits on both hosts, one converge, and one more."""
    return make_drift(ITEMS)


def test_the_converged_state_is_the_wanted_one(drift):
    """The states read before the edits are the roles' (so that 'as before' means 'as the roles want')."""
    for name in HOSTS:
        assert drift.before['sasldb-mode'][name] == {'type': 'regular file', 'owner': 'root:sasl', 'mode': '640'}
        assert drift.before['sasldb-link'][name] == {'type': 'symbolic link', 'owner': 'root:root', 'mode': '777',
                                                     'target': SASLDB}
        assert drift.before['sasldb-unlisted-user-exclusive'][name] == \
            ['alice-laptop@mailstack.test', 'alice-phone@mailstack.test', 'alice@mailstack.test', 'bob@other.test']
        assert 'sasl' in drift.before['group-membership'][name]
        assert drift.before['package-removed'][name] == 'installed'
        assert drift.before['postfix-stopped'][name] == {'active': 'active', 'enabled': 'enabled'}
        assert drift.before['main.cf-parameter-added'][name]['postconf -n always_bcc'] == ''
        assert sorted(drift.before['main.cf-mynetworks-widened'][name]['mynetworks'].replace(',', ' ').split()) == \
            ['127.0.0.0/8', '[::1]/128']
        assert drift.before['master.cf'][name]['submission TLS level'] == 'encrypt'
        assert drift.before['tls-directory'][name] == {'type': 'directory', 'owner': 'root:root', 'mode': '755'}
    assert _without(drift.before['submission-header-checks-emptied']['default-debian12'], 'sha256') == \
        {'type': 'regular file', 'owner': 'root:root', 'mode': '644'}
    for name in SELFSIGNED:
        assert _without(drift.before['tls-key-mode'][name], 'sha256') == \
            {'type': 'regular file', 'owner': 'root:root', 'mode': '600'}
        assert drift.before['tls-certificate-replaced'][name]['for the key file'] is True


@pytest.mark.parametrize('item', [item.name for item in ITEMS])
def test_the_next_converge_repairs_the_drift(drift, item):
    drift.assert_repaired(item)


def test_the_repair_run_did_the_work(drift):
    # At least the package, the group, the sasldb and the service on each host.
    drift.assert_repair_changed(HOSTS, at_least=4)


def test_the_run_after_the_repair_changes_nothing(drift):
    drift.assert_again_changes_nothing(HOSTS)


@pytest.mark.parametrize('name', HOSTS)
def test_auth_works_after_the_repair_and_the_unlisted_user_is_refused(drift, name):
    box = container(name)
    probe = smtp_probe(box, '--port', '587', '--tls', 'starttls', '--mech', 'PLAIN',
                       '--user', 'bob@other.test', '--password', PASSWORD)
    assert probe['auth'][0] == 235, probe
    probe = smtp_probe(box, '--port', '465', '--tls', 'wrapper', '--mech', 'PLAIN',
                       '--user', UNLISTED + '@mailstack.test', '--password', UNLISTED_PASSWORD)
    assert probe['auth'][0] == 535, probe
