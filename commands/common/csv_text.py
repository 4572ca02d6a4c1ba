"""CSV as text, the way every CSV of the bot is written (`cba-bot export KIND`, the report's CSV).

Cells are made safe for spreadsheets (OWASP, "CSV injection"): a text cell that begins with `=`, `+`,
`-`, `@`, a tab or a carriage return is written with a leading `'`, so that no spreadsheet runs it as a
formula; the spreadsheet shows the text as typed. Only text is changed: numbers (`int`, `float`,
`Decimal`) are written as they are, because a spreadsheet reads `-3` as the number it is, never as a
formula, and a count must stay a number to be summed. Anything else (dates, enums) is written as its
text, and made safe like any text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str | int | float | Decimal:
    """One cell as the CSV writer should get it."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    cell = value if isinstance(value, str) else str(value)
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def to_csv(rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return buffer.getvalue()
