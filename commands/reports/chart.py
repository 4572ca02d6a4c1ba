"""A horizontal stacked bar chart as a PNG, drawn with matplotlib (Agg, no pyplot, no global state).

One bar per participant, top to bottom in the order given, its name on the left and one coloured
segment per count. matplotlib is imported inside `bar_chart`, so only the report that draws a chart
pays for it (about a second, once per process): `/cba-help` and every other request never load it.
The output is deterministic for the same input (no timestamp or version in the PNG's metadata).
"""

from __future__ import annotations

import io
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_BARS = 200  # beyond this the picture says nothing more; the CSV has everyone
WIDTH_INCHES = 8.0
BAR_INCHES = 0.28
FRAME_INCHES = 1.4  # title, axis and legend
DPI = 100
NAME_CHARS = 28
TITLE_CHARS = 80

# Agg itself is thread-safe per figure, but matplotlib's font and text caches are shared: one chart at a time.
_DRAWING = threading.Lock()


@dataclass(frozen=True)
class Segment:
    label: str
    colour: str  # "#rrggbb"


def bar_chart(
    names: Sequence[str], bars: Sequence[Sequence[int]], segments: Sequence[Segment], *, title: str = ""
) -> bytes:
    """One stacked bar per entry of `bars` (segment values, coloured by `segments` in order), as PNG bytes.

    Names and the title are drawn as plain text: `$` and backslashes never start mathtext.
    """
    if len(names) != len(bars):
        raise ValueError("one name per bar")
    if any(len(values) > len(segments) for values in bars):
        raise ValueError("more segments than colours")
    if any(value < 0 for values in bars for value in values):
        raise ValueError("bar values cannot be negative")
    shown = list(bars[:MAX_BARS])
    labels = [_one_line(name, NAME_CHARS) for name in names[:MAX_BARS]]
    title = _one_line(title, TITLE_CHARS) if title else ""
    if len(bars) > MAX_BARS:
        title = f"{title} (first {MAX_BARS} of {len(bars)}; the CSV has everyone)".strip()

    from matplotlib.backends.backend_agg import FigureCanvasAgg  # imported here: see the module docstring
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    height = FRAME_INCHES + BAR_INCHES * max(1, len(shown))
    with _DRAWING, warnings.catch_warnings():
        # A name in a script the bundled font lacks (emoji, CJK) shows as boxes; that is no reason to warn.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        figure = Figure(figsize=(WIDTH_INCHES, height), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        rows = list(range(len(shown)))
        left = [0] * len(shown)
        for index, segment in enumerate(segments):
            values = [values[index] if index < len(values) else 0 for values in shown]
            axes.barh(rows, values, left=left, color=segment.colour, height=0.7)
            left = [start + value for start, value in zip(left, values, strict=True)]
        axes.set_yticks(rows, labels=labels)
        axes.set_ylim(len(shown) - 0.5 if shown else 0.5, -0.5)  # the first participant on top
        axes.set_xlim(0, max(max(left, default=0), 1) * 1.02)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.spines[["top", "right"]].set_visible(False)
        axes.grid(axis="x", color="#e8e8e8")
        axes.set_axisbelow(True)
        if not shown:
            axes.text(0.5, 0.5, "No participants yet", transform=axes.transAxes, ha="center", parse_math=False)
        for text in axes.get_yticklabels():
            text.set_parse_math(False)
        if title:
            axes.set_title(title, loc="left", parse_math=False)
        handles = [Patch(color=segment.colour, label=segment.label) for segment in segments]
        figure.legend(
            handles=handles, loc="outside lower center", ncols=max(1, len(segments)), frameon=False, fontsize="small"
        )
        out = io.BytesIO()
        figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def _one_line(text: str, limit: int) -> str:
    """Text fit for a label: one line, no control characters, cut to a readable width."""
    clean = "".join(ch if ch.isprintable() else " " for ch in text).strip() or "?"
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"
