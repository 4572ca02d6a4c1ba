"""The directory index and queries, on SQLite and PostgreSQL (same rows, same order)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from commands.members.parse import parse_directory
from commands.members.search import (
    COUNT_CAP,
    PAGE_SIZE,
    Viewer,
    counts,
    index_member,
    member_terms,
    search,
    update_and_index,
)
from storage.models import Member, MemberSortKey, MemberTerm
from tests.factories import make_cohort
from tests.factories_members import make_profile


def names(session: Session, text: str, viewer: Viewer, page: int = 0) -> list[str]:
    return [m.name for m in search(session, parse_directory(text), viewer, page=page).members]


def seed(session: Session) -> Viewer:
    cba2, cba3 = make_cohort(session, "CBA2"), make_cohort(session, "cba3")
    me = make_profile(session, "U0ME", "Zed Me", "participant", cohort=cba3, visible=False, organisation="Mobility Lab")
    make_profile(
        session,
        "U0A",
        "Ána Ávila",
        "participant",
        cohort=cba3,
        country="ES",
        expertise=["Smart mobility"],
        organisation="Mobility Cluster",
    )
    make_profile(
        session, "U0B", "anna Berg", "alumni", cohort=cba2, country="SE", sectors=["Mobility"], bio="Automobile parts"
    )
    make_profile(session, "U0C", "Ann Bergström", "coach", country="SE", expertise=["Funding"], region="Mob-Region")
    make_profile(session, "U0D", "Öz Mobil", "alumni", cohort=cba2, visible=False, country="TR")
    make_profile(session, "U0E", "Émile 9Mob", "alumni", cohort=cba2, country="FR")
    session.flush()
    return Viewer(member_id=me.id, organiser=False)


class TestSearch:
    def test_word_prefixes_match_across_fields_in_a_collation_proof_order(self, session: Session) -> None:
        me = seed(session)
        # Sort keys are folded alphanumerics: "anaavila" < "annaberg" < "annbergstrom" < "emile9mob" < "zedme".
        assert names(session, "mob", me) == ["Ána Ávila", "anna Berg", "Ann Bergström", "Zed Me"]
        assert names(session, "ANN", me) == ["anna Berg", "Ann Bergström"]
        assert names(session, "berg ann", me) == ["anna Berg", "Ann Bergström"]
        assert names(session, "9mob", me) == ["Émile 9Mob"]
        assert names(session, "automob", me) == ["anna Berg"]
        assert names(session, "zzz", me) == []

    def test_filters_are_exact(self, session: Session) -> None:
        me = seed(session)
        assert names(session, "country:se", me) == ["anna Berg", "Ann Bergström"]
        assert names(session, "role:alumni", me) == ["anna Berg", "Émile 9Mob"]
        assert names(session, "cohort:CBA3", me) == ["Ána Ávila", "Zed Me"]
        assert names(session, "expertise:smart-mobility", me) == ["Ána Ávila"]
        assert names(session, "sector:mobility country:SE", me) == ["anna Berg"]
        assert names(session, "expertise:smart", me) == []

    def test_hidden_members_only_for_organisers(self, session: Session) -> None:
        me = seed(session)
        organiser = Viewer(member_id=0, organiser=True)
        assert "Öz Mobil" not in names(session, "mobil", me)
        assert "Öz Mobil" in names(session, "mobil", organiser)
        assert names(session, "country:TR", me) == []
        assert counts(session, me).total == 5  # four visible members and the viewer themselves
        assert dict(counts(session, organiser).by_country)["TR"] == 1
        assert "TR" not in dict(counts(session, me).by_country)

    def test_pages_are_disjoint_and_complete(self, session: Session) -> None:
        me = seed(session)
        for n in range(3 * PAGE_SIZE):
            make_profile(session, f"U0P{n:03d}", f"Pat {n:03d}", "participant", organisation="Paging Cluster")
        pages = [names(session, "paging", me, page) for page in range(3)]
        flat = [name for page in pages for name in page]
        assert flat == [f"Pat {n:03d}" for n in range(3 * PAGE_SIZE)]
        assert names(session, "paging", me, 99) == pages[-1]

    def test_reindexing_follows_profile_changes(self, session: Session) -> None:
        me = seed(session)
        member = make_profile(session, "U0X", "Xavier", expertise=["Hydrogen"])
        assert names(session, "hydrogen", me) == ["Xavier"]
        member.expertise = ["Batteries"]
        index_member(session, member)
        assert names(session, "hydrogen", me) == []
        member.name, member.organisation, member.sectors = "Aaron Xavier", "Grid Works", ["Energy storage"]
        index_member(session, member)
        # Exactly the profile's terms are stored (several vanished at once, several new), and the renamed
        # member moves in the directory's order.
        stored = set(session.execute(select(MemberTerm.kind, MemberTerm.term).where(MemberTerm.member_id == member.id)))
        assert stored == member_terms(member)
        assert {("w", "xavier"), ("w", "aaron"), ("s", "energy storage"), ("e", "batteries")} <= stored
        assert names(session, "a", me)[0] == "Aaron Xavier"
        assert session.scalar(select(MemberSortKey.sort_key).where(MemberSortKey.member_id == member.id)) == (
            "aaronxavier"
        )
        executed: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            executed.append(statement)

        engine = session.get_bind()
        postgresql = engine.dialect.name == "postgresql"
        # PostgreSQL: each row's xmin names the transaction that last wrote it (xid is cast via text).
        versions = sql(
            "SELECT CAST(CAST(xmin AS TEXT) AS BIGINT) FROM member_terms WHERE member_id = :m UNION ALL "
            "SELECT CAST(CAST(xmin AS TEXT) AS BIGINT) FROM member_sort_keys WHERE member_id = :m"
        )
        session.commit()
        member_terms(member)  # loaded again after the commit, before counting statements
        written_before = sorted(session.scalars(versions, {"m": member.id})) if postgresql else []
        event.listen(engine, "before_cursor_execute", record)
        try:
            index_member(session, member)  # nothing changed: one statement, nothing written
        finally:
            event.remove(engine, "before_cursor_execute", record)
        # SQLite reads the stored rows and writes nothing; PostgreSQL syncs in one statement that skips them all.
        assert [statement.split()[0].upper() for statement in executed] == ["WITH" if postgresql else "SELECT"]
        if postgresql:
            session.commit()
            assert sorted(session.scalars(versions, {"m": member.id})) == written_before
        assert (
            set(session.execute(select(MemberTerm.kind, MemberTerm.term).where(MemberTerm.member_id == member.id)))
            == stored
        )
        member.erased_at = datetime(2026, 1, 1, tzinfo=UTC)
        index_member(session, member)
        assert list(session.scalars(select(MemberTerm).where(MemberTerm.member_id == member.id))) == []
        assert session.scalar(select(MemberSortKey.member_id).where(MemberSortKey.member_id == member.id)) is None

    def test_a_profile_field_is_written_and_indexed_together(self, session: Session) -> None:
        me = seed(session)
        member = make_profile(session, "U0X", "Xavier", region="Tuscany", organisation="Agri Hub")
        executed: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            executed.append(statement.split()[0].upper())

        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", record)
        try:
            update_and_index(session, member, {"region": "Upper Bavaria", "organisation": "Agri Hub North"})
        finally:
            event.remove(engine, "before_cursor_execute", record)
        # PostgreSQL: the row, the terms and the sort row in one statement; SQLite: the update, then the diff.
        if engine.dialect.name == "postgresql":
            assert executed == ["WITH"]
        else:
            assert executed == ["UPDATE", "SELECT", "DELETE", "INSERT"]
        session.commit()
        session.expire_all()
        stored = session.get(Member, member.id)
        assert stored is not None
        assert (stored.region, stored.organisation) == ("Upper Bavaria", "Agri Hub North")
        assert names(session, "bavaria", me) == names(session, "north", me) == ["Xavier"]
        assert names(session, "tuscany", me) == []
        assert set(
            session.execute(select(MemberTerm.kind, MemberTerm.term).where(MemberTerm.member_id == member.id))
        ) == member_terms(stored)

    def test_more_matches_than_counted_are_paged_in_order(self, session: Session) -> None:
        me = seed(session)
        organiser = Viewer(member_id=0, organiser=True)
        for n in range(230):  # every tenth hidden: 207 visible, more than COUNT_CAP
            make_profile(
                session,
                f"U0W{n:03d}",
                f"Pat {n:03d}",
                "participant",
                visible=n % 10 != 0,
                organisation="Wide Cluster",
                country="SE",
            )
        shown = [f"Pat {n:03d}" for n in range(230) if n % 10]
        # One filter (the sort index walked, probing it), and two (the rarer one drives, sorted per page).
        for text in ("wide", "wide country:se", "wid cluster"):
            result = search(session, parse_directory(text), me)
            assert (result.total, result.pages, result.capped) == (COUNT_CAP + 1, COUNT_CAP // PAGE_SIZE, True)
            assert [m.name for m in result.members] == shown[:PAGE_SIZE]
            assert names(session, text, me, page=24) == shown[24 * PAGE_SIZE : 25 * PAGE_SIZE]
            assert names(session, text, organiser, page=1) == [f"Pat {n:03d}" for n in range(8, 16)]

    def test_a_member_matching_a_prefix_twice_counts_once_past_the_first_read(self, session: Session) -> None:
        me = seed(session)
        # 150 members match "pag" through two words each, read member by member: the first COUNT_CAP + 1 rows
        # hold about a hundred members, each twice.
        for n in range(150):
            make_profile(
                session, f"U0Q{n:03d}", f"Quinn {n:03d}", "participant", organisation=f"Pag{n:03d}a Pag{n:03d}b"
            )
        result = search(session, parse_directory("pag"), me)
        assert result.total == 150
        assert [m.name for m in result.members] == [f"Quinn {n:03d}" for n in range(PAGE_SIZE)]
        assert names(session, "pag", me, page=18) == [f"Quinn {n:03d}" for n in range(144, 150)]
