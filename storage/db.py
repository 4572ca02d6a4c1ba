"""Engine and session factory, with SQLite made safe for concurrent writers.

SQLite: WAL (set once per file), a busy timeout, foreign keys on, and every transaction
opened with BEGIN IMMEDIATE, so a read-then-write transaction can never fail to upgrade
its lock (SQLITE_BUSY_SNAPSHOT) and writers queue instead of erroring.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Connections kept open while idle; more are opened (up to `connections`) when threads need them.
IDLE_CONNECTIONS = {"postgresql": 10, "sqlite": 8}
DEFAULT_CONNECTIONS = {"postgresql": 30, "sqlite": 40}


def make_engine(url: str, *, connections: int | None = None, **kwargs: Any) -> Engine:
    """An engine whose pool lets `connections` threads hold a connection at once (none waits for one).

    The bot passes what its threads can use at the same time (bot.app.database_connections: HTTP
    server threads, listener threads, the delivery engine's senders and the scheduler)."""
    parsed = make_url(url)
    backend = "sqlite" if parsed.get_backend_name() == "sqlite" else "postgresql"
    total = connections if connections is not None else DEFAULT_CONNECTIONS[backend]
    if total < 1:
        raise ValueError("a database pool needs at least one connection")
    kwargs.setdefault("pool_size", min(total, IDLE_CONNECTIONS[backend]))
    kwargs.setdefault("max_overflow", max(0, total - kwargs["pool_size"]))
    if backend != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)
    if parsed.database in (None, "", ":memory:"):
        raise ValueError("use a SQLite file, not an in-memory database: the bot runs on several threads")
    # A pool of connections, each used by one thread at a time: opening a connection and running the
    # pragmas costs more than most of our queries.
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
    _harden_sqlite(engine)
    return engine


def _harden_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so that "begin" below decides.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    # WAL persists in the file, so it is set once here rather than on every connection.
    # The raw connection is in autocommit (see above): the pragma must run outside a transaction.
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()
    finally:
        raw.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit when the block ends, roll back on any exception."""
    with factory.begin() as session:
        yield session
