"""What a coaching reminder says, decided at send time (Skip once the booking is off or began)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.kernel.kinds import Outgoing, Skip
from commands.coaching.service import SUBJECT
from commands.common.text import escape
from commands.common.timefmt import slack_date
from storage.models import CoachingBooking, Member, Reminder


def render_coaching(session: Session, reminder: Reminder, now: datetime, zone: ZoneInfo) -> Outgoing | Skip:
    if reminder.subject_type != SUBJECT:
        return Skip(f"not a booking reminder ({reminder.subject_type})")
    booking = session.get(CoachingBooking, reminder.subject_id)
    if booking is None or booking.status != "active":
        return Skip("booking cancelled")
    slot = booking.slot
    if slot.removed_at is not None:
        return Skip("slot withdrawn")
    if slot.starts_at <= now:
        return Skip("session already began")
    coach, participant = slot.coach, booking.participant
    recipient = session.scalar(select(Member).where(Member.slack_id == reminder.recipient))
    is_coach = recipient is not None and recipient.id == coach.id
    other = participant if is_coach else coach
    with_whom = f"<@{other.slack_id}>" if other.slack_id else escape(other.display_name)
    link = f"<{escape(slot.meeting_url)}|meeting link>" if slot.meeting_url else "no meeting link yet"
    text = (
        f":alarm_clock: Reminder: coaching session with {with_whom} "
        f"{slack_date(slot.starts_at, zone)} ({slot.minutes} min), booking #{booking.id}. "
        f"Join: {link}. Can't make it? `/cba-book cancel {booking.id}`."
    )
    block = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    return Outgoing(text=text, blocks=[block])
