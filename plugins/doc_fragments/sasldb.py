# -*- coding: utf-8 -*-
# Copyright (c) 2026, mailstack.sasl_postfix contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """Options and notes of the modules that write a sasldb (sasldb_user, sasldb_users).

    Paired with WRITE_OPTIONS in plugins/module_utils/_sasldb.py: the argument
    spec and its documentation change together.
    """

    DOCUMENTATION = r"""
options:
  update_password:
    description:
      - V(always) sets a password when it differs from the stored one.
      - V(on_create) sets passwords only for users being created.
    type: str
    choices: [always, on_create]
    default: always
  path:
    description:
      - The sasldb file. Its directory must exist. A symlink is followed, and its target is written.
      - Postfix's C(smtpd) runs chrooted on Debian and needs V(/var/spool/postfix/etc/sasldb2).
      - A new file is created with mode V(0640) unless O(mode) says otherwise. Debian's convention is
        O(owner=root), O(group=sasl), O(mode=0640), with the C(postfix) user in group C(sasl).
    type: path
    default: /etc/sasldb2
requirements:
  - C(db_dump) and C(db_load) on the managed host (Debian package C(db-util)).
  - C(sasldblistusers2) on the managed host (Debian package C(sasl2-bin)).
notes:
  - The sasldb stores passwords in plain text (Cyrus needs them for CRAM-MD5 and DIGEST-MD5). Protect the
    file with O(owner), O(group) and O(mode).
  - Runs of these modules on the same directory are serialised with a lock. If another program, such as
    C(saslpasswd2), changes the file while the module runs, the module notices and starts over.
"""
