"""What the App Home shows one viewer: read-only, built from the other features' services.

Takes a session, the viewer and the time; no Slack here and nothing written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from commands.coaching import service as coaching
from commands.coaching import waitlist
from commands.common.actors import Actor
from commands.events import service as events
from commands.homework import service as homework
from commands.members import search
from commands.members import service as members
from commands.questions import service as questions
from storage.models import (
    CoachingBooking,
    CoachingOffer,
    CoachingSlot,
    Cohort,
    Event,
    Question,
    QuestionRouting,
    Rsvp,
)

NEXT_DAYS = 4
MATCHING_QUESTIONS = 5
ROUTED_QUESTIONS = 20  # more than the Home lists: the rest are counted ("…and N more")


@dataclass(frozen=True)
class OrganiserCounts:
    members: int
    by_role: list[tuple[str, int]]
    pending_rsvps: int
    late_rsvps: int
    late_bookings: int
    open_questions: int


@dataclass
class Dashboard:
    """Everything the viewer's Home tab lists; empty lists are sections left out."""

    name: str
    slack_id: str
    roles: list[str]  # labels, e.g. "participant (CBA3)"
    role_set: frozenset[str] = frozenset()
    cohort: Cohort | None = None
    days: list[tuple[Event, str | None]] = field(default_factory=list)  # (day, answer_key of the viewer's RSVP)
    bookings: list[CoachingBooking] = field(default_factory=list)
    slots: list[tuple[CoachingSlot, CoachingBooking | None]] = field(default_factory=list)
    waiting: waitlist.Standing | None = None  # their place on the coaching waitlist
    offers: list[CoachingOffer] = field(default_factory=list)  # slots held for them (with "Book")
    homework: list[homework.Mine] = field(default_factory=list)
    my_questions: list[Question] = field(default_factory=list)
    matching: list[Question] = field(default_factory=list)  # alumni: routed to them first, then matching
    counts: OrganiserCounts | None = None
    # The viewer's absence (SPEC 4.8: the Home shows their away dates) and their zone, to read it in.
    tz: str | None = None
    away_from: date | None = None
    away_until: date | None = None

    def has(self, role: str) -> bool:
        return role in self.role_set


def role_labels(session: Session, actor: Actor) -> list[str]:
    """`participant (CBA3)`, `coach`…: granted roles with their cohort, plus roles from configuration."""
    lines = members.roles_of_member(session, actor.member) if actor.member.id is not None else []
    labels = [f"{line.role} ({line.cohort})" if line.cohort else line.role for line in lines]
    granted = {line.role for line in lines}
    labels += sorted(role for role in actor.roles if role not in granted)
    return labels


def organiser_counts(session: Session, actor: Actor, now: datetime) -> OrganiserCounts:
    actor.require("organiser", action="see the programme's counts")
    directory = search.counts(session, members.viewer_of(actor), hidden_listed=0)
    pending, late = events.rsvp_totals(session, now)
    return OrganiserCounts(
        members=directory.total,
        by_role=directory.by_role,
        pending_rsvps=pending,
        late_rsvps=late,
        late_bookings=coaching.late_cancellations(session),
        open_questions=questions.open_questions(session, 0, 1).total,
    )


def answer_key(rsvp: Rsvp | None) -> str | None:
    """The viewer's answer for a day as the Home shows it: "yes", "no", "late" (a late decline) or None."""
    if rsvp is None:
        return None
    return "late" if rsvp.answer == "no" and rsvp.late_cancellation else rsvp.answer


def dashboard(session: Session, actor: Actor, now: datetime) -> Dashboard:
    member = actor.member
    board = Dashboard(
        name=member.name,
        slack_id=actor.slack_id,
        roles=role_labels(session, actor),
        role_set=actor.roles,
        tz=member.tz,
        away_from=member.away_from,
        away_until=member.away_until,
    )
    if actor.has("organiser"):
        board.counts = organiser_counts(session, actor, now)
    if member.id is None:  # never used a command (an organiser by configuration): nothing of theirs
        return board
    if actor.has("participant"):
        cohort_id = homework.participant_cohort_id(session, member)
        if cohort_id is not None:
            board.cohort = session.get(Cohort, cohort_id)
            days = events.upcoming_events(session, cohort_id, now)[:NEXT_DAYS]
            answers = events.answers_of(session, member.id, [day.id for day in days])
            board.days = [(day, answer_key(answers.get(day.id))) for day in days]
        board.homework = homework.my_assignments(session, actor)
        board.bookings, _coached = coaching.my_bookings(session, actor, now)
        board.waiting = waitlist.standing(session, member.id)
        board.offers = waitlist.open_offers(session, member.id)
    if actor.has("coach"):
        board.slots = coaching.coach_slots(session, actor, now)
    board.my_questions = [
        q for q in questions.questions_asked_by(session, member.id, include_anonymous=True) if q.status == "open"
    ]
    if actor.has("alumni"):
        routed = routed_to(session, member.id)
        seen = {q.id for q in routed}
        matching = questions.open_questions_matching(session, member, limit=MATCHING_QUESTIONS)
        board.matching = routed + [q for q in matching if q.id not in seen]
    return board


def routed_to(session: Session, member_id: int, limit: int = ROUTED_QUESTIONS) -> list[Question]:
    """Open questions the bot routed to this alumni (not their own), newest first."""
    return list(
        session.scalars(
            select(Question)
            .join(QuestionRouting, QuestionRouting.question_id == Question.id)
            .where(
                QuestionRouting.member_id == member_id,
                Question.status == "open",
                or_(Question.asker_id.is_(None), Question.asker_id != member_id),
            )
            .order_by(Question.created_at.desc(), Question.id.desc())
            .limit(limit)
        )
    )
