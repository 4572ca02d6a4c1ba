"""Arrange helpers for coaching: slots and bookings (add + flush)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from storage.models import CoachingBooking, CoachingOffer, CoachingSlot, CoachingWaitlistEntry, Member


def make_slot(
    session: Session, coach: Member, starts_at: datetime, minutes: int = 45, url: str | None = None
) -> CoachingSlot:
    slot = CoachingSlot(
        coach_id=coach.id, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes), meeting_url=url
    )
    session.add(slot)
    session.flush()
    return slot


def make_booking(session: Session, slot: CoachingSlot, participant: Member, status: str = "active") -> CoachingBooking:
    booking = CoachingBooking(
        slot_id=slot.id, participant_id=participant.id, status=status, ics_uid=f"cba-booking-{uuid.uuid4()}@test"
    )
    session.add(booking)
    session.flush()
    return booking


def make_waiting(
    session: Session, participant: Member, coach: Member | None = None, joined_at: datetime | None = None
) -> CoachingWaitlistEntry:
    entry = CoachingWaitlistEntry(
        participant_id=participant.id, coach_id=coach.id if coach is not None else None, status="waiting"
    )
    if joined_at is not None:
        entry.joined_at = joined_at
    session.add(entry)
    session.flush()
    return entry


def make_offer(
    session: Session, slot: CoachingSlot, entry: CoachingWaitlistEntry, offered_at: datetime, hold: timedelta
) -> CoachingOffer:
    offer = CoachingOffer(
        slot_id=slot.id,
        entry_id=entry.id,
        participant_id=entry.participant_id,
        offered_at=offered_at,
        expires_at=offered_at + hold,
        status="open",
    )
    session.add(offer)
    session.flush()
    return offer


COACH = "U0COACH1"
COACH2 = "U0COACH2"
PARTICIPANTS = ("U0PART1", "U0PART2", "U0PART3")
OUTSIDER = "U0OUTSIDE"


def seed_people(session: Session, fake: object | None = None, *, coach_tz: str = "Europe/Berlin") -> dict[str, Member]:
    """Two coaches, three participants of CBA3 and a member with no role; known to the fake Slack too."""
    from tests.factories import make_cohort, make_member

    cohort = make_cohort(session)
    people = {
        COACH: make_member(session, COACH, "Clara Coach", "coach", email="clara@example.org", tz=coach_tz),
        COACH2: make_member(session, COACH2, "Carl Coach", "coach", email="carl@example.org", tz="Europe/Rome"),
        # An alumnus: in the Academy, but neither participant nor coach.
        OUTSIDER: make_member(session, OUTSIDER, "Otto Outsider", "alumni"),
    }
    for index, slack_id in enumerate(PARTICIPANTS, start=1):
        people[slack_id] = make_member(
            session, slack_id, f"Pia Participant {index}", "participant", cohort=cohort, email=f"p{index}@example.org"
        )
    if fake is not None:
        for slack_id, member in people.items():
            fake.add_user(slack_id, member.name, email=member.email, tz=member.tz or "Europe/Brussels")  # type: ignore[attr-defined]
    return people
