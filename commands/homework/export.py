"""`cba-bot export homework [--cohort CODE]`: one row per participant and assignment."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from commands.homework import service
from storage.models import Assignment, Cohort

HEADER = (
    "cohort",
    "assignment_id",
    "title",
    "due_at",
    "slack_id",
    "name",
    "status",
    "versions",
    "first_submitted_at",
    "latest_submitted_at",
    "late",
    "latest_submission_id",
    "feedback_count",
)


def _iso(value: Any) -> str:
    return value.isoformat() if value is not None else ""


def export_homework(session: Session, cohort_code: str | None) -> Iterator[Sequence[Any]]:
    """Open (not withdrawn) assignments; `late` is yes when no version came in by the due instant;
    `status` is on time, late (within grace) (by the due instant + the assignment's grace), late or missing."""
    yield HEADER
    query = select(Assignment, Cohort).join(Cohort, Cohort.id == Assignment.cohort_id)
    query = query.where(Assignment.withdrawn_at.is_(None))
    if cohort_code:
        query = query.where(func.upper(Cohort.code) == cohort_code.upper())
    pairs = list(session.execute(query.order_by(Cohort.code, Assignment.due_at, Assignment.id)))
    for assignment, cohort in pairs:
        rows = sorted(service.assignment_progress(session, assignment), key=lambda r: (r.member.name, r.member.id))
        for row in rows:
            first, latest = row.first, row.latest
            yield (
                cohort.code,
                assignment.id,
                assignment.title,
                _iso(assignment.due_at),
                row.member.slack_id or "",
                row.member.display_name,
                row.state,
                row.versions,
                _iso(first.submitted_at if first else None),
                _iso(latest.submitted_at if latest else None),
                "" if row.state == service.MISSING else ("no" if row.state == service.ON_TIME else "yes"),
                latest.id if latest else "",
                row.feedback_count,
            )
