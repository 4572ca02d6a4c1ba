"""Whether a member is away, and how many routed questions an alumnus takes (SPEC 4.2).

An absence is two calendar days in the member's own time zone (`Member.tz`, else CBA_TIMEZONE), both
inclusive: "away 2026-12-20 2027-01-06" covers the whole of both days wherever the member is. Routing
(questions) and the delivery engine (reminders) ask the same question here, so features need not import
each other to agree on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from commands.common.timefmt import zone_of
from storage.models import Member

# Routed questions an alumnus takes in CAPACITY_WINDOW when their profile does not say (SPEC 4.2).
DEFAULT_CAPACITY = 4
MAX_CAPACITY = 50
CAPACITY_WINDOW = timedelta(days=30)


class HasAbsence(Protocol):
    @property
    def tz(self) -> str | None: ...
    @property
    def away_from(self) -> date | None: ...
    @property
    def away_until(self) -> date | None: ...


def capacity_of(member: Member) -> int:
    return DEFAULT_CAPACITY if member.question_capacity is None else member.question_capacity


def local_day(member: HasAbsence, at: datetime, default: ZoneInfo) -> date:
    """The calendar day it is for the member at the instant `at`."""
    return at.astimezone(zone_of(member.tz, default)).date()


def away_on(member: HasAbsence, day: date) -> bool:
    return (
        member.away_from is not None and member.away_until is not None and member.away_from <= day <= member.away_until
    )


def is_away(member: HasAbsence, at: datetime, default: ZoneInfo) -> bool:
    """Whether the member is away at the instant `at` (their own calendar day falls in their absence)."""
    return away_on(member, local_day(member, at, default))


def planned_absence(member: HasAbsence, at: datetime, default: ZoneInfo) -> tuple[date, date] | None:
    """The member's absence if it is current or still ahead at `at`; None if none or already over."""
    if member.away_from is None or member.away_until is None:
        return None
    if member.away_until < local_day(member, at, default):
        return None
    return member.away_from, member.away_until


@dataclass(frozen=True)
class Absence:
    tz: str | None
    away_from: date | None
    away_until: date | None


def absences_by_slack_id(session: Session, at: datetime) -> dict[str, Absence]:
    """Members with an absence that may cover `at` (any zone), by Slack ID: one query for a delivery batch."""
    # A day either side of UTC's date covers every zone (UTC-12 to UTC+14).
    utc_day = at.date()
    rows = session.execute(
        select(Member.slack_id, Member.tz, Member.away_from, Member.away_until).where(
            Member.slack_id.is_not(None),
            Member.away_from <= utc_day + timedelta(days=1),
            Member.away_until >= utc_day - timedelta(days=1),
        )
    )
    return {slack_id: Absence(tz, away_from, away_until) for slack_id, tz, away_from, away_until in rows if slack_id}


def recipient_away(session: Session, recipient: str, at: datetime, default: ZoneInfo) -> Absence | None:
    """The recipient's absence if the member with that Slack ID is away at `at`; read once per transaction."""
    cache: dict[datetime, dict[str, Absence]] = session.info.setdefault("absences_by_slack_id", {})
    absences = cache.get(at)
    if absences is None:
        cache.clear()
        absences = cache[at] = absences_by_slack_id(session, at)
    absence = absences.get(recipient)
    return absence if absence is not None and is_away(absence, at, default) else None
