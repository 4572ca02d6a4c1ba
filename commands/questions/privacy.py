"""Ask alumni's part of `/cba-profile export` and `/cba-profile delete` (SPEC 4.2).

Export: the questions the member asked (anonymous ones included), the answers they gave and the
questions routed to them. Erasure: the texts of their questions and answers are deleted (the rows stay,
shown as "former member", so the counts stay right), and so are the routings to them; the bot's posts that carry them (the question's
channel post, its nudge, the thread post of a modal answer, the alumni's DMs) are edited in Slack, and
those not sent yet are dropped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.kernel.erasure import REMOVED_TEXT, Erasure
from bot.kernel.registry import Registry
from commands.questions import posting, service
from storage.models import Answer, Member, Question, QuestionRouting, Reminder


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_section(session: Session, member: Member) -> dict[str, Any]:
    asked = session.scalars(select(Question).where(Question.asker_id == member.id).order_by(Question.id))
    answers = session.scalars(select(Answer).where(Answer.author_id == member.id).order_by(Answer.id))
    routed = session.execute(
        select(QuestionRouting, Question)
        .join(Question, Question.id == QuestionRouting.question_id)
        .where(QuestionRouting.member_id == member.id)
        .order_by(QuestionRouting.id)
    )
    return {
        "questions_asked": [
            {
                "question": question.id,
                "text": question.text,
                "anonymous": question.anonymous,
                "status": question.status,
                "asked_at": _iso(question.created_at),
                "resolved_at": _iso(question.resolved_at),
                "link": question.permalink,
                "answers": len(question.answers),
            }
            for question in asked
        ],
        "answers_given": [
            {
                "answer": answer.id,
                "question": answer.question_id,
                "text": answer.text,
                "from": answer.source,
                "at": _iso(answer.created_at),
                "link": answer.permalink,
            }
            for answer in answers
        ],
        "questions_routed_to_me": [
            {
                "question": question.id,
                "text": question.text,
                "rank": routing.rank,
                "score": routing.score,
                "asked_at": _iso(routing.asked_at),
            }
            for routing, question in routed
        ],
    }


def _rows(session: Session, subject_types: tuple[str, ...], subject_id: int) -> list[Reminder]:
    return list(
        session.scalars(
            select(Reminder)
            .where(Reminder.subject_type.in_(subject_types), Reminder.subject_id == subject_id)
            .order_by(Reminder.id)
        )
    )


def erase(erasure: Erasure) -> None:
    session, member = erasure.session, erasure.member
    for question in session.scalars(select(Question).where(Question.asker_id == member.id).order_by(Question.id)):
        erasure.forget(question.text)
        erasure.retract(question.channel_id, question.message_ts)  # its post, by the ts stored on delivery
        # Its post (if still queued: dropped), its nudge, the DMs that quote it (alumni, organisers).
        for row in _rows(session, (posting.POST_SUBJECT, posting.DM_SUBJECT, service.SUBJECT), question.id):
            erasure.retract_row(row)
        question.text = REMOVED_TEXT
        question.permalink = None
        if question.status != "resolved":  # nobody can follow it up with its asker any more
            question.status = "resolved"
            question.resolved_at = erasure.now
    for answer in session.scalars(select(Answer).where(Answer.author_id == member.id).order_by(Answer.id)):
        erasure.forget(answer.text)
        if answer.source == "button":  # the bot posted it in the thread: its ts is the bot's post
            answered = session.get(Question, answer.question_id)
            erasure.retract(answered.channel_id if answered else None, answer.slack_ts)
        for row in _rows(session, (posting.ANSWER_SUBJECT,), answer.id):
            erasure.retract_row(row)
        answer.text = REMOVED_TEXT
        answer.permalink = None
    # Nudges that went out naming the member among the alumni asked (drawn at send time: no stored copy).
    routed = select(QuestionRouting.question_id).where(QuestionRouting.member_id == member.id)
    for row in session.scalars(
        select(Reminder).where(
            Reminder.kind == service.NUDGE_KIND,
            Reminder.subject_type == service.SUBJECT,
            Reminder.subject_id.in_(routed),
            Reminder.status == "sent",
        )
    ):
        erasure.retract_row(row)
    # Who was asked matters only for routing the next questions, which never reach a former member.
    session.execute(delete(QuestionRouting).where(QuestionRouting.member_id == member.id))
    session.flush()


def register(registry: Registry) -> None:
    registry.export_section("questions", export_section)
    registry.erasure_step(
        "questions",
        erase,
        tables=(
            Question.__tablename__,
            Answer.__tablename__,
            QuestionRouting.__tablename__,
        ),
    )
