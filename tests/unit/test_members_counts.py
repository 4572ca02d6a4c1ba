"""The kept directory counts (`member_counts`) and the sort rows' visibility follow every change, whatever path."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from commands.common.actors import Actor
from commands.members.fields import FieldValue
from commands.members.search import Viewer, counts, kept_counts, tally_members
from commands.members.service import apply_fields, erase, grant_role, remove_role
from storage.models import Member, MemberSortKey, RoleGrant
from tests.factories import make_cohort, make_member
from tests.factories_members import make_profile

NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)
THREADS = 6
ROUNDS = 25


def assert_kept(session: Session) -> None:
    session.flush()
    assert kept_counts(session) == tally_members(session)


def naive_counts(session: Session, viewer: Viewer) -> tuple[int, dict[str, int], dict[str, int], dict[str, int]]:
    """What the directory counted before the kept rows: over every listed member."""
    members = [
        m
        for m in session.scalars(select(Member).where(Member.erased_at.is_(None)))
        if viewer.organiser or m.visible or m.id == viewer.member_id
    ]
    ids = {m.id for m in members}
    grants = [g for g in session.scalars(select(RoleGrant)) if g.member_id in ids]
    roles = Counter(g.role for g in grants)
    by_cohort = Counter(code for _member_id, code in {(g.member_id, g.cohort.code) for g in grants if g.cohort})
    countries = Counter(m.country for m in members if m.country)
    return len(members), dict(roles), dict(by_cohort), dict(countries)


def shown(session: Session, viewer: Viewer) -> tuple[int, dict[str, int], dict[str, int], dict[str, int]]:
    result = counts(session, viewer)
    return result.total, dict(result.by_role), dict(result.by_cohort), dict(result.by_country)


def seed(session: Session) -> tuple[Actor, Member, Member]:
    cba1, cba2 = make_cohort(session, "CBA1"), make_cohort(session, "CBA2")
    organiser = make_profile(session, "U0ORG", "Olga Org", "organiser", country="BE")
    alice = make_profile(session, "U0AL", "Alice", "participant", cohort=cba1, country="IT")
    bob = make_profile(session, "U0BO", "Bob", "alumni", cohort=cba2, country="IT", visible=False)
    make_profile(session, "U0CA", "Carla", "coach", country="FR")
    session.add(RoleGrant(member_id=alice.id, role="alumni", cohort_id=cba1.id))  # two grants, one cohort
    session.flush()
    return Actor(member=organiser, roles=frozenset({"organiser"})), alice, bob


class TestKeptCounts:
    def test_start_right_and_match_the_naive_count_for_every_viewer(self, session: Session) -> None:
        actor, alice, bob = seed(session)
        assert_kept(session)
        for viewer in (Viewer(alice.id, False), Viewer(bob.id, False), Viewer(actor.member.id, True)):
            assert shown(session, viewer) == naive_counts(session, viewer)
        assert shown(session, Viewer(bob.id, False))[0] == 4  # three visible members and hidden Bob himself
        assert counts(session, Viewer(actor.member.id, True)).hidden_total == 1

    def test_follow_profile_changes(self, session: Session) -> None:
        actor, alice, bob = seed(session)
        apply_fields(session, bob, [FieldValue("visible", True), FieldValue("country", "DE")], NOW)
        assert_kept(session)
        apply_fields(session, alice, [FieldValue("visible", False), FieldValue("country", None)], NOW)
        assert_kept(session)
        viewer = Viewer(bob.id, False)
        assert shown(session, viewer) == naive_counts(session, viewer)
        assert dict(counts(session, viewer).by_country) == {"DE": 1, "BE": 1, "FR": 1}

    def test_follow_role_changes(self, session: Session) -> None:
        actor, alice, bob = seed(session)
        make_cohort(session, "CBA3")
        grant_role(session, actor, bob, "coach", None)
        assert_kept(session)
        grant_role(session, actor, alice, "participant", "CBA3")  # moves her participant grant to CBA3
        assert_kept(session)
        remove_role(session, actor, alice, "alumni", frozenset())
        assert_kept(session)
        assert dict(counts(session, Viewer(alice.id, False)).by_cohort) == {"CBA3": 1}

    def test_follow_erasure_and_deletion(self, session: Session) -> None:
        actor, alice, bob = seed(session)
        erase(session, Actor(member=alice, roles=frozenset({"participant", "alumni"})), NOW)
        assert_kept(session)
        assert session.get(MemberSortKey, alice.id) is None  # erased members leave the directory's order
        session.delete(bob)
        assert_kept(session)
        viewer = Viewer(actor.member.id, True)
        assert (
            shown(session, viewer)
            == naive_counts(session, viewer)
            == (2, {"organiser": 1, "coach": 1}, {}, {"BE": 1, "FR": 1})
        )

    def test_follow_changes_made_without_the_service(self, session: Session) -> None:
        _actor, _alice, bob = seed(session)
        member = make_member(session, "U0NEW", "New Person", "participant", country="PT")  # no profile indexing
        assert_kept(session)
        member.roles.append(RoleGrant(role="coach"))
        bob.visible = True
        assert_kept(session)
        # The sort rows' copy of the visibility follows too, so Bob appears in searches at once.
        assert session.scalar(select(MemberSortKey.visible).where(MemberSortKey.member_id == bob.id)) is True
        member.roles.clear()
        assert_kept(session)


class TestConcurrentChanges:
    # Two transactions removing one grant: the second deletes nothing (SQLAlchemy warns) and counts nothing.
    @pytest.mark.filterwarnings("ignore:DELETE statement on table:sqlalchemy.exc.SAWarning")
    def test_stay_exact_when_transactions_change_the_same_members_at_once(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """Profile and role changes from several threads, each its own transaction (on PostgreSQL, READ
        COMMITTED: they overlap), touching the same few members; afterwards the kept rows equal a recount."""
        with sessions.begin() as session:
            cohorts = [make_cohort(session, code).id for code in ("CBA1", "CBA2")]
            ids = [
                make_profile(session, f"U0C{n}", f"Member {n}", "participant", country="IT", visible=False).id
                for n in range(3)
            ]
        countries = ("IT", "FR", "DE", None)
        start = threading.Barrier(THREADS)

        def change(worker: int) -> None:
            chooser = random.Random(worker)
            start.wait()
            for _ in range(ROUNDS):
                try:
                    with sessions.begin() as session:
                        member = session.get(Member, chooser.choice(ids))
                        assert member is not None
                        what = chooser.randrange(3)
                        if what == 0:
                            apply_fields(session, member, [FieldValue("visible", not member.visible)], NOW)
                        elif what == 1:
                            apply_fields(session, member, [FieldValue("country", chooser.choice(countries))], NOW)
                        else:
                            grants = [grant for grant in member.roles if grant.role == "alumni"]
                            if grants:
                                member.roles.remove(grants[0])
                            else:
                                member.roles.append(RoleGrant(role="alumni", cohort_id=chooser.choice(cohorts)))
                        session.flush()
                        time.sleep(0.002)  # the rest of a request's work: others read and write meanwhile
                except (DBAPIError, StaleDataError):
                    pass  # a concurrent transaction won (a deleted grant, a deadlock): this one changed nothing

        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(change, range(THREADS)))

        with sessions() as session:
            assert kept_counts(session) == tally_members(session)
