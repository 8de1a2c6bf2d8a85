"""Looking for secrets where they must not be: in text, and in files on a test container."""

import shlex

# Where a converge could leave something behind on a managed host.
SEARCHED = ('/etc', '/root', '/tmp', '/var/tmp', '/var/lib/mailstack', '/var/log', '/var/spool/postfix', '/var/cache',
            '/usr/local', '/run')


def leaks(text, secrets):
    """The secrets that appear in text."""
    return [secret for secret in secrets if secret in text]


def files_with_secrets(host, secrets, searched=SEARCHED):
    """{secret: set of files under `searched` that contain it} (grep -r does not follow symlinks)."""
    found = {}
    for secret in secrets:
        out = host.run('grep -rlaF -e %s %s 2>/dev/null' % (shlex.quote(secret), ' '.join(searched))).stdout
        found[secret] = set(out.split())
    return found


def unintended(found, allowed):
    """{secret: files} for the files that hold a secret outside allowed[secret] (a set, default empty)."""
    extra = {secret: files - allowed.get(secret, set()) for secret, files in found.items()}
    return {secret: files for secret, files in extra.items() if files}
