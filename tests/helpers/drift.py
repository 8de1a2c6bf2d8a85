"""Drift tests: things the roles manage, edited by hand on converged hosts, repaired by the next converge.

A scenario's test_rerun_drift.py lists its items (`Item`): which hosts, how
to read the thing's state, how to edit it by hand. `make_drift(items)` reads
every item on every host, makes all the edits (host by host, in list order),
reads again, runs ONE converge, reads again, and runs one more converge;
each item's test then asks `assert_repaired(name)`: the edit really changed
the state, the converge failed nowhere, and the state after it is the state
before (or what the item's own check accepts). `assert_again_changes_nothing()`
checks the last run.

The states are read through `podman exec` (helpers.molecule.container) and
must be plain data (dicts, lists, strings, numbers) that compare with ==.
Nothing secret goes into them: a table holding passwords is read as its keys
and a checksum of its content.
"""

import hashlib
import shlex

from helpers.molecule import container, run_converge

# Suffixes of the index files postmap/postalias make, per table type.
_INDEX_SUFFIXES = {'hash': '.db', 'btree': '.db', 'lmdb': '.lmdb', 'cdb': '.cdb'}


class Item:
    """One thing the roles manage, edited by hand on some hosts.

    name: the test id (what is edited: 'main.cf-mynetworks-widened').
    hosts: the instance names the edit is made on.
    read(box): the thing's state on a host (plain data).
    edit(box): the hand edit; fails (check_output) when it cannot be made.
    check(box, before, after): optional; asserts the repaired state when it
      may differ from `before` (a certificate issued anew). Default: after == before.
    """

    def __init__(self, name, hosts, read, edit, check=None):
        self.name = name
        self.hosts = list(hosts)
        self.read = read
        self.edit = edit
        self.check = check


class Drift:
    """The states before, after the edits (drifted) and after the repair, and the two converges."""

    def __init__(self, items, before, drifted, repair, after, again):
        self.items = {item.name: item for item in items}
        self.before, self.drifted, self.after = before, drifted, after
        self.repair, self.again = repair, again

    def _converge_failures(self, recap, output, hosts):
        bad = {host: recap.get(host) for host in hosts
               if host not in recap or recap[host]['failed'] or recap[host]['unreachable']}
        return ('the converge failed or did not reach %s:\n%s' % (bad, output[-6000:])) if bad else None

    def assert_repaired(self, name):
        """The edit of item `name` changed its state on each of its hosts, and the next converge put it back."""
        item = self.items[name]
        recap, output = self.repair
        failure = self._converge_failures(recap, output, item.hosts)
        assert failure is None, failure
        problems = []
        for host in item.hosts:
            before, drifted, after = (state[name][host] for state in (self.before, self.drifted, self.after))
            if drifted == before:
                problems.append('%s on %s: the hand edit changed nothing (state %r): the test would prove nothing'
                                % (name, host, before))
                continue
            try:
                if item.check is not None:
                    item.check(container(host), before, after)
                else:
                    assert after == before, 'not as before'
            except AssertionError as error:
                problems.append('%s on %s not repaired by the next converge (%s)\n  before:  %r\n  drifted: %r\n  after:   %r'
                                % (name, host, error, before, drifted, after))
        assert not problems, '\n'.join(problems) + '\nconverge output (tail):\n' + output[-3000:]

    def assert_repair_changed(self, hosts, at_least=1):
        """The repair run reported at least `at_least` changed tasks on each host (it did the work)."""
        recap, output = self.repair
        failure = self._converge_failures(recap, output, hosts)
        assert failure is None, failure
        few = {host: recap[host]['changed'] for host in hosts if recap[host]['changed'] < at_least}
        assert not few, 'the repair run changed fewer than %d tasks on %s:\n%s' % (at_least, few, output[-6000:])

    def assert_again_changes_nothing(self, hosts):
        """The converge after the repair changed nothing and failed nowhere."""
        recap, output = self.again
        failure = self._converge_failures(recap, output, hosts)
        assert failure is None, failure
        busy = {host: recap[host]['changed'] for host in hosts if recap[host]['changed']}
        assert not busy, 'the run after the repair still changed something on %s:\n%s' % (busy, output[-6000:])


