"""Who is asking: the caller's member row and roles, always from the database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from commands.common.errors import NotPermitted
from storage.models import Member, RoleGrant


@dataclass(frozen=True)
class Actor:
    member: Member
    roles: frozenset[str]

    @property
    def slack_id(self) -> str:
        return self.member.slack_id or ""

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    def require(self, *roles: str, action: str = "do that") -> None:
        """Refuse unless the caller holds one of `roles` (organisers may do everything listed for them)."""
        if not self.has(*roles):
            raise NotPermitted(*roles, action=action)


def member_by_slack_id(session: Session, slack_id: str) -> Member | None:
    return session.scalar(select(Member).where(Member.slack_id == slack_id))


def get_or_create_member(session: Session, slack_id: str, name: str = "") -> Member:
    member = member_by_slack_id(session, slack_id)
    if member is None:
        member = Member(slack_id=slack_id, name=name)
        session.add(member)
        session.flush()
    return member


def roles_of(session: Session, member: Member, organisers: frozenset[str]) -> frozenset[str]:
    roles = set(session.scalars(select(RoleGrant.role).where(RoleGrant.member_id == member.id)))
    if member.slack_id and member.slack_id in organisers:
        roles.add("organiser")
    return frozenset(roles)


def load_actor(session: Session, slack_id: str, organisers: frozenset[str]) -> Actor:
    if not slack_id:
        # Payloads without a user (some events): an anonymous caller with no roles, never stored.
        return Actor(member=Member(name="Slack"), roles=frozenset())
    member = get_or_create_member(session, slack_id)
    return Actor(member=member, roles=roles_of(session, member, organisers))
