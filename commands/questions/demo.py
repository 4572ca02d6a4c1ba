"""`cba-bot demo`: a question answered by an alumnus, and one still unanswered after the nudge and the
escalation (a participant's "+1" does not answer it), which `/cba-ask list` shows escalated (idempotent)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from commands.common.demo_cast import QUESTIONS_CHANNEL
from storage.models import Answer, Member, Question, QuestionRouting

DEMO_QUESTION = "How did you convince regional authorities to co-fund your cluster's internationalisation strategy?"
DEMO_ANSWER = (
    "We tied it to the regional smart specialisation strategy (S3) and showed them three member SMEs "
    "that had already found partners abroad. Start small: one trade mission, then ask for a multi-year budget."
)
ASKER = "U0DEMOPA01"
ANSWERER = "U0DEMOAL01"
ESCALATED_QUESTION = "What is a good first step towards an interregional partnership with a cluster in another country?"
ESCALATED_ASKER = "U0DEMOPA02"
ESCALATED_ROUTED = ("U0DEMOAL03", "U0DEMOAL02")
PLUS_ONE = ("U0DEMOPA03", "+1, we are looking for the same thing")


def _question(session: Session, asker: Member, text: str, asked_at: datetime) -> Question:
    question = session.scalar(select(Question).where(Question.asker_id == asker.id, Question.text == text))
    if question is None:
        question = Question(
            asker_id=asker.id,
            anonymous=False,
            text=text,
            created_at=asked_at,
            channel_id=QUESTIONS_CHANNEL,
            status="open",
            nudged=False,
        )
        session.add(question)
        session.flush()
    return question


def _reply(session: Session, question: Question, author: Member, text: str, at: datetime, *, answering: bool) -> None:
    if session.scalar(select(Answer.id).where(Answer.question_id == question.id, Answer.author_id == author.id)):
        return
    session.add(
        Answer(
            question_id=question.id,
            author_id=author.id,
            text=text,
            source="button",
            created_at=at,
            answering=answering,
        )
    )
    if answering and question.answered_at is None:
        question.answered_at = at
    session.flush()


def demo_question(session: Session, now: datetime, members: dict[str, Member]) -> None:
    asker, answerer = members.get(ASKER), members.get(ANSWERER)
    if asker is not None and answerer is not None:
        question = _question(session, asker, DEMO_QUESTION, now - timedelta(days=1))
        _reply(session, question, answerer, DEMO_ANSWER, now - timedelta(hours=20), answering=True)
    _escalated_question(session, now, members)


def _escalated_question(session: Session, now: datetime, members: dict[str, Member]) -> None:
    asker, replier = members.get(ESCALATED_ASKER), members.get(PLUS_ONE[0])
    routed = [members[slack_id] for slack_id in ESCALATED_ROUTED if slack_id in members]
    if asker is None or replier is None or not routed:
        return
    asked_at = now - timedelta(days=5)
    question = _question(session, asker, ESCALATED_QUESTION, asked_at)
    for rank, alumnus in enumerate(routed, start=1):
        known = session.scalar(
            select(QuestionRouting.id).where(
                QuestionRouting.question_id == question.id, QuestionRouting.member_id == alumnus.id
            )
        )
        if known is None:
            session.add(
                QuestionRouting(question_id=question.id, member_id=alumnus.id, rank=rank, score=2, asked_at=asked_at)
            )
    _reply(session, question, replier, PLUS_ONE[1], asked_at + timedelta(hours=3), answering=False)
    if question.answered_at is None and question.status == "open":
        question.nudged = True  # the alumni were reminded by DM after 2 days
        question.escalated_at = question.escalated_at or asked_at + timedelta(days=4)
    session.flush()
