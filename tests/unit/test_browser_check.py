"""docs/sphinx/browser-check.py: the PNG reader and the header-row finder, on PNGs written here.

Chromium itself is run by `make docs`; these check the parts that decide.
"""

import importlib.util
import os
import struct
import zlib

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), '..', '..', 'docs', 'sphinx', 'browser-check.py')
SPEC = importlib.util.spec_from_file_location('browser_check', SCRIPT)
browser_check = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(browser_check)

WHITE, HEADER, TEXT = (252, 252, 252), browser_check.HEADER_COLOUR, (64, 64, 64)


def _filtered(filter_type, line, previous, stride):
    """One scanline encoded with PNG filter 0 (None), 1 (Sub) or 2 (Up)."""
    if filter_type == 0:
        return bytes([0]) + bytes(line)
    if filter_type == 1:
        return bytes([1]) + bytes((line[i] - (line[i - stride] if i >= stride else 0)) & 0xff for i in range(len(line)))
    return bytes([2]) + bytes((line[i] - previous[i]) & 0xff for i in range(len(line)))


def _png(path, rows, colour_type=2, filters=(0, 1, 2)):
    stride = 3 if colour_type == 2 else 4
    raw, previous = b'', bytes(len(rows[0]) * stride)
    for y, row in enumerate(rows):
        line = bytes(value for pixel in row for value in (pixel + (255,) if stride == 4 else pixel))
        raw += _filtered(filters[y % len(filters)], line, previous, stride)
        previous = line

    def chunk(kind, body):
        return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body))
    header = struct.pack('>IIBBBBB', len(rows[0]), len(rows), 8, colour_type, 0, 0, 0)
    with open(path, 'wb') as handle:
        handle.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IDAT', zlib.compress(raw))
                     + chunk(b'IEND', b''))


def _page(header_share):
    """A 20x10 page: white, a header row at y=3-4 covering `header_share` of the width, text below."""
    width = 20
    rows = [[WHITE] * width for dummy in range(10)]
    for y in (3, 4):
        rows[y] = [HEADER] * int(width * header_share) + [WHITE] * (width - int(width * header_share))
    rows[7][2:6] = [TEXT] * 4
    return rows


@pytest.mark.parametrize('colour_type', [2, 6])
def test_the_reader_undoes_the_filters_chromium_uses(tmp_path, colour_type):
    rows = _page(0.5)
    _png(str(tmp_path / 'page.png'), rows, colour_type)
    assert browser_check.read_png_rows(str(tmp_path / 'page.png')) == rows


@pytest.mark.parametrize('share, expected', [(0.5, [3, 4]), (0.3, [])])
def test_a_header_row_spans_enough_of_the_width(tmp_path, share, expected):
    _png(str(tmp_path / 'page.png'), _page(share))
    rows = browser_check.read_png_rows(str(tmp_path / 'page.png'))
    assert browser_check.header_rows(rows) == expected
    assert browser_check.dark_pixels(rows[5:]) == 4


def test_not_a_png_is_refused(tmp_path):
    (tmp_path / 'page.png').write_bytes(b'GIF89a')
    with pytest.raises(ValueError, match='no PNG'):
        browser_check.read_png_rows(str(tmp_path / 'page.png'))
