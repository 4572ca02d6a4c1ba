"""The one reminder of an unanswered question (kind "question_nudge"), decided at send time.

The renderer changes nothing (it may run again when a send is retried); `nudge_delivered` marks the
question nudged in the transaction that records the nudge as sent, so a failed nudge is retried, not lost.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.kernel.kinds import Outgoing, Skip
from commands.questions import service, views
from storage.models import Question, Reminder


def render_nudge(session: Session, reminder: Reminder, now: datetime, zone: ZoneInfo) -> Outgoing | Skip:
    """Brings the question to the alumni again, unless it was answered, resolved or already nudged."""
    question = session.get(Question, reminder.subject_id)
    if question is None:
        return Skip("the question no longer exists")
    if question.status != "open":
        return Skip("the question is resolved")
    if service.answer_count(session, question.id):
        return Skip("the question has an answer")
    if question.nudged:
        return Skip("the question was already brought up again")
    if not question.message_ts:
        return Skip("the question was never posted to the channel")
    # The nudge is posted in the channel: only alumni who show themselves in the directory are named there.
    named = [member for member in service.routed_members(session, question.id) if member.visible]
    text, blocks = views.nudge_message(question, named, now)
    return Outgoing(text, [block.to_dict() for block in blocks])


def nudge_delivered(session: Session, reminder: Reminder) -> None:
    question = session.get(Question, reminder.subject_id)
    if question is not None:
        question.nudged = True
        session.flush()
