"""Arrange helpers for homework tests: add rows and flush."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Assignment, Cohort, Feedback, Member, Submission


def make_assignment(
    session: Session,
    cohort: Cohort,
    due_at: datetime,
    title: str = "Action plan",
    *,
    description: str = "",
    created_by: Member | None = None,
    withdrawn_at: datetime | None = None,
) -> Assignment:
    assignment = Assignment(
        cohort_id=cohort.id,
        title=title,
        description=description,
        due_at=due_at,
        created_by_id=created_by.id if created_by else None,
        withdrawn_at=withdrawn_at,
    )
    session.add(assignment)
    session.flush()
    return assignment


def make_submission(
    session: Session,
    assignment: Assignment,
    participant: Member,
    submitted_at: datetime,
    text: str = "My answer",
    *,
    link: str | None = None,
) -> Submission:
    versions = session.scalars(
        select(Submission.version).where(
            Submission.assignment_id == assignment.id, Submission.participant_id == participant.id
        )
    ).all()
    submission = Submission(
        assignment_id=assignment.id,
        participant_id=participant.id,
        version=max(versions, default=0) + 1,
        text=text,
        link=link,
        submitted_at=submitted_at,
        late=submitted_at > assignment.due_at,
    )
    session.add(submission)
    session.flush()
    return submission


def make_feedback(session: Session, submission: Submission, author: Member, text: str, at: datetime) -> Feedback:
    feedback = Feedback(submission_id=submission.id, author_id=author.id, text=text, created_at=at)
    session.add(feedback)
    session.flush()
    return feedback
