"""The database schema as SQLAlchemy 2 typed models.

Features add their tables here (one section each) and an Alembic revision beside them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    inspect,
    select,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from storage.types import UTCDateTime

# Named constraints let Alembic's batch mode (SQLite) find and alter them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("participant", "alumni", "coach", "organiser")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


# --- members and roles -------------------------------------------------------------------------


class Member(Base):
    """A person the bot knows. `slack_id` is NULL once the member has been erased."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slack_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    tz: Mapped[str | None] = mapped_column(String(64))
    tz_checked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    # Profile (SPEC 4.2). Lists are stored as typed; matching case-folds them.
    organisation: Mapped[str] = mapped_column(String(200), default="")
    country: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str] = mapped_column(String(200), default="")
    sectors: Mapped[list[str]] = mapped_column(JSON, default=list)
    expertise: Mapped[list[str]] = mapped_column(JSON, default=list)
    bio: Mapped[str] = mapped_column(Text, default="")
    linkedin: Mapped[str | None] = mapped_column(String(500))
    eccp: Mapped[str | None] = mapped_column(String(500))
    # Opt-in: nobody appears in the directory until they say so (GDPR Art. 25(2)).
    visible: Mapped[bool] = mapped_column(default=False)
    visible_since: Mapped[datetime | None]
    # Whether alumni questions may be routed to them; NULL means "the default for their roles".
    accepts_questions: Mapped[bool | None]
    # Routed questions an alumnus accepts in 30 days; NULL means the default (4). SPEC 4.2.
    question_capacity: Mapped[int | None] = mapped_column(Integer)
    # An absence, as calendar days in the member's zone (both inclusive); both NULL: not away.
    away_from: Mapped[date | None] = mapped_column(Date)
    away_until: Mapped[date | None] = mapped_column(Date)
    erased_at: Mapped[datetime | None]

    roles: Mapped[list[RoleGrant]] = relationship(
        back_populates="member", cascade="all, delete-orphan", foreign_keys="RoleGrant.member_id"
    )

    @property
    def display_name(self) -> str:
        return display_name(self.name, self.slack_id)


def display_name(name: str, slack_id: str | None) -> str:
    """How a member is named to others: their name, else their Slack mention, else "former member"."""
    return name or (f"<@{slack_id}>" if slack_id else "former member")


class Cohort(Base):
    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    channel_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class RoleGrant(Base):
    """One role of one member; a member holds each role at most once (with an optional cohort)."""

    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("member_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id", ondelete="SET NULL"), index=True)
    granted_at: Mapped[datetime] = mapped_column(default=utc_now)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))

    member: Mapped[Member] = relationship(back_populates="roles", foreign_keys=[member_id])
    cohort: Mapped[Cohort | None] = relationship()


# --- bookkeeping -------------------------------------------------------------------------------


class AuditEntry(Base):
    """Who changed roles, erased data or imported a roster, and when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ProcessedEvent(Base):
    """Events API deliveries already handled, so Slack's retries change nothing."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utc_now, index=True)


# --- reminders (the outbox every scheduled message goes through) --------------------------------

REMINDER_STATUSES = ("pending", "claimed", "sent", "skipped", "failed", "cancelled")


