"""The homework part of the organisers' digest: who has not handed in, for the next and the last due date."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.kernel.digest import DigestItem, DigestPart, DigestScope, command, mentions
from bot.kernel.registry import Registry
from commands.common.cohorts import cohort_participants
from commands.common.text import escape, truncate
from commands.homework import service
from storage.models import Assignment

# A due date further back than this is the report's business, not the digest's (a cohort long finished
# would otherwise show its last assignment's missing homework every week).
LOOKBACK = timedelta(days=28)


def missing_section(scope: DigestScope) -> DigestPart | None:
    """Per assignment due at the cohort's next due instant and at its last one: who has not submitted."""
    if scope.cohort is None:
        return None
    assignments = list(
        scope.session.scalars(
            select(Assignment)
            .where(Assignment.cohort_id == scope.cohort.id, Assignment.withdrawn_at.is_(None))
            .order_by(Assignment.due_at, Assignment.id)
        )
    )
    upcoming = [a.due_at for a in assignments if a.due_at > scope.now]
    past = [a.due_at for a in assignments if scope.now - LOOKBACK <= a.due_at <= scope.now]
    dues = {due for due in (min(upcoming, default=None), max(past, default=None)) if due is not None}
    chosen = [a for a in assignments if a.due_at in dues]
    if not chosen:
        return DigestPart()
    people = cohort_participants(scope.session, scope.cohort.id)
    handed_in = service.progress(scope.session, [a.id for a in chosen], [p.id for p in people])
    items = []
    for assignment in chosen:
        missing = [p.slack_id for p in people if (assignment.id, p.id) not in handed_in]
        if not missing:
            continue
        state = "not handed in yet" if assignment.due_at > scope.now else "missing"
        items.append(
            DigestItem(
                f"assignment #{assignment.id} “{escape(truncate(assignment.title, 60))}” due "
                f"{scope.date(assignment.due_at)}: {len(missing)} of {len(people)} {state}: {mentions(missing)}",
                command(f"/cba-homework status {assignment.id}"),
            )
        )
    return DigestPart(items)


def register(registry: Registry) -> None:
    registry.digest_section("homework", missing_section, title="Homework missing", order=20)
