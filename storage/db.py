"""Engine and session factory, with SQLite made safe and fast for concurrent writers.

SQLite: WAL (set once per file), a busy timeout, foreign keys on. Transactions open with
BEGIN IMMEDIATE unless the caller asked for `deferred_begin()` (the request pipeline does: most
requests only read, and in WAL readers never wait). Writers of one process queue on an in-process
gate before they take SQLite's write lock, so they are handed the database at once instead of
sleeping in SQLite's busy handler (1, 2, 5 … 100 ms). A deferred transaction takes the gate at its
first write; if another writer committed since it began reading, SQLite refuses the upgrade
(SQLITE_BUSY_SNAPSHOT) and the caller retries once with BEGIN IMMEDIATE (`is_write_conflict`).
One process per SQLite file; PostgreSQL for several.

Privacy (SPEC §3: logs never carry message bodies or SQL parameters): every engine hides its SQL
parameters from logs and error messages (`hide_parameters=True`), its DEBUG log shows no fetched row,
and PostgreSQL errors keep only what names the failure (SQLSTATE, table, column, constraint): the
server's own text may quote the row ("DETAIL: Failing row contains (…)", "Key (email)=(…)"). Code that
needs the details reads them from the driver's exception (`error.orig.diag`), which is left intact.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
# SQLITE_BUSY, SQLITE_LOCKED and SQLITE_BUSY_SNAPSHOT: another writer got there first.
_WRITE_CONFLICT_CODES = frozenset({5, 6, 517})
_WRITES = ("insert", "update", "delete", "replace")
_deferred: ContextVar[bool] = ContextVar("cba_sqlite_deferred", default=False)


@contextmanager
def deferred_begin() -> Iterator[None]:
    """SQLite transactions opened in this block begin DEFERRED (reads run beside writers)."""
    token = _deferred.set(True)
    try:
        yield
    finally:
        _deferred.reset(token)


def is_write_conflict(error: BaseException) -> bool:
    """True for SQLite's "another writer committed first": retrying with BEGIN IMMEDIATE succeeds."""
    if not isinstance(error, OperationalError) or not isinstance(error.orig, sqlite3.OperationalError):
        return False
    return getattr(error.orig, "sqlite_errorcode", None) in _WRITE_CONFLICT_CODES


def is_lost_connection(error: BaseException) -> bool:
    """True when the database closed the connection under a statement (a server restart, an idle timeout):
    the connection is discarded, and the same work on a new one succeeds."""
    return isinstance(error, DBAPIError) and error.connection_invalidated


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
    kwargs.setdefault("hide_parameters", True)
    _hide_logged_rows()
    if backend != "sqlite":
        # No ping before each checkout (a round trip on every request): a connection the server closed fails
        # its first statement instead, SQLAlchemy then replaces every pooled connection as old as it, and
        # the request pipeline runs that request once more (`is_lost_connection`).
        engine = create_engine(url, **kwargs)
        event.listen(engine, "handle_error", _terse_postgresql_error)
        _begin_postgresql_lazily(engine)
        return engine
    if parsed.database in (None, "", ":memory:"):
        raise ValueError("use a SQLite file, not an in-memory database: the bot runs on several threads")
    # A pool of connections, each used by one thread at a time: opening a connection and running the
    # pragmas costs more than most of our queries.
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
    _harden_sqlite(engine)
    return engine


