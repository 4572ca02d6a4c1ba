"""Who is asking: the caller's member row and roles, always from the database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from commands.common.errors import NotPermitted, NotRegistered
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


def persisted(session: Session, actor: Actor) -> Member:
    """The actor's member row, created now if the actor was only transient (see load_actor)."""
    if actor.member.id is not None:
        return actor.member
    return get_or_create_member(session, actor.slack_id)


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


# Built once: the caller lookup runs on every request, and compiling it each time showed in profiles.
_MEMBER_WITH_ROLES = (
    select(Member, RoleGrant.role)
    .outerjoin(RoleGrant, RoleGrant.member_id == Member.id)
    .where(Member.slack_id == bindparam("slack_id"))
)


def load_actor(session: Session, slack_id: str, organisers: frozenset[str], *, create: bool = True) -> Actor:
    """The caller and their roles in one query.

    A first-time caller of a command gets a member row; for events (`create=False`) an unknown
    author stays a transient, unsaved Member, so chatter in a channel stores nobody.
    """
    if not slack_id:
        # Payloads without a user (some events): an anonymous caller with no roles, never stored.
        return Actor(member=Member(name="Slack"), roles=frozenset())
    rows = session.execute(_MEMBER_WITH_ROLES, {"slack_id": slack_id}).all()
    if rows:
        member = rows[0][0]
        roles = {role for _member, role in rows if role}
    elif create:
        member, roles = get_or_create_member(session, slack_id), set()
    else:
        member, roles = Member(slack_id=slack_id, name=""), set()
    if slack_id in organisers:
        roles.add("organiser")
    return Actor(member=member, roles=frozenset(roles))


# Whom a newcomer is told to ask: at most this many organisers are mentioned.
ORGANISERS_SHOWN = 5


def organisers_to_ask(session: Session, configured: frozenset[str]) -> list[str]:
    """Slack IDs of the organisers: CBA_ORGANISERS first, then members granted the role."""
    granted = session.scalars(
        select(Member.slack_id)
        .join(RoleGrant, RoleGrant.member_id == Member.id)
        .where(RoleGrant.role == "organiser", Member.slack_id.is_not(None), Member.erased_at.is_(None))
        .order_by(Member.id)
    )
    ids = sorted(configured) + [slack_id for slack_id in granted if slack_id and slack_id not in configured]
    return ids[:ORGANISERS_SHOWN]


def load_caller(session: Session, slack_id: str, organisers: frozenset[str], *, members_only: bool = True) -> Actor:
    """The caller of a command, button or form (SPEC 3, Membership).

    A caller with no role is refused with whom to ask when `members_only` (everything but /cba-help), and
    is never stored. An organiser by configuration who has no member row yet gets one on their first call.
    """
    actor = load_actor(session, slack_id, organisers, create=False)
    if not actor.roles:
        if members_only:
            raise NotRegistered(organisers_to_ask(session, organisers))
    elif actor.member.id is None:
        actor = Actor(member=get_or_create_member(session, slack_id), roles=actor.roles)
    return actor
