"""Shared helpers of the security scenario's tests (hosts, SMTP dialogues)."""

import base64
import json
import shlex

SERVER = 'security-server'
OUTSIDE = 'security-outside'
PASSWORDS = {'alice': 'Alice-Secret-7f3c9e1a', 'bob': 'Bob-Secret-2b8d4f60',
             'carol': 'Carol-Secret-51e0a9d2', 'dave': 'Dave-Secret-93c4b7f1'}
# sasl_users_list of molecule.yml, for runs that pass the list again.
USERS = [
    {'name': 'alice', 'password': PASSWORDS['alice'], 'aliases': ['alice@%s.mailstack.test' % SERVER, 'sales@mailstack.test']},
    {'name': 'bob', 'password': PASSWORDS['bob'], 'aliases': ['bob@%s.mailstack.test' % SERVER]},
    {'name': 'carol', 'password': PASSWORDS['carol']},
    {'name': 'dave', 'password': PASSWORDS['dave']},
]


def plain(authzid, authcid, password):
    """The AUTH PLAIN initial response."""
    return base64.b64encode(('%s\0%s\0%s' % (authzid, authcid, password)).encode()).decode()


def dialog(client, steps, server='127.0.0.1', port=587, tls='none'):
    """Run smtp-dialog (molecule/security/files/smtp_dialog.py) on `client`; return its JSON result."""
    return dialogs(client, [{'server': server, 'port': port, 'tls': tls, 'steps': steps}])[0]


def dialogs(client, programs):
    """Run several smtp-dialog programs in one `podman exec`; return their results in order."""
    return json.loads(client.check_output('python3 /usr/local/bin/smtp-dialog %s' % shlex.quote(json.dumps(programs))))


def good_auth_from_server(server, user='alice'):
    """AUTH PLAIN with a good password on 587 from inside the server (127.0.0.1: exempt from anvil)."""
    result = dialog(server, ['@EHLO', '@STARTTLS', 'AUTH PLAIN ' + plain('', user, PASSWORDS[user]), 'QUIT'])
    return result['steps'][2]['code']
