"""Check every internal link of the built site: the page exists and so does the anchor.

Usage: check-links.py HTML_DIR. Sphinx's linkcheck leaves in-page anchors
(`#...`) unchecked and cannot reach external addresses here (no network):
this checks each relative href and anchor of every page, and counts the
external ones, which are not checked.
"""

import os
import sys
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ('id', 'name'):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == 'a' and attrs.get('href') is not None:
            self.hrefs.append(attrs['href'])


def main(root):
    pages = {}
    for directory, _dirs, files in os.walk(root):
        for name in files:
            if name.endswith('.html'):
                path = os.path.normpath(os.path.join(directory, name))
                page = _Page()
                with open(path, encoding='utf-8') as handle:
                    page.feed(handle.read())
                pages[path] = page
    broken, internal, external = [], 0, 0
    for path, page in sorted(pages.items()):
        for href in page.hrefs:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc:
                external += 1
                continue
            internal += 1
            target = os.path.normpath(os.path.join(os.path.dirname(path), unquote(parts.path))) if parts.path else path
            if os.path.isdir(target):
                target = os.path.join(target, 'index.html')
            if not os.path.exists(target):
                broken.append(f'{os.path.relpath(path, root)}: {href}: no such file')
            elif parts.fragment and target in pages and unquote(parts.fragment) not in pages[target].ids:
                broken.append(f'{os.path.relpath(path, root)}: {href}: no such anchor')
    for line in broken:
        print('broken link:', line)
    print(f'check-links: {len(pages)} pages, {internal} internal links checked, {len(broken)} broken; '
          f'{external} external links not checked (no network)')
    return 1 if broken else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
