"""Engagement per participant of a cohort (SPEC 4.9): RSVPs, check-ins, homework, coaching, questions.

Reads only; no Slack. Counts come from the other features' tables in a fixed number of queries per
cohort (not per participant). Erased members keep their rows (only their personal data goes), so
they are counted like everyone else and shown as "former member".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from commands.coaching import waitlist
from commands.common.actors import Actor
from commands.common.errors import NotFound, UsageError
from commands.homework import service as homework
from commands.reports.parse import usage
from storage.models import (
    Assignment,
    CheckIn,
    CoachingBooking,
    Cohort,
    Event,
    Member,
    Question,
    RoleGrant,
    Rsvp,
)


@dataclass
class Engagement:
    """One participant's counts. Plain values only: safe to use after the session is gone."""

    member_id: int
    name: str
    slack_id: str
    rsvp_yes: int = 0
    rsvp_no: int = 0
    rsvp_none: int = 0
    rsvp_late_cancellations: int = 0
    check_ins: int = 0
    homework_on_time: int = 0
    homework_late: int = 0
    homework_late_within_grace: int = 0  # of homework_late: by the assignment's due time + grace
    homework_missing: int = 0
    homework_not_due: int = 0
    coaching_booked: int = 0
    coaching_late_cancelled: int = 0
    questions: int = 0
    questions_anonymous: int = 0

    @property
    def homework_submitted(self) -> int:
        return self.homework_on_time + self.homework_late


COUNT_FIELDS = tuple(f.name for f in fields(Engagement) if f.type == "int" and f.name != "member_id")


@dataclass
class Report:
    cohort_code: str
    cohort_name: str
    events: int
    assignments: int
    assignments_due: int
    rows: list[Engagement] = field(default_factory=list)
    # The cohort's participants on the coaching waitlist, per coach they wait for ("any coach" first).
    waitlist: list[tuple[str, int]] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(int(getattr(row, name)) for row in self.rows)


# --- which cohort ---------------------------------------------------------------------------------


def choose_cohort(session: Session, code: str | None) -> Cohort:
    """The cohort named, else the newest one (by creation); unknown or none at all → usage."""
    if code is not None:
        cohort = session.scalar(select(Cohort).where(func.upper(Cohort.code) == code.upper()))
        if cohort is None:
            raise NotFound("cohort", code, usage=usage())
        return cohort
    cohort = session.scalars(select(Cohort).order_by(Cohort.created_at.desc(), Cohort.id.desc())).first()
    if cohort is None:
        raise UsageError("There is no cohort yet: add one with `/cba-admin cohort add`.", usage=usage())
    return cohort


def engagement_report(session: Session, actor: Actor, code: str | None, now: datetime) -> Report:
    actor.require("organiser", action="see engagement reports")
    return build_report(session, choose_cohort(session, code), now)


# --- the counts -----------------------------------------------------------------------------------


def cohort_members(session: Session, cohort_id: int) -> list[Member]:
    """Everyone holding the participant role in the cohort, erased members included, by name."""
    return list(
        session.scalars(
            select(Member)
            .join(RoleGrant, RoleGrant.member_id == Member.id)
            .where(RoleGrant.role == "participant", RoleGrant.cohort_id == cohort_id)
            .order_by(Member.name, Member.id)
        )
    )


def build_report(session: Session, cohort: Cohort, now: datetime) -> Report:
    members = cohort_members(session, cohort.id)
    ids = [m.id for m in members]
    rows = {m.id: Engagement(m.id, m.display_name, m.slack_id or "") for m in members}
    event_ids = list(session.scalars(select(Event.id).where(Event.cohort_id == cohort.id, Event.removed.is_(False))))
    assignments = list(
        session.scalars(select(Assignment).where(Assignment.cohort_id == cohort.id, Assignment.withdrawn_at.is_(None)))
    )
    report = Report(
        cohort.code,
        cohort.name,
        events=len(event_ids),
        assignments=len(assignments),
        assignments_due=sum(1 for a in assignments if a.due_at <= now),
        rows=list(rows.values()),
    )
    if not ids:
        return report
    report.waitlist = waitlist.lengths(session, cohort.id).by_coach
    _count_rsvps(session, rows, event_ids)
    _count_homework(session, rows, {m.id: m for m in members}, assignments, now)
    _count_coaching(session, rows)
    _count_questions(session, rows)
    return report


def _count_rsvps(session: Session, rows: dict[int, Engagement], event_ids: list[int]) -> None:
    if not event_ids:
        return
    answered: Counter[int] = Counter()
    for member_id, answer, late in session.execute(
        select(Rsvp.member_id, Rsvp.answer, Rsvp.late_cancellation).where(
            Rsvp.event_id.in_(event_ids), Rsvp.member_id.in_(list(rows))
        )
    ):
        row = rows[member_id]
        answered[member_id] += 1
        if answer == "yes":
            row.rsvp_yes += 1
        else:
            row.rsvp_no += 1
        if late:
            row.rsvp_late_cancellations += 1
    for member_id, row in rows.items():
        row.rsvp_none = len(event_ids) - answered[member_id]
    for member_id, count in session.execute(
        select(CheckIn.member_id, func.count())
        .where(CheckIn.event_id.in_(event_ids), CheckIn.member_id.in_(list(rows)))
        .group_by(CheckIn.member_id)
    ):
        rows[member_id].check_ins = int(count)


def _count_homework(
    session: Session,
    rows: dict[int, Engagement],
    members: dict[int, Member],
    assignments: list[Assignment],
    now: datetime,
) -> None:
    """On time / late as the homework feature decides; nothing in: missing once due, else not due yet."""
    found = homework.progress(session, [a.id for a in assignments], list(rows))
    for assignment in assignments:
        for member_id, row in rows.items():
            submissions, _feedback = found.get((assignment.id, member_id), ([], 0))
            state = homework.Progress(members[member_id], submissions, assignment=assignment).state
            if state == homework.ON_TIME:
                row.homework_on_time += 1
            elif state in (homework.IN_GRACE, homework.LATE):
                row.homework_late += 1  # after the due time, as before the grace window existed
                if state == homework.IN_GRACE:
                    row.homework_late_within_grace += 1
            elif assignment.due_at <= now:
                row.homework_missing += 1
            else:
                row.homework_not_due += 1


_LATE_BY_PARTICIPANT = and_(
    CoachingBooking.status == "cancelled",
    CoachingBooking.late.is_(True),
    CoachingBooking.cancelled_by_id == CoachingBooking.participant_id,
)


def _count_coaching(session: Session, rows: dict[int, Engagement]) -> None:
    """Every booking the participant made; late cancellations are the ones they cancelled themselves."""
    for member_id, booked, late in session.execute(
        select(
            CoachingBooking.participant_id,
            func.count(),
            func.sum(case((_LATE_BY_PARTICIPANT, 1), else_=0)),
        )
        .where(CoachingBooking.participant_id.in_(list(rows)))
        .group_by(CoachingBooking.participant_id)
    ):
        rows[member_id].coaching_booked = int(booked)
        rows[member_id].coaching_late_cancelled = int(late or 0)


def _count_questions(session: Session, rows: dict[int, Engagement]) -> None:
    """Anonymous questions count for their asker: the report is for organisers, who may see askers."""
    for member_id, anonymous, count in session.execute(
        select(Question.asker_id, Question.anonymous, func.count())
        .where(Question.asker_id.in_(list(rows)))
        .group_by(Question.asker_id, Question.anonymous)
    ):
        if member_id is None:
            continue
        row = rows[member_id]
        row.questions += int(count)
        if anonymous:
            row.questions_anonymous += int(count)
