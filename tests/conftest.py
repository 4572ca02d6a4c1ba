"""Shared fixtures: databases (SQLite always, PostgreSQL when CBA_TEST_DATABASE_URL is set),
a fake Slack Web API server, a controllable clock, and the bot built on them."""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.app import Bot, build
from bot.console.driver import SlackDriver
from bot.console.fakeslack import FakeSlack
from bot.features import build_registry
from bot.kernel.registry import Registry
from bot.kernel.settings import Settings
from storage.db import make_engine, make_sessionmaker
from storage.migrate import upgrade

SIGNING_SECRET = "test-signing-secret-0123456789"
ORGANISER = "U0ORGANISER"
PG_ENV = "CBA_TEST_DATABASE_URL"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's Slack or database settings."""
    for name in list(os.environ):
        if name.startswith(("SLACK_", "CBA_")) and name != PG_ENV or name in ("DATABASE_URL", "PORT"):
            monkeypatch.delenv(name, raising=False)


# --- databases ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once per run; each test gets a copy (much faster than migrating per test)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return path


def _pg_server_url() -> str | None:
    raw = os.environ.get(PG_ENV, "").strip()
    if not raw:
        return None
    url = make_url(raw)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A database of its own for this run, created on the server and dropped afterwards."""
    server = _pg_server_url()
    if server is None:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL variants skipped")
    # Unique per run and per pytest-xdist worker ("gw0", "gw1", ...): each worker has its own database.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"cba_test_{worker}_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _empty_all_tables(engine: Engine) -> None:
    """Empty every table and restart every sequence, as TRUNCATE ... RESTART IDENTITY would.

    DELETE, children first, is about ten times faster than TRUNCATE on these small tables
    (TRUNCATE creates new files for every table and index), and this runs after every PostgreSQL test.
    """
    from storage.models import Base

    deletes = "; ".join(f'DELETE FROM "{table.name}"' for table in reversed(Base.metadata.sorted_tables))
    with engine.begin() as connection:
        connection.execute(text(deletes))
        sequences = connection.execute(
            text("SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences")
        ).scalars()
        restarts = "; ".join(f"ALTER SEQUENCE {sequence} RESTART" for sequence in sequences)
        if restarts:
            connection.execute(text(restarts))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """Each test using it runs twice: on SQLite, and on PostgreSQL when configured."""
    if request.param == "sqlite":
        path = tmp_path / "cba.sqlite3"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("pg_database")
    cleaner = request.getfixturevalue("pg_cleaner")
    yield url
    _empty_all_tables(cleaner)


@pytest.fixture(scope="session")
def pg_cleaner(pg_database: str) -> Iterator[Engine]:
    """One connection kept for emptying the database after each test (connecting costs more than the DELETEs)."""
    # Pinged: a test may end every other connection to the database (a lost-connection test does).
    engine = make_engine(pg_database, pool_size=1, max_overflow=0, pool_pre_ping=True)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "cba.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session for arranging and asserting; commit what the bot must see."""
    with sessions() as session:
        yield session


# --- time --------------------------------------------------------------------------------------


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now = self.now + delta
        return self.now

    def set(self, instant: datetime) -> datetime:
        assert instant.tzinfo is not None
        self.now = instant.astimezone(UTC)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))


# --- Slack -------------------------------------------------------------------------------------


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    fake.add_user(ORGANISER, "Olga Organiser", email="olga@example.org")
    yield fake
    fake.stop()


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack) -> Settings:
    return Settings(
        database_url=db_url,
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.url,
        organisers=frozenset({ORGANISER}),
        questions_channel="C0QUESTIONS",
    )


@pytest.fixture
def registry() -> Registry:
    """What the features register; a test module may override it to add its own kinds."""
    return build_registry()


@pytest.fixture
def bot(
    settings: Settings, fake_slack: FakeSlack, sessions: sessionmaker[Session], clock: Clock, registry: Registry
) -> Iterator[Bot]:
    client = WebClient(token=settings.slack_bot_token, base_url=fake_slack.url)
    built = build(settings, client=client, sessions=sessions, clock=clock, registry=registry)
    yield built
    if built.deps.courier is not None:
        built.deps.courier.wait_idle(timeout=10)
        built.deps.courier.stop()


@pytest.fixture
def slack(bot: Bot, fake_slack: FakeSlack) -> SlackDriver:
    """Send signed requests through the bot's whole Bolt pipeline."""
    return SlackDriver(bot.app, bot.deps, SIGNING_SECRET, fake=fake_slack)


def with_settings(settings: Settings, **changes: object) -> Settings:
    return replace(settings, **changes)  # type: ignore[arg-type]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many tests ran on each database, so CI output shows the PostgreSQL variants ran."""
    passed = terminalreporter.stats.get("passed", [])
    counts = {
        backend: sum(1 for report in passed if f"[{backend}" in report.nodeid or f"-{backend}" in report.nodeid)
        for backend in ("sqlite", "postgresql")
    }
    terminalreporter.write_line(
        f"database variants passed: sqlite {counts['sqlite']}, postgresql {counts['postgresql']}"
    )
