"""Escalation is claimed by one conditional UPDATE: of two transactions that both saw a question due, only
the first escalates it; the other, waiting for the first's commit, finds it escalated.

PostgreSQL only: on SQLite (one process per file) a scheduler transaction begins IMMEDIATE, so a second one
cannot even read before the first commits; the scenario tests cover repeated ticks there."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from commands.questions import service
from storage.models import Question
from tests.factories_questions import make_person, make_question

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def test_of_two_transactions_that_saw_a_question_due_only_one_escalates_it(
    db_url: str, sessions: sessionmaker[Session]
) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite serialises scheduler transactions (BEGIN IMMEDIATE): no two can both see it due")
    with sessions.begin() as session:
        asker = make_person(session, None, "U0ASK", "Asker", "participant")
        make_question(session, asker, "Funding?", created_at=NOW - timedelta(days=5))
    results: dict[str, bool] = {}
    first_claimed = threading.Event()
    second_read = threading.Event()

    def second() -> None:
        with sessions.begin() as session:
            [question] = service.due_for_escalation(session, NOW - timedelta(days=4))
            second_read.set()
            first_claimed.wait(10)
            results["second"] = service.claim_escalation(session, question, NOW + timedelta(seconds=1))

    with sessions.begin() as session:
        [question] = service.due_for_escalation(session, NOW - timedelta(days=4))
        other = threading.Thread(target=second)
        other.start()
        assert second_read.wait(10)
        results["first"] = service.claim_escalation(session, question, NOW)
        first_claimed.set()
    other.join(20)

    assert results == {"first": True, "second": False}
    with sessions() as session:
        assert service.due_for_escalation(session, NOW) == []
        escalated = session.get(Question, question.id)
        assert escalated is not None
        assert escalated.escalated_at == NOW
