"""`cba-bot demo`: a small, realistic cohort to explore the bot with (idempotent).

Features add their demo data with `@demo_step`; each step must be idempotent on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.deps import system_clock
from storage.db import make_engine, make_sessionmaker
from storage.models import Cohort, Member, RoleGrant


@dataclass(frozen=True)
class DemoPerson:
    slack_id: str
    name: str
    email: str
    role: str
    cohort: str
    tz: str = "Europe/Brussels"


CURRENT_COHORT = ("CBA3", "Cluster Booster Academy 3", "C0DEMOCBA3")
ALUMNI_COHORT = ("CBA2", "Cluster Booster Academy 2", "C0DEMOCBA2")
QUESTIONS_CHANNEL = "C0DEMOASK1"

PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson("U0DEMOORG1", "Anna Berg", "anna.berg@example.org", "organiser", "CBA3"),
    DemoPerson("U0DEMOCO01", "Marco Rossi", "marco.rossi@example.org", "coach", "CBA3", "Europe/Rome"),
    DemoPerson("U0DEMOCO02", "Sofie Jensen", "sofie.jensen@example.org", "coach", "CBA3", "Europe/Copenhagen"),
    DemoPerson("U0DEMOAL01", "Jan Novak", "jan.novak@example.org", "alumni", "CBA2", "Europe/Prague"),
    DemoPerson("U0DEMOAL02", "Elena Popescu", "elena.popescu@example.org", "alumni", "CBA2", "Europe/Bucharest"),
    DemoPerson("U0DEMOAL03", "Pierre Dubois", "pierre.dubois@example.org", "alumni", "CBA2", "Europe/Paris"),
    DemoPerson("U0DEMOPA01", "Lucia Garcia", "lucia.garcia@example.org", "participant", "CBA3", "Europe/Madrid"),
    DemoPerson("U0DEMOPA02", "Tomas Kovac", "tomas.kovac@example.org", "participant", "CBA3", "Europe/Bratislava"),
    DemoPerson("U0DEMOPA03", "Ines Santos", "ines.santos@example.org", "participant", "CBA3", "Europe/Lisbon"),
    DemoPerson("U0DEMOPA04", "Mikko Virtanen", "mikko.virtanen@example.org", "participant", "CBA3", "Europe/Helsinki"),
)

DemoStep = Callable[[Session, datetime, dict[str, Member]], None]
_steps: list[DemoStep] = []


def demo_step(fn: DemoStep) -> DemoStep:
    """Register a feature's demo data: `fn(session, now, members_by_slack_id)`."""
    if fn not in _steps:
        _steps.append(fn)
    return fn


def _cohort(session: Session, code: str, name: str, channel: str) -> Cohort:
    cohort = session.scalar(select(Cohort).where(Cohort.code == code))
    if cohort is None:
        cohort = Cohort(code=code, name=name, channel_id=channel)
        session.add(cohort)
        session.flush()
    return cohort


def load_demo(session: Session, now: datetime) -> dict[str, Member]:
    cohorts = {code: _cohort(session, code, name, channel) for code, name, channel in (CURRENT_COHORT, ALUMNI_COHORT)}
    members: dict[str, Member] = {}
    for person in PEOPLE:
        member = session.scalar(select(Member).where(Member.slack_id == person.slack_id))
        if member is None:
            member = Member(slack_id=person.slack_id, name=person.name, email=person.email, tz=person.tz)
            session.add(member)
            session.flush()
        grant = session.scalar(select(RoleGrant).where(RoleGrant.member_id == member.id, RoleGrant.role == person.role))
        if grant is None:
            session.add(RoleGrant(member_id=member.id, role=person.role, cohort_id=cohorts[person.cohort].id))
        members[person.slack_id] = member
    session.flush()
    _load_feature_modules()
    for step in _steps:
        step(session, now, members)
    return members


def _load_feature_modules() -> None:
    """Importing the features registers their demo steps."""
    import commands  # noqa: F401


def load_demo_into(settings: Settings) -> str:
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with sessions.begin() as session:
        members = load_demo(session, system_clock())
    return f"demo cohort loaded: {len(members)} members in {CURRENT_COHORT[0]} and {ALUMNI_COHORT[0]}"
