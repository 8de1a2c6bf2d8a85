"""Look at built pages in a real browser: headless Chromium (Debian's chromium).

    browser-check.py HTML_DIR SHOT_DIR PAGE:OPTION[,OPTION...] ...

For each page (relative to HTML_DIR):
- Chromium's DOM after rendering holds, in the Parameters section (a
  module's, or a role's first entry point's), the option table
  (`ansible-option-table`) with each OPTION named in it;
- a screenshot of that table goes to SHOT_DIR/<page>.png, and in it the
  table is drawn with the theme's CSS: its header row, a band of the
  header colour across much of the width at the top, and text under it.
  The PNG is read with the standard library only (zlib), so the check
  needs nothing but Chromium.

Exit 1 naming the page and what is missing; prints one line per page.
"""

import os
import re
import struct
import subprocess
import sys
import zlib

WIDTH, HEIGHT = 1280, 1000
# The table header of sphinx-ansible-theme ("Parameter | Comments"): #6ab0de.
HEADER_COLOUR = (0x6a, 0xb0, 0xde)
COLOUR_TOLERANCE = 12
# A header row spans the content column: at least this share of the width.
MIN_HEADER_SHARE = 0.4
# The table is moved to the top; its own margin puts the header ~50 px down.
HEADER_MAX_TOP = 100
CHROMIUM = ['chromium', '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars',
            '--window-size=%d,%d' % (WIDTH, HEIGHT)]


def chromium(*args):
    result = subprocess.run(CHROMIUM + list(args), capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise SystemExit('browser-check: chromium failed (%d): %s' % (result.returncode, result.stderr[-500:]))
    return result.stdout


def _paeth(left, up, up_left):
    estimate = left + up - up_left
    distances = (abs(estimate - left), abs(estimate - up), abs(estimate - up_left))
    return (left, up, up_left)[distances.index(min(distances))]


def _unfilter(filter_type, line, previous, stride):
    out = bytearray(line)
    for i, byte in enumerate(line):
        left = out[i - stride] if i >= stride else 0
        up = previous[i]
        up_left = previous[i - stride] if i >= stride else 0
        if filter_type == 1:
            out[i] = (byte + left) & 0xff
        elif filter_type == 2:
            out[i] = (byte + up) & 0xff
        elif filter_type == 3:
            out[i] = (byte + (left + up) // 2) & 0xff
        elif filter_type == 4:
            out[i] = (byte + _paeth(left, up, up_left)) & 0xff
    return out


def read_png_rows(path):
    """The rows of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes), as lists of (r, g, b)."""
    with open(path, 'rb') as handle:
        data = handle.read()
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        raise ValueError('%s is no PNG' % path)
    position, chunks, header = 8, [], None
    while position < len(data):
        length, kind = struct.unpack('>I4s', data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b'IHDR':
            header = struct.unpack('>IIBBBBB', body)
        elif kind == b'IDAT':
            chunks.append(body)
        position += 12 + length
    width, height, depth, colour_type, dummy, dummy, interlace = header
    if depth != 8 or colour_type not in (2, 6) or interlace:
        raise ValueError('%s: unsupported PNG (depth %d, colour type %d)' % (path, depth, colour_type))
    stride = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b''.join(chunks))
    rows, previous, line_size = [], bytearray(width * stride), width * stride
    for y in range(height):
        start = y * (line_size + 1)
        line = _unfilter(raw[start], raw[start + 1:start + 1 + line_size], previous, stride)
        rows.append([tuple(line[x:x + 3]) for x in range(0, line_size, stride)])
        previous = line
    return rows


def header_rows(rows):
    """Indexes of the rows where the header colour covers MIN_HEADER_SHARE of the width."""
    def is_header(pixel):
        return all(abs(a - b) <= COLOUR_TOLERANCE for a, b in zip(pixel, HEADER_COLOUR))
    return [y for y, row in enumerate(rows) if sum(map(is_header, row)) >= MIN_HEADER_SHARE * len(row)]


# Injected into a copy of the page: only the parameter table stays visible,
# moved to the top-left corner, so that the screenshot shows it (Chromium's
# headless screenshot of a #fragment URL is blank) and the header colour can
# come from nothing else (the theme's "Note" boxes share it).
ISOLATE_TABLE = """<style>
body * { visibility: hidden !important; }
#parameters table.ansible-option-table, #parameters table.ansible-option-table * { visibility: visible !important; }
#parameters table.ansible-option-table { position: absolute; top: 0; left: 0; width: %dpx !important; z-index: 9999; }
</style></head>""" % (WIDTH - 80)


def isolated_copy(page_path):
    """A copy of the page beside it (its CSS links still resolve) showing only the parameter table."""
    with open(page_path, encoding='utf-8') as handle:
        html = handle.read()
    copy = os.path.join(os.path.dirname(page_path), '.browser-check-' + os.path.basename(page_path))
    with open(copy, 'w', encoding='utf-8') as handle:
        handle.write(html.replace('</head>', ISOLATE_TABLE, 1))
    return copy


def check_page(html_dir, shot_dir, page, options):
    page_path = os.path.join(os.path.abspath(html_dir), page)
    problems = []
    dom = chromium('--dump-dom', 'file://' + page_path)
    section = dom.partition('<section id="parameters">')[2]
    tables = re.findall(r'<table[^>]*ansible-option-table.*?</table>', section, re.S)[:1]
    if not tables:
        problems.append('no ansible-option-table in the rendered Parameters section')
    missing = [name for name in options if not any('<strong>%s</strong>' % name in table for table in tables)]
    if tables and missing:
        problems.append('options not in the table: %s' % ', '.join(missing))
    shot = os.path.join(shot_dir, os.path.basename(page).replace('.html', '.png'))
    copy = isolated_copy(page_path)
    try:
        chromium('--screenshot=' + shot, 'file://' + copy)
    finally:
        os.remove(copy)
    rows = read_png_rows(shot)
    bands = header_rows(rows)
    if not bands or bands[0] > HEADER_MAX_TOP:
        problems.append('the screenshot %s shows no table header row at the top (colour #%02x%02x%02x)'
                        % ((shot,) + HEADER_COLOUR))
    elif not dark_pixels(rows[bands[-1] + 1:]):
        problems.append('the screenshot %s shows no text under the table header' % shot)
    if problems:
        raise SystemExit('browser-check: %s: %s' % (page, '; '.join(problems)))
    print('browser-check: %s: the parameter table is rendered (%d options named), its header row at y=%d-%d of %s'
          % (page, len(options), bands[0], bands[-1], shot))


def dark_pixels(rows):
    """How many pixels are text-dark (the option names and descriptions)."""
    return sum(1 for row in rows for pixel in row if max(pixel) < 100)


def main(html_dir, shot_dir, *pages):
    os.makedirs(shot_dir, exist_ok=True)
    for spec in pages:
        page, dummy, options = spec.partition(':')
        check_page(html_dir, shot_dir, page, [name for name in options.split(',') if name])


if __name__ == '__main__':
    main(*sys.argv[1:])
