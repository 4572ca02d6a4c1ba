"""The directory's index and queries (SQLite and PostgreSQL give the same rows in the same order).

Each member has derived rows: `member_terms` (every folded word of name, organisation, region, bio and
tags, kind "w"; each whole sector/expertise tag, kinds "s"/"e") and a `member_sort_keys` row. Word search
is a prefix match per word on the (kind, term) index; filters are exact matches on indexed columns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    Select,
    String,
    Table,
    Update,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from commands.members.fields import sort_key, tag_key, words
from commands.members.parse import DirectoryQuery
from storage.db import core
from storage.hot import HotSelect, HotWrite
from storage.models import Cohort, Facet, Member, MemberCount, MemberSortKey, MemberTerm, RoleGrant, member_facets

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
    if member.country:
        terms.add(("c", member.country.lower()))
    return terms


_TERMS = cast(Table, MemberTerm.__table__)
_SORT_KEYS = cast(Table, MemberSortKey.__table__)
# Built once (index_member runs on every profile change): Core statements on the tables, rows as tuples.
_MEMBER_ID = bindparam("member_id", type_=Integer)
# The member's stored terms and, in the same read, their sort row as a pseudo-term: kind "+" (visible) or
# "-" (hidden), the sort key as the term (real kinds are letters: TERM_KINDS).
_STORED = HotSelect(
    union_all(
        select(_TERMS.c.kind, _TERMS.c.term).where(_TERMS.c.member_id == _MEMBER_ID),
        select(case((_SORT_KEYS.c.visible, "+"), else_="-"), _SORT_KEYS.c.sort_key).where(
            _SORT_KEYS.c.member_id == _MEMBER_ID
        ),
    )
)
# One term a row, as an executemany: a tuple IN list would be compiled anew for each call.
_DELETE_TERM = HotWrite(
    delete(_TERMS).where(
        _TERMS.c.member_id == _MEMBER_ID,
        _TERMS.c.kind == bindparam("kind", type_=String),
        _TERMS.c.term == bindparam("term", type_=String),
    )
)
_INSERT_TERMS = HotWrite(insert(_TERMS))
_DELETE_SORT_KEY = delete(_SORT_KEYS).where(_SORT_KEYS.c.member_id == _MEMBER_ID)


def _upsert_sort_key(insert_for: Any) -> Any:
    """Insert the member's sort row, or update it when it differs (the row may exist already, or a concurrent
    transaction may have inserted it meanwhile). Parameters: member_id, sort_key, visible."""
    statement = insert_for(_SORT_KEYS).values(
        member_id=_MEMBER_ID,
        sort_key=bindparam("sort_key", type_=String),
        visible=bindparam("visible", type_=Boolean),
    )
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[_SORT_KEYS.c.member_id],
        set_={"sort_key": excluded.sort_key, "visible": excluded.visible},
        where=(_SORT_KEYS.c.sort_key != excluded.sort_key) | (_SORT_KEYS.c.visible != excluded.visible),
    )


_UPSERT_SORT_KEY = {"postgresql": _upsert_sort_key(postgresql_insert), "sqlite": _upsert_sort_key(sqlite_insert)}


def _member_columns_update(columns: tuple[str, ...]) -> Update:
    """UPDATE members SET <columns> WHERE id, the values as parameters `new_<column>`."""
    table = cast(Table, Member.__table__)
    values = {column: bindparam(f"new_{column}", type_=table.c[column].type) for column in columns}
    return update(table).where(table.c.id == _MEMBER_ID).values(values)


@lru_cache(maxsize=64)
def _hot_member_update(columns: tuple[str, ...]) -> HotWrite:
    """Compiled once per set of columns (a handful: the profile's fields)."""
    return HotWrite(_member_columns_update(columns))


@lru_cache(maxsize=64)
def _sync_on_postgresql(columns: tuple[str, ...]) -> HotWrite:
    """PostgreSQL: a listed member's terms and sort row made what their profile gives, in one statement.

    The terms come as two arrays (kinds, terms); the stale ones are deleted, the missing ones inserted (present
    ones conflict and are skipped) and the sort row upserted only when it differs. `columns` of the member's
    row are updated in the same statement. One round trip instead of four (update, read, delete, insert).

    The statement's parts see the rows committed before it started. Two concurrent changes of one member's
    profile are not serialised here; neither were they when these were separate statements: each computes
    its terms from the profile it read before its write, so the last to write may store terms of a field the
    other changed (until the next change of that profile). Locking the row at the read would serialise them."""
    wanted = (
        func.unnest(bindparam("kinds", type_=ARRAY(String)), bindparam("terms", type_=ARRAY(String)))
        .table_valued("kind", "term")
        .render_derived(name="wanted")
    )
    stale = delete(_TERMS).where(
        _TERMS.c.member_id == _MEMBER_ID,
        ~exists().where(wanted.c.kind == _TERMS.c.kind, wanted.c.term == _TERMS.c.term),
    )
    sort_row = _UPSERT_SORT_KEY["postgresql"]
    missing = postgresql_insert(_TERMS).from_select(
        ["member_id", "kind", "term"], select(_MEMBER_ID, wanted.c.kind, wanted.c.term)
    )
    statement = missing.on_conflict_do_nothing().add_cte(stale.cte("stale")).add_cte(sort_row.cte("sort_row"))
    if columns:
        statement = statement.add_cte(_member_columns_update(columns).cte("member_row"))
    return HotWrite(statement)


def update_and_index(session: Session, member: Member, changes: dict[str, Any]) -> None:
    """Write `changes` (column: value) to the member's row and bring their search rows up to date.

    For columns the ORM need not see (no counts depend on them): the member object is told the row holds the
    values, so nothing is left to flush. On PostgreSQL, one statement does both."""
    columns = tuple(sorted(changes))
    params = {"member_id": member.id, **{f"new_{column}": value for column, value in changes.items()}}
    for column, value in changes.items():
        set_committed_value(member, column, value)
    connection = core(session)  # flushes anything pending first (the member's row and its counts)
    if _in_one_statement(connection, member):
        _sync_on_postgresql(columns).run(session, {**params, **_sync_params(member)})
        return
    if columns:
        _hot_member_update(columns).run(session, params)
    _index_by_difference(session, connection, member)


def index_member(session: Session, member: Member) -> None:
    """Bring a member's search rows up to date with their profile (call after every profile change)."""
    update_and_index(session, member, {})


def _in_one_statement(connection: Connection, member: Member) -> bool:
    return connection.dialect.name == "postgresql" and member.erased_at is None


def _sync_params(member: Member) -> dict[str, Any]:
    ordered = sorted(member_terms(member))
    return {
        "kinds": [kind for kind, _ in ordered],
        "terms": [term for _, term in ordered],
        "sort_key": sort_key(member.name),
        "visible": bool(member.visible),
    }


def _index_by_difference(session: Session, connection: Connection, member: Member) -> None:
    """The stored terms and sort row read as tuples in one statement, then only the difference: the vanished
    terms deleted, the new ones inserted in one executemany, the sort row written only when it changed."""
    member_id = member.id
    wanted = member_terms(member)
    have: set[tuple[str, str]] = set()
    stored_key: tuple[bool, str] | None = None
    for kind, term in _STORED.rows(session, {"member_id": member_id}):
        if kind in ("+", "-"):
            stored_key = (kind == "+", term)
        else:
            have.add((kind, term))
    stale = have - wanted
    if stale:
        _DELETE_TERM.run(
            session, [{"member_id": member_id, "kind": kind, "term": term} for kind, term in sorted(stale)]
        )
    new = wanted - have
    if new:
        _INSERT_TERMS.run(session, [{"member_id": member_id, "kind": kind, "term": term} for kind, term in sorted(new)])
    if member.erased_at is not None:
        if stored_key is not None:
            connection.execute(_DELETE_SORT_KEY, {"member_id": member_id})
        return
    key = sort_key(member.name)
    visible = bool(member.visible)
    if stored_key != (visible, key):
        upsert = _UPSERT_SORT_KEY[connection.dialect.name]
        connection.execute(upsert, {"member_id": member_id, "sort_key": key, "visible": visible})


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


def _word_range(name: str, bounded: bool) -> ColumnElement[bool]:
    """Terms starting with the word bound as `name` (below the bound `name`_hi, when the word has one)."""
    condition = and_(MemberTerm.kind == "w", MemberTerm.term >= bindparam(name, type_=String))
    if bounded:
        condition = and_(condition, MemberTerm.term < bindparam(f"{name}_hi", type_=String))
    return condition


@dataclass(frozen=True)
class _Condition:
    """One filter, two ways: the rows it matches (to drive the query) and a per-member probe.

    Its values are bind parameters (the statements are built once per query shape, see `_shape`)."""

    member_id: Any  # the member column of the driving table (MemberTerm.member_id or RoleGrant.member_id)
    where: ColumnElement[bool]
    probe: ColumnElement[bool]
    term: bool = True
    prefix: bool = False

    @property
    def ids(self) -> Select[Any]:
        return select(self.member_id).where(self.where)

    @cached_property
    def estimate(self) -> Select[Any]:
        """How many rows it matches, counted up to the bound `cap` (an index-only count)."""
        capped = self.ids.limit(bindparam("cap", type_=Integer)).subquery()
        return select(func.count()).select_from(capped)


def _probe(rows: Select[int]) -> ColumnElement[bool]:
    """Whether the candidate has a row: a correlated subquery with LIMIT 1, which PostgreSQL runs per candidate
    as written (an EXISTS it may turn into a hash of every matching row, on a misestimate), SQLite alike."""
    return rows.correlate(MemberSortKey).limit(1).scalar_subquery().is_not(None)


def _term_condition(where: ColumnElement[bool], *, prefix: bool = False) -> _Condition:
    return _Condition(
        member_id=MemberTerm.member_id,
        where=where,
        prefix=prefix,
        probe=_probe(select(MemberTerm.member_id).where(MemberTerm.member_id == MemberSortKey.member_id, where)),
    )


def _grant_condition(where: ColumnElement[bool]) -> _Condition:
    return _Condition(
        member_id=RoleGrant.member_id,
        where=where,
        probe=_probe(select(RoleGrant.member_id).where(RoleGrant.member_id == MemberSortKey.member_id, where)),
        term=False,
    )


ESTIMATE_CAP = 20_000
_FIND_COHORT = select(Cohort).where(func.upper(Cohort.code) == bindparam("code", type_=String))


def find_cohort(session: Session, code: str) -> Cohort | None:
    return session.scalar(_FIND_COHORT, {"code": code.upper()})


@dataclass(frozen=True)
class Viewer:
    """Who searches: organisers see everyone; others see visible members (and themselves)."""

    member_id: int
    organiser: bool


def _listed(organiser: bool) -> ColumnElement[bool]:
    """Members the viewer may see in the directory, on `member_sort_keys` (which has no row for erased members):
    organisers see everyone; others see visible members and themselves (the viewer's id bound as `viewer`)."""
    if organiser:
        return true()
    return or_(MemberSortKey.visible.is_(True), MemberSortKey.member_id == bindparam("viewer", type_=Integer))


@dataclass(frozen=True)
class _Shape:
    """What a search's statements depend on besides the values (which are bound): searches of one shape
    share their statements, built once (`_conditions`, `_plan_of`), instead of rebuilt on every request."""

    country: bool
    expertise: int
    sectors: int
    words: tuple[bool, ...]  # per word, longest first: whether its prefix range has an upper bound
    cohort: bool
    role: bool
    organiser: bool


def _shape(query: DirectoryQuery, viewer: Viewer, cohort_id: int | None) -> tuple[_Shape, dict[str, Any]]:
    """The query's shape and its values, named as `_conditions` binds them."""
    values: dict[str, Any] = {}
    if not viewer.organiser:
        values["viewer"] = viewer.member_id
    if query.country:
        values["country"] = query.country.lower()
    for kind, tags in (("e", query.expertise), ("s", query.sectors)):
        values.update({f"{kind}{index}": tag for index, tag in enumerate(tags)})
    words = sorted(query.words, key=len, reverse=True)
    bounded: list[bool] = []
    for index, word in enumerate(words):
        values[f"w{index}"] = word
        upper = prefix_upper_bound(word)
        if upper is not None:
            values[f"w{index}_hi"] = upper
        bounded.append(upper is not None)
    if cohort_id is not None:
        values["cohort"] = cohort_id
    if query.role:
        values["role"] = query.role
    shape = _Shape(
        country=bool(query.country),
        expertise=len(query.expertise),
        sectors=len(query.sectors),
        words=tuple(bounded),
        cohort=cohort_id is not None,
        role=bool(query.role),
        organiser=viewer.organiser,
    )
    return shape, values


@lru_cache(maxsize=256)
def _conditions(shape: _Shape) -> tuple[_Condition, ...]:
    """The shape's filters, likely most selective first (exact terms, then longer words, then role grants):
    each count in `_plan` stops at the best so far, so choosing the driver costs about as much as reading it."""
    conditions: list[_Condition] = []
    if shape.country:
        conditions.append(
            _term_condition(and_(MemberTerm.kind == "c", MemberTerm.term == bindparam("country", type_=String)))
        )
    for kind, count in (("e", shape.expertise), ("s", shape.sectors)):
        conditions += [
            _term_condition(and_(MemberTerm.kind == kind, MemberTerm.term == bindparam(f"{kind}{i}", type_=String)))
            for i in range(count)
        ]
    conditions += [_term_condition(_word_range(f"w{i}", bounded), prefix=True) for i, bounded in enumerate(shape.words)]
    if shape.cohort:
        conditions.append(_grant_condition(RoleGrant.cohort_id == bindparam("cohort", type_=Integer)))
    if shape.role:
        conditions.append(_grant_condition(RoleGrant.role == bindparam("role", type_=String)))
    return tuple(conditions)


@dataclass(frozen=True)
class _Plan:
    driver: _Condition | None  # the most selective filter: its index range is read, joined to the sort rows
    others: tuple[ColumnElement[bool], ...]  # the other filters (and who is listed), probed per candidate
    probed: tuple[ColumnElement[bool], ...]  # every filter probed: for walking the sort index when matches are dense
    dense: bool

    @property
    def repeats(self) -> bool:
        """Whether the driver may give a member twice (a word prefix, not an exact term)."""
        return self.driver is not None and self.driver.prefix

    @cached_property
    def matches(self) -> Select[str, int]:
        """Up to `limit` (bound) matching (sort key, member id) rows, in no particular order; a member matching
        a word prefix through two words comes twice (DISTINCT would make PostgreSQL sort every match first)."""
        columns = (MemberSortKey.sort_key, MemberSortKey.member_id)
        limit = bindparam("limit", type_=Integer)
        if self.driver is None:
            return select(*columns).where(*self.probed).limit(limit)
        statement = (
            select(*columns)
            .select_from(self.driver.member_id.table)
            .join(MemberSortKey, MemberSortKey.member_id == self.driver.member_id)
            .where(self.driver.where, *self.others)
        )
        return statement.limit(limit)

    @cached_property
    def hot_matches(self) -> HotSelect:
        return HotSelect(self.matches)

    @cached_property
    def pages(self) -> dict[bool, Select[int]]:
        """One page (from the bound `offset`) in directory order, by walking the sort index (True) or by
        sorting the driver's matches (False)."""
        walked = select(MemberSortKey.member_id).where(*self.probed)
        sorted_ = walked
        if self.driver is not None:
            sorted_ = select(MemberSortKey.member_id).where(MemberSortKey.member_id.in_(self.driver.ids), *self.others)
        return {
            walk: statement.order_by(MemberSortKey.sort_key, MemberSortKey.member_id)
            .limit(PAGE_SIZE)
            .offset(bindparam("offset", type_=Integer))
            for walk, statement in ((True, walked), (False, sorted_))
        }


@lru_cache(maxsize=512)
def _plan_of(shape: _Shape, driver: int | None, dense: bool) -> _Plan:
    conditions = _conditions(shape)
    base = (_listed(shape.organiser),)
    probed = base + tuple(condition.probe for condition in conditions)
    if driver is None:
        return _Plan(None, base, probed, dense)
    others = base + tuple(condition.probe for index, condition in enumerate(conditions) if index != driver)
    return _Plan(conditions[driver], others, probed, dense)


def _plan(session: Session, query: DirectoryQuery, viewer: Viewer) -> tuple[_Plan, dict[str, Any]] | None:
    """How to run a search, and the values to bind. The most selective filter drives (an index range joined
    to the sort rows), the others are probed per candidate through their (member_id, …) indexes, up to
    COUNT_CAP + 1 matches; when there are more and even the most selective filter matches many members, the
    page is found by walking the sort index and probing instead (a few hundred probes, not a big sort).
    Choosing by counting (capped) keeps each query proportional to what it returns on both databases,
    whatever the planner's statistics."""
    cohort_id: int | None = None
    if query.cohort:
        cohort = find_cohort(session, query.cohort)
        if cohort is None:
            return None
        cohort_id = cohort.id
    shape, values = _shape(query, viewer, cohort_id)
    conditions = _conditions(shape)
    if not conditions:
        return _plan_of(shape, None, True), values
    if len(conditions) == 1:
        return _plan_of(shape, 0, True), values
    driver, best = 0, ESTIMATE_CAP
    for index, condition in enumerate(conditions):
        estimate = session.scalar(condition.estimate, {**values, "cap": best}) or 0
        if estimate == 0:
            return None
        if estimate < best:
            driver, best = index, estimate
    return _plan_of(shape, driver, best >= DENSE), values


DENSE = 2_000
COUNT_CAP = 200


@dataclass(frozen=True)
class RoleLine:
    role: str
    cohort: str | None  # the cohort's code


@dataclass(frozen=True)
class Card:
    """What a directory card shows of a member (a few columns: no ORM entity per card)."""

    id: int
    name: str
    visible: bool
    organisation: str
    country: str | None
    expertise: list[str]
    roles: list[RoleLine]
    # The member's absence (commands.common.availability): the card says "away until …" while it lasts.
    tz: str | None = None
    away_from: date | None = None
    away_until: date | None = None


# A page's cards and their roles in one statement (a row per role; roles in name order, as on a profile card).
# The page's ids are PAGE_SIZE fixed parameters (unused ones NULL), so that the SQL is one string: hot select.
_CARD_IDS = [f"id{index}" for index in range(PAGE_SIZE)]
_CARDS = HotSelect(
    select(
        Member.id,
        Member.name,
        Member.visible,
        Member.organisation,
        Member.country,
        Member.expertise,
        Member.tz,
        Member.away_from,
        Member.away_until,
        RoleGrant.role,
        Cohort.code,
    )
    .outerjoin(RoleGrant, RoleGrant.member_id == Member.id)
    .outerjoin(Cohort, Cohort.id == RoleGrant.cohort_id)
    .where(Member.id.in_([bindparam(name, type_=Integer) for name in _CARD_IDS]))
    .order_by(RoleGrant.role)
)


def _cards(session: Session, ids: list[int]) -> list[Card]:
    cards: dict[int, Card] = {}
    assert len(ids) <= PAGE_SIZE, "one page of cards at a time"
    rows = _CARDS.rows(
        session, {name: ids[index] if index < len(ids) else None for index, name in enumerate(_CARD_IDS)}
    )
    for member_id, name, visible, organisation, country, expertise, tz, away_from, away_until, role, code in rows:
        card = cards.get(member_id)
        if card is None:
            card = cards[member_id] = Card(
                member_id, name, visible, organisation, country, expertise, [], tz, away_from, away_until
            )
        if role is not None:
            card.roles.append(RoleLine(role, code))
    return [cards[member_id] for member_id in ids]


@dataclass(frozen=True)
class Page:
    members: list[Card]
    total: int  # counted up to COUNT_CAP + 1
    page: int
    pages: int

    @property
    def capped(self) -> bool:
        return self.total > COUNT_CAP


def search(session: Session, query: DirectoryQuery, viewer: Viewer, *, page: int = 0) -> Page:
    planned = _plan(session, query, viewer)
    if planned is None:
        return Page([], 0, 0, 0)
    plan, values = planned
    limit = COUNT_CAP + 1
    connection = core(session)
    raw = plan.hot_matches.rows(session, {**values, "limit": limit})
    found = set(raw)
    while plan.repeats and len(raw) == limit and len(found) <= COUNT_CAP:
        # A member matched the word prefix twice ('mob': mobile, mobility): read on until enough distinct ones.
        limit *= 4
        raw = plan.hot_matches.rows(session, {**values, "limit": limit})
        found = set(raw)
    total = min(len(found), COUNT_CAP + 1)
    pages = max(1, -(-min(total, COUNT_CAP) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    if total <= COUNT_CAP:
        # Every match is at hand: sort keys are [0-9a-z] strings, so Python orders them as both databases do.
        ordered = sorted((str(key), int(member_id)) for key, member_id in found)
        ids = [member_id for _key, member_id in ordered[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]]
    else:
        statement = plan.pages[plan.dense or plan.driver is None]
        ids = list(connection.scalars(statement, {**values, "offset": page * PAGE_SIZE}))
    if not ids:
        return Page([], total, page, pages)
    return Page(_cards(session, ids), total, page, pages)


@dataclass(frozen=True)
class Counts:
    total: int
    by_role: list[tuple[str, int]]
    by_cohort: list[tuple[str, int]]
    by_country: list[tuple[str, int]]
    hidden: list[Member]
    hidden_total: int


def counts(session: Session, viewer: Viewer, *, hidden_listed: int = 20) -> Counts:
    """Counts by role, cohort and country of the members the viewer may see, from `member_counts` (a few
    dozen rows whatever the membership): visible members, plus hidden ones for organisers, plus the viewer
    themselves when they are hidden (they always see their own profile)."""
    statement = select(MemberCount.dimension, MemberCount.key, MemberCount.visible, MemberCount.members).where(
        MemberCount.members != 0
    )
    if not viewer.organiser:
        statement = statement.where(MemberCount.visible.is_(True))
    tally: Counter[tuple[str, str]] = Counter()
    hidden_total = 0
    for dimension, key, visible, members in session.execute(statement):
        tally[(dimension, key)] += members
        if dimension == "total" and not visible:
            hidden_total = members
    if not viewer.organiser:
        own = member_facets(session, [viewer.member_id])
        tally.update({(dimension, key): n for (dimension, key, visible), n in own.items() if not visible})
    codes: dict[int, str] = {cohort_id: code for cohort_id, code in session.execute(select(Cohort.id, Cohort.code))}
    by: dict[str, list[tuple[str, int]]] = {"role": [], "cohort": [], "country": []}
    for (dimension, key), members in tally.items():
        if dimension == "cohort":
            code = codes.get(int(key))
            if code is None:
                continue
            key = code
        if dimension in by and members > 0:
            by[dimension].append((key, members))
    hidden: list[Member] = []
    if viewer.organiser:
        # In directory order; members never indexed (no profile yet) after the others, by id.
        hidden = list(
            session.scalars(
                select(Member)
                .join(MemberSortKey, MemberSortKey.member_id == Member.id)
                .where(MemberSortKey.visible.is_(False), Member.slack_id.is_not(None))
                .order_by(MemberSortKey.sort_key, MemberSortKey.member_id)
                .limit(hidden_listed)
            )
        )
        if len(hidden) < hidden_listed:
            unindexed = ~exists(select(MemberSortKey.member_id).where(MemberSortKey.member_id == Member.id))
            hidden += session.scalars(
                select(Member)
                .where(Member.erased_at.is_(None), Member.visible.is_(False), Member.slack_id.is_not(None), unindexed)
                .order_by(Member.id)
                .limit(hidden_listed - len(hidden))
            )
    return Counts(
        total=tally[("total", "")],
        by_role=_sorted(by["role"]),
        by_cohort=_sorted(by["cohort"]),
        by_country=_sorted(by["country"]),
        hidden=hidden,
        hidden_total=hidden_total if viewer.organiser else 0,
    )


def tally_members(session: Session) -> Counter[Facet]:
    """Every count row computed from scratch (the bench's bulk seeding, and tests that check the kept rows)."""
    tally: Counter[Facet] = Counter()
    alive = Member.erased_at.is_(None)
    for visible, n in session.execute(select(Member.visible, func.count()).where(alive).group_by(Member.visible)):
        tally[("total", "", bool(visible))] += n
    for country, visible, n in session.execute(
        select(Member.country, Member.visible, func.count())
        .where(alive, Member.country.is_not(None))
        .group_by(Member.country, Member.visible)
    ):
        tally[("country", str(country), bool(visible))] += n
    for role, visible, n in session.execute(
        select(RoleGrant.role, Member.visible, func.count(func.distinct(RoleGrant.member_id)))
        .join(Member, Member.id == RoleGrant.member_id)
        .where(alive)
        .group_by(RoleGrant.role, Member.visible)
    ):
        tally[("role", role, bool(visible))] += n
    for cohort_id, visible, n in session.execute(
        select(RoleGrant.cohort_id, Member.visible, func.count(func.distinct(RoleGrant.member_id)))
        .join(Member, Member.id == RoleGrant.member_id)
        .where(alive, RoleGrant.cohort_id.is_not(None))
        .group_by(RoleGrant.cohort_id, Member.visible)
    ):
        tally[("cohort", str(cohort_id), bool(visible))] += n
    return tally


def kept_counts(session: Session) -> Counter[Facet]:
    """The rows of `member_counts` (zero rows left out)."""
    rows = session.execute(select(MemberCount.dimension, MemberCount.key, MemberCount.visible, MemberCount.members))
    return Counter({(d, k, bool(v)): n for d, k, v, n in rows if n})


def _sorted(rows: Iterable[tuple[object, int]]) -> list[tuple[str, int]]:
    merged: Counter[str] = Counter()
    for key, count in rows:
        merged[str(key)] += int(count)
    return sorted(merged.items(), key=lambda item: (-item[1], item[0]))
