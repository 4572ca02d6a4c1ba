"""Arrange helpers for programme days."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.console.fakeslack import FakeSlack
from bot.kernel.settings import Settings
from commands.events import service
from storage.models import Cohort, Event, Member
from tests.factories import make_cohort, make_member


def make_cohort_with_participants(
    session: Session, fake: FakeSlack | None, count: int, *, code: str = "CBA3", channel: str | None = "C0COHORT3"
) -> tuple[Cohort, list[Member]]:
    cohort = make_cohort(session, code, f"Cohort {code}", channel)
    if fake is not None and channel:
        fake.add_channel(channel, code.lower())
    people = []
    for index in range(count):
        slack_id = f"U0{code}P{index:03d}"
        if fake is not None:
            fake.add_user(slack_id, f"Participant {index}")
        people.append(make_member(session, slack_id, f"Participant {index:03d}", "participant", cohort=cohort))
    return cohort, people


def make_event(
    session: Session,
    cohort: Cohort,
    starts_at: datetime,
    *,
    kind: str = "online",
    hours: float = 3,
    title: str = "Training day",
    location: str = "https://meet.example.com/x",
    now: datetime | None = None,
    plan: bool = True,
) -> Event:
    event = Event(
        cohort_id=cohort.id,
        kind=kind,
        title=title,
        location=location,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        tz="Europe/Brussels",
    )
    session.add(event)
    session.flush()
    if plan:
        service.plan_reminders(
            session, event, offsets=Settings().event_reminders, now=now or starts_at - timedelta(days=30)
        )
    return event
