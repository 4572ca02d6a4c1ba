"""Hot reads: a Core SELECT compiled once per dialect and run straight on the driver's connection.

SQLAlchemy's execution path costs about 200,000 CPU instructions per statement (execution context, events,
result adaptation): on `/cba-help` that is as much as the rest of the bot's work. The few statements that
every request or a hot listing runs go around it. They stay SQLAlchemy statements (written and checked once,
compiled by SQLAlchemy for each dialect); only their execution is direct:

- on the session's own connection, so inside the request's transaction (SQLite's deferred BEGIN included);
- bind and result values converted by the columns' types (UTCDateTime, booleans and JSON on SQLite);
- driver errors raised as SQLAlchemy's `DBAPIError`s, a lost connection invalidated, as everywhere else;
- `before_cursor_execute` listeners told of the statement (statement counts in tests and benches).

Reads only: writes must pass through the engine's events (SQLite's writers' gate, see storage.db).
Statements with expanding IN parameters are refused: their SQL depends on the values.

The statement's own constants (`status == "open"`) are written into the SQL, not bound: SQLite re-prepares a
statement whose bound value could decide the use of a partial index (as `status = ?` against an index
`WHERE status = 'open'`) every time that value is bound, 85 µs of the open-slots listing's 115 µs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CompoundSelect, Select, literal_column
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.visitors import ExternallyTraversible, replacement_traverse

from storage.db import core

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
        dialect = connection.dialect
        plan = self._plans.get(dialect.name) or self._plan(dialect)
        given = {**plan.fixed, **params}
        values = {name: (process(given[name]) if process else given[name]) for name, process in plan.binds.items()}
        arguments: Sequence[Any] | Mapping[str, Any] = (
            [values[name] for name in plan.names] if plan.names is not None else values
        )
        for listener in connection.dispatch.before_cursor_execute:
            listener(connection, None, plan.sql, arguments, None, False)
        driver = connection.connection.driver_connection
        try:
            cursor = driver.execute(plan.sql, arguments)  # type: ignore[union-attr]
            try:
                fetched = cursor.fetchall()
            finally:
                cursor.close()
        except dialect.loaded_dbapi.Error as error:
            lost = dialect.is_disconnect(error, connection.connection.dbapi_connection, None)
            if lost:  # as SQLAlchemy does for its own statements: drop this connection and the pool's older ones
                connection.invalidate(error)
                connection.engine.dispose(close=False)
            raise DBAPIError.instance(
                plan.sql, arguments, error, dialect.loaded_dbapi.Error, connection_invalidated=lost
            ) from error
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
        compiled = _with_literals_inline(self.statement, dialect).compile(dialect=dialect)
        if any(bind.expanding for bind in compiled.binds.values()):
            raise ValueError("a hot select cannot take expanding (IN) parameters")
        binds = {name: bind.type._cached_bind_processor(dialect) for name, bind in compiled.binds.items()}
        processors = (column.type._cached_result_processor(dialect, None) for column in self.statement.selected_columns)
        results = tuple((index, process) for index, process in enumerate(processors) if process is not None)
        fixed = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
        positional = compiled.positiontup
        plan = _Plan(compiled.string, tuple(positional) if positional is not None else None, binds, fixed, results)
        self._plans[dialect.name] = plan
        return plan


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
