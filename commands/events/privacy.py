"""Programme days' part of `/cba-profile export` and `/cba-profile delete` (SPEC 4.2).

Export: the member's RSVPs with their decline reasons, and their check-ins. Erasure: the decline reasons
(free text, possibly about health) are deleted; the answers and check-ins stay, as a former member's,
so that attendance counts stay right. Days an organiser created keep their creator as a former member.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.kernel.erasure import Erasure
from bot.kernel.registry import Registry
from storage.models import CheckIn, Event, Member, Rsvp


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_section(session: Session, member: Member) -> dict[str, Any]:
    rsvps = session.execute(
        select(Rsvp, Event).join(Event, Event.id == Rsvp.event_id).where(Rsvp.member_id == member.id).order_by(Rsvp.id)
    )
    checkins = session.execute(
        select(CheckIn, Event)
        .join(Event, Event.id == CheckIn.event_id)
        .where(CheckIn.member_id == member.id)
        .order_by(CheckIn.id)
    )
    return {
        "rsvps": [
            {
                "event": event.id,
                "title": event.title,
                "starts_at": _iso(event.starts_at),
                "answer": rsvp.answer,
                "reason": rsvp.reason or None,
                "late_cancellation": rsvp.late_cancellation,
                "answered_at": _iso(rsvp.answered_at),
            }
            for rsvp, event in rsvps
        ],
        "check_ins": [
            {"event": event.id, "title": event.title, "checked_in_at": _iso(checkin.checked_in_at)}
            for checkin, event in checkins
        ],
    }


def erase(erasure: Erasure) -> None:
    for rsvp in erasure.session.scalars(select(Rsvp).where(Rsvp.member_id == erasure.member.id)):
        erasure.forget(rsvp.reason)
        rsvp.reason = ""
    erasure.session.flush()


def register(registry: Registry) -> None:
    registry.export_section("events", export_section)
    registry.erasure_step(
        "events",
        erase,
        tables=(
            Rsvp.__tablename__,
            CheckIn.__tablename__,  # kept: that they were there (attendance counts), no text
            Event.__tablename__,  # its creator (an organiser) shows as a former member
        ),
    )
