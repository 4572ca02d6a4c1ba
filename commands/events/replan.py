"""Keep each future programme day's reminders in step with who is in the cohort.

Participants join (role grants, roster imports) and leave (role removal, erasure) after a day was
planned; each tick re-states the reminders of the days still ahead, so a late joiner gets the
reminders that are still to come and a leaver gets none. Idempotent, like every tick hook.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.kernel.deps import Deps
from commands.events.service import plan_reminders
from storage.models import Event

log = logging.getLogger(__name__)


def replan_future_events(deps: Deps) -> None:
    now = deps.clock()
    try:
        with deps.sessions.begin() as session:
            future = select(Event).where(Event.starts_at > now, Event.removed.is_(False))
            for event in session.scalars(future):
                plan_reminders(session, event, offsets=deps.settings.event_reminders, now=now)
    except IntegrityError:
        # Another bot process planned the same rows a moment earlier: theirs stand, nothing is lost.
        log.info("event reminders were re-planned by another process")
