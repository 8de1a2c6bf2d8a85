"""Fixtures the module tests share."""

import pytest

from helpers.postfix import make_config_dir


@pytest.fixture
def config_dir(tmp_path):
    """A Postfix configuration directory of its own (helpers.postfix.make_config_dir)."""
    return make_config_dir(tmp_path / 'postfix')
