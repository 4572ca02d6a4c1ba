"""Arrange helpers for the members feature: profiles with their search index, and database snapshots."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from commands.members.search import index_member
from storage.models import Cohort, Member
from tests.factories import make_member, snapshot


def make_profile(
    session: Session,
    slack_id: str,
    name: str,
    *roles: str,
    cohort: Cohort | None = None,
    visible: bool = True,
    **profile: Any,
) -> Member:
    member = make_member(session, slack_id, name, *roles, cohort=cohort, visible=visible, **profile)
    index_member(session, member)
    return member


def find_in_database(session: Session, needles: list[str]) -> list[str]:
    """Where any of `needles` (case-insensitive) occurs in any column of any row."""
    found: list[str] = []
    lowered = [needle.lower() for needle in needles if needle]
    for table, rows in snapshot(session).items():
        for row in rows:
            for value in row:
                text = repr(value).lower()
                found += [f"{table}: {needle!r} in {value!r}" for needle in lowered if needle in text]
    return found
