"""Programme days, RSVPs and check-ins: the rules. Takes a session, flushes, never commits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.kernel.planning import cancel_reminders, sync_reminders
from commands.common.actors import Actor
from commands.common.cohorts import cohort_participants
from commands.common.errors import Conflict, NotFound, NotPermitted, UsageError
from commands.common.parsing import AmbiguousLocalTime, NonexistentLocalTime, local_to_utc
from commands.common.timefmt import zone_of
from commands.events import parse
from storage.models import CheckIn, Cohort, Event, Member, RoleGrant, Rsvp

REMINDER_KIND = "event"
SUBJECT = "event"
LATE_CANCELLATION_DAYS = 14  # the call's rule for in-person days: "less than two weeks before the dates"
CHECKIN_OPENS_BEFORE = timedelta(minutes=30)


def _day_zone(event: Event) -> ZoneInfo:
    return zone_of(event.tz, ZoneInfo("UTC"))


def is_late_decline(event: Event, now: datetime) -> bool:
    """Declining now would be a late cancellation: an in-person day less than 14 days away, counted in
    calendar days where the day takes place (the whole 14th day before is still in time, whatever the
    hour the day starts). Online days are never late to decline."""
    if event.kind != "in-person":
        return False
    zone = _day_zone(event)
    days_before = (event.starts_at.astimezone(zone).date() - now.astimezone(zone).date()).days
    return days_before < LATE_CANCELLATION_DAYS


# --- cohorts -------------------------------------------------------------------------------------


def cohort_by_code(session: Session, code: str, usage: str) -> Cohort:
    cohort = session.scalar(select(Cohort).where(func.upper(Cohort.code) == code.upper()))
    if cohort is None:
        raise NotFound("cohort", code, usage=usage)
    return cohort


def add_cohort(session: Session, actor: Actor, args: parse.CohortAdd) -> tuple[Cohort, bool]:
    """Create the cohort, or rename it if it exists (roster imports create cohorts without a name)."""
    actor.require("organiser", action="manage cohorts")
    cohort = session.scalar(select(Cohort).where(func.upper(Cohort.code) == args.code))
    if cohort is not None:
        cohort.name = args.name
        session.flush()
        return cohort, False
    cohort = Cohort(code=args.code, name=args.name)
    session.add(cohort)
    session.flush()
    return cohort, True


def set_cohort_channel(
    session: Session, actor: Actor, args: parse.CohortChannel, *, offsets: Iterable[timedelta], now: datetime
) -> Cohort:
    actor.require("organiser", action="manage cohorts")
    cohort = cohort_by_code(session, args.code, parse.usage("cohort channel"))
    cohort.channel_id = args.channel_id
    session.flush()
    for event in upcoming_events(session, cohort.id, now):
        plan_reminders(session, event, offsets=offsets, now=now)
    return cohort


# --- programme days ------------------------------------------------------------------------------


def is_participant(session: Session, member: Member, cohort_id: int) -> bool:
    return (
        session.scalar(
            select(RoleGrant.id).where(
                RoleGrant.member_id == member.id, RoleGrant.role == "participant", RoleGrant.cohort_id == cohort_id
            )
        )
        is not None
    )


def recipients(session: Session, event: Event) -> list[str]:
    """The cohort channel (if set), then each participant by DM."""
    cohort = session.get(Cohort, event.cohort_id)
    people = [member.slack_id for member in cohort_participants(session, event.cohort_id) if member.slack_id]
    return ([cohort.channel_id] if cohort and cohort.channel_id else []) + people


def cohort_channel(session: Session, event: Event) -> tuple[str, str | None]:
    """The day's cohort code, and its channel (None when it has none yet)."""
    cohort = session.get(Cohort, event.cohort_id)
    if cohort is None:
        return "?", None
    return cohort.code, cohort.channel_id or None


def attendees(session: Session, event: Event) -> list[Member]:
    """Those who said they would attend (erased members have no Slack ID and are left out)."""
    return list(
        session.scalars(
            select(Member)
            .join(Rsvp, Rsvp.member_id == Member.id)
            .where(Rsvp.event_id == event.id, Rsvp.answer == "yes", Member.slack_id.is_not(None))
            .order_by(Member.id)
        )
    )


def plan_reminders(session: Session, event: Event, *, offsets: Iterable[timedelta], now: datetime) -> None:
    sync_reminders(
        session,
        kind=REMINDER_KIND,
        subject_type=SUBJECT,
        subject_id=event.id,
        starts_at=event.starts_at,
        offsets=offsets,
        recipients=recipients(session, event),
        now=now,
    )


