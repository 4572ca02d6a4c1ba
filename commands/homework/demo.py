"""Demo data: an assignment for the demo cohort CBA3, one submission and a coach's feedback."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.kernel.settings import ConfigError, Settings, load_settings
from commands.common.demo_cast import CURRENT_COHORT
from commands.homework import service
from storage.models import Assignment, Cohort, Feedback, Member, Submission

DEMO_TITLE = "Cluster action plan (first draft)"
DEMO_DESCRIPTION = "Two pages: your cluster's three priorities for the next year, and how you will measure them."


def demo_homework(session: Session, now: datetime, members: dict[str, Member]) -> None:
    cohort = session.scalar(select(Cohort).where(Cohort.code == CURRENT_COHORT[0]))
    if cohort is None:
        return
    assignment = session.scalar(
        select(Assignment).where(Assignment.cohort_id == cohort.id, Assignment.title == DEMO_TITLE)
    )
    if assignment is None:
        organiser = members.get("U0DEMOORG1")
        due_day = (now + timedelta(days=14)).astimezone(ZoneInfo("Europe/Brussels")).date()
        assignment = Assignment(
            cohort_id=cohort.id,
            title=DEMO_TITLE,
            description=DEMO_DESCRIPTION,
            due_at=service.due_instant(due_day, ZoneInfo("Europe/Brussels")),
            created_by_id=organiser.id if organiser else None,
            created_at=now,
        )
        session.add(assignment)
        session.flush()
    participant = members.get("U0DEMOPA01")
    if participant is not None:
        exists = session.scalar(
            select(Submission.id).where(
                Submission.assignment_id == assignment.id, Submission.participant_id == participant.id
            )
        )
        if exists is None:
            submission = Submission(
                assignment_id=assignment.id,
                participant_id=participant.id,
                version=1,
                text="Our three priorities: internationalisation, skills, green transition. Draft attached.",
                link="https://docs.example.org/cluster-action-plan-draft",
                submitted_at=now,
                late=service.is_late(now, assignment.due_at),
            )
            session.add(submission)
            session.flush()
            coach = members.get("U0DEMOCO01")
            if coach is not None:
                session.add(
                    Feedback(
                        submission_id=submission.id,
                        author_id=coach.id,
                        text="A clear start. Add one measurable target per priority.",
                        created_at=now,
                    )
                )
    session.flush()
    service.plan_reminders(session, assignment, _offsets(), now)


def _offsets() -> tuple[timedelta, ...]:
    """CBA_HOMEWORK_REMINDERS as configured (demo steps are not given the settings)."""
    try:
        return load_settings(dict(os.environ)).homework_reminders
    except ConfigError:
        return Settings().homework_reminders
