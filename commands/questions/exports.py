"""`cba-bot export questions`: one row per question. Anonymous askers stay anonymous here too."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, selectinload

from storage.models import Answer, Cohort, Member, Question, RoleGrant

HEADER = ("question", "asked_at", "asker", "asker_email", "status", "resolved_at", "answers", "nudged", "text")


def export_questions(session: Session, cohort_code: str | None) -> Iterator[Sequence[Any]]:
    yield HEADER
    statement = (
        select(Question)
        .options(selectinload(Question.asker), selectinload(Question.answers).load_only(Answer.id))
        .order_by(Question.id)
    )
    if cohort_code:
        statement = statement.where(
            exists().where(
                RoleGrant.member_id == Question.asker_id,
                RoleGrant.cohort_id == Cohort.id,
                Cohort.code == cohort_code,
            )
        )
    for question in session.scalars(statement):
        asker: Member | None = question.asker
        if question.anonymous:
            name, email = "anonymous", ""
        elif asker is None or asker.erased_at is not None or not asker.slack_id:
            name, email = "former member", ""
        else:
            name, email = asker.name, asker.email or ""
        yield (
            question.id,
            question.created_at.isoformat(),
            name,
            email,
            question.status,
            question.resolved_at.isoformat() if question.resolved_at else "",
            len(question.answers),
            "yes" if question.nudged else "no",
            question.text,
        )