def to_instants(span: parse.Span, zone: ZoneInfo, now: datetime, usage: str) -> tuple[datetime, datetime]:
    """The organiser's wall-clock span -> UTC instants; refuses DST gaps and folds, and the past."""
    instants = []
    for at in (span.start, span.end):
        try:
            instants.append(local_to_utc(span.day, at, zone))
        except NonexistentLocalTime:
            raise UsageError(
                f"{span.day.isoformat()} {at:%H:%M} does not exist in {zone.key}: the clocks jump forward "
                "that night. Pick a time outside the skipped hour.",
                usage=usage,
            ) from None
        except AmbiguousLocalTime:
            raise UsageError(
                f"{span.day.isoformat()} {at:%H:%M} happens twice in {zone.key}: the clocks go back that "
                "night. Pick a time outside the repeated hour.",
                usage=usage,
            ) from None
    starts_at, ends_at = instants
    if ends_at <= starts_at:
        raise UsageError("The day must end after it starts.", usage=usage)
    if starts_at <= now:
        raise UsageError(
            f"{span.day.isoformat()} {span.start:%H:%M} ({zone.key}) is in the past: programme days are planned ahead.",
            usage=usage,
        )
    return starts_at, ends_at


def add_event(
    session: Session,
    actor: Actor,
    args: parse.EventAdd,
    *,
    zone: ZoneInfo,
    now: datetime,
    offsets: Iterable[timedelta],
) -> Event:
    actor.require("organiser", action="plan programme days")
    cohort = cohort_by_code(session, args.cohort, parse.EVENT_ADD_USAGE)
    starts_at, ends_at = to_instants(args.span, zone, now, parse.EVENT_ADD_USAGE)
    event = Event(
        cohort_id=cohort.id,
        kind=args.kind,
        title=args.title,
        location=args.location,
        starts_at=starts_at,
        ends_at=ends_at,
        tz=zone.key,
        created_by_id=actor.member.id,
    )
    session.add(event)
    session.flush()
    plan_reminders(session, event, offsets=offsets, now=now)
    return event


def get_event(session: Session, event_id: int, usage: str) -> Event:
    event = session.get(Event, event_id)
    if event is None or event.removed:
        raise NotFound("event", event_id, usage=usage)
    return event


@dataclass(frozen=True)
class Moved:
    event: Event
    was_starts_at: datetime
    was_ends_at: datetime


def move_event(
    session: Session,
    actor: Actor,
    args: parse.EventMove,
    *,
    zone: ZoneInfo,
    now: datetime,
    offsets: Iterable[timedelta],
) -> Moved:
    actor.require("organiser", action="move programme days")
    event = get_event(session, args.event_id, parse.EVENT_MOVE_USAGE)
    if event.starts_at <= now:
        raise Conflict(f"Event #{event.id} has already begun; it cannot be moved.", usage=parse.EVENT_MOVE_USAGE)
    was = Moved(event, event.starts_at, event.ends_at)
    event.starts_at, event.ends_at = to_instants(args.span, zone, now, parse.EVENT_MOVE_USAGE)
    event.tz = zone.key
    session.flush()
    plan_reminders(session, event, offsets=offsets, now=now)
    return was


def remove_event(session: Session, actor: Actor, event_id: int, *, now: datetime) -> tuple[Event, int]:
    actor.require("organiser", action="remove programme days")
    event = get_event(session, event_id, parse.EVENT_REMOVE_USAGE)
    event.removed, event.removed_at = True, now
    cancelled = cancel_reminders(session, subject_type=SUBJECT, subject_id=event.id)
    session.flush()
    return event, cancelled


def upcoming_events(session: Session, cohort_id: int, now: datetime) -> list[Event]:
    return list(
        session.scalars(
            select(Event)
            .where(Event.cohort_id == cohort_id, Event.removed.is_(False), Event.starts_at > now)
            .order_by(Event.starts_at)
        )
    )


def answers_of(session: Session, member_id: int, event_ids: list[int]) -> dict[int, Rsvp]:
    """The member's RSVP for each of these days that they answered (for the App Home)."""
    if not event_ids:
        return {}
    rows = session.scalars(select(Rsvp).where(Rsvp.member_id == member_id, Rsvp.event_id.in_(event_ids)))
    return {rsvp.event_id: rsvp for rsvp in rows}


