"""SMTP client probe for the Molecule tests, run inside the test containers.

Talks to a Postfix server with Python's smtplib and prints one JSON object:
the EHLO features before and after TLS, the AUTH reply and, when --to is
given, the replies to MAIL, RCPT and DATA.
"""

import argparse
import json
import smtplib
import ssl
import sys


def features(client):
    return dict(client.esmtp_features.items())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--server', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=25)
    parser.add_argument('--tls', choices=['none', 'starttls', 'wrapper'], default='starttls')
    parser.add_argument('--user')
    parser.add_argument('--password')
    parser.add_argument('--mech', default='PLAIN')
    parser.add_argument('--sender', default='')
    parser.add_argument('--to')
    parser.add_argument('--subject', default='smtp-probe')
    args = parser.parse_args()

    # The servers use self-signed certificates.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE

    result = {}
    if args.tls == 'wrapper':
        client = smtplib.SMTP_SSL(args.server, args.port, timeout=30, context=context)
    else:
        client = smtplib.SMTP(args.server, args.port, timeout=30)
    client.ehlo('probe.mailstack.test')
    result['features_before_tls'] = features(client)
    if args.tls == 'starttls':
        code = client.starttls(context=context)[0]
        result['starttls'] = code
        client.ehlo('probe.mailstack.test')
    result['features'] = features(client)
    if args.user:
        # smtplib's auth() with one mechanism: auth_plain, auth_login or auth_cram_md5.
        authobject = {'PLAIN': client.auth_plain, 'LOGIN': client.auth_login, 'CRAM-MD5': client.auth_cram_md5}[args.mech]
        client.user, client.password = args.user, args.password
        try:
            code, text = client.auth(args.mech, authobject, initial_response_ok=True)
        except smtplib.SMTPAuthenticationError as exc:
            code, text = exc.smtp_code, exc.smtp_error
        result['auth'] = [code, text.decode('utf-8', 'replace')]
    if args.to:
        code, text = client.mail(args.sender)
        result['mail'] = [code, text.decode('utf-8', 'replace')]
        code, text = client.rcpt(args.to)
        result['rcpt'] = [code, text.decode('utf-8', 'replace')]
        if code == 250:
            message = 'From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n\r\nTest message from smtp-probe.\r\n' % (args.sender, args.to, args.subject)
            code, text = client.data(message)
            result['data'] = [code, text.decode('utf-8', 'replace')]
    client.quit()
    json.dump(result, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
