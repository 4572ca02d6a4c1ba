"""`cba-bot import` and `cba-bot export`."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.config import Settings
from bot.exports import exporter_for, to_csv
from storage.db import make_engine, make_sessionmaker


def import_roster(settings: Settings, path: Path, *, dry_run: bool) -> int:
    print("cba-bot import: roster import is not available in this version yet.", file=sys.stderr)
    return 2


def export_csv(settings: Settings, kind: str, *, cohort: str | None, output: Path | None) -> int:
    export = exporter_for(kind)
    if export is None:
        print(f"cba-bot export {kind}: not available in this version yet.", file=sys.stderr)
        return 2
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with sessions() as session:
        text = to_csv(export(session, cohort))
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)
    return 0
