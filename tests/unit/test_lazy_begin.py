"""PostgreSQL: BEGIN goes just before a transaction's first statement that is not a plain read
(storage.db._begin_postgresql_lazily), so a request that only reads pays one round trip, not three."""

from __future__ import annotations

from typing import Any

import pytest
from psycopg import pq
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from storage.db import core
from storage.hot import HotSelect
from storage.models import Member

_NAMES = HotSelect(select(Member.name).order_by(Member.id))


def _status(session: Session) -> Any:
    return core(session).connection.driver_connection.pgconn.transaction_status  # type: ignore[union-attr]


@pytest.fixture
def pg(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    if sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("PostgreSQL's BEGIN")
    with sessions.begin() as session:
        session.add(Member(slack_id="U0ANA", name="Ana"))
    return sessions


class TestLazyBegin:
    def test_reads_run_outside_a_transaction(self, pg: sessionmaker[Session]) -> None:
        with pg.begin() as session:
            assert session.scalar(select(Member.name)) == "Ana"
            assert _NAMES.rows(session, {}) == [("Ana",)]
            assert _status(session) == pq.TransactionStatus.IDLE  # no BEGIN was sent

    def test_a_write_begins_the_transaction_and_a_rollback_undoes_it(self, pg: sessionmaker[Session]) -> None:
        session = pg()
        try:
            assert session.scalar(select(Member.name)) == "Ana"
            core(session).execute(update(Member).values(name="Changed"))
            assert _status(session) == pq.TransactionStatus.INTRANS
            assert session.scalar(select(Member.name)) == "Changed"  # read inside, after the write
            session.rollback()
        finally:
            session.close()
        with pg() as session:
            assert session.scalar(select(Member.name)) == "Ana"

    @pytest.mark.parametrize(
        "statement",
        [
            "SELECT id FROM members FOR UPDATE",
            "SELECT id FROM members FOR NO KEY UPDATE SKIP LOCKED",
            "select id from members for share",
            "SELECT pg_advisory_xact_lock(42)",
        ],
    )
    def test_locking_reads_begin_the_transaction(self, pg: sessionmaker[Session], statement: str) -> None:
        with pg.begin() as session:
            session.execute(text(statement)).all()
            assert _status(session) == pq.TransactionStatus.INTRANS  # the lock lasts until COMMIT

    def test_a_commit_makes_the_write_visible_to_others(self, pg: sessionmaker[Session]) -> None:
        with pg.begin() as session:
            core(session).execute(update(Member).values(name="Committed"))
        with pg() as other:
            assert other.scalar(select(Member.name)) == "Committed"

    def test_connections_asked_for_autocommit_stay_so(self, pg: sessionmaker[Session]) -> None:
        engine = pg.kw["bind"]
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM members")  # refused inside a transaction block
