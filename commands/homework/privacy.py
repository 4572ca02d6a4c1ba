"""Homework's part of `/cba-profile export` and `/cba-profile delete` (SPEC 4.2).

Export: every version of every submission of the member, with the feedback on each, and the feedback
they wrote as a coach or organiser. Erasure: the texts and links of their submissions and the feedback
written about their work are deleted; the rows stay (who submitted, when, late or not: the counts
organisers see), naming a former member. Assignments an organiser created keep them as a former member.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.kernel.erasure import Erasure
from bot.kernel.registry import Registry
from commands.homework.service import submission_status
from storage.models import Assignment, Feedback, Member, Submission


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_section(session: Session, member: Member) -> dict[str, Any]:
    submissions = list(
        session.scalars(
            select(Submission)
            .where(Submission.participant_id == member.id)
            .order_by(Submission.assignment_id, Submission.version)
        )
    )
    feedback: dict[int, list[Feedback]] = {}
    if submissions:
        for row in session.scalars(
            select(Feedback)
            .where(Feedback.submission_id.in_([submission.id for submission in submissions]))
            .order_by(Feedback.created_at, Feedback.id)
        ):
            feedback.setdefault(row.submission_id, []).append(row)
    given = session.scalars(select(Feedback).where(Feedback.author_id == member.id).order_by(Feedback.id))
    return {
        "submissions": [
            {
                "submission": submission.id,
                "assignment": submission.assignment_id,
                "assignment_title": submission.assignment.title,
                "version": submission.version,
                "text": submission.text,
                "link": submission.link,
                "submitted_at": _iso(submission.submitted_at),
                "late": submission.late,
                "status": submission_status(submission, submission.assignment),
                "feedback": [
                    {
                        "by": row.author.display_name if row.author else "former member",
                        "text": row.text,
                        "at": _iso(row.created_at),
                    }
                    for row in feedback.get(submission.id, [])
                ],
            }
            for submission in submissions
        ],
        "feedback_given": [
            {"submission": row.submission_id, "text": row.text, "at": _iso(row.created_at)} for row in given
        ],
    }


def erase(erasure: Erasure) -> None:
    session = erasure.session
    submissions = list(session.scalars(select(Submission).where(Submission.participant_id == erasure.member.id)))
    for submission in submissions:
        erasure.forget(submission.text, submission.link)
        submission.text = ""
        submission.link = None
    if submissions:
        for row in session.scalars(
            select(Feedback).where(Feedback.submission_id.in_([submission.id for submission in submissions]))
        ):
            erasure.forget(row.text)
            row.text = ""
    session.flush()


def register(registry: Registry) -> None:
    registry.export_section("homework", export_section)
    registry.erasure_step(
        "homework",
        erase,
        tables=(
            Submission.__tablename__,
            Feedback.__tablename__,  # feedback they wrote as a coach is the participant's record: it stays
            Assignment.__tablename__,  # its creator (an organiser) shows as a former member
        ),
    )
