"""Escalation (SPEC 4.5): a question still unanswered after CBA_QUESTION_ESCALATION is brought to the organisers.

A scheduler tick finds such questions in the database; one conditional UPDATE of `escalated_at` decides
which process escalates each (also with several bot processes), and in the same transaction every
organiser's DM is queued in the outbox (with a dedupe key each), so each organiser hears of it once.
`escalated_at` stays on the question for the organisers' digest.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError

from bot.kernel.deps import Deps
from commands.questions import posting, service

log = logging.getLogger(__name__)


def escalate_due(deps: Deps) -> None:
    """Tick: escalate the questions whose time has come (a batch per tick)."""
    now = deps.clock()
    try:
        with deps.sessions.begin() as session:
            due = service.due_for_escalation(session, now - deps.settings.question_escalation)
            if not due:
                return
            organisers = service.organiser_ids(session, deps.settings.organisers)
            for question in due:
                if service.claim_escalation(session, question, now):
                    told = posting.tell_organisers_escalated(session, question, organisers, now)
                    log.info("question #%s escalated to %s organisers", question.id, told)
    except IntegrityError:
        log.info("questions were escalated by another process")
