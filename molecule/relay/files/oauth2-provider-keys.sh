#!/usr/bin/env bash
# The oauth2-provider test host's keys, made once (prepare.yml), in the current
# directory: a test CA; the server certificate of oauth2-provider (token
# endpoint and SMTP) signed by it; a Google-style service account key, its
# certificate (which the stand-in verifies assertions with) and its JSON key
# file (which the relay client is given).
set -euo pipefail
token_url=$1

openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 \
  -subj "/CN=mailstack OAuth2 test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=oauth2-provider" 2>/dev/null
printf '%s\n' 'subjectAltName=DNS:oauth2-provider' 'extendedKeyUsage=serverAuth' 'basicConstraints=critical,CA:FALSE' \
  'keyUsage=critical,digitalSignature,keyEncipherment' 'subjectKeyIdentifier=hash' 'authorityKeyIdentifier=keyid' > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -extfile server.ext \
  -out server.crt 2>/dev/null

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out service-account.key 2>/dev/null
openssl req -x509 -key service-account.key -out service-account.crt -days 30 -subj "/CN=relay-sa" 2>/dev/null
python3 - "$token_url" <<'PYTHON'
import json, sys
with open('service-account.key') as handle:
    key = handle.read()
account = {'type': 'service_account', 'project_id': 'mailstack-test', 'private_key_id': 'test-key-1',
           'private_key': key, 'client_email': 'relay-sa@mailstack-test.iam.gserviceaccount.com',
           'client_id': '100000000000000000001', 'token_uri': sys.argv[1]}
with open('service-account.json', 'w') as handle:
    json.dump(account, handle, indent=2)
PYTHON
chmod 0600 ./*.key service-account.json
