"""The database schema as SQLAlchemy 2 typed models.

Features add their tables here (one section each) and an Alembic revision beside them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

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
    erased_at: Mapped[datetime | None]

    roles: Mapped[list[RoleGrant]] = relationship(
        back_populates="member", cascade="all, delete-orphan", foreign_keys="RoleGrant.member_id"
    )

    @property
    def display_name(self) -> str:
        return self.name or (f"<@{self.slack_id}>" if self.slack_id else "former member")


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
    """A message due at an instant, to one recipient (user or channel id).

    `dedupe_key` makes planning idempotent: one row per subject, offset and recipient.
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


# --- members: directory and privacy (issue 3) ---------------------------------------------------


# Search support, derived from the profile by commands.members.search.index_member (never typed by users).
# Terms are ASCII-folded [a-z0-9] strings, so a prefix range scan gives the same rows on SQLite and on
# PostgreSQL whatever the database's collation.
TERM_KINDS = ("w", "s", "e")  # w: a word of name/organisation/region/bio/tags; s: a sector tag; e: an expertise tag


class MemberTerm(Base):
    """One searchable term of one member: words for word search, whole tags for the tag filters."""

    __tablename__ = "member_terms"
    __table_args__ = (Index("ix_member_terms_kind_term", "kind", "term", "member_id"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(1), primary_key=True)
    term: Mapped[str] = mapped_column(String(100), primary_key=True)


class MemberSortKey(Base):
    """The directory's sort order: the folded name, alphanumerics only (collation-proof)."""

    __tablename__ = "member_sort_keys"
    __table_args__ = (Index("ix_member_sort_keys_sort_key", "sort_key", "member_id"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    sort_key: Mapped[str] = mapped_column(String(200), default="")


# Exact filters of /cba-directory (country:, role:, cohort:).
Index("ix_members_country", Member.country)
Index("ix_role_grants_role_member_id", RoleGrant.role, RoleGrant.member_id)


# --- programme days, RSVP and check-in (issue 4) --------------------------------------------------


# --- coaching slots and bookings (issue 5) ---------------------------------------------------------


# --- homework (issue 6) -------------------------------------------------------------------------------


# --- ask alumni (issue 7) ------------------------------------------------------------------------------
