"""`cba-bot export report [--cohort CODE]`: the report's CSV, one row per participant (every cohort by default)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from commands.reports import service, views
from storage.models import Cohort


def export_report(session: Session, cohort_code: str | None) -> Iterator[Sequence[Any]]:
    yield views.CSV_HEADER
    query = select(Cohort).order_by(Cohort.code)
    if cohort_code:
        query = query.where(func.upper(Cohort.code) == cohort_code.upper())
    now = datetime.now(UTC)
    for cohort in session.scalars(query).all():
        yield from views.csv_rows(service.build_report(session, cohort, now))
