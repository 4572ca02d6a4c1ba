"""The caller's lookup (commands.common.actors): the whole member row, read without the ORM's loading, is the
session's object in the state a load leaves it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, sessionmaker

from commands.common.actors import load_actor
from storage.models import Member
from tests.factories import make_member

ORGANISERS = frozenset({"U0ORGANISER"})


def _seed(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as session:
        member = make_member(session, "U0WHOLE", "Wanda Whole", "alumni")
        member.sectors, member.expertise = ["Agri-food", "ICT"], ["Funding"]
        member.visible, member.visible_since = True, datetime(2026, 5, 1, 8, tzinfo=UTC)
        member.away_from, member.away_until = date(2026, 12, 24), date(2027, 1, 2)
        member.question_capacity = 3
        return member.id


def _columns(member: Member) -> dict[str, object]:
    return {column.key: getattr(member, column.key) for column in Member.__mapper__.column_attrs}


def test_the_whole_caller_is_the_row_as_the_orm_loads_it(sessions: sessionmaker[Session]) -> None:
    member_id = _seed(sessions)
    with sessions() as session:
        expected = _columns(session.scalars(select(Member).where(Member.id == member_id)).one())
    with sessions() as session:
        actor = load_actor(session, "U0WHOLE", ORGANISERS, whole_member=True)
        member = actor.member
        assert actor.roles == frozenset({"alumni"})
        assert _columns(member) == expected  # every column, converted by its type (JSON lists, dates, UTC times)
        state = inspect(member)
        assert state.persistent
        assert state.session is session
        assert not session.dirty
        assert not session.new
        assert session.get(Member, member_id) is member  # the session's one object for the row
        assert [grant.role for grant in member.roles] == ["alumni"]  # relationships load as usual


def test_a_change_to_the_whole_caller_is_flushed_like_any_other(sessions: sessionmaker[Session]) -> None:
    member_id = _seed(sessions)
    with sessions.begin() as session:
        member = load_actor(session, "U0WHOLE", ORGANISERS, whole_member=True).member
        member.region = "Lombardy"
        assert list(session.dirty) == [member]
    with sessions() as session:
        stored = session.get(Member, member_id)
        assert stored is not None
        assert (stored.region, stored.name, stored.sectors) == ("Lombardy", "Wanda Whole", ["Agri-food", "ICT"])


def test_a_row_the_session_holds_already_is_handed_out_as_it_is(sessions: sessionmaker[Session]) -> None:
    member_id = _seed(sessions)
    with sessions() as session:
        held = session.get(Member, member_id)
        assert held is not None
        held.bio = "unsaved"
        member = load_actor(session, "U0WHOLE", ORGANISERS, whole_member=True).member
        assert member is held
        assert member.bio == "unsaved"


def test_an_unknown_caller_has_no_row_and_no_roles(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        actor = load_actor(session, "U0NOBODY", ORGANISERS, create=False, whole_member=True)
        assert actor.roles == frozenset()
        assert actor.member_id is None
        organiser = load_actor(session, "U0ORGANISER", ORGANISERS, create=False, whole_member=True)
        assert organiser.roles == frozenset({"organiser"})
