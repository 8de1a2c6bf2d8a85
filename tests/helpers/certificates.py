"""Certificates on a test host, read with its openssl: a file's, and the one Postfix serves."""


def fingerprint(box, path):
    """The SHA-256 fingerprint of the certificate in `path` on the host."""
    return box.check_output('openssl x509 -in %s -noout -fingerprint -sha256' % path).split('=', 1)[1]


def served_fingerprint(box, port, servername=None):
    """The SHA-256 fingerprint of the certificate Postfix serves on `port` (STARTTLS unless 465), or None.

    With `servername`, the client asks for that name (TLS SNI); without, it
    sends none (the address is an IP address).
    """
    starttls = '' if port == 465 else '-starttls smtp'
    sni = '-servername %s' % servername if servername else ''
    out = box.run('openssl s_client -connect 127.0.0.1:%d %s %s </dev/null 2>/dev/null'
                  ' | openssl x509 -noout -fingerprint -sha256' % (port, starttls, sni))
    return out.stdout.strip().split('=', 1)[1] if out.rc == 0 and '=' in out.stdout else None
