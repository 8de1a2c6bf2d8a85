# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """Options of the modules that run the host's postconf.

    Paired with CONFIG_DIR_OPTION in plugins/module_utils/_postconf.py: the
    argument spec and its documentation change together.
    """

    DOCUMENTATION = r"""
options:
  config_dir:
    description:
      - Postfix configuration directory (C(postconf -c)).
    type: path
    default: /etc/postfix
requirements:
  - Postfix's C(postconf) on the managed host (Debian package C(postfix)), with a C(main.cf) in O(config_dir).
"""
