"""Telling both sides of a booking: outbox rows written in the booking's own transaction.

Each side gets a DM and the "Add to calendar" (or "Remove from calendar") .ics file shared in that
DM (files upload v2). Nothing here calls Slack: the rows are delivered after the commit by the
delivery engine, which retries them while Slack is down and sends each once (SPEC 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block
from sqlalchemy.orm import Session

from bot.kernel import outbox, planning
from commands.coaching import views
from commands.coaching.ics import booking_ics
from commands.coaching.service import Booked, Cancelled

# The subject of a booking's notices (not the booking's reminders, whose subject is "booking").
NOTICE = "booking-notice"


def _dm_with_calendar(
    session: Session,
    slack_id: str | None,
    text: str,
    blocks: Sequence[Block] | None,
    *,
    booking_id: int,
    ics: bytes,
    filename: str,
    title: str,
    comment: str,
    now: datetime,
) -> None:
    """The DM, then the file in that same DM (queued in this order: the engine sends them in order)."""
    if not slack_id:
        return  # an erased member: nobody to tell
    outbox.tell(session, slack_id, text, blocks, now=now, subject=(NOTICE, booking_id))
    row = outbox.upload(session, slack_id, filename=filename, content=ics, now=now, title=title, comment=comment)
    if row is not None:  # (upload takes no subject: the file belongs to the same booking's notices)
        row.subject_type, row.subject_id = NOTICE, booking_id


def queue_booked(session: Session, booked: Booked, *, zone: ZoneInfo, now: datetime) -> None:
    """The confirmation to the participant and to the coach, each with the METHOD:REQUEST file."""
    cal = booked.calendar
    ics = booking_ics(cal, method="REQUEST", stamp=now)
    for to, slack_id in (("participant", booked.participant_slack), ("coach", booked.coach_slack)):
        text, blocks = views.booking_dm(cal, to=to, zone=zone, slot_id=booked.booking.slot_id)
        _dm_with_calendar(
            session,
            slack_id,
            text,
            blocks,
            booking_id=cal.booking_id,
            ics=ics,
            filename=f"cba-coaching-booking-{cal.booking_id}.ics",
            title="Add to calendar",
            comment=f":calendar: Add to calendar: booking #{cal.booking_id}",
            now=now,
        )
    session.flush()


def queue_cancelled(session: Session, result: Cancelled, *, zone: ZoneInfo, now: datetime) -> None:
    """Both sides get the METHOD:CANCEL file (same UID, higher SEQUENCE); the other side is told why.

    A confirmation still waiting to be delivered (Slack was down) is dropped first, so that "booked"
    never arrives after "cancelled".
    """
    planning.cancel_reminders(session, subject_type=NOTICE, subject_id=result.booking_id)
    ics = booking_ics(result.calendar, method="CANCEL", stamp=now)
    for to, slack_id in (("participant", result.participant_slack), ("coach", result.coach_slack)):
        _dm_with_calendar(
            session,
            slack_id,
            views.cancellation_dm(result, to=to, zone=zone),
            None,
            booking_id=result.booking_id,
            ics=ics,
            filename=f"cba-coaching-booking-{result.booking_id}-cancel.ics",
            title="Remove from calendar",
            comment=f":x: Remove from calendar: booking #{result.booking_id}",
            now=now,
        )
    session.flush()
