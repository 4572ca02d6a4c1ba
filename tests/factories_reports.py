"""A cohort with three participants of varied engagement, and the numbers the report must show."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.console.fakeslack import FakeSlack
from storage.models import CheckIn, Member, Rsvp
from tests.factories import make_cohort, make_member
from tests.factories_coaching import make_booking, make_slot
from tests.factories_events import make_event
from tests.factories_homework import make_assignment, make_submission
from tests.factories_questions import make_question

ANNA, BEN, CLEO, COACH = "U0ANNA", "U0BEN", "U0CLEO", "U0COACHR"


def at(day: int, hour: int = 10, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


# name -> (rsvp y/n/none, late cancellations, check-ins, homework ok/late/missing/not due,
#          coaching booked/late-cancelled, questions/anonymous)
EXPECTED: dict[str, dict[str, int]] = {
    "Anna Active": dict(
        rsvp_yes=3,
        rsvp_no=0,
        rsvp_none=0,
        rsvp_late_cancellations=0,
        check_ins=3,
        homework_on_time=3,
        homework_late=0,
        homework_missing=0,
        homework_not_due=0,
        homework_late_within_grace=0,
        coaching_booked=2,
        coaching_late_cancelled=0,
        questions=1,
        questions_anonymous=0,
    ),
    "Ben Busy": dict(
        rsvp_yes=1,
        rsvp_no=1,
        rsvp_none=1,
        rsvp_late_cancellations=1,
        check_ins=1,
        homework_on_time=1,
        homework_late=1,
        homework_missing=0,
        homework_not_due=1,
        homework_late_within_grace=0,
        coaching_booked=2,
        coaching_late_cancelled=1,
        questions=2,
        questions_anonymous=1,
    ),
    "Cleo Quiet": dict(
        rsvp_yes=0,
        rsvp_no=0,
        rsvp_none=3,
        rsvp_late_cancellations=0,
        check_ins=1,
        homework_on_time=0,
        homework_late=1,
        homework_missing=1,
        homework_not_due=1,
        homework_late_within_grace=0,
        coaching_booked=1,
        coaching_late_cancelled=0,
        questions=0,
        questions_anonymous=0,
    ),
}


def _rsvp(session: Session, event_id: int, member: Member, answer: str, *, late: bool = False) -> None:
    session.add(Rsvp(event_id=event_id, member_id=member.id, answer=answer, late_cancellation=late, answered_at=at(1)))


def _check_in(session: Session, event_id: int, member: Member) -> None:
    session.add(CheckIn(event_id=event_id, member_id=member.id, checked_in_at=at(1)))


def seed_engagement(session: Session, fake: FakeSlack | None = None) -> dict[str, Any]:
    """CBA3 (the newest cohort) with Anna, Ben and Cleo; an older CBA2 with one participant.

    Every instant lies before the test clock (2026-11-25 09:00 UTC) except one assignment due in 2099,
    so the report made now (the export) and at the test clock agree.
    """
    older = make_cohort(session, "CBA2", "Cluster Booster Academy 2", None)
    older.created_at = at(1, month=1)
    cohort = make_cohort(session, "CBA3", "Cluster Booster Academy 3", None)
    cohort.created_at = at(1, month=6)
    people = {
        ANNA: make_member(session, ANNA, "Anna Active", "participant", cohort=cohort),
        BEN: make_member(session, BEN, "Ben Busy", "participant", cohort=cohort),
        CLEO: make_member(session, CLEO, "Cleo Quiet", "participant", cohort=cohort),
        COACH: make_member(session, COACH, "Clara Coach", "coach"),
        "U0OLD": make_member(session, "U0OLD", "Olaf Older", "participant", cohort=older),
    }
    if fake is not None:
        for slack_id, member in people.items():
            fake.add_user(slack_id, member.name)
    anna, ben, cleo, coach = people[ANNA], people[BEN], people[CLEO], people[COACH]

    # Programme days: three held, one removed (ignored).
    e1, e2, e3, removed = (make_event(session, cohort, at(day), plan=False) for day in (10, 17, 24, 20))
    removed.removed = True
    for event in (e1, e2, e3):
        _rsvp(session, event.id, anna, "yes")
        _check_in(session, event.id, anna)
    _rsvp(session, removed.id, anna, "yes")
    _check_in(session, removed.id, anna)
    _rsvp(session, e1.id, ben, "yes")
    _check_in(session, e1.id, ben)
    _rsvp(session, e2.id, ben, "no", late=True)
    _check_in(session, e2.id, cleo)  # walked in without answering
    make_event(session, older, at(12), plan=False)

    # Homework: two due, one due in 2099, one withdrawn (ignored).
    h1 = make_assignment(session, cohort, at(15, 23), "Cluster map")
    h2 = make_assignment(session, cohort, at(22, 23), "Action plan")
    h3 = make_assignment(session, cohort, datetime(2099, 1, 1, tzinfo=UTC), "Final pitch")
    withdrawn = make_assignment(session, cohort, at(20, 23), "Old task", withdrawn_at=at(19))
    for assignment in (h1, h2, h3, withdrawn):
        make_submission(session, assignment, anna, at(14))
    make_submission(session, h1, ben, at(16))  # late
    make_submission(session, h2, ben, at(21))  # on time, then revised after the due instant: on time
    make_submission(session, h2, ben, at(23))
    make_submission(session, h2, cleo, at(23))  # late, twice
    make_submission(session, h2, cleo, at(24))

    # Coaching: bookings, one cancelled late by Ben himself, one cancelled late by the coach (not his).
    slots = [make_slot(session, coach, at(day)) for day in (2, 3, 4, 5, 6)]
    make_booking(session, slots[0], anna)
    early = make_booking(session, slots[1], anna, status="cancelled")
    early.cancelled_by_id, early.cancelled_at = anna.id, at(1)
    make_booking(session, slots[2], ben)
    late = make_booking(session, slots[3], ben, status="cancelled")
    late.cancelled_by_id, late.cancelled_at, late.late = ben.id, at(6, 9), True
    by_coach = make_booking(session, slots[4], cleo, status="cancelled")
    by_coach.cancelled_by_id, by_coach.cancelled_at, by_coach.late = coach.id, at(6, 9), True

    # Questions: Anna one, Ben one named and one anonymous; the coach's is not a participant's.
    make_question(session, anna, "How do we price services?", created_at=at(5))
    make_question(session, ben, "Who funds <cluster> travel?", created_at=at(6))
    make_question(session, ben, "A sensitive one", created_at=at(7), anonymous=True)
    make_question(session, coach, "Coach question", created_at=at(8))
    session.flush()
    return {"cohort": cohort, "older": older, **people}