class _HideRows(logging.Filter):
    """SQLAlchemy logs each fetched row at DEBUG ("Row (…)"), texts included: keep the line, not the row."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "Row %r":
            record.msg, record.args = "Row [hidden]", ()
        return True


_ROW_FILTER = _HideRows()


def _hide_logged_rows() -> None:
    # The logger every engine logs through unless created with `echo` (then an instance logger below it).
    for name in ("sqlalchemy.engine.Engine", "sqlalchemy.engine"):
        logging.getLogger(name).addFilter(_ROW_FILTER)  # once: addFilter ignores a filter already there


def _terse_postgresql_error(context: ExceptionContext) -> None:
    terse_postgresql_error(context.original_exception, context.sqlalchemy_exception)


def terse_postgresql_error(original: BaseException, wrapped: BaseException | None) -> None:
    """Rewrite a PostgreSQL error's message (and SQLAlchemy's wrapper of it) to name the failure only."""
    diag = getattr(original, "diag", None)
    if diag is None:
        return
    fields = (
        ("SQLSTATE", diag.sqlstate),
        ("table", diag.table_name),
        ("column", diag.column_name),
        ("constraint", diag.constraint_name),
    )
    terse = ", ".join(f"{name} {value}" for name, value in fields if value)
    original.args = (terse,)
    if wrapped is not None:
        kind = type(original)
        wrapped.args = (f"({kind.__module__}.{kind.__qualname__}) {terse}",)


# A statement that may run outside a transaction with the same effect as inside one, under READ COMMITTED
# (each statement sees what was committed when it starts, in a transaction or not): a plain read.
_PLAIN_READ = re.compile(r"\s*SELECT\b", re.IGNORECASE)
_NOT_PLAIN = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE|KEY\s+SHARE)\b|\bpg_advisory|\bnextval\(", re.I)


def _begin_postgresql_lazily(engine: Engine) -> None:
    """Send BEGIN just before a transaction's first statement that is not a plain read, not before its first.

    psycopg sends BEGIN as a round trip of its own, and COMMIT another: a request that only reads (most
    answers) paid three round trips for one SELECT. Under READ COMMITTED, PostgreSQL's default and ours, a
    plain SELECT sees the same rows in a transaction or out of one, so reads run in autocommit until a write,
    a locking read (FOR UPDATE/SHARE), an advisory lock or anything else comes; BEGIN goes just before it
    and the rest of the transaction runs inside. COMMIT is sent only when BEGIN was (psycopg skips it on an
    idle connection). Connections asked for AUTOCOMMIT are left alone."""

    @event.listens_for(engine, "begin")
    def _defer_begin(connection: Any) -> None:
        if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return
        info = connection.info  # the driver connection's: it outlives this checkout
        driver = connection.connection.driver_connection
        if driver.autocommit and not info.get("cba_lazy_begin"):
            return  # in autocommit by the engine's own settings (CREATE DATABASE and the like)
        if not driver.autocommit:
            driver.autocommit = True
            info["cba_lazy_begin"] = True
        info["cba_begin_pending"] = True

    @event.listens_for(engine, "before_cursor_execute")
    def _begin_before_first_change(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not connection.info.get("cba_begin_pending"):
            return
        if _PLAIN_READ.match(statement) and not _NOT_PLAIN.search(statement):
            return
        connection.info["cba_begin_pending"] = False
        connection.connection.driver_connection.execute("BEGIN")

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _end(connection: Any) -> None:
        if not connection.invalidated:  # (an invalidated Connection's `info` would try to reconnect)
            connection.info.pop("cba_begin_pending", None)


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

    gate = threading.RLock()

    def take_gate(connection: Any) -> None:
        if not connection.info.get("cba_gate"):
            gate.acquire()
            connection.info["cba_gate"] = True

    def release_gate(connection: Any) -> None:
        if connection.info.pop("cba_gate", False):
            gate.release()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Straight to sqlite3: through exec_driver_sql, SQLAlchemy's whole execution path ran for it.
        dbapi_connection = connection.connection.dbapi_connection
        if _deferred.get():
            dbapi_connection.execute("BEGIN DEFERRED")
            return
        take_gate(connection)
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
        except BaseException:
            release_gate(connection)
            raise

    @event.listens_for(engine, "before_cursor_execute")
    def _before_write(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if connection.in_transaction() and statement.lstrip()[:7].lower().startswith(_WRITES):
            take_gate(connection)

    @event.listens_for(engine, "commit")
    def _on_commit(connection: Any) -> None:
        # This event comes before the commit; commit here so that the gate opens only once our rows are
        # visible (the sqlite3 module's own commit() that follows finds no transaction and does nothing).
        if connection.info.get("cba_gate"):
            try:
                connection.connection.dbapi_connection.execute("COMMIT")
            finally:
                release_gate(connection)

    @event.listens_for(engine, "rollback")
    def _on_rollback(connection: Any) -> None:
        release_gate(connection)

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


def core(session: Session) -> Connection:
    """The session's connection, for Core statements on the hot paths (rows as tuples, no entities).

    Session.execute costs 45–60 µs more per statement than the same statement on the connection (the ORM's
    execution layer: options, events, result adaptation), which Core statements do not need. Pending ORM
    changes are flushed first, as Session.execute's autoflush would."""
    session.flush()
    return session.connection()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit when the block ends, roll back on any exception."""
    with factory.begin() as session:
        yield session
