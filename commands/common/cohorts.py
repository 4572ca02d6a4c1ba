"""Who belongs to a cohort: queries several features share."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Member, RoleGrant


def cohort_participants(session: Session, cohort_id: int) -> list[Member]:
    """The cohort's participants who can be reached (erased members have no Slack ID), by name."""
    return list(
        session.scalars(
            select(Member)
            .join(RoleGrant, RoleGrant.member_id == Member.id)
            .where(RoleGrant.role == "participant", RoleGrant.cohort_id == cohort_id, Member.slack_id.is_not(None))
            .order_by(Member.name, Member.id)
        )
    )
