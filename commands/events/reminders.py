"""What a programme-day reminder says at send time, or why it is skipped."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from commands.common.actors import member_by_slack_id
from commands.events import service, views
from commands.reminders.kinds import Outgoing, Skip, reminder_kind
from storage.models import Event, Reminder, Rsvp

FALLBACK_ZONE = ZoneInfo("Europe/Brussels")


@reminder_kind(service.REMINDER_KIND)
def render_event_reminder(session: Session, reminder: Reminder, now: datetime) -> Outgoing | Skip:
    event = session.get(Event, reminder.subject_id)
    if event is None or event.removed:
        return Skip("event removed")
    if event.starts_at <= now:
        return Skip("event already began")
    if reminder.recipient[:1] in ("U", "W"):
        member = member_by_slack_id(session, reminder.recipient)
        if member is None or not service.is_participant(session, member, event.cohort_id):
            return Skip("no longer a participant")
        declined = session.scalar(
            select(Rsvp.id).where(Rsvp.event_id == event.id, Rsvp.member_id == member.id, Rsvp.answer == "no")
        )
        if declined is not None:
            return Skip("declined")
    text, blocks = views.reminder_message(event, views.event_zone(event, FALLBACK_ZONE), reminder.offset_label)
    return Outgoing(text=text, blocks=blocks)
