"""Coaching rules: publishing slots, booking and cancelling them. No Slack here; flush, never commit.

A slot held for someone on the waitlist (an open CoachingOffer, commands.coaching.waitlist) can be booked by
that person only, until the offer ends; booking it accepts the offer (a conditional UPDATE).

Race safety (reliability reference §3): the partial unique index `uq_coaching_bookings_active_slot`
is the invariant (one active booking per slot). Booking inserts conditionally (`INSERT … SELECT …
WHERE NOT EXISTS`, the fast path) inside a savepoint; a concurrent winner makes the index refuse us
and IntegrityError becomes "slot #N was just taken". The participant's member row is locked
(`FOR UPDATE` on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers) before the active
bookings are counted, so the per-participant limit holds under concurrency too.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, and_, bindparam, exists, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from bot.kernel import planning
from bot.kernel.settings import Settings
from commands.coaching.ics import CalendarBooking, Party
from commands.coaching.parse import AddSlots, book_usage, slots_usage
from commands.common.actors import Actor
from commands.common.errors import Conflict, NotFound, NotPermitted, UsageError
from commands.common.parsing import AmbiguousLocalTime, NonexistentLocalTime, local_to_utc
from commands.common.timefmt import slack_date
from storage.hot import HotSelect
from storage.models import CoachingBooking, CoachingOffer, CoachingSlot, CoachingWaitlistEntry, Member, display_name
from storage.types import UTCDateTime

SUBJECT = "booking"
REMINDER_KIND = "coaching"
PAGE_SIZE = 10
ALTERNATIVES = 5


class SlotTaken(Conflict):
    """Someone else holds the slot now; `alternatives` are open slots of the same coach."""

    def __init__(self, slot_id: int, alternatives: list[CoachingSlot]) -> None:
        super().__init__(f":hourglass: Sorry, slot #{slot_id} was just taken by someone else.")
        self.slot_id = slot_id
        self.alternatives = alternatives


class SlotHeld(Conflict):
    """The slot is held for someone on the waitlist (an open offer): nobody else may book it meanwhile."""

    def __init__(self, slot_id: int, until: datetime, zone: ZoneInfo) -> None:
        super().__init__(
            f":lock: Slot #{slot_id} is held for someone on the waitlist until {slack_date(until, zone)}. "
            "If they do not take it, it passes to the next person waiting, then opens to everyone. "
            "See `/cba-book` for open slots, or join the waitlist with `/cba-book waitlist`."
        )
        self.slot_id = slot_id


# --- publishing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    slots: list[CoachingSlot]


@dataclass(frozen=True)
class AskFold:
    """The typed time happens twice (autumn fold): the coach must say which."""

    request: AddSlots
    first_label: str
    second_label: str


def _lock_member(session: Session, member_id: int) -> None:
    """Serialise a member's writes on PostgreSQL (SQLite drops FOR UPDATE; BEGIN IMMEDIATE does it)."""
    session.execute(select(Member.id).where(Member.id == member_id).with_for_update())


def _gap_message(request: AddSlots, zone: ZoneInfo) -> str:
    naive = datetime.combine(request.day, request.at)
    before = naive.replace(tzinfo=zone, fold=0)
    after = naive.replace(tzinfo=zone, fold=1)
    jump = (after.utcoffset() or timedelta()) - (before.utcoffset() or timedelta())
    if jump < timedelta():
        jump = -jump
    suggestion = (naive + jump).strftime("%H:%M")
    minutes = int(jump.total_seconds() // 60)
    size = f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes} minutes"
    return (
        f":clock2: {request.day.isoformat()} {request.at:%H:%M} does not exist in {zone.key}: that night the clocks "
        f"jump forward by {size} ({before.tzname()} → {after.tzname()}). Nothing was published. "
        f"Pick a time outside the gap, e.g. {suggestion}."
    )


