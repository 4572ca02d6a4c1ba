"""storage.hot.HotSelect gives the rows SQLAlchemy's own execution gives, on both databases."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, delete, event, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.db import deferred_begin
from storage.hot import HotSelect, HotWrite
from storage.models import Member, MemberTerm, RoleGrant

WHEN = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)

# Every kind of conversion: an aware datetime, a boolean, JSON, dates, a literal in the query, a bound value.
_STATEMENT = (
    select(
        Member.id,
        Member.name,
        Member.created_at,
        Member.visible,
        Member.expertise,
        Member.away_from,
        Member.away_until,
        RoleGrant.role,
    )
    .outerjoin(RoleGrant, (RoleGrant.member_id == Member.id) & (RoleGrant.role == "alumni"))
    .where(Member.created_at >= bindparam("since"))
    .order_by(Member.id)
)


@pytest.fixture
def arranged(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        ana = Member(slack_id="U0ANA", name="Ana", created_at=WHEN, visible=True, expertise=["ai", "Éire"])
        ana.away_from, ana.away_until = date(2026, 12, 20), date(2027, 1, 6)
        ana.roles.append(RoleGrant(role="alumni"))
        bo = Member(slack_id="U0BO", name="Bo", created_at=WHEN, visible=False, expertise=[])
        bo.roles.append(RoleGrant(role="participant"))
        session.add_all([ana, bo])


@pytest.mark.usefixtures("arranged")
class TestHotSelect:
    def test_rows_equal_sqlalchemys_with_every_value_converted(self, sessions: sessionmaker[Session]) -> None:
        hot = HotSelect(_STATEMENT)
        with sessions() as session:
            expected = [tuple(row) for row in session.execute(_STATEMENT, {"since": WHEN})]
            got = hot.rows(session, {"since": WHEN})
        assert got == expected
        assert got[0][1:] == ("Ana", WHEN, True, ["ai", "Éire"], date(2026, 12, 20), date(2027, 1, 6), "alumni")
        assert got[1][1:] == ("Bo", WHEN, False, [], None, None, None)
        assert got[0][2].tzinfo is not None

    def test_it_runs_inside_the_sessions_transaction(self, sessions: sessionmaker[Session]) -> None:
        hot = HotSelect(select(Member.name).where(Member.slack_id == bindparam("slack_id")))
        with sessions() as session:
            session.add(Member(slack_id="U0NEW", name="Not yet committed"))
            assert hot.rows(session, {"slack_id": "U0NEW"}) == [("Not yet committed",)]  # flushed first
            session.rollback()
            assert hot.rows(session, {"slack_id": "U0NEW"}) == []

    def test_a_driver_error_is_sqlalchemys(self, sessions: sessionmaker[Session]) -> None:
        hot = HotSelect(select(Member.id).where(Member.id == bindparam("id")))
        with sessions() as session, pytest.raises(DBAPIError):
            hot.rows(session, {"id": object()})

    def test_expanding_parameters_are_refused(self, sessions: sessionmaker[Session]) -> None:
        hot = HotSelect(select(Member.id).where(Member.id.in_(bindparam("ids", expanding=True))))
        with sessions() as session, pytest.raises(ValueError, match="expanding"):
            hot.rows(session, {"ids": [1]})

    def test_the_statements_constants_are_written_into_its_sql(self, sessions: sessionmaker[Session]) -> None:
        # Bound, a constant compared with a partially indexed column made SQLite re-prepare on every run.
        statements: list[tuple[str, object]] = []
        hot = HotSelect(
            select(Member.name)
            .where(
                (Member.name == "Ana") | (Member.name == "O'Brien; DROP TABLE members"), Member.id >= bindparam("least")
            )
            .order_by(Member.id)
        )
        with sessions() as session:
            event.listen(session.get_bind(), "before_cursor_execute", _recorder(statements))
            assert hot.rows(session, {"least": 0}) == [("Ana",)]
        (sql, arguments), *_ = statements
        assert "'Ana'" in sql
        assert "'O''Brien; DROP TABLE members'" in sql  # quoted by the dialect, not pasted
        assert list(arguments.values() if isinstance(arguments, dict) else arguments) == [0]


def _recorder(into: list[tuple[str, object]]) -> Callable[..., None]:
    def record(_connection: object, _cursor: object, statement: str, parameters: object, *_: object) -> None:
        into.append((statement, parameters))

    return record


class TestHotWrite:
    def test_one_update_and_an_executemany_insert_and_delete(self, sessions: sessionmaker[Session]) -> None:
        statements: list[tuple[str, bool]] = []
        rename = HotWrite(
            update(Member).where(Member.slack_id == bindparam("who")).values(name=bindparam("new_name", String))
        )
        add = HotWrite(insert(MemberTerm))
        remove = HotWrite(delete(MemberTerm).where(MemberTerm.member_id == bindparam("member_id")))
        with sessions.begin() as session:
            event.listen(session.get_bind(), "before_cursor_execute", _many_recorder(statements))
            ana = Member(slack_id="U0ANA", name="Ana")
            session.add(ana)
            session.flush()
            rename.run(session, {"who": "U0ANA", "new_name": "Ana María"})
            add.run(session, [{"member_id": ana.id, "kind": "w", "term": term} for term in ("ana", "maría")])
            add.run(session, [])  # nothing to insert: no statement
        with sessions() as session:
            assert session.scalar(select(Member.name).where(Member.slack_id == "U0ANA")) == "Ana María"
            assert sorted(session.scalars(select(MemberTerm.term))) == ["ana", "maría"]
        with sessions.begin() as session:
            remove.run(session, {"member_id": ana.id})
        with sessions() as session:
            assert session.scalars(select(MemberTerm)).all() == []
        hot = [
            (sql.split()[0], many)
            for sql, many in statements
            if sql.startswith(("UPDATE members SET name", "INSERT INTO member_terms"))
        ]
        assert hot == [("UPDATE", False), ("INSERT", True)]

    def test_a_write_takes_sqlites_writers_gate_like_any_other(self, sessions: sessionmaker[Session]) -> None:
        if sessions.kw["bind"].dialect.name != "sqlite":
            pytest.skip("the writers' gate is SQLite's")
        rename = HotWrite(update(Member).values(name=bindparam("new_name", String)))
        with sessions.begin() as session:
            session.add(Member(slack_id="U0ANA", name="Ana"))
        gate_taken = threading.Event()
        release = threading.Event()

        def first_writer() -> None:
            with deferred_begin(), sessions.begin() as session:
                rename.run(session, {"new_name": "first"})
                gate_taken.set()
                release.wait(5)

        thread = threading.Thread(target=first_writer)
        thread.start()
        assert gate_taken.wait(5)
        second_done = threading.Event()

        def second_writer() -> None:
            with deferred_begin(), sessions.begin() as session:
                rename.run(session, {"new_name": "second"})
            second_done.set()

        other = threading.Thread(target=second_writer)
        other.start()
        assert not second_done.wait(0.3)  # queued on the gate, not failing on SQLite's lock
        release.set()
        thread.join(5)
        other.join(5)
        assert second_done.is_set()
        with sessions() as session:
            assert session.scalar(select(Member.name)) == "second"

    def test_columns_computed_in_python_are_refused(self, sessions: sessionmaker[Session]) -> None:
        stamped = Table(
            "stamped", MetaData(), Column("id", Integer, primary_key=True), Column("at", Integer, onupdate=len)
        )
        with sessions() as session, pytest.raises(ValueError, match="defaults"):
            HotWrite(update(stamped).values(id=bindparam("new_id", Integer))).run(session, {"new_id": 1})

    def test_a_missing_parameter_is_named(self, sessions: sessionmaker[Session]) -> None:
        with sessions() as session, pytest.raises(ValueError, match="term"):
            HotWrite(insert(MemberTerm)).run(session, {"member_id": 1, "kind": "w"})


def _many_recorder(into: list[tuple[str, bool]]) -> Callable[..., None]:
    def record(_connection: object, _cursor: object, statement: str, _params: object, _ctx: object, many: bool) -> None:
        into.append((statement, many))

    return record


def test_a_hot_statements_error_names_the_failure_without_the_data(sessions: sessionmaker[Session]) -> None:
    """As the engine's own errors (tests/unit/test_storage.py): hidden parameters, no PostgreSQL DETAIL."""
    add = HotWrite(insert(MemberTerm))
    with sessions.begin() as session:
        member = Member(slack_id="U0SECRETID", name="Sam Secret")
        session.add(member)
        session.flush()
        add.run(session, {"member_id": member.id, "kind": "w", "term": "secretterm"})
    with pytest.raises(IntegrityError) as raised, sessions.begin() as session:
        add.run(session, {"member_id": member.id, "kind": "w", "term": "secretterm"})
    message = str(raised.value)
    assert "secretterm" not in message
    assert "hidden" in message
    if sessions.kw["bind"].dialect.name == "postgresql":
        assert "SQLSTATE 23505" in message
        assert "secretterm" in raised.value.orig.diag.message_detail  # type: ignore[union-attr]
