"""Shared helpers of the security scenario's tests (hosts, SMTP dialogues)."""

import base64
import json
import shlex

from helpers.metrics import by_label

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


# The send limit of the scenario (molecule.yml): recipients per window of seconds.
SEND_LIMIT = 5
SEND_LIMIT_WINDOW = 30


def send_limit_rcpts(server, login, count):
    """Log in as `login`, send as his own address to `count` recipients in one transaction; the RCPT replies."""
    user = login.split('@')[0]
    steps = ['@EHLO', '@STARTTLS', 'AUTH PLAIN ' + plain('', login, PASSWORDS[user]), 'MAIL FROM:<%s@mailstack.test>' % user]
    steps += ['RCPT TO:<r%d@outside.example.net>' % n for n in range(count)] + ['RSET', 'QUIT']
    result = dialog(server, steps)
    assert result['steps'][2]['code'] == 235 and result['steps'][3]['code'] == 250, result
    return [(entry['code'], entry['text']) for entry in result['steps'] if entry['step'].startswith('RCPT')]


def send_limit_refusals(server):
    """{login: mailstack_send_limit_refusals_total} scraped from the metrics role's exporter."""
    return by_label(server, 'mailstack_send_limit_refusals_total', 'login')
