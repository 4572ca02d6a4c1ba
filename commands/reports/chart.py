"""A horizontal stacked bar chart as a PNG, in pure Python (zlib + struct), no plotting library.

Bars only: one row per participant, top to bottom in the order given, each a grey track as long as
the longest total with coloured segments on it. Names and the colour legend go in the message text
beside the image, so no font rendering is needed.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

RGB = tuple[int, int, int]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BACKGROUND: RGB = (255, 255, 255)
TRACK: RGB = (232, 232, 232)
MARGIN = 8
BAR_HEIGHT = 14
BAR_GAP = 8


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(width: int, rows: Sequence[bytes]) -> bytes:
    """8-bit RGB, no interlace; every scanline uses filter 0 (none)."""
    header = struct.pack(">IIBBBBB", width, len(rows), 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 6)) + _chunk(b"IEND", b"")


def bar_chart(bars: Sequence[Sequence[int]], colors: Sequence[RGB], *, width: int = 600) -> bytes:
    """One stacked bar per entry of `bars` (segment values, coloured by `colors` in order)."""
    if any(len(values) > len(colors) for values in bars):
        raise ValueError("more segments than colours")
    if any(value < 0 for values in bars for value in values):
        raise ValueError("bar values cannot be negative")
    span = width - 2 * MARGIN
    if span <= 0:
        raise ValueError("chart too narrow")
    longest = max((sum(values) for values in bars), default=0) or 1
    blank = bytes(BACKGROUND) * width
    lines: list[bytes] = [blank] * MARGIN
    for index, values in enumerate(bars):
        pixels = bytearray(blank)
        pixels[MARGIN * 3 : (MARGIN + span) * 3] = bytes(TRACK) * span
        start = 0
        running = 0
        for value, color in zip(values, colors, strict=False):
            running += value
            end = round(running * span / longest)
            if end > start:
                pixels[(MARGIN + start) * 3 : (MARGIN + end) * 3] = bytes(color) * (end - start)
            start = max(start, end)
        lines.extend([bytes(pixels)] * BAR_HEIGHT)
        lines.extend([blank] * (BAR_GAP if index < len(bars) - 1 else MARGIN))
    if not bars:
        lines.extend([blank] * MARGIN)
    return encode_png(width, lines)
