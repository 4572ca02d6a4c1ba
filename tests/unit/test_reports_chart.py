"""The pure-Python PNG bar chart: a valid PNG with one bar per participant, segments in proportion."""

from __future__ import annotations

import struct
import zlib

import pytest

from commands.reports.chart import BACKGROUND, BAR_HEIGHT, MARGIN, TRACK, bar_chart

RED, BLUE = (200, 0, 0), (0, 0, 200)


def decode(png: bytes) -> tuple[int, int, list[list[tuple[int, int, int]]]]:
    """Check the signature, every chunk's CRC and IHDR, then decode the (filter 0) RGB scanlines."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + data) & 0xFFFFFFFF
        chunks.append((kind, data))
        pos += 12 + length
    assert [k for k, _ in chunks][0] == b"IHDR"
    assert [k for k, _ in chunks][-1] == b"IEND"
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, colour, compression, filtering, interlace) == (8, 2, 0, 0, 0)
    raw = zlib.decompress(b"".join(d for k, d in chunks if k == b"IDAT"))
    stride = 1 + 3 * width
    assert len(raw) == height * stride
    rows = []
    for y in range(height):
        line = raw[y * stride : (y + 1) * stride]
        assert line[0] == 0
        rows.append([tuple(line[1 + 3 * x : 4 + 3 * x]) for x in range(width)])
    return width, height, rows  # type: ignore[return-value]


def bars_in_column(rows: list[list[tuple[int, int, int]]], x: int) -> list[int]:
    """Heights of the runs of non-background pixels down column x."""
    runs, current = [], 0
    for row in rows:
        if row[x] != BACKGROUND:
            current += 1
        elif current:
            runs.append(current)
            current = 0
    if current:
        runs.append(current)
    return runs


@pytest.mark.parametrize("count", [1, 3, 7])
def test_one_bar_per_entry(count: int) -> None:
    bars = [[i, 1] for i in range(count)]
    width, height, rows = decode(bar_chart(bars, [RED, BLUE], width=200))
    assert width == 200
    assert bars_in_column(rows, MARGIN) == [BAR_HEIGHT] * count
    assert height == 2 * MARGIN + count * BAR_HEIGHT + (count - 1) * 8


def test_a_zero_bar_still_shows_its_track() -> None:
    _w, _h, rows = decode(bar_chart([[0, 0], [2, 2]], [RED, BLUE], width=100))
    first_bar = rows[MARGIN]
    assert set(first_bar[MARGIN : 100 - MARGIN]) == {TRACK}
    assert bars_in_column(rows, MARGIN) == [BAR_HEIGHT, BAR_HEIGHT]


def test_segments_are_in_proportion_to_the_longest_bar() -> None:
    width = 116  # a span of 100 pixels
    _w, _h, rows = decode(bar_chart([[1, 1], [2, 2]], [RED, BLUE], width=width))
    short = rows[MARGIN][MARGIN : width - MARGIN]
    long = rows[MARGIN + BAR_HEIGHT + 8][MARGIN : width - MARGIN]
    assert short.count(RED) == 25
    assert short.count(BLUE) == 25
    assert short.count(TRACK) == 50
    assert long.count(RED) == 50
    assert long.count(BLUE) == 50
    assert TRACK not in long
    assert rows[MARGIN][0] == BACKGROUND


def test_no_bars_is_still_a_valid_png() -> None:
    width, height, _rows = decode(bar_chart([], [RED]))
    assert (width, height) == (600, 2 * MARGIN)


@pytest.mark.parametrize(
    ("bars", "colours"), [([[1, 2, 3]], [RED, BLUE]), ([[-1]], [RED])], ids=["too-many-segments", "negative"]
)
def test_bad_input_is_refused(bars: list[list[int]], colours: list[tuple[int, int, int]]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        bar_chart(bars, colours)
