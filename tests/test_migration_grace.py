"""Revision 0010_grace on a database with data: existing assignments keep no grace, as they had."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Engine, text

from storage.migrate import alembic_config, upgrade

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_existing_assignments_get_no_grace_and_the_downgrade_drops_it(db_url: str, engine: Engine) -> None:
    command.downgrade(alembic_config(db_url), "0010_grace-1")
    try:
        at = AT.replace(tzinfo=None) if db_url.startswith("sqlite") else AT  # SQLite stores UTC naive
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO cohorts (id, code, name, created_at) VALUES (1, 'CBA3', 'c', :at)"), {"at": at}
            )
            connection.execute(
                text(
                    "INSERT INTO assignments (id, cohort_id, title, description, due_at, created_at) "
                    "VALUES (1, 1, 'Plan', '', :at, :at)"
                ),
                {"at": at},
            )
    finally:
        upgrade(db_url)  # the next tests on this database need the whole schema
    with engine.connect() as connection:
        assert list(connection.execute(text("SELECT id, grace_minutes FROM assignments"))) == [(1, 0)]
    command.downgrade(alembic_config(db_url), "0010_grace-1")
    try:
        with engine.connect() as connection:
            assert list(connection.execute(text("SELECT id, title FROM assignments"))) == [(1, "Plan")]
    finally:
        upgrade(db_url)
