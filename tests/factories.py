"""Arrange helpers: add rows and flush. Features add theirs beside (tests/factories_<feature>.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Base, Cohort, Member, RoleGrant


def make_cohort(
    session: Session, code: str = "CBA3", name: str = "Cluster Booster Academy 3", channel: str | None = "C0COHORT3"
) -> Cohort:
    cohort = session.scalar(select(Cohort).where(Cohort.code == code))
    if cohort is None:
        cohort = Cohort(code=code, name=name, channel_id=channel)
        session.add(cohort)
        session.flush()
    return cohort


def make_member(
    session: Session,
    slack_id: str,
    name: str = "",
    *roles: str,
    cohort: Cohort | None = None,
    email: str | None = None,
    tz: str | None = "Europe/Brussels",
    **profile: object,
) -> Member:
    member = Member(slack_id=slack_id, name=name or slack_id, email=email, tz=tz, **profile)
    session.add(member)
    session.flush()
    for role in roles:
        session.add(RoleGrant(member_id=member.id, role=role, cohort_id=cohort.id if cohort else None))
    session.flush()
    return member


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, for 'nothing changed' assertions.

    Outbox rows that answer the caller (a refusal, a usage message) are the answer, not a change: left out.
    """
    session.expire_all()
    data: dict[str, list[tuple[Any, ...]]] = {}
    for table in Base.metadata.sorted_tables:
        query = select(table)
        if table.name == "reminders":
            query = query.where(table.c.kind != "answer")
        rows = session.execute(query).all()
        data[table.name] = sorted((tuple(row) for row in rows), key=repr)
    # End the read: SQLite transactions here begin IMMEDIATE and would block the bot's writes.
    session.rollback()
    return data


def database_snapshot(sessions: sessionmaker[Session]) -> dict[str, list[tuple[Any, ...]]]:
    with sessions() as session:
        return snapshot(session)
