"""Keep each open assignment's reminders in step with who is in the cohort (see events/replan.py)."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.kernel.deps import Deps
from commands.homework.service import plan_reminders
from storage.models import Assignment

log = logging.getLogger(__name__)


def replan_open_assignments(deps: Deps) -> None:
    now = deps.clock()
    try:
        with deps.sessions.begin() as session:
            still_due = select(Assignment).where(Assignment.due_at > now, Assignment.withdrawn_at.is_(None))
            for assignment in session.scalars(still_due):
                plan_reminders(session, assignment, deps.settings.homework_reminders, now)
    except IntegrityError:
        log.info("homework reminders were re-planned by another process")
