"""`cba-bot export bookings [--cohort CODE]`: every booking, late cancellations included."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import CoachingBooking, CoachingSlot, Cohort, RoleGrant

HEADER = (
    "booking_id",
    "slot_id",
    "cohort",
    "participant",
    "participant_email",
    "coach",
    "coach_email",
    "starts_at_utc",
    "minutes",
    "status",
    "booked_at_utc",
    "cancelled_at_utc",
    "cancelled_by",
    "late_cancellation",
)


def _iso(value: Any) -> str:
    return value.isoformat().replace("+00:00", "Z") if value is not None else ""


def export_bookings(session: Session, cohort_code: str | None) -> Iterable[Sequence[Any]]:
    yield HEADER
    cohort_of = {
        member_id: code
        for member_id, code in session.execute(
            select(RoleGrant.member_id, Cohort.code)
            .join(Cohort, Cohort.id == RoleGrant.cohort_id)
            .where(RoleGrant.role == "participant")
        )
    }
    query = (
        select(CoachingBooking)
        .join(CoachingSlot, CoachingSlot.id == CoachingBooking.slot_id)
        .order_by(CoachingSlot.starts_at, CoachingBooking.id)
    )
    for booking in session.scalars(query):
        cohort = cohort_of.get(booking.participant_id, "")
        if cohort_code is not None and cohort != cohort_code:
            continue
        slot = booking.slot
        if booking.cancelled_by_id is None:
            by = ""
        elif booking.cancelled_by_id == booking.participant_id:
            by = "participant"
        elif booking.cancelled_by_id == slot.coach_id:
            by = "coach"
        else:
            by = "organiser"
        yield (
            booking.id,
            slot.id,
            cohort,
            booking.participant.display_name,
            booking.participant.email or "",
            slot.coach.display_name,
            slot.coach.email or "",
            _iso(slot.starts_at),
            slot.minutes,
            booking.status,
            _iso(booking.created_at),
            _iso(booking.cancelled_at),
            by,
            "yes" if booking.late else "no",
        )