def add_slots(
    session: Session, actor: Actor, request: AddSlots, zone: ZoneInfo, now: datetime, *, fold: int | None = None
) -> Published | AskFold:
    actor.require("coach", action="publish coaching slots")
    try:
        first = local_to_utc(request.day, request.at, zone, fold=fold)
    except NonexistentLocalTime:
        raise UsageError(_gap_message(request, zone), usage=slots_usage()) from None
    except AmbiguousLocalTime:
        naive = datetime.combine(request.day, request.at)
        early, late = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
        shown = f"{request.at:%H:%M}"
        return AskFold(request, f"first {shown} ({early.tzname()})", f"second {shown} ({late.tzname()})")
    if first <= now:
        raise UsageError(
            f":rewind: {request.day.isoformat()} {request.at:%H:%M} ({zone.key}) is in the past. Nothing was published.",
            usage=slots_usage(),
        )
    # Back-to-back: each slot starts when the previous one ends (UTC arithmetic: DST never shifts it).
    spans = [(first + i * request.length, first + (i + 1) * request.length) for i in range(request.count)]
    coach = actor.member
    _lock_member(session, coach.id)
    clash = session.scalars(
        select(CoachingSlot)
        .where(
            CoachingSlot.coach_id == coach.id,
            CoachingSlot.removed_at.is_(None),
            CoachingSlot.starts_at < spans[-1][1],
            CoachingSlot.ends_at > spans[0][0],
        )
        .order_by(CoachingSlot.starts_at)
    ).all()
    if clash:
        ids = ", ".join(f"slot #{slot.id}" for slot in clash[:5])
        raise Conflict(f":no_entry: That overlaps your {ids}. Nothing was published; pick another time.")
    slots = [
        CoachingSlot(coach_id=coach.id, starts_at=start, ends_at=end, meeting_url=request.meeting_url, created_at=now)
        for start, end in spans
    ]
    session.add_all(slots)
    session.flush()
    return Published(slots)


def coach_slots(session: Session, actor: Actor, now: datetime) -> list[tuple[CoachingSlot, CoachingBooking | None]]:
    """The caller's slots from now on (a session under way included), with the active booking of each."""
    actor.require("coach", action="list coaching slots")
    active = aliased(CoachingBooking)
    rows = session.execute(
        select(CoachingSlot, active)
        .outerjoin(active, and_(active.slot_id == CoachingSlot.id, active.status == "active"))
        .where(
            CoachingSlot.coach_id == actor.member.id,
            CoachingSlot.removed_at.is_(None),
            CoachingSlot.ends_at > now,
        )
        .order_by(CoachingSlot.starts_at, CoachingSlot.id)  # stable: pages are offsets into this order
    ).all()
    return [(slot, booking) for slot, booking in rows]


# --- cancellation (shared by /cba-book cancel and /cba-slots remove) ----------------------------


@dataclass(frozen=True)
class Cancelled:
    """What must be told after commit: the booking's calendar data and who cancelled."""

    booking_id: int
    slot_id: int
    calendar: CalendarBooking
    participant_slack: str | None
    coach_slack: str | None
    by: str  # "participant" | "coach" | "organiser"
    late: bool
    slot_removed: bool


def _party(member: Member) -> Party:
    return Party(member.display_name, member.email, member.slack_id)


def calendar_of(booking: CoachingBooking) -> CalendarBooking:
    slot = booking.slot
    return CalendarBooking(
        uid=booking.ics_uid,
        sequence=booking.ics_sequence,
        booking_id=booking.id,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        coach=_party(slot.coach),
        participant=_party(booking.participant),
        meeting_url=slot.meeting_url,
    )


