"""CSV exports for `cba-bot export KIND`; each feature registers the kinds it owns."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

# An exporter yields the header row, then the data rows.
Exporter = Callable[[Session, str | None], Iterable[Sequence[Any]]]
_exporters: dict[str, Exporter] = {}


def exporter(kind: str) -> Callable[[Exporter], Exporter]:
    def register(fn: Exporter) -> Exporter:
        _exporters[kind] = fn
        return fn

    return register


def exporter_for(kind: str) -> Exporter | None:
    import commands  # noqa: F401  (importing the features registers their exporters)

    return _exporters.get(kind)


def to_csv(rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return buffer.getvalue()
