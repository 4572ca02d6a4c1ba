"""Telling the cohort about its programme days: outbox rows written in the change's own transaction.

The announcement (with the RSVP buttons), the posts and DMs when a day moves or is removed, and the
check-in button are queued here; the delivery engine sends them after the commit, retries them while
Slack is down and sends each once (SPEC 3). Nothing here calls Slack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.kernel import outbox, planning
from commands.events import service, views
from storage.models import Event

# The subject of a day's notices (its reminders have the subject "event": cancelled apart).
NOTICE = "event-notice"


@dataclass(frozen=True)
class Told:
    """Where the news went: the cohort's channel (None without one) and how many attendees by DM."""

    cohort: str
    channel: str | None
    attendees: int = 0


def _post(
    session: Session,
    channel: str | None,
    text: str,
    blocks: Sequence[dict[str, Any]] | None,
    event: Event,
    now: datetime,
) -> None:
    if channel:
        outbox.tell(session, channel, text, blocks, now=now, subject=(NOTICE, event.id))


def announce(session: Session, event: Event, *, zone: ZoneInfo, now: datetime) -> Told:
    cohort, channel = service.cohort_channel(session, event)
    text, blocks = views.announcement(event, zone)
    _post(session, channel, text, blocks, event, now)
    return Told(cohort, channel)


def moved(session: Session, result: service.Moved, *, zone: ZoneInfo, now: datetime) -> Told:
    event, was = result.event, (result.was_starts_at, result.was_ends_at)
    cohort, channel = service.cohort_channel(session, event)
    text, blocks = views.moved_post(event, zone, was)
    _post(session, channel, text, blocks, event, now)
    dm_text, dm_blocks = views.moved_dm(event, zone, was)
    told = 0
    for member in service.attendees(session, event):
        if outbox.tell(session, member, dm_text, dm_blocks, now=now, subject=(NOTICE, event.id)) is not None:
            told += 1
    return Told(cohort, channel, told)


def removed(session: Session, event: Event, *, zone: ZoneInfo, now: datetime) -> Told:
    """News about the day not yet delivered is moot now: dropped before the removal is posted."""
    planning.cancel_reminders(session, subject_type=NOTICE, subject_id=event.id)
    cohort, channel = service.cohort_channel(session, event)
    _post(session, channel, views.removed_post(event, zone), None, event, now)
    dm_text = views.removed_dm(event, zone)
    told = 0
    for member in service.attendees(session, event):
        if outbox.tell(session, member, dm_text, now=now, subject=(NOTICE, event.id)) is not None:
            told += 1
    return Told(cohort, channel, told)


def checkin_button(session: Session, event: Event, channel: str, *, zone: ZoneInfo, now: datetime) -> None:
    text, blocks = views.checkin_message(event, zone)
    outbox.tell(session, channel, text, blocks, now=now, subject=(NOTICE, event.id))


def follow_up(session: Session, user: str, channel: str | None, text: str, *, now: datetime) -> None:
    """An answer to a form: ephemeral in the channel it came from, else (a DM, no channel) a DM."""
    if channel and not channel.startswith("D"):
        outbox.tell_ephemeral(session, channel, user, text, now=now)
    else:
        outbox.tell(session, user, text, now=now)
