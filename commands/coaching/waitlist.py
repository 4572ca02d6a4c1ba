"""The coaching waitlist (SPEC 4.3): participants wait for a free slot; a freed slot is offered to the first
waiter for whom it fits and held for them alone for CBA_WAITLIST_HOLD; declined or expired, it passes on.

Offers are data (`coaching_offers`), not memory: they survive a restart and expire from the scheduler's tick.
Invariants held by the database, whatever the concurrency (two bot processes, many clicks):
- `uq_coaching_waitlist_waiting_participant`: one waiting entry per participant;
- `uq_coaching_offers_open_slot`: a slot is held for at most one person at a time;
- `uq_coaching_offers_open_entry`: a waiter holds at most one offer at a time (the next freed slot goes to the
  next waiter);
- every end of an offer (accepted, declined, expired, superseded) is a conditional UPDATE `… WHERE status =
  'open'`: exactly one of two racing ends wins, and only the winner passes the slot on.
Every offer is told by DM (outbox) in the transaction that makes it. No Slack here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.kernel import outbox
from bot.kernel.deps import Deps
from bot.kernel.settings import Settings
from commands.coaching import views
from commands.coaching.parse import book_usage
from commands.coaching.service import active_future_bookings, end_open_offers, waiting_entry
from commands.common.actors import Actor
from commands.common.errors import Conflict, NotFound, UsageError
from commands.common.timefmt import zone_of
from storage.models import (
    CoachingBooking,
    CoachingOffer,
    CoachingSlot,
    CoachingWaitlistEntry,
    Member,
    RoleGrant,
    display_name,
)

log = logging.getLogger(__name__)

EXPIRY_BATCH = 100  # offers expired per tick (more wait for the next one, 30 s later)


# --- joining and leaving --------------------------------------------------------------------------


@dataclass(frozen=True)
class Joined:
    entry: CoachingWaitlistEntry
    position: int
    coach_name: str | None  # None: any coach
    already: bool  # was waiting for the same already
    changed: bool  # was waiting for another coach (or any): the entry now says this one, place kept
    open_now: int  # open slots that fit right now (book them directly)


def position(session: Session, entry: CoachingWaitlistEntry) -> int:
    """1 for the first waiter: the entries ahead of this one that a freed slot it fits would go to first, plus
    one. A waiter for one coach has ahead of them the earlier waiters for that coach or for any coach, not
    those waiting for another coach; a waiter for any coach has every earlier waiter ahead."""
    earlier = or_(
        CoachingWaitlistEntry.joined_at < entry.joined_at,
        and_(CoachingWaitlistEntry.joined_at == entry.joined_at, CoachingWaitlistEntry.id < entry.id),
    )
    query = (
        select(func.count())
        .select_from(CoachingWaitlistEntry)
        .where(CoachingWaitlistEntry.status == "waiting", earlier)
    )
    if entry.coach_id is not None:
        query = query.where(_waiting_for(entry.coach_id))
    return int(session.scalar(query) or 0) + 1


def _waiting_for(coach_id: int) -> ColumnElement[bool]:
    """Entries a slot of this coach fits: waiting for that coach or for any."""
    return or_(CoachingWaitlistEntry.coach_id.is_(None), CoachingWaitlistEntry.coach_id == coach_id)


def _coach(session: Session, slack_id: str) -> Member:
    coach = session.scalar(
        select(Member)
        .join(RoleGrant, RoleGrant.member_id == Member.id)
        .where(Member.slack_id == slack_id, RoleGrant.role == "coach", Member.erased_at.is_(None))
        .limit(1)
    )
    if coach is None:
        raise UsageError(f"<@{slack_id}> is not a coach of the Academy.", usage=book_usage())
    return coach


def _open_fitting(
    session: Session, participant_id: int, coach_id: int | None, now: datetime, settings: Settings
) -> int:
    """Open slots (not booked, not held, far enough ahead) of that coach or of any: bookable at once."""
    query = (
        select(func.count())
        .select_from(CoachingSlot)
        .where(
            CoachingSlot.removed_at.is_(None),
            CoachingSlot.starts_at >= now + settings.min_booking_notice,
            CoachingSlot.coach_id != participant_id,
            ~exists().where(CoachingBooking.slot_id == CoachingSlot.id, CoachingBooking.status == "active"),
            ~exists().where(CoachingOffer.slot_id == CoachingSlot.id, CoachingOffer.status == "open"),
        )
    )
    if coach_id is not None:
        query = query.where(CoachingSlot.coach_id == coach_id)
    return int(session.scalar(query) or 0)


def join(session: Session, actor: Actor, coach_slack_id: str | None, now: datetime, settings: Settings) -> Joined:
    """Wait for the next free slot of a coach (or of any). Joining again with another coach updates the one
    entry (a participant waits once), keeping their place in the queue."""
    actor.require("participant", action="join the coaching waitlist")
    me = actor.member
    coach = _coach(session, coach_slack_id) if coach_slack_id else None
    if coach is not None and coach.id == me.id:
        raise UsageError("You cannot wait for your own slots.", usage=book_usage())
    coach_id = coach.id if coach is not None else None
    coach_name = coach.display_name if coach is not None else None
    held = active_future_bookings(session, me.id, now)
    if held >= settings.max_active_bookings:
        raise Conflict(
            f"You already hold {held} upcoming booking{'s' if held != 1 else ''}, the most allowed "
            f"({settings.max_active_bookings}): no slot could be offered to you. Cancel one first (`/cba-book mine`)."
        )
    entry = waiting_entry(session, me.id)
    already = changed = False
    if entry is not None:
        already = entry.coach_id == coach_id
        changed = not already
        entry.coach_id = coach_id
        session.flush()
    else:
        entry = CoachingWaitlistEntry(participant_id=me.id, coach_id=coach_id, joined_at=now, status="waiting")
        try:
            with session.begin_nested():
                session.add(entry)
                session.flush()
        except IntegrityError:
            # A double click: the other request made the entry first.
            entry = waiting_entry(session, me.id)
            if entry is None:
                raise Conflict("Please try again: the waitlist changed as you joined it.") from None
            already = entry.coach_id == coach_id
    return Joined(
        entry,
        position(session, entry),
        coach_name,
        already,
        changed,
        _open_fitting(session, me.id, coach_id, now, settings),
    )


@dataclass(frozen=True)
class Left:
    released_slots: tuple[int, ...]


def leave(session: Session, actor: Actor, now: datetime) -> Left:
    """Leave the waitlist; an offer still held ends (declined) and its slot passes on."""
    actor.require("participant", action="leave the coaching waitlist")
    entry = waiting_entry(session, actor.member.id)
    if entry is None:
        raise Conflict("You are not on the coaching waitlist. Join it with `/cba-book waitlist [@coach]`.")
    result: Any = session.execute(
        update(CoachingWaitlistEntry)
        .where(CoachingWaitlistEntry.id == entry.id, CoachingWaitlistEntry.status == "waiting")
        .values(status="left", ended_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict("You are not on the coaching waitlist any more.")
    return Left(end_open_offers(session, entry.id, "declined", now))


# --- offering a freed slot ------------------------------------------------------------------------


def _offerable(session: Session, slot_id: int, now: datetime, settings: Settings) -> CoachingSlot | None:
    """The slot, if it may be offered now: not withdrawn, not booked, not held, far enough ahead."""
    slot = session.get(CoachingSlot, slot_id, populate_existing=True)
    if slot is None or slot.removed_at is not None or slot.starts_at < now + settings.min_booking_notice:
        return None
    taken = session.scalar(
        select(
            exists().where(CoachingBooking.slot_id == slot_id, CoachingBooking.status == "active")
            | exists().where(CoachingOffer.slot_id == slot_id, CoachingOffer.status == "open")
        )
    )
    return None if taken else slot


def _candidates(session: Session, slot: CoachingSlot) -> list[CoachingWaitlistEntry]:
    """Waiters for this slot's coach (or any), first come first, who hold no other offer and were never
    offered this slot (declined or let it expire: it passes on, it does not come back)."""
    return list(
        session.scalars(
            select(CoachingWaitlistEntry)
            .join(Member, Member.id == CoachingWaitlistEntry.participant_id)
            .where(
                CoachingWaitlistEntry.status == "waiting",
                _waiting_for(slot.coach_id),
                CoachingWaitlistEntry.participant_id != slot.coach_id,
                Member.erased_at.is_(None),
                ~exists().where(CoachingOffer.entry_id == CoachingWaitlistEntry.id, CoachingOffer.status == "open"),
                ~exists().where(
                    CoachingOffer.slot_id == slot.id,
                    CoachingOffer.participant_id == CoachingWaitlistEntry.participant_id,
                ),
            )
            .order_by(CoachingWaitlistEntry.joined_at, CoachingWaitlistEntry.id)
        )
    )


def offer_slot(session: Session, slot_id: int, now: datetime, settings: Settings) -> CoachingOffer | None:
    """Hold the slot for the first waiter for whom it fits (quota, notice) and tell them by DM; None when
    nobody fits (the slot is then open to everyone) or it is not free."""
    slot = _offerable(session, slot_id, now, settings)
    if slot is None:
        return None
    for entry in _candidates(session, slot):
        if active_future_bookings(session, entry.participant_id, now) >= settings.max_active_bookings:
            continue
        offer = CoachingOffer(
            slot_id=slot.id,
            entry_id=entry.id,
            participant_id=entry.participant_id,
            offered_at=now,
            # Held for CBA_WAITLIST_HOLD, but not past the moment bookings of the slot close.
            expires_at=min(now + settings.waitlist_hold, slot.starts_at - settings.min_booking_notice),
            status="open",
        )
        try:
            with session.begin_nested():
                session.add(offer)
                session.flush()
        except IntegrityError:
            # Another transaction held this slot, or this waiter, first: the slot may still go to the next one.
            if _offerable(session, slot.id, now, settings) is None:
                return None
            continue
        _tell_offer(session, offer, now, settings)
        log.info("slot #%s offered to waitlist entry #%s (offer #%s)", slot.id, entry.id, offer.id)
        return offer
    return None


def pass_on(session: Session, slot_ids: Iterable[int], now: datetime, settings: Settings) -> list[CoachingOffer]:
    """Offer each freed slot to its next waiter (a slot nobody fits stays open to all)."""
    made = []
    for slot_id in dict.fromkeys(slot_ids):
        offer = offer_slot(session, slot_id, now, settings)
        if offer is not None:
            made.append(offer)
    return made


def _tell_offer(session: Session, offer: CoachingOffer, now: datetime, settings: Settings) -> None:
    participant = offer.participant
    zone = zone_of(participant.tz, settings.zone)
    text, blocks = views.offer_dm(offer, zone)
    outbox.tell(session, participant, text, blocks, now=now, subject=("coaching-offer", offer.id))
    outbox.publish_home(session, participant, now=now, organisers=settings.organisers)


# --- ending offers ------------------------------------------------------------------------------


def _end(session: Session, offer_id: int, status: str, now: datetime) -> bool:
    result: Any = session.execute(
        update(CoachingOffer)
        .where(CoachingOffer.id == offer_id, CoachingOffer.status == "open")
        .values(status=status, ended_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)


@dataclass(frozen=True)
class Declined:
    offer: CoachingOffer
    position: int | None
    passed_to_someone: bool


def decline(session: Session, actor: Actor, offer_id: int, now: datetime, settings: Settings) -> Declined:
    """ "No thanks": the holder passes the slot on at once; they stay on the waitlist."""
    actor.require("participant", action="answer waitlist offers")
    offer = session.get(CoachingOffer, offer_id, populate_existing=True)
    if offer is None:
        raise NotFound("offer", offer_id, usage=book_usage())
    if offer.participant_id != actor.member.id:
        raise Conflict(f":no_entry: Offer #{offer_id} was made to someone else; only they can answer it.")
    if not _end(session, offer.id, "declined", now):
        session.refresh(offer)
        raise Conflict(f"The offer of slot #{offer.slot_id} has already ended ({offer.status}).")
    session.refresh(offer)
    _refresh(session, offer.participant, now, settings)
    passed = offer_slot(session, offer.slot_id, now, settings) is not None
    entry = waiting_entry(session, actor.member.id)
    return Declined(offer, position(session, entry) if entry is not None else None, passed)


def expire_due(session: Session, now: datetime, settings: Settings) -> int:
    """The tick's part: every offer past its hold ends (once, whichever process gets there first) and its
    slot passes to the next waiter. Returns how many this call expired."""
    due = session.scalars(
        select(CoachingOffer.id)
        .where(CoachingOffer.status == "open", CoachingOffer.expires_at <= now)
        .order_by(CoachingOffer.expires_at, CoachingOffer.id)
        .limit(EXPIRY_BATCH)
    ).all()
    expired = 0
    for offer_id in due:
        if not _end(session, offer_id, "expired", now):
            continue  # accepted, declined or expired by someone else meanwhile
        expired += 1
        offer = session.get(CoachingOffer, offer_id, populate_existing=True)
        assert offer is not None
        participant = offer.participant
        zone = zone_of(participant.tz, settings.zone)
        outbox.tell(
            session, participant, views.offer_expired_text(offer, zone), now=now, subject=("coaching-offer", offer.id)
        )
        _refresh(session, participant, now, settings)
        offer_slot(session, offer.slot_id, now, settings)
    return expired


def expire_tick(deps: Deps) -> None:
    """Scheduler tick: expire offers whose hold has run out and pass their slots on."""
    now = deps.clock()
    try:
        with deps.sessions.begin() as session:
            count = expire_due(session, now, deps.settings)
        if count:
            log.info("%s waitlist offer(s) expired and passed on", count)
    except IntegrityError:
        log.info("waitlist offers were passed on by another process")


def end_for_withdrawn_slot(session: Session, slot_id: int, now: datetime, settings: Settings) -> None:
    """The coach withdrew a held slot: the offer ends and its holder is told (they stay on the waitlist)."""
    for offer in session.scalars(
        select(CoachingOffer).where(CoachingOffer.slot_id == slot_id, CoachingOffer.status == "open")
    ).all():
        if _end(session, offer.id, "superseded", now):
            participant = offer.participant
            zone = zone_of(participant.tz, settings.zone)
            outbox.tell(session, participant, views.offer_withdrawn_text(offer, zone), now=now)
            _refresh(session, participant, now, settings)


def _refresh(session: Session, member: Member, now: datetime, settings: Settings) -> None:
    outbox.publish_home(session, member, now=now, organisers=settings.organisers)


# --- what members and organisers see ------------------------------------------------------------


def open_offers(session: Session, participant_id: int) -> list[CoachingOffer]:
    """The offers held for this participant now (a Home tab shows them with "Book")."""
    return list(
        session.scalars(
            select(CoachingOffer)
            .where(CoachingOffer.participant_id == participant_id, CoachingOffer.status == "open")
            .order_by(CoachingOffer.expires_at, CoachingOffer.id)
        )
    )


@dataclass(frozen=True)
class Standing:
    """A participant's place on the waitlist, as /cba-book and the Home tab show it."""

    entry: CoachingWaitlistEntry
    position: int
    coach_name: str | None  # None: any coach


