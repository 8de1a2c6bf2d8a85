"""Authenticate against a sasldb with the real libsasl2, the way Postfix smtpd does.

Each check runs in a fresh Python process (libsasl2's server side can be
initialised once per process): `authenticate(path, login, password, mech)`
feeds the request on stdin to this file run as a script, which
  * initialises libsasl2 with an application config (GETOPT callback) of
    pwcheck_method=auxprop, auxprop_plugin=sasldb, sasldb_path=<path>,
  * opens a server connection for service "smtp" with no user realm (as smtpd
    does with an empty smtpd_sasl_local_domain), so "user@realm" logins are
    split by libsasl2's own canonicalisation,
  * runs the mechanism: PLAIN (one step) or CRAM-MD5 (challenge, HMAC-MD5
    response computed here, which only succeeds if the stored secret is the
    plain password), and prints the libsasl2 result code as JSON.
"""

import ctypes
import ctypes.util
import hashlib
import hmac
import json
import subprocess
import sys

SASL_OK = 0
SASL_CONTINUE = 1
SASL_CB_LIST_END = 0
SASL_CB_GETOPT = 1


def authenticate(path, login, password, mech='PLAIN'):
    """Return libsasl2's result code (0 = SASL_OK) for `login`/`password` against the sasldb at `path`."""
    request = json.dumps({'path': path, 'login': login, 'password': password, 'mech': mech})
    proc = subprocess.run([sys.executable, __file__], input=request, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise AssertionError('sasl check failed to run: %s' % proc.stderr)
    return json.loads(proc.stdout)['result']


class _Callback(ctypes.Structure):
    _fields_ = [('id', ctypes.c_ulong), ('proc', ctypes.c_void_p), ('context', ctypes.c_void_p)]


_GETOPT = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                           ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_uint))


def _main():
    request = json.loads(sys.stdin.read())
    lib = ctypes.CDLL(ctypes.util.find_library('sasl2') or 'libsasl2.so.2')
    options = {
        b'pwcheck_method': b'auxprop',
        b'auxprop_plugin': b'sasldb',
        b'sasldb_path': request['path'].encode(),
        b'mech_list': b'PLAIN CRAM-MD5',
    }
    keep = []

    def getopt(context, plugin, option, result, length):
        value = options.get(option)
        if value is None:
            return -1  # SASL_FAIL: not set, library default applies
        buf = ctypes.c_char_p(value)
        keep.append(buf)
        result[0] = buf
        if length:
            length[0] = len(value)
        return SASL_OK

    getopt_cb = _GETOPT(getopt)
    callbacks = (_Callback * 2)(
        _Callback(SASL_CB_GETOPT, ctypes.cast(getopt_cb, ctypes.c_void_p), None),
        _Callback(SASL_CB_LIST_END, None, None))
    rc = lib.sasl_server_init(callbacks, b'mailstack-test')
    if rc != SASL_OK:
        raise SystemExit('sasl_server_init: %d' % rc)
    conn = ctypes.c_void_p()
    rc = lib.sasl_server_new(b'smtp', None, None, None, None, None, 0, ctypes.byref(conn))
    if rc != SASL_OK:
        raise SystemExit('sasl_server_new: %d' % rc)
    out = ctypes.c_char_p()
    outlen = ctypes.c_uint()
    login = request['login'].encode()
    password = request['password'].encode()
    mech = request['mech'].encode()
    if mech == b'PLAIN':
        response = b'\0' + login + b'\0' + password
        rc = lib.sasl_server_start(conn, mech, response, len(response), ctypes.byref(out), ctypes.byref(outlen))
    elif mech == b'CRAM-MD5':
        rc = lib.sasl_server_start(conn, mech, None, 0, ctypes.byref(out), ctypes.byref(outlen))
        if rc == SASL_CONTINUE:
            challenge = ctypes.string_at(out, outlen.value)
            response = login + b' ' + hmac.new(password, challenge, hashlib.md5).hexdigest().encode()
            rc = lib.sasl_server_step(conn, response, len(response), ctypes.byref(out), ctypes.byref(outlen))
    else:
        raise SystemExit('unknown mechanism %r' % mech)
    print(json.dumps({'result': rc}))


if __name__ == '__main__':
    _main()
