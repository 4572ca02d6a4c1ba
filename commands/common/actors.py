"""Who is asking: the caller's member row and roles, always from the database."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from commands.common.errors import NotPermitted, NotRegistered
from storage.hot import HotSelect
from storage.models import Member, RoleGrant


class Actor:
    """The caller: Slack id, member id, time zone and roles, read on every request with one Core query.

    Their ORM `Member` is loaded only when a feature asks for `member` (a primary-key get from the
    request's session): most answers need only the id and the roles, and materialising the whole row
    (22 columns) cost /cba-help about 15 % of its CPU. `Actor(member, roles)` wraps a loaded row.
    """

    __slots__ = ("roles", "slack_id", "tz", "_member", "_member_id", "_session")

    def __init__(self, member: Member, roles: frozenset[str]) -> None:
        self.roles = roles
        self.slack_id = member.slack_id or ""
        self.tz = member.tz
        self._member: Member | None = member
        self._member_id = 0
        self._session: Session | None = None

    @classmethod
    def of_row(cls, session: Session, slack_id: str, member_id: int, tz: str | None, roles: frozenset[str]) -> Actor:
        """A stored member whose row is loaded from `session` when first needed."""
        actor = cls.__new__(cls)
        actor.roles, actor.slack_id, actor.tz = roles, slack_id, tz
        actor._member, actor._member_id, actor._session = None, member_id, session
        return actor

    @property
    def member_id(self) -> int | None:
        """The member's id without loading the row; None for a caller who is not stored."""
        return self._member.id if self._member is not None else self._member_id

    @property
    def member(self) -> Member:
        if self._member is None:
            assert self._session is not None, "of_row() gives a session"
            member = self._session.get(Member, self._member_id)
            if member is None:  # only if the row was deleted by this very request
                raise LookupError(f"member #{self._member_id} is gone")
            self._member = member
        return self._member

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    def require(self, *roles: str, action: str = "do that") -> None:
        """Refuse unless the caller holds one of `roles` (organisers may do everything listed for them)."""
        if not self.has(*roles):
            raise NotPermitted(*roles, action=action)


def persisted(session: Session, actor: Actor) -> Member:
    """The actor's member row, created now if the actor was only transient (see load_actor)."""
    if actor.member_id is not None:
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
# Only the columns every request needs: on PostgreSQL each column of a result costs its description.
_CALLER = HotSelect(
    select(Member.id, Member.tz, RoleGrant.role)
    .outerjoin(RoleGrant, RoleGrant.member_id == Member.id)
    .where(Member.slack_id == bindparam("slack_id"))
)


# For commands that use the caller's whole row (registry.command(..., whole_member=True)): every mapped column,
# read as the caller's lookup is (HotSelect), and made the session's ORM object by `_attached`.
_MEMBER_COLUMNS = tuple(Member.__mapper__.column_attrs)
_WHOLE_CALLER = HotSelect(
    select(*(column.columns[0] for column in _MEMBER_COLUMNS), RoleGrant.role)
    .outerjoin(RoleGrant, RoleGrant.member_id == Member.id)
    .where(Member.slack_id == bindparam("slack_id"))
)
_MEMBER_ID_INDEX = next(index for index, column in enumerate(_MEMBER_COLUMNS) if column.key == "id")


def _attached(session: Session, values: tuple[Any, ...]) -> Member:
    """The member's row as the session's persistent object, in the state a load leaves it: every column
    committed, nothing to flush, relationships loaded when first read. The ORM's own loading of the same row
    took twice the CPU of the query on PostgreSQL, a quarter of `/cba-profile set`'s."""
    key = Member.__mapper__.identity_key_from_primary_key((values[_MEMBER_ID_INDEX],))
    present = session.identity_map.get(key)
    if present is not None:  # already loaded by this session: the ORM would hand out that object
        return cast(Member, present)
    member = Member.__mapper__.class_manager.new_instance()
    for column, value in zip(_MEMBER_COLUMNS, values[: len(_MEMBER_COLUMNS)], strict=True):  # (the role follows)
        set_committed_value(member, column.key, value)
    make_transient_to_detached(member)
    session.add(member)
    return member


def load_actor(
    session: Session, slack_id: str, organisers: frozenset[str], *, create: bool = True, whole_member: bool = False
) -> Actor:
    """The caller and their roles in one query (with their ORM row if `whole_member`).

    A first-time caller of a command gets a member row; for events (`create=False`) an unknown
    author stays a transient, unsaved Member, so chatter in a channel stores nobody.
    """
    if not slack_id:
        # Payloads without a user (some events): an anonymous caller with no roles, never stored.
        return Actor(Member(name="Slack"), frozenset())
    params = {"slack_id": slack_id}
    if whole_member:
        loaded = _WHOLE_CALLER.rows(session, params)
        roles = _with_organiser({row[-1] for row in loaded if row[-1]}, slack_id, organisers)
        if loaded:
            return Actor(_attached(session, loaded[0]), roles)
    else:
        rows = _CALLER.rows(session, params)
        roles = _with_organiser({role for _id, _tz, role in rows if role}, slack_id, organisers)
        if rows:
            member_id, tz, _role = rows[0]
            return Actor.of_row(session, slack_id, member_id, tz, roles)
    member = get_or_create_member(session, slack_id) if create else Member(slack_id=slack_id, name="")
    return Actor(member, roles)


def _with_organiser(roles: set[str], slack_id: str, organisers: frozenset[str]) -> frozenset[str]:
    if slack_id in organisers:
        roles.add("organiser")
    return frozenset(roles)


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


def load_caller(
    session: Session,
    slack_id: str,
    organisers: frozenset[str],
    *,
    members_only: bool = True,
    whole_member: bool = False,
) -> Actor:
    """The caller of a command, button or form (SPEC 3, Membership).

    A caller with no role is refused with whom to ask when `members_only` (everything but /cba-help), and
    is never stored. An organiser by configuration who has no member row yet gets one on their first call.
    """
    actor = load_actor(session, slack_id, organisers, create=False, whole_member=whole_member)
    if not actor.roles:
        if members_only:
            raise NotRegistered(organisers_to_ask(session, organisers))
    elif actor.member_id is None:
        actor = Actor(get_or_create_member(session, slack_id), actor.roles)
    return actor
