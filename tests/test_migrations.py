"""The migrations are the schema: they must reproduce the models exactly, and be safe to re-run."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from storage.migrate import current_heads, upgrade
from storage.models import Base


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_upgrade_twice_is_harmless(db_url: str) -> None:
    upgrade(db_url)
    heads = current_heads(db_url)
    upgrade(db_url)
    assert current_heads(db_url) == heads != set()