def rsvp_totals(session: Session, now: datetime) -> tuple[int, int]:
    """(answers still owed for upcoming days by reachable participants, late cancellations of kept days)."""
    answered = exists().where(Rsvp.event_id == Event.id, Rsvp.member_id == RoleGrant.member_id)
    pending = session.scalar(
        select(func.count())
        .select_from(Event)
        .join(RoleGrant, and_(RoleGrant.cohort_id == Event.cohort_id, RoleGrant.role == "participant"))
        .join(Member, Member.id == RoleGrant.member_id)
        .where(Event.removed.is_(False), Event.starts_at > now, Member.slack_id.is_not(None), ~answered)
    )
    late = session.scalar(
        select(func.count())
        .select_from(Rsvp)
        .join(Event, Event.id == Rsvp.event_id)
        .where(Rsvp.late_cancellation.is_(True), Event.removed.is_(False))
    )
    return int(pending or 0), int(late or 0)


@dataclass
class EventSummary:
    event: Event
    cohort: Cohort
    yes: int = 0
    no: int = 0
    checked_in: int = 0
    late: list[str] = field(default_factory=list)


def list_events(session: Session, actor: Actor, cohort_code: str | None) -> list[EventSummary]:
    actor.require("organiser", action="list programme days")
    query = select(Event, Cohort).join(Cohort, Cohort.id == Event.cohort_id).where(Event.removed.is_(False))
    if cohort_code is not None:
        query = query.where(Cohort.id == cohort_by_code(session, cohort_code, parse.EVENTS_USAGE).id)
    summaries = {event.id: EventSummary(event, cohort) for event, cohort in session.execute(query)}
    if not summaries:
        return []
    ids = list(summaries)
    rsvps = session.execute(
        select(Rsvp.event_id, Rsvp.answer, Rsvp.late_cancellation, Member)
        .join(Member, Member.id == Rsvp.member_id)
        .where(Rsvp.event_id.in_(ids))
    )
    for event_id, answer, late, member in rsvps:
        summary = summaries[event_id]
        if answer == "yes":
            summary.yes += 1
        else:
            summary.no += 1
            if late:
                summary.late.append(member.display_name)
    for event_id, count in session.execute(
        select(CheckIn.event_id, func.count()).where(CheckIn.event_id.in_(ids)).group_by(CheckIn.event_id)
    ):
        summaries[event_id].checked_in = count
    return sorted(summaries.values(), key=lambda s: (s.event.starts_at, s.event.id))


# --- RSVP and check-in ---------------------------------------------------------------------------


def _answerable(session: Session, actor: Actor, event_id: int, now: datetime) -> Event:
    event = session.get(Event, event_id)
    if event is None or event.removed:
        raise NotFound("event", event_id)
    if not is_participant(session, actor.member, event.cohort_id):
        raise NotPermitted("participant", action=f"answer for event #{event.id}")
    if event.starts_at <= now:
        raise Conflict(f"Event #{event.id} has already begun: answers are closed.")
    return event


def check_answerable(session: Session, actor: Actor, event_id: int, now: datetime) -> Event:
    """Before opening the decline form: the same checks as answering."""
    return _answerable(session, actor, event_id, now)


@dataclass(frozen=True)
class RsvpOutcome:
    event: Event
    rsvp: Rsvp
    changed: bool


def answer(
    session: Session, actor: Actor, event_id: int, reply: str, *, now: datetime, reason: str = ""
) -> RsvpOutcome:
    """Record yes/no; the same answer twice (double click) changes nothing."""
    event = _answerable(session, actor, event_id, now)
    late = reply == "no" and is_late_decline(event, now)
    rsvp = session.scalar(select(Rsvp).where(Rsvp.event_id == event.id, Rsvp.member_id == actor.member.id))
    if rsvp is None:
        rsvp = Rsvp(event_id=event.id, member_id=actor.member.id, answer=reply, reason=reason, answered_at=now)
        rsvp.late_cancellation = late
        try:
            with session.begin_nested():
                session.add(rsvp)
        except IntegrityError:
            # The other click of a double click got there first: treat this one as a repeat.
            rsvp = session.scalars(
                select(Rsvp).where(Rsvp.event_id == event.id, Rsvp.member_id == actor.member.id)
            ).one()
        else:
            return RsvpOutcome(event, rsvp, True)
    if rsvp.answer == reply and (reply == "yes" or rsvp.reason == reason or not reason):
        return RsvpOutcome(event, rsvp, False)
    if rsvp.answer != reply:
        rsvp.late_cancellation = late
        rsvp.answered_at = now
    rsvp.answer = reply
    rsvp.reason = reason if reply == "no" else ""
    session.flush()
    return RsvpOutcome(event, rsvp, True)


