"""SMTP clients run inside a test container: swaks, the smtplib probe and the scripted dialogue.

Both take a testinfra host (use a `podman://` host: much faster than one
Ansible module run per command). The probe is
molecule/shared/files/smtp_probe.py, which molecule/shared/tasks/smtp-clients.yml
(included by each scenario's prepare) installs as /usr/local/bin/smtp-probe.
"""

import base64
import json
import shlex


def swaks(host, *args):
    """Run swaks with `args`; returns its whole dialog (stdout and stderr)."""
    cmd = host.run('swaks --timeout 30 --hide-informational ' + ' '.join(shlex.quote(a) for a in args))
    return cmd.stdout + cmd.stderr


def smtp_probe(host, *args):
    """Run the smtplib probe with `args`; returns its JSON report as a dict."""
    return json.loads(host.check_output('python3 /usr/local/bin/smtp-probe ' + ' '.join(shlex.quote(a) for a in args)))


def smtp_dialog(host, program):
    """Run the scripted SMTP dialogue (molecule/shared/files/smtp_dialog.py) with `program`; returns its JSON result."""
    return json.loads(host.check_output('python3 /usr/local/bin/smtp-dialog %s' % shlex.quote(json.dumps(program))))


def auth_plain(login, password, authzid=''):
    """The AUTH PLAIN command with its initial response."""
    return 'AUTH PLAIN ' + base64.b64encode(('%s\0%s\0%s' % (authzid, login, password)).encode()).decode()


def rcpt_replies(result):
    """(code, text) of every RCPT step of a smtp_dialog result."""
    return [(entry['code'], entry['text']) for entry in result['steps'] if entry['step'].startswith('RCPT')]
