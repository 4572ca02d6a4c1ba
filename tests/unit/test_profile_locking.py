"""Two concurrent changes of one member's profile take turns, so the directory indexes the whole final profile.

Each change re-indexes the member's search terms from the profile it read. Unserialised, the second writer
would index the first's field with its old value. PostgreSQL only: SQLite's writers take turns anyway (a
profile command begins with the write lock; a form that meets a concurrent writer runs again)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from commands.common.actors import Actor, load_caller
from commands.members.fields import check_field
from commands.members.search import member_terms
from commands.members.service import set_field
from storage.models import Member, MemberTerm
from tests.factories_members import make_profile

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
NOBODY: frozenset[str] = frozenset()


def _caller(session: Session, path: str) -> Actor:
    """As the command path loads the caller (locked with the row) or the form path (locked on first change)."""
    if path == "command":
        return load_caller(session, "U0X", NOBODY, whole_member=True, lock=True)
    return load_caller(session, "U0X", NOBODY)


@pytest.mark.parametrize("path", ["command", "form"])
def test_the_second_change_waits_and_indexes_the_first(
    engine: Engine, sessions: sessionmaker[Session], path: str
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's writers take turns")
    with sessions() as session:
        make_profile(session, "U0X", "Xavier", "participant", region="Tuscany", organisation="Agri Hub")
        session.commit()

    first = sessions()
    set_field(first, _caller(first, path), check_field("region", "Bavaria"), NOW, UTC)
    failures: list[BaseException] = []

    def second() -> None:
        try:
            with sessions() as session:
                set_field(session, _caller(session, path), check_field("organisation", "Grid Works"), NOW, UTC)
                session.commit()
        except BaseException as exc:  # reported by the test's thread
            failures.append(exc)

    waiting = threading.Thread(target=second)
    waiting.start()
    waiting.join(0.5)
    assert waiting.is_alive(), "the second change must wait for the first's lock"
    first.commit()
    first.close()
    waiting.join(10)
    assert not waiting.is_alive()
    assert failures == []

    with sessions() as session:
        member = session.scalars(select(Member).where(Member.slack_id == "U0X")).one()
        assert (member.region, member.organisation) == ("Bavaria", "Grid Works")
        stored = set(session.execute(select(MemberTerm.kind, MemberTerm.term).where(MemberTerm.member_id == member.id)))
        assert stored == member_terms(member)
        assert {("w", "bavaria"), ("w", "grid")} <= stored
        assert ("w", "tuscany") not in stored