def standing(session: Session, participant_id: int) -> Standing | None:
    entry = waiting_entry(session, participant_id)
    if entry is None:
        return None
    coach = entry.coach.display_name if entry.coach is not None else None
    return Standing(entry, position(session, entry), coach)


@dataclass(frozen=True)
class Lengths:
    total: int
    by_coach: list[tuple[str, int]]  # ("any coach" first, then coaches by name)


def lengths(session: Session, cohort_id: int | None = None) -> Lengths:
    """How many wait, per coach they wait for; of one cohort's participants when `cohort_id` is given."""
    query = (
        select(Member.name, Member.slack_id, CoachingWaitlistEntry.coach_id, func.count())
        .select_from(CoachingWaitlistEntry)
        .outerjoin(Member, Member.id == CoachingWaitlistEntry.coach_id)
        .where(CoachingWaitlistEntry.status == "waiting")
        .group_by(CoachingWaitlistEntry.coach_id, Member.name, Member.slack_id)
    )
    if cohort_id is not None:
        in_cohort = select(RoleGrant.member_id).where(RoleGrant.role == "participant", RoleGrant.cohort_id == cohort_id)
        query = query.where(CoachingWaitlistEntry.participant_id.in_(in_cohort))
    rows = session.execute(query).all()
    anyone = [("any coach", int(count)) for _name, _sid, coach_id, count in rows if coach_id is None]
    coaches = sorted(
        (display_name(name, slack_id), int(count)) for name, slack_id, coach_id, count in rows if coach_id is not None
    )
    return Lengths(sum(count for *_rest, count in rows), anyone + coaches)
