"""The directory's index and queries (SQLite and PostgreSQL give the same rows in the same order).

Each member has derived rows: `member_terms` (every folded word of name, organisation, region, bio and
tags, kind "w"; each whole sector/expertise tag, kinds "s"/"e") and a `member_sort_keys` row. Word search
is a prefix match per word on the (kind, term) index; filters are exact matches on indexed columns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from commands.members.fields import sort_key, tag_key, words
from commands.members.parse import DirectoryQuery
from storage.models import Cohort, Member, MemberSortKey, MemberTerm, RoleGrant

PAGE_SIZE = 8
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def member_terms(member: Member) -> set[tuple[str, str]]:
    """The (kind, term) rows a member's profile gives (erased members give none)."""
    if member.erased_at is not None:
        return set()
    terms: set[tuple[str, str]] = set()
    texts = [member.name, member.organisation, member.region, member.bio, *member.sectors, *member.expertise]
    for text in texts:
        terms.update(("w", word[:100]) for word in words(text))
    terms.update(("s", tag_key(tag)[:100]) for tag in member.sectors if tag_key(tag))
    terms.update(("e", tag_key(tag)[:100]) for tag in member.expertise if tag_key(tag))
    return terms


def index_member(session: Session, member: Member) -> None:
    """Bring a member's search rows up to date with their profile (call after every profile change)."""
    session.flush()
    wanted = member_terms(member)
    have = {
        (row.kind, row.term) for row in session.scalars(select(MemberTerm).where(MemberTerm.member_id == member.id))
    }
    for kind, term in have - wanted:
        session.execute(
            delete(MemberTerm).where(
                MemberTerm.member_id == member.id, MemberTerm.kind == kind, MemberTerm.term == term
            )
        )
    session.add_all(MemberTerm(member_id=member.id, kind=kind, term=term) for kind, term in sorted(wanted - have))
    key = session.get(MemberSortKey, member.id)
    if key is None:
        session.add(MemberSortKey(member_id=member.id, sort_key=sort_key(member.name)))
    else:
        key.sort_key = sort_key(member.name)
    session.flush()


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest [0-9a-z] string above every string starting with `prefix` (None: no bound).

    Staying inside the alphabet keeps the range the same under any collation ('{' would be ignored by
    most locales' first-level comparison)."""
    chars = list(prefix)
    while chars:
        position = _ALPHABET.find(chars[-1])
        if 0 <= position < len(_ALPHABET) - 1:
            chars[-1] = _ALPHABET[position + 1]
            return "".join(chars)
        chars.pop()
    return None


def _word_range(word: str) -> ColumnElement[bool]:
    condition = and_(MemberTerm.kind == "w", MemberTerm.term >= word)
    upper = prefix_upper_bound(word)
    if upper is not None:
        condition = and_(condition, MemberTerm.term < upper)
    return condition


@dataclass(frozen=True)
class _Condition:
    """One filter, two ways: the member ids it matches (to drive the query) and a per-member probe."""

    ids: Select[Any]
    probe: ColumnElement[bool]


def _term_condition(where: ColumnElement[bool]) -> _Condition:
    return _Condition(
        ids=select(MemberTerm.member_id).where(where),
        probe=exists(select(MemberTerm.member_id).where(MemberTerm.member_id == Member.id, where)),
    )


def _grant_condition(where: ColumnElement[bool]) -> _Condition:
    return _Condition(
        ids=select(RoleGrant.member_id).where(where),
        probe=exists(select(RoleGrant.id).where(RoleGrant.member_id == Member.id, where)),
    )


ESTIMATE_CAP = 20_000


def _estimate(session: Session, condition: _Condition) -> int:
    """How many rows a condition matches, counted up to a cap (an index-only count: cheap and exact enough)."""
    capped = condition.ids.limit(ESTIMATE_CAP).subquery()
    return session.scalar(select(func.count()).select_from(capped)) or 0


def find_cohort(session: Session, code: str) -> Cohort | None:
    return session.scalar(select(Cohort).where(func.upper(Cohort.code) == code.upper()))


@dataclass(frozen=True)
class Viewer:
    """Who searches: organisers see everyone; others see visible members (and themselves)."""

    member_id: int
    organiser: bool


def listed(viewer: Viewer) -> ColumnElement[bool]:
    """Members the viewer may see in the directory."""
    alive = Member.erased_at.is_(None)
    if viewer.organiser:
        return alive
    return and_(alive, or_(Member.visible.is_(True), Member.id == viewer.member_id))


@dataclass(frozen=True)
class _Plan:
    driven: list[ColumnElement[bool]]  # the most selective filter as `id IN (…)`, the others probed
    probed: list[ColumnElement[bool]]  # every filter probed: for walking the sort index when matches are dense
    dense: bool


def _plan(session: Session, query: DirectoryQuery, viewer: Viewer) -> _Plan | None:
    """How to run a search. The most selective filter drives (an index range), the others are probed per
    candidate through their (member_id, …) indexes; when even the most selective filter matches many members,
    the page is found by walking the sort index and probing instead (a few hundred probes, not a big sort).
    Choosing by counting keeps each query proportional to what it returns on both databases."""
    conditions: list[_Condition] = [_term_condition(_word_range(word)) for word in query.words]
    if query.country:
        conditions.append(
            _Condition(
                ids=select(Member.id).where(Member.country == query.country), probe=Member.country == query.country
            )
        )
    if query.role:
        conditions.append(_grant_condition(RoleGrant.role == query.role))
    if query.cohort:
        cohort = find_cohort(session, query.cohort)
        if cohort is None:
            return None
        conditions.append(_grant_condition(RoleGrant.cohort_id == cohort.id))
    for kind, tags in (("e", query.expertise), ("s", query.sectors)):
        conditions += [_term_condition(and_(MemberTerm.kind == kind, MemberTerm.term == tag)) for tag in tags]
    base = [listed(viewer)]
    if not conditions:
        return _Plan(base, base, dense=True)
    estimates = [_estimate(session, condition) for condition in conditions]
    if min(estimates) == 0:
        return None
    driver = estimates.index(min(estimates))
    driven = [*base, Member.id.in_(conditions[driver].ids)]
    driven += [condition.probe for index, condition in enumerate(conditions) if index != driver]
    probed = base + [condition.probe for condition in conditions]
    return _Plan(driven, probed, dense=min(estimates) >= DENSE)


DENSE = 2_000
COUNT_CAP = 200


@dataclass(frozen=True)
class Page:
    members: list[Member]
    total: int  # counted up to COUNT_CAP + 1
    page: int
    pages: int

    @property
    def capped(self) -> bool:
        return self.total > COUNT_CAP


def search(session: Session, query: DirectoryQuery, viewer: Viewer, *, page: int = 0) -> Page:
    plan = _plan(session, query, viewer)
    if plan is None:
        return Page([], 0, 0, 0)
    matching = select(Member.id).where(and_(*plan.driven)).limit(COUNT_CAP + 1).subquery()
    total = session.scalar(select(func.count()).select_from(matching)) or 0
    pages = max(1, -(-min(total, COUNT_CAP) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    statement = (
        select(Member)
        .join(MemberSortKey, MemberSortKey.member_id == Member.id)
        .where(and_(*(plan.probed if plan.dense else plan.driven)))
        .order_by(MemberSortKey.sort_key, MemberSortKey.member_id)
        .limit(PAGE_SIZE)
        .offset(page * PAGE_SIZE)
    )
    return Page(list(session.scalars(statement)), total, page, pages)


@dataclass(frozen=True)
class Counts:
    total: int
    by_role: list[tuple[str, int]]
    by_cohort: list[tuple[str, int]]
    by_country: list[tuple[str, int]]
    hidden: list[Member]
    hidden_total: int


def counts(session: Session, viewer: Viewer, *, hidden_listed: int = 20) -> Counts:
    where = listed(viewer)
    total = session.scalar(select(func.count()).select_from(Member).where(where)) or 0
    by_role = session.execute(
        select(RoleGrant.role, func.count(func.distinct(RoleGrant.member_id)))
        .join(Member, Member.id == RoleGrant.member_id)
        .where(where)
        .group_by(RoleGrant.role)
    ).all()
    by_cohort = session.execute(
        select(Cohort.code, func.count(func.distinct(RoleGrant.member_id)))
        .join(RoleGrant, RoleGrant.cohort_id == Cohort.id)
        .join(Member, Member.id == RoleGrant.member_id)
        .where(where)
        .group_by(Cohort.code)
    ).all()
    by_country = session.execute(
        select(Member.country, func.count()).where(where, Member.country.is_not(None)).group_by(Member.country)
    ).all()
    hidden: list[Member] = []
    hidden_total = 0
    if viewer.organiser:
        hidden_where = and_(Member.erased_at.is_(None), Member.visible.is_(False), Member.slack_id.is_not(None))
        hidden_total = session.scalar(select(func.count()).select_from(Member).where(hidden_where)) or 0
        hidden = list(
            session.scalars(
                select(Member)
                .join(MemberSortKey, MemberSortKey.member_id == Member.id, isouter=True)
                .where(hidden_where)
                .order_by(MemberSortKey.sort_key, Member.id)
                .limit(hidden_listed)
            )
        )
    return Counts(
        total=total,
        by_role=_sorted(by_role),
        by_cohort=_sorted(by_cohort),
        by_country=_sorted(by_country),
        hidden=hidden,
        hidden_total=hidden_total,
    )


def _sorted(rows: Iterable[tuple[object, int]]) -> list[tuple[str, int]]:
    merged: Counter[str] = Counter()
    for key, count in rows:
        merged[str(key)] += int(count)
    return sorted(merged.items(), key=lambda item: (-item[1], item[0]))
