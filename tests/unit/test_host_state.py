"""module_utils/_host_state.py: the parser of dpkg-query's package states."""

import pytest

from ansible_collections.mailstack.sasl_postfix.plugins.module_utils import _host_state as hs


@pytest.mark.parametrize('output, expected', [
    ('postfix installed\nsasl2-bin installed\n', {'postfix', 'sasl2-bin'}),
    # Only "installed": removed with its configuration left, half-installed, unpacked are missing.
    ('postfix config-files\nsasl2-bin half-installed\ndb5.3-util unpacked\n', set()),
    ('postfix not-installed\nlibsasl2-2 installed\n', {'libsasl2-2'}),
    ('', set()),
    ('postfix installed', {'postfix'}),  # no final newline
])
def test_installed_packages(output, expected):
    assert hs.installed_packages(output) == expected
