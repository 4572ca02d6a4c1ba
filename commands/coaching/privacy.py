"""Coaching's part of `/cba-profile export` and `/cba-profile delete` (SPEC 4.2).

Export: the member's bookings (and, for a coach, their slots). Erasure: their future bookings are
cancelled and the coach is told (with the calendar file that removes it); a coach's future slots are
withdrawn and their participants told. Past bookings stay (the counts organisers see), naming a former
member. The bot's DMs and reminders that named the member to the other side are edited in Slack (those
not sent yet are dropped), and the calendar files queued for the other side keep no copy of their
address. Waitlist: the member's entries and offers are exported, and erased (deleted); a slot held for them
passes to the next waiter. Those waiting for an erased coach are taken off the waitlist and told.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from bot.kernel import outbox, planning
from bot.kernel.erasure import Erasure
from bot.kernel.registry import Registry
from commands.coaching import notify, service, waitlist
from storage.models import CoachingBooking, CoachingOffer, CoachingSlot, CoachingWaitlistEntry, Member, Reminder


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_section(session: Session, member: Member) -> dict[str, Any]:
    bookings = session.execute(
        select(CoachingBooking, CoachingSlot)
        .join(CoachingSlot, CoachingSlot.id == CoachingBooking.slot_id)
        .where(CoachingBooking.participant_id == member.id)
        .order_by(CoachingBooking.id)
    )
    slots = session.scalars(select(CoachingSlot).where(CoachingSlot.coach_id == member.id).order_by(CoachingSlot.id))
    return {
        "bookings": [
            {
                "booking": booking.id,
                "slot": slot.id,
                "coach": slot.coach.display_name,
                "starts_at": _iso(slot.starts_at),
                "ends_at": _iso(slot.ends_at),
                "meeting_url": slot.meeting_url,
                "status": booking.status,
                "booked_at": _iso(booking.created_at),
                "cancelled_at": _iso(booking.cancelled_at),
                "late_cancellation": booking.late,
            }
            for booking, slot in bookings
        ],
        "waitlist": [
            {
                "entry": entry.id,
                "coach": entry.coach.display_name if entry.coach is not None else "any coach",
                "joined_at": _iso(entry.joined_at),
                "status": entry.status,
                "ended_at": _iso(entry.ended_at),
            }
            for entry in session.scalars(
                select(CoachingWaitlistEntry)
                .where(CoachingWaitlistEntry.participant_id == member.id)
                .order_by(CoachingWaitlistEntry.id)
            )
        ],
        "waitlist_offers": [
            {
                "offer": offer.id,
                "slot": offer.slot_id,
                "starts_at": _iso(offer.slot.starts_at),
                "offered_at": _iso(offer.offered_at),
                "held_until": _iso(offer.expires_at),
                "status": offer.status,
                "ended_at": _iso(offer.ended_at),
            }
            for offer in session.scalars(
                select(CoachingOffer).where(CoachingOffer.participant_id == member.id).order_by(CoachingOffer.id)
            )
        ],
        "slots_offered": [
            {
                "slot": slot.id,
                "starts_at": _iso(slot.starts_at),
                "ends_at": _iso(slot.ends_at),
                "meeting_url": slot.meeting_url,
                "withdrawn_at": _iso(slot.removed_at),
            }
            for slot in slots
        ],
    }


def erase(erasure: Erasure) -> None:
    session, member, now = erasure.session, erasure.member, erasure.now
    held_for_them = _erase_waitlist(erasure)
    theirs = (
        select(CoachingBooking)
        .join(CoachingSlot, CoachingSlot.id == CoachingBooking.slot_id)
        .where(or_(CoachingBooking.participant_id == member.id, CoachingSlot.coach_id == member.id))
        .order_by(CoachingBooking.id)
    )
    bookings = list(session.scalars(theirs))
    # What the other side was told about these bookings named the member: edited, or dropped if not sent.
    # (Before the cancellations below, whose own notices name a former member.)
    for booking in bookings:
        for row in session.scalars(
            select(Reminder).where(
                Reminder.subject_type.in_((notify.NOTICE, service.SUBJECT)), Reminder.subject_id == booking.id
            )
        ):
            erasure.retract_row(row)
    for booking in bookings:
        if booking.status == "active" and booking.slot.starts_at > now:
            _cancel(erasure, booking)
    # A coach's future slots no longer exist.
    session.execute(
        update(CoachingSlot)
        .where(CoachingSlot.coach_id == member.id, CoachingSlot.removed_at.is_(None), CoachingSlot.starts_at > now)
        .values(removed_at=now)
        .execution_options(synchronize_session="fetch")
    )
    session.flush()
    if erasure.settings is not None:
        for slot_id in session.scalars(
            select(CoachingSlot.id).where(CoachingSlot.coach_id == member.id, CoachingSlot.removed_at == now)
        ).all():
            waitlist.end_for_withdrawn_slot(session, slot_id, now, erasure.settings)
        # Freed by the erasure (their bookings, the offers held for them): the next waiters come first.
        freed = [b.slot_id for b in bookings if b.participant_id == member.id and b.status == "cancelled"]
        waitlist.pass_on(session, [*held_for_them, *freed], now, erasure.settings)


def _erase_waitlist(erasure: Erasure) -> list[int]:
    """Delete the member's waitlist entries and offers; take off those who waited for them as a coach.
    Returns the slots that were held for the member (to pass on)."""
    session, member, now = erasure.session, erasure.member, erasure.now
    held = list(
        session.scalars(
            select(CoachingOffer.slot_id).where(
                CoachingOffer.participant_id == member.id, CoachingOffer.status == "open"
            )
        )
    )
    session.execute(delete(CoachingOffer).where(CoachingOffer.participant_id == member.id))
    session.execute(delete(CoachingWaitlistEntry).where(CoachingWaitlistEntry.participant_id == member.id))
    waiting_for_them = session.scalars(
        select(CoachingWaitlistEntry).where(
            CoachingWaitlistEntry.coach_id == member.id, CoachingWaitlistEntry.status == "waiting"
        )
    ).all()
    for entry in waiting_for_them:
        entry.status, entry.ended_at = "dropped", now
        outbox.tell(
            session,
            entry.participant,
            ":wave: The coach you were waiting for is no longer available, so you are off the coaching waitlist. "
            "Join it again with `/cba-book waitlist` (any coach) or `/cba-book waitlist @coach`.",
            now=now,
        )
        outbox.publish_home(session, entry.participant, now=now, organisers=erasure.organisers)
    # The other entries named them as the coach: those rows end, the reference goes.
    session.execute(
        update(CoachingWaitlistEntry)
        .where(CoachingWaitlistEntry.coach_id == member.id)
        .values(coach_id=None)
        .execution_options(synchronize_session="fetch")
    )
    session.flush()
    return held


def _cancel(erasure: Erasure, booking: CoachingBooking) -> None:
    """Cancelled because the participant or the coach erased their data; the other side is told."""
    session, member, now = erasure.session, erasure.member, erasure.now
    booking.status = "cancelled"
    booking.cancelled_at = now
    booking.cancelled_by_id = member.id
    booking.ics_sequence += 1
    session.flush()
    planning.cancel_reminders(session, subject_type=service.SUBJECT, subject_id=booking.id)
    slot = booking.slot
    coach_erased = slot.coach_id == member.id
    result = service.Cancelled(
        booking_id=booking.id,
        slot_id=slot.id,
        calendar=service.calendar_of(booking),
        participant_slack=booking.participant.slack_id,
        coach_slack=slot.coach.slack_id,
        by="erased",
        late=False,
        slot_removed=coach_erased,
    )
    notify.queue_cancelled(session, result, zone=erasure.zone, now=now)
    other = booking.participant if coach_erased else slot.coach
    outbox.publish_home(session, other, now=now, organisers=erasure.organisers)


def register(registry: Registry) -> None:
    registry.export_section("coaching", export_section)
    registry.erasure_step(
        "coaching",
        erase,
        tables=(
            CoachingSlot.__tablename__,
            CoachingBooking.__tablename__,
            CoachingWaitlistEntry.__tablename__,
            CoachingOffer.__tablename__,
        ),
    )
