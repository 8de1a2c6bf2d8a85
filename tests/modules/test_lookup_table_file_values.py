"""lookup_table with file_values: true (postmap -F, as tls_server_sni_maps wants), against the real postmap.

The index holds the named files' content, base64-encoded: each test reads it
back with `postmap -q` (base64, decoded here) and `postmap -Fq` (decoded by
postmap) and compares it with the PEM files a TLS SNI table names.
"""

import base64
import os
import subprocess

import pytest

from helpers.modules import mode_of, run_adhoc, run_module
from helpers.postfix import postconf, postmap_query, snapshot


@pytest.fixture
def tls(tmp_path):
    """A directory with a table path and two key+chain files, as the renewal hook deploys them."""
    directory = tmp_path / 'tls'
    (directory / 'sni-chains').mkdir(parents=True)
    chains = {}
    for name in ('mail.example.net', 'mail.example.com'):
        key, cert = str(directory / (name + '.key')), str(directory / (name + '.crt'))
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
                        '-days', '2', '-subj', '/CN=' + name, '-addext', 'subjectAltName=DNS:' + name,
                        '-keyout', key, '-out', cert], check=True, capture_output=True)
        chain = str(directory / 'sni-chains' / (name + '.pem'))
        with open(chain, 'wb') as handle:
            handle.write(open(key, 'rb').read() + open(cert, 'rb').read())
        os.chmod(chain, 0o600)
        chains[name] = dict(key=key, cert=cert, chain=chain)
    return dict(table=str(directory / 'sni'), chains=chains)


def entries(tls):
    chains = tls['chains']
    return [
        {'key': 'mail.example.net', 'value': chains['mail.example.net']['chain']},
        {'key': 'smtp.example.net', 'value': chains['mail.example.net']['chain']},
        # Two files: postmap -F joins them with a newline.
        {'key': 'mail.example.com', 'value': '%s, %s' % (chains['mail.example.com']['key'], chains['mail.example.com']['cert'])},
    ]


def args_for(config_dir, tls, map_type='hash', **extra):
    return dict(config_dir=config_dir, path=tls['table'], type=map_type, file_values=True, entries=entries(tls),
                owner='root', group='root', **extra)


def held(config_dir, map_type, table, key):
    """What the index holds for `key`, base64-decoded (postmap -q), or None."""
    value = postmap_query(config_dir, key, '%s:%s' % (map_type, table))
    return None if value is None else base64.b64decode(value)


def decoded(config_dir, map_type, table, key):
    """postmap -Fq: the content decoded by postmap (plus a newline)."""
    return subprocess.run(['postmap', '-c', config_dir, '-Fq', key, '%s:%s' % (map_type, table)],
                          capture_output=True, check=True).stdout


def read(path):
    with open(path, 'rb') as handle:
        return handle.read()


def index_of(map_type, table):
    return table + {'hash': '.db', 'btree': '.db', 'lmdb': '.lmdb', 'cdb': '.cdb'}[map_type]


@pytest.mark.parametrize('map_type', ['hash', 'lmdb', 'cdb'])
def test_the_index_holds_each_names_key_and_chain_root_only(config_dir, tls, map_type):
    if map_type not in postconf(config_dir, '-m').split():
        pytest.skip('%s is not installed on this host (postconf -m)' % map_type)
    args = args_for(config_dir, tls, map_type)
    net, com = tls['chains']['mail.example.net'], tls['chains']['mail.example.com']

    predicted = run_module('lookup_table', args, check_mode=True, diff=True)
    assert predicted['changed'] is True and predicted['rebuilt'] is True, predicted
    assert not os.path.exists(tls['table'])

    done = run_module('lookup_table', args, diff=True)
    assert done['changed'] is True and done['rebuilt'] is True, done
    assert done['diff'] == predicted['diff']
    index = index_of(map_type, tls['table'])
    assert done['index_files'] == [index]
    assert held(config_dir, map_type, tls['table'], 'mail.example.net') == read(net['chain'])
    assert held(config_dir, map_type, tls['table'], 'SMTP.example.net') == read(net['chain'])
    assert held(config_dir, map_type, tls['table'], 'mail.example.com') == read(com['key']) + b'\n' + read(com['cert'])
    assert b'-----BEGIN CERTIFICATE-----' in decoded(config_dir, map_type, tls['table'], 'mail.example.net')
    assert decoded(config_dir, map_type, tls['table'], 'mail.example.net') == read(net['chain']) + b'\n'
    # The source names files; the index holds private keys: both root-only.
    assert mode_of(tls['table']) == 0o600 and mode_of(index) == 0o600
    assert [name for name in os.listdir(os.path.dirname(tls['table'])) if name.startswith('.')] == []

    before = snapshot(tls['table'], index)
    again = run_module('lookup_table', args)
    assert again['changed'] is False and again['rebuilt'] is False, again
    assert snapshot(tls['table'], index) == before
    assert run_module('lookup_table', args, check_mode=True)['changed'] is False


