"""Drift on the converged security-server: the sender login map edited by hand, repaired by the next converge.

The map that sasl_users generates (who may send as which address) is
changed so that alice owns bob's address, its index rebuilt from the edit
(so the drift is live: alice may then send as bob) and the source made
world-writable. ONE converge must put the map back (content, owner, mode,
what the index answers) and refuse alice as bob again; AUTH must work, and
the run after the repair must change nothing.

The dialogues run inside security-server against 127.0.0.1 (exempt from
anvil's AUTH rate).
"""

import pytest

from helpers.drift import Item, file_state, index_files, make_drift, table_dump
from helpers.smtp import rcpt_replies
from security_helpers import PASSWORDS, SERVER, dialog, good_auth_from_server, plain

MAP = 'hash:/etc/postfix/sender_login'
SOURCE = MAP.split(':', 1)[1]
RCPT = 'someone@outside.example.net'


def _alice_as_bob(box):
    """The RCPT reply code when alice, logged in, sends as bob@mailstack.test (553: refused, 250: accepted)."""
    steps = ['@EHLO', '@STARTTLS', 'AUTH PLAIN ' + plain('', 'alice', PASSWORDS['alice']),
             'MAIL FROM:<bob@mailstack.test>', 'RCPT TO:<%s>' % RCPT, 'RSET', 'QUIT']
    result = dialog(box, steps)
    assert result['steps'][2]['code'] == 235, result
    return rcpt_replies(result)[0][0]


def _read_map(box):
    return {'source': file_state(box, SOURCE),
            'index files': {path: {k: v for k, v in (file_state(box, path) or {}).items() if k != 'sha256'}
                            for path in index_files(MAP)},
            'entries': table_dump(box, MAP),
            'alice sending as bob@mailstack.test': _alice_as_bob(box)}


def _edit_map(box):
    box.check_output("sed -i 's/^bob@mailstack\\.test[[:space:]].*/bob@mailstack.test alice@mailstack.test, alice/' %s"
                     " && postmap %s && chmod 0666 %s" % (SOURCE, MAP, SOURCE))


ITEMS = [
    Item('sender-login-map', [SERVER], _read_map, _edit_map),
]


@pytest.fixture(scope='module')
def drift():
    return make_drift(ITEMS)


def test_the_converged_map_refuses_alice_as_bob(drift):
    state = drift.before['sender-login-map'][SERVER]
    assert state['alice sending as bob@mailstack.test'] == 553, state
    assert (state['source']['owner'], state['source']['mode']) == ('root:root', '644'), state


@pytest.mark.parametrize('item', [item.name for item in ITEMS])
def test_the_next_converge_repairs_the_drift(drift, item):
    drift.assert_repaired(item)


def test_the_repair_run_did_the_work(drift):
    drift.assert_repair_changed([SERVER])


def test_the_run_after_the_repair_changes_nothing(drift):
    drift.assert_again_changes_nothing([SERVER])


def test_auth_works_after_the_repair(drift, server):
    assert good_auth_from_server(server) == 235
    assert good_auth_from_server(server, 'bob') == 235
