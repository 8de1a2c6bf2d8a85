# Sphinx configuration of the documentation site (make docs, docs/sphinx/build.sh).
# Started from `antsibull-docs sphinx-init --use-current --squash-hierarchy
# mailstack.sasl_postfix`; changes: the title, myst-parser for the Markdown
# guides, intersphinx read from a local inventory, linkcheck limited to
# internal links.
# pylint: disable=invalid-name

import os

project = 'mailstack.sasl_postfix'
copyright = 'mailstack.sasl_postfix contributors'  # pylint: disable=redefined-builtin
title = 'mailstack.sasl_postfix'
html_short_title = 'mailstack.sasl_postfix'

extensions = ['sphinx.ext.autodoc', 'sphinx.ext.intersphinx', 'sphinx_antsibull_ext', 'myst_parser']
source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
# The guides' headings get anchors, as GitHub gives them.
myst_heading_anchors = 3

pygments_style = 'ansible'
highlight_language = 'YAML+Jinja'

html_theme = 'sphinx_ansible_theme'
html_show_sphinx = False
display_version = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False
# The logo's link: the theme's default, '/', is the root of the file system
# when the site is read from build/docs/html; the project's home instead.
# The top bar: the project's links, not the theme's (Ansible's blog and forum).
html_theme_options = {
    'documentation_home_url': 'https://github.com/mailstack/sasl_postfix',
    'topbar_links': {
        'Repository': 'https://github.com/mailstack/sasl_postfix',
        'Issues': 'https://github.com/mailstack/sasl_postfix/issues',
    },
}

# The generated pages refer to docs.ansible.com (ansible.builtin modules,
# Return Values, configuration settings). Its objects.inv cannot be fetched
# here (no network when the site is built), so build.sh writes a local one
# from docs/sphinx/ansible-devel-inventory.txt: the labels the pages use and
# their docs.ansible.com addresses.
intersphinx_mapping = {
    'ansible_devel': ('https://docs.ansible.com/projects/ansible/devel/',
                      (os.environ.get('MAILSTACK_ANSIBLE_DEVEL_INV', 'ansible-devel.inv'),)),
}

default_role = 'any'
nitpicky = True

# linkcheck checks the site's own links only: this machine has no network
# beyond package mirrors, so every external address is skipped (not checked).
linkcheck_ignore = [r'^https?://', r'^mailto:']