def _read_all(items):
    return {item.name: {host: item.read(container(host)) for host in item.hosts} for item in items}


def make_drift(items, *converge_args, finish=None):
    """Read, edit every item on its hosts, read, converge once, read, converge again; a Drift.

    converge_args go to both converges (`--limit HOST`). finish(box), when
    given, runs on each host after its edits (a restart that makes edited
    settings live).

    The edits are made host by host in the order of `items` (put the ones
    that stop a service last). When an edit cannot be made or the drifted
    state cannot be read, a converge puts the hosts back before the error is
    raised, so the scenario's later tests still find converged hosts.
    """
    before = _read_all(items)
    hosts = []
    for item in items:
        hosts += [host for host in item.hosts if host not in hosts]
    try:
        for host in hosts:
            box = container(host)
            for item in items:
                if host in item.hosts:
                    item.edit(box)
            if finish is not None:
                finish(box)
        drifted = _read_all(items)
    except Exception:
        run_converge(*converge_args)
        raise
    repair = run_converge(*converge_args)
    after = _read_all(items)
    again = run_converge(*converge_args)
    return Drift(items, before, drifted, repair, after, again)


# --- readers shared by the scenarios -------------------------------------------------

def file_state(box, path):
    """A file's type, owner:group and mode, and its SHA-256 or a link's target; None when there is none."""
    quoted = shlex.quote(path)
    out = box.run('stat -c %%F:%%U:%%G:%%a %s && if [ -L %s ]; then readlink %s; elif [ -f %s ]; then sha256sum %s; fi'
                  % (quoted, quoted, quoted, quoted, quoted))
    if out.rc != 0:
        assert 'No such file' in out.stderr, 'cannot read %s: %s' % (path, out.stderr)
        return None
    lines = out.stdout.splitlines()
    kind, owner, group, mode = lines[0].rsplit(':', 3)
    state = {'type': kind, 'owner': '%s:%s' % (owner, group), 'mode': mode}
    if kind == 'symbolic link':
        state['target'] = lines[1]
    elif kind.startswith('regular'):
        state['sha256'] = lines[1].split()[0]
    return state


def index_files(table):
    """The index file(s) of a Postfix table 'type:/path' (hash:/etc/aliases -> /etc/aliases.db)."""
    kind, path = table.split(':', 1)
    assert kind in _INDEX_SUFFIXES, 'no known index file for table type %r (%s)' % (kind, table)
    return [path + _INDEX_SUFFIXES[kind]]


def tables(box, parameter):
    """The tables a main.cf parameter names ('hash:/etc/aliases, ...'), as a list."""
    return box.check_output('postconf -h %s' % parameter).replace(',', ' ').split()


def table_dump(box, table, secret=False, command='postmap'):
    """Every key and value of a Postfix table as `command -s` reads it (sorted lines).

    command: postmap, or postalias for an alias table. postalias adds
    YP_LAST_MODIFIED (the time of the build) and YP_MASTER_NAME to an index:
    they are left out, so that an index made again compares equal. secret:
    only the keys and a SHA-256 of the whole dump, so that no password
    reaches a failure message.
    """
    lines = sorted(line for line in box.check_output('%s -s %s' % (command, shlex.quote(table))).splitlines()
                   if not line.startswith('YP_'))
    if not secret:
        return lines
    return {'keys': [line.split(None, 1)[0] for line in lines],
            'sha256': hashlib.sha256('\n'.join(lines).encode()).hexdigest()}


def service_state(box, unit):
    """systemctl is-active and is-enabled of a unit."""
    return {'active': box.run('systemctl is-active %s' % unit).stdout.strip(),
            'enabled': box.run('systemctl is-enabled %s' % unit).stdout.strip()}


def package_state(box, package):
    """dpkg's status of a package ('installed', 'config-files', '' when unknown)."""
    return box.run("dpkg-query --show --showformat='${db:Status-Status}' %s" % package).stdout.strip()
