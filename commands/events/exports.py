"""`cba-bot export attendance`: one row per member and programme day."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from commands.events import service


def export_attendance(session: Session, cohort_code: str | None) -> Iterable[Sequence[Any]]:
    yield service.ATTENDANCE_HEADER
    yield from service.attendance_rows(session, cohort_code)
