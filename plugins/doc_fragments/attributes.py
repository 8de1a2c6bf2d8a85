# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """Attributes shared by the collection's modules.

    Use with ansible.builtin.action_common_attributes, which describes
    check_mode, diff_mode and platform. A module's own attribute keys win
    over these.
    """

    # Every module: POSIX hosts, and what idempotent means.
    DOCUMENTATION = r"""
options: {}
attributes:
  platform:
    platforms: posix
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
"""

    # Modules that only read.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
  idempotent:
    support: full
    details:
      - This action does not modify state.
"""

    # Modules that replace a file with atomic_move.
    FILES = r"""
options: {}
attributes:
  safe_file_operations:
    description:
      - Uses Ansible's strict file operation functions to ensure proper permissions and avoid data corruption.
    support: full
"""
