"""Drift on the converged relay client: its client tables edited by hand, repaired by the next converge.

Each SMTP client table (smtp_sasl_password_maps: one login per relayhost and
per sender; sender_dependent_relayhost_maps) gets an entry nobody asked for,
its index is rebuilt from the edit (so the drift is live), and the table and
its index are made world-readable. One converge of relay-client must put
each table back as it was (content, owner, mode, what the index answers),
mail must again go through relay-server with AUTH, and the run after the
repair must change nothing.

This file runs after test_relay.py (file order), whose tests need the hosts
as converged.
"""

import shlex
import uuid

import pytest

from helpers.drift import Item, file_state, index_files, make_drift, table_dump, tables
from helpers.molecule import container, wait_until

CLIENT = 'relay-client'
SERVER = 'relay-server'
SENDER = 'root@relay-client.mailstack.test'
RECIPIENT = 'alice@relay-server'
MAILBOX = '/var/mail/alice'
# Upper bound for a message to cross (as in test_relay.py).
WAIT = 120


def _table(box, parameter):
    """The one table of `parameter` that converge writes (the OAuth2 token table is the refresher's)."""
    found = [table for table in tables(box, parameter) if not table.endswith('/oauth2_tokens')]
    assert len(found) == 1, '%s names %r, not one table' % (parameter, found)
    return found[0]


def _table_reader(parameter):
    """The table's source file, its index files (owner and mode) and what the index answers (keys and a checksum)."""
    def read(box):
        table = _table(box, parameter)
        return {'source': file_state(box, table.split(':', 1)[1]),
                'index files': {path: {k: v for k, v in (file_state(box, path) or {}).items() if k != 'sha256'}
                                for path in index_files(table)},
                'entries': table_dump(box, table, secret=True)}
    return read


def _table_editor(parameter, line):
    """Add `line` to the table's source, rebuild its index, make both world-readable."""
    def edit(box):
        table = _table(box, parameter)
        source = table.split(':', 1)[1]
        box.check_output("printf '%%s\\n' %s >> %s && postmap %s && chmod 0644 %s %s"
                         % (shlex.quote(line), source, shlex.quote(table), source, ' '.join(index_files(table))))
    return edit


ITEMS = [
    Item('relay-table-sasl_passwd', [CLIENT], _table_reader('smtp_sasl_password_maps'),
         _table_editor('smtp_sasl_password_maps', '[drift.example.net]:587 mallory:drift-test-password')),
    Item('relay-table-sender_relayhost', [CLIENT], _table_reader('sender_dependent_relayhost_maps'),
         _table_editor('sender_dependent_relayhost_maps', 'mallory@relay-client.mailstack.test [drift.example.net]:25')),
]


@pytest.fixture(scope='module')
def drift():
    return make_drift(ITEMS, '--limit', CLIENT)


def test_the_converged_table_is_private(drift):
    state = drift.before['relay-table-sasl_passwd'][CLIENT]
    assert (state['source']['owner'], state['source']['mode']) == ('root:root', '600'), state
    for path, index in state['index files'].items():
        assert (index['owner'], index['mode']) == ('root:root', '600'), (path, index)


@pytest.mark.parametrize('item', [item.name for item in ITEMS])
def test_the_next_converge_repairs_the_drift(drift, item):
    drift.assert_repaired(item)


def test_the_repair_run_did_the_work(drift):
    drift.assert_repair_changed([CLIENT])


def test_the_run_after_the_repair_changes_nothing(drift):
    drift.assert_again_changes_nothing([CLIENT])


def _message_with(server, token):
    """The message in alice's mailbox on relay-server holding token ('' when none)."""
    return ''.join(message for message in server.run('cat %s' % MAILBOX).stdout.split('\nFrom ') if token in message)


def test_mail_goes_through_the_relay_with_auth_after_the_repair(drift):
    client, server = container(CLIENT), container(SERVER)
    token = uuid.uuid4().hex
    message = 'Subject: drift test %s\nFrom: %s\nTo: %s\n\nbody %s\n' % (token, SENDER, RECIPIENT, token)
    client.check_output('printf %%s %s | /usr/sbin/sendmail -i -f %s %s' % (shlex.quote(message), SENDER, RECIPIENT))
    received = wait_until('the message %s in %s on %s (value: the message)' % (token, MAILBOX, SERVER),
                          lambda: _message_with(server, token), WAIT,
                          diagnose=lambda: client.run('postqueue -p').stdout)
    # ESMTPSA: relay-server received it over TLS (S) from an authenticated client (A).
    assert 'by relay-server.mailstack.test (Postfix) with ESMTPSA id' in received, received
