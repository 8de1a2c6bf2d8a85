"""Temporary Postfix configuration directories for tests of the postfix modules.

The host's /etc/postfix is never changed: every test gets its own config
directory with a small main.cf and the host's master.cf plus a submission
service, and passes it as config_dir.
"""

import os
import shutil
import subprocess
import time

MAIN_CF = """\
# main.cf for module tests
compatibility_level = 3.6
myhostname = mx.example.test
relayhost =
mua_client_restrictions = permit_sasl_authenticated, reject
"""

SUBMISSION = """\
submission inet n       -       y       -       -       smtpd
  -o syslog_name=postfix/submission
  -o smtpd_client_restrictions=$mua_client_restrictions
"""

HOST_MASTER_CF = '/etc/postfix/master.cf'


def settled(*paths):
    """Date the files 10 s back. Postfix's programs wait, 300 ms a turn, until a main.cf
    they read is more than 2 s old (it may be in the middle of an edit): a test's new
    main.cf would cost every postconf or postmap call 2 s."""
    past = time.time() - 10
    for path in paths:
        os.utime(str(path), (past, past))


def make_config_dir(path):
    """Create a Postfix config directory at `path` (a pathlib.Path); return it as str."""
    path.mkdir(parents=True, exist_ok=True)
    (path / 'main.cf').write_text(MAIN_CF)
    shutil.copyfile(HOST_MASTER_CF, str(path / 'master.cf'))
    with open(str(path / 'master.cf'), 'a') as handle:
        handle.write(SUBMISSION)
    settled(path / 'main.cf', path / 'master.cf')
    return str(path)


def postconf(config_dir, *args):
    """Run the real postconf; return stdout (C locale)."""
    env = dict(os.environ, LANG='C', LC_ALL='C')
    return subprocess.run(['postconf', '-c', config_dir] + list(args), capture_output=True, text=True,
                          env=env, check=True).stdout


def postmap_query(config_dir, key, table):
    """postmap -q KEY TABLE; return the value or None."""
    proc = subprocess.run(['postmap', '-c', config_dir, '-q', key, table], capture_output=True, text=True, check=False)
    return proc.stdout.rstrip('\n') if proc.returncode == 0 else None


def snapshot(*paths):
    """{path: (bytes, mtime_ns, mode)} of the files that exist, to compare before/after a run."""
    result = {}
    for p in paths:
        p = str(p)
        if os.path.exists(p):
            st = os.stat(p)
            with open(p, 'rb') as handle:
                result[p] = (handle.read(), st.st_mtime_ns, st.st_mode)
    return result