def _cancel(
    session: Session, actor: Actor, booking: CoachingBooking, now: datetime, notice: timedelta, *, slot_removed: bool
) -> Cancelled:
    slot = booking.slot
    late = slot.starts_at - now < notice
    result: Any = session.execute(
        update(CoachingBooking)
        .where(CoachingBooking.id == booking.id, CoachingBooking.status == "active")
        .values(
            status="cancelled",
            cancelled_at=now,
            cancelled_by_id=actor.member.id,
            late=late,
            ics_sequence=CoachingBooking.ics_sequence + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(f"Booking #{booking.id} is already cancelled.")
    session.refresh(booking)
    planning.cancel_reminders(session, subject_type=SUBJECT, subject_id=booking.id)
    if booking.participant_id == actor.member.id:
        by = "participant"
    elif slot.coach_id == actor.member.id:
        by = "coach"
    else:
        by = "organiser"
    return Cancelled(
        booking_id=booking.id,
        slot_id=slot.id,
        calendar=calendar_of(booking),
        participant_slack=booking.participant.slack_id,
        coach_slack=slot.coach.slack_id,
        by=by,
        late=late,
        slot_removed=slot_removed,
    )


@dataclass(frozen=True)
class Removed:
    slot: CoachingSlot
    cancelled: Cancelled | None


def remove_slot(session: Session, actor: Actor, slot_id: int, now: datetime, settings: Settings) -> Removed:
    actor.require("coach", "organiser", action="withdraw coaching slots")
    slot = session.scalar(
        select(CoachingSlot)
        .where(CoachingSlot.id == slot_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if slot is None:
        raise NotFound("slot", slot_id, usage=slots_usage())
    if slot.coach_id != actor.member.id and not actor.has("organiser"):
        raise NotPermitted("organiser", action=f"withdraw slot #{slot_id}, which belongs to another coach")
    if slot.removed_at is not None:
        raise Conflict(f"Slot #{slot_id} was already withdrawn.")
    if slot.starts_at <= now:
        raise Conflict(f"Slot #{slot_id} has already started; it can no longer be withdrawn.")
    slot.removed_at = now
    session.flush()
    booking = session.scalar(
        select(CoachingBooking).where(CoachingBooking.slot_id == slot.id, CoachingBooking.status == "active")
    )
    cancelled = None
    if booking is not None:
        cancelled = _cancel(session, actor, booking, now, settings.min_booking_notice, slot_removed=True)
    return Removed(slot, cancelled)


def cancel_booking(session: Session, actor: Actor, booking_id: int, now: datetime, settings: Settings) -> Cancelled:
    # Role first: someone who can hold no booking learns nothing, not even whether the ID exists.
    actor.require("participant", "coach", "organiser", action="cancel coaching bookings")
    booking = session.get(CoachingBooking, booking_id, populate_existing=True)
    if booking is None:
        raise NotFound("booking", booking_id, usage=book_usage())
    me = actor.member.id
    if booking.participant_id != me and booking.slot.coach_id != me and not actor.has("organiser"):
        raise NotPermitted("organiser", action=f"cancel booking #{booking_id}, which is not yours")
    if booking.status != "active":
        raise Conflict(f"Booking #{booking_id} is already cancelled.")
    if booking.slot.starts_at <= now:
        raise Conflict(f"Booking #{booking_id} has already started; it can no longer be cancelled.")
    return _cancel(session, actor, booking, now, settings.min_booking_notice, slot_removed=False)


# --- booking -----------------------------------------------------------------------------------


# Open: not withdrawn, no active booking (and, where used, far enough ahead to be booked now).
_OPEN = (
    CoachingSlot.removed_at.is_(None),
    ~exists().where(CoachingBooking.slot_id == CoachingSlot.id, CoachingBooking.status == "active"),
)


# Held: an open waitlist offer (CoachingOffer) names someone; only they may book it until it ends.
_HELD = exists().where(CoachingOffer.slot_id == CoachingSlot.id, CoachingOffer.status == "open")


def held_for_other(me: Any) -> Any:
    """The slot is held for someone other than `me` (a member id or a bound parameter)."""
    return exists().where(
        CoachingOffer.slot_id == CoachingSlot.id, CoachingOffer.status == "open", CoachingOffer.participant_id != me
    )


def _open_slots_query(now: datetime, notice: timedelta) -> Any:
    return select(CoachingSlot).where(*_OPEN, ~_HELD, CoachingSlot.starts_at >= now + notice)


def alternatives(
    session: Session, coach_id: int, now: datetime, settings: Settings, *, exclude: int
) -> list[CoachingSlot]:
    query = (
        _open_slots_query(now, settings.min_booking_notice)
        .where(CoachingSlot.coach_id == coach_id, CoachingSlot.id != exclude)
        .order_by(CoachingSlot.starts_at)
        .limit(ALTERNATIVES)
    )
    return list(session.scalars(query))


@dataclass(frozen=True)
class OpenSlot:
    """A slot as the list of open slots shows it (plain values: no ORM objects to build per row)."""

    id: int
    coach_id: int
    coach_name: str  # the coach's display name
    starts_at: datetime
    ends_at: datetime
    held_until: datetime | None = None  # held for the caller (a waitlist offer) until then

    @property
    def minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


@dataclass(frozen=True)
class Page:
    slots: list[OpenSlot]
    page: int
    has_more: bool


# Built once (every /cba-book and Home "Book coaching" runs it): the listing's columns only, values bound.
_OPEN_SLOTS = HotSelect(
    select(
        CoachingSlot.id,
        CoachingSlot.coach_id,
        Member.name,
        Member.slack_id,
        CoachingSlot.starts_at,
        CoachingSlot.ends_at,
        select(CoachingOffer.expires_at)
        .where(
            CoachingOffer.slot_id == CoachingSlot.id,
            CoachingOffer.status == "open",
            CoachingOffer.participant_id == bindparam("me", type_=Integer),
        )
        .scalar_subquery(),
    )
    .join(Member, Member.id == CoachingSlot.coach_id)
    .where(
        *_OPEN,
        CoachingSlot.starts_at >= bindparam("earliest", type_=UTCDateTime),
        CoachingSlot.coach_id != bindparam("me", type_=Integer),
        ~held_for_other(bindparam("me", type_=Integer)),
    )
    .order_by(Member.name, Member.id, CoachingSlot.starts_at)
    .offset(bindparam("offset", type_=Integer))
    .limit(bindparam("limit", type_=Integer))
)


def open_slots(session: Session, actor: Actor, now: datetime, settings: Settings, page: int = 0) -> Page:
    """Open future slots (bookable now), by coach then time, one page at a time (the coach's name comes with
    each row: no query per slot). A slot held for someone else on the waitlist is not open; one held for
    the caller is."""
    actor.require("participant", action="book coaching sessions")
    page = max(page, 0)
    params = {
        "earliest": now + settings.min_booking_notice,
        "me": actor.member_id,
        "offset": page * PAGE_SIZE,
        "limit": PAGE_SIZE + 1,
    }
    rows = _OPEN_SLOTS.rows(session, params)
    slots = [
        OpenSlot(slot_id, coach_id, display_name(name, slack_id), starts_at, ends_at, held_until)
        for slot_id, coach_id, name, slack_id, starts_at, ends_at, held_until in rows[:PAGE_SIZE]
    ]
    return Page(slots, page, len(rows) > PAGE_SIZE)


@dataclass(frozen=True)
class Booked:
    booking: CoachingBooking
    calendar: CalendarBooking
    participant_slack: str | None
    coach_slack: str | None
    # The booker's waitlist: the offer of this slot they accepted, and the slots of their other offers that
    # this booking ends (to be passed on to the next waiter, commands.coaching.waitlist).
    accepted_offer: int | None = None
    released_slots: tuple[int, ...] = ()


def active_future_bookings(session: Session, participant_id: int, now: datetime) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(CoachingBooking)
            .join(CoachingSlot, CoachingSlot.id == CoachingBooking.slot_id)
            .where(
                CoachingBooking.participant_id == participant_id,
                CoachingBooking.status == "active",
                CoachingSlot.starts_at > now,
            )
        )
        or 0
    )


def book(session: Session, actor: Actor, slot_id: int, now: datetime, settings: Settings) -> Booked:
    actor.require("participant", action="book coaching sessions")
    me = actor.member
    _lock_member(session, me.id)
    # FOR SHARE on PostgreSQL: a concurrent withdrawal waits for us (and we for it), never interleaves.
    slot = session.scalar(
        select(CoachingSlot)
        .where(CoachingSlot.id == slot_id)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    )
    if slot is None:
        raise NotFound("slot", slot_id, usage=book_usage())
    if slot.removed_at is not None:
        raise Conflict(f"Slot #{slot_id} was withdrawn by its coach; see `/cba-book` for open slots.")
    if slot.coach_id == me.id:
        raise Conflict(f"Slot #{slot_id} is your own slot; you cannot book it.")
    if slot.starts_at <= now:
        raise Conflict(f"Slot #{slot_id} is in the past; see `/cba-book` for open slots.")
    if slot.starts_at - now < settings.min_booking_notice:
        hours = duration_text(settings.min_booking_notice)
        raise Conflict(
            f"Slot #{slot_id} starts in less than {hours}; bookings close {hours} before a session. "
            "See `/cba-book` for later slots."
        )
    mine = session.scalar(
        select(CoachingBooking.id).where(
            CoachingBooking.slot_id == slot_id,
            CoachingBooking.participant_id == me.id,
            CoachingBooking.status == "active",
        )
    )
    if mine is not None:
        raise Conflict(f"You already booked slot #{slot_id} (booking #{mine}).")
    offer = session.scalar(
        select(CoachingOffer)
        .where(CoachingOffer.slot_id == slot_id, CoachingOffer.status == "open")
        .execution_options(populate_existing=True)
    )
    if offer is not None and offer.participant_id != me.id:
        raise SlotHeld(slot_id, offer.expires_at, settings.zone)
    held = active_future_bookings(session, me.id, now)
    if held >= settings.max_active_bookings:
        raise Conflict(
            f"You already hold {held} upcoming booking{'s' if held != 1 else ''}, the most allowed "
            f"({settings.max_active_bookings}). Cancel one first (`/cba-book mine`)."
        )
    if offer is not None and not _accept(session, offer, now):
        raise Conflict(
            f":hourglass: Your hold on slot #{slot_id} ended at {slack_date(offer.expires_at, settings.zone)}; "
            "it has passed to the next person on the waitlist. You stay on the waitlist."
        )
    booking_id = _insert_if_free(session, slot.id, me.id, now)
    if booking_id is None:
        if offer is None:
            held_by = session.scalar(
                select(CoachingOffer).where(CoachingOffer.slot_id == slot_id, CoachingOffer.status == "open")
            )
            if held_by is not None and held_by.participant_id != me.id:  # offered to a waiter meanwhile
                raise SlotHeld(slot_id, held_by.expires_at, settings.zone)
        raise SlotTaken(slot_id, alternatives(session, slot.coach_id, now, settings, exclude=slot_id))
    booking = session.get(CoachingBooking, booking_id)
    assert booking is not None
    released = _leave_waitlist_on_booking(session, me.id, slot.coach_id, now)
    planning.sync_reminders(
        session,
        kind=REMINDER_KIND,
        subject_type=SUBJECT,
        subject_id=booking.id,
        starts_at=slot.starts_at,
        offsets=settings.coaching_reminders,
        recipients=[sid for sid in (me.slack_id, slot.coach.slack_id) if sid],
        now=now,
    )
    return Booked(
        booking,
        calendar_of(booking),
        me.slack_id,
        slot.coach.slack_id,
        accepted_offer=offer.id if offer is not None else None,
        released_slots=released,
    )


def _accept(session: Session, offer: CoachingOffer, now: datetime) -> bool:
    """The holder takes the offered slot: conditional, so an expiry passing it on at the same moment (another
    process's tick) and this booking cannot both win."""
    result: Any = session.execute(
        update(CoachingOffer)
        .where(CoachingOffer.id == offer.id, CoachingOffer.status == "open")
        .values(status="accepted", ended_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)


def _leave_waitlist_on_booking(session: Session, participant_id: int, coach_id: int, now: datetime) -> tuple[int, ...]:
    """A booking that answers what the participant waited for (that coach, or any) ends their waiting entry;
    an offer of another slot it still held ends too, and that slot is returned, to pass on."""
    entry = waiting_entry(session, participant_id)
    if entry is None or entry.coach_id not in (None, coach_id):
        return ()
    entry.status, entry.ended_at = "booked", now
    return end_open_offers(session, entry.id, "superseded", now)


def waiting_entry(session: Session, participant_id: int) -> CoachingWaitlistEntry | None:
    """The participant's one waiting entry on the coaching waitlist, read afresh."""
    return session.scalar(
        select(CoachingWaitlistEntry)
        .where(CoachingWaitlistEntry.participant_id == participant_id, CoachingWaitlistEntry.status == "waiting")
        .execution_options(populate_existing=True)
    )


def end_open_offers(session: Session, entry_id: int, status: str, now: datetime) -> tuple[int, ...]:
    """End the waitlist entry's open offer (if any) with `status`; the slots it held, to pass on."""
    released = session.scalars(
        update(CoachingOffer)
        .where(CoachingOffer.entry_id == entry_id, CoachingOffer.status == "open")
        .values(status=status, ended_at=now)
        .returning(CoachingOffer.slot_id)
        .execution_options(synchronize_session=False)
    ).all()
    session.flush()
    return tuple(released)


def _insert_if_free(session: Session, slot_id: int, participant_id: int, now: datetime) -> int | None:
    """INSERT … SELECT … WHERE NOT EXISTS (active booking), in a savepoint; None when the slot is taken."""
    uid = f"cba-booking-{uuid.uuid4()}@cba-bot"
    free = and_(
        ~exists().where(CoachingBooking.slot_id == slot_id, CoachingBooking.status == "active"),
        # Checked in the INSERT's own statement too: a cancellation that committed since our first look
        # (PostgreSQL, READ COMMITTED) brought its offer to a waiter with it, in the same commit.
        ~exists().where(
            CoachingOffer.slot_id == slot_id,
            CoachingOffer.status == "open",
            CoachingOffer.participant_id != participant_id,
        ),
    )
    values = select(
        literal(slot_id),
        literal(participant_id),
        literal("active"),
        literal(now, UTCDateTime()),
        literal(False),
        literal(uid),
        literal(0),
    ).where(free)
    statement = (
        insert(CoachingBooking)
        .from_select(
            ["slot_id", "participant_id", "status", "created_at", "late", "ics_uid", "ics_sequence"],
            values,
        )
        .returning(CoachingBooking.id)
    )
    try:
        with session.begin_nested():
            return session.execute(statement).scalar_one_or_none()
    except IntegrityError:
        # A concurrent booking won the race; the unique index refused ours.
        return None


def late_cancellations(session: Session) -> int:
    """Bookings their participant cancelled inside the notice period (for organisers)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(CoachingBooking)
            .where(
                CoachingBooking.status == "cancelled",
                CoachingBooking.late.is_(True),
                CoachingBooking.cancelled_by_id == CoachingBooking.participant_id,
            )
        )
        or 0
    )


def my_bookings(session: Session, actor: Actor, now: datetime) -> tuple[list[CoachingBooking], list[CoachingBooking]]:
    """(bookings I hold, bookings on my slots), upcoming and active, by time."""
    actor.require("participant", "coach", action="list coaching bookings")
    base = (
        select(CoachingBooking)
        .join(CoachingSlot, CoachingSlot.id == CoachingBooking.slot_id)
        .where(CoachingBooking.status == "active", CoachingSlot.ends_at > now)
        .order_by(CoachingSlot.starts_at, CoachingBooking.id)  # stable: pages are offsets into this order
    )
    held = list(session.scalars(base.where(CoachingBooking.participant_id == actor.member.id)))
    coached = list(session.scalars(base.where(CoachingSlot.coach_id == actor.member.id)))
    return held, coached


def duration_text(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return f"{days} day{'s' if days != 1 else ''}"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes} minutes"
