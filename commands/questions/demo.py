"""`cba-bot demo`: a question from a participant, answered by an alumni (idempotent)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from commands.common.demo_cast import QUESTIONS_CHANNEL
from storage.models import Answer, Member, Question

DEMO_QUESTION = "How did you convince regional authorities to co-fund your cluster's internationalisation strategy?"
DEMO_ANSWER = (
    "We tied it to the regional smart specialisation strategy (S3) and showed them three member SMEs "
    "that had already found partners abroad. Start small: one trade mission, then ask for a multi-year budget."
)
ASKER = "U0DEMOPA01"
ANSWERER = "U0DEMOAL01"


def demo_question(session: Session, now: datetime, members: dict[str, Member]) -> None:
    asker, answerer = members.get(ASKER), members.get(ANSWERER)
    if asker is None or answerer is None:
        return
    question = session.scalar(select(Question).where(Question.asker_id == asker.id, Question.text == DEMO_QUESTION))
    if question is None:
        question = Question(
            asker_id=asker.id,
            anonymous=False,
            text=DEMO_QUESTION,
            created_at=now - timedelta(days=1),
            channel_id=QUESTIONS_CHANNEL,
            status="open",
            nudged=False,
        )
        session.add(question)
        session.flush()
    if session.scalar(select(Answer.id).where(Answer.question_id == question.id)) is None:
        session.add(
            Answer(
                question_id=question.id,
                author_id=answerer.id,
                text=DEMO_ANSWER,
                source="button",
                created_at=now - timedelta(hours=20),
            )
        )
        session.flush()
