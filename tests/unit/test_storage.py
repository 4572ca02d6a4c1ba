"""Storage basics on both databases: UTC round trips, naive datetimes refused, SQLite hardening."""

import threading
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Member


def test_aware_datetime_round_trips_as_the_same_utc_instant(sessions: sessionmaker[Session]) -> None:
    berlin_ten = datetime(2026, 3, 29, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    with sessions.begin() as session:
        session.add(Member(slack_id="U1", name="A", tz_checked_at=berlin_ten))
    with sessions() as session:
        stored = session.scalar(select(Member.tz_checked_at).where(Member.slack_id == "U1"))
    assert stored == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    assert stored is not None
    assert stored.utcoffset() == timedelta(0)


def test_comparisons_are_by_instant(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        session.add(
            Member(
                slack_id="U1",
                name="early",
                tz_checked_at=datetime(2026, 1, 1, 10, tzinfo=timezone(timedelta(hours=5))),
            )
        )
        session.add(Member(slack_id="U2", name="late", tz_checked_at=datetime(2026, 1, 1, 8, tzinfo=UTC)))
    with sessions() as session:
        cutoff = datetime(2026, 1, 1, 7, tzinfo=UTC)
        names = session.scalars(select(Member.name).where(Member.tz_checked_at > cutoff)).all()
    assert names == ["late"]


def test_naive_datetime_is_refused(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        session.add(Member(slack_id="U1", name="A", tz_checked_at=datetime(2026, 1, 1, 10)))
        with pytest.raises(StatementError, match="naive datetime"):
            session.flush()
        session.rollback()


def test_sqlite_is_hardened(sqlite_url: str) -> None:
    from storage.db import make_engine

    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_sqlite_writers_queue_instead_of_failing(sqlite_url: str) -> None:
    """Read-then-write from many threads: BEGIN IMMEDIATE serialises them; no 'database is locked'."""
    from storage.db import make_engine, make_sessionmaker

    engine = make_engine(sqlite_url)
    factory = make_sessionmaker(engine)
    with factory.begin() as session:
        session.add(Member(slack_id="U1", name="0"))
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            with factory.begin() as session:
                member = session.scalars(select(Member).where(Member.slack_id == "U1")).one()
                member.name = str(int(member.name) + 1)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with factory() as session:
        assert session.scalar(select(Member.name).where(Member.slack_id == "U1")) == "20"
    assert errors == []
    engine.dispose()


def test_database_answers(engine: Engine) -> None:
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1


def test_database_errors_name_the_failure_without_the_data(sessions: sessionmaker[Session], engine: Engine) -> None:
    """hide_parameters, and on PostgreSQL no "DETAIL: Key (slack_id)=(…)"; the driver's details stay readable."""
    with sessions.begin() as session:
        session.add(Member(slack_id="U0SECRETID", name="Sam Secret"))
    with pytest.raises(IntegrityError) as raised, sessions.begin() as session:
        session.add(Member(slack_id="U0SECRETID", name="Sam Secret again"))
    message = str(raised.value)
    assert "U0SECRETID" not in message
    assert "Sam Secret" not in message
    assert "hidden" in message
    if engine.dialect.name == "postgresql":
        assert "SQLSTATE 23505" in message
        assert "constraint" in message
        assert "U0SECRETID" in raised.value.orig.diag.message_detail  # type: ignore[union-attr]
