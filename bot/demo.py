"""`cba-bot demo`: a small, realistic cohort to explore the bot with (idempotent).

Features add their demo data with `registry.demo_step(fn)`; each step must be idempotent on its own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.features import build_registry
from bot.kernel.deps import system_clock
from bot.kernel.registry import Registry
from bot.kernel.settings import Settings
from commands.common.demo_cast import ALUMNI_COHORT, CURRENT_COHORT, PEOPLE
from storage.db import make_engine, make_sessionmaker
from storage.models import Cohort, Member, RoleGrant


def _cohort(session: Session, code: str, name: str, channel: str) -> Cohort:
    cohort = session.scalar(select(Cohort).where(Cohort.code == code))
    if cohort is None:
        cohort = Cohort(code=code, name=name, channel_id=channel)
        session.add(cohort)
        session.flush()
    return cohort


def load_demo(session: Session, now: datetime, registry: Registry) -> dict[str, Member]:
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
    for step in registry.demo_steps:
        step(session, now, members)
    return members


def load_demo_into(settings: Settings) -> str:
    sessions = make_sessionmaker(make_engine(settings.database_url))
    with sessions.begin() as session:
        members = load_demo(session, system_clock(), build_registry())
    return f"demo cohort loaded: {len(members)} members in {CURRENT_COHORT[0]} and {ALUMNI_COHORT[0]}"
