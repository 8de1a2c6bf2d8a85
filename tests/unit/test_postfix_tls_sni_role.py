"""What the postfix role derives from postfix_tls_sni_certificates (vars/main.yml), rendered by ansible-playbook.

The role's host-free checks run first (tasks/validate.yml); then the values
the hook's settings, the SNI table and main.cf get are printed and compared:
one sni= line per certificate (copy, certificate, key, names), one table
entry per name (myhostname and the default's other names on the default
copy), tls_server_sni_maps in the host's table type, and the table among the
files to remove once no certificate is listed.
"""

import json
import os
import re

import yaml

from helpers.roles import run_role_tasks

FACTS = {'os_family': 'Debian', 'fqdn': 'mx.example.org'}
with open(os.path.join(os.path.dirname(__file__), '..', '..', 'roles', 'postfix', 'vars', 'Debian.yml')) as _handle:
    DEBIAN = yaml.safe_load(_handle)

LIVE = '/etc/letsencrypt/live/'
SNI = {
    'postfix_smtpd_tls_cert_file': LIVE + 'mx.example.org/fullchain.pem',
    'postfix_smtpd_tls_key_file': LIVE + 'mx.example.org/privkey.pem',
    'postfix_tls_renewal_hook': True,
    'postfix_tls_renewal_hook_names': ['MX.example.org', 'smtp.example.org', '*.example.org'],
    'postfix_tls_sni_certificates': [
        {'names': ['Mail.Example.net', 'smtp.example.net', 'mail.example.net'],
         'cert_file': LIVE + 'mail.example.net/fullchain.pem', 'key_file': LIVE + 'mail.example.net/privkey.pem'},
        {'names': ['mail.example.com'], 'cert_file': '/etc/ssl/com.crt', 'key_file': '/etc/ssl/private/com.key'},
    ],
    # What converge.yml sets from postfix_info.
    '__postfix_database_type': 'lmdb',
}
SHOWN = ['__postfix_tls_sni_lines', '__postfix_tls_sni_entries', '__postfix_main_cf_managed.tls_server_sni_maps',
         "__postfix_files_absent | map(attribute='path') | select('search', '/tls/') | list"]


def derived(tmp_path, variables):
    messages = ['SHOWN %s {{ %s | to_json }}' % (index, expression) for index, expression in enumerate(SHOWN)]
    rc, output = run_role_tasks(tmp_path, 'postfix', 'validate', dict(DEBIAN, ansible_facts=FACTS, **variables),
                                messages=messages)
    assert rc == 0, output
    found = re.findall(r'"msg": "SHOWN (\d) (.*)"', output)
    assert len(found) == len(SHOWN), output
    return [json.loads(json.loads('"%s"' % text)) for dummy, text in sorted(found)]


def test_the_hook_table_and_main_cf_get_every_name(tmp_path):
    lines, entries, sni_maps, absent = derived(tmp_path, SNI)
    copies = '/etc/postfix/tls/sni-chains/'
    assert lines == [
        '%smail.example.net.pem %smail.example.net/fullchain.pem %smail.example.net/privkey.pem '
        'mail.example.net smtp.example.net' % (copies, LIVE, LIVE),
        '%smail.example.com.pem /etc/ssl/com.crt /etc/ssl/private/com.key mail.example.com' % copies,
    ]
    default = '/etc/postfix/tls/smtpd-chain.pem'
    assert entries == [
        {'key': 'mx.example.org', 'value': default},
        {'key': 'smtp.example.org', 'value': default},
        {'key': 'mail.example.net', 'value': copies + 'mail.example.net.pem'},
        {'key': 'smtp.example.net', 'value': copies + 'mail.example.net.pem'},
        {'key': 'mail.example.com', 'value': copies + 'mail.example.com.pem'},
    ]
    assert sni_maps == 'lmdb:/etc/postfix/tls/sni'
    assert absent == []


def test_without_certificates_the_table_goes(tmp_path):
    lines, entries, sni_maps, absent = derived(tmp_path, dict(SNI, postfix_tls_sni_certificates=[]))
    assert lines == []
    assert sni_maps is None
    table = '/etc/postfix/tls/sni'
    assert absent == [table, table + '.db', table + '.lmdb', table + '.cdb', table + '.dir', table + '.pag']
