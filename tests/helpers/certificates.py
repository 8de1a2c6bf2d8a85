"""Certificates on a test host, read with its openssl: a file's, and the one Postfix serves."""


def fingerprint(box, path):
    """The SHA-256 fingerprint of the certificate in `path` on the host."""
    return box.check_output('openssl x509 -in %s -noout -fingerprint -sha256' % path).split('=', 1)[1]


def served_fingerprint(box, port):
    """The SHA-256 fingerprint of the certificate Postfix serves on `port` (STARTTLS unless 465), or None."""
    starttls = '' if port == 465 else '-starttls smtp'
    out = box.run('openssl s_client -connect 127.0.0.1:%d %s </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256'
                  % (port, starttls))
    return out.stdout.strip().split('=', 1)[1] if out.rc == 0 and '=' in out.stdout else None
