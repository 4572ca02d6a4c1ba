"""`cba-bot import` and `cba-bot export` (roster and CSV exports)."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.config import Settings


def import_roster(settings: Settings, path: Path, *, dry_run: bool) -> int:
    print("cba-bot import: roster import is not available in this version yet.", file=sys.stderr)
    return 2


def export_csv(settings: Settings, kind: str, *, cohort: str | None, output: Path | None) -> int:
    print(f"cba-bot export {kind}: not available in this version yet.", file=sys.stderr)
    return 2
