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
    text,
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
    nudged: Mapped[bool] = mapped_column(default=False)

    asker: Mapped[Member | None] = relationship(foreign_keys=[asker_id])
    answers: Mapped[list[Answer]] = relationship(
        back_populates="question", cascade="all, delete-orphan", order_by="Answer.id"
    )


class Answer(Base):
    """An answer, from the question's thread or the "Answer" modal. One per Slack message."""

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