class Reminder(Base):
    """The outbox: one Slack side effect due at an instant, for one recipient (user or channel id).

    Reminders and every other message, DM, file, message edit and Home refresh the bot sends because
    something changed are rows here, written in the same transaction as the change and delivered by
    the engine (bot.kernel.delivery). `kind` names the renderer that decides at send time what to
    send; `payload` holds what a one-off message says. `dedupe_key` makes planning idempotent.
    `depends_on` holds a row back until that row is delivered (an edit or thread reply needs its ts).
    """

    __tablename__ = "reminders"
    __table_args__ = (
        Index("ix_reminders_status_due_at", "status", "due_at"),
        Index("ix_reminders_subject", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Integer)
    offset_label: Mapped[str] = mapped_column(String(16), default="")
    recipient: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    method: Mapped[str] = mapped_column(String(32), default="chat.postMessage", server_default="chat.postMessage")
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    depends_on: Mapped[int | None] = mapped_column(Integer, index=True)
    slack_permalink: Mapped[str | None] = mapped_column(String(500))


# The outbox is the reminders table, generalised (SPEC 3, durable side effects).
OutboxMessage = Reminder


# --- members: directory and privacy (issue 3) ---------------------------------------------------


# Search support, derived from the profile by commands.members.search.index_member (never typed by users).
# Terms are ASCII-folded [a-z0-9] strings, so a prefix range scan gives the same rows on SQLite and on
# PostgreSQL whatever the database's collation.
# w: a word of name/organisation/region/bio/tags; s: a sector tag; e: an expertise tag; c: the country (lower case)
TERM_KINDS = ("w", "s", "e", "c")


class MemberTerm(Base):
    """One searchable term of one member: words for word search, whole tags for the tag filters."""

    __tablename__ = "member_terms"
    __table_args__ = (Index("ix_member_terms_kind_term", "kind", "term", "member_id"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(1), primary_key=True)
    term: Mapped[str] = mapped_column(String(100), primary_key=True)


class MemberSortKey(Base):
    """The directory's sort order: the folded name, alphanumerics only (collation-proof).

    One row per listed member (indexed, not erased), with a copy of their visibility, so that walking the
    directory in order and keeping only visible members reads this one index and nothing else."""

    __tablename__ = "member_sort_keys"
    __table_args__ = (
        Index("ix_member_sort_keys_listing", "sort_key", "member_id", "visible"),
        # Looking a candidate up by id reads the index only (PostgreSQL: no visit to the table).
        Index("ix_member_sort_keys_lookup", "member_id", "visible", "sort_key"),
    )

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    sort_key: Mapped[str] = mapped_column(String(200), default="")
    visible: Mapped[bool] = mapped_column(default=False)


# Exact filters of /cba-directory (country:, role:, cohort:).
Index("ix_members_country", Member.country)
Index("ix_role_grants_role_member_id", RoleGrant.role, RoleGrant.member_id)
Index("ix_role_grants_member_id_cohort_id", RoleGrant.member_id, RoleGrant.cohort_id)  # cohort: probes, index-only

COUNT_DIMENSIONS = ("total", "role", "cohort", "country")


class MemberCount(Base):
    """How many members (not erased) have each role, cohort (by id) and country, split by visibility: what
    `/cba-directory` without arguments shows, read in a few rows instead of counted over every member.

    Kept right by `_keep_member_counts` below, in the same flush (so the same transaction) as the change to a
    member's visibility, country, erasure or role grants, whichever code path makes it through the ORM."""

    __tablename__ = "member_counts"

    dimension: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    visible: Mapped[bool] = mapped_column(primary_key=True)
    members: Mapped[int] = mapped_column(Integer, default=0)


Facet = tuple[str, str, bool]  # (dimension, key, visible)
# The member columns the counts depend on: a change to them must go through the ORM (the flush keeps the counts).
COUNTED_MEMBER_COLUMNS = frozenset({"visible", "erased_at", "country"})
_COUNTED_MEMBER_ATTRIBUTES = (*sorted(COUNTED_MEMBER_COLUMNS), "roles")
_COUNTED_GRANT_ATTRIBUTES = ("member_id", "role", "cohort_id")


def member_facets(session: Session, member_ids: Iterable[int]) -> Counter[Facet]:
    """The count rows the given members contribute to, read from the database as it is now."""
    facets: Counter[Facet] = Counter()
    ids = sorted(set(member_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        alive = {
            member_id: (bool(visible), country)
            for member_id, visible, country in session.execute(
                select(Member.id, Member.visible, Member.country).where(
                    Member.id.in_(chunk), Member.erased_at.is_(None)
                )
            )
        }
        held: dict[int, set[tuple[str, str]]] = {member_id: {("total", "")} for member_id in alive}
        for member_id, (_visible, country) in alive.items():
            if country:
                held[member_id].add(("country", country))
        for member_id, role, cohort_id in session.execute(
            select(RoleGrant.member_id, RoleGrant.role, RoleGrant.cohort_id).where(RoleGrant.member_id.in_(alive))
        ):
            held[member_id].add(("role", role))
            if cohort_id is not None:
                held[member_id].add(("cohort", str(cohort_id)))
        for member_id, pairs in held.items():
            facets.update((dimension, key, alive[member_id][0]) for dimension, key in pairs)
    return facets


def _changed(obj: object, attributes: tuple[str, ...]) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in attributes)


def _touched_members(session: Session) -> tuple[set[int], list[Member | RoleGrant]]:
    """Members whose counted facts this flush may change: ids known now, and new objects to resolve after."""
    ids: set[int] = set()
    later: list[Member | RoleGrant] = []
    for obj in session.new:
        if isinstance(obj, Member):
            later.append(obj)
        elif isinstance(obj, RoleGrant):
            owner = obj.member_id if obj.member_id is not None else (obj.member.id if obj.member else None)
            if owner is not None:
                ids.add(owner)
            later.append(obj)
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Member) and obj.id is not None:
            if obj in session.deleted or _changed(obj, _COUNTED_MEMBER_ATTRIBUTES):
                ids.add(obj.id)
        elif isinstance(obj, RoleGrant) and (obj in session.deleted or _changed(obj, _COUNTED_GRANT_ATTRIBUTES)):
            history = inspect(obj).attrs["member_id"].history
            ids.update(i for part in history for i in part or () if i is not None)
            later.append(obj)
    return ids, later


@event.listens_for(Session, "before_flush")
def _snapshot_member_counts(session: Session, _context: Any, _instances: Any) -> None:
    ids, later = _touched_members(session)
    if not ids and not later:
        session.info.pop("member_counts_before", None)
        return
    with session.no_autoflush:
        _lock_members(session, ids)
        before = member_facets(session, ids)
    session.info["member_counts_before"] = (ids, later, before)


def _lock_members(session: Session, ids: set[int]) -> None:
    """On PostgreSQL, lock the members' rows (in id order) before reading what they count for, until the
    transaction ends. Under READ COMMITTED two transactions changing one member would otherwise both read
    the state before either committed, and both subtract it: the kept counts would drift. Locked first,
    the second one waits and then reads the first one's committed state (its next statement's snapshot).
    SQLite needs nothing: one writer at a time, and a deferred reader that fell behind a writer is refused
    its write (and the request runs again)."""
    if not ids or session.connection().dialect.name != "postgresql":
        return
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        session.execute(
            select(Member.id).where(Member.id.in_(ordered[start : start + 500])).order_by(Member.id).with_for_update()
        )


@event.listens_for(Session, "after_flush")
def _keep_member_counts(session: Session, _context: Any) -> None:
    pending = session.info.pop("member_counts_before", None)
    if pending is None:
        return
    ids, later, before = pending
    for obj in later:
        member_id = obj.id if isinstance(obj, Member) else obj.member_id
        if member_id is not None:
            ids.add(member_id)
    delta = member_facets(session, ids)
    delta.subtract(before)
    connection = session.connection()
    apply_member_counts(connection, delta)
    # The directory's sort rows carry a copy of the visibility: keep it whatever code changed it.
    sort_keys = cast(Table, MemberSortKey.__table__)
    visible = select(Member.visible).where(Member.id == sort_keys.c.member_id).scalar_subquery()
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        connection.execute(
            sort_keys.update()
            .where(sort_keys.c.member_id.in_(ordered[start : start + 500]), sort_keys.c.visible != visible)
            .values(visible=visible)
        )


def apply_member_counts(connection: Connection, delta: Mapping[Facet, int]) -> None:
    """Add `delta` to the count rows (in key order, so concurrent transactions lock rows in one order)."""
    table = cast(Table, MemberCount.__table__)
    insert_for = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    for (dimension, key, visible), change in sorted(delta.items()):
        if change == 0:
            continue
        statement = insert_for(table).values(dimension=dimension, key=key, visible=visible, members=change)
        statement = statement.on_conflict_do_update(
            index_elements=["dimension", "key", "visible"],
            set_={"members": table.c.members + statement.excluded.members},
        )
        connection.execute(statement)


# --- programme days, RSVP and check-in (issue 4) --------------------------------------------------

EVENT_KINDS = ("online", "in-person")


class Event(Base):
    """A programme day of a cohort. Times are UTC instants; `tz` is the zone it was planned in."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_cohort_starts", "cohort_id", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(500), default="")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    tz: Mapped[str] = mapped_column(String(64))
    removed: Mapped[bool] = mapped_column(default=False)
    removed_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    cohort: Mapped[Cohort] = relationship()


class Rsvp(Base):
    """A member's answer for a programme day: one per member and day, updated in place."""

    __tablename__ = "event_rsvps"
    __table_args__ = (UniqueConstraint("event_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    answer: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text, default="")
    late_cancellation: Mapped[bool] = mapped_column(default=False)
    answered_at: Mapped[datetime]


class CheckIn(Base):
    __tablename__ = "event_checkins"
    __table_args__ = (UniqueConstraint("event_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    checked_in_at: Mapped[datetime]


# --- coaching slots and bookings (issue 5) ---------------------------------------------------------


BOOKING_STATUSES = ("active", "cancelled")


class CoachingSlot(Base):
    """A time a coach offers for one coaching session. `removed_at` set: withdrawn, never booked again."""

    __tablename__ = "coaching_slots"
    __table_args__ = (Index("ix_coaching_slots_coach_starts", "coach_id", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    coach_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    meeting_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    removed_at: Mapped[datetime | None]

    coach: Mapped[Member] = relationship(foreign_keys=[coach_id])

    @property
    def minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


class CoachingBooking(Base):
    """A participant's booking of a slot.

    The partial unique index is the invariant "a slot holds at most one active booking": the
    database refuses a second one whatever the concurrency (SQLite and PostgreSQL alike).
    """

    __tablename__ = "coaching_bookings"
    __table_args__ = (
        Index(
            "uq_coaching_bookings_active_slot",
            "slot_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_coaching_bookings_participant_status", "participant_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("coaching_slots.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    cancelled_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    # Cancelled inside CBA_MIN_BOOKING_NOTICE before the start: shown to organisers.
    late: Mapped[bool] = mapped_column(default=False)
    ics_uid: Mapped[str] = mapped_column(String(200), unique=True)
    ics_sequence: Mapped[int] = mapped_column(Integer, default=0)

    slot: Mapped[CoachingSlot] = relationship()
    participant: Mapped[Member] = relationship(foreign_keys=[participant_id])
    cancelled_by: Mapped[Member | None] = relationship(foreign_keys=[cancelled_by_id])


WAITLIST_STATUSES = ("waiting", "booked", "left", "dropped")
OFFER_STATUSES = ("open", "accepted", "declined", "expired", "superseded")


class CoachingWaitlistEntry(Base):
    """A participant waiting for the next free slot of one coach (`coach_id`) or of any coach (NULL).

    The partial unique index is the invariant "one waiting entry per participant" (joining again with
    another coach updates that entry); ended entries (booked, left, dropped) are history.
    """

    __tablename__ = "coaching_waitlist"
    __table_args__ = (
        Index(
            "uq_coaching_waitlist_waiting_participant",
            "participant_id",
            unique=True,
            sqlite_where=text("status = 'waiting'"),
            postgresql_where=text("status = 'waiting'"),
        ),
        Index("ix_coaching_waitlist_status_joined", "status", "joined_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    coach_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    joined_at: Mapped[datetime] = mapped_column(default=utc_now)
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    ended_at: Mapped[datetime | None]

    participant: Mapped[Member] = relationship(foreign_keys=[participant_id])
    coach: Mapped[Member | None] = relationship(foreign_keys=[coach_id])


class CoachingOffer(Base):
    """A freed slot held for one waiter until `expires_at` (CBA_WAITLIST_HOLD).

    Two partial unique indexes: a slot is held for at most one person at a time, and a waiting entry holds
    at most one open offer, whatever the concurrency (two bot processes passing the same slot on).
    """

    __tablename__ = "coaching_offers"
    __table_args__ = (
        Index(
            "uq_coaching_offers_open_slot",
            "slot_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index(
            "uq_coaching_offers_open_entry",
            "entry_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_coaching_offers_status_expires", "status", "expires_at"),
        Index("ix_coaching_offers_participant_slot", "participant_id", "slot_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("coaching_slots.id", ondelete="CASCADE"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("coaching_waitlist.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    offered_at: Mapped[datetime] = mapped_column(default=utc_now)
    expires_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="open")
    ended_at: Mapped[datetime | None]

    slot: Mapped[CoachingSlot] = relationship()
    entry: Mapped[CoachingWaitlistEntry] = relationship()
    participant: Mapped[Member] = relationship(foreign_keys=[participant_id])


# --- homework (issue 6) -------------------------------------------------------------------------------


class Assignment(Base):
    """Homework for one cohort, due at an instant (23:59 on the due day in the organiser's zone)."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    withdrawn_at: Mapped[datetime | None]
    # After due_at, submissions up to due_at + grace are "late (within grace)"; set from CBA_HOMEWORK_GRACE at
    # creation, changed with `/cba-homework grace`. Minutes of real time (UTC), so a DST night changes nothing.
    grace_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    cohort: Mapped[Cohort] = relationship()


class Submission(Base):
    """One version of one participant's answer; resubmitting adds a version, never overwrites."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("assignment_id", "participant_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(1000))
    submitted_at: Mapped[datetime]
    # Decided once, in UTC, against the due instant at the time of submitting.
    late: Mapped[bool] = mapped_column(default=False)

    assignment: Mapped[Assignment] = relationship()
    participant: Mapped[Member] = relationship()


class Feedback(Base):
    """A coach's or organiser's feedback on one submission."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    author: Mapped[Member | None] = relationship()


# --- ask alumni (issue 7) ------------------------------------------------------------------------------

QUESTION_STATUSES = ("open", "resolved")
ANSWER_SOURCES = ("thread", "button")


class Question(Base):
    """A question to the alumni, posted to the questions channel (`question #N`).

    `asker_id` is kept for anonymous questions too: organisers may see it, nobody else.
    """

    __tablename__ = "questions"
    __table_args__ = (Index("ix_questions_message", "channel_id", "message_ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asker_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), index=True)
    anonymous: Mapped[bool] = mapped_column(default=False)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    permalink: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    # Set by the first delivered nudge DM (the alumni were reminded; SPEC 4.5).
    nudged: Mapped[bool] = mapped_column(default=False)
    # The first reply by an alumnus, coach or organiser; replies by others (a "+1") leave it NULL.
    answered_at: Mapped[datetime | None]
    # When the organisers were told it is still unanswered (CBA_QUESTION_ESCALATION), once.
    escalated_at: Mapped[datetime | None] = mapped_column(index=True)

    asker: Mapped[Member | None] = relationship(foreign_keys=[asker_id])
    answers: Mapped[list[Answer]] = relationship(
        back_populates="question", cascade="all, delete-orphan", order_by="Answer.id"
    )


class Answer(Base):
    """A reply to a question, from its thread or the "Answer" modal. One per Slack message.

    Every reply by someone other than the asker is stored; only one by an alumnus, coach or organiser
    answers the question (`Question.answered_at`).
    """

    __tablename__ = "question_answers"
    __table_args__ = (UniqueConstraint("question_id", "slack_ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    # NULL once the author erased their data: shown as "former member".
    author_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), index=True)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    permalink: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    # Whether its author held alumni, coach or organiser then (it answers); else a reply such as a "+1".
    answering: Mapped[bool] = mapped_column(default=True, server_default=true())

    question: Mapped[Question] = relationship(back_populates="answers")
    author: Mapped[Member | None] = relationship()


class QuestionRouting(Base):
    """Who was asked to look at a question, in rank order, with their match score."""

    __tablename__ = "question_routings"
    __table_args__ = (UniqueConstraint("question_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)
    asked_at: Mapped[datetime] = mapped_column(default=utc_now)

    member: Mapped[Member] = relationship()
