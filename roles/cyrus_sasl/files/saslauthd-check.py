# Copyright: mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Ask saslauthd to authenticate one account, as libsasl2 does for smtpd:
# argv: socket login service realm; the password comes on stdin, so it never
# appears on a command line (testsaslauthd only takes it there). Prints the
# daemon's answer ("OK ..." or "NO ...").
import socket
import struct
import sys


def field(value):
    data = value.encode('utf-8')
    return struct.pack('!H', len(data)) + data


def main():
    path, login, service, realm = sys.argv[1:5]
    password = sys.stdin.read()
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(30)
    try:
        client.connect(path)
        client.sendall(field(login) + field(password) + field(service) + field(realm))
        reply = b''
        while True:
            chunk = client.recv(4096)
            if not chunk:
                break
            reply += chunk
    except (OSError, socket.timeout) as exc:
        print('NO cannot talk to saslauthd at %s: %s' % (path, exc))
        return 2
    finally:
        client.close()
    if len(reply) < 2:
        print('NO empty answer from saslauthd at %s' % path)
        return 2
    size = struct.unpack('!H', reply[:2])[0]
    answer = reply[2:2 + size].decode('utf-8', 'replace')
    print(answer)
    return 0 if answer.startswith('OK') else 1


sys.exit(main())