def start_checkin(session: Session, actor: Actor, event_id: int, *, now: datetime) -> tuple[Event, str]:
    actor.require("organiser", action="start a check-in")
    event = get_event(session, event_id, parse.CHECKIN_USAGE)
    if event.ends_at <= now:
        raise Conflict(f"Event #{event.id} is over: there is nothing to check in to.", usage=parse.CHECKIN_USAGE)
    cohort = session.get(Cohort, event.cohort_id)
    if cohort is None or not cohort.channel_id:
        raise Conflict(
            f"Cohort {cohort.code if cohort else ''} has no channel yet: set it with "
            "`/cba-admin cohort channel CODE #channel` first.",
            usage=parse.CHECKIN_USAGE,
        )
    return event, cohort.channel_id


@dataclass(frozen=True)
class CheckInOutcome:
    event: Event
    checkin: CheckIn
    new: bool


def check_in(session: Session, actor: Actor, event_id: int, *, now: datetime) -> CheckInOutcome:
    event = session.get(Event, event_id)
    if event is None or event.removed:
        raise NotFound("event", event_id)
    if not is_participant(session, actor.member, event.cohort_id):
        raise NotPermitted("participant", action=f"check in to event #{event.id}")
    if now < event.starts_at - CHECKIN_OPENS_BEFORE:
        raise Conflict(f"Check-in for event #{event.id} opens 30 minutes before it starts.")
    if now > event.ends_at:
        raise Conflict(f"Event #{event.id} is over: check-in is closed.")
    existing = session.scalar(select(CheckIn).where(CheckIn.event_id == event.id, CheckIn.member_id == actor.member.id))
    if existing is not None:
        return CheckInOutcome(event, existing, False)
    checkin = CheckIn(event_id=event.id, member_id=actor.member.id, checked_in_at=now)
    try:
        with session.begin_nested():
            session.add(checkin)
    except IntegrityError:
        existing = session.scalars(
            select(CheckIn).where(CheckIn.event_id == event.id, CheckIn.member_id == actor.member.id)
        ).one()
        return CheckInOutcome(event, existing, False)
    return CheckInOutcome(event, checkin, True)


# --- attendance export ---------------------------------------------------------------------------

ATTENDANCE_HEADER = (
    "event_id",
    "cohort",
    "event",
    "kind",
    "starts_at_utc",
    "member",
    "slack_id",
    "email",
    "rsvp",
    "late_cancellation",
    "reason",
    "checked_in",
    "checked_in_at_utc",
)


def attendance_rows(session: Session, cohort_code: str | None) -> list[tuple[object, ...]]:
    """One row per member and programme day: the cohort's participants plus anyone who answered."""
    query = select(Event, Cohort).join(Cohort, Cohort.id == Event.cohort_id).where(Event.removed.is_(False))
    if cohort_code:
        query = query.where(func.upper(Cohort.code) == cohort_code.upper())
    rows: list[tuple[object, ...]] = []
    for event, cohort in session.execute(query.order_by(Event.starts_at, Event.id)).all():
        rsvps = {r.member_id: r for r in session.scalars(select(Rsvp).where(Rsvp.event_id == event.id))}
        checkins = {c.member_id: c for c in session.scalars(select(CheckIn).where(CheckIn.event_id == event.id))}
        people = {m.id: m for m in cohort_participants(session, cohort.id)}
        extra = (set(rsvps) | set(checkins)) - set(people)
        if extra:
            people.update({m.id: m for m in session.scalars(select(Member).where(Member.id.in_(extra)))})
        for member in sorted(people.values(), key=lambda m: (m.name, m.id)):
            rsvp, checkin = rsvps.get(member.id), checkins.get(member.id)
            rows.append(
                (
                    event.id,
                    cohort.code,
                    event.title,
                    event.kind,
                    event.starts_at.isoformat(),
                    member.display_name,
                    member.slack_id or "",
                    member.email or "",
                    rsvp.answer if rsvp else "",
                    "yes" if rsvp and rsvp.late_cancellation else "no",
                    rsvp.reason if rsvp else "",
                    "yes" if checkin else "no",
                    checkin.checked_in_at.isoformat() if checkin else "",
                )
            )
    return rows
