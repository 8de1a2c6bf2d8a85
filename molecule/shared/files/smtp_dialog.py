"""Scripted SMTP dialogue for the security scenario, run inside the test containers.

Usage: smtp-dialog '{"server": "security-server", "port": 587, "tls": "none",
                     "steps": ["@EHLO", "@STARTTLS", "AUTH PLAIN AGFsaWNlAHg=", "QUIT"]}'

Each step is either a raw command line sent as is (so malformed input reaches
the server unchanged) or one of:
  @EHLO      EHLO, records the advertised extensions
  @STARTTLS  STARTTLS, the TLS handshake (no certificate check: the server is
             self-signed), then EHLO again
  @DATA text DATA, then the message `text` (header, blank line, body; line
             ends as \n), ended with a dot: the reply is the one to the dot,
             or the one to DATA when DATA is refused

Prints one JSON object: the greeting and, per step, the reply code and text.
A dropped connection is recorded as code -1 and ends the dialogue. Given a
JSON list of such programs, runs them one after the other and prints the
list of results.
"""

import json
import smtplib
import socket
import ssl
import sys


def _context():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _text(message):
    return message.decode('utf-8', 'replace') if isinstance(message, bytes) else str(message)


def run(program):
    timeout = program.get('timeout', 30)
    result = {'steps': []}
    if program.get('tls') == 'wrapper':
        client = smtplib.SMTP_SSL(timeout=timeout, context=_context())
        # SMTP_SSL wraps the socket with the host given to its constructor (Python 3.13
        # refuses the empty one); connect() below gets it, so the greeting is recorded.
        client._host = program.get('server', '127.0.0.1')  # pylint: disable=protected-access
    else:
        client = smtplib.SMTP(timeout=timeout)
    code, message = client.connect(program.get('server', '127.0.0.1'), program.get('port', 25))
    result['greeting'] = [code, _text(message)]
    for step in program['steps']:
        entry = {'step': step if len(step) < 200 else step[:200] + '...(%d chars)' % len(step)}
        try:
            if step == '@EHLO':
                code, message = client.ehlo(program.get('helo', 'attacker.example.net'))
                entry['features'] = dict(client.esmtp_features)
            elif step == '@STARTTLS':
                code, message = client.docmd('STARTTLS')
                if code == 220:
                    client.sock = _context().wrap_socket(client.sock, server_hostname=None)
                    client.file = None
                    client.helo_resp = client.ehlo_resp = None
                    client.esmtp_features = {}
                    client.does_esmtp = False
                    ehlo_code = client.ehlo(program.get('helo', 'attacker.example.net'))[0]
                    entry['ehlo_after_tls'] = ehlo_code
                    entry['features'] = dict(client.esmtp_features)
            elif step.startswith('@DATA '):
                try:
                    code, message = client.data(step[len('@DATA '):])
                except smtplib.SMTPDataError as refused:  # DATA itself refused: its reply
                    code, message = refused.smtp_code, refused.smtp_error
            else:
                client.putcmd(step)
                code, message = client.getreply()
        except (smtplib.SMTPServerDisconnected, ConnectionError, socket.timeout, ssl.SSLError) as exc:
            entry.update(code=-1, text='%s: %s' % (type(exc).__name__, exc))
            result['steps'].append(entry)
            break
        entry.update(code=code, text=_text(message))
        result['steps'].append(entry)
    try:
        client.close()
    except OSError:
        pass
    return result


def main():
    program = json.loads(sys.argv[1])
    print(json.dumps([run(p) for p in program] if isinstance(program, list) else run(program)))


if __name__ == '__main__':
    main()
