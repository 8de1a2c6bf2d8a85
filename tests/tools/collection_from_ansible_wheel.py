"""Install one collection as a given `ansible` package release bundles it.

    python tests/tools/collection_from_ansible_wheel.py ANSIBLE_REQUIREMENT NAMESPACE.NAME DEST [--wheels DIR]

Galaxy is not reachable from here, but PyPI is: the `ansible` package's wheel
holds each collection as installed by ansible-galaxy (MANIFEST.json
included). The wheel is downloaded with pip into DIR (kept as a cache), and
ansible_collections/NAMESPACE/NAME/ is extracted below DEST, replacing what
was there. Prints the collection's version.
"""

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import zipfile


def download_wheel(requirement, wheels):
    version = requirement.split('==', 1)[1]
    pattern = os.path.join(wheels, 'ansible-%s-py3-none-any.whl' % version)
    if not glob.glob(pattern):
        subprocess.run([sys.executable, '-m', 'pip', 'download', '-q', '--no-deps', '--dest', wheels, requirement],
                       check=True)
    found = glob.glob(pattern)
    if not found:
        sys.exit('collection_from_ansible_wheel: pip left no %s' % pattern)
    return found[0]


def extract(wheel, collection, dest):
    namespace, name = collection.split('.')
    prefix = 'ansible_collections/%s/%s/' % (namespace, name)
    target = os.path.join(dest, prefix)
    shutil.rmtree(target, ignore_errors=True)
    with zipfile.ZipFile(wheel) as archive:
        members = [member for member in archive.namelist() if member.startswith(prefix)]
        if not members:
            sys.exit('collection_from_ansible_wheel: %s holds no %s' % (os.path.basename(wheel), collection))
        archive.extractall(dest, members)
    with open(os.path.join(target, 'MANIFEST.json')) as manifest:
        return json.load(manifest)['collection_info']['version']


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('requirement', help='an exact pin, for example ansible==11.13.0')
    parser.add_argument('collection', help='for example community.crypto')
    parser.add_argument('dest', help='the directory that gets ansible_collections/ below it')
    parser.add_argument('--wheels', default='.cache/ansible-wheels', help='where the wheel is kept')
    args = parser.parse_args()
    if not args.requirement.startswith('ansible=='):
        parser.error('give an exact pin of the ansible package, for example ansible==11.13.0')
    os.makedirs(args.wheels, exist_ok=True)
    version = extract(download_wheel(args.requirement, args.wheels), args.collection, args.dest)
    print('%s %s (from %s)' % (args.collection, version, args.requirement))


if __name__ == '__main__':
    main()
