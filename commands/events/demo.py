"""Demo data: the four programme days of the demo cohort in the near future, with their reminders and
their announcement in the cohort channel (outbox rows, posted once the bot runs: `make console` shows them)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.kernel.settings import Settings
from commands.common.demo_cast import CURRENT_COHORT
from commands.common.parsing import local_to_utc
from commands.events import notify, service
from storage.models import Cohort, Event, Member

ZONE = ZoneInfo("Europe/Brussels")
DAYS = (
    # (days from now, kind, title, start, end, place)
    (
        3,
        "online",
        "Online training day 1: cluster strategy",
        time(9, 0),
        time(12, 30),
        "https://meet.example.com/cba3-day1",
    ),
    (
        4,
        "online",
        "Online training day 2: services and funding",
        time(9, 0),
        time(12, 30),
        "https://meet.example.com/cba3-day2",
    ),
    (30, "in-person", "In-person day 1: peer learning", time(9, 30), time(17, 30), "MESAP Innovation Cluster, Torino"),
    (31, "in-person", "In-person day 2: action plans", time(9, 0), time(15, 0), "MESAP Innovation Cluster, Torino"),
)


def programme_days(session: Session, now: datetime, members: dict[str, Member]) -> None:
    cohort = session.scalar(select(Cohort).where(Cohort.code == CURRENT_COHORT[0]))
    if cohort is None:
        return
    organiser = next(iter(members.values()), None)
    today = now.astimezone(ZONE).date()
    for days, kind, title, start, end, where in DAYS:
        if session.scalar(select(Event.id).where(Event.cohort_id == cohort.id, Event.title == title)) is not None:
            continue
        day = today + timedelta(days=days)
        event = Event(
            cohort_id=cohort.id,
            kind=kind,
            title=title,
            location=where,
            starts_at=local_to_utc(day, start, ZONE, fold=0),
            ends_at=local_to_utc(day, end, ZONE, fold=0),
            tz=ZONE.key,
            created_by_id=organiser.id if organiser else None,
        )
        session.add(event)
        session.flush()
        service.plan_reminders(session, event, offsets=Settings().event_reminders, now=now)
        notify.announce(session, event, zone=ZONE, now=now)