def test_a_changed_file_is_indexed_again_though_the_source_is_the_same(config_dir, tls):
    args = args_for(config_dir, tls)
    run_module('lookup_table', args)
    source = snapshot(tls['table'])
    net, com = tls['chains']['mail.example.net'], tls['chains']['mail.example.com']
    # A renewal: another pair in the chain file; the source and its mtime stay.
    with open(net['chain'], 'wb') as handle:
        handle.write(read(com['key']) + read(com['cert']))

    predicted = run_module('lookup_table', args, check_mode=True)
    assert predicted['changed'] is True and predicted['rebuilt'] is True
    assert held(config_dir, 'hash', tls['table'], 'mail.example.net') != read(net['chain'])

    done = run_module('lookup_table', args)
    assert done['changed'] is True and done['rebuilt'] is True and done['updated'] == []
    assert held(config_dir, 'hash', tls['table'], 'mail.example.net') == read(net['chain'])
    assert snapshot(tls['table']) == source  # the source was not rewritten
    assert run_module('lookup_table', args)['changed'] is False


def test_an_index_built_by_hand_from_the_same_files_is_left_alone(config_dir, tls):
    """The renewal hook rebuilds the table with postmap -F: the module finds that index current."""
    args = args_for(config_dir, tls)
    run_module('lookup_table', args)
    subprocess.run(['postmap', '-c', config_dir, '-F', 'hash:' + tls['table']], check=True)
    before = snapshot(tls['table'], tls['table'] + '.db')
    result = run_module('lookup_table', args)
    assert result['changed'] is False and result['rebuilt'] is False, result
    assert snapshot(tls['table'], tls['table'] + '.db') == before


def test_an_index_built_without_file_values_is_rebuilt(config_dir, tls):
    args = args_for(config_dir, tls)
    run_module('lookup_table', args)
    subprocess.run(['postmap', '-c', config_dir, 'hash:' + tls['table']], check=True)  # values: the file names
    result = run_module('lookup_table', args)
    assert result['changed'] is True and result['rebuilt'] is True
    assert held(config_dir, 'hash', tls['table'], 'mail.example.net') == read(tls['chains']['mail.example.net']['chain'])


def test_a_missing_file_fails_before_anything_changes(config_dir, tls):
    args = args_for(config_dir, tls)
    run_module('lookup_table', args)
    before = snapshot(tls['table'], tls['table'] + '.db')
    missing = os.path.join(os.path.dirname(tls['table']), 'sni-chains', 'new.example.org.pem')
    args['entries'] = entries(tls) + [{'key': 'new.example.org', 'value': missing}]

    result = run_module('lookup_table', args)
    assert result.get('failed') is True
    assert "value for key 'new.example.org' names %s, which does not exist (file_values)" % missing in result['msg']
    assert snapshot(tls['table'], tls['table'] + '.db') == before

    # Check mode: an earlier task may be to create the file.
    predicted = run_module('lookup_table', args, check_mode=True)
    assert predicted['changed'] is True and predicted['rebuilt'] is True and predicted['added'] == ['new.example.org']
    assert snapshot(tls['table'], tls['table'] + '.db') == before


@pytest.mark.parametrize('value, message', [
    ('sni-chains/mail.pem', "must name files by absolute path (file_values), separated by commas or blanks: "
                            "sni-chains/mail.pem is not one"),
    ('/etc, relative.pem', 'relative.pem is not one'),
])
def test_values_must_be_absolute_paths(config_dir, tls, value, message):
    args = args_for(config_dir, tls)
    args['entries'] = [{'key': 'mail.example.net', 'value': value}]
    result = run_module('lookup_table', args)
    assert result.get('failed') is True and message in result['msg'], result
    assert not os.path.exists(tls['table'])


def test_a_value_naming_a_directory_fails_and_keeps_the_live_index(config_dir, tls, tmp_path):
    args = args_for(config_dir, tls)
    run_module('lookup_table', args)
    index = snapshot(tls['table'] + '.db')
    # A directory is no file postmap can index.
    args['entries'] = entries(tls) + [{'key': 'dir.example.org', 'value': str(tmp_path)}]
    result = run_module('lookup_table', args)
    assert result.get('failed') is True and 'which is not a regular file (file_values)' in result['msg'], result
    assert snapshot(tls['table'] + '.db') == index


def test_the_files_content_never_appears_in_the_output(config_dir, tls):
    chain = read(tls['chains']['mail.example.net']['chain']).decode('ascii')
    secret_line = [line for line in chain.splitlines() if line and not line.startswith('-----')][0]
    result, output = run_adhoc('lookup_table', args_for(config_dir, tls), diff=True, verbosity=3)
    assert result['changed'] is True
    assert tls['chains']['mail.example.net']['chain'] in result['diff']['after']  # the file names are shown
    assert secret_line not in output
