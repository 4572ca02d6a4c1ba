"""Arrange helpers for ask-alumni tests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.console.fakeslack import FakeSlack
from storage.models import Answer, Member, Question, QuestionRouting
from tests.factories import make_member

QUESTIONS_CHANNEL = "C0QUESTIONS"


def make_person(
    session: Session, fake: FakeSlack | None, slack_id: str, name: str, *roles: str, **profile: object
) -> Member:
    """A member in the database and, when given, a user in the fake Slack (so DMs to them work)."""
    if fake is not None:
        fake.add_user(slack_id, name)
    return make_member(session, slack_id, name, *roles, **profile)


def make_alumni(
    session: Session,
    fake: FakeSlack | None,
    slack_id: str,
    name: str,
    *,
    expertise: list[str] | None = None,
    sectors: list[str] | None = None,
    bio: str = "",
    accepts_questions: bool | None = None,
) -> Member:
    return make_person(
        session,
        fake,
        slack_id,
        name,
        "alumni",
        expertise=expertise or [],
        sectors=sectors or [],
        bio=bio,
        accepts_questions=accepts_questions,
    )


def make_question(
    session: Session,
    asker: Member,
    text: str,
    *,
    created_at: datetime,
    anonymous: bool = False,
    status: str = "open",
    channel_id: str | None = QUESTIONS_CHANNEL,
    message_ts: str | None = None,
) -> Question:
    question = Question(
        asker_id=asker.id,
        anonymous=anonymous,
        text=text,
        created_at=created_at,
        channel_id=channel_id,
        message_ts=message_ts,
        status=status,
        nudged=False,
    )
    session.add(question)
    session.flush()
    return question


def make_answer(session: Session, question: Question, author: Member | None, text: str, *, at: datetime) -> Answer:
    answer = Answer(
        question_id=question.id, author_id=author.id if author else None, text=text, source="thread", created_at=at
    )
    session.add(answer)
    session.flush()
    return answer


def make_routing(session: Session, question: Question, member: Member, *, at: datetime, rank: int = 1) -> None:
    session.add(QuestionRouting(question_id=question.id, member_id=member.id, rank=rank, score=1, asked_at=at))
    session.flush()
