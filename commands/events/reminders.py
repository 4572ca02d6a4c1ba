"""What a programme-day reminder says at send time, or why it is skipped."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.kernel.kinds import Outgoing, Skip
from commands.events import views
from storage.models import Event, Member, Reminder, RoleGrant, Rsvp

FALLBACK_ZONE = ZoneInfo("Europe/Brussels")


@dataclass
class _EventFacts:
    """What every reminder of one event needs, read once per delivery batch (one transaction)."""

    event: Event | None
    participants: frozenset[str] = frozenset()
    declined: frozenset[str] = frozenset()
    messages: dict[str, tuple[str, list[dict[str, Any]]]] = field(default_factory=dict)


def _facts(session: Session, event_id: int) -> _EventFacts:
    cache: dict[int, _EventFacts] = session.info.setdefault("event_reminder_facts", {})
    facts = cache.get(event_id)
    if facts is None:
        event = session.get(Event, event_id)
        if event is None or event.removed:
            facts = _EventFacts(None)
        else:
            participants = session.scalars(
                select(Member.slack_id)
                .join(RoleGrant, RoleGrant.member_id == Member.id)
                .where(RoleGrant.role == "participant", RoleGrant.cohort_id == event.cohort_id)
            )
            declined = session.scalars(
                select(Member.slack_id)
                .join(Rsvp, Rsvp.member_id == Member.id)
                .where(Rsvp.event_id == event.id, Rsvp.answer == "no")
            )
            facts = _EventFacts(event, frozenset(p for p in participants if p), frozenset(d for d in declined if d))
        cache[event_id] = facts
    return facts


def render_event_reminder(session: Session, reminder: Reminder, now: datetime, zone: ZoneInfo) -> Outgoing | Skip:
    facts = _facts(session, reminder.subject_id)
    event = facts.event
    if event is None:
        return Skip("event removed")
    if event.starts_at <= now:
        return Skip("event already began")
    if reminder.recipient[:1] in ("U", "W"):
        if reminder.recipient not in facts.participants:
            return Skip("no longer a participant")
        if reminder.recipient in facts.declined:
            return Skip("declined")
    # The same event and offset say the same thing to everyone: built once per batch.
    message = facts.messages.get(reminder.offset_label)
    if message is None:
        message = views.reminder_message(event, views.event_zone(event, FALLBACK_ZONE), reminder.offset_label)
        facts.messages[reminder.offset_label] = message
    return Outgoing(text=message[0], blocks=message[1])
