"""The acknowledgement bench's four commands stay cheap: the statements each answer runs, and the caller's
whole row read only where the answer uses it (bench/RESULTS.md, "Acknowledgement CPU per request")."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from bot.console.driver import Dispatched, SlackDriver
from bot.console.fakeslack import FakeSlack
from commands.members.search import index_member
from tests.conftest import Clock
from tests.factories_coaching import COACH, COACH2, PARTICIPANTS, make_slot, seed_people

P1 = PARTICIPANTS[0]


@pytest.fixture
def arranged(sessions: sessionmaker[Session], fake_slack: FakeSlack, clock: Clock) -> None:
    with sessions.begin() as session:
        people = seed_people(session, fake_slack)
        for member in people.values():
            member.organisation, member.visible = "North Cluster", True
            index_member(session, member)
        for day in range(1, 4):
            make_slot(session, people[COACH], clock.now + timedelta(days=day))
            make_slot(session, people[COACH2], clock.now + timedelta(days=day, hours=2))


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The statements this thread runs in the block (the courier's, in its own thread, are not counted)."""
    mine = threading.get_ident()
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if threading.get_ident() == mine:
            seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _run(slack: SlackDriver, engine: Engine, command: str, text: str = "") -> tuple[Dispatched, list[str]]:
    with statements(engine) as seen:
        answer = slack.command(P1, command, text)
    assert answer.status == 200
    return answer, seen


def _verbs(seen: list[str]) -> list[str]:
    return [statement.split()[0].upper() for statement in seen]


def _whole_rows(seen: list[str]) -> list[str]:
    """Statements that read the caller's whole member row (its e-mail is a column no listing shows)."""
    return [statement for statement in seen if "members.email" in statement]


@pytest.mark.usefixtures("arranged")
class TestHotPaths:
    def test_help_reads_the_caller_and_roles_in_one_narrow_statement(self, slack: SlackDriver, engine: Engine) -> None:
        answer, seen = _run(slack, engine, "/cba-help")
        assert "participant" in answer.text
        assert _verbs(seen) == ["SELECT"]
        assert _whole_rows(seen) == []

    def test_the_open_slots_take_two_statements(self, slack: SlackDriver, engine: Engine) -> None:
        answer, seen = _run(slack, engine, "/cba-book")
        assert len([b for b in answer.json["blocks"] if "accessory" in b]) == 6
        assert _verbs(seen) == ["SELECT", "SELECT"]
        assert _whole_rows(seen) == []

    def test_a_directory_search_takes_three_statements(self, slack: SlackDriver, engine: Engine) -> None:
        answer, seen = _run(slack, engine, "/cba-directory", "cluster")
        cards = [b for b in answer.json["blocks"] if "accessory" in b]
        assert len(cards) == 6
        assert any("participant (CBA3)" in card["text"]["text"] for card in cards)  # roles come with the cards
        assert _verbs(seen) == ["SELECT", "SELECT", "SELECT"]
        assert _whole_rows(seen) == []

    def test_setting_a_field_reads_the_whole_caller_once_and_writes_only_the_difference(
        self, slack: SlackDriver, engine: Engine
    ) -> None:
        _run(slack, engine, "/cba-profile", "set region Northland")
        answer, seen = _run(slack, engine, "/cba-profile", "set region Southland")
        assert "Your region is now “Southland”" in answer.text
        # PostgreSQL writes the row, the stale and new terms in one statement; SQLite reads the terms to diff.
        if engine.dialect.name == "postgresql":
            assert _verbs(seen) == ["SELECT", "WITH"]
        else:
            assert _verbs(seen) == ["SELECT", "UPDATE", "SELECT", "DELETE", "INSERT"]
        assert len(_whole_rows(seen)) == 1
