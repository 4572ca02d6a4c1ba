"""The programme's part of the organisers' digest: RSVPs still open for the next day, late declines."""

from __future__ import annotations

from sqlalchemy import select

from bot.kernel.digest import DigestItem, DigestPart, DigestScope, command, mentions
from bot.kernel.registry import Registry
from commands.common.cohorts import cohort_participants
from commands.common.text import escape, truncate
from commands.events import service
from storage.models import Event, Member, Rsvp

ITEMS = 20


def _events_command(scope: DigestScope) -> str:
    return command(f"/cba-admin events {scope.cohort.code}" if scope.cohort is not None else "/cba-admin events")


def _day(scope: DigestScope, event: Event) -> str:
    return f"event #{event.id} “{escape(truncate(event.title, 60))}” on {scope.date(event.starts_at)}"


def open_rsvps_section(scope: DigestScope) -> DigestPart | None:
    """The cohort's next programme day: participants who have not answered yet."""
    if scope.cohort is None:
        return None
    upcoming = service.upcoming_events(scope.session, scope.cohort.id, scope.now)
    if not upcoming:
        return DigestPart()
    event = upcoming[0]
    people = cohort_participants(scope.session, scope.cohort.id)
    answered = set(scope.session.scalars(select(Rsvp.member_id).where(Rsvp.event_id == event.id)))
    waiting = [p.slack_id for p in people if p.id not in answered]
    if not waiting:
        return DigestPart()
    text = f"{_day(scope, event)}: {len(waiting)} of {len(people)} have not answered: {mentions(waiting)}"
    return DigestPart([DigestItem(text, _events_command(scope))])


def late_declines_section(scope: DigestScope) -> DigestPart | None:
    """Declines flagged as late cancellations since the last digest, newest first."""
    if scope.cohort is None:
        return None
    rows = scope.session.execute(
        select(Rsvp, Event, Member.slack_id)
        .join(Event, Event.id == Rsvp.event_id)
        .join(Member, Member.id == Rsvp.member_id)
        .where(
            Event.cohort_id == scope.cohort.id,
            Event.removed.is_(False),
            Rsvp.answer == "no",
            Rsvp.late_cancellation.is_(True),
            Rsvp.answered_at >= scope.since,
        )
        .order_by(Rsvp.answered_at.desc(), Rsvp.id.desc())
    ).all()
    items = []
    for rsvp, event, slack_id in rows[:ITEMS]:
        reason = f" (“{escape(truncate(rsvp.reason.strip(), 80))}”)" if rsvp.reason.strip() else ""
        items.append(
            DigestItem(f"{_day(scope, event)}: {mentions([slack_id])} declined late{reason}", _events_command(scope))
        )
    return DigestPart(items, total=len(rows), more=_events_command(scope))


def register(registry: Registry) -> None:
    registry.digest_section("rsvps", open_rsvps_section, title="RSVPs still open for the next programme day", order=30)
    registry.digest_section(
        "late-declines", late_declines_section, title="Late cancellations of programme days", order=40
    )
