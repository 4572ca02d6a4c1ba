"""The nudge of an unanswered question (kind "question_nudge"): one DM per routed alumnus, decided at send time.

Planned when the question is routed (`service.plan_nudges`), `CBA_QUESTION_NUDGE` after it was asked; each
row reaches its alumnus once (the delivery engine's claims). The renderer changes nothing (it may run again
when a send is retried); `nudge_delivered` marks the question nudged in the transaction that records a
nudge as sent, so a failed nudge is retried, not lost. The DM names nobody but its reader.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.kernel.kinds import Outgoing, Skip
from commands.questions import views
from storage.models import Member, Question, Reminder


def render_nudge(session: Session, reminder: Reminder, now: datetime, zone: ZoneInfo) -> Outgoing | Skip:
    """Brings the question to one routed alumnus again, unless it was answered or resolved, or they opted out."""
    question = session.get(Question, reminder.subject_id)
    if question is None:
        return Skip("the question no longer exists")
    if question.status != "open":
        return Skip("the question is resolved")
    if question.answered_at is not None:
        return Skip("the question has an answer")
    if reminder.recipient == question.channel_id:
        return Skip("nudges go to the routed alumni by DM")  # planned before 0009_escalation (migrated)
    alumnus = session.scalar(select(Member).where(Member.slack_id == reminder.recipient))
    if alumnus is None or alumnus.erased_at is not None:
        return Skip("the alumnus is no longer a member")
    if alumnus.accepts_questions is False:
        return Skip("the alumnus no longer accepts questions")
    text, blocks = views.nudge_dm(question, now)
    return Outgoing(text, [block.to_dict() for block in blocks])


def nudge_delivered(session: Session, reminder: Reminder) -> None:
    question = session.get(Question, reminder.subject_id)
    if question is not None:
        question.nudged = True
        session.flush()
