"""SMTP clients run inside a test container: swaks and the smtplib probe.

Both take a testinfra host (use a `podman://` host: much faster than one
Ansible module run per command). The probe is
molecule/shared/files/smtp_probe.py, which molecule/shared/tasks/smtp-clients.yml
(included by each scenario's prepare) installs as /usr/local/bin/smtp-probe.
"""

import json
import shlex


def swaks(host, *args):
    """Run swaks with `args`; returns its whole dialog (stdout and stderr)."""
    cmd = host.run('swaks --timeout 30 --hide-informational ' + ' '.join(shlex.quote(a) for a in args))
    return cmd.stdout + cmd.stderr


def smtp_probe(host, *args):
    """Run the smtplib probe with `args`; returns its JSON report as a dict."""
    return json.loads(host.check_output('python3 /usr/local/bin/smtp-probe ' + ' '.join(shlex.quote(a) for a in args)))
