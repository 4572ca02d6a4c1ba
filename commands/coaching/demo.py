"""`cba-bot demo`: a few slots for the demo coaches, one booking and one participant on the waitlist
(idempotent). Cancel the demo booking (`/cba-book cancel 1` as U0DEMOPA01) and the waiter gets the slot held."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.kernel import planning
from bot.kernel.settings import Settings
from commands.common.parsing import local_to_utc
from storage.models import CoachingBooking, CoachingSlot, CoachingWaitlistEntry, Member

DEMO_SLOTS = {
    # coach: (days ahead, local start, minutes, count)
    "U0DEMOCO01": ((3, time(10, 0), 45, 3), (5, time(14, 0), 60, 2)),
    "U0DEMOCO02": ((4, time(9, 30), 45, 2), (6, time(16, 0), 30, 3)),
}
DEMO_BOOKER = "U0DEMOPA01"
# Waits for the next free slot of the first demo coach (whose first slot the booker holds).
DEMO_WAITER, DEMO_AWAITED = "U0DEMOPA02", "U0DEMOCO01"


def coaching_demo(session: Session, now: datetime, members: dict[str, Member]) -> None:
    first_slot: CoachingSlot | None = None
    for coach_slack, plans in DEMO_SLOTS.items():
        coach = members.get(coach_slack)
        if coach is None:
            continue
        if session.scalar(select(CoachingSlot.id).where(CoachingSlot.coach_id == coach.id).limit(1)) is not None:
            continue
        zone = ZoneInfo(coach.tz or "Europe/Brussels")
        today = now.astimezone(zone).date()
        for days, at, minutes, count in plans:
            start = local_to_utc(today + timedelta(days=days), at, zone, fold=0)
            for i in range(count):
                slot = CoachingSlot(
                    coach_id=coach.id,
                    starts_at=start + timedelta(minutes=minutes * i),
                    ends_at=start + timedelta(minutes=minutes * (i + 1)),
                    meeting_url=f"https://meet.example.com/cba-{coach_slack.lower()}",
                    created_at=now,
                )
                session.add(slot)
                session.flush()
                if first_slot is None:
                    first_slot = slot
    _demo_waiter(session, now, members)
    booker = members.get(DEMO_BOOKER)
    if booker is None or first_slot is None:
        return
    if session.scalar(select(CoachingBooking.id).where(CoachingBooking.participant_id == booker.id)) is None:
        booking = CoachingBooking(
            slot_id=first_slot.id,
            participant_id=booker.id,
            status="active",
            created_at=now,
            ics_uid=f"cba-booking-{uuid.uuid4()}@cba-bot",
            ics_sequence=0,
        )
        session.add(booking)
        session.flush()
        planning.sync_reminders(
            session,
            kind="coaching",
            subject_type="booking",
            subject_id=booking.id,
            starts_at=first_slot.starts_at,
            offsets=Settings().coaching_reminders,
            recipients=[sid for sid in (booker.slack_id, first_slot.coach.slack_id) if sid],
            now=now,
        )


def _demo_waiter(session: Session, now: datetime, members: dict[str, Member]) -> None:
    waiter, coach = members.get(DEMO_WAITER), members.get(DEMO_AWAITED)
    if waiter is None or coach is None:
        return
    known = session.scalar(select(CoachingWaitlistEntry.id).where(CoachingWaitlistEntry.participant_id == waiter.id))
    if known is None:
        session.add(
            CoachingWaitlistEntry(
                participant_id=waiter.id, coach_id=coach.id, joined_at=now - timedelta(days=1), status="waiting"
            )
        )
        session.flush()
