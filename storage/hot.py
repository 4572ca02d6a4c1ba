"""Hot reads: a Core SELECT compiled once per dialect and run straight on the driver's connection.

SQLAlchemy's execution path costs about 200,000 CPU instructions per statement (execution context, events,
result adaptation): on `/cba-help` that is as much as the rest of the bot's work. The few statements that
every request or a hot listing runs go around it. They stay SQLAlchemy statements (written and checked once,
compiled by SQLAlchemy for each dialect); only their execution is direct:

- on the session's own connection, so inside the request's transaction (SQLite's deferred BEGIN included);
- bind and result values converted by the columns' types (UTCDateTime, booleans and JSON on SQLite);
- driver errors raised as SQLAlchemy's `DBAPIError`s, a lost connection invalidated, as everywhere else,
  without parameter values or PostgreSQL's DETAIL (as the engine's own errors: storage.db);
- `before_cursor_execute` listeners told of the statement (statement counts in tests and benches).

HotWrite does the same for the few writes of a hot path (`/cba-profile set`): the engine's
`before_cursor_execute` listeners, which take SQLite's writers' gate (storage.db), hear of it first.
Statements with expanding IN parameters are refused: their SQL depends on the values.

The statement's own constants (`status == "open"`) are written into the SQL, not bound: SQLite re-prepares a
statement whose bound value could decide the use of a partial index (as `status = ?` against an index
`WHERE status = 'open'`) every time that value is bound, 85 µs of the open-slots listing's 115 µs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CompoundSelect, Delete, Insert, Select, Update, literal_column
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.visitors import ExternallyTraversible, replacement_traverse

from storage.db import core, terse_postgresql_error

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Plan:
    sql: str
    names: tuple[str, ...] | None  # positional order of the parameters (qmark); None: by name (pyformat)
    binds: Mapping[str, Processor]
    fixed: Mapping[str, Any]  # parameters the statement itself gives a value (literals in the query)
    results: tuple[tuple[int, Callable[[Any], Any]], ...]  # the columns whose values are converted, and how


class HotSelect:
    """A SELECT run on the driver. `rows(session, params)` returns plain tuples in column order."""

    __slots__ = ("statement", "_plans")

    def __init__(self, statement: Select[*tuple[Any, ...]] | CompoundSelect[*tuple[Any, ...]]) -> None:
        self.statement = statement
        self._plans: dict[str, _Plan] = {}

    def rows(self, session: Session, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        connection = core(session)
        plan = self._plans.get(connection.dialect.name) or self._plan(connection.dialect)
        fetched = _on_driver(connection, plan, _arguments(plan, params), many=False, fetch=True)
        if not plan.results:
            return [tuple(row) for row in fetched]
        rows = []
        for row in fetched:
            converted = list(row)
            for index, process in plan.results:
                converted[index] = process(converted[index])
            rows.append(tuple(converted))
        return rows

    def _plan(self, dialect: Dialect) -> _Plan:
        plan = _compile(self.statement, dialect, self.statement.selected_columns)
        self._plans[dialect.name] = plan
        return plan


class HotWrite:
    """An INSERT, UPDATE or DELETE run on the driver: `run(session, params)` with one set of parameters, or a
    list of them (one executemany). The engine's `before_cursor_execute` listeners hear of it first, so on
    SQLite the writers' gate is taken as for any other write (storage.db). Statements whose columns have
    defaults computed in Python are refused: only SQLAlchemy's own execution computes those."""

    __slots__ = ("statement", "_plans")

    def __init__(self, statement: Insert | Update | Delete) -> None:
        self.statement = statement
        self._plans: dict[str, _Plan] = {}

    def run(self, session: Session, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> None:
        connection = core(session)
        plan = self._plans.get(connection.dialect.name) or self._plan(connection.dialect)
        if not isinstance(params, Mapping) and len(params) == 1:
            params = params[0]  # psycopg runs an executemany as a pipeline: three waits for one row
        if isinstance(params, Mapping):
            _on_driver(connection, plan, _arguments(plan, params), many=False, fetch=False)
        elif params:
            _on_driver(connection, plan, [_arguments(plan, each) for each in params], many=True, fetch=False)

    def _plan(self, dialect: Dialect) -> _Plan:
        plan = _compile(self.statement, dialect, ())
        self._plans[dialect.name] = plan
        return plan


def _compile(statement: Any, dialect: Dialect, selected: Any) -> _Plan:
    compiled = _with_literals_inline(statement, dialect).compile(dialect=dialect)
    if any(bind.expanding for bind in compiled.binds.values()):
        raise ValueError("a hot statement cannot take expanding (IN) parameters")
    if compiled.insert_prefetch or compiled.update_prefetch:  # (a SELECT has neither)
        raise ValueError("a hot statement cannot compute column defaults")
    binds = {name: bind.type._cached_bind_processor(dialect) for name, bind in compiled.binds.items()}
    processors = (column.type._cached_result_processor(dialect, None) for column in selected)
    results = tuple((index, process) for index, process in enumerate(processors) if process is not None)
    fixed = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
    positional = compiled.positiontup
    return _Plan(compiled.string, tuple(positional) if positional is not None else None, binds, fixed, results)


def _arguments(plan: _Plan, params: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
    given = {**plan.fixed, **params}
    try:
        values = {name: (process(given[name]) if process else given[name]) for name, process in plan.binds.items()}
    except KeyError as missing:
        raise ValueError(f"no value for the statement's parameter {missing}") from None
    return [values[name] for name in plan.names] if plan.names is not None else values


def _on_driver(connection: Connection, plan: _Plan, arguments: Any, *, many: bool, fetch: bool) -> list[Any]:
    """Execute on the driver's connection: listeners told first, errors raised as SQLAlchemy's."""
    dialect = connection.dialect
    for listener in connection.dispatch.before_cursor_execute:
        listener(connection, None, plan.sql, arguments, None, many)
    driver = connection.connection.driver_connection
    try:
        cursor = driver.cursor()  # type: ignore[union-attr]
        try:
            if many:
                cursor.executemany(plan.sql, arguments)
            else:
                cursor.execute(plan.sql, arguments)
            return cursor.fetchall() if fetch else []
        finally:
            cursor.close()
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, connection.connection.dbapi_connection, None)
        if lost:  # as SQLAlchemy does for its own statements: drop this connection and the pool's older ones
            connection.invalidate(error)
            connection.engine.dispose(close=False)
        wrapped = DBAPIError.instance(
            plan.sql,
            arguments,
            error,
            dialect.loaded_dbapi.Error,
            hide_parameters=connection.engine.hide_parameters,  # as the engine's own errors: no values
            connection_invalidated=lost,
            dialect=dialect,
        )
        if dialect.name == "postgresql":
            terse_postgresql_error(error, wrapped)  # no "DETAIL: Key (…)=(…)", as the engine's handle_error
        raise wrapped from error


def _with_literals_inline(
    statement: Select[Any] | CompoundSelect[Any], dialect: Dialect
) -> Select[Any] | CompoundSelect[Any]:
    """The statement with each bound constant (a value given in the code, not a parameter) as a SQL literal."""

    def inline(element: Any, **_kw: Any) -> Any:
        if not isinstance(element, BindParameter) or element.required or element.expanding or element.value is None:
            return None
        render = element.type.literal_processor(dialect)
        if render is None or isinstance(element.value, bool):
            return None  # booleans stay bound: their SQL spelling differs by dialect
        return literal_column(render(element.value), type_=element.type)

    traversed: Any = replacement_traverse(cast(ExternallyTraversible, statement), {}, inline)
    return cast("Select[Any] | CompoundSelect[Any]", traversed)
