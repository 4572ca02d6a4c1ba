"""The report's bar chart, drawn with matplotlib: a valid PNG that decodes, sized to the cohort, the
segments in their colours, hostile names drawn as plain text, and matplotlib loaded only when drawing."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from matplotlib import image

from commands.reports.chart import DPI, MAX_BARS, PNG_SIGNATURE, Segment, bar_chart

RED, BLUE = Segment("red things", "#c80000"), Segment("blue things", "#0000c8")


def decode(png: bytes) -> np.ndarray:
    """The PNG's pixels as 8-bit RGB, after checking the signature; matplotlib (Pillow) does the decoding."""
    assert png.startswith(PNG_SIGNATURE)
    pixels = image.imread(io.BytesIO(png), format="png")
    assert pixels.ndim == 3
    assert pixels.shape[2] in (3, 4)
    return np.rint(pixels[:, :, :3] * 255).astype(np.uint8)


def has_colour(pixels: np.ndarray, hex_colour: str) -> bool:
    rgb = [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]
    return bool(np.all(pixels == rgb, axis=-1).any())


@pytest.mark.parametrize("count", [1, 5, 40])
def test_a_valid_png_whose_height_grows_with_the_participants(count: int) -> None:
    names = [f"Participant {i}" for i in range(count)]
    pixels = decode(bar_chart(names, [[i, 1] for i in range(count)], [RED, BLUE], title="Engagement in CBA3"))
    height, width = pixels.shape[:2]
    assert width == 8 * DPI
    assert 100 < height < 250 + count * 0.3 * DPI
    assert height > count * 0.25 * DPI


def test_each_segment_is_drawn_in_its_colour_only_when_it_counts() -> None:
    both = decode(bar_chart(["A", "B"], [[2, 3], [1, 0]], [RED, BLUE]))
    assert has_colour(both, RED.colour)
    assert has_colour(both, BLUE.colour)
    no_blue_bars = decode(bar_chart(["A", "B"], [[2, 0], [1, 0]], [RED, Segment("blue", "#0000c9")]))
    # The legend still shows the colour in a small patch; the bars would make it a large area.
    assert np.all(no_blue_bars == [0, 0, 201], axis=-1).sum() < np.all(no_blue_bars == [200, 0, 0], axis=-1).sum() / 5


def test_the_same_numbers_give_the_same_bytes() -> None:
    args = (["Anna", "Ben"], [[1, 2], [3, 4]], [RED, BLUE])
    assert bar_chart(*args, title="T") == bar_chart(*args, title="T")


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize(
    "name",
    ["Anna $x$", "Ben \\frac{", "$$$", "Cléo 🎉 李", "tab\tand\nnewline\x00nul", "x" * 500, ""],
    ids=["dollars", "broken-tex", "only-dollars", "emoji-cjk", "control-chars", "long", "empty"],
)
def test_names_are_plain_text_whatever_they_contain(name: str) -> None:
    decode(bar_chart([name, "Other"], [[1, 1], [2, 0]], [RED, BLUE], title=f"Cohort {name}"))


def test_no_participants_is_still_a_valid_png() -> None:
    pixels = decode(bar_chart([], [], [RED, BLUE], title="Nobody yet"))
    assert pixels.shape[1] == 8 * DPI


def test_a_huge_cohort_is_capped_in_the_picture() -> None:
    count = MAX_BARS + 50
    pixels = decode(bar_chart([f"P{i}" for i in range(count)], [[1]] * count, [RED]))
    assert pixels.shape[0] < (MAX_BARS * 0.3 + 3) * DPI


@pytest.mark.parametrize(
    ("names", "bars", "segments"),
    [(["A"], [[1, 2, 3]], [RED, BLUE]), (["A"], [[-1]], [RED]), (["A", "B"], [[1]], [RED])],
    ids=["too-many-segments", "negative", "names-and-bars-differ"],
)
def test_bad_input_is_refused(names: list[str], bars: list[list[int]], segments: list[Segment]) -> None:
    with pytest.raises(ValueError):
        bar_chart(names, bars, segments)


def test_matplotlib_is_loaded_only_to_draw() -> None:
    """Building the whole bot and answering /cba-help's views never imports matplotlib; drawing does."""
    script = textwrap.dedent(
        """
        import sys
        from bot.features import build_registry
        import bot.app, commands.help.views
        build_registry()
        assert "matplotlib" not in sys.modules, "loaded by the bot's imports"
        from commands.reports.chart import Segment, bar_chart
        bar_chart(["A"], [[1]], [Segment("a", "#000000")])
        assert "matplotlib" in sys.modules
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
