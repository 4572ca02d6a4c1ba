"""Coaching's part of the organisers' digest: bookings their participant cancelled late since the last digest, and
the waitlist's lengths (who waits, per coach: organisers may ask coaches for more slots)."""

from __future__ import annotations

from sqlalchemy import select

from bot.kernel.digest import DigestItem, DigestPart, DigestScope, command, mentions
from bot.kernel.registry import Registry
from commands.coaching import waitlist
from commands.common.text import escape
from storage.models import CoachingBooking, CoachingSlot, Member, RoleGrant

ITEMS = 20


def late_cancellations_section(scope: DigestScope) -> DigestPart | None:
    """Late cancellations by the participant (not the coach's or an organiser's) of the cohort's bookings."""
    if scope.cohort is None:
        return None
    in_cohort = select(RoleGrant.member_id).where(
        RoleGrant.role == "participant", RoleGrant.cohort_id == scope.cohort.id
    )
    rows = scope.session.execute(
        select(CoachingBooking, CoachingSlot, Member.slack_id)
        .join(CoachingSlot, CoachingSlot.id == CoachingBooking.slot_id)
        .join(Member, Member.id == CoachingBooking.participant_id)
        .where(
            CoachingBooking.status == "cancelled",
            CoachingBooking.late.is_(True),
            CoachingBooking.cancelled_by_id == CoachingBooking.participant_id,
            CoachingBooking.cancelled_at >= scope.since,
            CoachingBooking.participant_id.in_(in_cohort),
        )
        .order_by(CoachingBooking.cancelled_at.desc(), CoachingBooking.id.desc())
    ).all()
    act = command(f"/cba-admin report {scope.cohort.code}")
    items = []
    for booking, slot, slack_id in rows[:ITEMS]:
        coach = scope.session.get(Member, slot.coach_id)
        with_coach = f" with {mentions([coach.slack_id])}" if coach is not None else ""
        items.append(
            DigestItem(
                f"booking #{booking.id} (slot #{slot.id}{with_coach}, {scope.date(slot.starts_at)}): "
                f"{mentions([slack_id])} cancelled late",
                act,
            )
        )
    return DigestPart(items, total=len(rows), more=act)


def waitlist_section(scope: DigestScope) -> DigestPart | None:
    """How many of the cohort's participants wait for a coaching slot, per coach they wait for."""
    if scope.cohort is None:
        return None
    lengths = waitlist.lengths(scope.session, scope.cohort.id)
    act = command(f"/cba-admin report {scope.cohort.code}")
    items = [
        DigestItem(f"waitlist for {escape(name)}: {count} waiting", command("/cba-slots add"))
        for name, count in lengths.by_coach
    ]
    return DigestPart(items, total=len(items), more=act)


def register(registry: Registry) -> None:
    registry.digest_section(
        "late-bookings", late_cancellations_section, title="Late cancellations of coaching", order=41
    )
    registry.digest_section("waitlist", waitlist_section, title="Coaching waitlist", order=42)
